"""Benchmark of the Monte-Carlo DMFT solver: wall time, CPU time and peak memory.

    python benchmarks/bench_dmft.py            # T in {50, 100, 200} x M in {2e4, 1e5}, float64 and float32
    python benchmarks/bench_dmft.py --quick    # T in {50, 100, 200} x M = 2e4, float64 only, 1 repeat
    python benchmarks/bench_dmft.py --float32-check   # T = 200, M = 2e4: float32 storage against float64
    python benchmarks/bench_dmft.py --algorithms [--repeats R]   # T = 100, M = 2e4: each algorithm vs GD
    python benchmarks/bench_dmft.py --complex [--repeats R]      # complex against real at equal T and M

Problem: phase retrieval, intensity loss, T = 1 - 1/y, alpha = 3, lam = eta = 0.1, spectral start,
4 batches.  Every configuration runs in a fresh subprocess (so ``ru_maxrss`` is that run's peak
resident memory; ``tracemalloc`` gives the peak of the numpy allocations of the solve), after one
warm-up solve in the same process (numba kernels loaded from the on-disk cache).  Wall time is the
median over repeats; the machine is shared, so also look at the CPU time (all threads).
The fitted exponents are least-squares slopes of log(time) against log(T) (per M) and log(M) (per T).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np

CHILD = r"""
import json, resource, sys, time, tracemalloc
import numpy as np
from sidmft import Problem
from sidmft.theory.dmft import dmft
T, M, prec, reps = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
p = Problem(alpha=3, lam=0.1, eta=0.1, steps=T)
dmft(p.replace(steps=4), samples=800, batches=1, precision=prec)     # warm-up: load the numba kernels
walls, cpus = [], []
for r in range(reps):
    w0, c0 = time.perf_counter(), time.process_time()
    res = dmft(p, samples=M, batches=4, seed=r, precision=prec)
    walls.append(time.perf_counter() - w0)
    cpus.append(time.process_time() - c0)
tracemalloc.start()
dmft(p, samples=M, batches=4, seed=0, precision=prec)
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
OBS = ("m", "q", "error", "train_loss", "grad_norm")
print(json.dumps(dict(wall=float(np.median(walls)), wall_min=min(walls), cpu=float(np.median(cpus)),
                      traced_mib=peak / 2**20, rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      m_T=float(res.mean("m")[-1]), m_se_T=float(res.se("m")[-1]), status=res.status.label,
                      obs={k: [float(v) for v in res.mean(k)] for k in OBS},
                      se={k: [float(v) for v in res.se(k)] for k in OBS})))
"""


ALG_CHILD = r"""
import json, sys, time
import numpy as np
from sidmft import Problem
from sidmft.theory.dmft import dmft
T, M, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
cases = json.loads(sys.argv[4])
base = Problem(alpha=3, lam=0.1, eta=0.1, steps=T)
probs = [(label, base.replace(**kw)) for label, kw in cases]
for _, p in probs:                                       # warm-up: load the numba kernels of each method
    dmft(p.replace(steps=4), samples=800, batches=1)
walls = {label: [] for label, _ in probs}
cpus = {label: [] for label, _ in probs}
status = {}
for r in range(reps):
    for label, p in probs:                               # interleaved: load changes hit every method alike
        w0, c0 = time.perf_counter(), time.process_time()
        res = dmft(p, samples=M, batches=4, seed=r)
        walls[label].append(time.perf_counter() - w0)
        cpus[label].append(time.process_time() - c0)
        status[label] = res.status.label
print(json.dumps({label: dict(wall=float(np.median(walls[label])), cpu=float(np.median(cpus[label])),
                              status=status[label]) for label, _ in probs}))
