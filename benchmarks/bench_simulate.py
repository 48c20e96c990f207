"""Simulator benchmark: GD step vs one read of A, batched trajectories, spectral init.

    python benchmarks/bench_simulate.py            # d in {2000, 4000}, alpha = 4
    python benchmarks/bench_simulate.py --quick    # d = 2000 only, fewer repeats
    python benchmarks/bench_simulate.py --batch-only   # batched trajectories only
    python benchmarks/bench_simulate.py --algorithms [--quick]   # each algorithm vs GD: one run, and batched
    python benchmarks/bench_simulate.py --complex [--quick]      # complex GD step vs one read of complex A
    (the complex kernel alone against the previous one: benchmarks/bench_ckernel.py)

Every time is the median of several repeats, and every ratio is formed from numbers measured in
the same run (the machine may be shared; absolute times are noisy, ratios much less so).

Read baseline ("read A"): a numba kernel summing all entries of A, with the same fixed row blocks
and the same numba thread count as the fused GD kernel (numpy's ``A.sum()`` is shown alongside).
"GD step" is a full ``run_gd`` step (fused kernel + update + all observables), i.e.
``run_gd(...).seconds / passes``, which also spreads the run's one-time work (the start, the test error
at the end) over its passes; the complex section times the step itself, between consecutive steps, and
shows the per-pass figure beside it.  "numpy 2-pass" is the same with two BLAS calls (A @ x, then A.T @ g).
Step loops run with one BLAS thread (threadpoolctl).
OPENBLAS_CORETYPE is left as set in the environment.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from sidmft import Problem
from sidmft.numerics import numba_threads
from sidmft.simulator import generate_data, run_gd, run_gd_batch, spectral_init
from sidmft.simulator._ckernels import real_view
from sidmft.simulator._kernels import read_pass


def med(f, reps):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def bench_gd(d, dtype, threads, reps, steps=6):
    p = Problem(alpha=4.0, lam=0.1, eta=0.1, steps=steps)
    data = generate_data(p, d, seed=0, dtype=dtype)
    x0 = data.x_star * 0.9
    with numba_threads(threads):
        read_pass(data.A)  # compile / warm
        run_gd(data, x0, p, threads=threads)
        rd, fu, npy = [], [], []
        for _ in range(reps):  # interleaved, so load changes hit all three alike
            rd.append(med(lambda: read_pass(data.A), 3))
            tr = run_gd(data, x0, p, threads=threads, method="fused")
            fu.append(tr.seconds / tr.passes)
            tr = run_gd(data, x0, p, method="numpy")
            npy.append(tr.seconds / tr.passes)
        npsum = med(lambda: data.A.sum(), 3)
    r, f, n_ = np.median(rd), np.median(fu), np.median(npy)
    return dict(d=d, dtype=dtype, threads=threads, read=r, npsum=npsum, fused=f, numpy=n_)


def _timed(run):
    """(median seconds of one step inside the loop, whole-run seconds per pass) of ``run(callback)``.

    A step is the time between two consecutive callbacks: the gradient pass (the fused kernel), the
    observables and the update.  The whole-run figure also spreads the run's one-time work (the start,
    the test error at the end) over its passes."""
    stamps = []
    tr = run(lambda t: stamps.append(time.perf_counter()))
    return float(np.median(np.diff(stamps))), tr.seconds / tr.passes


def bench_complex(d, dtype, threads, reps, steps=10):
    """Complex GD step (``run_gd`` on field="complex" data: fused kernel + update + observables, timed
    between consecutive steps) against one read of the complex A (``read_pass`` on its real (n, 2d) view),
    interleaved in the same run; also the whole run per pass, the numpy 2-pass step, and (for scale) the real
    fused GD step over the read of the real A on real data of the same n, d and precision, in the same
    repeats."""
    p = Problem(alpha=4.0, lam=0.1, eta=0.1, steps=steps, field="complex")
    data = generate_data(p, d, seed=0, dtype=dtype)
    Af = real_view(data.A)
    x0 = data.x_star * 0.9
    pr = p.replace(field="real")
    real = generate_data(pr, d, seed=0, dtype="float64" if dtype == "complex128" else "float32")
    with numba_threads(threads):
        read_pass(Af)  # compile / warm
        run_gd(data, x0, p, threads=threads)
        run_gd(real, real.x_star * 0.9, pr, threads=threads)
        rd, fu, run, npy, rrd, rfu = [], [], [], [], [], []
        for _ in range(reps):
            time.sleep(0.1)
            rd.append(med(lambda: read_pass(Af), 3))
            step, per_pass = _timed(lambda cb: run_gd(data, x0, p, threads=threads, method="fused", callback=cb))
            fu.append(step)
            run.append(per_pass)
            npy.append(_timed(lambda cb: run_gd(data, x0, p, method="numpy", callback=cb))[0])
            rrd.append(med(lambda: read_pass(real.A), 3))
            rfu.append(
                _timed(lambda cb: run_gd(real, real.x_star * 0.9, pr, threads=threads, method="fused", callback=cb))[0]
            )
    return dict(
        d=d,
        dtype=dtype,
        threads=threads,
        read=np.median(rd),
        fused=np.median(fu),
        run=np.median(run),
        numpy=np.median(npy),
        real_ratio=np.median(rfu) / np.median(rrd),
    )


def print_complex(dims, reps, thread_opts):
    """The table of :func:`bench_complex` (complex128 and complex64, each thread count)."""
    print(
        "\n## Complex GD step vs one read of the complex A (field='complex', alpha = 4; ms, median of "
        f"{reps} interleaved repeats; ratio = step / read of the (n, 2d) real view in the same run; "
        "step = time between consecutive steps, run/pass = whole run_gd per pass)"
    )
    print(
        f"{'d':>5} {'dtype':>10} {'thr':>3} | {'read A':>7} | {'step':>7} {'ratio':>6} | {'run/pass':>8} | "
        f"{'numpy':>8} {'ratio':>6} | {'real step/read':>14}"
    )
    for d in dims:
        for dt in ("complex128", "complex64"):
            for th in thread_opts:
                r = bench_complex(d, dt, th, reps)
                print(
                    f"{d:>5} {dt:>10} {th:>3} | {1e3 * r['read']:7.2f} | {1e3 * r['fused']:7.2f} "
                    f"{r['fused'] / r['read']:6.2f} | {r['run'] / r['read']:8.2f} | {1e3 * r['numpy']:8.2f} "
                    f"{r['numpy'] / r['read']:6.2f} | {r['real_ratio']:14.2f}",
                    flush=True,
                )


def bench_complex_spectral(d, dense, alpha=4.0):
    """Complex spectral start (noiseless PR, T = 1 - 1/y): Lanczos on the Hermitian operator against the real
    symmetric 2d embedding, floors K = 100 and 1000, 1 numba thread; rows (label, info, seconds) and the
    time of one read of the complex A."""
    p = Problem(alpha=alpha, steps=0, field="complex")
    data = generate_data(p, d, seed=0)
    Af = real_view(data.A)
    rows = []
    with numba_threads(1):
        read_pass(Af)
        rd = med(lambda: read_pass(Af), 5)
        if dense:
            t0 = time.perf_counter()
            _, ex = spectral_init(data, p, method="dense", t_floor=None)
            rows.append(("exact: dense eigh, no floor", ex, time.perf_counter() - t0))
        for label, kw in [
            ("hermitian, K=100 (default)", dict()),
            ("embedded 2d x 2d, K=100", dict(complex_eigsh="embedded")),
            ("hermitian, K=1000", dict(t_floor=1000.0)),
            ("hermitian, K=100, tol 1e-10", dict(tol=1e-10)),
            ("embedded, K=100, tol 1e-10", dict(tol=1e-10, complex_eigsh="embedded")),
        ]:
            t0 = time.perf_counter()
            _, info = spectral_init(data, p, method="lanczos", threads=1, **kw)
            rows.append((label, info, time.perf_counter() - t0))
    return rd, rows


def print_complex_spectral(dims, quick):
    print(
        "\n## Complex spectral init, T = 1 - 1/y, alpha = 4, complex128, 1 thread; passes = operator applications "
        "(+1 residual); time in units of one read of the complex A"
    )
    for d in dims:
        rd, rows = bench_complex_spectral(d, dense=not quick and d <= 2000)
        ex = rows[0][1] if rows[0][0].startswith("exact") else None
        print(f"d = {d}: one read of A = {1e3 * rd:.2f} ms")
        print(f"  {'method':<32} {'passes':>6} {'time/read':>9} {'rho^2':>8} {'d rho^2 vs exact':>16} {'lambda1':>8}")
        for label, info, sec in rows:
            diff = f"{info.overlap_sq - ex.overlap_sq:+16.5f}" if ex is not None else f"{'':>16}"
            passes = info.passes if info.method != "dense" else "dense"
            print(
                f"  {label:<32} {passes:>6} {sec / rd:9.0f} {info.overlap_sq:8.5f} {diff} {info.top_eigenvalue:8.4f}",
                flush=True,
            )


def bench_batch(d, dtype, reps, threads=1, B=16, steps=4):
    """Per-trajectory step time: one fused run at a time vs B together (fused batch, GEMM batch).

    Same thread count on every side: ``threads`` numba threads for the fused kernels and
    ``threads`` BLAS threads for the GEMMs; the three are interleaved in every repeat.
    """
    p = Problem(alpha=4.0, steps=steps)
    data = generate_data(p, d, seed=0, dtype=dtype)
    x0 = data.x_star * 0.9
    lams = np.linspace(0.0, 0.3, B)
    etas = np.linspace(0.05, 0.2, B)
    for m in ("fused", "gemm"):  # compile / warm
        run_gd_batch(data, x0, p.replace(steps=1), lams[:2], etas[:2], method=m, threads=threads, blas_threads=threads)
    one, fus, gem = [], [], []
    for _ in range(reps):
        # short pauses: idle OpenBLAS / numba worker threads spin for a while after a call and
        # would otherwise steal the second core from the next measurement
        time.sleep(0.2)
        tr = run_gd(data, x0, p, threads=threads)
        one.append(tr.seconds / tr.passes)
        time.sleep(0.2)
        tb = run_gd_batch(data, x0, p, lams, etas, method="fused", threads=threads)
        fus.append(tb.seconds / (steps + 1) / B)
        time.sleep(0.2)
        tb = run_gd_batch(data, x0, p, lams, etas, method="gemm", blas_threads=threads)
        gem.append(tb.seconds / (steps + 1) / B)
    n = data.A.shape[0]
    return dict(
        d=d,
        dtype=dtype,
        threads=threads,
        one=np.median(one),
        fused=np.median(fus),
        gemm=np.median(gem),
        B=B,
        flop=4.0 * n * d,
    )  # A x and A^T g: 2 n d flops each per trajectory


#: the first-order methods timed by ``--algorithms`` (label, Problem fields)
ALGORITHM_CASES = (
    ("gd", dict(algorithm="gd")),
    ("heavy-ball beta=0.5", dict(algorithm="heavy-ball", beta=0.5)),
    ("nesterov beta=0.5", dict(algorithm="nesterov", beta=0.5)),
    ("sgd batch=0.25", dict(algorithm="sgd", batch=0.25)),
    ("langevin tau=0.01", dict(algorithm="langevin", temperature=0.01)),
)


def bench_algorithms(d, reps, steps=10, dtype="float64"):
    """Seconds per step of ``run_gd`` for each method of :data:`ALGORITHM_CASES`, 1 numba thread.

    One data set (alpha = 4); every repeat runs all methods in turn (interleaved), so load changes
    hit them alike; returns the median over repeats per method.
    """
    base = Problem(alpha=4.0, lam=0.1, eta=0.1, steps=steps)
    data = generate_data(base, d, seed=0, dtype=dtype)
    x0 = data.x_star * 0.9
    probs = [(label, base.replace(**kw)) for label, kw in ALGORITHM_CASES]
    with numba_threads(1):
        for _, p in probs:  # compile / warm
            run_gd(data, x0, p.replace(steps=1), threads=1)
        times = {label: [] for label, _ in probs}
        for _ in range(reps):
            for label, p in probs:
                time.sleep(0.1)  # let idle worker threads stop spinning
                tr = run_gd(data, x0, p, threads=1)
                if not tr.success:  # a stopped run would time fewer steps
                    raise RuntimeError(f"{label}: {tr.message}")
                times[label].append(tr.seconds / (steps + 1))
    return {label: float(np.median(v)) for label, v in times.items()}


def print_algorithms(dims, reps):
    """Print the per-step table of :func:`bench_algorithms`; returns {d: seconds per step per method}."""
    single = {}
    print(
        "\n## One step of each algorithm (run_gd, float64, alpha = 4, 1 numba thread; ms per step, median of "
        f"{reps} interleaved repeats; ratio = step / GD step in the same run)"
    )
    print(f"{'d':>5} | " + " | ".join(f"{label:>20}" for label, _ in ALGORITHM_CASES))
    for d in dims:
        r = bench_algorithms(d, reps)
        single[d] = r
        g = r["gd"]
        cells = [f"{1e3 * r[label]:8.2f} ms {r[label] / g:5.2f}x" for label, _ in ALGORITHM_CASES]
        print(f"{d:>5} | " + " | ".join(f"{c:>20}" for c in cells), flush=True)
    return single


def bench_algorithms_batch(d, reps, B=16, steps=6, dtype="float64"):
    """Seconds per trajectory-step of ``run_gd_batch`` (fused, 1 numba thread) for each method of
    :data:`ALGORITHM_CASES`, B (lam, eta) pairs on one data set; the methods are interleaved in
    every repeat; returns the median over repeats per method."""
    base = Problem(alpha=4.0, steps=steps)
    data = generate_data(base, d, seed=0, dtype=dtype)
    x0 = data.x_star * 0.9
    lams, etas = np.linspace(0.0, 0.3, B), np.linspace(0.05, 0.1, B)
    probs = [(label, base.replace(**kw)) for label, kw in ALGORITHM_CASES]
    with numba_threads(1):
        for _, p in probs:  # compile / warm
            run_gd_batch(data, x0, p.replace(steps=1), lams[:2], etas[:2], method="fused", threads=1)
        times = {label: [] for label, _ in probs}
        for _ in range(reps):
            for label, p in probs:
                time.sleep(0.1)
                tb = run_gd_batch(data, x0, p, lams, etas, method="fused", threads=1)
                if not tb.success:
                    raise RuntimeError(f"{label}: {tb.message}")
                times[label].append(tb.seconds / (steps + 1) / B)
    return {label: float(np.median(v)) for label, v in times.items()}


def print_algorithms_batch(dims, reps, B=16, single=None):
    """Print the table of :func:`bench_algorithms_batch`; with ``single`` (from :func:`print_algorithms`,
    same run) also the speed-up of the batch over one ``run_gd`` at a time, per method."""
    print(
        f"\n## Batched: {B} (lam, eta) pairs of each algorithm together (run_gd_batch, fused, float64, alpha = 4, "
        f"1 numba thread; ms per trajectory-step, median of {reps} interleaved repeats; ratio = / batched GD step "
        "in the same run; speed-up = one run_gd step of the table above / batched trajectory-step)"
    )
    print(f"{'d':>5} | " + " | ".join(f"{label:>20}" for label, _ in ALGORITHM_CASES))
    for d in dims:
        r = bench_algorithms_batch(d, reps, B=B)
        g = r["gd"]
        cells = [f"{1e3 * r[label]:8.3f} ms {r[label] / g:5.2f}x" for label, _ in ALGORITHM_CASES]
        print(f"{d:>5} | " + " | ".join(f"{c:>20}" for c in cells), flush=True)
        if single is not None and d in single:
            cells = [f"speed-up {single[d][label] / r[label]:5.2f}x" for label, _ in ALGORITHM_CASES]
            print(f"{'':>5} | " + " | ".join(f"{c:>20}" for c in cells), flush=True)


def dgemm_gflops(d, dtype, threads, reps=5):
    """Square GEMM (d x d times d x d) in GFLOP/s with ``threads`` BLAS threads: the machine's FLOP ceiling."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.standard_normal((d, d)).astype(dtype)
    b = rng.standard_normal((d, d)).astype(dtype)
    with threadpool_limits(threads):
        a @ b
        t = med(lambda: a @ b, reps)
    return 2.0 * d**3 / t / 1e9


