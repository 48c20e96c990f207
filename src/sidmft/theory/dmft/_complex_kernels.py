"""Pathwise Wirtinger responses of the complex DMFT (docs/theory.md §7.2): the reverse sweep with 2 x 2 blocks.

For complex fields, g^t = g(y, r^t) depends on r^t and its conjugate; per path the derivative of g^tau along
an input w^p needs the pair X^s = d r^s/d w^p and Y^s = conj(d r^s / d w-bar^p).  With the Wirtinger derivatives
a_tau = dg/dr (real for a loss of |r|) and b_tau = dg/d r-bar, the memory r^s = w^s + sum_tau R(s, tau) g^tau gives
the complex-linear recursion

    (X^s, Y^s) = source + sum_{tau < s} R(s, tau) (X^tau, Y^tau) D_tau^T,
    D_tau = [[a_tau, b_tau], [conj b_tau, a_tau]],

and R_g(t, p) = E[a_t X^t + b_t Y^t] (real in the limit: only the real part is kept).  Reverse mode for row t:
the row vector nu_t = (a_t, b_t), nu_tau = (sum_{s > tau} R(s, tau) nu_s) D_tau, and R_g(t, p) = E[Re nu_p[0]] for
an input entering r^p directly; for the spectral input w^S (which feeds r^0 = B0 w^S and g^S = dgS w^S) the
sources are B0 at tau = 0 and R(tau, S) dgS at tau >= 1, so R_g(t, S) = E[sum_tau Re(nu_tau[0]) source_tau].
Each (path, tau, s) costs four multiply-adds (the real sweep one).  The sums over s run four rows tau at a time
(a block tau = lo..hi): the part s > hi is one register-blocked product per component (the real sweep's
micro-kernel :func:`._generated.lanes.micro_f64`, 4 rows x 16 lanes, so each load of nu_s serves four rows), and
the triangle s = tau + 1..hi inside the block follows row by row.  The sweep works in float64 whatever the
storage precision (whole-run timings against the real DMFT: ``python benchmarks/bench_dmft.py --complex``).  With a
window ``t0`` the sweep stops at tau = t0 (exact for tau >= t0: nu_tau depends on nu_s, s > tau, only) and can
keep each path's nu_tau[0] (the hybrid estimator, :mod:`._complex`).

Paths are processed in fixed chunks of :data:`CHUNK` (lanes of :data:`LANES`), each chunk's sums stored in its
own row and added in chunk order, so results do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._generated.lanes import TAU_BLOCK, micro_f64

__all__ = ["complex_responses", "CHUNK", "LANES"]

CHUNK = 512
#: paths per lane group (the stride of micro_f64)
LANES = 16
#: fast-math without reassociation: the order of every sum is the one written, so the result does not depend on
#: which vectoriser a process compiled with (with "reassoc", a Dask worker's fresh compile differed by 1 ulp)
_FM = {"nnan", "ninf", "nsz", "arcp", "contract", "afn"}


@njit(fastmath=_FM, cache=True, nogil=True, inline="always")
def _apply_d(A, Br, Bi, tau, l0, nl, x, N):
    """nu_tau = (x0, x1) D_tau on the lanes: nu0 = a x0 + conj(b) x1, nu1 = b x0 + a x1 (x[c] and N[c]: the
    components Re nu0, Im nu0, Re nu1, Im nu1)."""
    b = tau * LANES
    for ll in range(LANES):
        if ll < nl:
            i = l0 + ll
            a, br, bi = np.float64(A[tau, i]), np.float64(Br[tau, i]), np.float64(Bi[tau, i])
        else:
            a = br = bi = 0.0
        x0r, x0i, x1r, x1i = x[0, ll], x[1, ll], x[2, ll], x[3, ll]
        N[0, b + ll] = a * x0r + br * x1r + bi * x1i
        N[1, b + ll] = a * x0i + br * x1i - bi * x1r
        N[2, b + ll] = br * x0r - bi * x0i + a * x1r
        N[3, b + ll] = br * x0i + bi * x0r + a * x1i


@njit(fastmath=_FM, cache=True, nogil=True, inline="always")
def _sweep(t, t0, l0, nl, A, Br, Bi, RT, N, acc, x):
    """N[c, tau * LANES + lane] = component c of nu_tau for tau = t..t0 on the lanes [l0, l0 + nl)."""
    b = t * LANES
    for ll in range(LANES):
        live = ll < nl
        N[0, b + ll] = A[t, l0 + ll] if live else 0.0
        N[1, b + ll] = 0.0
        N[2, b + ll] = Br[t, l0 + ll] if live else 0.0
        N[3, b + ll] = Bi[t, l0 + ll] if live else 0.0
    hi = t - 1
    while hi >= t0:
        lo = hi - (TAU_BLOCK - 1)
        full = lo >= t0
        if full:  # rows tau = lo..hi: the sums over s > hi, each load of nu_s serving the four rows
            for c in range(4):
                micro_f64(RT, N[c], lo + 1, hi + 1, t + 1, acc[c])
        else:
            lo = t0
        top = hi if full else t
        for tau in range(hi, lo - 1, -1):
            for c in range(4):
                for ll in range(LANES):
                    x[c, ll] = acc[c, (tau - lo) * LANES + ll] if full else 0.0
            for s in range(tau + 1, top + 1):  # the rest: s = tau + 1..hi (full block) or ..t (partial)
                r = RT[tau + 1, s]
                bs = s * LANES
                for c in range(4):
                    for ll in range(LANES):
                        x[c, ll] += r * N[c, bs + ll]
            _apply_d(A, Br, Bi, tau, l0, nl, x, N)
        hi = lo - 1


@njit(fastmath=_FM, cache=True, nogil=True, inline="always")
def _chunk(t, t0, i0, i1, A, Br, Bi, RT, spec, RS, B0, dgS, out, keep, keep_on):
    """Reverse sweeps for the paths [i0, i1): adds sum_paths Re nu_tau[0] (tau = t0..t) to out[tau], the spectral
    column to out[t + 1] (t0 = 0 only), and with ``keep_on`` stores nu_tau[0] per path in keep[0/1, tau - t0]."""
    N = np.zeros((4, (t + 1) * LANES))
    acc = np.zeros((4, TAU_BLOCK * LANES))
    x = np.zeros((4, LANES))
    for l0 in range(i0, i1, LANES):
        nl = min(LANES, i1 - l0)
        _sweep(t, t0, l0, nl, A, Br, Bi, RT, N, acc, x)
        for tau in range(t0, t + 1):
            sm = 0.0
            b = tau * LANES
            for ll in range(nl):
                sm += N[0, b + ll]
            out[tau] += sm
            if keep_on:
                for ll in range(nl):
                    keep[0, tau - t0, l0 + ll] = N[0, b + ll]
                    keep[1, tau - t0, l0 + ll] = N[1, b + ll]
        if spec and t0 == 0:
            sm = 0.0
            for ll in range(nl):
                i = l0 + ll
                sm += N[0, ll] * B0[i]
                for tau in range(1, t + 1):
                    sm += N[0, tau * LANES + ll] * RS[tau] * dgS[i]
            out[t + 1] += sm


@njit(parallel=True, fastmath=_FM, cache=True)
def _par(t, t0, A, Br, Bi, RT, spec, RS, B0, dgS, M, parts, keep, keep_on):
    for c in prange(parts.shape[0]):
        i0 = c * CHUNK
        _chunk(t, t0, i0, min(M, i0 + CHUNK), A, Br, Bi, RT, spec, RS, B0, dgS, parts[c], keep, keep_on)


@njit(nogil=True, fastmath=_FM, cache=True)
def _ser(t, t0, A, Br, Bi, RT, spec, RS, B0, dgS, M, parts, keep, keep_on):
    for c in range(parts.shape[0]):
        i0 = c * CHUNK
        _chunk(t, t0, i0, min(M, i0 + CHUNK), A, Br, Bi, RT, spec, RS, B0, dgS, parts[c], keep, keep_on)


def complex_responses(t, A, Br, Bi, RT, spectral, n_paths, serial=False, t0=0, keep=None) -> np.ndarray:
    """resp[tau] = E[Re nu_tau[0]] (tau = t0..t; 0 below t0) and resp[t + 1] = R_g(t, S) (t0 = 0 with a spectral seed;
    else 0).

    ``A``, ``Br``, ``Bi``: (>= t + 1, M) histories (float32 or float64 storage; the sweep runs in float64) of a = dg/dr
    and b = dg/d r-bar (real, imaginary parts); ``RT[k, s]`` = R(s, k) the memory of the read points (row 0:
    R(s, S)); ``spectral``: None or (B0, dgS), the per-path d r^0 / d w^S and d g^S / d w^S; ``keep``: None, or a
    float64 array (2, >= t - t0 + 1, M) that receives the per-path Re and Im of nu_tau[0], tau = t0..t; means over
    the ``n_paths`` paths."""
    M = int(n_paths)
    parts = np.zeros((-(-M // CHUNK), t + 2))
    spec = spectral is not None
    dummy = np.zeros(1)
    B0, dgS = spectral if spec else (dummy, dummy)
    RS = np.ascontiguousarray(RT[0, : t + 1], dtype=np.float64)
    keep_on = keep is not None
    kp = keep if keep_on else np.zeros((2, 1, 1))
    f = _ser if serial else _par
    args = (t, int(t0), A, Br, Bi, np.ascontiguousarray(RT, dtype=np.float64), spec, RS, B0, dgS, M, parts, kp, keep_on)
    key = (serial, A.dtype.name)
    if key not in _COMPILED:  # compile (or load numba's cache) with the SLP vectoriser on, the loop vectoriser off
        from ._kernels import _slp_flags

        with _slp_flags():
            f(*args)
        _COMPILED.add(key)
    else:
        f(*args)
    return parts.sum(axis=0) / M


_COMPILED: set = set()
