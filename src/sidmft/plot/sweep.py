"""Drawing a sweep figure: a :class:`~sidmft.plot.layout.SweepLayout` into matplotlib axes.

:func:`plot_sweep` reads a sweep (:func:`sidmft.sweep.open_sweep`), asks
:func:`~sidmft.plot.layout.sweep_layout` what to show and draws it with the small functions
below, each taking an axes: heat maps with the spectral weak-recovery threshold alpha_c (theory
notes §1.1: an outlier exists iff psi'(l*) > 0) as a dashed step curve, line plots with error
bars or bands and alpha_c as a dashed vertical line.  alpha_c is the value stored in the sweep;
plotting never runs the theory.  Points whose output returned a non-success status are marked
with a cross; points not computed (or NaN) are grey.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ._data import PlotError, wrap
from ._mpl import given_axes, log_axis, pyplot, save
from .layout import Axis, Panel, SweepLayout, sweep_layout

__all__ = ["plot_sweep", "draw_heatmap", "draw_lines"]

_THRESHOLD = r"spectral threshold $\alpha_c$"


def _scale(ax, axis: Axis, which: str, rotate: bool = False, integer: bool = False) -> None:
    """Scale and ticks of the x or y axis: log, category names, or integer ticks."""
    mpl_axis = ax.xaxis if which == "x" else ax.yaxis
    if axis.log:
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")
        log_axis(mpl_axis)
    if not axis.numeric:
        names = [str(v) for v in axis.values]
        if which == "x":
            ax.set_xticks(axis.centres, names, rotation=30 if rotate and len(names) > 3 else 0)
        else:
            ax.set_yticks(axis.centres, names)
    elif integer and axis.integer and not axis.log:
        from matplotlib.ticker import MaxNLocator

        mpl_axis.set_major_locator(MaxNLocator(integer=True))


def draw_heat_threshold(ax, x: Axis, y: Axis, curve) -> None:
    """alpha_c (``curve``, one value per cell of the other axis) as a dashed step curve on a heat map."""
    xe, ye = np.asarray(x.edges), np.asarray(y.edges)
    along_x = x.name == "alpha"
    ov = np.repeat(ye if along_x else xe, 2)[1:-1]
    tv = np.repeat(np.asarray(curve), 2)
    pts = (tv, ov) if along_x else (ov, tv)
    ax.plot(*pts, "--", color="white", lw=2.2)
    ax.plot(*pts, "--", color="crimson", lw=1.4, label=_THRESHOLD)
    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylim(ye[0], ye[-1])


def draw_heatmap(ax, lay: SweepLayout, panel: Panel, cmap: str = "viridis", first: bool = True):
    """One heat-map panel (cells, status crosses, alpha_c); returns the mesh for the colour bar."""
    import matplotlib

    x, y = lay.x, lay.y
    assert y is not None and panel.z is not None, "a heat-map layout has a y axis and cell values"
    mesh = ax.pcolormesh(
        x.edges,
        y.edges,
        np.ma.masked_invalid(panel.z),
        cmap=matplotlib.colormaps[cmap].with_extremes(bad="0.85"),
        vmin=lay.vmin,
        vmax=lay.vmax,
        shading="flat",
        rasterized=True,
    )
    _scale(ax, x, "x", rotate=True)
    _scale(ax, y, "y")
    if panel.status is not None and panel.status_label is not None:
        jj, ii = np.nonzero(np.asarray(panel.status) > 0)
        ax.plot(x.centres[ii], y.centres[jj], "x", color="k", ms=5, mew=1.0, alpha=0.8, label=panel.status_label)
    if panel.threshold is not None:
        draw_heat_threshold(ax, x, y, panel.threshold)
    ax.set_xlabel(x.label)
    if first:
        ax.set_ylabel(lay.ylabel)
    return mesh


def _line_colours(n: int) -> list:
    """The colour cycle, or a viridis ramp when there are more lines than colours."""
    import matplotlib
    import matplotlib.pyplot as plt

    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if n > len(colours):
        colours = [matplotlib.colormaps["viridis"](k / max(1, n - 1)) for k in range(n)]
    return colours


def draw_line(ax, lay: SweepLayout, line, colour) -> None:
    """One curve: markers with 2 s.e. error bars, or a line with a 2 s.e. band for long series."""
    xc, y = lay.x.centres, line.y
    if not lay.has_se:
        ax.plot(xc, y, "o-", ms=3.5, lw=1.4, color=colour, label=line.label)
    elif lay.dense:
        ax.plot(xc, y, "-", lw=1.5, color=colour, label=line.label)
        if line.err is not None:
            ax.fill_between(xc, y - line.err, y + line.err, color=colour, alpha=0.2, lw=0)
    else:
        ax.errorbar(xc, y, yerr=line.err, fmt="o-", ms=3.5, lw=1.4, capsize=2, color=colour, label=line.label)
    if np.isfinite(line.threshold):
        ax.axvline(line.threshold, ls="--", color=colour, lw=1.2)


def draw_lines(ax, lay: SweepLayout, panel: Panel, first: bool = True) -> None:
    """One line-plot panel: the curves, status crosses, alpha_c, scales and labels."""
    colours = _line_colours(len(panel.lines))
    for k, line in enumerate(panel.lines):
        draw_line(ax, lay, line, colours[k % len(colours)])
    crossed = [line for line in panel.lines if line.status is not None]
    for k, line in enumerate(crossed):
        bad = line.status > 0
        label = panel.status_label if k == 0 else None
        ax.plot(lay.x.centres[bad], line.y[bad], "x", color="k", ms=6, mew=1.2, label=label)
    if panel.threshold is not None:
        ax.axvline(panel.threshold[0], ls="--", color="crimson", lw=1.4, label=_THRESHOLD)
    elif panel.threshold_per_line:
        ax.plot([], [], "--", color="0.3", label=_THRESHOLD + " (per line)")
    _scale(ax, lay.x, "x", integer=True)
    ax.set_xlabel(lay.x.label)
    if first:
        ax.set_ylabel(lay.ylabel)
    ax.grid(alpha=0.3)


def _figure(lay: SweepLayout, ax, headless: bool):
    """(figure, axes): a new row of panels, or the caller's axes (one per panel)."""
    plt = pyplot(headless and ax is None)
    if ax is not None:
        error = "ax: got {got} axes for " + f"{lay.ncols} panel(s) (one per value of {lay.col!r})"
        return given_axes(ax, lay.ncols, error, PlotError)
    width = 4.6 * lay.ncols + (1.2 if lay.kind == "heatmap" else 0.8)
    fig, axes = plt.subplots(1, lay.ncols, figsize=(width, 3.9), squeeze=False, constrained_layout=True, sharey=True)
    return fig, axes[0]


