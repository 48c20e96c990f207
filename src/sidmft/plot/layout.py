"""What a sweep figure shows, decided before anything is drawn.

:func:`sweep_layout` turns a request (dataset, variable, axes, facets, selection) into a frozen
:class:`SweepLayout`: the kind of figure (heat map or lines), the axes (grid values, cell edges,
log scale, labels), one :class:`Panel` per facet with its numbers (heat-map values or
:class:`Line` objects, error bars, status codes, the stored threshold alpha_c) and the colour
limits.  It is pure (numpy and xarray only, no matplotlib), so every choice it makes is unit
tested without drawing; :mod:`sidmft.plot.sweep` then draws a layout into axes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..labels import param_label
from ..parameters import PARAMETERS
from ._data import (
    PlotError,
    apply_select,
    check_variable,
    fixed_title,
    fmt_value,
    last_valid,
    parse_select,
    se_of,
    squeeze_singletons,
    status_label,
    status_of,
    stored_threshold,
)

__all__ = ["Axis", "Line", "Panel", "SweepLayout", "sweep_layout", "is_geometric", "cell_edges"]

KINDS = ("auto", "heatmap", "line")


@dataclass(frozen=True, eq=False)
class Axis:
    """One axis of the figure: a grid parameter with its values, positions and scale."""

    name: str
    label: str
    values: np.ndarray  # the grid values as stored
    centres: np.ndarray  # float positions (indices for a categorical parameter)
    edges: Optional[np.ndarray]  # heat-map cell edges, len(values) + 1 (None for lines)
    log: bool
    numeric: bool
    integer: bool


@dataclass(frozen=True, eq=False)
class Line:
    """One curve of a line plot (one value of ``hue``)."""

    label: Optional[str]
    y: np.ndarray
    err: Optional[np.ndarray]  # 2 standard errors (same shape as y), None when not stored
    status: Optional[np.ndarray]  # status codes along x when one is not success, else None
    threshold: float = float("nan")  # this line's own alpha_c, when the lines' thresholds differ


@dataclass(frozen=True, eq=False)
class Panel:
    """One facet (one value of ``col``)."""

    title: Optional[str]
    z: Optional[np.ndarray] = None  # heat map values, shape (len(y), len(x))
    status: Optional[np.ndarray] = None  # heat map status codes, shape of z
    lines: tuple = ()  # line plot: the Line objects
    threshold: Optional[np.ndarray] = None  # heat map: alpha_c per cell of the other axis; lines: [alpha_c]
    threshold_per_line: bool = False  # lines: the thresholds differ (each Line carries its own)
    status_label: Optional[str] = None  # legend entry of the status crosses


@dataclass(frozen=True, eq=False)
class SweepLayout:
    """A sweep figure, fully decided: see :func:`sweep_layout`."""

    var: str
    kind: str  # "heatmap" or "line"
    x: Axis
    y: Optional[Axis]  # heat map only
    hue: Optional[str]
    col: Optional[str]
    panels: tuple
    ylabel: str  # label of the first panel's y axis
    clabel: Optional[str]  # colour bar label (heat map)
    legend_title: Optional[str]
    vmin: Optional[float]
    vmax: Optional[float]
    has_se: bool  # lines: standard errors are stored (error bars or bands)
    dense: bool  # lines: long series, drawn as lines with a band instead of markers
    title: str

    @property
    def ncols(self) -> int:
        """Number of panels."""
        return len(self.panels)


def is_geometric(vals) -> bool:
    """True for a geometric grid (constant ratio, not constant step) of at least three positive values."""
    v = np.asarray(vals, dtype=float)
    if v.size < 3 or np.any(v <= 0):
        return False
    r = v[1:] / v[:-1]
    d = np.diff(v)
    return bool(np.allclose(r, r[0], rtol=1e-6) and not np.allclose(d, d[0], rtol=1e-6))


def cell_edges(vals, log: bool, lo: Optional[float] = None, hi: Optional[float] = None) -> np.ndarray:
    """Edges of heat-map cells centred on ``vals`` (midpoints, in log space when ``log``), the outer edges kept
    inside the parameter's range [lo, hi] (e.g. no cell below lambda = 0)."""
    v = np.asarray(vals, dtype=float)
    if v.size == 1:
        e = np.array([v[0] * 0.9, v[0] * 1.1]) if log else np.array([v[0] - 0.5, v[0] + 0.5])
    else:
        w = np.log(v) if log else v
        mid = (w[1:] + w[:-1]) / 2
        e = np.concatenate([[w[0] - (mid[0] - w[0])], mid, [w[-1] + (w[-1] - mid[-1])]])
        e = np.exp(e) if log else e
    if lo is not None and e[0] < lo <= v[0]:
        e[0] = lo
    if hi is not None and e[-1] > hi >= v[-1]:
        e[-1] = hi
    return e


