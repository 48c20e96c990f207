"""The spectral phase transition
==============================

Three preprocessings of phase retrieval: squared overlap rho^2 of the top eigenvector of
D = (1/alpha) sum_i T(y_i) a_i a_i^T against alpha, theory (Lu-Li / Mondelli-Montanari,
docs/theory.md §1.1) with simulated points::

    python examples/spectral_transition.py [--quick] [--output FILE]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import sidmft
from sidmft.simulator import generate_data, spectral_init
from sidmft.theory.spectral import spectral


def main():
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--output", default="sidmft-out/spectral_transition.png")
    args = ap.parse_args()

    dim, seeds = (300, 2) if args.quick else (1500, 6)
    alphas = np.linspace(0.3, 6.0, 25 if args.quick else 120)
    sim_alphas = [1.0, 2.0, 4.0] if args.quick else [0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), constrained_layout=True)
    for i, T in enumerate(["lal", "clip:3", "trim:7"]):
        base = sidmft.Problem(preprocess=T)
        curve = [spectral(base.replace(alpha=a)) for a in alphas]
        ac = curve[0].alpha_c
        ax.plot(alphas, [c.rho_sq for c in curve], color=f"C{i}", label=rf"$T$ = {T}  ($\alpha_c$ = {ac:.3f})")
        ax.axvline(ac, color=f"C{i}", ls=":", lw=1)
        pts = []
        for a in sim_alphas:
            p = base.replace(alpha=a)
            r2 = [spectral_init(generate_data(p, dim, seed=s), p)[1].overlap ** 2 for s in range(seeds)]
            pts.append((a, np.mean(r2), np.std(r2, ddof=1) / np.sqrt(seeds)))
            print(
                f"T={T:7s} alpha={a:4.2f}  theory rho^2={spectral(p).rho_sq:.4f}  "
                f"simulation (d={dim}) {pts[-1][1]:.4f} ± {pts[-1][2]:.4f}"
            )
        a, m, s = np.array(pts).T
        ax.errorbar(a, m, yerr=2 * s, fmt="o", color=f"C{i}", mfc="white", ms=4, capsize=2)
    ax.set_xlabel(r"sample ratio $\alpha = n/d$")
    ax.set_ylabel(r"$\rho^2 = \langle v, x^\star\rangle^2 / (\|v\|^2\|x^\star\|^2)$")
    ax.set_title(f"Spectral initialisation, phase retrieval (points: d = {dim}, ±2 s.e.)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    import pathlib

    pathlib.Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output, dpi=160)
    print("figure:", args.output)


if __name__ == "__main__":  # needed: Dask worker processes re-import this file
    main()
