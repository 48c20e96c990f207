"""Phase diagrams from a sweep store: heat maps over two grid parameters, line plots over one.

:func:`plot_sweep` reads a sweep (:func:`sidmft.sweep.open_sweep`) and draws a chosen stored
variable, e.g. the final DMFT estimation error over (alpha, lambda), with the spectral
weak-recovery threshold alpha_c (THEORY.md §1.1: an outlier exists iff psi'(l*) > 0) overlaid
as a dashed curve whenever alpha is an axis.  Points whose output returned a non-success
status are marked with a cross; points not computed (or NaN) are grey.
"""

from __future__ import annotations

import json
import math
from typing import Optional, Sequence

import numpy as np

__all__ = ["plot_sweep", "plot_variables", "PlotError"]

_NOT_PLOTTABLE = ("finished",)


class PlotError(ValueError):
    """A plot request that does not fit the store (unknown variable, too many free dimensions...)."""


def _labels():
    from .sweep import PARAM_LABELS

    return PARAM_LABELS


def plot_variables(ds) -> list[str]:
    """Names of plottable variables of a sweep dataset."""
    return [k for k in ds.data_vars if k not in _NOT_PLOTTABLE and not k.endswith("_seed")]


def _parse_select(select) -> dict:
    if select is None:
        return {}
    if isinstance(select, dict):
        return dict(select)
    out = {}
    for item in select:
        if "=" not in item:
            raise PlotError(f"malformed --select {item!r}; expected NAME=VALUE")
        k, _, v = item.partition("=")
        out[k.strip()] = v.strip()
    return out


def _apply_select(da, select: dict):
    for k, v in select.items():
        if k not in da.dims:
            if k in da.coords:
                continue
            raise PlotError(f"--select {k}: not a dimension of {da.name!r} (dimensions: {', '.join(da.dims)})")
        coord = da[k].values
        if coord.dtype.kind in "fiu":
            try:
                fv = float(v)
            except (TypeError, ValueError):
                raise PlotError(f"--select {k}={v}: {k} is numeric") from None
            i = int(np.argmin(np.abs(coord.astype(float) - fv)))
            if not math.isclose(float(coord[i]), fv, rel_tol=1e-6, abs_tol=1e-12):
                raise PlotError(f"--select {k}={v}: no such grid value; available {list(coord)}")
        else:
            vals = [str(c) for c in coord]
            if str(v) not in vals:
                raise PlotError(f"--select {k}={v}: no such grid value; available {vals}")
            i = vals.index(str(v))
        da = da.isel({k: i})
    return da


def _last_valid(da, dim="t"):
    """Value at the last finite entry along ``dim`` (trajectories of different lengths)."""
    a = np.asarray(da.values, dtype=float)
    ax = da.dims.index(dim)
    finite = np.isfinite(a)
    n = a.shape[ax]
    idx = n - 1 - np.argmax(np.flip(finite, axis=ax), axis=ax)
    out = np.take_along_axis(a, np.expand_dims(idx, ax), axis=ax).squeeze(ax)
    out = np.where(finite.any(axis=ax), out, np.nan)
    return da.isel({dim: 0}, drop=True).copy(data=out)


def _is_numeric(coord) -> bool:
    return np.asarray(coord).dtype.kind in "fiu"


def _is_geometric(vals) -> bool:
    v = np.asarray(vals, dtype=float)
    if v.size < 3 or np.any(v <= 0):
        return False
    r = v[1:] / v[:-1]
    d = np.diff(v)
    return bool(np.allclose(r, r[0], rtol=1e-6) and not np.allclose(d, d[0], rtol=1e-6))


def _edges(vals, log: bool):
    v = np.asarray(vals, dtype=float)
    if v.size == 1:
        return np.array([v[0] * 0.9, v[0] * 1.1]) if log else np.array([v[0] - 0.5, v[0] + 0.5])
    w = np.log(v) if log else v
    mid = (w[1:] + w[:-1]) / 2
    e = np.concatenate([[w[0] - (mid[0] - w[0])], mid, [w[-1] + (w[-1] - mid[-1])]])
    return np.exp(e) if log else e


