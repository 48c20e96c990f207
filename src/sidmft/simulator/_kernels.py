"""Fused numba kernels: one read of A per gradient (or spectral operator) application.

The hot operation of both stages is

    out = A^T g,   g_i = h(y_i, r_i),   r_i = <a_i, x>,

with h = l'(y, r) for gradient descent (docs/theory.md §0) and h = w_i r (w = T(y)/alpha) for the
spectral operator x -> D x.  Two BLAS passes (``A @ x`` then ``A.T @ g``) read A twice; the
fused kernel below reads each row once from memory: it takes 8 rows at a time, computes their
8 inner products with x (x is loaded once for the 8 rows), evaluates g, and accumulates
sum_k g_k a_k while the 8 rows are still in cache.

Determinism.  Rows are processed in fixed blocks of :data:`ROW_BLOCK` rows; block b writes its
partial sum into its own row of a scratch array, and the partial sums are added in block
order.  The result therefore does not depend on the number of threads or on scheduling.
``fastmath`` is restricted to re-association/contraction (vectorised reductions); no
``nnan``/``ninf`` flags, so non-finite values propagate and divergence is detected.

Batches.  :func:`fused_apply_batch` does the same for B columns of X at once (B trajectories on
the same data): R = A X and Out = A^T l'(y, R) in one read of A, register-blocked over
:data:`BATCH_ROWS` rows x :data:`BATCH_COLS` columns, compute-bound rather than memory-bound
(see benchmarks/README.md).  Partial sums live in :data:`BATCH_CHUNKS` fixed row chunks, added in
chunk order, so results do not depend on the thread count either.
"""

from __future__ import annotations

import warnings
from typing import Optional

import numba
import numpy as np
from numba import njit, prange

from ..numerics import numba_threads  # noqa: F401 - re-exported for older imports

__all__ = [
    "ROW_BLOCK",
    "fused_apply",
    "fused_apply_batch",
    "BatchWorkspace",
    "numpy_apply",
    "read_pass",
    "compile_scalar_grad",
    "numba_threads",
]

#: rows per fixed block (data generation and kernel reduction order)
ROW_BLOCK = 256

_FM = {"reassoc", "contract"}
_SIG = "float64(float64, float64)"


def _linear_placeholder(w, r):  # pragma: no cover - never called (mode linear)
    return w * r


@njit(inline="always", fastmath=_FM)
def _dot8(a0, a1, a2, a3, a4, a5, a6, a7, x, d, zero):
    """The 8 inner products <a_k, x> (x loaded once for the 8 rows)."""
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zero
    for j in range(d):
        xj = x[j]
        s0 += a0[j] * xj
        s1 += a1[j] * xj
        s2 += a2[j] * xj
        s3 += a3[j] * xj
        s4 += a4[j] * xj
        s5 += a5[j] * xj
        s6 += a6[j] * xj
        s7 += a7[j] * xj
    return s0, s1, s2, s3, s4, s5, s6, s7


@njit(inline="always", fastmath=_FM)
def _axpy8(acc, gb, a0, a1, a2, a3, a4, a5, a6, a7, d):
    """acc += sum_k gb[k] a_k over the 8 rows (still in cache)."""
    g0, g1, g2, g3, g4, g5, g6, g7 = gb[0], gb[1], gb[2], gb[3], gb[4], gb[5], gb[6], gb[7]
    for j in range(d):
        acc[j] += (g0 * a0[j] + g1 * a1[j] + g2 * a2[j] + g3 * a3[j]) + (
            g4 * a4[j] + g5 * a5[j] + g6 * a6[j] + g7 * a7[j]
        )


@njit(inline="always", fastmath=_FM)
def _fused_tail(A, y, x, lp, linear, r, gb, acc, i, d, zero, f, scaled, acc2):
    """One row i (the rows after the last full group of 8); also acc2 += f_i g_i a_i if ``scaled``."""
    a0 = A[i]
    s0 = zero
    for j in range(d):
        s0 += a0[j] * x[j]
    r[i] = s0
    if linear:
        gb[0] = y[i] * s0
    else:
        gb[0] = lp(y[i], s0)
    g0 = gb[0]
    for j in range(d):
        acc[j] += g0 * a0[j]
    if scaled:
        h0 = g0 * f[i]
        for j in range(d):
            acc2[j] += h0 * a0[j]