def _axis(name: str, values, log: Optional[bool], cells: bool) -> Axis:
    """The :class:`Axis` of a grid parameter; ``log=None`` picks log scale for a geometric grid."""
    values = np.asarray(values)
    numeric = values.dtype.kind in "fiu"
    log = is_geometric(values) if (log is None and numeric) else bool(log)
    centres = values.astype(float) if numeric else np.arange(len(values), dtype=float)
    edges = None
    if cells:
        par = PARAMETERS.get(name)
        bounds = (par.lo, par.hi) if par is not None else (None, None)
        edges = cell_edges(values, log, *bounds) if numeric else np.arange(len(values) + 1) - 0.5
    return Axis(name, param_label(name), values, centres, edges, log, numeric, values.dtype.kind in "iu")


def _assign(da, var: str, free: list, kind: str, x, y, hue, col):
    """Resolve ``kind`` and the unassigned roles (x, y, hue, col) from the free dimensions."""
    if kind not in KINDS:
        raise PlotError(f"kind must be auto, heatmap or line; got {kind!r}")
    if kind == "auto":
        kind = "heatmap" if (y is not None or (x is None and hue is None and len(free) >= 2)) else "line"
    rest = [d for d in free if d not in (x, y, hue, col)]
    if kind == "heatmap":
        if len(free) < 2:
            raise PlotError(
                f"a heat map needs two grid parameters with more than one value; {var!r} has "
                f"{free or 'none'} (use a line plot)"
            )
        x = x or rest.pop(0)
        y = y if y is not None else rest.pop(0)
        rest = [d for d in rest if d not in (x, y)]
    else:
        if not free:
            raise PlotError(f"{var!r} has no grid parameter with more than one value to plot against")
        x = x or rest.pop(0)
        rest = [d for d in rest if d != x]
        if hue is None and rest:
            hue = rest.pop(0)
    if col is None and rest:
        col = rest.pop(0)
    if rest:
        values = "; ".join(f"{d}: {list(np.asarray(da[d].values))}" for d in rest)
        raise PlotError(
            f"too many free parameters for one figure: fix {', '.join(rest)} with "
            f"--select NAME=VALUE (values: {values})"
        )
    return kind, x, y, hue, col


def _select_data(ds, var: str, select: dict, roles):
    """``var`` at the selection, trajectories reduced to their last value unless ``t`` has a role."""
    for dim in roles:
        if dim is not None and dim not in ds[var].dims:
            dims = ", ".join(map(str, ds[var].dims))
            raise PlotError(f"{dim!r} is not a dimension of {var!r} (dimensions: {dims})")
    da = apply_select(ds[var], select)
    if "t" in da.dims and "t" not in roles:
        da = last_valid(da, "t")
    free = [d for d in da.dims if da.sizes[d] > 1]
    return squeeze_singletons(da), free


def _pick(arr, dim, i):
    """``arr`` at index ``i`` of ``dim`` when it has that dimension (None passes through)."""
    if arr is None or dim is None or dim not in arr.dims:
        return arr
    return arr.isel({dim: i})


def _heat_panel(sub, st, thr, x: Axis, y: Axis, title) -> Panel:
    """A heat-map facet: values on the (y, x) grid, status crosses, the alpha_c step curve."""
    z = sub.transpose(y.name, x.name).values.astype(float)
    s = st.transpose(y.name, x.name).values if st is not None and set(st.dims) == {x.name, y.name} else None
    crosses = s is not None and bool(np.any(s > 0))
    curve = None
    if thr is not None:
        other = y if x.name == "alpha" else x
        if other.name in thr.dims:
            curve = thr.transpose(other.name).values.astype(float)
        else:
            curve = np.full(len(other.centres), float(np.nanmedian(thr.values)))
        curve = curve if np.isfinite(curve).any() else None
    return Panel(title, z=z, status=s, threshold=curve, status_label=status_label(s) if crosses else None)


def _line(sub, x: str, hue, i, se, st) -> Line:
    """One curve of a line plot: values, 2 s.e. and status codes along ``x``."""
    line = _pick(sub, hue, i)
    y = line.transpose(x).values.astype(float)
    err = None
    if se is not None:
        sl = _pick(se, hue, i)
        err = 2 * sl.transpose(*[d for d in sl.dims if d == x] or sl.dims).values.astype(float)
        err = err if err.shape == y.shape else None
    codes = None
    if st is not None and x in st.dims:
        sv = _pick(st, hue, i)
        codes = sv.values if sv.ndim == 1 and bool(np.any(sv.values > 0)) else None
    label = fmt_value(hue, line[hue].values) if hue else None
    return Line(label, y, err, codes)


