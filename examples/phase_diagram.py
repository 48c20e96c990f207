"""A phase diagram from a Dask sweep
==================================

Final estimation error of GD over (alpha, lambda) from the long-time fixed point, with the
spectral threshold alpha_c overlaid (a small grid run with ``sidmft.sweep``)::

    python examples/phase_diagram.py [--quick] [--store DIR] [--workers N]

Re-running resumes (finished points are skipped).
"""

import argparse

import sidmft  # noqa: F401
from sidmft.plot import plot_sweep
from sidmft.sweep import SweepSpec, run_sweep


def main():
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small grid (smoke test)")
    ap.add_argument("--store", default="sidmft-out/phase_diagram")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    n = 4 if args.quick else 12
    spec = SweepSpec(
        grid={"alpha": f"1.5:6:{n}", "lam": "0,0.05,0.1,0.2" if args.quick else "0:0.3:7"},
        fixed={"model": "phase-retrieval", "loss": "intensity", "preprocess": "lal"},
        outputs=["spectral", "fixed-point"],
        seed=0,
    )
    summary = run_sweep(spec, args.store, workers=args.workers, progress=not args.quick)
    print(f"{summary['n_finished']}/{summary['n_points']} points finished ({summary['computed']} computed now)")
    plot_sweep(args.store, "fixed_point_error", x="alpha", y="lam", output=f"{args.store}/error.png")
    print("figure:", f"{args.store}/error.png")


if __name__ == "__main__":  # needed: Dask worker processes re-import this file
    main()
