"""Finite-size reference for the DMFT of losses whose l' jumps at r = 0 (tests/test_dmft_ibp.py).

Simulates GD from the spectral start (PR, T = lal, alpha = 3, lam = eta = 0.1, 30 steps) for the
amplitude loss and the pseudo-Huber amplitude loss at dimension d over independent seeds, and stores
the seed mean and standard error of every observable at t in {1, 5, 10, 30} in
tests/data/dmft_ibp_reference.json.  Regenerate with::

    python benchmarks/ibp_reference.py --dim 4000 --seeds 12

(about 15 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import sidmft
from sidmft import OBSERVABLES, Problem

TIMES = (1, 5, 10, 30)
LOSSES = ("amplitude", "pseudo-huber-amplitude")
OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "dmft_ibp_reference.json"


def problem(loss: str) -> Problem:
    return Problem(loss=loss, alpha=3.0, lam=0.1, eta=0.1, steps=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dim", type=int, default=4000)
    ap.add_argument("--seeds", type=int, default=12)
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args()
    data: dict = {"dim": a.dim, "seeds": a.seeds, "first_seed": a.seed, "times": list(TIMES), "losses": {}}
    for loss in LOSSES:
        t0 = time.perf_counter()
        sim = sidmft.simulate(problem(loss), a.dim, seeds=a.seeds, seed=a.seed)
        if not sim.success:
            raise SystemExit(f"simulation failed for {loss}: {sim.message}")
        entry = {
            k: {"mean": [float(sim.mean(k)[t]) for t in TIMES], "se": [float(sim.se(k)[t]) for t in TIMES]}
            for k in OBSERVABLES
        }
        entry["problem"] = dict(loss=loss, alpha=3.0, lam=0.1, eta=0.1, steps=30)
        entry["seconds"] = round(time.perf_counter() - t0, 1)
        data["losses"][loss] = entry
        print(loss, entry["seconds"], "s; m:", entry["m"]["mean"], "+-", entry["m"]["se"], flush=True)
    pathlib.Path(a.out).write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