def _decorate(fig, axes, lay: SweepLayout, mesh, composed: bool) -> None:
    """Legend (last panel), colour bar (heat map) and title: the figure's, or one panel's when composed."""
    handles, _ = axes[-1].get_legend_handles_labels()
    if handles:
        axes[-1].legend(fontsize=8, framealpha=0.85, loc="best", title=lay.legend_title, title_fontsize=8)
    if mesh is not None:
        fig.colorbar(mesh, ax=list(axes), shrink=0.95, pad=0.02).set_label(lay.clabel)
    if lay.title and not composed:
        fig.suptitle(wrap(lay.title, 60 + 45 * (lay.ncols - 1)), fontsize=10)
    elif lay.title and lay.ncols == 1:
        axes[0].set_title(wrap(lay.title, 60), fontsize=9)


def draw_sweep(lay: SweepLayout, axes, cmap: str = "viridis"):
    """Draw every panel of ``lay`` into ``axes`` (one each); returns the last heat-map mesh or None."""
    mesh = None
    for j, (ax, panel) in enumerate(zip(axes, lay.panels)):
        if panel.title is not None:
            ax.set_title(panel.title, fontsize=10)
        if lay.kind == "heatmap":
            mesh = draw_heatmap(ax, lay, panel, cmap, first=j == 0)
        else:
            draw_lines(ax, lay, panel, first=j == 0)
    return mesh


