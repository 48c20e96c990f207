"""Momentum for phase retrieval: GD, heavy ball and Nesterov
==========================================================

Gradient descent against heavy-ball and Nesterov momentum from the spectral initialisation, DMFT
theory lines with simulated points (mean and standard error over seeds), and the number of
iterations each method needs to reach a given error::

    python examples/momentum_phase_retrieval.py [--quick] [--beta B] [--factor F] [--output FILE]

Problem (docs/theory.md §0): y = <a, x*>^2, T(y) = 1 - 1/y, intensity loss (r^2 - y)^2/4,
alpha = 3, lambda = 0.1, eta = 0.1; heavy ball x^{t+1} = x^t - eta grad L(x^t) + beta (x^t - x^{t-1}),
Nesterov the same with the gradient read at x^t + beta (x^t - x^{t-1}).  The three methods share
their fixed points, so they converge to the same error ``sidmft.fixed_point(problem).error``; the
table gives the first t at which the DMFT error (and the simulated mean error) falls below
``factor`` times that value.  The simulated crossing time is noisy: near the fixed point the
curves are flat and the finite-size error (O(1/sqrt(d)): about 10 per cent per seed at d = 400) moves
the crossing by many steps; the DMFT column is the d -> inf prediction, itself a Monte-Carlo
estimate (the GD crossing moved from t = 90 at 4000 samples to 75 at 20000 and 70 at 40000, with
100 steps and seed 0), so the quick mode's table is indicative only.
"""

import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import sidmft


def first_below(err, level):
    """First index t with err[t] <= level, or None when the run never gets there."""
    hit = np.flatnonzero(np.asarray(err) <= level)
    return int(hit[0]) if hit.size else None


def main():
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--beta", type=float, default=0.3, help="momentum of heavy ball and Nesterov, in [0, 1)")
    ap.add_argument("--factor", type=float, default=1.05, help="threshold = factor x fixed-point error (> 1)")
    ap.add_argument("--output", default="sidmft-out/momentum_phase_retrieval.png")
    args = ap.parse_args()
    if not args.factor > 1:
        raise ValueError(f"--factor must be > 1; got {args.factor}")

    steps, dim, seeds, samples = (100, 400, 3, 20000) if args.quick else (150, 2000, 8, 40000)
    base = sidmft.Problem(
        model="phase-retrieval",
        loss="intensity",
        preprocess="lal",
        alpha=3.0,
        lam=0.1,
        eta=0.1,
        steps=steps,
    )
    fp = sidmft.fixed_point(base)
    level = args.factor * fp.error
    methods = [
        ("GD", base),
        (f"heavy ball (beta = {args.beta:g})", base.replace(algorithm="heavy-ball", beta=args.beta)),
        (f"Nesterov (beta = {args.beta:g})", base.replace(algorithm="nesterov", beta=args.beta)),
    ]

    fig, ax = plt.subplots(figsize=(6.4, 4.2), constrained_layout=True)
    rows = []
    for i, (label, problem) in enumerate(methods):
        th = sidmft.dmft(problem, samples=samples, batches=4)
        # one numba thread at the quick sizes: at d = 400 a second thread costs more than it saves
        sim = sidmft.simulate(problem, dim=dim, seeds=seeds, threads=1 if args.quick else None)
        ax.plot(th.t, th.mean("error"), color=f"C{i}", label=f"{label}: DMFT")
        every = max(1, steps // 20)
        ts = sim.t[::every] + 0.6 * (i - 1)  # small offsets so that the error bars do not hide each other
        ax.errorbar(
            ts,
            sim.mean("error")[::every],
            yerr=sim.se("error")[::every],
            fmt="o",
            ms=3,
            color=f"C{i}",
            label=f"{label}: d = {dim}, {seeds} seeds",
        )
        rows.append((label, first_below(th.mean("error"), level), first_below(sim.mean("error"), level), th, sim))
    ax.axhline(fp.error, color="k", ls=":", lw=1, label=f"fixed point ({fp.error:.4f})")
    ax.axhline(level, color="0.5", ls="--", lw=1, label=f"threshold {args.factor:g} x fixed point")
    ax.set_yscale("log")
    ax.set_xlabel("iteration t")
    ax.set_ylabel(r"estimation error $1 + q - 2|m|$")
    ax.set_title(r"phase retrieval, lal, $\alpha$ = 3, $\lambda$ = 0.1, $\eta$ = 0.1")
    ax.legend(fontsize=7)

    def fmt(t):
        return f"> {steps}" if t is None else str(t)

    print(f"fixed-point error {fp.error:.5f} ({fp.status.label}); threshold {level:.5f} = {args.factor:g} x")
    print(f"{'method':<28} {'t (DMFT)':>9} {'t (sim)':>8} {'DMFT error at T':>16} {'sim error at T':>18}")
    for label, t_th, t_sim, th, sim in rows:
        print(
            f"{label:<28} {fmt(t_th):>9} {fmt(t_sim):>8} {th.mean('error')[-1]:16.5f} "
            f"{sim.mean('error')[-1]:10.5f} ± {sim.se('error')[-1]:.5f}"
        )
    if args.output:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        fig.savefig(args.output, dpi=160)
        print("figure:", args.output)


if __name__ == "__main__":
    main()
