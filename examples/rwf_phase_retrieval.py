"""Regularised Wirtinger flow for phase retrieval
==============================================

Regularised Wirtinger flow from the spectral initialisation (the demonstration of Chen & Shen,
arXiv:2509.23527): DMFT theory next to finite-size GD::

    python examples/rwf_phase_retrieval.py [--quick] [--output-dir DIR]

Problem (docs/theory.md §0): y = <a, x*>^2, T(y) = 1 - 1/y, intensity loss (r^2 - y)^2/4,
alpha = 3, lambda = 0.1, eta = 0.1.  Writes compare.png / compare.nc / table.txt and prints
the deviation table (z = deviation in units of the combined standard error).
"""

import argparse

import sidmft
import sidmft.plot


def main():
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--output-dir", default="sidmft-out/rwf")
    args = ap.parse_args()

    problem = sidmft.Problem(
        model="phase-retrieval",
        loss="intensity",
        preprocess="lal",
        alpha=3.0,
        lam=0.1,
        eta=0.1,
        steps=20 if args.quick else 60,
    )
    res = sidmft.compare(
        problem,
        dim=400 if args.quick else 2000,
        seeds=3 if args.quick else 8,
        samples=8000 if args.quick else 40000,
        batches=4 if args.quick else 8,
        output_dir=args.output_dir,
    )
    print(res.format_table())
    fp = res.fixed_point
    print(
        f"fixed point (t -> inf): m = {fp.m:.5f}, q = {fp.q:.5f}, error = {fp.error:.5f}, "
        f"per-step contraction 1 - eta h_min = {fp.rate:.4f}"
    )
    print("files:", res.files)
    sidmft.plot.plot_comparison(res)  # the same figure, left open for notebooks and the docs gallery


if __name__ == "__main__":  # needed: Dask worker processes re-import this file
    main()
