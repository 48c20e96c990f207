"""Reading and writing results: xarray Datasets in netCDF or zarr, with metadata.

Attributes are encoded so that any Dataset round-trips: ``None`` becomes the string
``"none"``, booleans become 0/1, and nested dicts are flattened with ``_``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import xarray as xr

__all__ = ["save_dataset", "load", "encode_attrs", "problem_from_attrs", "to_jsonable"]


def encode_attrs(attrs: dict) -> dict:
    out = {}
    for k, v in attrs.items():
        if v is None:
            v = "none"
        elif isinstance(v, (bool, np.bool_)):
            v = int(v)
        elif isinstance(v, dict):
            for kk, vv in encode_attrs(v).items():
                out[f"{k}_{kk}"] = vv
            continue
        elif isinstance(v, (np.integer,)):
            v = int(v)
        elif isinstance(v, (np.floating,)):
            v = float(v)
        elif isinstance(v, (list, tuple)):
            v = json.dumps(to_jsonable(v))
        elif not isinstance(v, (str, int, float, np.ndarray)):
            v = str(v)
        out[k] = v
    return out


def save_dataset(ds: xr.Dataset, path) -> str:
    """Save ``ds`` to ``path`` (``.zarr`` -> zarr store, else netCDF via h5netcdf).

    The file is written to a temporary name and renamed, so an interrupted write never
    leaves a truncated result behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = ds.copy()
    ds.attrs = encode_attrs(ds.attrs)
    for v in ds.variables.values():
        v.attrs = encode_attrs(v.attrs)
    if path.suffix == ".zarr":
        ds.to_zarr(path, mode="w")
        return str(path)
    tmp = path.with_name(path.name + ".tmp")
    ds.to_netcdf(tmp, engine="h5netcdf")
    os.replace(tmp, path)
    return str(path)


def load(path) -> xr.Dataset:
    """Load a result file written by :func:`save_dataset` (fully into memory)."""
    path = Path(path)
    if path.suffix == ".zarr" or path.is_dir():
        return xr.open_zarr(path).load()
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()


def problem_from_attrs(attrs: dict):
    """Rebuild the :class:`~sidmft.Problem` recorded in a result file's attributes."""
    from .problem import PROBLEM_FIELDS, Problem

    d = {}
    for k in PROBLEM_FIELDS:
        v = attrs.get(f"problem_{k}", "none")
        if isinstance(v, str) and v == "none":
            continue
        if isinstance(v, np.generic):
            v = v.item()
        d[k] = v
    return Problem.from_dict(d)


def to_jsonable(obj):
    """Convert numpy scalars/arrays (and nested containers) to JSON-able Python objects.

    Non-finite floats become ``None`` (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if np.isfinite(f) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