"""

#: the first-order methods of ``--algorithms`` (label, Problem fields)
ALGORITHM_CASES = [
    ["gd", {"algorithm": "gd"}],
    ["heavy-ball beta=0.5", {"algorithm": "heavy-ball", "beta": 0.5}],
    ["nesterov beta=0.5", {"algorithm": "nesterov", "beta": 0.5}],
    # eta = 0.05: at eta = 0.1 the Monte-Carlo DMFT of sgd batch=0.25 stops at a heavy-tail blow-up
    # near step 40 (its status says so), which would time a shorter solve; a step costs the same at any eta
    ["sgd batch=0.25 eta=0.05", {"algorithm": "sgd", "batch": 0.25, "eta": 0.05}],
    ["langevin tau=0.01", {"algorithm": "langevin", "temperature": 0.01}],
]


def run_algorithms(T=100, M=20000, reps=3):
    """Median wall / CPU time of one DMFT solve per method (fresh subprocess, interleaved repeats)."""
    out = subprocess.run(
        [sys.executable, "-c", ALG_CHILD, str(T), str(M), str(reps), json.dumps(ALGORITHM_CASES)],
        capture_output=True,
        text=True,
        check=True,
    )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"# sidmft DMFT cost per algorithm: PR/intensity/lal, alpha=3, lam=eta=0.1, T={T}, M={M}, 4 batches, "
        f"float32 storage (default); median of {reps} interleaved repeats; {os.cpu_count()} cores; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'algorithm':<24} {'wall s':>7} {'cpu s':>7} {'wall/GD':>8} {'cpu/GD':>7} {'status':>8}")
    g = r["gd"]
    for label, _ in ALGORITHM_CASES:
        x = r[label]
        print(
            f"{label:<24} {x['wall']:7.2f} {x['cpu']:7.2f} {x['wall'] / g['wall']:8.2f} {x['cpu'] / g['cpu']:7.2f} "
            f"{x['status']:>8}",
            flush=True,
        )
    return 0 if all(x["status"] == "success" for x in r.values()) else 1


CPLX_CHILD = r"""
import json, sys, time
import numpy as np
from sidmft import Problem
from sidmft.theory.dmft import DMFTSettings, dmft
M, reps = int(sys.argv[1]), int(sys.argv[2])
cases = json.loads(sys.argv[3])
runs = []
for label, T, responses, field in cases:
    p = Problem(alpha=4.0, lam=0.2, eta=0.15, steps=T, field=field)
    cfg = DMFTSettings(samples=M, batches=4, responses=responses)
    runs.append((label, field, p, cfg))
    dmft(p.replace(steps=4), settings=DMFTSettings(samples=800, batches=1, responses=responses))  # warm-up
walls = {(l, f): [] for l, f, _, _ in runs}
cpus = {(l, f): [] for l, f, _, _ in runs}
info = {}
for r in range(reps):
    for label, field, p, cfg in runs:                    # interleaved: load changes hit both fields alike
        w0, c0 = time.perf_counter(), time.process_time()
        res = dmft(p, settings=cfg, seed=r)
        walls[(label, field)].append(time.perf_counter() - w0)
        cpus[(label, field)].append(time.process_time() - c0)
        info[(label, field)] = (res.status.label, res.diagnostics.get("responses"))
print(json.dumps([dict(label=l, field=f, wall=float(np.median(walls[(l, f)])), cpu=float(np.median(cpus[(l, f)])),
                       status=info[(l, f)][0], responses=info[(l, f)][1]) for l, f, _, _ in runs]))