def _log_axis(axis) -> None:
    """Log scale with plain-number tick labels (1, 2, 5 per decade; no minor labels)."""
    from matplotlib import ticker

    axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def _wrap(text: str, width: int = 90) -> str:
    lines, cur = [], ""
    for part in text.split(", "):
        if cur and len(cur) + len(part) + 2 > width:
            lines.append(cur + ",")
            cur = part
        else:
            cur = f"{cur}, {part}" if cur else part
    lines.append(cur)
    return "\n".join(lines)


def _status_label(codes) -> str:
    from .results import Status

    names = []
    for c in sorted({int(c) for c in np.ravel(codes) if c > 0}):
        try:
            names.append(Status(c).label)
        except ValueError:
            names.append(str(c))
    return "status: " + ", ".join(names)


def _fmt_value(k, v) -> str:
    lab = {"alpha": r"\alpha", "lam": r"\lambda", "eta": r"\eta", "noise": r"\sigma", "kappa": r"\kappa",
           "m0": "m_0", "q0": "q_0", "dim": "d", "t": "t"}
    if isinstance(v, (float, np.floating)):
        v = f"{float(v):.4g}"
    elif isinstance(v, np.generic):
        v = v.item()
    if k in lab:
        return f"${lab[k]} = {v}$"
    return f"{k} = {v}"


def _fixed_title(ds, da) -> str:
    parts = []
    try:
        fixed = json.loads(ds.attrs.get("fixed", "{}"))
    except (TypeError, ValueError):
        fixed = {}
    from .problem import Problem

    defaults = {k: Problem.__dataclass_fields__[k].default for k in ("model", "loss", "preprocess")}
    fixed = {**defaults, **fixed}
    for k in ("model", "loss", "preprocess", "noise", "alpha", "lam", "eta", "steps", "kappa"):
        if k in fixed and k not in ds.dims:
            parts.append(_fmt_value(k, fixed[k]))
    for k, c in da.coords.items():
        if c.ndim == 0 and k in ds.dims:
            parts.append(_fmt_value(k, c.values.item() if hasattr(c.values, "item") else c.values))
    return ", ".join(parts)


def _threshold(ds, select: dict, keep: Sequence[str]):
    """alpha_c as a DataArray over the ``keep`` dims (other than alpha), or None."""
    if "spectral_alpha_c" in ds:
        ac = _apply_select(ds["spectral_alpha_c"], {k: v for k, v in select.items() if k in ds.dims})
        red = [d for d in ac.dims if d not in keep]
        if red:
            ac = ac.median(dim=red, skipna=True)
        return ac if np.isfinite(ac.values).any() else None
    return _threshold_from_theory(ds, select, keep)


def _threshold_from_theory(ds, select: dict, keep: Sequence[str]):
    """alpha_c computed from the spectral theory when the sweep did not store it."""
    try:
        from .problem import Problem
        from .theory.spectral import spectral_threshold
    except ImportError:
        return None
    import xarray as xr

    try:
        fixed = json.loads(ds.attrs.get("fixed", "{}"))
        dims = [d for d in keep if d != "alpha" and d in ds.dims]
        shape = [ds.sizes[d] for d in dims]
        out = np.full(shape, np.nan)
        alpha0 = float(ds["alpha"].values.max()) if "alpha" in ds.dims else fixed.get("alpha", 3.0)
        for idx in np.ndindex(*shape) if shape else [()]:
            kw = dict(fixed)
            kw["alpha"] = alpha0
            for k, v in select.items():
                kw[k] = v
            for d, i in zip(dims, idx):
                v = ds[d].values[i]
                kw[d] = v.item() if hasattr(v, "item") else v
            kw = {k: v for k, v in kw.items() if k in Problem.__dataclass_fields__ and v not in (None, "none")}
            r = spectral_threshold(Problem(**kw))
            out[idx] = float(getattr(r, "alpha_c", r))
        return xr.DataArray(out, dims=dims, coords={d: ds[d] for d in dims})
    except Exception:
        return None


