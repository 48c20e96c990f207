"""The comparison figure: DMFT (line, ±2σ band) against finite-size GD (points, ±2 s.e.)."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_comparison"]

_PANELS = (
    ("m", r"overlap $m_t=\langle x^t,x^\star\rangle/d$", False),
    ("q", r"squared norm $q_t=\|x^t\|^2/d$", False),
    ("error", r"error $e_t=1+q_t-2|m_t|$", True),
    ("train_loss", r"training loss $\mathcal{L}_t$", True),
)


def plot_comparison(res, path=None, dpi: int = 160):
    """Draw a :class:`~sidmft.comparison.ComparisonResult`; save to ``path`` if given. Returns the figure."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    th, sim, fp, p = res.dmft, res.simulation, res.fixed_point, res.problem
    n = min(len(th.t), len(sim.t))
    t = np.arange(n)
    fig, axes = plt.subplots(2, 2, figsize=(9.0, 6.4), constrained_layout=True)
    for ax, (name, label, logy) in zip(axes.ravel(), _PANELS):
        y = np.asarray(getattr(th, name))[:n]
        se = np.asarray(getattr(th, f"{name}_se"))[:n]
        ax.fill_between(t, y - 2 * se, y + 2 * se, color="C0", alpha=0.25, lw=0)
        ax.plot(t, y, color="C0", lw=1.6, label=r"DMFT ($d\to\infty$) $\pm2\sigma$")
        step = max(1, n // 25)
        ts = np.union1d(t[: min(n, 6)], t[::step])  # every early step (the t = 1 dip), then thinned
        ax.errorbar(ts, np.asarray(sim.mean(name))[:n][ts], yerr=2 * np.asarray(sim.se(name))[:n][ts],
                    fmt="o", ms=3.5, color="C3", mfc="white", capsize=2, lw=1,
                    label=f"GD, $d={res.dim}$ ({len(sim.seeds)} seeds)")
        if fp is not None and fp.success and hasattr(fp, name):
            v = float(getattr(fp, name))
            if np.isfinite(v):
                ax.axhline(v, color="k", ls="--", lw=1, label="fixed point ($t\\to\\infty$)")
        if logy and np.all(y[np.isfinite(y)] > 0):
            ax.set_yscale("log")
        ax.set_xlabel("GD step $t$")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"{p.model}, {p.loss} loss, T = {p.preprocess}:  "
                 rf"$\alpha={p.alpha:g}$, $\lambda={p.lam:g}$, $\eta={p.eta:g}$"
                 f"   (spectral overlap: theory {res.spectral.rho:.4f}, "
                 f"GD {np.mean(sim.spectral_overlap):.4f})", fontsize=10)
    if path is not None:
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
    return fig
