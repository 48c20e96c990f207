"""The complex GD kernel alone against one read of A, and against the previous kernel, in the same run.

    python benchmarks/bench_ckernel.py            # d in {2000, 4000}, complex128 and complex64, 1 and 2 threads
    python benchmarks/bench_ckernel.py --quick    # d = 2000, complex128

Each repeat runs, interleaved: one read of A (``read_pass`` on its real (n, 2d) view), the kernel of this
version (``simulator/_ckernels.py``: pipelined column loop in LLVM IR, prefetch 2 KB ahead), the same kernel
without the prefetch, the same with the other machine kind's layout (4 rows, 32-byte vectors: what an AVX2
machine runs), and the previous version's kernel (kept below: 8-row groups, the dot products then the
accumulation, each a numba loop).  Every kernel computes r = A x and the partial sums of A^H g for the
intensity loss (alpha = 4), and the script checks that they agree.  Figures: medians, ratio to the read.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from numba import njit, prange

from sidmft import Problem
from sidmft.numerics import numba_threads
from sidmft.simulator import _ckernels as ck
from sidmft.simulator._kernels import _FM, ROW_BLOCK, compile_scalar_grad, read_pass


# --- the previous version's kernel (for the comparison only) ----------------------------------------------
@njit(inline="always", fastmath=_FM)
def _dot8(a0, a1, a2, a3, a4, a5, a6, a7, u, v, m, zero):
    p0 = p1 = p2 = p3 = p4 = p5 = p6 = p7 = zero
    q0 = q1 = q2 = q3 = q4 = q5 = q6 = q7 = zero
    for j in range(m):
        uj, vj = u[j], v[j]
        b0, b1, b2, b3, b4, b5, b6, b7 = a0[j], a1[j], a2[j], a3[j], a4[j], a5[j], a6[j], a7[j]
        p0, p1, p2, p3 = p0 + b0 * uj, p1 + b1 * uj, p2 + b2 * uj, p3 + b3 * uj
        p4, p5, p6, p7 = p4 + b4 * uj, p5 + b5 * uj, p6 + b6 * uj, p7 + b7 * uj
        q0, q1, q2, q3 = q0 + b0 * vj, q1 + b1 * vj, q2 + b2 * vj, q3 + b3 * vj
        q4, q5, q6, q7 = q4 + b4 * vj, q5 + b5 * vj, q6 + b6 * vj, q7 + b7 * vj
    return p0, p1, p2, p3, p4, p5, p6, p7, q0, q1, q2, q3, q4, q5, q6, q7


@njit(inline="always", fastmath=_FM)
def _axpy8(P, Q, gr, gi, a0, a1, a2, a3, a4, a5, a6, a7, m):
    r0, r1, r2, r3, r4, r5, r6, r7 = gr[0], gr[1], gr[2], gr[3], gr[4], gr[5], gr[6], gr[7]
    i0, i1, i2, i3, i4, i5, i6, i7 = gi[0], gi[1], gi[2], gi[3], gi[4], gi[5], gi[6], gi[7]
    for j in range(m):
        b0, b1, b2, b3, b4, b5, b6, b7 = a0[j], a1[j], a2[j], a3[j], a4[j], a5[j], a6[j], a7[j]
        P[j] += ((r0 * b0 + r1 * b1) + (r2 * b2 + r3 * b3)) + ((r4 * b4 + r5 * b5) + (r6 * b6 + r7 * b7))
        Q[j] += ((i0 * b0 + i1 * b1) + (i2 * b2 + i3 * b3)) + ((i4 * b4 + i5 * b5) + (i6 * b6 + i7 * b7))


@njit(parallel=True, fastmath=_FM)
def previous_kernel(Af, y, u, v, lp, rf, partP, partQ):
    n, m = Af.shape
    for b in prange(partP.shape[0]):
        P, Q = partP[b], partQ[b]
        gr, gi = np.zeros(8, Af.dtype), np.zeros(8, Af.dtype)
        zero = gr[0]
        P[:] = zero
        Q[:] = zero
        i, e = b * ROW_BLOCK, min(n, b * ROW_BLOCK + ROW_BLOCK)
        while i < e:
            nr = min(8, e - i)
            a0, a1, a2, a3 = Af[i], Af[i + min(1, nr - 1)], Af[i + min(2, nr - 1)], Af[i + min(3, nr - 1)]
            a4, a5 = Af[i + min(4, nr - 1)], Af[i + min(5, nr - 1)]
            a6, a7 = Af[i + min(6, nr - 1)], Af[i + min(7, nr - 1)]
            p0, p1, p2, p3, p4, p5, p6, p7, q0, q1, q2, q3, q4, q5, q6, q7 = _dot8(
                a0, a1, a2, a3, a4, a5, a6, a7, u, v, m, zero
            )
            ps, qs = (p0, p1, p2, p3, p4, p5, p6, p7), (q0, q1, q2, q3, q4, q5, q6, q7)
            for k in range(8):
                gr[k] = gi[k] = zero
                if k < nr:
                    rf[2 * (i + k)], rf[2 * (i + k) + 1] = ps[k], qs[k]
                    s = ck._scale(lp, False, y[i + k], ps[k], qs[k], zero)
                    gr[k], gi[k] = s * ps[k], s * qs[k]
            _axpy8(P, Q, gr, gi, a0, a1, a2, a3, a4, a5, a6, a7, m)
            i += nr


# --- the measurement ---------------------------------------------------------------------------------------
def bench(d, dtype, threads, reps):
    """Medians (seconds) of the read and of each kernel on one complex A (n = 4d), interleaved."""
    n = 4 * d
    rng = np.random.default_rng(0)
    A = ((rng.standard_normal((n, d)) + 1j * rng.standard_normal((n, d))) / np.sqrt(2 * d)).astype(dtype)
    x = (rng.standard_normal(d) + 1j * rng.standard_normal(d)).astype(dtype)
    Af, rdt = ck.real_view(A), ck.real_dtype(dtype)
    y = np.abs(A[:, 0] * np.sqrt(d)).astype(rdt) ** 2  # any nonnegative labels
    lp = compile_scalar_grad(Problem(field="complex").loss_obj)
    ws = ck.CWorkspace(n, d, A.dtype)
    ck._uv(x, ws.u, ws.v)
    nb = ws.partO.shape[0]
    variants = {"this version": ck._cfused_kernel, "no prefetch": ck._make_kernel(ck.ROWS, ck.VECTOR_BYTES, 0)}
    variants["4 rows, 32 B"] = ck._make_kernel(4, 32)
    runs, results = {"read": lambda: read_pass(Af)}, {}
    for name, kern in variants.items():
        r, part = np.empty(2 * n, rdt), np.empty((nb, 2 * d), rdt)
        runs[name] = lambda k=kern, r=r, part=part: k(Af, y, ws.u, ws.v, lp, False, r, part, ws.nofactor, False, part)
        results[name] = (r, part)
    r_prev, P, Q = np.empty(2 * n, rdt), np.empty((nb, 2 * d), rdt), np.empty((nb, 2 * d), rdt)
    runs["previous"] = lambda: previous_kernel(Af, y, ws.u, ws.v, lp, r_prev, P, Q)
    times = {k: [] for k in runs}
    with numba_threads(threads):
        for f in runs.values():
            f()
        for _ in range(reps):
            for k, f in runs.items():
                t0 = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t0)
    Ps, Qs = P.sum(0), Q.sum(0)
    ref = np.empty_like(Ps)
    ref[0::2], ref[1::2] = Ps[0::2] + Qs[1::2], Qs[0::2] - Ps[1::2]
    rel = 1e-10 if dtype == "complex128" else 1e-3  # sums in another order (float32: ~sqrt(n) eps per entry)
    for name, (r, part) in results.items():
        assert np.abs(part.sum(0) - ref).max() <= rel * np.abs(ref).max(), name
        assert np.abs(r - r_prev).max() <= rel * np.abs(r_prev).max(), name
    return {k: float(np.median(v)) for k, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="d = 2000, complex128 only")
    ap.add_argument("--reps", type=int, default=9)
    args = ap.parse_args(argv)
    dims, dtypes = ([2000], ["complex128"]) if args.quick else ([2000, 4000], ["complex128", "complex64"])
    print(f"machine layout: {ck.ROWS} rows per group, {ck.VECTOR_BYTES}-byte vectors")
    print(f"kernel alone / one read of A; medians of {args.reps} interleaved repeats")
    names = ["this version", "no prefetch", "4 rows, 32 B", "previous"]
    print(f"{'d':>5} {'dtype':>10} {'thr':>3} | {'read ms':>8} | " + " | ".join(f"{k:>12}" for k in names))
    for d in dims:
        for dt in dtypes:
            for th in (1, 2):
                t = bench(d, dt, th, args.reps)
                cells = " | ".join(f"{t[k] / t['read']:12.2f}" for k in names)
                print(f"{d:>5} {dt:>10} {th:>3} | {1e3 * t['read']:8.2f} | {cells}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