def plot_sweep(source, var: str, x: Optional[str] = None, y: Optional[str] = None, *,
               hue: Optional[str] = None, col: Optional[str] = None, select=None, kind: str = "auto",
               threshold: bool = True, cmap: str = "viridis", vmin=None, vmax=None,
               logx: Optional[bool] = None, logy: Optional[bool] = None, title: Optional[str] = None,
               output=None, dpi: int = 200, max_panels: int = 8):
    """Draw ``var`` of a sweep as a heat map (two grid parameters) or line plot (one).

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
    threshold : bool
        Overlay the spectral threshold alpha_c when alpha is an axis.
    output : path, optional
        Save the figure (PNG, PDF, SVG by extension).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    if output is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import xarray as xr

    if isinstance(source, xr.Dataset):
        ds = source
    else:
        from .sweep import open_sweep

        ds = open_sweep(source)
    if var not in ds.data_vars or var in _NOT_PLOTTABLE:
        raise PlotError(f"no variable {var!r} in the sweep; available: {', '.join(plot_variables(ds))}")
    select = _parse_select(select)
    for k in (x, y, hue, col):
        if k is not None and k not in ds[var].dims:
            raise PlotError(f"{k!r} is not a dimension of {var!r} (dimensions: {', '.join(ds[var].dims)})")
    da = _apply_select(ds[var], select)
    if "t" in da.dims and "t" not in (x, y, hue, col):
        da = _last_valid(da, "t")
    free = [d for d in da.dims if da.sizes[d] > 1]
    da = da.squeeze([d for d in da.dims if da.sizes[d] == 1])
    if kind not in ("auto", "heatmap", "line"):
        raise PlotError(f"kind must be auto, heatmap or line; got {kind!r}")
    if kind == "auto":
        kind = "heatmap" if (y is not None or (x is None and hue is None and len(free) >= 2)) else "line"
    rest = [d for d in free if d not in (x, y, hue, col)]
    if kind == "heatmap":
        if len(free) < 2:
            raise PlotError(f"a heat map needs two grid parameters with more than one value; {var!r} has "
                            f"{free or 'none'} (use a line plot)")
        x = x or rest.pop(0)
        if y is None:
            y = rest.pop(0)
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
        raise PlotError(f"too many free parameters for one figure: fix {', '.join(rest)} with "
                        f"--select NAME=VALUE (values: " +
                        "; ".join(f"{d}: {list(np.asarray(da[d].values))}" for d in rest) + ")")
    cols = list(range(da.sizes[col])) if col else [None]
    if len(cols) > max_panels:
        raise PlotError(f"{col!r} has {len(cols)} values (> {max_panels} panels); fix it with --select")
    labels = _labels()
    long_name = ds[var].attrs.get("long_name", var)

    ncol = len(cols)
    fig, axes = plt.subplots(1, ncol, figsize=(4.6 * ncol + (1.2 if kind == "heatmap" else 0.8), 3.9),
                             squeeze=False, constrained_layout=True, sharey=True)
    axes = axes[0]
    prefix = var.split("_")[0] if not var.startswith("fixed_point_") else "fixed_point"
    status = ds.get(f"{prefix}_status")
    if status is not None:
        status = _apply_select(status, select).squeeze(
            [d for d in status.dims if status.sizes.get(d, 0) == 1 and d in da.coords and da[d].ndim == 0])
    thr = None
    if threshold and "alpha" in (x, y) and (kind == "heatmap" or x == "alpha"):
        keep = [d for d in (x, y, hue, col) if d is not None and d != "alpha"]
        thr = _threshold(ds, select, keep)

    mappable = None
    if kind == "heatmap":
        vals = da.values.astype(float)
        finite = vals[np.isfinite(vals)]
        lo = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
        hi = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
        cm = matplotlib.colormaps[cmap].with_extremes(bad="0.85")
    for j, ci in enumerate(cols):
        ax = axes[j]
        sub = da.isel({col: ci}) if col else da
        st = None
        if status is not None and all(d in status.dims for d in sub.dims if d != "t"):
            st = status.isel({col: ci}) if col and col in status.dims else status
        if col:
            ax.set_title(_fmt_value(col, sub[col].values.item() if hasattr(sub[col].values, "item")
                                    else sub[col].values), fontsize=10)
        if kind == "heatmap":
            sub = sub.transpose(y, x)
            xs, ys = sub[x].values, sub[y].values
            lx = _is_geometric(xs) if (logx is None and _is_numeric(xs)) else bool(logx)
            ly = _is_geometric(ys) if (logy is None and _is_numeric(ys)) else bool(logy)
            xe = _edges(xs, lx) if _is_numeric(xs) else np.arange(len(xs) + 1) - 0.5
            ye = _edges(ys, ly) if _is_numeric(ys) else np.arange(len(ys) + 1) - 0.5
            xc = xs.astype(float) if _is_numeric(xs) else np.arange(len(xs))
            yc = ys.astype(float) if _is_numeric(ys) else np.arange(len(ys))
            mappable = ax.pcolormesh(xe, ye, np.ma.masked_invalid(sub.values.astype(float)), cmap=cm,
                                     vmin=lo, vmax=hi, shading="flat", rasterized=True)
            if lx:
                ax.set_xscale("log")
                _log_axis(ax.xaxis)
            if ly:
                ax.set_yscale("log")
                _log_axis(ax.yaxis)
            if not _is_numeric(xs):
                ax.set_xticks(xc, [str(v) for v in xs], rotation=30 if len(xs) > 3 else 0)
            if not _is_numeric(ys):
                ax.set_yticks(yc, [str(v) for v in ys])
            if st is not None:
                s = st.transpose(y, x).values if set(st.dims) == {x, y} else None
                if s is not None:
                    jj, ii = np.nonzero(s > 0)
                    if jj.size:
                        ax.plot(xc[ii], yc[jj], "x", color="k", ms=5, mew=1.0, alpha=0.8,
                                label=_status_label(s))
            if thr is not None:
                other = y if x == "alpha" else x
                t_sub = thr.isel({col: ci}) if col and col in thr.dims else thr
                oc = yc if x == "alpha" else xc
                if other in t_sub.dims:
                    tv = t_sub.transpose(other).values.astype(float)
                else:
                    tv = np.full(len(oc), float(np.nanmedian(t_sub.values)))
                if np.isfinite(tv).any():
                    # draw over the full cells of the other axis (a step curve)
                    oe = ye if x == "alpha" else xe
                    ov = np.repeat(oe, 2)[1:-1]
                    tvv = np.repeat(tv, 2)
                    if x == "alpha":
                        ax.plot(tvv, ov, "--", color="white", lw=2.2)
                        ax.plot(tvv, ov, "--", color="crimson", lw=1.4, label=r"spectral threshold $\alpha_c$")
                    else:
                        ax.plot(ov, tvv, "--", color="white", lw=2.2)
                        ax.plot(ov, tvv, "--", color="crimson", lw=1.4, label=r"spectral threshold $\alpha_c$")
                    ax.set_xlim(xe[0], xe[-1])
                    ax.set_ylim(ye[0], ye[-1])
            ax.set_xlabel(labels.get(x, x))
            if j == 0:
                ax.set_ylabel(labels.get(y, y))
        else:
            xs = sub[x].values
            xc = xs.astype(float) if _is_numeric(xs) else np.arange(len(xs))
            lx = _is_geometric(xs) if (logx is None and _is_numeric(xs)) else bool(logx)
            se_name = var[:-2] + "_se_t" if var.endswith("_t") else var + "_se"
            se = None
            if se_name in ds and not var.endswith("_se") and not var.endswith("_se_t"):
                se = _apply_select(ds[se_name], select)
                if "t" in se.dims and "t" not in (x, hue, col):
                    se = _last_valid(se, "t")
                se = se.squeeze([d for d in se.dims if se.sizes[d] == 1])
                if col and col in se.dims:
                    se = se.isel({col: ci})
            hues = list(range(sub.sizes[hue])) if hue else [None]
            colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
            if len(hues) > len(colors):
                colors = [matplotlib.colormaps["viridis"](k / max(1, len(hues) - 1)) for k in range(len(hues))]
            crosses = []
            for k, hi_ in enumerate(hues):
                line = sub.isel({hue: hi_}) if hue else sub
                yv = line.transpose(x).values.astype(float)
                lab = _fmt_value(hue, line[hue].values.item() if hasattr(line[hue].values, "item")
                                 else line[hue].values) if hue else None
                c = colors[k % len(colors)]
                dense = x == "t" or len(xc) > 12
                if se is not None:
                    sl = se.isel({hue: hi_}) if hue and hue in se.dims else se
                    ev = 2 * sl.transpose(*[d for d in sl.dims if d == x] or sl.dims).values.astype(float)
                    ev = ev if ev.shape == yv.shape else None
                    if dense:       # long series: a +-2 s.e. band instead of error bars
                        ax.plot(xc, yv, "-", lw=1.5, color=c, label=lab)
                        if ev is not None:
                            ax.fill_between(xc, yv - ev, yv + ev, color=c, alpha=0.2, lw=0)
                    else:
                        ax.errorbar(xc, yv, yerr=ev, fmt="o-", ms=3.5, lw=1.4, capsize=2, color=c, label=lab)
                else:
                    ax.plot(xc, yv, "o-", ms=3.5, lw=1.4, color=c, label=lab)
                if st is not None and x in st.dims:
                    sv = (st.isel({hue: hi_}) if hue and hue in st.dims else st)
                    if sv.ndim == 1:
                        bad = sv.values > 0
                        if bad.any():
                            crosses.append((xc[bad], yv[bad], sv.values))
                if thr is not None and x == "alpha":
                    t_sub = thr.isel({col: ci}) if col and col in thr.dims else thr
                    if hue and hue in t_sub.dims:
                        tv = float(t_sub.isel({hue: hi_}).values)
                        if np.isfinite(tv) and len(hues) > 1 and not np.allclose(t_sub.values, tv):
                            ax.axvline(tv, ls="--", color=c, lw=1.2)
            if crosses:
                allc = np.concatenate([c[2] for c in crosses])
                for k, (cx, cy, _) in enumerate(crosses):
                    ax.plot(cx, cy, "x", color="k", ms=6, mew=1.2, label=_status_label(allc) if k == 0 else None)
            if thr is not None and x == "alpha":
                t_sub = thr.isel({col: ci}) if col and col in thr.dims else thr
                tvals = np.asarray(t_sub.values, dtype=float).ravel()
                tvals = tvals[np.isfinite(tvals)]
                if tvals.size and (not hue or hue not in t_sub.dims or np.allclose(tvals, tvals[0])):
                    ax.axvline(tvals[0], ls="--", color="crimson", lw=1.4, label=r"spectral threshold $\alpha_c$")
                elif tvals.size:
                    ax.plot([], [], "--", color="0.3", label=r"spectral threshold $\alpha_c$ (per line)")
            if lx:
                ax.set_xscale("log")
                _log_axis(ax.xaxis)
            if not _is_numeric(xs):
                ax.set_xticks(xc, [str(v) for v in xs])
            elif np.asarray(xs).dtype.kind in "iu" and not lx:
                from matplotlib.ticker import MaxNLocator

                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel(labels.get(x, x))
            if j == 0:
                ax.set_ylabel(long_name + (r"  ($\pm 2$ s.e.)" if se is not None else ""))
            ax.grid(alpha=0.3)
        if j == ncol - 1:
            h, l_ = ax.get_legend_handles_labels()
            if h:
                ax.legend(fontsize=8, framealpha=0.85, loc="best",
                          title=labels.get(hue, hue) if kind == "line" and hue else None, title_fontsize=8)
    if kind == "heatmap" and mappable is not None:
        cb = fig.colorbar(mappable, ax=list(axes), shrink=0.95, pad=0.02)
        cb.set_label(long_name)
    sup = title if title is not None else _fixed_title(ds, da)
    if sup:
        fig.suptitle(_wrap(sup, 60 + 45 * (ncol - 1)), fontsize=10)
    if output is not None:
        from pathlib import Path

        Path(output).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(output, dpi=dpi)
    return fig
