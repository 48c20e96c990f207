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
the triangle s = tau + 1..hi inside the block follows row by row, with the 2 x 2 block, in the generated
:func:`._generated.lanes.complex_row_f64` (its 64 values in scalars, so LLVM vectorises the lanes).  The sweep works
in float64 whatever the storage precision (whole-run timings against the real DMFT:
``python benchmarks/bench_dmft.py --complex``).  With a
window ``t0`` the sweep stops at tau = t0 (exact for tau >= t0: nu_tau depends on nu_s, s > tau, only), and the
same pass gives each path's probe part for the hybrid estimator (:func:`_probe_part`, :mod:`._complex`).

Paths are processed in fixed chunks of :data:`CHUNK` (lanes of :data:`LANES`), each chunk's sums stored in its
own row and added in chunk order, so results do not depend on the thread count.  Every lane is computed (no
branch in the lane loops, which lets LLVM vectorise them): the per-path arrays are padded to a multiple of
:data:`LANES` with zeros, which add nothing.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._generated.lanes import TAU_BLOCK, complex_row_f64, micro_f64
from ._hybrid import CHUNK as HCHUNK
from ._hybrid import _acc
from ._kernels import _numba_lock, _slp_flags

__all__ = ["complex_responses", "memory_sum", "CHUNK", "LANES"]

CHUNK = 512
#: paths per lane group (the stride of micro_f64)
LANES = 16
#: fast-math without reassociation: the order of every sum is the one written, so the result does not depend on
#: which vectoriser a process compiled with (with "reassoc", a Dask worker's fresh compile differed by 1 ulp)
_FM = {"nnan", "ninf", "nsz", "arcp", "contract", "afn"}


@njit(fastmath=_FM, cache=True, nogil=True, inline="always")
def _sweep(t, t0, l0, A, Br, Bi, RT, N, acc):
    """N[c, tau * LANES + lane] = component c of nu_tau for tau = t..t0 on the lanes [l0, l0 + LANES)."""
    b = t * LANES
    for ll in range(LANES):  # every lane: the padding paths have a = b = 0
        N[0, b + ll] = A[t, l0 + ll]
        N[1, b + ll] = 0.0
        N[2, b + ll] = Br[t, l0 + ll]
        N[3, b + ll] = Bi[t, l0 + ll]
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
        for tau in range(hi, lo - 1, -1):  # the rest (s = tau + 1..top) and the 2 x 2 block, lane-explicit
            complex_row_f64(RT, N, acc, A, Br, Bi, tau, lo, top, full, l0)
        hi = lo - 1


@njit(fastmath=_FM, cache=True, nogil=True, inline="always")
def _probe_part(t, t0, l0, nl, A, Br, Bi, N, V, RS, B0, dgS, spec, tan, Mp, out, psi, chi):
    """The hybrid estimator's probe part on the lanes (docs/theory.md §4.3 with complex fields): with the tangent
    pair (X, Y) of the path (``tan``: Re X, Im X, Re Y, Im Y stacked, blocks of Mp), chi = Re(a_t X + b_t Y) minus
    the window's probe part sum_{tau >= t0} Re(nu_tau[0]) v_tau; with a spectral seed out[t + 1] += chi (its probe
    mean is R_g(t, S)) and psi = chi minus the window's source part (the probe part of the older columns)."""
    for ll in range(LANES):  # every lane: the padding paths have a = b = 0 and a zero tangent
        i = l0 + ll
        a, br, bi = np.float64(A[t, i]), np.float64(Br[t, i]), np.float64(Bi[t, i])
        chi[ll] = a * tan[i] + br * tan[2 * Mp + i] - bi * tan[3 * Mp + i]
    for tau in range(t0, t + 1):
        b = tau * LANES
        for ll in range(LANES):
            chi[ll] -= N[0, b + ll] * V[tau, l0 + ll]
    if spec:
        sm = 0.0
        for ll in range(nl):
            sm += chi[ll]
        out[t + 1] += sm
        for tau in range(t0, t + 1):
            b = tau * LANES
            if tau == 0:
                for ll in range(LANES):
                    chi[ll] -= N[0, ll] * B0[l0 + ll]
            else:
                rs = RS[tau]
                for ll in range(LANES):
                    chi[ll] -= N[0, b + ll] * (rs * dgS[l0 + ll])
    for ll in range(nl):
        psi[l0 + ll] = chi[ll]


@njit(fastmath=_FM, cache=True, nogil=True, inline="always")
def _chunk(t, t0, i0, i1, A, Br, Bi, RT, spec, RS, B0, dgS, out, hyb, V, tan, Mp, psi):
    """Reverse sweeps for the paths [i0, i1): adds sum_paths Re nu_tau[0] (tau = t0..t) to out[tau]; then either
    (``hyb``) the probe part (:func:`_probe_part`) or, t0 = 0 with a spectral seed, the exact spectral column
    sum_tau Re nu_tau[0] source_tau to out[t + 1]."""
    N = np.zeros((4, (t + 1) * LANES))
    acc = np.zeros((4, TAU_BLOCK * LANES))
    chi = np.zeros(LANES)
    for l0 in range(i0, i1, LANES):
        nl = min(LANES, i1 - l0)
        _sweep(t, t0, l0, A, Br, Bi, RT, N, acc)
        for tau in range(t0, t + 1):
            sm = 0.0
            b = tau * LANES
            for ll in range(nl):
                sm += N[0, b + ll]
            out[tau] += sm
        if hyb:
            _probe_part(t, t0, l0, nl, A, Br, Bi, N, V, RS, B0, dgS, spec, tan, Mp, out, psi, chi)
        elif spec and t0 == 0:
            sm = 0.0
            for ll in range(nl):
                i = l0 + ll
                sm += N[0, ll] * B0[i]
                for tau in range(1, t + 1):
                    sm += N[0, tau * LANES + ll] * RS[tau] * dgS[i]
            out[t + 1] += sm


