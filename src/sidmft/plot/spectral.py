"""The spectral figure: squared overlap rho^2 of the spectral estimator against alpha.

The d -> inf curve of :func:`sidmft.theory.spectral.spectral` (docs/theory.md §1), zero below the
weak-recovery threshold alpha_c and with its kink at alpha_c, optionally next to finite-size
simulated points (mean ± standard error over seeds), as drawn by ``sidmft spectral --plot``.
"""

from __future__ import annotations

import numpy as np

from ._mpl import given_axes, pyplot, save

__all__ = ["plot_overlap"]


def _theory_curve(results):
    """(alpha, rho^2) of the theory, with the point (alpha_c, 0) inserted when inside the range."""
    al = np.array([r.alpha for r in results])
    r2 = np.array([r.rho_sq for r in results])
    ac = results[0].alpha_c
    if np.isfinite(ac) and al.min() < ac < al.max():  # put the kink at alpha_c on the curve
        ca, cr = np.append(al, ac), np.append(r2, 0.0)
        o = np.argsort(ca)
        return ca[o], cr[o]
    return al, r2


def plot_overlap(path, problem, results, sim=None, dim=None, seeds=None, ax=None, dpi: int = 130):
    """Draw rho^2 against alpha: the theory curve, the threshold, and optional simulated points.

    Parameters
    ----------
    path : path or None
        Save the figure there (and close it, when the function created it).
    problem : sidmft.Problem
        The problem (model, noise and preprocessing name the figure).
    results : sequence of SpectralTheoryResult
        :func:`sidmft.theory.spectral.spectral` at each alpha, in increasing alpha.
    sim : (mean, se) arrays, optional
        Simulated rho^2 at the same alphas (mean and standard error over ``seeds`` seeds at
        dimension ``dim``), drawn as points with error bars.
    ax : matplotlib.axes.Axes, optional
        Draw into this axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    created = ax is None
    plt = pyplot(created and path is not None)
    if created:
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
    else:
        fig, (ax,) = given_axes(ax, 1, "ax: need one axes; got {got}")
    ac = results[0].alpha_c
    ax.plot(*_theory_curve(results), "-", color="C0", lw=1.8, label=r"theory ($d\to\infty$)")
    if np.isfinite(ac):
        ax.axvline(ac, color="0.4", ls="--", lw=1, label=rf"$\alpha_c = {ac:.4g}$")
    if sim is not None:
        al = np.array([r.alpha for r in results])
        ax.errorbar(
            al,
            sim[0],
            yerr=sim[1],
            fmt="o",
            color="C1",
            ms=4,
            capsize=2,
            label=f"simulation (d = {dim}, {seeds} seeds)",
        )
    ax.set_xlabel(r"$\alpha = n/d$")
    ax.set_ylabel(r"$\rho^2 = \langle v, x^*\rangle^2 / (\|v\|^2 \|x^*\|^2)$")
    noise = f", noise {problem.noise:g}" if problem.noise else ""
    T = results[0].T.name if results[0].T else problem.preprocess
    field = ", complex signal" if problem.field == "complex" else ""
    ax.set_title(f"{problem.model}{noise}{field}, T = {T}", fontsize=10)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8, loc="lower right")
    if created:
        fig.tight_layout()
    if path is not None:
        save(fig, path, dpi)
        if created:
            plt.close(fig)
    return fig