"""

#: (label, T, responses) of ``--complex``: each estimator at a horizon where it is the natural choice, and the
#: "auto" choice of each field at T = 100 (real: pathwise; complex: hybrid)
COMPLEX_CASES = [
    ("pathwise T=50", 50, "pathwise"),
    ("ibp T=50", 50, "ibp"),
    ("hybrid T=200", 200, "hybrid"),
    ("auto T=100", 100, "auto"),
]


def run_complex(M=20000, reps=3):
    """Complex against real DMFT at equal T and M, per response estimator (fresh subprocess, interleaved)."""
    cases = [[label, T, resp, field] for label, T, resp in COMPLEX_CASES for field in ("real", "complex")]
    out = subprocess.run(
        [sys.executable, "-c", CPLX_CHILD, str(M), str(reps), json.dumps(cases)],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    by = {(r["label"], r["field"]): r for r in rows}
    print(
        f"# sidmft DMFT, complex against real: PR/intensity/lal, alpha=4, lam=0.2, eta=0.15, M={M}, 4 batches, "
        f"spectral start; median of {reps} interleaved repeats; {os.cpu_count()} cores; load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(f"{'case':<16} {'real s':>7} {'complex s':>9} {'wall ratio':>10} {'cpu ratio':>9}  estimators (real/complex)")
    for label, _, _ in COMPLEX_CASES:
        a, b = by[(label, "real")], by[(label, "complex")]
        print(
            f"{label:<16} {a['wall']:7.2f} {b['wall']:9.2f} {b['wall'] / a['wall']:10.2f} {b['cpu'] / a['cpu']:9.2f}"
            f"  {a['responses']}/{b['responses']} ({a['status']}/{b['status']})",
            flush=True,
        )
    return 0 if all(r["status"] == "success" for r in rows) else 1


def run(T, M, prec, reps):
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(T), str(M), prec, str(reps)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def slope(x, y):
    x, y = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    return float(np.polyfit(x, y, 1)[0]) if len(x) > 1 else math.nan


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="M = 2e4 only, float64 only, 1 repeat")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--float32-check",
        action="store_true",
        help="T = 200, M = 2e4 in float64 and float32 storage only, 1 repeat: the precision comparison",
    )
    ap.add_argument(
        "--algorithms",
        action="store_true",
        help="T = 100, M = 2e4: the cost of each first-order method relative to GD (--repeats interleaved)",
    )
    ap.add_argument(
        "--complex",
        action="store_true",
        help="M = 2e4: the complex DMFT against the real one at equal T and M, per response estimator",
    )
    args = ap.parse_args(argv)
    if args.complex:
        return run_complex(reps=args.repeats)
    if args.algorithms:
        return run_algorithms(reps=args.repeats)
    Ts = (200,) if args.float32_check else (50, 100, 200)
    Ms = (20000,) if (args.quick or args.float32_check) else (20000, 100000)
    precs = ("float64",) if args.quick else ("float64", "float32")
    reps = 1 if (args.quick or args.float32_check) else args.repeats
    print(
        f"# sidmft DMFT benchmark: PR/intensity/lal, alpha=3, lam=eta=0.1, 4 batches; {os.cpu_count()} cores; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'precision':>9} {'T':>4} {'M':>7} {'wall s':>8} {'min s':>7} {'cpu s':>7} {'RSS MiB':>8} "
        f"{'traced MiB':>10} {'m_T':>8} {'se':>8}"
    )
    rows = []
    for prec in precs:
        for M in Ms:
            for T in Ts:
                r = run(T, M, prec, reps)
                rows.append((prec, T, M, r))
                print(
                    f"{prec:>9} {T:>4} {M:>7} {r['wall']:8.2f} {r['wall_min']:7.2f} {r['cpu']:7.2f} "
                    f"{r['rss_mib']:8.0f} {r['traced_mib']:10.0f} {r['m_T']:8.4f} {r['m_se_T']:8.1e}",
                    flush=True,
                )
    print("# scaling exponents (CPU time; wall time in brackets)")
    for prec in precs:
        for M in Ms:
            sel = [(T, r) for p, T, MM, r in rows if p == prec and MM == M]
            print(
                f"#  {prec} M={M}: time ~ T^{slope([t for t, _ in sel], [r['cpu'] for _, r in sel]):.2f} "
                f"[T^{slope([t for t, _ in sel], [r['wall'] for _, r in sel]):.2f}]"
            )
        if len(Ms) > 1:
            for T in Ts:
                sel = [(MM, r) for p, TT, MM, r in rows if p == prec and TT == T]
                print(
                    f"#  {prec} T={T}: time ~ M^{slope([m for m, _ in sel], [r['cpu'] for _, r in sel]):.2f} "
                    f"[M^{slope([m for m, _ in sel], [r['wall'] for _, r in sel]):.2f}]"
                )
    # float32 storage against float64, same seed (the last repeat, seed reps - 1): largest |difference| of
    # each observable over t, next to the smallest Monte-Carlo standard error over t
    if len(precs) > 1:
        print("# float32 storage vs float64 (same seed): max_t |obs32 - obs64|  [max_t |obs32 - obs64| / MC se_t]")
        for M in Ms:
            for T in Ts:
                r64 = [r for p, TT, MM, r in rows if p == "float64" and TT == T and MM == M][0]
                r32 = [r for p, TT, MM, r in rows if p == "float32" and TT == T and MM == M][0]
                cells = []
                for k in r64["obs"]:
                    a, b = np.asarray(r64["obs"][k]), np.asarray(r32["obs"][k])
                    se = np.asarray(r64["se"][k])
                    ratio = np.abs(a - b)[1:] / se[1:]
                    cells.append(f"{k} {np.nanmax(np.abs(a - b)):.1e} [{np.nanmax(ratio):.1e}]")
                print(f"#  T={T} M={M}: " + ", ".join(cells))
    target = [r for p, T, M, r in rows if T == 200 and M == 20000]
    for p, _, _, r in [x for x in rows if x[1] == 200 and x[2] == 20000]:
        print(
            f"# target T=200, M=2e4 ({p}): wall {r['wall']:.2f} s (<= 2 s: {r['wall'] <= 2}), "
            f"RSS {r['rss_mib']:.0f} MiB (<= 4096: {r['rss_mib'] <= 4096})"
        )
    return 0 if target else 1


if __name__ == "__main__":
    sys.exit(main())
