"""Reading a sweep dataset for a figure: selections, last values of trajectories, stored alpha_c.

Pure data handling (numpy, xarray, the sweep's labels and statuses); no matplotlib.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np

__all__ = ["PlotError", "plot_variables", "parse_select", "apply_select", "last_valid", "stored_threshold"]

_NOT_PLOTTABLE = ("finished",)

#: Data variables holding the spectral threshold, in order of preference: ``alpha_c`` (one value
#: per model / noise / preprocessing, stored by the sweep), then the spectral output's
#: ``spectral_alpha_c`` (one value per grid point).
THRESHOLD_VARS = ("alpha_c", "spectral_alpha_c")

_TEX = {
    "alpha": r"\alpha",
    "lam": r"\lambda",
    "eta": r"\eta",
    "noise": r"\sigma",
    "kappa": r"\kappa",
    "m0": "m_0",
    "q0": "q_0",
    "dim": "d",
    "t": "t",
}


class PlotError(ValueError):
    """A plot request that does not fit the store (unknown variable, too many free dimensions...)."""


def plot_variables(ds) -> list[str]:
    """Names of plottable variables of a sweep dataset."""
    return [k for k in ds.data_vars if k not in _NOT_PLOTTABLE and not k.endswith("_seed")]


def check_variable(ds, var: str) -> None:
    """Raise :class:`PlotError` unless ``var`` is a plottable variable of ``ds``."""
    if var not in ds.data_vars or var in _NOT_PLOTTABLE:
        raise PlotError(f"no variable {var!r} in the sweep; available: {', '.join(plot_variables(ds))}")


def parse_select(select) -> dict:
    """``{"lam": "0.1"}`` from a dict or a list of ``"NAME=VALUE"`` strings (None -> {})."""
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


def _grid_index(da, k, v) -> int:
    """Index of the grid value ``v`` of dimension ``k`` (nearest for numbers, within 1e-6)."""
    coord = da[k].values
    if coord.dtype.kind in "fiu":
        try:
            fv = float(v)
        except (TypeError, ValueError):
            raise PlotError(f"--select {k}={v}: {k} is numeric") from None
        i = int(np.argmin(np.abs(coord.astype(float) - fv)))
        if not math.isclose(float(coord[i]), fv, rel_tol=1e-6, abs_tol=1e-12):
            raise PlotError(f"--select {k}={v}: no such grid value; available {list(coord)}")
        return i
    vals = [str(c) for c in coord]
    if str(v) not in vals:
        raise PlotError(f"--select {k}={v}: no such grid value; available {vals}")
    return vals.index(str(v))


def apply_select(da, select: dict):
    """``da`` at the selected grid values (a name that is only a scalar coordinate is skipped)."""
    for k, v in select.items():
        if k not in da.dims:
            if k in da.coords:
                continue
            raise PlotError(f"--select {k}: not a dimension of {da.name!r} (dimensions: {', '.join(da.dims)})")
        da = da.isel({k: _grid_index(da, k, v)})
    return da


def last_valid(da, dim="t"):
    """Value at the last finite entry along ``dim`` (trajectories of different lengths)."""
    a = np.asarray(da.values, dtype=float)
    ax = da.dims.index(dim)
    finite = np.isfinite(a)
    n = a.shape[ax]
    idx = n - 1 - np.argmax(np.flip(finite, axis=ax), axis=ax)
    out = np.take_along_axis(a, np.expand_dims(idx, ax), axis=ax).squeeze(ax)
    out = np.where(finite.any(axis=ax), out, np.nan)
    return da.isel({dim: 0}, drop=True).copy(data=out)


def squeeze_singletons(da):
    """``da`` without its dimensions of length one."""
    return da.squeeze([d for d in da.dims if da.sizes[d] == 1])


def stored_threshold(ds, select: dict, keep: Sequence[str]):
    """The stored spectral threshold alpha_c over the ``keep`` dimensions, or None.

    Read from the first of :data:`THRESHOLD_VARS` in ``ds``, at the selected grid values; the
    median is taken over any other dimension (alpha_c does not depend on alpha, lambda, eta...).
    None when the sweep stored no threshold or only NaN (no outlier anywhere): plotting never
    runs the theory.
    """
    name = next((n for n in THRESHOLD_VARS if n in ds.data_vars), None)
    if name is None:
        return None
    ac = ds[name]
    ac = apply_select(ac, {k: v for k, v in select.items() if k in ac.dims})
    red = [d for d in ac.dims if d not in keep]
    if red:
        ac = ac.median(dim=red, skipna=True)
    return ac if np.isfinite(np.asarray(ac.values, dtype=float)).any() else None


def status_of(ds, var: str, select: dict, da):
    """Status codes of the output ``var`` comes from, at the selection, or None."""
    prefix = "fixed_point" if var.startswith("fixed_point_") else var.split("_")[0]
    status = ds.get(f"{prefix}_status")
    if status is None:
        return None
    status = apply_select(status, select)
    return status.squeeze([d for d in status.dims if status.sizes[d] == 1 and d in da.coords and da[d].ndim == 0])


def se_of(ds, var: str, select: dict, reduce_t: bool):
    """Standard error stored next to ``var`` (``X_se`` or ``X_se_t``), at the selection, or None."""
    if var.endswith("_se") or var.endswith("_se_t"):
        return None
    name = var[:-2] + "_se_t" if var.endswith("_t") else var + "_se"
    if name not in ds:
        return None
    se = apply_select(ds[name], select)
    if reduce_t and "t" in se.dims:
        se = last_valid(se, "t")
    return squeeze_singletons(se)


def status_label(codes) -> str:
    """Legend entry naming the non-success statuses among ``codes``."""
    from ..results import Status

    names = []
    for c in sorted({int(c) for c in np.ravel(codes) if c > 0}):
        try:
            names.append(Status(c).label)
        except ValueError:
            names.append(str(c))
    return "status: " + ", ".join(names)


def fmt_value(k, v) -> str:
    """``$\\alpha = 2$`` for a parameter and its value (plain ``k = v`` for other names)."""
    if hasattr(v, "ndim") and getattr(v, "ndim", 1) == 0 and hasattr(v, "item"):
        v = v.item()
    if isinstance(v, (float, np.floating)):
        v = f"{float(v):.4g}"
    elif isinstance(v, np.generic):
        v = v.item()
    if k in _TEX:
        return f"${_TEX[k]} = {v}$"
    return f"{k} = {v}"


def fixed_title(ds, da) -> str:
    """The parameters held fixed in the figure (``model, loss, T, alpha = ...``) as one line."""
    from ..algorithms import DEFAULT_ALGORITHM
    from ..problem import Problem

    try:
        fixed = json.loads(ds.attrs.get("fixed", "{}"))
    except (TypeError, ValueError):
        fixed = {}
    defaults = {k: Problem.__dataclass_fields__[k].default for k in ("model", "loss", "preprocess")}
    fixed = {**defaults, **fixed}
    if fixed.get("preprocess") is None and "preprocess" not in ds.dims:  # the default T of the problem, resolved
        keys = set(Problem.__dataclass_fields__) - set(ds.dims) - {"x0"}
        try:
            fixed["preprocess"] = Problem(**{k: v for k, v in fixed.items() if k in keys and v is not None}).preprocess
        except (TypeError, ValueError):
            fixed.pop("preprocess")
    parts = []
    for k in ("model", "loss", "preprocess", "noise", "alpha", "lam", "eta", "steps", "kappa", "field", "algorithm"):
        if k in ("field", "algorithm") and fixed.get(k) in (None, "real", DEFAULT_ALGORITHM):
            continue
        if k in fixed and k not in ds.dims:
            parts.append(fmt_value(k, fixed[k]))
    for k, c in da.coords.items():
        if c.ndim == 0 and k in ds.dims:
            parts.append(fmt_value(k, c.values))
    return ", ".join(parts)


def wrap(text: str, width: int = 90) -> str:
    """Break a comma-separated title into lines of at most about ``width`` characters."""
    lines, cur = [], ""
    for part in text.split(", "):
        if cur and len(cur) + len(part) + 2 > width:
            lines.append(cur + ",")
            cur = part
        else:
            cur = f"{cur}, {part}" if cur else part
    lines.append(cur)
    return "\n".join(lines)
