"""The column loop of the complex GD kernel, written in LLVM vector IR (numba intrinsics).

:mod:`._ckernels` reads the complex A once per step through its real interleaved view A_f (n, 2d), in
groups of :data:`ROWS` rows.  The loop here is software-pipelined: one pass over the columns does

* the dot products of the *next* group with u and v (those rows stream from memory; v is made from u in
  registers), and
* the accumulation of the *current* group (its rows are still in cache from the previous pass)
  straight into the interleaved A^H g::

      O += alt * sum_k gr_k a_k + swap(sum_k gi_k a_k),   alt = (1, -1, 1, -1, ...),

  where a_k is row k of A_f, g_k = gr_k + i gi_k, and swap exchanges the two lanes of each (Re, Im) pair,
  so that O[2j] += Re(conj(A_kj) g_k) and O[2j+1] += Im(conj(A_kj) g_k);
* and it prefetches the next group's rows :data:`PREFETCH_BYTES` ahead (``prefetcht1``).

So the accumulation overlaps with the memory stream instead of following it.  It is IR because numba offers
neither: its loop vectoriser left such a loop (reductions and stores together, sixteen row pointers)
scalar, and it has no prefetch.  The measured effect is in benchmarks/README.md.

Each intrinsic takes ``(Af, nxt, cur, last, u, O, g, O2, h, mv)``: rows nxt.. and cur.. of the 2-D real
array Af (a row index past ``last`` reads row ``last``, whose weight the caller sets to zero), the columns
0..mv (a multiple of the lane count), the weights g = (gr_0.., gi_0..) and, for the factor-weighted second
sum, h into O2.  It returns the 2 ROWS dot products (p_0.., q_0..) summed over those columns: lane-wise, then
pairwise across the lanes, so the order is fixed by the code and not by the compiler or the thread count.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["ROWS", "VECTOR_BYTES", "PREFETCH_BYTES", "group_loops"]

_I32, _I64 = ir.IntType(32), ir.IntType(64)


def _host_vector_bytes() -> int:
    """64 with AVX-512 (its 32 vector registers hold the 16 dot-product sums of an 8-row group), else 32."""
    try:
        from llvmlite import binding

        return 64 if binding.get_host_cpu_features().get("avx512f", False) else 32
    except Exception:  # pragma: no cover - feature query unavailable: the narrow, portable choice
        return 32


#: bytes per vector; with 64, groups of 8 rows (16 sums in AVX-512's 32 registers), with 32 groups of 4 (AVX2's 16)
VECTOR_BYTES = _host_vector_bytes()
#: rows per group
ROWS = 8 if VECTOR_BYTES == 64 else 4
#: how far ahead of the loop the next group's rows are prefetched (measured best at 2-3 KB: 256-384 doubles)
PREFETCH_BYTES = 2048


class _Loop:
    """Emits one column loop; the mode (dot, acc, scaled, prefetch) is fixed when the intrinsic is made."""

    def __init__(self, context, builder, sig, args, vbytes):
        self.c, self.b = context, builder
        self.ety = context.get_value_type(sig.args[0].dtype)
        self.size = context.get_abi_sizeof(self.ety)
        self.lanes = vbytes // self.size
        self.vty = ir.VectorType(self.ety, self.lanes)
        A = context.make_array(sig.args[0])(context, builder, args[0])
        self.base, self.stride, self.last = builder.ptrtoint(A.data, _I64), builder.extract_value(A.strides, 0), args[3]
        vname = f"v{self.lanes}f{8 * self.size}"
        self.fma_fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(self.vty, [self.vty] * 3), f"llvm.fma.{vname}"
        )
        pft = ir.FunctionType(ir.VoidType(), [self.ety.as_pointer(), _I32, _I32, _I32])
        self.prefetch_fn = cgutils.get_or_insert_function(builder.module, pft, "llvm.prefetch.p0")

    def data(self, ty, val):
        return self.c.make_array(ty)(self.c, self.b, val).data

    def row(self, first, k):
        """Pointer to row min(first + k, last) of A."""
        b = self.b
        i = b.add(first, ir.Constant(_I64, k))
        i = b.select(b.icmp_signed(">", i, self.last), self.last, i)
        return b.inttoptr(b.add(self.base, b.mul(i, self.stride)), self.ety.as_pointer())

    def vconst(self, values, ty=None):
        return ir.Constant(ir.VectorType(ty or self.ety, self.lanes), list(values))

    def fma(self, a, x, y):
        return self.b.call(self.fma_fn, [a, x, y])

    def splat(self, ptr, k):
        x = self.b.load(self.b.gep(ptr, [ir.Constant(_I64, k)]))
        v = self.b.insert_element(ir.Constant(self.vty, ir.Undefined), x, ir.Constant(_I32, 0))
        return self.b.shuffle_vector(v, ir.Constant(self.vty, ir.Undefined), self.vconst([0] * self.lanes, _I32))

    def vptr(self, ptr, j):
        return self.b.bitcast(self.b.gep(ptr, [j]), self.vty.as_pointer())

    def vload(self, ptr, j):
        return self.b.load(self.vptr(ptr, j), align=self.size)

    def prefetch(self, rows, j, ahead_bytes):
        at = self.b.add(j, ir.Constant(_I64, ahead_bytes // self.size))
        read, t1, data = ir.Constant(_I32, 0), ir.Constant(_I32, 2), ir.Constant(_I32, 1)  # prefetcht1
        for p in rows:
            self.b.call(self.prefetch_fn, [self.b.gep(p, [at]), read, t1, data])

    def dot(self, rows, u, j, sums):
        """sums[k] += row_k * u, sums[R + k] += row_k * v on the columns j..j + lanes, with
        v = (Im x_0, Re x_0, ...) made from u = (Re x_0, -Im x_0, ...) in registers: v = (-1, 1, ...) * swap(u)
        (one load fewer per column block; measured 3-4 % faster)."""
        uj, r = self.vload(u, j), len(rows)
        vj = self.b.fmul(self.swap(uj), self.vconst([-1.0, 1.0] * (self.lanes // 2)))
        for k, p in enumerate(rows):
            a = self.vload(p, j)
            sums[k], sums[r + k] = self.fma(a, uj, sums[k]), self.fma(a, vj, sums[r + k])

    def swap(self, x):
        """x with the two lanes of each (Re, Im) pair exchanged."""
        perm = self.vconst([k ^ 1 for k in range(self.lanes)], _I32)
        return self.b.shuffle_vector(x, ir.Constant(self.vty, ir.Undefined), perm)

    def accumulate(self, cols, out, w, j):
        """out += alt * sum_k gr_k a_k + swap(sum_k gi_k a_k) on the columns j..j + lanes.  The weights are
        loaded here: LLVM cannot hoist them (out may alias them), so they stay broadcast memory operands and
        hold no registers (held in 16 registers they made AVX-512 spill, and the same code then ran 7-15 %
        slower when numba loaded it from its cache; benchmarks/README.md)."""
        b, r = self.b, len(cols)
        P, T = b.fmul(self.splat(w, 0), cols[0]), b.fmul(self.splat(w, r), cols[0])
        for k in range(1, r):
            P, T = self.fma(self.splat(w, k), cols[k], P), self.fma(self.splat(w, r + k), cols[k], T)
        o = self.fma(self.vconst([1.0, -1.0] * (self.lanes // 2)), P, self.vload(out, j))
        b.store(b.fadd(o, self.swap(T)), self.vptr(out, j), align=self.size)

    def hsum(self, v):
        """The lanes of v added pairwise in a fixed order."""
        e = [self.b.extract_element(v, ir.Constant(_I32, k)) for k in range(self.lanes)]
        while len(e) > 1:
            h = len(e) // 2
            e = [self.b.fadd(e[k], e[k + h]) for k in range(h)]
        return e[0]


def _codegen(rows, vbytes, dot, acc, scaled, prefetch, ahead_bytes):
    def codegen(context, builder, sig, args):
        L = _Loop(context, builder, sig, args, vbytes)
        nxt = [L.row(args[1], k) for k in range(rows)]
        cur = [L.row(args[2], k) for k in range(rows)]
        u = L.data(sig.args[4], args[4])
        outs = [(L.data(sig.args[5], args[5]), L.data(sig.args[6], args[6]))]
        if scaled:
            outs.append((L.data(sig.args[7], args[7]), L.data(sig.args[8], args[8])))
        mv, zeros = args[9], L.vconst([0.0] * L.lanes)
        pre = builder.block
        body, done = builder.append_basic_block("cols"), builder.append_basic_block("cols_done")
        builder.cbranch(builder.icmp_signed(">", mv, ir.Constant(_I64, 0)), body, done)
        builder.position_at_end(body)
        j = builder.phi(_I64)
        j.add_incoming(ir.Constant(_I64, 0), pre)
        phis = [builder.phi(L.vty) for _ in range(2 * rows)] if dot else []
        sums = list(phis)
        if prefetch:
            L.prefetch(nxt, j, ahead_bytes)
        if dot:
            L.dot(nxt, u, j, sums)
        if acc:
            cols = [L.vload(p, j) for p in cur]
            for out, w in outs:
                L.accumulate(cols, out, w, j)
        jn = builder.add(j, ir.Constant(_I64, L.lanes))
        j.add_incoming(jn, body)
        for phi, s in zip(phis, sums):
            phi.add_incoming(zeros, pre)
            phi.add_incoming(s, body)
        builder.cbranch(builder.icmp_signed("<", jn, mv), body, done)
        builder.position_at_end(done)
        finals = [builder.phi(L.vty) for _ in sums]
        for f, s in zip(finals, sums):
            f.add_incoming(zeros, pre)
            f.add_incoming(s, body)
        vals = [L.hsum(f) for f in finals] if dot else [ir.Constant(L.ety, 0.0)] * (2 * rows)
        return context.make_tuple(builder, sig.return_type, vals)

    return codegen


def _make(rows, vbytes, dot, acc, scaled, prefetch, ahead_bytes):
    @intrinsic
    def group_loop(typingctx, Af, nxt, cur, last, u, O, g, O2, h, mv):
        sig = types.UniTuple(Af.dtype, 2 * rows)(Af, nxt, cur, last, u, O, g, O2, h, mv)
        return sig, _codegen(rows, vbytes, dot, acc, scaled, prefetch, ahead_bytes)

    return group_loop


def group_loops(rows=None, vbytes=None, ahead_bytes=PREFETCH_BYTES):
    """The five loops (dot, fused, fused with the factor-weighted sum, accumulate, accumulate both) for
    groups of ``rows`` rows, vectors of ``vbytes`` bytes (defaults: this machine's) and prefetches
    ``ahead_bytes`` ahead (0: none)."""
    rows = ROWS if rows is None else rows
    vbytes = VECTOR_BYTES if vbytes is None else vbytes
    modes = ((True, False, False, True), (True, True, False, True), (True, True, True, True))
    modes += ((False, True, False, False), (False, True, True, False))
    pf_on = ahead_bytes > 0
    return tuple(_make(rows, vbytes, dot, acc, scaled, pf and pf_on, ahead_bytes) for dot, acc, scaled, pf in modes)