def _line_panel(sub, st, se, thr, x: str, hue, title) -> Panel:
    """A line-plot facet: one :class:`Line` per value of ``hue``, and the alpha_c marker(s)."""
    n = sub.sizes[hue] if hue else 1
    lines = [_line(sub, x, hue, i, se, st) for i in range(n)]
    common, per_line = None, False
    if thr is not None and x == "alpha":
        tvals = np.asarray(thr.values, dtype=float).ravel()
        tvals = tvals[np.isfinite(tvals)]
        if hue and hue in thr.dims and n > 1:
            for i, ln in enumerate(lines):
                tv = float(thr.isel({hue: i}).values)
                if np.isfinite(tv) and not np.allclose(thr.values, tv):
                    lines[i] = Line(ln.label, ln.y, ln.err, ln.status, tv)
        if tvals.size and (not hue or hue not in thr.dims or np.allclose(tvals, tvals[0])):
            common = tvals[:1]
        else:
            per_line = bool(tvals.size)
    codes = [ln.status for ln in lines if ln.status is not None]
    label = status_label(np.concatenate(codes)) if codes else None
    return Panel(title, lines=tuple(lines), threshold=common, threshold_per_line=per_line, status_label=label)


def _colour_limits(da, vmin, vmax):
    """Colour limits of a heat map: the given ones, else the range of the finite values."""
    vals = np.asarray(da.values, dtype=float)
    finite = vals[np.isfinite(vals)]
    lo = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    hi = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    return lo, hi


def sweep_layout(
    ds,
    var: str,
    x: Optional[str] = None,
    y: Optional[str] = None,
    *,
    hue: Optional[str] = None,
    col: Optional[str] = None,
    select=None,
    kind: str = "auto",
    threshold: bool = True,
    vmin=None,
    vmax=None,
    logx: Optional[bool] = None,
    logy: Optional[bool] = None,
    title: Optional[str] = None,
    max_panels: int = 8,
) -> SweepLayout:
    """Decide the figure of ``var`` from a sweep dataset (the arguments of :func:`~sidmft.plot.plot_sweep`).

    Two grid parameters give a heat map, one a line plot whose next free parameter is ``hue``;
    a further one gives panels (``col``); the rest must be fixed by ``select``.  A trajectory
    (dimension ``t``) is reduced to its last finite value unless ``t`` is an axis.  The
    threshold is the sweep's stored alpha_c (:func:`~sidmft.plot._data.stored_threshold`), shown
    when ``threshold`` and alpha is the x axis (or either axis of a heat map).

    Raises
    ------
    PlotError
        Unknown variable or dimension, bad selection, too many free parameters or panels.
    """
    check_variable(ds, var)
    select = parse_select(select)
    da, free = _select_data(ds, var, select, (x, y, hue, col))
    kind, x, y, hue, col = _assign(da, var, free, kind, x, y, hue, col)
    ncol = da.sizes[col] if col else 1
    if ncol > max_panels:
        raise PlotError(f"{col!r} has {ncol} values (> {max_panels} panels); fix it with --select")
    heat = kind == "heatmap"
    xa = _axis(x, da[x].values, logx, heat)
    ya = _axis(y, da[y].values, logy, heat) if heat else None
    thr = None
    if threshold and "alpha" in (x, y) and (heat or x == "alpha"):
        thr = stored_threshold(ds, select, [d for d in (x, y, hue, col) if d is not None and d != "alpha"])
    status = status_of(ds, var, select, da)
    se = None if heat else se_of(ds, var, select, reduce_t="t" not in (x, hue, col))
    panels = []
    for i in range(ncol):
        sub = _pick(da, col, i)
        covers = status is not None and all(d in status.dims for d in sub.dims if d != "t")
        st = _pick(status, col, i) if covers else None
        head = fmt_value(col, sub[col].values) if col else None
        if ya is not None:
            panels.append(_heat_panel(sub, st, _pick(thr, col, i), xa, ya, head))
        else:
            panels.append(_line_panel(sub, st, _pick(se, col, i), _pick(thr, col, i), x, hue, head))
    long_name = ds[var].attrs.get("long_name", var)
    lo, hi = _colour_limits(da, vmin, vmax) if heat else (None, None)
    return SweepLayout(
        var=var,
        kind=kind,
        x=xa,
        y=ya,
        hue=hue,
        col=col,
        panels=tuple(panels),
        ylabel=ya.label if ya is not None else long_name + (r"  ($\pm 2$ s.e.)" if se is not None else ""),
        clabel=long_name if heat else None,
        legend_title=param_label(hue) if hue and not heat else None,
        vmin=lo,
        vmax=hi,
        has_se=se is not None,
        dense=x == "t" or len(xa.centres) > 12,
        title=title if title is not None else fixed_title(ds, da),
    )
