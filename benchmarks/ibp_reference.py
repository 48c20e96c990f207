"""Finite-size reference for the DMFT of losses whose l' jumps at r = 0 (tests/test_dmft_ibp.py).

Simulates GD from the spectral start (PR, T = lal, 30 steps) for the amplitude loss and the
pseudo-Huber amplitude loss at each point (alpha, lam, eta) of ``POINTS`` (alpha from 2 to 6; at
each one GD from the spectral start converges, and moves the iterate well away from the start),
at dimension d over independent seeds, and stores per case (loss x point) the problem, the seed
mean and standard error of every observable at t in {1, 5, 10, 30}, d, the seeds and the seconds
in tests/data/dmft_ibp_reference.json.

The spectral start uses the floor T_K = max(T, -K) with K = T_FLOOR = 1000 instead of the simulator's
default K = 100 (``SpectralInitSettings.t_floor``; lal, T = 1 - 1/y, is unbounded below): with
K = 100 the d -> inf overlap rho (the spectral theory with T_K) is off by -3e-5, -1.2e-4, -2.7e-4,
-6.0e-4 at alpha = 2, 3, 4, 6 -- a d-independent bias of the simulation that was seen at 5-6
standard errors against the DMFT at alpha = 6 (m_0 - rho = -6e-4 at d = 500, 1000, 2000, 4000 and
8000 alike).  With K = 1000 the bias is <= 4e-6 (alpha = 6) at about twice the Lanczos passes.
File layout::

    {"times": [1, 5, 10, 30],
     "cases": {"amplitude/alpha=3,lam=0.1,eta=0.1":
                   {"problem": {...}, "dim": 4000, "seeds": 24, "first_seed": 100, "t_floor": 1000,
                    "seconds": ...,
                    "observables": {"m": {"mean": [...], "se": [...]}, ...}},
               ...}}

Regenerate everything with::

    python benchmarks/ibp_reference.py --dim 4000 --seeds 24

(22 minutes on 2 busy cores: 2-4 minutes a case, alpha = 6 the slowest), or only some cases
with ``--cases`` (shell patterns on the case names, ``--list`` prints them), e.g.
``--cases 'amplitude/alpha=6*'``; the other cases of the file are kept.  Memory: A is n x d
float64, 0.77 GB at alpha = 6, d = 4000 (the seeds run one after the other).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import pathlib
import time

import sidmft
from sidmft import OBSERVABLES, Problem
from sidmft.simulator import SpectralInitSettings

TIMES = (1, 5, 10, 30)
LOSSES = ("amplitude", "pseudo-huber-amplitude", "truncated-amplitude")
#: (alpha, lam, eta); the first is the original reference point
POINTS = ((3.0, 0.1, 0.1), (2.0, 0.05, 0.2), (4.0, 0.02, 0.4), (6.0, 0.2, 0.3))
STEPS = 30
#: K of the spectral start's floor T_K = max(T, -K) (see the module docstring)
T_FLOOR = 1000.0
OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "dmft_ibp_reference.json"


def case_name(loss: str, alpha: float, lam: float, eta: float) -> str:
    return f"{loss}/alpha={alpha:g},lam={lam:g},eta={eta:g}"


def cases() -> dict[str, dict]:
    """Case name -> the problem's keywords, every loss at every point."""
    return {
        case_name(loss, a, lam, eta): dict(loss=loss, alpha=a, lam=lam, eta=eta, steps=STEPS)
        for loss in LOSSES
        for a, lam, eta in POINTS
    }


def run_case(kw: dict, dim: int, seeds: int, seed: int) -> dict:
    t0 = time.perf_counter()
    spectral = SpectralInitSettings(t_floor=T_FLOOR)
    sim = sidmft.simulate(Problem(**kw), dim, seeds=seeds, seed=seed, spectral=spectral)
    if not sim.success:
        raise SystemExit(f"simulation failed for {kw}: {sim.message}")
    obs = {
        k: {"mean": [float(sim.mean(k)[t]) for t in TIMES], "se": [float(sim.se(k)[t]) for t in TIMES]}
        for k in OBSERVABLES
    }
    return dict(
        problem=kw,
        dim=dim,
        seeds=seeds,
        first_seed=seed,
        t_floor=T_FLOOR,
        seconds=round(time.perf_counter() - t0, 1),
        observables=obs,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dim", type=int, default=4000)
    ap.add_argument("--seeds", type=int, default=24)
    ap.add_argument("--seed", type=int, default=100, help="first seed (seeds seed, seed + 1, ...)")
    ap.add_argument("--cases", nargs="+", default=["*"], help="shell patterns on the case names (default: all)")
    ap.add_argument("--list", action="store_true", help="print the case names and stop")
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args()
    todo = {n: kw for n, kw in cases().items() if any(fnmatch.fnmatchcase(n, p) for p in a.cases)}
    if a.list:
        print("\n".join(cases()))
        return
    if not todo:
        raise SystemExit(f"no case matches {a.cases}; --list prints the names")
    out = pathlib.Path(a.out)
    data = json.loads(out.read_text()) if out.exists() else {}
    if data.get("times") != list(TIMES) or "cases" not in data:
        data = {"times": list(TIMES), "cases": {}}
    for name, kw in todo.items():
        entry = run_case(kw, a.dim, a.seeds, a.seed)
        data["cases"][name] = entry
        data["cases"] = {n: data["cases"][n] for n in cases() if n in data["cases"]}  # fixed order
        out.write_text(json.dumps(data, indent=1) + "\n")  # after each case: a long run keeps what it did
        m = entry["observables"]["m"]
        print(f"{name}: {entry['seconds']} s; m: {m['mean']} +- {m['se']}", flush=True)


if __name__ == "__main__":
    main()