@njit(cache=True, parallel=True, fastmath=_FM)
def _fused_kernel(A, y, x, lp, linear, r, part, out, f, scaled, part2, out2):
    n, d = A.shape
    nb = part.shape[0]
    for b in prange(nb):
        acc = part[b]
        acc2 = part2[b]
        gb = np.zeros(8, A.dtype)
        gf = np.zeros(8, A.dtype)
        zero = gb[0]
        for j in range(d):
            acc[j] = zero
        if scaled:
            for j in range(d):
                acc2[j] = zero
        i = b * ROW_BLOCK
        e = min(n, i + ROW_BLOCK)
        while i + 8 <= e:
            a0, a1, a2, a3 = A[i], A[i + 1], A[i + 2], A[i + 3]
            a4, a5, a6, a7 = A[i + 4], A[i + 5], A[i + 6], A[i + 7]
            r[i], r[i + 1], r[i + 2], r[i + 3], r[i + 4], r[i + 5], r[i + 6], r[i + 7] = _dot8(
                a0, a1, a2, a3, a4, a5, a6, a7, x, d, zero
            )
            if linear:
                for k in range(8):
                    gb[k] = y[i + k] * r[i + k]
            else:
                for k in range(8):
                    gb[k] = lp(y[i + k], r[i + k])
            _axpy8(acc, gb, a0, a1, a2, a3, a4, a5, a6, a7, d)
            if scaled:  # rows still in cache: the factor-weighted sum costs no extra read of A
                for k in range(8):
                    gf[k] = gb[k] * f[i + k]
                _axpy8(acc2, gf, a0, a1, a2, a3, a4, a5, a6, a7, d)
            i += 8
        while i < e:
            _fused_tail(A, y, x, lp, linear, r, gb, acc, i, d, zero, f, scaled, acc2)
            i += 1
    for j in prange(d):
        s = part[0, j]
        for b in range(1, nb):
            s += part[b, j]
        out[j] = s
        if scaled:
            s2 = part2[0, j]
            for b in range(1, nb):
                s2 += part2[b, j]
            out2[j] = s2


@njit(cache=True, parallel=True, fastmath=_FM)
def _read_kernel(A, part):
    n, d = A.shape
    nb = part.shape[0]
    for b in prange(nb):
        s = A[0, 0] * 0
        for i in range(b * ROW_BLOCK, min(n, (b + 1) * ROW_BLOCK)):
            for j in range(d):
                s += A[i, j]
        part[b, 0] = s
    return part[:, 0].sum()


# --- batched fused kernel: B trajectories, one read of A per step --------------------------
#: rows x columns of the register block of :func:`_batch_kernel` (columns of X are padded to a
#: multiple of BATCH_COLS)
BATCH_ROWS = 6
BATCH_COLS = 4
#: fixed number of row chunks (partial sums reduced in chunk order: thread-count independent)
BATCH_CHUNKS = 8


@njit(inline="always", fastmath=_FM)
def _fma4(b, z0, z1, z2, z3, s0, s1, s2, s3):
    """(s_c + b z_c) for the 4 columns c: one row's update of the register block."""
    return s0 + b * z0, s1 + b * z1, s2 + b * z2, s3 + b * z3


@njit(inline="always", fastmath=_FM)
def _mul6x4(a0, a1, a2, a3, a4, a5, x0, x1, x2, x3, d, zero):
    """The 6 x 4 inner products <a_k, x_c> (rows k, columns c), 24 accumulators in registers."""
    s0_0 = s0_1 = s0_2 = s0_3 = zero
    s1_0 = s1_1 = s1_2 = s1_3 = zero
    s2_0 = s2_1 = s2_2 = s2_3 = zero
    s3_0 = s3_1 = s3_2 = s3_3 = zero
    s4_0 = s4_1 = s4_2 = s4_3 = zero
    s5_0 = s5_1 = s5_2 = s5_3 = zero
    for j in range(d):
        z0, z1, z2, z3 = x0[j], x1[j], x2[j], x3[j]
        s0_0, s0_1, s0_2, s0_3 = _fma4(a0[j], z0, z1, z2, z3, s0_0, s0_1, s0_2, s0_3)
        s1_0, s1_1, s1_2, s1_3 = _fma4(a1[j], z0, z1, z2, z3, s1_0, s1_1, s1_2, s1_3)
        s2_0, s2_1, s2_2, s2_3 = _fma4(a2[j], z0, z1, z2, z3, s2_0, s2_1, s2_2, s2_3)
        s3_0, s3_1, s3_2, s3_3 = _fma4(a3[j], z0, z1, z2, z3, s3_0, s3_1, s3_2, s3_3)
        s4_0, s4_1, s4_2, s4_3 = _fma4(a4[j], z0, z1, z2, z3, s4_0, s4_1, s4_2, s4_3)
        s5_0, s5_1, s5_2, s5_3 = _fma4(a5[j], z0, z1, z2, z3, s5_0, s5_1, s5_2, s5_3)
    return (
        s0_0,
        s0_1,
        s0_2,
        s0_3,
        s1_0,
        s1_1,
        s1_2,
        s1_3,
        s2_0,
        s2_1,
        s2_2,
        s2_3,
        s3_0,
        s3_1,
        s3_2,
        s3_3,
        s4_0,
        s4_1,
        s4_2,
        s4_3,
        s5_0,
        s5_1,
        s5_2,
        s5_3,
    )


