"""Hot loops of the Monte-Carlo DMFT (docs/theory.md §4.1 step 3): choice of kernel and dispatch.

``field``               r^t = L_{j,:} xi + sum_{tau<t} R_x(t,tau) g^tau + R_x(t,S) g^S   (O(M t))
``responses_and_gram``  exact reverse-mode pathwise responses (O(M t^2)), Gram row and Stein term.

Reverse mode (per path): lambda_t = 1, lambda_tau = l''_tau sum_{s=tau+1..t} lambda_s R_x(s,tau)
for tau = t-1..0, so lambda_tau = d r^t / d g^tau * l''_tau = d r^t / d w^tau (for columns that
are their own input).  Then R_g(t,tau) = E[l''_t lambda_tau]; in spectral mode
d r^t / d w^S = lambda_0 kappa/(1 - R_S T) + dg^S/dw^S sum_{tau>=1} R_x(tau,S) lambda_tau.
This is the row t of (I - R_x diag(l''))^{-1}: exactly the forward-mode Jacobian of §4.1 3b,
computed without storing the T x M x T Jacobian.

Three kernels (:class:`Kernel`, chosen by name with :func:`resolve`): ``"numpy"`` (the reference,
:mod:`sidmft.theory.dmft._kernels_numpy`), ``"numba"`` (path-parallel) and ``"numba-serial"`` (one
thread, GIL released, for batch-parallel runs).  The numba kernels are generated
(:mod:`sidmft.theory.dmft._kernels_gen` writes :mod:`sidmft.theory.dmft._generated.lanes`); both numba variants
use the same fixed chunking, hence the same summation order.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from ._generated import lanes as _lanes
from ._kernels_numpy import field_numpy, responses_numpy

__all__ = [
    "Kernel",
    "NUMPY",
    "NUMBA",
    "NUMBA_SERIAL",
    "resolve",
    "field",
    "responses_and_gram",
    "chol_row",
    "warmup",
    "LANES_BY_DTYPE",
    "field_numpy",
    "responses_numpy",
]

LANES_BY_DTYPE = _lanes.LANES_BY_DTYPE
_numba_lock = threading.Lock()
_warm: set = set()


@contextlib.contextmanager
def _slp_flags(loop: bool = False):
    """Compile with LLVM's SLP vectoriser on and the loop vectoriser off (see the generator), or on as well with
    ``loop`` (the complex sweep, :mod:`._complex_kernels`, whose lane loops have no reductions to reassociate)."""
    import numba

    cfg: Any = numba.config
    with _numba_lock:
        old = (cfg.LOOP_VECTORIZE, cfg.SLP_VECTORIZE)
        cfg.LOOP_VECTORIZE, cfg.SLP_VECTORIZE = int(loop), 1
        try:
            yield
        finally:
            cfg.LOOP_VECTORIZE, cfg.SLP_VECTORIZE = old


def _field_numba(Lrow, Xi, mem, G, s0, gS, t, serial):
    r = np.empty(Xi.shape[1])
    spec = gS is not None
    f = _lanes.field_serial if serial else _lanes.field
    f(np.ascontiguousarray(Lrow), Xi, np.ascontiguousarray(mem), G, float(s0), gS if spec else np.zeros(1), t, spec, r)
    return r


def _responses_numba(t, H, G, RT, z, gS, spec, M, serial):
    """Numba version of :func:`responses_numpy`.  H, G (and RT) are float32 or float64, with a
    number of columns that is a multiple of the lane count (padding columns are all zero and
    contribute nothing); ``M`` is the number of real paths."""
    f32 = H.dtype == np.float32
    if H.shape[1] % LANES_BY_DTYPE["f32" if f32 else "f64"]:
        raise ValueError("path arrays must be padded to a multiple of the lane count")
    if f32:
        f = _lanes.responses_f32_serial if serial else _lanes.responses_f32
    else:
        f = _lanes.responses_f64_serial if serial else _lanes.responses_f64
    out_r = np.zeros(t + 2)
    out_g = np.zeros(t + 3)
    is_spec = spec is not None
    if is_spec:
        RS, dgS, B0 = spec
        RS = np.ascontiguousarray(RS, dtype=np.float64)
        gSa = gS
    else:
        RS = dgS = B0 = gSa = np.zeros(1)
    args = (t, H, G, RT, is_spec, RS, dgS, B0, gSa, z, out_r, out_g)
    if not f.signatures:
        with _slp_flags():  # first call compiles (or loads numba's cache) with SLP on, loop-vect off
            f(*args)
    else:
        f(*args)
    return out_r / M, out_g[: t + 2] / M, out_g[t + 2] / M


@dataclass(frozen=True)
class Kernel:
    """One implementation of the two hot loops.

    ``name`` is the user-facing name; ``numba`` selects the generated kernels over the numpy
    reference; ``serial`` selects their single-threaded GIL-free twins."""

    name: str
    numba: bool
    serial: bool = False

    def lanes(self, dtype) -> int:
        """Path arrays must have a multiple of this many columns (zero padding adds nothing)."""
        if not self.numba:
            return 1
        return LANES_BY_DTYPE["f32" if np.dtype(dtype) == np.float32 else "f64"]

    def field(self, Lrow, Xi, mem, G, s0, gS, t):
        """r^t for all paths (see the module docstring)."""
        if self.numba:
            return _field_numba(Lrow, Xi, mem, G, s0, gS, t, self.serial)
        return field_numpy(Lrow, Xi, mem, G, s0, gS, t)

    def responses_and_gram(self, t, H, G, Rx, RT, z, gS, spec, M):
        """(resp, gram, gz): resp[tau] = E[l''_t lambda_tau] (tau = 0..t), resp[t+1] = E[l''_t dr^t/dw^S];
        gram[tau] = E[g^t g^tau], gram[t+1] = E[g^t g^S]; gz = E[g^t z]  (means over the M real paths).
        ``Rx`` is used by the numpy kernel, its transpose ``RT`` (in the history dtype) by numba."""
        if self.numba:
            return _responses_numba(t, H, G, RT, z, gS, spec, M, self.serial)
        return responses_numpy(t, H, G, Rx, z, gS, spec, M)


NUMPY = Kernel("numpy", numba=False)
NUMBA = Kernel("numba", numba=True)
NUMBA_SERIAL = Kernel("numba-serial", numba=True, serial=True)
KERNELS = (NUMPY, NUMBA, NUMBA_SERIAL)


def resolve(kernel) -> Kernel:
    """The :class:`Kernel` named ``kernel`` (one of ``"numpy"``, ``"numba"``, ``"numba-serial"``)."""
    if isinstance(kernel, Kernel):
        return kernel
    for k in KERNELS:
        if k.name == kernel:
            return k
    raise ValueError(f"kernel must be one of {[k.name for k in KERNELS]}; got {kernel!r}")


def field(Lrow, Xi, mem, G, s0, gS, t, kernel="numpy"):
    """r^t for all paths with ``kernel`` (a :class:`Kernel` or its name)."""
    return resolve(kernel).field(Lrow, Xi, mem, G, s0, gS, t)


def responses_and_gram(t, H, G, Rx, RT, z, gS, spec, M, kernel="numpy"):
    """:meth:`Kernel.responses_and_gram` with ``kernel`` (a :class:`Kernel` or its name)."""
    return resolve(kernel).responses_and_gram(t, H, G, Rx, RT, z, gS, spec, M)


@njit(cache=True)
def _chol_row(L, b, j, tol):
    row = np.zeros(j + 1)
    for k in range(j):
        if L[k, k] > 0.0:
            s = b[k]
            for i in range(k):
                s -= L[k, i] * row[i]
            row[k] = s / L[k, k]
    # one step of iterative refinement (the factor is ill-conditioned as GD converges)
    corr = np.zeros(j)
    for k in range(j):
        if L[k, k] > 0.0:
            s = b[k]
            for i in range(k + 1):
                s -= L[k, i] * row[i]
            for i in range(k):
                s -= L[k, i] * corr[i]
            corr[k] = s / L[k, k]
    schur = b[j]
    for k in range(j):
        row[k] += corr[k]
        schur -= row[k] * row[k]
    scale = max(b[j], 1e-300)
    row[j] = np.sqrt(schur) if schur > tol * scale else 0.0
    for k in range(j + 1):
        L[j, k] = row[k]
    return schur / scale


def chol_row(L, b, j, tol):
    """Row j of the incremental Cholesky factor of the Gaussian inputs (docs/theory.md §4.1 3a).

    Forward substitution that skips zero pivots (degenerate directions: minimum-norm
    least-squares row), one step of iterative refinement, diagonal sqrt(Schur complement) or 0
    when the relative Schur complement is below ``tol`` (negative ones included).  Returns the
    relative Schur complement before clipping."""
    return _chol_row(L, b, j, tol)


def warmup(precision="float64", serial=False):
    """Compile / load the numba kernels for ``precision`` in the calling thread (before threads use them)."""
    key = (precision, serial)
    if key in _warm:
        return
    kern = NUMBA_SERIAL if serial else NUMBA
    dt = np.float32 if precision == "float32" else np.float64
    t, M = 2, kern.lanes(dt)
    H = np.ones((t + 1, M), dtype=dt)
    G = np.ones((t + 1, M), dtype=dt)
    RT = np.zeros((t + 2, t + 2), dtype=dt)
    z = np.zeros(M)
    kern.responses_and_gram(t, H, G, RT.T, RT, z, None, None, M)
    kern.responses_and_gram(t, H, G, RT.T, RT, z, np.zeros(M), (np.zeros(t + 1), np.zeros(M), np.zeros(M)), M)
    kern.field(np.ones(2), np.ones((2, M), dtype=dt), np.ones(t), G, 0.0, None, t)
    kern.field(np.ones(2), np.ones((2, M), dtype=dt), np.ones(t), G, 0.5, np.zeros(M), t)
    from ._hybrid import warmup as hybrid_warmup

    with _numba_lock:  # default compiler flags (no _slp_flags in another thread meanwhile)
        hybrid_warmup(dt, serial)
    _warm.add(key)
