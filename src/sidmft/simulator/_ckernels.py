"""Fused numba kernels for complex data (complex Wirtinger flow, docs/theory.md §7): one read of A per step.

The complex (n, d) matrix A stores the rows a_i^H, so r = A x.  The hot operation is

    out = A^H g,   g_i = h(y_i, r_i),   r = A x,

with h = L'(y, |r|) r/|r| (0 at r = 0) for gradient descent on a loss of |r|, and h = w_i r for the
spectral operator x -> D x (w = T(y)/alpha real).  The kernels read A through its real interleaved
view A_f (n, 2d), A_f[i, 2j] = Re A_ij, A_f[i, 2j+1] = Im A_ij.  With

    u = (Re x_0, -Im x_0, Re x_1, -Im x_1, ...),   v = (Im x_0, Re x_0, Im x_1, Re x_1, ...),

Re r_i = <A_f[i], u> and Im r_i = <A_f[i], v>, and the interleaved A^H g is

    (A^H g)_f[2j] = sum_i Re g_i A_f[i, 2j] + Im g_i A_f[i, 2j+1],
    (A^H g)_f[2j+1] = sum_i Im g_i A_f[i, 2j] - Re g_i A_f[i, 2j+1].

The single-vector kernel works in groups of ROWS rows with a software-pipelined column loop written in
LLVM IR (:mod:`._cvector`): each pass computes the next group's dot products while it accumulates the
current group (still in cache) and prefetches the rows to come.  The batched kernel accumulates
P = sum_i Re g_i A_f[i] and Q = sum_i Im g_i A_f[i] and combines them at the end.

Determinism as in :mod:`sidmft.simulator._kernels`: fixed blocks of ROW_BLOCK rows (batched: fixed row
chunks), partial sums added in block order, so nothing depends on the thread count.

Batches: B complex columns are 2B real columns [u_0, v_0, u_1, v_1, ...] of the real batched kernel's
register block (6 rows x 4 columns); column pairs (2b, 2b+1) are (Re, Im) of trajectory b, so the
(n, 2B) result is the float view of the complex R = A X.
"""

from __future__ import annotations

import math
import types

import numpy as np
from numba import njit, prange

from ._cvector import PREFETCH_BYTES, ROWS, VECTOR_BYTES, group_loops
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


_DOT, _FUSED, _FUSED2, _ACC, _ACC2 = group_loops()


def _kernel(Af, y, u, v, lp, linear, rf, partO, f, scaled, partO2):
    """Each group of ROWS rows: the column loop of :mod:`._cvector` (the next group's dot products, this
    group's accumulation), then the columns past the last full vector here."""
    n, m = Af.shape
    mv = m - m % (VECTOR_BYTES // Af.itemsize)
    for b in prange(partO.shape[0]):
        O = partO[b]
        O2 = partO2[b] if scaled else O
        g, h = np.zeros(2 * ROWS, Af.dtype), np.zeros(2 * ROWS, Af.dtype)
        zero = g[0]
        for j in range(m):
            O[j] = zero
            O2[j] = zero
        i = b * ROW_BLOCK
        e = min(n, i + ROW_BLOCK)
        pq = _DOT(Af, i, i, e - 1, u, O, g, O2, h, mv)
        while True:
            nr = min(ROWS, e - i)  # a short last group reads its last row again, with zero weights
            for k in range(ROWS):
                g[k] = g[ROWS + k] = h[k] = h[ROWS + k] = zero
            for k in range(nr):
                p, q = pq[k], pq[ROWS + k]
                for j in range(mv, m):
                    p += Af[i + k, j] * u[j]
                    q += Af[i + k, j] * v[j]
                rf[2 * (i + k)] = p
                rf[2 * (i + k) + 1] = q
                s = _scale(lp, linear, y[i + k], p, q, zero)
                g[k], g[ROWS + k] = s * p, s * q
                if scaled:
                    h[k], h[ROWS + k] = g[k] * f[i + k], g[ROWS + k] * f[i + k]
            for j in range(mv, m, 2):  # the same sums as the vector loop, on the last columns
                for k in range(nr):
                    ar, ai = Af[i + k, j], Af[i + k, j + 1]
                    O[j] += g[k] * ar + g[ROWS + k] * ai
                    O[j + 1] += g[ROWS + k] * ar - g[k] * ai
                    if scaled:
                        O2[j] += h[k] * ar + h[ROWS + k] * ai
                        O2[j + 1] += h[ROWS + k] * ar - h[k] * ai
            if i + nr >= e:
                if scaled:
                    _ACC2(Af, i, i, e - 1, u, O, g, O2, h, mv)
                else:
                    _ACC(Af, i, i, e - 1, u, O, g, O2, h, mv)
                break
            if scaled:
                pq = _FUSED2(Af, i + nr, i, e - 1, u, O, g, O2, h, mv)
            else:
                pq = _FUSED(Af, i + nr, i, e - 1, u, O, g, O2, h, mv)
            i += nr


_cfused_kernel = njit(cache=True, parallel=True)(_kernel)


def _make_kernel(rows, vbytes, ahead_bytes=PREFETCH_BYTES):
    """An uncached copy of the kernel for another layout (``rows`` per group, ``vbytes``-byte vectors;
    the tests run the layout of the other machine kind, the benchmarks compare prefetch distances)."""
    glob = dict(globals(), ROWS=rows, VECTOR_BYTES=vbytes)
    glob.update(zip(("_DOT", "_FUSED", "_FUSED2", "_ACC", "_ACC2"), group_loops(rows, vbytes, ahead_bytes)))
    return njit(parallel=True)(types.FunctionType(_kernel.__code__, glob, f"_kernel_{rows}x{vbytes}"))


@njit(cache=True, parallel=True)
def _creduce(partO, outf):
    """outf (2d) = the interleaved A^H g: the block partial sums added in block order."""
    nb, m = partO.shape
    for j in prange(m):
        s = partO[0, j]
        for b in range(1, nb):
            s += partO[b, j]
        outf[j] = s


class CWorkspace:
    """Scratch arrays for :func:`cfused_apply` (complex A of shape (n, d); reuse across steps)."""

    def __init__(self, n, d, dtype):
        cdt = np.dtype(dtype)
        rdt = real_dtype(cdt)
        self.nb = max(1, -(-n // ROW_BLOCK))
        self.u, self.v = np.empty(2 * d, dtype=rdt), np.empty(2 * d, dtype=rdt)
        self.partO = np.empty((self.nb, 2 * d), dtype=rdt)
        self.partO2: np.ndarray = np.empty((1, 1), dtype=rdt)
        self.r = np.empty(n, dtype=cdt)
        self.out, self.out2 = np.empty(d, dtype=cdt), np.empty(d, dtype=cdt)
        self.nofactor = np.empty(1, dtype=rdt)

    def scaled(self):
        """The factor-weighted partial sums, made on first use."""
        if self.partO2.shape != self.partO.shape:
            self.partO2 = np.empty_like(self.partO)
        return self.partO2


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
    O2 = ws.scaled() if scaled else ws.partO2
    Af, rf = real_view(A), ws.r.view(rdt)
    lpf = _placeholder() if linear else lp
    _cfused_kernel(Af, y, ws.u, ws.v, lpf, linear, rf, ws.partO, f, scaled, O2)
    _creduce(ws.partO, ws.out.view(rdt))
    if not scaled:
        return ws.r, ws.out
    _creduce(O2, ws.out2.view(rdt))
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
