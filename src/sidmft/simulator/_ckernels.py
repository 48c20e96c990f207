"""Fused numba kernels for complex data (complex Wirtinger flow, docs/theory.md §7): one read of A per step.

The complex (n, d) matrix A stores the rows a_i^H, so r = A x.  The hot operation is

    out = A^H g,   g_i = h(y_i, r_i),   r = A x,

with h = L'(y, |r|) r/|r| (0 at r = 0) for gradient descent on a loss of |r|, and h = w_i r for the
spectral operator x -> D x (w = T(y)/alpha real).  The kernels read A through its real interleaved
view A_f (n, 2d), A_f[i, 2j] = Re A_ij, A_f[i, 2j+1] = Im A_ij.  With

    u = (Re x_0, -Im x_0, Re x_1, -Im x_1, ...),   v = (Im x_0, Re x_0, Im x_1, Re x_1, ...),

Re r_i = <A_f[i], u> and Im r_i = <A_f[i], v>; and with P = sum_i Re g_i A_f[i], Q = sum_i Im g_i A_f[i]
(accumulated 8 rows at a time while the rows are in cache),

    Re (A^H g)_j = P[2j] + Q[2j+1],   Im (A^H g)_j = Q[2j] - P[2j+1].

Determinism as in :mod:`sidmft.simulator._kernels`: fixed blocks of ROW_BLOCK rows (batched: fixed row
chunks), partial sums added in block order, so nothing depends on the thread count.

Batches: B complex columns are 2B real columns [u_0, v_0, u_1, v_1, ...] of the real batched kernel's
register block (6 rows x 4 columns); column pairs (2b, 2b+1) are (Re, Im) of trajectory b, so the
(n, 2B) result is the float view of the complex R = A X.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._kernels import _FM, ROW_BLOCK, BatchWorkspace, _acc6x4, _mul6x4, _placeholder, _reduce_parts, _store6x4

__all__ = ["CWorkspace", "cfused_apply", "cfused_apply_batch", "numpy_capply", "real_view", "real_dtype"]


def real_dtype(dt) -> np.dtype:
    """float64 for complex128, float32 for complex64 (a real dtype is returned as it is)."""
    return np.empty(0, dtype=dt).real.dtype


def real_view(A) -> np.ndarray:
    """The real interleaved (n, 2d) view of a C-contiguous complex (n, d) array (no copy)."""
    return A.view(real_dtype(A.dtype))


def _uv(x, out_u, out_v):
    """Fill u = (Re x_0, -Im x_0, ...) and v = (Im x_0, Re x_0, ...) (each 2d) from complex x."""
    out_u[0::2], out_u[1::2] = x.real, -x.imag
    out_v[0::2], out_v[1::2] = x.imag, x.real


@njit(inline="always")
def _scale(lp, linear, yi, pr, pi, zero):
    """g_i / r_i: y_i (linear: the spectral weight) or L'(y_i, |r_i|)/|r_i| (0 at r_i = 0)."""
    if linear:
        return yi * 1.0
    rho = math.sqrt(pr * pr + pi * pi)
    if rho > zero:
        return lp(yi, rho) / rho
    return 0.0


@njit(inline="always", fastmath=_FM)
def _cdot8(a0, a1, a2, a3, a4, a5, a6, a7, u, v, m, zero):
    """(<a_k, u>, <a_k, v>) for the 8 rows (u, v loaded once for the 8 rows): 8 values p_k, then 8 values q_k."""
    p0 = p1 = p2 = p3 = p4 = p5 = p6 = p7 = zero
    q0 = q1 = q2 = q3 = q4 = q5 = q6 = q7 = zero
    for j in range(m):
        uj, vj = u[j], v[j]
        b0, b1, b2, b3, b4, b5, b6, b7 = a0[j], a1[j], a2[j], a3[j], a4[j], a5[j], a6[j], a7[j]
        p0 += b0 * uj
        p1 += b1 * uj
        p2 += b2 * uj
        p3 += b3 * uj
        p4 += b4 * uj
        p5 += b5 * uj
        p6 += b6 * uj
        p7 += b7 * uj
        q0 += b0 * vj
        q1 += b1 * vj
        q2 += b2 * vj
        q3 += b3 * vj
        q4 += b4 * vj
        q5 += b5 * vj
        q6 += b6 * vj
        q7 += b7 * vj
    return p0, p1, p2, p3, p4, p5, p6, p7, q0, q1, q2, q3, q4, q5, q6, q7


