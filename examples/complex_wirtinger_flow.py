"""Complex Wirtinger flow: what the complex design changes
=======================================================

Phase retrieval in optics measures ``|<a, x>|^2`` of a complex field, and Wirtinger flow was introduced for
complex signals.  sidmft runs the same two-stage algorithm for complex signals (``Problem(field="complex")``: rows
``a_i ~ CN(0, I/d)``, ``y = |a_i^H x*|^2``, the loss a function of ``|r|``, docs/theory.md §7) -- spectral start,
DMFT, fixed point -- next to the real problem at the same sample ratio::

    python examples/complex_wirtinger_flow.py [--quick] [--output FILE]

Same alpha = 4, lambda = 0.2, eta = 0.15, intensity loss, T(y) = 1 - 1/y.  The complex problem is harder at equal
alpha: a complex signal has twice as many real unknowns, so the spectral threshold moves from alpha_c = 1/2 to 1
and the spectral overlap, the trajectory and the limit are all lower.  Lines: DMFT (d -> infinity) with a
+-2 sigma band; points: simulated GD with +-2 standard errors; dashed: the fixed point.  The script prints both
deviation tables (``largest |z| = ...``).
"""

import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import sidmft


def draw(ax, res, name, colour, label):
    th, sim = res.dmft, res.simulation
    t = np.arange(len(th.t))
    y, se = th.mean(name), th.se(name)
    ax.fill_between(t, y - 2 * se, y + 2 * se, color=colour, alpha=0.25, lw=0)
    ax.plot(t, y, color=colour, lw=1.6, label=f"{label}: DMFT")
    ax.errorbar(
        t,
        sim.mean(name),
        yerr=2 * sim.se(name),
        fmt="o",
        ms=3,
        mfc="white",
        color=colour,
        capsize=2,
        lw=1,
        label=f"{label}: GD, d = {res.dim}",
    )
    fp = res.fixed_point
    if fp is not None and fp.success:
        ax.axhline(float(getattr(fp, name)), color=colour, ls="--", lw=1)


def main():
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--output", default="sidmft-out/complex_wirtinger_flow.png")
    args = ap.parse_args()
    dim, seeds, samples, batches = (600, 4, 8000, 4) if args.quick else (2000, 16, 80000, 16)
    base = dict(model="phase-retrieval", loss="intensity", preprocess="lal", alpha=4.0, lam=0.2, eta=0.15, steps=30)
    runs = {}
    for field in ("real", "complex"):
        p = sidmft.Problem(field=field, **base)
        sp = sidmft.spectral(p)
        print(f"{field}: alpha_c = {sp.alpha_c:.4g}, rho^2 = {sp.rho_sq:.4f}, top eigenvalue = {sp.top_eigenvalue:.4f}")
        runs[field] = res = sidmft.compare(p, dim=dim, seeds=seeds, samples=samples, batches=batches)
        print(res.format_table())
        print(f"{field}: largest |z| = {res.max_abs_z:.2f}; fixed point m = {res.fixed_point.m:.4f}")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    for ax, (name, lab) in zip(axes, (("m", "overlap $m_t$"), ("error", "error $e_t = 1 + q_t - 2 m_t$"))):
        draw(ax, runs["real"], name, "C0", "real")
        draw(ax, runs["complex"], name, "C3", "complex")
        ax.set_xlabel("GD step $t$")
        ax.set_ylabel(lab)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(
        r"Wirtinger flow, real and complex: $\alpha = 4$, $\lambda = 0.2$, $\eta = 0.15$, $T = 1 - 1/y$", fontsize=10
    )
    os.makedirs(os.path.dirname(args.output) or ".", exist_ok=True)
    fig.savefig(args.output, dpi=150)
    print(f"figure: {args.output}")


if __name__ == "__main__":
    main()
