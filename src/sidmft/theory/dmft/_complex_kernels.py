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
Each (path, tau, s) costs four multiply-adds (the real sweep one).

Paths are processed in fixed chunks of :data:`CHUNK` (lanes of :data:`LANES`), each chunk's sums stored in its
own row and added in chunk order, so results do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["complex_responses", "CHUNK", "LANES"]

CHUNK = 512
LANES = 16


@njit(fastmath=True, cache=True, nogil=True, inline="always")
def _sweep(t, l0, nl, A, Br, Bi, RT, nu, acc):
    """nu[tau] for tau = t..0 on the lanes [l0, l0 + nl), two rows tau at a time sharing the loads of nu[s]."""
    z = nu[0, 0, 0] * 0
    for ll in range(LANES):
        for k in range(4):
            nu[t, k, ll] = z
    for ll in range(nl):
        i = l0 + ll
        nu[t, 0, ll] = A[t, i]
        nu[t, 2, ll] = Br[t, i]
        nu[t, 3, ll] = Bi[t, i]
    tau = t - 1
    while tau >= 0:
        two = tau >= 1
        for k in range(4):
            for ll in range(LANES):
                acc[0, k, ll] = z
                acc[1, k, ll] = z
        for s in range(tau + 1, t + 1):  # the part both rows share: s > tau
            r0 = RT[tau + 1, s]
            r1 = RT[tau, s] if two else z
            for k in range(4):
                for ll in range(LANES):
                    v = nu[s, k, ll]
                    acc[0, k, ll] += r0 * v
                    acc[1, k, ll] += r1 * v
        _mix(tau, l0, nl, A, Br, Bi, nu, acc, 0)
        if two:
            r = RT[tau, tau]
            for k in range(4):
                for ll in range(LANES):
                    acc[1, k, ll] += r * nu[tau, k, ll]
            _mix(tau - 1, l0, nl, A, Br, Bi, nu, acc, 1)
        tau -= 2


@njit(fastmath=True, cache=True, nogil=True, inline="always")
def _mix(tau, l0, nl, A, Br, Bi, nu, acc, j):
    """nu_tau = (x0, x1) D_tau: nu0 = a x0 + conj(b) x1, nu1 = b x0 + a x1 (x = acc[j])."""
    for ll in range(LANES):
        if ll < nl:
            i = l0 + ll
            a, br, bi = A[tau, i], Br[tau, i], Bi[tau, i]
        else:
            a = br = bi = nu[0, 0, 0] * 0
        x0r, x0i, x1r, x1i = acc[j, 0, ll], acc[j, 1, ll], acc[j, 2, ll], acc[j, 3, ll]
        nu[tau, 0, ll] = a * x0r + br * x1r + bi * x1i
        nu[tau, 1, ll] = a * x0i + br * x1i - bi * x1r
        nu[tau, 2, ll] = br * x0r - bi * x0i + a * x1r
        nu[tau, 3, ll] = br * x0i + bi * x0r + a * x1i


@njit(fastmath=True, cache=True, nogil=True, inline="always")
def _chunk(t, i0, i1, A, Br, Bi, RT, spec, RS, B0, dgS, out):
    """Reverse sweeps for the paths [i0, i1), adding sum_paths Re nu_tau[0] to out[tau] and the spectral column to
    out[t + 1] (sums in float64)."""
    nu = np.zeros((t + 1, 4, LANES), dtype=A.dtype)
    acc = np.zeros((2, 4, LANES), dtype=A.dtype)
    for l0 in range(i0, i1, LANES):
        nl = min(LANES, i1 - l0)
        _sweep(t, l0, nl, A, Br, Bi, RT, nu, acc)
        for tau in range(t + 1):
            sm = 0.0
            for ll in range(nl):
                sm += nu[tau, 0, ll]
            out[tau] += sm
        if spec:
            sm = 0.0
            for ll in range(nl):
                i = l0 + ll
                sm += nu[0, 0, ll] * B0[i]
                for tau in range(1, t + 1):
                    sm += nu[tau, 0, ll] * RS[tau] * dgS[i]
            out[t + 1] += sm


@njit(parallel=True, fastmath=True, cache=True)
def _par(t, A, Br, Bi, RT, spec, RS, B0, dgS, M, parts):
    for c in prange(parts.shape[0]):
        i0 = c * CHUNK
        _chunk(t, i0, min(M, i0 + CHUNK), A, Br, Bi, RT, spec, RS, B0, dgS, parts[c])


@njit(nogil=True, fastmath=True, cache=True)
def _ser(t, A, Br, Bi, RT, spec, RS, B0, dgS, M, parts):
    for c in range(parts.shape[0]):
        i0 = c * CHUNK
        _chunk(t, i0, min(M, i0 + CHUNK), A, Br, Bi, RT, spec, RS, B0, dgS, parts[c])


def complex_responses(t, A, Br, Bi, RT, spectral, n_paths, serial=False) -> np.ndarray:
    """resp[tau] = E[Re nu_tau[0]] (tau = 0..t) and resp[t + 1] = R_g(t, S) (0 without a spectral seed).

    ``A``, ``Br``, ``Bi``: (>= t + 1, M) histories (float32 or float64: the sweep's arithmetic) of a = dg/dr
    and b = dg/d r-bar (real, imaginary parts);
    ``RT[k, s]`` = R(s, k) the memory of the read points (row 0: R(s, S)); ``spectral``: None or (B0, dgS), the
    per-path d r^0 / d w^S and d g^S / d w^S; means over the ``n_paths`` paths."""
    M = int(n_paths)
    parts = np.zeros((-(-M // CHUNK), t + 2))
    spec = spectral is not None
    dummy = np.zeros(1)
    B0, dgS = spectral if spec else (dummy, dummy)
    RS = np.ascontiguousarray(RT[0, : t + 1], dtype=np.float64)
    f = _ser if serial else _par
    f(t, A, Br, Bi, np.ascontiguousarray(RT, dtype=A.dtype), spec, RS, B0, dgS, M, parts)
    return parts.sum(axis=0) / M
