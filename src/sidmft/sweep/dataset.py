"""Assembling a store into one ``xarray.Dataset`` with a dimension per grid parameter.

:func:`build_dataset` reads the finished point files (unfinished points are NaN, status -1),
NaN-pads trajectories of different lengths along ``t``, labels every variable
(:mod:`sidmft.labels`) and adds the spectral threshold ``alpha_c`` (:mod:`.threshold`);
:func:`consolidate` writes it to ``STORE/results.zarr`` atomically; :func:`open_sweep` reads it
back (rebuilding it when stale).

Imports: numpy, xarray (lazily), :mod:`sidmft.io`, :mod:`sidmft.labels`, :mod:`sidmft.results`,
:mod:`.grid`, :mod:`.spec`, :mod:`.store`, :mod:`.threshold`.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from typing import Any, Optional

import numpy as np

from .._version import __version__
from ..io import atomic_write, load
from ..labels import param_label, var_attrs
from ..results import Status
from .spec import SweepSpec
from .store import FORMAT, Store, timestamp
from .threshold import threshold_variable

__all__ = ["build_dataset", "consolidate", "open_sweep", "sweep_info"]

_FLAG_MEANINGS = " ".join(s.label.replace("-", "_") for s in Status)
_FLAG_VALUES = [int(s) for s in Status]


def _load_points(st: Store, spec: SweepSpec) -> dict:
    """``{grid index: point Dataset}`` of the readable finished points."""
    done = st.finished_keys()
    loaded = {}
    for idx, _ in spec.points():
        k = spec.key(idx)
        if k in done:
            with contextlib.suppress(OSError, ValueError):
                loaded[idx] = load(st.point_file(k))
    return loaded


def _variable_kinds(loaded: dict) -> tuple[dict, int]:
    """(``{name: dims}`` over the union of the points' variables, longest ``t``)."""
    kinds: dict[str, tuple] = {}
    tmax = 0
    for ds in loaded.values():
        if "t" in ds.dims:
            tmax = max(tmax, ds.sizes["t"])
        for name, v in ds.data_vars.items():
            kinds.setdefault(name, v.dims)
    return kinds, tmax


def _empty(name: str, dims: tuple, shape: tuple, tmax: int) -> np.ndarray:
    if name.endswith(("_status", "_raised")):
        return np.full(shape, -1, dtype=np.int8)
    return np.full(shape + ((tmax,) if "t" in dims else ()), np.nan)


def _gather(spec: SweepSpec, loaded: dict, kinds: dict, tmax: int) -> tuple[dict, dict]:
    """(output arrays by variable name, bookkeeping arrays: finished, times, seeds by output)."""
    shape = spec.shape
    arrays = {name: _empty(name, dims, shape, tmax) for name, dims in kinds.items()}
    book: dict[str, Any] = {
        "finished": np.zeros(shape, dtype=bool),
        "times": np.full(shape, np.nan),
        "seeds": {o: np.full(shape, -1, dtype=np.int64) for o in spec.resolved_outputs if o.uses_seed},
    }
    for idx, ds in loaded.items():
        book["finished"][idx] = True
        book["times"][idx] = float(ds.attrs.get("timing_total_s", np.nan))
        for o, arr in book["seeds"].items():
            s = ds.attrs.get(f"{o.prefix}_seed", -1)
            arr[idx] = int(s) if not isinstance(s, str) else -1
        for name, v in ds.data_vars.items():
            a = np.asarray(v.values)
            arrays[name][idx + ((slice(0, a.shape[0]),) if "t" in v.dims else ())] = a
    return arrays, book


def _coords(spec: SweepSpec, tmax: int) -> dict:
    coords = {}
    for k, vals in spec.grid.items():
        if any(isinstance(v, str) or v is None for v in vals):
            coords[k] = np.array(["none" if v is None else str(v) for v in vals], dtype=object)
        else:
            coords[k] = np.asarray(vals)
    if tmax:
        coords["t"] = np.arange(tmax)
    return coords


def _data_vars(spec: SweepSpec, kinds: dict, arrays: dict, book: dict) -> dict:
    dims = spec.dims
    data_vars = {}
    for name, vdims in kinds.items():
        attrs = var_attrs(name)
        if name.endswith("_status"):
            attrs.update(
                flag_values=_FLAG_VALUES,
                flag_meanings=_FLAG_MEANINGS,
                description="sidmft.Status code of the output at this point (-1: not computed); not an exit code",
            )
        elif name.endswith("_raised"):
            attrs.update(
                long_name=f"exception raised ({name[: -len('_raised')]})",
                description="1: the output raised an exception at this point (a bug; status failed), 0: it "
                "returned its status, -1: not computed",
            )
        data_vars[name] = (dims + (("t",) if "t" in vdims else ()), arrays[name], attrs)
    data_vars["finished"] = (dims, book["finished"], {"long_name": "point finished"})
    data_vars["point_time_s"] = (dims, book["times"], {"long_name": "compute time of the point", "units": "s"})
    for o, arr in book["seeds"].items():
        data_vars[f"{o.prefix}_seed"] = (
            dims,
            arr,
            {"long_name": f"seed of output {o.name} (derived from the point's parameters and the base seed)"},
        )
    data_vars["alpha_c"] = threshold_variable(spec)
    return data_vars


def _attrs(spec: SweepSpec, n_finished: int) -> dict:
    attrs = {
        "kind": "SweepResults",
        "sidmft_version": __version__,
        "sweep_format": FORMAT,
        "spec_hash": spec.spec_hash,
        "grid": json.dumps(spec.to_dict()["grid"]),
        "dims": json.dumps(list(spec.dims)),
        "fixed": json.dumps(spec.fixed),
        "settings": json.dumps(spec.settings),
        "outputs": ",".join(spec.outputs),
        "base_seed": spec.seed,
        "n_points": spec.n_points,
        "n_finished": n_finished,
        "created": timestamp(),
    }
    attrs.update({f"problem_{k}": "none" if v is None else v for k, v in spec.fixed.items()})
    attrs.update({f"settings_{k}": v for k, v in spec.settings.items()})
    return attrs


def build_dataset(store, spec: Optional[SweepSpec] = None):
    """Assemble the finished points of ``store`` into one Dataset over the grid dimensions.

    Unfinished points are NaN (status -1, ``finished`` False); trajectories of different
    lengths (a ``steps`` grid) are NaN-padded along ``t``; ``alpha_c`` is the spectral
    threshold of each (model, noise, preprocess) of the grid (:mod:`sidmft.sweep.threshold`)."""
    import xarray as xr

    st = Store(store).require()
    spec = spec or st.read_spec()
    loaded = _load_points(st, spec)
    kinds, tmax = _variable_kinds(loaded)
    arrays, book = _gather(spec, loaded, kinds, tmax)
    ds = xr.Dataset(_data_vars(spec, kinds, arrays, book), coords=_coords(spec, tmax))
    for k in spec.dims:
        ds[k].attrs.update(long_name=param_label(k))
    if "t" in ds.coords:
        ds["t"].attrs.update(long_name="GD step t")
    ds.attrs.update(_attrs(spec, int(book["finished"].sum())))
    return ds


def consolidate(store, spec: Optional[SweepSpec] = None):
    """(Re)build ``STORE/results.zarr`` from the finished points; returns the Dataset.

    Written through :func:`sidmft.io.atomic_write` (a temporary directory swapped in), so a
    reader never sees half a store; a store that cannot be written (read-only) is left as it is."""
    st = Store(store)
    ds = build_dataset(st.path, spec)

    def write(tmp) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.to_zarr(tmp, mode="w", consolidated=False)

    with contextlib.suppress(OSError):
        atomic_write(st.results, write)
    return ds


def open_sweep(store, rebuild: bool = False):
    """The results of a sweep as an ``xarray.Dataset`` with one dimension per grid parameter.

    Reads ``STORE/results.zarr`` when it is up to date (same spec, same number of finished
    points, written by a version that stores ``alpha_c``), otherwise rebuilds it from the point
    files (also while a sweep is running)."""
    import xarray as xr

    st = Store(store).require()
    spec = st.read_spec()
    if not rebuild and st.results.exists():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = xr.open_zarr(st.results, consolidated=False).load()
            n_done = len(st.finished_keys() & set(spec.keys))
            if (
                ds.attrs.get("spec_hash") == spec.spec_hash
                and int(ds.attrs.get("n_finished", -1)) == n_done
                and "alpha_c" in ds
            ):
                return ds
        except Exception:  # unreadable/partial: rebuild
            pass
    return consolidate(st.path, spec)


def sweep_info(store) -> dict:
    """Progress of a store: points, finished, failed statuses, journal counts."""
    st = Store(store)
    spec = st.read_spec()
    done = st.finished_keys() & set(spec.keys)
    j = st.read_journal()
    pts = [r for r in j if r.get("event") == "point"]
    return {
        "store": str(st.path),
        "dims": list(spec.dims),
        "shape": list(spec.shape),
        "n_points": spec.n_points,
        "n_finished": len(done),
        "outputs": list(spec.outputs),
        "runs": len({r.get("run") for r in j if "run" in r}),
        "journal_points": len(pts),
        "recomputed": len(pts) - len({r["key"] for r in pts}),
    }
