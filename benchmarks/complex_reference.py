"""Finite-size reference for the complex DMFT (tests/test_dmft_complex_sim.py): complex Wirtinger flow simulated.

Simulates complex GD (``Problem(field="complex")``: rows a_i ~ CN(0, I/d), y = |a^H x*|^2, spectral start with
T = 1 - 1/y) for each case of ``CASES`` at each dimension of ``--dims`` over independent seeds, and stores per
(case, d) the problem, the simulator settings (dimension, seeds, first seed, the spectral floor), the package
version and the seed mean and standard error of every observable at t in ``TIMES`` in
tests/data/dmft_complex_reference.json.  Several dimensions show the finite-size trend of a deviation.

The spectral start floors T at -1000 (``SpectralInitSettings.t_floor``): the default floor -100 biases the
overlap by -2e-4 to -6e-4 at alpha = 3-6 whatever d (the bias is d-independent), well resolved by 24 seeds.

Regenerate everything with (about 40 minutes on 2 busy cores; ``--cases`` and ``--dims`` select)::

    python benchmarks/complex_reference.py --dims 2000 1000 --seeds 24
    python benchmarks/complex_reference.py --long 1000 --seeds 16      # 300 steps, against the fixed point
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

TIMES = (0, 1, 5, 10, 30)
STEPS = 30
T_FLOOR = 1000.0
#: name -> Problem keywords (complex field, phase retrieval, T = 1 - 1/y)
CASES = {
    "intensity/alpha=4,lam=0.2,eta=0.15": dict(loss="intensity", alpha=4.0, lam=0.2, eta=0.15),
    "amplitude/alpha=3,lam=0.1,eta=0.3": dict(loss="amplitude", alpha=3.0, lam=0.1, eta=0.3),
    "heavy-ball/alpha=4,lam=0.2,eta=0.1,beta=0.3": dict(
        loss="intensity", alpha=4.0, lam=0.2, eta=0.1, algorithm="heavy-ball", beta=0.3
    ),
}
OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "dmft_complex_reference.json"


def problem(name: str) -> Problem:
    return Problem(field="complex", model="phase-retrieval", preprocess="lal", steps=STEPS, **CASES[name])


def _simulate(p: Problem, dim: int, seeds: int, seed: int, what: str, at) -> dict:
    """One stored entry: the simulation of ``p`` with its provenance; ``at(array)`` picks the stored values."""
    t0 = time.perf_counter()
    sim = sidmft.simulate(p, dim, seeds=seeds, seed=seed, spectral=SpectralInitSettings(t_floor=T_FLOOR))
    if not sim.success:
        raise SystemExit(f"simulation failed for {what}: {sim.message}")
    return dict(
        problem=p.to_dict(),
        dim=dim,
        seeds=seeds,
        first_seed=seed,
        t_floor=T_FLOOR,
        sidmft_version=sidmft.__version__,
        seconds=round(time.perf_counter() - t0, 1),
        observables={k: {"mean": at(sim.mean(k)), "se": at(sim.se(k))} for k in OBSERVABLES},
    )


def run(name: str, dim: int, seeds: int, seed: int) -> dict:
    return _simulate(problem(name), dim, seeds, seed, f"{name} at d = {dim}", lambda v: [float(v[t]) for t in TIMES])


#: the long run against the fixed point: the intensity case, LONG_STEPS steps, the last step stored
LONG_CASE, LONG_STEPS = "intensity/alpha=4,lam=0.2,eta=0.15", 300


def run_long(dim: int, seeds: int, seed: int) -> dict:
    p = problem(LONG_CASE).replace(steps=LONG_STEPS)
    return _simulate(p, dim, seeds, seed, "the long run", lambda v: float(v[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dims", type=int, nargs="+", default=[1000, 2000])
    ap.add_argument("--seeds", type=int, default=24)
    ap.add_argument("--seed", type=int, default=500, help="first seed (seeds seed, seed + 1, ...)")
    ap.add_argument("--cases", nargs="+", default=["*"], help="shell patterns on the case names")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--long", type=int, default=0, metavar="D", help="only the long run, at dimension D")
    a = ap.parse_args()
    if a.long:
        out = pathlib.Path(a.out)
        data = json.loads(out.read_text())
        data["long"] = run_long(a.long, a.seeds, a.seed)
        out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"long: {data['long']['seconds']} s; m {data['long']['observables']['m']}")
        return
    todo = [n for n in CASES if any(fnmatch.fnmatchcase(n, p) for p in a.cases)]
    out = pathlib.Path(a.out)
    data = json.loads(out.read_text()) if out.exists() else {}
    if data.get("times") != list(TIMES):
        data = {"times": list(TIMES), "cases": {}}
    for name in todo:
        for dim in a.dims:
            entry = run(name, dim, a.seeds, a.seed)
            data["cases"][f"{name}/d={dim}"] = entry
            out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")  # keep what is done
            m = entry["observables"]["m"]
            print(f"{name} d={dim}: {entry['seconds']} s; m {[round(v, 4) for v in m['mean']]}", flush=True)


if __name__ == "__main__":
    main()