@njit(inline="always", fastmath=_FM)
def _caxpy8(P, Q, gr, gi, a0, a1, a2, a3, a4, a5, a6, a7, m):
    """P += sum_k gr[k] a_k, Q += sum_k gi[k] a_k over the 8 rows (still in cache)."""
    r0, r1, r2, r3, r4, r5, r6, r7 = gr[0], gr[1], gr[2], gr[3], gr[4], gr[5], gr[6], gr[7]
    i0, i1, i2, i3, i4, i5, i6, i7 = gi[0], gi[1], gi[2], gi[3], gi[4], gi[5], gi[6], gi[7]
    for j in range(m):
        b0, b1, b2, b3, b4, b5, b6, b7 = a0[j], a1[j], a2[j], a3[j], a4[j], a5[j], a6[j], a7[j]
        P[j] += ((r0 * b0 + r1 * b1) + (r2 * b2 + r3 * b3)) + ((r4 * b4 + r5 * b5) + (r6 * b6 + r7 * b7))
        Q[j] += ((i0 * b0 + i1 * b1) + (i2 * b2 + i3 * b3)) + ((i4 * b4 + i5 * b5) + (i6 * b6 + i7 * b7))


@njit(cache=True, parallel=True, fastmath=_FM)
def _cfused_kernel(Af, y, u, v, lp, linear, rf, partP, partQ, f, scaled, partP2, partQ2):
    n, m = Af.shape
    for b in prange(partP.shape[0]):
        P, Q, P2, Q2 = partP[b], partQ[b], partP2[b], partQ2[b]
        gr, gi = np.zeros(8, Af.dtype), np.zeros(8, Af.dtype)
        hr, hi = np.zeros(8, Af.dtype), np.zeros(8, Af.dtype)
        zero = gr[0]
        for j in range(m):
            P[j] = zero
            Q[j] = zero
        if scaled:
            for j in range(m):
                P2[j] = zero
                Q2[j] = zero
        i = b * ROW_BLOCK
        e = min(n, i + ROW_BLOCK)
        while i < e:
            nr = min(8, e - i)  # a short last group repeats its last row with a zero weight
            a0, a1, a2, a3 = Af[i], Af[i + min(1, nr - 1)], Af[i + min(2, nr - 1)], Af[i + min(3, nr - 1)]
            a4, a5, a6, a7 = (
                Af[i + min(4, nr - 1)],
                Af[i + min(5, nr - 1)],
                Af[i + min(6, nr - 1)],
                Af[i + min(7, nr - 1)],
            )
            p0, p1, p2, p3, p4, p5, p6, p7, q0, q1, q2, q3, q4, q5, q6, q7 = _cdot8(
                a0, a1, a2, a3, a4, a5, a6, a7, u, v, m, zero
            )
            ps = (p0, p1, p2, p3, p4, p5, p6, p7)
            qs = (q0, q1, q2, q3, q4, q5, q6, q7)
            for k in range(8):
                if k < nr:
                    rf[2 * (i + k)] = ps[k]
                    rf[2 * (i + k) + 1] = qs[k]
                    s = _scale(lp, linear, y[i + k], ps[k], qs[k], zero)
                    gr[k] = s * ps[k]
                    gi[k] = s * qs[k]
                else:
                    gr[k] = zero
                    gi[k] = zero
            _caxpy8(P, Q, gr, gi, a0, a1, a2, a3, a4, a5, a6, a7, m)
            if scaled:  # rows still in cache: the factor-weighted sums cost no extra read of A
                for k in range(8):
                    fk = f[i + k] if k < nr else zero
                    hr[k] = gr[k] * fk
                    hi[k] = gi[k] * fk
                _caxpy8(P2, Q2, hr, hi, a0, a1, a2, a3, a4, a5, a6, a7, m)
            i += nr