@njit(parallel=True, fastmath=_FM, cache=True)
def _par(t, t0, A, Br, Bi, RT, spec, RS, B0, dgS, M, parts, hyb, V, tan, Mp, psi):
    for c in prange(parts.shape[0]):
        i0 = c * CHUNK
        _chunk(t, t0, i0, min(M, i0 + CHUNK), A, Br, Bi, RT, spec, RS, B0, dgS, parts[c], hyb, V, tan, Mp, psi)


@njit(nogil=True, fastmath=_FM, cache=True)
def _ser(t, t0, A, Br, Bi, RT, spec, RS, B0, dgS, M, parts, hyb, V, tan, Mp, psi):
    for c in range(parts.shape[0]):
        i0 = c * CHUNK
        _chunk(t, t0, i0, min(M, i0 + CHUNK), A, Br, Bi, RT, spec, RS, B0, dgS, parts[c], hyb, V, tan, Mp, psi)


def complex_responses(t, A, Br, Bi, RT, spectral, n_paths, serial=False, t0=0, probe=None) -> np.ndarray:
    """resp[tau] = E[Re nu_tau[0]] (tau = t0..t; 0 below t0) and resp[t + 1] = R_g(t, S) (with a spectral seed:
    exact for t0 = 0 without ``probe``, else the probe mean of chi; 0 without a spectral seed).

    ``A``, ``Br``, ``Bi``: (>= t + 1, M) histories (float32 or float64 storage; the sweep runs in float64) of a = dg/dr
    and b = dg/d r-bar (real, imaginary parts); ``RT[k, s]`` = R(s, k) the memory of the read points (row 0:
    R(s, S)); ``spectral``: None or (B0, dgS), the per-path d r^0 / d w^S and d g^S / d w^S; ``probe``: None, or
    the hybrid estimator's (V, tan, psi): the probe signs V (int8, >= t + 1 rows, >= M columns), the tangent pair
    ``tan`` (float64, Re X, Im X, Re Y, Im Y in blocks of Mp = len(tan) // 4) and the float64 output ``psi`` (>= M)
    that receives each path's probe part of the older columns (:func:`_probe_part`); means over the ``n_paths``
    paths."""
    M = int(n_paths)
    if A.shape[1] % LANES or A.shape[1] < M:
        raise ValueError(f"path arrays must be padded to a multiple of {LANES} columns (>= n_paths = {M})")
    parts = np.zeros((-(-M // CHUNK), t + 2))
    spec = spectral is not None
    dummy = np.zeros(1)
    B0, dgS = spectral if spec else (dummy, dummy)
    RS = np.ascontiguousarray(RT[0, : t + 1], dtype=np.float64)
    hyb = probe is not None
    V, tan, psi = probe if hyb else (np.zeros((1, 1), dtype=np.int8), dummy, dummy)
    f = _ser if serial else _par
    RT64 = np.ascontiguousarray(RT, dtype=np.float64)
    args = (t, int(t0), A, Br, Bi, RT64, spec, RS, B0, dgS, M, parts, hyb, V, tan, tan.shape[0] // 4, psi)
    key = (serial, A.dtype.name)
    if key not in _COMPILED:  # compile (or load numba's cache) with both LLVM vectorisers on (no reassociation)
        with _slp_flags(loop=True):
            f(*args)
        _COMPILED.add(key)
    else:
        f(*args)
    return parts.sum(axis=0) / M


@njit(fastmath=True, cache=True, nogil=True, inline="always")
def _mem_chunk(c, mem, past, P, f32, out):
    a = c * HCHUNK
    b = min(P.shape[1], a + HCHUNK)
    for i in range(a, b):
        out[i] = 0.0
    _acc(out, P, mem, past, a, b, f32)


@njit(parallel=True, fastmath=True, cache=True)
def _mem_par(mem, past, P, f32, out):
    for c in prange((P.shape[1] + HCHUNK - 1) // HCHUNK):
        _mem_chunk(c, mem, past, P, f32, out)


@njit(nogil=True, fastmath=True, cache=True)
def _mem_ser(mem, past, P, f32, out):
    for c in range((P.shape[1] + HCHUNK - 1) // HCHUNK):
        _mem_chunk(c, mem, past, P, f32, out)


def memory_sum(mem, P, t, serial, out) -> np.ndarray:
    """out = sum_{tau < t} mem[tau] P[tau] (float64 out; P a (time, columns) history, the hybrid field kernel's
    fixed-order accumulation :func:`._hybrid._acc`, so the result does not depend on the thread count)."""
    f = _mem_ser if serial else _mem_par
    args = (np.ascontiguousarray(mem, dtype=np.float64), np.arange(t), P, P.dtype == np.float32, out)
    key = ("mem", serial, P.dtype.name)
    if key not in _COMPILED:
        with _numba_lock:  # default compiler flags (no _slp_flags in another thread meanwhile)
            f(*args)
        _COMPILED.add(key)
    else:
        f(*args)
    return out


_COMPILED: set = set()
