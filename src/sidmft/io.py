"""Reading and writing results: xarray Datasets in netCDF or zarr, with metadata.

Attributes are encoded so that any Dataset round-trips: ``None`` becomes the string
``"none"``, booleans become 0/1, and nested dicts are flattened with ``_``.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import xarray as xr

__all__ = [
    "save_dataset",
    "load",
    "encode_attrs",
    "problem_from_attrs",
    "to_jsonable",
    "atomic_write",
    "atomic_write_text",
]


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


def atomic_write(path, write: Callable[[Path], None]) -> Path:
    """Write ``path`` (a file or a directory such as a zarr store) so that no reader sees half of it.

    ``write(tmp)`` writes the content to a temporary sibling ``<name>.tmp<pid>-<hex>``, which is
    then renamed onto ``path``; an existing directory at ``path`` is first moved aside to
    ``<name>.old<pid>-<hex>`` and deleted after the swap.  If ``write`` raises, the temporary
    is removed and the exception propagates; ``path`` is left as it was.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     print(atomic_write(pathlib.Path(d) / "a.txt", lambda tmp: tmp.write_text("hello")).read_text())
    hello
    """
    path = Path(path)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
    tmp = path.with_name(f"{path.name}.tmp{tag}")
    old = path.with_name(f"{path.name}.old{tag}")
    try:
        write(tmp)
        moved = path.is_dir() and not path.is_symlink()
        if moved:
            os.replace(path, old)
        try:
            os.replace(tmp, path)
        except OSError:
            if moved:
                os.replace(old, path)
            raise
    finally:
        _remove(tmp)
        _remove(old)
    return path


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    elif p.exists() or p.is_symlink():
        p.unlink()


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`), synced to disk first."""

    def write(tmp: Path) -> None:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    return atomic_write(path, write)


def save_dataset(ds: xr.Dataset, path) -> str:
    """Save ``ds`` to ``path`` (``.zarr`` -> zarr store, else netCDF via h5netcdf).

    Written through :func:`atomic_write` (a temporary name, then a rename), so an interrupted
    write never leaves a truncated result behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = ds.copy()
    ds.attrs = encode_attrs(ds.attrs)
    for v in ds.variables.values():
        v.attrs = encode_attrs(v.attrs)
    if path.suffix == ".zarr":

        def write(tmp: Path) -> None:
            with warnings.catch_warnings():
                # zarr 3 warns that consolidated metadata is not part of its v3 spec; xarray reads it fine
                warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")
                ds.to_zarr(tmp, mode="w")
    else:

        def write(tmp: Path) -> None:
            ds.to_netcdf(tmp, engine="h5netcdf")

    atomic_write(path, write)
    return str(path)


def load(path) -> xr.Dataset:
    """Load a result file written by :func:`save_dataset` (fully into memory)."""
    path = Path(path)
    if path.suffix == ".zarr" or path.is_dir():
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")
            return xr.open_zarr(path).load()
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()


def problem_from_attrs(attrs: dict, x0=None):
    """Rebuild the :class:`~sidmft.Problem` recorded in a result file's attributes.

    ``x0`` is the given start (``init="given"``), which a file keeps in a data variable
    (``x0_given``) rather than in the attributes.
    """
    from .problem import PROBLEM_FIELDS, Problem

    d = {}
    for k in PROBLEM_FIELDS:
        v = attrs.get(f"problem_{k}", "none")
        if isinstance(v, str) and v == "none":
            continue
        if isinstance(v, np.generic):
            v = v.item()
        d[k] = v
    if x0 is not None:
        return Problem(**d, x0=np.asarray(x0, dtype=float))
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