@njit(cache=True, parallel=True, fastmath=_FM)
def _creduce(partP, partQ, outf):
    """outf (2d) = the interleaved A^H g from the block partial sums P, Q (added in block order)."""
    nb, m = partP.shape
    for j in prange(m // 2):
        p0, p1, q0, q1 = partP[0, 2 * j], partP[0, 2 * j + 1], partQ[0, 2 * j], partQ[0, 2 * j + 1]
        for b in range(1, nb):
            p0 += partP[b, 2 * j]
            p1 += partP[b, 2 * j + 1]
            q0 += partQ[b, 2 * j]
            q1 += partQ[b, 2 * j + 1]
        outf[2 * j] = p0 + q1
        outf[2 * j + 1] = q0 - p1


class CWorkspace:
    """Scratch arrays for :func:`cfused_apply` (complex A of shape (n, d); reuse across steps)."""

    def __init__(self, n, d, dtype):
        cdt = np.dtype(dtype)
        rdt = real_dtype(cdt)
        self.nb = max(1, -(-n // ROW_BLOCK))
        self.u, self.v = np.empty(2 * d, dtype=rdt), np.empty(2 * d, dtype=rdt)
        self.partP, self.partQ = np.empty((self.nb, 2 * d), dtype=rdt), np.empty((self.nb, 2 * d), dtype=rdt)
        self.partP2: np.ndarray = np.empty((1, 1), dtype=rdt)
        self.partQ2: np.ndarray = np.empty((1, 1), dtype=rdt)
        self.r = np.empty(n, dtype=cdt)
        self.out, self.out2 = np.empty(d, dtype=cdt), np.empty(d, dtype=cdt)
        self.nofactor = np.empty(1, dtype=rdt)

    def scaled(self):
        """(partP2, partQ2): the factor-weighted partial sums, made on first use."""
        if self.partP2.shape != self.partP.shape:
            self.partP2, self.partQ2 = np.empty_like(self.partP), np.empty_like(self.partQ)
        return self.partP2, self.partQ2


def cfused_apply(A, y, x, lp=None, ws=None, factor=None):
    """Return (r, out) with r = A x and out = A^H g, g_i = L'(y_i, |r_i|) r_i/|r_i| (lp the compiled real
    L', 0 at r_i = 0) or g_i = y_i r_i if lp is None; complex A (n, d), C-contiguous.

    One read of A (fused numba kernel on the real view).  ``y`` (real) is converted to A's real dtype and
    ``x`` to A's dtype.  With a per-sample real ``factor`` f (n,), returns (r, out, out_f) with also
    out_f = A^H (f g) in the same read.  The returned arrays belong to ``ws`` (overwritten by the next call).
    """
    n, d = A.shape
    if ws is None:
        ws = CWorkspace(n, d, A.dtype)
    rdt = real_dtype(A.dtype)
    y = np.ascontiguousarray(y, dtype=rdt)
    _uv(np.asarray(x, dtype=A.dtype), ws.u, ws.v)
    linear = lp is None
    scaled = factor is not None
    f = np.ascontiguousarray(factor, dtype=rdt) if scaled else ws.nofactor
    P2, Q2 = ws.scaled() if scaled else (ws.partP2, ws.partQ2)
    Af, rf = real_view(A), ws.r.view(rdt)
    lpf = _placeholder() if linear else lp
    _cfused_kernel(Af, y, ws.u, ws.v, lpf, linear, rf, ws.partP, ws.partQ, f, scaled, P2, Q2)
    _creduce(ws.partP, ws.partQ, ws.out.view(rdt))
    if not scaled:
        return ws.r, ws.out
    _creduce(P2, Q2, ws.out2.view(rdt))
    return ws.r, ws.out, ws.out2


# --- batched: B complex trajectories as 2B real columns of the register block ------------------------------
@njit(inline="always")
def _cgrads6x4(lp, y, R, i, c0, nr, gs, zero):
    """gs[k, c] for the 6 rows x 4 real columns c0..c0+3 = 2 complex columns (Re, Im pairs)."""
    for k in range(6):
        for c in range(0, 4, 2):
            if k < nr:
                pr, pi = R[i + k, c0 + c], R[i + k, c0 + c + 1]
                s = _scale(lp, False, y[i + k], pr, pi, zero)
                gs[k, c] = s * pr
                gs[k, c + 1] = s * pi
            else:
                gs[k, c] = zero
                gs[k, c + 1] = zero


@njit(cache=True, parallel=True, fastmath=_FM)
def _cbatch_kernel(Af, y, Xt, lp, R, part, lo, hi, F, fcol, scaled, part2):
    n, m = Af.shape
    bp = Xt.shape[0]
    for ch in prange(lo.shape[0]):
        acc = part[ch]
        acc2 = part2[ch]
        gs = np.zeros((6, 4), Af.dtype)
        gf = np.zeros((6, 4), Af.dtype)
        zero = gs[0, 0]
        for c in range(bp):
            for j in range(m):
                acc[c, j] = zero
        if scaled:
            for c in range(bp):
                for j in range(m):
                    acc2[c, j] = zero
        i = lo[ch]
        e = hi[ch]
        while i < e:
            nr = min(6, e - i)
            a0, a1, a2 = Af[i + min(0, nr - 1)], Af[i + min(1, nr - 1)], Af[i + min(2, nr - 1)]
            a3, a4, a5 = Af[i + min(3, nr - 1)], Af[i + min(4, nr - 1)], Af[i + min(5, nr - 1)]
            for c0 in range(0, bp, 4):
                s = _mul6x4(a0, a1, a2, a3, a4, a5, Xt[c0 + 0], Xt[c0 + 1], Xt[c0 + 2], Xt[c0 + 3], m, zero)
                _store6x4(R, i, c0, nr, s)
            for c0 in range(0, bp, 4):
                _cgrads6x4(lp, y, R, i, c0, nr, gs, zero)
                _acc6x4(acc[c0 + 0], acc[c0 + 1], acc[c0 + 2], acc[c0 + 3], a0, a1, a2, a3, a4, a5, gs, m)
                if scaled:
                    for k in range(6):
                        for c in range(4):
                            gf[k, c] = gs[k, c] * F[i + k, (c0 + c) * fcol] if k < nr else zero
                    _acc6x4(acc2[c0 + 0], acc2[c0 + 1], acc2[c0 + 2], acc2[c0 + 3], a0, a1, a2, a3, a4, a5, gf, m)
            i += nr


def _combine(out_f, B):
    """(B, d) complex A^H G from the reduced real rows: P_b = out_f[2b], Q_b = out_f[2b+1]."""
    P, Q = out_f[0 : 2 * B : 2], out_f[1 : 2 * B : 2]
    return (P[:, 0::2] + Q[:, 1::2]) + 1j * (Q[:, 0::2] - P[:, 1::2])


def cfused_apply_batch(A, y, X, lp, ws=None, factor=None):
    """Batched :func:`cfused_apply` for complex A (n, d) and X (d, B): returns (R, Out^T) with R = A X (n, B)
    and Out^T (B, d), Out = A^H G, G = L'(y, |R|) R/|R|; with a real ``factor`` (n,) or (n, B) also
    Outf^T = (A^H (F G))^T, in the same read of A.  ``ws`` is a :class:`~sidmft.simulator._kernels.
    BatchWorkspace` for the real view (n, 2d) and 2B columns (made when it does not fit)."""
    n, d = A.shape
    B = X.shape[1]
    rdt = real_dtype(A.dtype)
    if ws is None or not ws.fits(n, 2 * d, 2 * B, rdt):
        ws = BatchWorkspace(n, 2 * d, 2 * B, rdt)
    Xc = np.asarray(X, dtype=A.dtype)
    ws.xt[:] = 0
    for b in range(B):
        _uv(Xc[:, b], ws.xt[2 * b], ws.xt[2 * b + 1])
    y = np.ascontiguousarray(y, dtype=rdt)
    scaled = factor is not None
    F, fcol, part2 = ws.nofactor, 0, ws.nopart
    if scaled:
        factor = np.asarray(factor)
        if factor.shape not in ((n,), (n, B)):
            raise ValueError(f"factor must have shape ({n},) or ({n}, {B}); got {factor.shape}")
        fcol = int(factor.ndim == 2)
        F = np.zeros((n, ws.bp if fcol else 1), dtype=rdt)
        if fcol:
            F[:, 0 : 2 * B : 2], F[:, 1 : 2 * B : 2] = factor, factor
        else:
            F[:, 0] = factor
        part2 = ws.scaled()[0]
    _cbatch_kernel(real_view(A), y, ws.xt, lp, ws.r, ws.part, ws.lo, ws.hi, F, fcol, scaled, part2)
    _reduce_parts(ws.part, ws.out)
    R = ws.r.view(A.dtype)[:, :B]
    if not scaled:
        return R, _combine(ws.out, B).astype(A.dtype)
    out2 = ws.scaled()[1]
    _reduce_parts(part2, out2)
    return R, _combine(ws.out, B).astype(A.dtype), _combine(out2, B).astype(A.dtype)


def numpy_capply(A, y, x, grad=None, factor=None):
    """Reference path (two BLAS passes) for complex A: r = A x, out = A^H g with g = grad(y, r) (the loss's
    ``complex_grad``) or y * r; with a real per-sample ``factor`` f, (r, out, A^H (f g))."""
    x = np.asarray(x, dtype=A.dtype)
    r = A @ x
    g = np.asarray(y * r if grad is None else grad(y, r), dtype=A.dtype)
    if factor is None:
        return r, (g.conj() @ A).conj()
    G = np.stack([g, g * np.asarray(factor, dtype=real_dtype(A.dtype))])
    out = (G.conj() @ A).conj()
    return r, np.ascontiguousarray(out[0]), np.ascontiguousarray(out[1])
