"""Fused numba kernels: one read of A per gradient (or spectral operator) application.

The hot operation of both stages is

    out = A^T g,   g_i = h(y_i, r_i),   r_i = <a_i, x>,

with h = l'(y, r) for gradient descent (THEORY.md §0) and h = w_i r (w = T(y)/alpha) for the
spectral operator x -> D x.  Two BLAS passes (``A @ x`` then ``A.T @ g``) read A twice; the
fused kernel below reads each row once from memory: it takes 8 rows at a time, computes their
8 inner products with x (x is loaded once for the 8 rows), evaluates g, and accumulates
sum_k g_k a_k while the 8 rows are still in cache.

Determinism.  Rows are processed in fixed blocks of :data:`ROW_BLOCK` rows; block b writes its
partial sum into its own row of a scratch array, and the partial sums are added in block
order.  The result therefore does not depend on the number of threads or on scheduling.
``fastmath`` is restricted to re-association/contraction (vectorised reductions); no
``nnan``/``ninf`` flags, so non-finite values propagate and divergence is detected.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numba
import numpy as np
from numba import njit, prange

__all__ = ["ROW_BLOCK", "fused_apply", "numpy_apply", "read_pass", "compile_scalar_grad", "numba_threads"]

#: rows per fixed block (data generation and kernel reduction order)
ROW_BLOCK = 256

_FM = {"reassoc", "contract"}
_SIG = "float64(float64, float64)"


def _linear_placeholder(w, r):  # pragma: no cover - never called (mode linear)
    return w * r


@njit(cache=True, parallel=True, fastmath=_FM)
def _fused_kernel(A, y, x, lp, linear, r, part, out):
    n, d = A.shape
    nb = part.shape[0]
    for b in prange(nb):
        acc = part[b]
        gb = np.zeros(8, A.dtype)
        zero = gb[0]
        for j in range(d):
            acc[j] = zero
        i = b * ROW_BLOCK
        e = min(n, i + ROW_BLOCK)
        while i + 8 <= e:
            a0 = A[i]
            a1 = A[i + 1]
            a2 = A[i + 2]
            a3 = A[i + 3]
            a4 = A[i + 4]
            a5 = A[i + 5]
            a6 = A[i + 6]
            a7 = A[i + 7]
            s0 = zero
            s1 = zero
            s2 = zero
            s3 = zero
            s4 = zero
            s5 = zero
            s6 = zero
            s7 = zero
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
            r[i] = s0
            r[i + 1] = s1
            r[i + 2] = s2
            r[i + 3] = s3
            r[i + 4] = s4
            r[i + 5] = s5
            r[i + 6] = s6
            r[i + 7] = s7
            if linear:
                for k in range(8):
                    gb[k] = y[i + k] * r[i + k]
            else:
                for k in range(8):
                    gb[k] = lp(y[i + k], r[i + k])
            g0 = gb[0]
            g1 = gb[1]
            g2 = gb[2]
            g3 = gb[3]
            g4 = gb[4]
            g5 = gb[5]
            g6 = gb[6]
            g7 = gb[7]
            for j in range(d):
                acc[j] += (g0 * a0[j] + g1 * a1[j] + g2 * a2[j] + g3 * a3[j]) + (
                    g4 * a4[j] + g5 * a5[j] + g6 * a6[j] + g7 * a7[j])
            i += 8
        while i < e:
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
            i += 1
    for j in prange(d):
        s = part[0, j]
        for b in range(1, nb):
            s += part[b, j]
        out[j] = s


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


@contextlib.contextmanager
def numba_threads(threads):
    """Run the enclosed numba kernels with ``threads`` threads (None: leave as is)."""
    if threads is None:
        yield
        return
    threads = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    old = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(old)


class Workspace:
    """Scratch arrays for :func:`fused_apply` (reuse across steps to avoid allocation)."""

    def __init__(self, n, d, dtype):
        self.nb = max(1, -(-n // ROW_BLOCK))
        self.part = np.empty((self.nb, d), dtype=dtype)
        self.r = np.empty(n, dtype=dtype)
        self.out = np.empty(d, dtype=dtype)


def fused_apply(A, y, x, lp=None, ws=None):
    """Return (r, out) with r = A x and out = A^T g, g_i = lp(y_i, r_i) (or y_i r_i if lp is None).

    One read of A (fused numba kernel).  ``A`` is C-contiguous (n, d); ``y`` and ``x`` are
    converted to A's dtype.  The returned arrays belong to ``ws`` (overwritten by the next call).
    """
    n, d = A.shape
    dt = A.dtype
    if ws is None:
        ws = Workspace(n, d, dt)
    y = np.ascontiguousarray(y, dtype=dt)
    x = np.ascontiguousarray(x, dtype=dt)
    linear = lp is None
    _fused_kernel(A, y, x, _placeholder() if linear else lp, linear, ws.r, ws.part, ws.out)
    return ws.r, ws.out


def numpy_apply(A, y, x, grad=None):
    """Reference path (two BLAS passes): r = A x, out = A^T g, g = grad(y, r) or y * r."""
    x = np.asarray(x, dtype=A.dtype)
    r = A @ x
    g = y * r if grad is None else grad(y, r)
    return r, A.T @ np.asarray(g, dtype=A.dtype)


def read_pass(A, part=None):
    """Sum of all entries of A by a numba kernel with the same row-block layout and threading as
    the fused kernel: the cost of reading A once from memory (benchmark baseline)."""
    if part is None:
        part = np.empty((max(1, -(-A.shape[0] // ROW_BLOCK)), 1), dtype=A.dtype)
    return _read_kernel(A, part)