@njit(inline="always")
def _store6x4(R, i, c0, nr, s):
    """R[i + k, c0 + c] = s[4 k + c] for the nr valid rows k."""
    for k in range(nr):
        for c in range(4):
            R[i + k, c0 + c] = s[4 * k + c]


@njit(inline="always", fastmath=_FM)
def _acc6x4(o0, o1, o2, o3, a0, a1, a2, a3, a4, a5, gs, d):
    """o_c += sum_k gs[k, c] a_k for the 4 columns c (rows still in cache)."""
    g0_0, g0_1, g0_2, g0_3 = gs[0, 0], gs[0, 1], gs[0, 2], gs[0, 3]
    g1_0, g1_1, g1_2, g1_3 = gs[1, 0], gs[1, 1], gs[1, 2], gs[1, 3]
    g2_0, g2_1, g2_2, g2_3 = gs[2, 0], gs[2, 1], gs[2, 2], gs[2, 3]
    g3_0, g3_1, g3_2, g3_3 = gs[3, 0], gs[3, 1], gs[3, 2], gs[3, 3]
    g4_0, g4_1, g4_2, g4_3 = gs[4, 0], gs[4, 1], gs[4, 2], gs[4, 3]
    g5_0, g5_1, g5_2, g5_3 = gs[5, 0], gs[5, 1], gs[5, 2], gs[5, 3]
    for j in range(d):
        b0, b1, b2, b3, b4, b5 = a0[j], a1[j], a2[j], a3[j], a4[j], a5[j]
        o0[j] += g0_0 * b0 + g1_0 * b1 + g2_0 * b2 + g3_0 * b3 + g4_0 * b4 + g5_0 * b5
        o1[j] += g0_1 * b0 + g1_1 * b1 + g2_1 * b2 + g3_1 * b3 + g4_1 * b4 + g5_1 * b5
        o2[j] += g0_2 * b0 + g1_2 * b1 + g2_2 * b2 + g3_2 * b3 + g4_2 * b4 + g5_2 * b5
        o3[j] += g0_3 * b0 + g1_3 * b1 + g2_3 * b2 + g3_3 * b3 + g4_3 * b4 + g5_3 * b5


@njit(cache=True, parallel=True, fastmath=_FM)
def _batch_kernel(A, y, Xt, lp, R, part, lo, hi, F, fcol, scaled, part2):
    n, d = A.shape
    bp = Xt.shape[0]
    for ch in prange(lo.shape[0]):
        acc = part[ch]
        acc2 = part2[ch]  # (nch, 1, 1) placeholder when not scaled
        gs = np.zeros((6, 4), A.dtype)
        gf = np.zeros((6, 4), A.dtype)
        zero = gs[0, 0]
        for c in range(bp):
            for j in range(d):
                acc[c, j] = zero
        if scaled:
            for c in range(bp):
                for j in range(d):
                    acc2[c, j] = zero
        i = lo[ch]
        e = hi[ch]
        while i < e:
            nr = min(6, e - i)
            a0, a1, a2 = A[i + min(0, nr - 1)], A[i + min(1, nr - 1)], A[i + min(2, nr - 1)]
            a3, a4, a5 = A[i + min(3, nr - 1)], A[i + min(4, nr - 1)], A[i + min(5, nr - 1)]
            # R[i:i+nr] = A[i:i+nr] X, 6 rows x 4 columns of accumulators
            for c0 in range(0, bp, 4):
                s = _mul6x4(a0, a1, a2, a3, a4, a5, Xt[c0 + 0], Xt[c0 + 1], Xt[c0 + 2], Xt[c0 + 3], d, zero)
                _store6x4(R, i, c0, nr, s)
            # part[ch] += A[i:i+nr]^T l'(y, R[i:i+nr]) while the rows are in cache
            for c0 in range(0, bp, 4):
                for k in range(6):
                    for c in range(4):
                        gs[k, c] = lp(y[i + k], R[i + k, c0 + c]) if k < nr else zero
                _acc6x4(acc[c0 + 0], acc[c0 + 1], acc[c0 + 2], acc[c0 + 3], a0, a1, a2, a3, a4, a5, gs, d)
                if scaled:  # part2[ch] += A^T (F * l'): the sgd gradient, same rows, no extra read of A
                    for k in range(6):
                        for c in range(4):
                            gf[k, c] = gs[k, c] * F[i + k, (c0 + c) * fcol] if k < nr else zero
                    _acc6x4(acc2[c0 + 0], acc2[c0 + 1], acc2[c0 + 2], acc2[c0 + 3], a0, a1, a2, a3, a4, a5, gf, d)
            i += nr