def bench_spectral(d, dense):
    p = Problem(alpha=4.0, steps=0)
    data = generate_data(p, d, seed=0)
    with numba_threads(1):
        read_pass(data.A)
        rd = med(lambda: read_pass(data.A), 5)
        rows = []
        ex = None
        if dense:
            t0 = time.perf_counter()
            _, ex = spectral_init(data, p, method="dense", t_floor=None)
            rows.append(("exact: dense eigh, no floor", ex, time.perf_counter() - t0))
        for label, kw in [
            ("no floor, eigsh capped at 400 passes", dict(t_floor=None, warm_floor=None, maxiter=20)),
            ("K=1000, tol 1e-2", dict(t_floor=1000.0)),
            ("K=100 (default), tol 1e-2", dict()),
            ("K=100, tol 1e-2, no warm start", dict(warm_floor=None)),
            ("K=100, tol 1e-10", dict(tol=1e-10)),
            ("K=30, tol 1e-2", dict(t_floor=30.0)),
            ("mm (T >= -1), tol 1e-2", dict(problem=p.replace(preprocess="mm"))),
        ]:
            pp = kw.pop("problem", p)
            t0 = time.perf_counter()
            try:
                _, info = spectral_init(data, pp, method="lanczos", threads=1, **kw)
            except Exception as e:  # noqa: BLE001
                rows.append((label + f" [{type(e).__name__}]", None, time.perf_counter() - t0))
                continue
            rows.append((label, info, time.perf_counter() - t0))
    return rd, rows, ex


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="d = 2000 only, fewer repeats")
    ap.add_argument("--batch-only", action="store_true", help="only the batched-trajectory section")
    ap.add_argument("--algorithms", action="store_true", help="only the per-algorithm sections (one run, and batched)")
    ap.add_argument("--complex", action="store_true", help="only the complex sections (GD step, spectral init)")
    args = ap.parse_args(argv)
    dims = [2000] if args.quick else [2000, 4000]
    reps = 3 if args.quick else 5
    import numba

    if args.algorithms:
        print_algorithms_batch(dims, reps + 2, single=print_algorithms(dims, reps + 2))
        return 0
    if args.complex:
        print_complex(dims, reps + 2, sorted({1, numba.config.NUMBA_NUM_THREADS}))
        print_complex_spectral(dims, args.quick)
        return 0

    print(
        f"# sidmft simulator benchmark  (alpha = 4, n = 4d; numba threads available: "
        f"{numba.config.NUMBA_NUM_THREADS}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')})"
    )
    thread_opts = sorted({1, numba.config.NUMBA_NUM_THREADS})
    if not args.batch_only:
        print("\n## GD step vs one read of A  (times in ms, median of repeats; ratio = step / read)")
        print(
            f"{'d':>5} {'dtype':>8} {'thr':>3} | {'read A':>7} {'A.sum()':>8} | {'fused':>7} {'ratio':>6} | "
            f"{'numpy 2-pass':>12} {'ratio':>6}"
        )
        for d in dims:
            for dt in ("float64", "float32"):
                for th in thread_opts:
                    r = bench_gd(d, dt, th, reps)
                    print(
                        f"{d:>5} {dt:>8} {th:>3} | {1e3 * r['read']:7.2f} {1e3 * r['npsum']:8.2f} | "
                        f"{1e3 * r['fused']:7.2f} {r['fused'] / r['read']:6.2f} | {1e3 * r['numpy']:12.2f} "
                        f"{r['numpy'] / r['read']:6.2f}",
                        flush=True,
                    )
    print(
        "\n## Batched trajectories: 16 (lam, eta) pairs on one data set vs one fused run at a time "
        "(ms per step per trajectory; thr = numba threads for fused, BLAS threads for GEMM)"
    )
    print(
        f"{'d':>5} {'dtype':>8} {'thr':>3} | {'one':>7} | {'batch fused':>11} {'speed-up':>8} | "
        f"{'batch GEMM':>10} {'speed-up':>8} | {'GEMM/fused':>10} | {'GFLOP/s fused':>13} {'GEMM':>6} "
        f"{'square dgemm':>12}"
    )
    for d in dims:
        for dt in ("float64", "float32"):
            for th in thread_opts:
                b = bench_batch(d, dt, reps + 2, threads=th)
                sq = dgemm_gflops(min(d, 2000), dt, th)
                print(
                    f"{d:>5} {dt:>8} {th:>3} | {1e3 * b['one']:7.2f} | {1e3 * b['fused']:11.2f} "
                    f"{b['one'] / b['fused']:8.2f} | {1e3 * b['gemm']:10.2f} {b['one'] / b['gemm']:8.2f} | "
                    f"{b['gemm'] / b['fused']:10.2f} | {b['flop'] / b['fused'] / 1e9:13.1f} "
                    f"{b['flop'] / b['gemm'] / 1e9:6.1f} {sq:12.1f}",
                    flush=True,
                )
    if not args.batch_only and not args.quick:
        print_algorithms_batch(dims, reps + 2, single=print_algorithms(dims, reps + 2))
    if not args.batch_only:
        print(
            "\n## Spectral init, lal T = 1 - 1/y (min T ~ -1e7), float64, 1 thread; passes = operator applications"
            " (+1 residual); time in units of one read of A"
        )
        for d in dims:
            rd, rows, ex = bench_spectral(d, dense=(d <= 2000 or not args.quick))
            print(f"d = {d}: one read of A = {1e3 * rd:.2f} ms")
            print(
                f"  {'method':<40} {'passes':>6} {'time/read':>9} {'rho^2':>8} {'d rho^2 vs exact':>16} {'lambda1':>8}"
            )
            for label, info, sec in rows:
                if info is None:
                    print(f"  {label:<40} {'-':>6} {sec / rd:9.0f}")
                    continue
                diff = f"{info.overlap_sq - ex.overlap_sq:+16.5f}" if ex is not None else f"{'':>16}"
                passes = info.passes if info.method != "dense" else "dense"
                print(
                    f"  {label:<40} {passes:>6} {sec / rd:9.0f} {info.overlap_sq:8.5f} {diff} "
                    f"{info.top_eigenvalue:8.4f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