def _open(source):
    """The sweep dataset of a store path (or the dataset itself)."""
    import xarray as xr

    if isinstance(source, xr.Dataset):
        return source
    from ..sweep import open_sweep

    return open_sweep(source)


def plot_sweep(
    source,
    var: str,
    x: Optional[str] = None,
    y: Optional[str] = None,
    *,
    cmap: str = "viridis",
    output=None,
    dpi: int = 200,
    ax=None,
    **facets,
):
    """Draw ``var`` of a sweep as a heat map (two grid parameters) or line plot (one).

    The keyword arguments ``hue`` to ``max_panels`` below go to
    :func:`~sidmft.plot.layout.sweep_layout`, which decides the figure before it is drawn.

    Parameters
    ----------
    source : path or xarray.Dataset
        A sweep store (opened with :func:`sidmft.sweep.open_sweep`) or its dataset.
    var : str
        Stored variable, e.g. ``dmft_error`` (final DMFT estimation error), ``simulate_cosine``,
        ``spectral_rho``, ``dmft_error_t`` (a trajectory; use ``x="t"``).
    x, y : str, optional
        Grid parameters on the axes.  Both -> heat map; only ``x`` -> line plot with the next
        free parameter as ``hue``.  Default: the first two grid parameters.
    hue, col : str, optional
        Lines (line plot) and panels (both kinds) over further parameters.
    select : dict or list of "NAME=VALUE"
        Fix further parameters (nearest grid value for numbers).
    kind : {"auto", "heatmap", "line"}
        Figure kind (auto: a heat map when ``y`` is given or two parameters are free).
    threshold : bool
        Overlay the spectral threshold alpha_c stored in the sweep (``alpha_c``, else
        ``spectral_alpha_c``) when alpha is an axis; nothing is drawn when the sweep has none.
    cmap : str
        Colour map of heat maps (cells not computed or NaN are grey).
    vmin, vmax : float, optional
        Colour limits of heat maps (default: the range of the finite values).
    logx, logy : bool, optional
        Axis scales (default: log for a geometric grid).
    title : str, optional
        Figure title (default: the parameters held fixed).
    max_panels : int
        Most panels (values of ``col``) allowed, default 8.
    output : path, optional
        Save the figure (PNG, PDF, SVG by extension).
    dpi : int
        Resolution of the saved figure, default 200.
    ax : matplotlib.axes.Axes or array of Axes, optional
        Draw into these axes (one per panel, i.e. per value of ``col``) instead of a new figure,
        so that phase diagrams compose with other plots.  The automatic title then goes to the
        axes (one panel) instead of the figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into (``ax``'s figure when given).

    Examples
    --------
    >>> import matplotlib.pyplot as plt                     # doctest: +SKIP
    >>> fig, (a, b) = plt.subplots(1, 2)                    # doctest: +SKIP
    >>> plot_sweep("runs/al", "fixed_point_error", "alpha", "lam", ax=a)   # doctest: +SKIP
    >>> plot_sweep("runs/al", "spectral_rho_sq", "alpha", ax=b)            # doctest: +SKIP
    """
    lay = sweep_layout(_open(source), var, x, y, **facets)
    fig, axes = _figure(lay, ax, headless=output is not None)
    mesh = draw_sweep(lay, axes, cmap)
    _decorate(fig, axes, lay, mesh, composed=ax is not None)
    if output is not None:
        save(fig, output, dpi, mkdir=True)
    return fig
