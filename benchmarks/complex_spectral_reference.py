"""Reference data for the complex spectral start (tests/test_simulate_complex.py).

Two independent computations for noiseless complex phase retrieval (y = |z|^2, z ~ CN(0, 1), so y ~ Exp(1))
with T(y) = 1 - 1/y ("lal"), docs/theory.md §7.1:

1. Quadrature (this file, not sidmft.theory): the master formulas of docs/theory.md §1.1 with the expectations
   over y ~ Exp(1) (|z|^2 = y), by ``scipy.integrate.quad`` split at y = 1/(K+1) and y = 1, ``brentq`` for
   l* -- rho^2 with the exact T and with the floored T_K = max(T, -K) used by the simulator, so the floor
   bias is known.
2. Simulation: ``simulate`` with field="complex" at d = 2000 over ``--seeds`` seeds per alpha (Lanczos, default
   settings, t_floor = 100); the per-seed rho^2 are written to tests/data/complex_spectral_overlaps.json.

    PYTHONPATH=src python benchmarks/complex_spectral_reference.py              # quadrature + simulation
    PYTHONPATH=src python benchmarks/complex_spectral_reference.py --quadrature # quadrature only (seconds)

Measured (2-core shared machine, load ~8): 140-155 s per alpha for 16 seeds, ~8 min in all.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq

ALPHAS = (2.0, 4.0, 6.0)
OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "complex_spectral_overlaps.json"


def _expect(f, K=None):
    """E[f(y, T(y))] over y ~ Exp(1), T = 1 - 1/y (floored at -K when K is given)."""

    def g(y):
        T = 1.0 - 1.0 / y
        return f(y, max(T, -K) if K else T) * math.exp(-y)

    cuts = [0.0] + ([1.0 / (K + 1.0)] if K else []) + [1.0, math.inf]
    return sum(quad(g, a, b, limit=200, epsabs=1e-14, epsrel=1e-13)[0] for a, b in zip(cuts[:-1], cuts[1:]))


def rho2_quadrature(alpha, K=None):
    """(rho^2, l*, lambda_1) of docs/theory.md §1.1 with complex expectations (sup T = 1)."""
    psi = lambda l: l * (1.0 / alpha + _expect(lambda y, T: T / (l - T), K))  # noqa: E731
    phi = lambda l: l * _expect(lambda y, T: T * y / (l - T), K)  # noqa: E731
    dpsi = lambda l: 1.0 / alpha - _expect(lambda y, T: T * T / (l - T) ** 2, K)  # noqa: E731
    dphi = lambda l: -_expect(lambda y, T: T * T * y / (l - T) ** 2, K)  # noqa: E731
    lo = 1.0 + 1e-9
    lbar = brentq(dpsi, lo, 100.0, xtol=1e-14) if dpsi(lo) < 0 else 1.0
    ls = brentq(lambda l: psi(max(l, lbar)) - phi(l), lo, 1e3, xtol=1e-14)
    if dpsi(ls) <= 0:
        return 0.0, ls, psi(max(ls, lbar))
    return dpsi(ls) / (dpsi(ls) - dphi(ls)), ls, psi(ls)


def quadrature_table(floors=(100.0, 1000.0)):
    rows = {}
    print("alpha   rho^2 (exact T)   lambda_1   1/alpha   " + "   ".join(f"bias K={K:g}" for K in floors))
    for a in ALPHAS:
        r, _, lam = rho2_quadrature(a)
        bias = {K: rho2_quadrature(a, K)[0] - r for K in floors}
        rows[a] = dict(rho2=r, lambda1=lam, floor_bias={str(K): b for K, b in bias.items()})
        print(f"{a:5g}   {r:15.6f}   {lam:8.6f}   {1 / a:7.6f}   " + "   ".join(f"{b:+.2e}" for b in bias.values()))
    return rows


def simulate_overlaps(dim, seeds, t_floor):
    from sidmft import Problem
    from sidmft.simulator import SpectralInitSettings, simulate

    out = {}
    for a in ALPHAS:
        p = Problem(field="complex", alpha=a, preprocess="lal", steps=0)
        t0 = time.perf_counter()
        res = simulate(p, dim, seeds=seeds, spectral=SpectralInitSettings(t_floor=t_floor))
        rho2 = np.asarray(res.spectral["spectral_overlap_sq"], dtype=float)
        se = rho2.std(ddof=1) / math.sqrt(rho2.size)
        print(
            f"alpha = {a:g}: rho^2 = {rho2.mean():.5f} +- {se:.5f} (sd {rho2.std(ddof=1):.4f}, {rho2.size} seeds, "
            f"{time.perf_counter() - t0:.0f} s, status {res.status.label}, passes "
            f"{np.median(res.spectral['spectral_passes']):.0f})",
            flush=True,
        )
        out[str(a)] = dict(
            rho2=rho2.tolist(),
            top_eigenvalue=np.asarray(res.spectral["top_eigenvalue"], dtype=float).tolist(),
            seeds=[int(s) for s in res.seeds],
        )
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quadrature", action="store_true", help="quadrature only")
    ap.add_argument("--dim", type=int, default=2000)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--t-floor", type=float, default=100.0)
    args = ap.parse_args(argv)
    quad_rows = quadrature_table()
    if args.quadrature:
        return 0
    sims = simulate_overlaps(args.dim, args.seeds, args.t_floor)
    record = dict(
        description="per-seed spectral overlaps rho^2 of complex noiseless phase retrieval, T = 1 - 1/y "
        "(benchmarks/complex_spectral_reference.py)",
        dim=args.dim,
        t_floor=args.t_floor,
        preprocess="lal",
        quadrature={str(a): v for a, v in quad_rows.items()},
        simulation=sims,
    )
    OUT.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
