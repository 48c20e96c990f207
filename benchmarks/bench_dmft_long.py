"""Long DMFT horizons: the hybrid response estimator against the exact one (docs/theory.md §4.3).

Prints three tables, all measured in this run (PR, intensity loss, T = lal, spectral start):

1. cost: wall time and peak memory (each solve in its own process) of the exact pathwise estimator at
   T = 200 and of the hybrid estimator at T = 200 and T = 1000, M = 2e4 paths (4 batches, the default);
   ratios against the hybrid T = 200 run and against the exact T = 200 run;
2. accuracy at equal wall time: the batch standard error of m_t (t <= 200) of the exact estimator and of
   the hybrid estimator given the same wall time (more paths), alpha = 3, lam = eta = 0.1, 16 batches;
3. the slow regime alpha = 2, lam = 0.1 (contraction 0.995 per step at eta = 0.07; eta = 0.1 blows up at
   the start, a path escapes) run to T = 2000 with the hybrid estimator: m_T against the fixed point
   m_hat (docs/theory.md §3) with the gap, its error bar and the remaining gap predicted by the rate.

    python benchmarks/bench_dmft_long.py            # all three tables (about 10 minutes on 2 cores)
    python benchmarks/bench_dmft_long.py --quick    # table 1 at T = 200 / 600 and a T = 600 slow run
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from sidmft import Problem
from sidmft.theory.dmft import dmft
from sidmft.theory.fixed_point import fixed_point

FAST = dict(loss="intensity", preprocess="lal", alpha=3.0, lam=0.1, eta=0.1)
SLOW = dict(loss="intensity", preprocess="lal", alpha=2.0, lam=0.1, eta=0.07)

_CHILD = """
import json, resource, sys, time
from sidmft import Problem
from sidmft.theory.dmft import dmft
kw = json.loads(sys.argv[1])
p = Problem(**kw["problem"])
dmft(p.replace(steps=3), samples=800, batches=4, responses=kw["responses"])  # compile outside the clock
t0 = time.perf_counter()
r = dmft(p, samples=kw["samples"], batches=kw["batches"], seed=1, responses=kw["responses"])
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps(dict(seconds=dt, rss_gib=rss, status=r.status.name, m_T=float(r.mean("m")[-1]))))
"""


def solve_in_child(problem: dict, responses: str, samples: int, batches: int) -> dict:
    """Wall time and peak resident memory of one solve in a fresh process."""
    arg = json.dumps(dict(problem=problem, responses=responses, samples=samples, batches=batches))
    out = subprocess.run([sys.executable, "-c", _CHILD, arg], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table_cost(T_long: int, exact_long: bool = False) -> None:
    rows = [("pathwise", 200), ("hybrid", 200), ("hybrid", T_long)] + ([("pathwise", T_long)] if exact_long else [])
    res = {}
    print(f"\n1. cost, M = 2e4 paths in 4 batches (each solve in a fresh process; T_long = {T_long})")
    print(f"{'estimator':>10} {'T':>5} {'seconds':>8} {'peak GiB':>9} {'status':>8}")
    for resp, T in rows:
        r = solve_in_child(dict(FAST, steps=T), resp, 20000, 4)
        res[(resp, T)] = r
        print(f"{resp:>10} {T:>5} {r['seconds']:8.2f} {r['rss_gib']:9.2f} {r['status']:>8}", flush=True)
    h_long, h200, e200 = res[("hybrid", T_long)], res[("hybrid", 200)], res[("pathwise", 200)]
    print(f"hybrid T={T_long} / hybrid T=200: {h_long['seconds'] / h200['seconds']:.1f}x")
    print(f"hybrid T={T_long} / pathwise T=200: {h_long['seconds'] / e200['seconds']:.1f}x")
    if exact_long:
        e_long = res[("pathwise", T_long)]
        print(f"pathwise T={T_long} / pathwise T=200: {e_long['seconds'] / e200['seconds']:.1f}x")


def table_equal_time(batches: int = 16) -> None:
    p = Problem(**FAST, steps=200)
    times = [10, 50, 100, 150, 200]
    dmft(p.replace(steps=3), samples=800, batches=4, responses="hybrid")
    dmft(p.replace(steps=3), samples=800, batches=4, responses="pathwise")
    M_e = 2500 * batches
    t0 = time.perf_counter()
    ex = dmft(p, samples=M_e, batches=batches, seed=31, responses="pathwise")
    t_e = time.perf_counter() - t0
    t0 = time.perf_counter()
    dmft(p, samples=M_e, batches=batches, seed=32, responses="hybrid")
    t_h1 = time.perf_counter() - t0
    M_h = int(M_e * t_e / t_h1) // batches * batches
    t0 = time.perf_counter()
    hy = dmft(p, samples=M_h, batches=batches, seed=33, responses="hybrid")
    t_h = time.perf_counter() - t0
    head = f"\n2. equal wall time, T = 200, {batches} batches: pathwise {M_e} paths {t_e:.1f} s"
    print(head + f"; hybrid {M_h} paths {t_h:.1f} s")
    print(f"{'t':>5} {'SE m pathwise':>14} {'SE m hybrid':>12} {'ratio':>6} {'m pathwise':>11} {'m hybrid':>9}")
    for t in times:
        se_e, se_h = ex.se("m")[t], hy.se("m")[t]
        print(f"{t:>5} {se_e:14.2e} {se_h:12.2e} {se_h / se_e:6.2f} {ex.mean('m')[t]:11.5f} {hy.mean('m')[t]:9.5f}")
    print("(ratio = SE hybrid / SE pathwise at equal wall time; the SE of an SE over", batches, "batches is ~18 %)")


def table_slow(T: int, samples: int, batches: int) -> None:
    p = Problem(**SLOW, steps=T)
    fp = fixed_point(p)
    t0 = time.perf_counter()
    r = dmft(p, samples=samples, batches=batches, seed=41, responses="hybrid")
    dt = time.perf_counter() - t0
    print(
        f"\n3. slow regime alpha = 2, lam = 0.1, eta = 0.07, T = {T}, {samples} paths in {batches} batches: "
        f"{r.status.name}, {dt:.0f} s"
    )
    print(f"   fixed point m_hat = {fp.m:.5f}, predicted contraction per step {fp.rate:.5f}")
    print(f"{'t':>6} {'m_t':>9} {'SE':>9} {'m_t - m_hat':>12} {'gap/SE':>7} {'rate^t':>9}")
    for t in [10, 100, 250, 500, 1000, 1500, 2000]:
        if t <= T:
            m, se = r.mean("m")[t], r.se("m")[t]
            print(f"{t:>6} {m:9.5f} {se:9.1e} {m - fp.m:12.2e} {(m - fp.m) / se:7.1f} {fp.rate**t:9.1e}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="T = 600 instead of 1000/2000; no equal-time table")
    ap.add_argument("--only", default="1,2,3", help="comma list of tables to run")
    ap.add_argument("--exact-long", action="store_true", help="table 1 also times the exact estimator at T_long")
    a = ap.parse_args(argv)
    only = set(a.only.split(","))
    if "1" in only:
        table_cost(600 if a.quick else 1000, a.exact_long)
    if "2" in only and not a.quick:
        table_equal_time()
    if "3" in only:
        # 5000 paths per batch: the moment matching of the scores needs more paths than 2 (T + 2)
        table_slow(600 if a.quick else 2000, 40000, 8)


if __name__ == "__main__":
    main()
