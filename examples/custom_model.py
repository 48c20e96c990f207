"""Your own model, loss and preprocessing: registered once, every solver takes them
================================================================================

A cubic link y = z^3 + 0.1 eps, a robust (pseudo-Huber) regression loss and a spectral preprocessing
``T(y) = min(|y|^(2/3), 3)`` that recovers z^2 from y, none of which sidmft ships, are registered in a few
lines; the spectral theory, the DMFT and the fixed point then run on them, and the simulation checks
the DMFT::

    python examples/custom_model.py [--quick] [--output FILE]

At alpha = 3 the problem is above its spectral threshold (alpha_c = 0.816 for this model and
preprocessing), so the spectral start is informative.  The regression fits y on the linear predictor
<a, x>, so x grows along x* (m -> 2, the best robust linear fit of z^3) while its direction converges
(the cosine).  The figure shows m and the cosine of the DMFT (line, +-2 standard errors) and of the
simulation (points), and the script prints the largest ``|z|`` between the two.

The registrations run at import time of this script, so the worker processes of a local Dask cluster
(which import it) know them too; on a cluster, put them in a module that every worker imports
(docs/guide/extending.md).
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import sidmft

# ----------------------------------------------------------------------------- the declarations
sidmft.register_model("cubic", lambda z: z**3, description="y = z^3 + noise", overwrite=True)
sidmft.register_loss(
    "pseudo-huber",
    value=lambda y, r: np.sqrt(1 + (r - y) ** 2) - 1,
    grad=lambda y, r: (r - y) / np.sqrt(1 + (r - y) ** 2),
    hess=lambda y, r: (1 + (r - y) ** 2) ** -1.5,
    jumps=(),
    convex=True,
    description="sqrt(1 + (r - y)^2) - 1, robust regression",
    overwrite=True,
)
sidmft.register_preprocessing(
    sidmft.Preprocessing(
        "cube-root", lambda y: np.minimum(np.abs(y) ** (2 / 3), 3.0), sup=3.0, breakpoints=(-(27**0.5), 0.0, 27**0.5)
    ),
    overwrite=True,
)


def main():
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--output", default="sidmft-out/custom_model.png")
    args = ap.parse_args()
    dim, seeds, samples = (1000, 8, 16000) if args.quick else (4000, 16, 80000)

    p = sidmft.Problem(
        model="cubic", noise=0.1, loss="pseudo-huber", preprocess="cube-root", alpha=3.0, eta=0.5, lam=0.01, steps=30
    )
    sp = sidmft.spectral(p)
    fp = sidmft.fixed_point(p)
    th = sidmft.dmft(p, samples=samples, batches=8)
    sim = sidmft.simulate(p, dim=dim, seeds=seeds)
    print(f"spectral: alpha_c = {sp.alpha_c:.3f}, rho^2 = {sp.rho_sq:.3f} ({sp.status.label})")
    print(f"fixed point: m = {fp.m:.4f}, q = {fp.q:.4f}, cosine = {fp.cosine:.4f} ({fp.status.label})")

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    worst = 0.0
    for ax, name in zip(axes, ("m", "cosine")):
        mean, se = th.mean(name), th.se(name)
        ax.plot(th.t, mean, color="C0", label="DMFT ($d\\to\\infty$)")
        ax.fill_between(th.t, mean - 2 * se, mean + 2 * se, color="C0", alpha=0.25)
        ax.errorbar(
            sim.t, sim.mean(name), 2 * sim.se(name), fmt="o", ms=3, color="C1", label=f"simulation, $d$ = {dim}"
        )
        ax.axhline(getattr(fp, name), color="k", ls="--", lw=1, label="fixed point")
        ax.set_xlabel("step $t$")
        ax.set_title(name)
        comb = np.sqrt(se**2 + sim.se(name) ** 2)
        ok = comb > 0
        worst = max(worst, float(np.max(np.abs(mean - sim.mean(name))[ok] / comb[ok])))
    axes[0].legend()
    print(f"DMFT against simulation ({seeds} seeds): largest |z| over m and cosine = {worst:.2f}")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output, dpi=120)
    print(f"figure: {args.output}")


if __name__ == "__main__":
    main()
