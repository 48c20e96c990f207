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
Each (path, tau, s) costs four multiply-adds (the real sweep one); the sums over s run in the generated
register-blocked micro-kernel (:mod:`._generated.complex_lanes`).  With a window ``t0`` the sweep stops at
tau = t0 (exact for tau >= t0: nu_tau depends on nu_s, s > tau, only) and can keep each path's nu_tau[0] (the hybrid
estimator, :mod:`._complex`).

Paths are processed in fixed chunks of :data:`CHUNK` (lanes of :data:`LANES`), each chunk's sums stored in its
own row and added in chunk order, so results do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._generated.complex_lanes import LANES, WIDTH, micro

__all__ = ["complex_responses", "CHUNK", "LANES"]

CHUNK = 512


@njit(fastmath=True, cache=True, nogil=True, inline="always")
def _sweep(t, t0, l0, nl, A, Br, Bi, RT, nu):
    """nu[tau] (flat: tau * WIDTH + component * LANES + lane) for tau = t..t0 on the lanes [l0, l0 + nl)."""
    z = nu[0] * 0
    b = t * WIDTH
    for q in range(WIDTH):
        nu[b + q] = z
    for ll in range(nl):
        i = l0 + ll
        nu[b + ll] = A[t, i]
        nu[b + 2 * LANES + ll] = Br[t, i]
        nu[b + 3 * LANES + ll] = Bi[t, i]
    for tau in range(t - 1, t0 - 1, -1):
        acc = micro(RT, nu, tau, t)
        b = tau * WIDTH
        for ll in range(LANES):
            if ll < nl:
                i = l0 + ll
                a, br, bi = A[tau, i], Br[tau, i], Bi[tau, i]
            else:
                a = br = bi = z
            x0r, x0i, x1r, x1i = acc[ll], acc[LANES + ll], acc[2 * LANES + ll], acc[3 * LANES + ll]
            # nu_tau = (x0, x1) D_tau: nu0 = a x0 + conj(b) x1, nu1 = b x0 + a x1
            nu[b + ll] = a * x0r + br * x1r + bi * x1i
            nu[b + LANES + ll] = a * x0i + br * x1i - bi * x1r
            nu[b + 2 * LANES + ll] = br * x0r - bi * x0i + a * x1r
            nu[b + 3 * LANES + ll] = br * x0i + bi * x0r + a * x1i


@njit(fastmath=True, cache=True, nogil=True, inline="always")
def _chunk(t, t0, i0, i1, A, Br, Bi, RT, spec, RS, B0, dgS, out, keep, keep_on):
    """Reverse sweeps for the paths [i0, i1): adds sum_paths Re nu_tau[0] (tau = t0..t) to out[tau], the spectral
    column to out[t + 1] (t0 = 0 only), and with ``keep_on`` stores nu_tau[0] per path in keep[0/1, tau - t0]."""
    nu = np.zeros((t + 1) * WIDTH, dtype=A.dtype)
    for l0 in range(i0, i1, LANES):
        nl = min(LANES, i1 - l0)
        _sweep(t, t0, l0, nl, A, Br, Bi, RT, nu)
        for tau in range(t0, t + 1):
            sm = 0.0
            b = tau * WIDTH
            for ll in range(nl):
                sm += nu[b + ll]
            out[tau] += sm
            if keep_on:
                for ll in range(nl):
                    keep[0, tau - t0, l0 + ll] = nu[b + ll]
                    keep[1, tau - t0, l0 + ll] = nu[b + LANES + ll]
        if spec and t0 == 0:
            sm = 0.0
            for ll in range(nl):
                i = l0 + ll
                sm += nu[ll] * B0[i]
                for tau in range(1, t + 1):
                    sm += nu[tau * WIDTH + ll] * RS[tau] * dgS[i]
            out[t + 1] += sm


@njit(parallel=True, fastmath=True, cache=True)
def _par(t, t0, A, Br, Bi, RT, spec, RS, B0, dgS, M, parts, keep, keep_on):
    for c in prange(parts.shape[0]):
        i0 = c * CHUNK
        _chunk(t, t0, i0, min(M, i0 + CHUNK), A, Br, Bi, RT, spec, RS, B0, dgS, parts[c], keep, keep_on)


@njit(nogil=True, fastmath=True, cache=True)
def _ser(t, t0, A, Br, Bi, RT, spec, RS, B0, dgS, M, parts, keep, keep_on):
    for c in range(parts.shape[0]):
        i0 = c * CHUNK
        _chunk(t, t0, i0, min(M, i0 + CHUNK), A, Br, Bi, RT, spec, RS, B0, dgS, parts[c], keep, keep_on)


def complex_responses(t, A, Br, Bi, RT, spectral, n_paths, serial=False, t0=0, keep=None) -> np.ndarray:
    """resp[tau] = E[Re nu_tau[0]] (tau = t0..t; 0 below t0) and resp[t + 1] = R_g(t, S) (t0 = 0 with a spectral seed;
    else 0).

    ``A``, ``Br``, ``Bi``: (>= t + 1, M) histories (float32 or float64: the sweep's arithmetic) of a = dg/dr
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
    args = (t, int(t0), A, Br, Bi, np.ascontiguousarray(RT, dtype=A.dtype), spec, RS, B0, dgS, M, parts, kp, keep_on)
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
