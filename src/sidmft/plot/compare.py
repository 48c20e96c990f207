"""The comparison figure: DMFT (line, ±2σ band) against finite-size GD (points, ±2 s.e.)."""

from __future__ import annotations

import numpy as np

from ._mpl import given_axes, pyplot, save

__all__ = ["plot_comparison"]

_PANELS = (
    ("m", r"overlap $m_t=\langle x^t,x^\star\rangle/d$", False),
    ("q", r"squared norm $q_t=\|x^t\|^2/d$", False),
    ("error", r"error $e_t=1+q_t-2|m_t|$", True),
    ("train_loss", r"training loss $\mathcal{L}_t$", True),
)


def _panel(a, res, n: int, name: str, label: str, logy: bool) -> None:
    """One observable: DMFT mean and ±2σ band, GD means with ±2 s.e., the fixed point."""
    th, sim, fp = res.dmft, res.simulation, res.fixed_point
    if name == "m" and res.problem.field == "complex":
        label = r"overlap $m_t=|x^{\star H} x^t|/d$"
    t = np.arange(n)
    y = np.asarray(th.mean(name))[:n]
    se = np.asarray(th.se(name))[:n]
    a.fill_between(t, y - 2 * se, y + 2 * se, color="C0", alpha=0.25, lw=0)
    a.plot(t, y, color="C0", lw=1.6, label=r"DMFT ($d\to\infty$) $\pm2\sigma$")
    step = max(1, n // 25)
    ts = np.union1d(t[: min(n, 6)], t[::step])  # every early step (the t = 1 dip), then thinned
    a.errorbar(
        ts,
        np.asarray(sim.mean(name))[:n][ts],
        yerr=2 * np.asarray(sim.se(name))[:n][ts],
        fmt="o",
        ms=3.5,
        color="C3",
        mfc="white",
        capsize=2,
        lw=1,
        label=f"GD, $d={res.dim}$ ({len(sim.seeds)} seeds)",
    )
    if fp is not None and fp.success and hasattr(fp, name):
        v = float(getattr(fp, name))
        if np.isfinite(v):
            a.axhline(v, color="k", ls="--", lw=1, label="fixed point ($t\\to\\infty$)")
    if logy and np.all(y[np.isfinite(y)] > 0):
        a.set_yscale("log")
    a.set_xlabel("GD step $t$")
    a.set_ylabel(label)
    a.grid(alpha=0.3)


def _title(res) -> str:
    """The algorithm, the problem and (spectral start) the two spectral overlaps (theory, simulation)."""
    p = res.problem
    name = p.algorithm_obj.label(p.method_values)
    if p.field == "complex":
        name = "complex " + name
    eta = rf"$\eta={p.eta:g}$" if p.eta_schedule is None else f"eta schedule {p.eta_schedule}"
    head = f"{name}, {p.model}, {p.loss} loss, {p.init} start:  " + rf"$\alpha={p.alpha:g}$, $\lambda={p.lam:g}$, "
    if p.init != "spectral":
        return head + eta
    return (
        head
        + eta
        + (
            f"   (T = {p.preprocess}; spectral overlap: theory {res.spectral.rho:.4f}, "
            f"GD {np.mean(res.simulation.spectral_overlap):.4f})"
        )
    )


def plot_comparison(res, path=None, dpi: int = 160, ax=None):
    """Draw a comparison: DMFT (line, ±2σ band) against finite-size GD (points, ±2 s.e.).

    Four panels: overlap m_t, squared norm q_t, error e_t and training loss, with the fixed
    point (t -> inf) as a dashed line when it was computed.

    Parameters
    ----------
    res : sidmft.comparison.ComparisonResult
        The result of :func:`sidmft.compare`.
    path : path, optional
        Save the figure there (and close it, when the function created it).
    dpi : int
        Resolution of the saved figure.
    ax : array of 4 matplotlib.axes.Axes, optional
        Draw into these axes (any shape with four axes, in the order m, q, error, training loss)
        instead of a new 2 x 2 figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = pyplot(ax is None and path is not None)
    if ax is None:
        fig, axes = plt.subplots(2, 2, figsize=(9.0, 6.4), constrained_layout=True)
        axes = axes.ravel()
    else:
        error = f"ax: need {len(_PANELS)} axes (m, q, error, train_loss); got " + "{got}"
        fig, axes = given_axes(ax, len(_PANELS), error)
    n = min(len(res.dmft.t), len(res.simulation.t))
    for a, (name, label, logy) in zip(axes, _PANELS):
        _panel(a, res, n, name, label, logy)
    axes[0].legend(fontsize=8, loc="lower right")
    if ax is None:  # a composed figure keeps its own title
        fig.suptitle(_title(res), fontsize=10)
    if path is not None:
        save(fig, path, dpi)
        if ax is None:
            plt.close(fig)
    return fig
