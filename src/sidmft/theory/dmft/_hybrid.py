"""Responses at O(M T^2) for long horizons: a pathwise window plus a random-probe tangent (docs/theory.md §4.3).

The exact responses R_g(t, p) = E[l''_t J(t, p)], J(t, p) = d r^t / d w^p, cost O(M t^2) at step t when
every column p <= t is swept in reverse mode (:mod:`sidmft.theory.dmft._kernels`), O(M T^3) in all.  This
estimator splits the columns at t0 = t - W (the window W):

* recent columns p >= t0: the reverse sweep restricted to the window, which is *exact* -- lambda_tau for
  tau >= t0 depends only on lambda_s with tau < s <= t (O(M W^2) per step);
* older columns p < t0: one forward tangent per path along a random direction v (Rademacher entries v_p =
  +-1, independent of everything else), phi^s = v_s + sum_{tau<s} R(s, tau) l''_tau phi^tau, which obeys
  the field's recursion and costs O(M s) per step.  phi^t = sum_p J(t, p) v_p, so with the exactly known
  window part removed, psi = phi^t - sum_{p >= t0} J(t, p) v_p, one has E_v[psi v_p] = J(t, p) for p < t0:
  R_g(t, p) = E[l''_t psi v_p] is unbiased; its extra variance is l''_t^2 sum_{p' < t0, p' != p} J(t, p')^2,
  the tail mass of the memory only, which vanishes when W >= t (then the estimator is the exact one);
* the spectral column (spectral start; the input w^S feeds r^0 = kappa u and g^S): d r^t/d w^S is the
  tangent along the sources s^0 = d r^0/d w^S, s^tau = R(tau, S) dg^S/dw^S.  They ride on the same tangent,
  phi^s = v_s + s^s + sum_{tau<s} R(s, tau) l''_tau phi^tau, so no second history is streamed: with the
  window's probe part removed, chi = phi^t - sum_{p >= t0} J(t, p) v_p has probe mean sum_p J(t, p) s^p =
  d r^t/d w^S (unbiased, with the tail's extra variance), and the older columns use psi = chi minus the
  window's source part, whose cross terms with v_p (p < t0) have mean zero.

The helpers are inlined at numba's IR level (``inline="always"``), so a kernel's machine code is the same
whether it is compiled in this process or loaded from numba's cache (with separately compiled helpers,
LLVM's fast-math choices differed between the two, measured at 1e-7 relative).

Every part is O(M t) per step except the window (O(M W^2)), so a solve costs O(M T^2 + M T W^2).  The O(M t)
parts stream whole rows of the (time, path) histories: each average over paths is one row's dot product in a
fixed order, each per-path sum over time runs over fixed chunks of CHUNK paths, so the result does not
depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["HybridState", "hybrid_responses", "warmup", "CHUNK", "LANES", "DEFAULT_WINDOW"]

CHUNK = 4096  # paths per work unit (a multiple of LANES)
LANES = 16
WLANES = 64  # paths per block of the window sweep (measured 1.65x faster than 16)
#: default window W: the measured optimum of variance against cost (docs/theory.md §4.3)
DEFAULT_WINDOW = 32


@njit(fastmath=True, cache=True, nogil=True, inline="always")
def _window_chunk(a, b, t, t0, H, RT, V, phi, spec, B0, dgS, psi, resp):
    """Reverse sweep over the window on the paths [a, b) (blocks of WLANES).

    Adds the sums of l''_t lambda_tau (tau >= t0) to resp[t0..t]; with a spectral seed, the sum of
    l''_t chi (chi = phi - sum_{tau >= t0} lambda_tau v_tau, whose probe mean is d r^t / d w^S) to resp[t + 1];
    sets psi = l''_t (chi - sum_{tau >= t0} lambda_tau s_tau), the probe part of the older columns."""
    nw = t - t0 + 1
    lam = np.zeros((nw, WLANES))
    acc = np.zeros(WLANES)
    for i0 in range(a, b, WLANES):
        nl = min(WLANES, b - i0)
        for ll in range(nl):
            lam[nw - 1, ll] = 1.0
        for tau in range(t - 1, t0 - 1, -1):
            for ll in range(nl):
                acc[ll] = 0.0
            for s in range(tau + 1, t + 1):
                rr = RT[tau + 1, s]
                for ll in range(nl):
                    acc[ll] += rr * lam[s - t0, ll]
            for ll in range(nl):
                lam[tau - t0, ll] = H[tau, i0 + ll] * acc[ll]
        for ll in range(nl):
            psi[i0 + ll] = phi[i0 + ll]
        for tau in range(t0, t + 1):  # window responses; remove the window's probe part
            sm = 0.0
            for ll in range(nl):
                lv = lam[tau - t0, ll]
                sm += H[t, i0 + ll] * lv
                psi[i0 + ll] -= lv * V[tau, i0 + ll]
            resp[tau] += sm
        if spec:  # spectral column, then remove the window's spectral part from the probe
            sm = 0.0
            for ll in range(nl):
                sm += H[t, i0 + ll] * psi[i0 + ll]
            resp[t + 1] += sm
            for tau in range(t0, t + 1):
                rs = RT[0, tau]
                for ll in range(nl):
                    src = B0[i0 + ll] if tau == 0 else rs * dgS[i0 + ll]
                    psi[i0 + ll] -= lam[tau - t0, ll] * src
        for ll in range(nl):
            psi[i0 + ll] *= H[t, i0 + ll]


@njit(fastmath=True, cache=True, nogil=True, inline="always")
def _row_dot(A, k, x):
    """sum_i A[k, i] x[i] in float64 (one row: contiguous, fixed order)."""
    sm = 0.0
    for i in range(A.shape[1]):
        sm += x[i] * A[k, i]
    return sm


@njit(fastmath=True, cache=True, nogil=True, inline="always")
def _acc(out, A, c, rows, a, b, f32):
    """out[a:b] += sum_j c[j] A[rows[j], a:b] in a fixed order (``rows``: all earlier steps for the memory;
    the non-zero entries of a Cholesky row for the scores, since once the iterates converge most inputs are
    degenerate with coefficients exactly 0).  float32 histories (``f32``): partial sums of eight rows in
    float32 (the SIMD width doubles; measured 1.7x faster), each added to the float64 out; float64
    histories: four rows at a time in float64."""
    n = rows.shape[0]
    j = 0
    if f32:
        while j + 8 <= n:
            k0, k1, k2, k3, k4, k5, k6, k7 = rows[j : j + 8]
            c0, c1, c2, c3 = np.float32(c[j]), np.float32(c[j + 1]), np.float32(c[j + 2]), np.float32(c[j + 3])
            c4, c5, c6, c7 = np.float32(c[j + 4]), np.float32(c[j + 5]), np.float32(c[j + 6]), np.float32(c[j + 7])
            for i in range(a, b):
                s0 = c0 * A[k0, i] + c1 * A[k1, i] + c2 * A[k2, i] + c3 * A[k3, i]
                s1 = c4 * A[k4, i] + c5 * A[k5, i] + c6 * A[k6, i] + c7 * A[k7, i]
                out[i] += np.float64(s0 + s1)
            j += 8
    while j + 4 <= n:
        k0, k1, k2, k3 = rows[j : j + 4]
        d0, d1, d2, d3 = c[j], c[j + 1], c[j + 2], c[j + 3]
        for i in range(a, b):
            out[i] += d0 * A[k0, i] + d1 * A[k1, i] + d2 * A[k2, i] + d3 * A[k3, i]
        j += 4
    while j < n:
        k, cj = rows[j], c[j]
        for i in range(a, b):
            out[i] += cj * A[k, i]
        j += 1


@njit(fastmath=True, cache=True, nogil=True, inline="always")
def _fields_chunk(c, t, Lrow, Lidx, Xi, mem, past, G, s0, gS, P, V, dgS, spec, has_gs, f32, r, phi):
    """Field r^t and tangent phi^t (direction v + the spectral source) on the paths of chunk c (float64 out)."""
    a = c * CHUNK
    b = min(G.shape[1], a + CHUNK)
    for i in range(a, b):
        r[i] = 0.0
        phi[i] = V[t, i] + s0 * dgS[i] if spec else V[t, i]
    _acc(r, Xi, Lrow, Lidx, a, min(b, Xi.shape[1]), f32)  # Xi is not padded
    _acc(r, G, mem, past, a, b, f32)
    if has_gs and s0 != 0.0:
        for i in range(a, b):
            r[i] += s0 * gS[i]
    _acc(phi, P, mem, past, a, b, f32)


@njit(parallel=True, fastmath=True, cache=True)
def _fields_par(t, Lrow, Lidx, Xi, mem, past, G, s0, gS, P, V, dgS, spec, has_gs, f32, r, phi):
    M = G.shape[1]
    for c in prange((M + CHUNK - 1) // CHUNK):
        _fields_chunk(c, t, Lrow, Lidx, Xi, mem, past, G, s0, gS, P, V, dgS, spec, has_gs, f32, r, phi)


@njit(nogil=True, fastmath=True, cache=True)
def _fields_ser(t, Lrow, Lidx, Xi, mem, past, G, s0, gS, P, V, dgS, spec, has_gs, f32, r, phi):
    M = G.shape[1]
    for c in range((M + CHUNK - 1) // CHUNK):
        _fields_chunk(c, t, Lrow, Lidx, Xi, mem, past, G, s0, gS, P, V, dgS, spec, has_gs, f32, r, phi)


@njit(parallel=True, fastmath=True, cache=True)
def _window_par(t, t0, H, RT, V, phi, spec, B0, dgS, psi, wresp):
    M = H.shape[1]
    for c in prange((M + CHUNK - 1) // CHUNK):
        a = c * CHUNK
        _window_chunk(a, min(M, a + CHUNK), t, t0, H, RT, V, phi, spec, B0, dgS, psi, wresp[c])


@njit(nogil=True, fastmath=True, cache=True)
def _window_ser(t, t0, H, RT, V, phi, spec, B0, dgS, psi, wresp):
    M = H.shape[1]
    for c in range((M + CHUNK - 1) // CHUNK):
        a = c * CHUNK
        _window_chunk(a, min(M, a + CHUNK), t, t0, H, RT, V, phi, spec, B0, dgS, psi, wresp[c])


@njit(nogil=True, fastmath=True, cache=True)
def _rows(t, t0, G, V, psi, gS, z, has_gs, resp, gram):
    """Row sums of step t: the Gram row E[g^t g^k] (k <= t), the probe columns E[psi v_k] (k < t0), then
    E[g^t g^S] and E[g^t z].  Products and sums in float64 whatever the history dtype: float32 products in the Gram
    row made its covariance inconsistent enough to ruin a solve near a saddle (linear start of phase retrieval,
    T = 80: train loss 0.281 +- 0.050 against 0.2151 +- 0.0079 in float64), at no measurable gain.  One thread for both
    kernel variants: inside ``prange`` these reductions were built differently by a fresh compile and by numba's
    cache."""
    M = G.shape[1]
    g = np.empty(M)
    for i in range(M):
        g[i] = G[t, i]
    for k in range(t + 1):
        gram[k] = _row_dot(G, k, g)
        if k < t0:
            resp[k] = _row_dot(V, k, psi)
    _tail(t, G, gS, z, has_gs, gram)


@njit(fastmath=True, cache=True, nogil=True, inline="always")
def _tail(t, G, gS, z, has_gs, gram):
    """E[g^t g^S] and E[g^t z] (sums, float64)."""
    sg = 0.0
    sz = 0.0
    for i in range(G.shape[1]):
        if has_gs:
            sg += G[t, i] * gS[i]
        sz += G[t, i] * z[i]
    gram[t + 1] = sg
    gram[t + 2] = sz


def hybrid_responses(t, window, H, G, RT, V, phi, spectral, gS, z, n_paths, serial=False):
    """(resp, gram, gz) as :meth:`sidmft.theory.dmft._kernels.Kernel.responses_and_gram`, by the window +
    probe estimator (module docstring).

    ``H``, ``G``: (>= t + 1, M) histories of l'' and g, ``V`` the probe signs (M a multiple of LANES,
    padding columns zero); ``RT[k, s]`` = R(s, k) the memory (row 0: R(s, S)); ``phi`` the tangent at step t;
    ``spectral``: None, or (B0, dgS) = (d r^0/d w^S, d g^S/d w^S) per path; ``gS`` g^S or g^L (None
    without), ``z`` the padded z; means over the ``n_paths`` real paths."""
    M = H.shape[1]
    if M % LANES:
        raise ValueError(f"path arrays must be padded to a multiple of {LANES}")
    t0 = max(t - int(window), 0)
    nch = -(-M // CHUNK)
    wresp = np.zeros((nch, t + 2))
    resp = np.zeros(t + 2)
    gram = np.zeros(t + 3)
    psi = np.zeros(M)
    spec, has_gs = spectral is not None, gS is not None
    dummy = np.zeros(1)
    B0, dgS = spectral if spec else (dummy, dummy)
    win = _window_ser if serial else _window_par
    win(t, t0, H, RT, V, phi, spec, B0, dgS, psi, wresp)
    zz = np.ascontiguousarray(z, dtype=np.float64)
    _rows(t, t0, G, V, psi, gS if has_gs else dummy, zz, has_gs, resp, gram)
    resp[t0:] = wresp.sum(axis=0)[t0:]  # window columns t0..t and the spectral column t + 1
    return resp / n_paths, gram[: t + 2] / n_paths, gram[t + 2] / n_paths


class HybridState:
    """Per-batch state of the estimator: probe directions V (int8, +-1) and the tangent history P = l'' phi
    (history dtype), phi the tangent along v plus, with a spectral seed, the spectral source
    (s^0 = d r^0/d w^S, s^t = R(t, S) dg^S/dw^S), so that its probe mean is d r^t/d w^S.

    ``V`` is drawn from the batch's generator after every other draw (so switching estimator does not move
    the other random numbers); in spectral mode V[0] = 0 (r^0 has no input of its own)."""

    def __init__(self, rng, n_steps, n_padded, n_paths, dtype, spectral, B0, window, serial):
        self.window, self.serial, self.spectral = int(window), bool(serial), bool(spectral)
        self.V = np.zeros((n_steps + 1, n_padded), dtype=np.int8)
        self.V[:, :n_paths] = rng.integers(0, 2, size=(n_steps + 1, n_paths), dtype=np.int8) * 2 - 1
        if spectral:
            self.V[0] = 0
        self.P = np.zeros((n_steps + 1, n_padded), dtype=dtype)
        self.B0 = np.asarray(B0, dtype=np.float64) if spectral else None
        self.phi = self.B0.copy() if spectral else self.V[0].astype(np.float64)

    def fields(self, t, Lrow, Xi, mem, G, s0, gS, dgS):
        """r^t (returned; the field kernel's value) and the tangent phi^t (stored), in one pass."""
        r = np.empty(G.shape[1])
        has_gs = gS is not None
        f = _fields_ser if self.serial else _fields_par
        dummy = np.zeros(1)
        lidx = np.flatnonzero(Lrow)  # degenerate inputs have exactly zero coefficients
        lrow = np.ascontiguousarray(Lrow[lidx], dtype=np.float64)
        mem = np.ascontiguousarray(mem, dtype=np.float64)
        spec = (dgS if self.spectral else dummy, self.spectral, has_gs, G.dtype == np.float32)
        past = np.arange(t)
        f(t, lrow, lidx, Xi, mem, past, G, float(s0), gS if has_gs else dummy, self.P, self.V, *spec, r, self.phi)
        return r[: Xi.shape[1]]

    def responses(self, t, H, G, RT, gS, z, n_paths, dgS):
        """(resp, gram, gz) of step t (:func:`hybrid_responses`)."""
        spec = (self.B0, dgS) if self.spectral else None
        return hybrid_responses(t, self.window, H, G, RT, self.V, self.phi, spec, gS, z, n_paths, self.serial)

    def record(self, t, h):
        """Store l''_t phi^t (h: the padded l'' row of step t)."""
        self.P[t] = h * self.phi


def warmup(dtype, serial: bool) -> None:
    """Compile (or load from numba's cache) the kernels for histories of ``dtype``, with and without a
    spectral seed.  Called by :func:`sidmft.theory.dmft._kernels.warmup` in the calling thread, holding its
    lock: compiled lazily inside batch threads, a kernel could pick up the compiler flags that another
    thread sets for the generated kernels, and two processes (a local run and a Dask worker) would then
    round differently."""
    M, t = LANES, 3
    rng = np.random.default_rng(0)
    for spectral in (False, True):
        st = HybridState(rng, t, M, M, dtype, spectral, np.ones(M), 2, serial)
        H = np.ones((t + 1, M), dtype=dtype)
        Xi = np.ones((t + 2, M), dtype=dtype)
        st.fields(t, np.ones(t + 2), Xi, np.ones(t), H, 0.5, np.ones(M), np.ones(M))
        st.responses(t, H, H, np.zeros((t + 2, t + 2), dtype=dtype), np.ones(M), np.zeros(M), M, np.ones(M))