@njit(cache=True, parallel=True, fastmath=_FM)
def _reduce_parts(part, out):
    nch, bp, d = part.shape
    for c in prange(bp):
        for j in range(d):
            s = part[0, c, j]
            for ch in range(1, nch):
                s += part[ch, c, j]
            out[c, j] = s


class BatchWorkspace:
    """Scratch arrays for :func:`fused_apply_batch` (B columns, padded to a multiple of BATCH_COLS).

    The factor-weighted partial sums (``factor=`` of :func:`fused_apply_batch`) are allocated on
    first use (:meth:`scaled`)."""

    def __init__(self, n, d, B, dtype):
        bp = -(-B // BATCH_COLS) * BATCH_COLS
        nch = max(1, min(BATCH_CHUNKS, -(-n // ROW_BLOCK)))
        self.lo = np.array([n * c // nch for c in range(nch)], dtype=np.int64)
        self.hi = np.array([n * (c + 1) // nch for c in range(nch)], dtype=np.int64)
        self.bp = bp
        self.xt = np.zeros((bp, d), dtype=dtype)
        self.r = np.empty((n, bp), dtype=dtype)
        self.part = np.empty((nch, bp, d), dtype=dtype)
        self.out = np.empty((bp, d), dtype=dtype)
        self.nofactor = np.empty((1, 1), dtype=dtype)
        self.nopart = np.empty((nch, 1, 1), dtype=dtype)
        self.part2: Optional[np.ndarray] = None
        self.out2: Optional[np.ndarray] = None

    def fits(self, n, d, B, dtype):
        return (
            self.r.shape[0] == n
            and self.xt.shape[1] == d
            and self.bp == -(-B // BATCH_COLS) * BATCH_COLS
            and self.xt.dtype == dtype
        )

    def scaled(self):
        """(part2, out2): the scratch arrays of the factor-weighted sums, made on first use."""
        if self.part2 is None or self.out2 is None:
            self.part2, self.out2 = np.empty_like(self.part), np.empty_like(self.out)
        return self.part2, self.out2


def fused_apply_batch(A, y, X, lp=None, ws=None, factor=None):
    """Batched :func:`fused_apply`: X is (d, B); returns (R, Out^T) with R = A X (n, B) and
    Out^T (B, d), Out = A^T G, G_ib = lp(y_i, R_ib) (or y_i R_ib if lp is None).  Pass a
    :class:`BatchWorkspace` as ``ws`` to reuse scratch arrays across calls (a new one is made when
    it does not fit).  With a per-sample ``factor`` F, (n,) shared by the columns or (n, B) one per
    column, returns (R, Out^T, Outf^T) with also Outf = A^T (F * G) in the same read of A (the sgd
    gradient).

    One read of A for all B columns: rows are taken :data:`BATCH_ROWS` at a time and combined
    with :data:`BATCH_COLS` columns of X in registers (the d loop vectorised), then A_blk^T G_blk
    is accumulated while the rows are still in cache.  Returned arrays are views into ``ws``.
    """
    n, d = A.shape
    B = X.shape[1]
    dt = A.dtype
    if ws is None or not ws.fits(n, d, B, dt):
        ws = BatchWorkspace(n, d, B, dt)
    ws.xt[:B] = X.T
    ws.xt[B:] = 0
    y = np.ascontiguousarray(y, dtype=dt)
    scaled = factor is not None
    F, fcol, part2 = ws.nofactor, 0, ws.nopart
    if scaled:
        factor = np.asarray(factor)
        if factor.shape not in ((n,), (n, B)):
            raise ValueError(f"factor must have shape ({n},) or ({n}, {B}); got {factor.shape}")
        fcol = int(factor.ndim == 2)
        F = np.zeros((n, ws.bp if fcol else 1), dtype=dt)
        F[:, : B if fcol else 1] = factor if fcol else factor[:, None]
        part2 = ws.scaled()[0]
    lpf = _placeholder() if lp is None else lp
    _batch_kernel(A, y, ws.xt, lpf, ws.r, ws.part, ws.lo, ws.hi, F, fcol, scaled, part2)
    _reduce_parts(ws.part, ws.out)
    if not scaled:
        return ws.r[:, :B], ws.out[:B]
    out2 = ws.scaled()[1]
    _reduce_parts(part2, out2)
    return ws.r[:, :B], ws.out[:B], out2[:B]


_LP_CACHE: dict = {}
_placeholder_cf = None


def _placeholder():
    global _placeholder_cf
    if _placeholder_cf is None:
        _placeholder_cf = numba.cfunc(_SIG, cache=True)(_linear_placeholder)
    return _placeholder_cf


def compile_scalar_grad(loss):
    """Compile ``loss.scalar_grad`` to a numba ``cfunc`` (float64(float64, float64)).

    Returns ``None`` when the loss has no scalar gradient or numba cannot compile it (the
    caller then uses the numpy path).  Compiled functions are cached per loss object and, where
    numba can, on disk.
    """
    f = getattr(loss, "scalar_grad", None)
    if f is None:
        return None
    key = (loss.name, id(f))
    if key in _LP_CACHE:
        return _LP_CACHE[key]
    cf = None
    for cache in (True, False):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", numba.NumbaWarning)
                cf = numba.cfunc(_SIG, cache=cache)(f)
            break
        except Exception:  # noqa: BLE001 - numba raises many types; fall back
            cf = None
    _LP_CACHE[key] = cf
    return cf


class Workspace:
    """Scratch arrays for :func:`fused_apply` (reuse across steps to avoid allocation)."""

    def __init__(self, n, d, dtype):
        self.nb = max(1, -(-n // ROW_BLOCK))
        self.part = np.empty((self.nb, d), dtype=dtype)
        self.r = np.empty(n, dtype=dtype)
        self.out = np.empty(d, dtype=dtype)
        self.part2 = np.empty((self.nb, d), dtype=dtype)  # the factor-weighted partial sums
        self.out2 = np.empty(d, dtype=dtype)
        self.nofactor = np.empty(1, dtype=dtype)


def fused_apply(A, y, x, lp=None, ws=None, factor=None):
    """Return (r, out) with r = A x and out = A^T g, g_i = lp(y_i, r_i) (or y_i r_i if lp is None).

    One read of A (fused numba kernel).  ``A`` is C-contiguous (n, d); ``y`` and ``x`` are
    converted to A's dtype.  The returned arrays belong to ``ws`` (overwritten by the next call).
    With a per-sample ``factor`` f (n,), returns (r, out, out_f) with also out_f = A^T (f g), in
    the same read of A (the sgd gradient next to the full one).
    """
    n, d = A.shape
    dt = A.dtype
    if ws is None:
        ws = Workspace(n, d, dt)
    y = np.ascontiguousarray(y, dtype=dt)
    x = np.ascontiguousarray(x, dtype=dt)
    linear = lp is None
    scaled = factor is not None
    f = np.ascontiguousarray(factor, dtype=dt) if scaled else ws.nofactor
    _fused_kernel(
        A, y, x, _placeholder() if linear else lp, linear, ws.r, ws.part, ws.out, f, scaled, ws.part2, ws.out2
    )
    return (ws.r, ws.out, ws.out2) if scaled else (ws.r, ws.out)


def numpy_apply(A, y, x, grad=None, factor=None):
    """Reference path (two BLAS passes): r = A x, out = A^T g, g = grad(y, r) or y * r; with a
    per-sample ``factor`` f, (r, out, A^T (f g))."""
    x = np.asarray(x, dtype=A.dtype)
    r = A @ x
    g = np.asarray(y * r if grad is None else grad(y, r), dtype=A.dtype)
    if factor is None:
        return r, A.T @ g
    out = A.T @ np.stack([g, g * np.asarray(factor, dtype=A.dtype)], axis=1)
    return r, np.ascontiguousarray(out[:, 0]), np.ascontiguousarray(out[:, 1])


def read_pass(A, part=None):
    """Sum of all entries of A by a numba kernel with the same row-block layout and threading as
    the fused kernel: the cost of reading A once from memory (benchmark baseline)."""
    if part is None:
        part = np.empty((max(1, -(-A.shape[0] // ROW_BLOCK)), 1), dtype=A.dtype)
    return _read_kernel(A, part)
