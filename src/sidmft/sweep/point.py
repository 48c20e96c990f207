"""The worker side: compute one sweep point from its task dict into an ``xarray.Dataset``.

Runs on a Dask worker (or in the client with ``workers=0``).  Every output runs with one BLAS
and one numba thread; an exception inside an output becomes status ``failed`` with its message and
the flag ``<prefix>_raised = 1``, so one bad corner of a grid never stops a sweep.  A status that
the solver *returned* (below-threshold, diverged, a fixed point with no solution, ...) is data:
stored with ``<prefix>_raised = 0``.

Imports: numpy, xarray (lazily), :mod:`sidmft.problem`, :mod:`sidmft.results`,
:mod:`sidmft.numerics`, :mod:`.outputs`, :mod:`.spec` (its canonical JSON).
"""

from __future__ import annotations

import json
import os
import socket
import traceback
import warnings

import numpy as np

from .._version import __version__
from ..numerics import single_thread
from ..problem import Problem
from ..results import Status, Timer
from .outputs import resolve_outputs
from .spec import canonical_json

__all__ = ["compute_point"]


def compute_point(task: dict):
    """Compute one sweep point (runs on a Dask worker); returns an ``xarray.Dataset``.

    ``task`` is :meth:`SweepSpec.task`.  Every output is computed under one BLAS / numba
    thread.  An exception inside an output is recorded as status ``failed`` with its message
    (the point still completes), so one bad corner of the grid never stops a sweep."""
    import xarray as xr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problem = Problem.from_dict(task["problem"])
    settings = task["settings"]
    data_vars: dict = {}
    attrs = {f"problem_{k}": v for k, v in problem.to_dict().items()}
    attrs.update({f"settings_{k}": v for k, v in settings.items()})
    attrs.update(
        kind="SweepPoint",
        point_key=task["key"],
        point_index=json.dumps(task["index"]),
        grid_values=canonical_json(task["grid_values"]),
        outputs=",".join(task["outputs"]),
        base_seed=task["base_seed"],
        sidmft_version=__version__,
        host=socket.gethostname(),
        pid=os.getpid(),
    )
    outs = {o.name: o for o in resolve_outputs(task["outputs"])}
    total = 0.0
    with single_thread():
        for name in task["outputs"]:
            total += _compute_output(outs[name], problem, settings, task["seeds"][name], data_vars, attrs)
    attrs["timing_total_s"] = float(total)
    ds = xr.Dataset(data_vars, attrs=attrs)
    if "t" in ds.dims:
        ds = ds.assign_coords(t=np.arange(ds.sizes["t"]))
    return ds


def _call(o, problem, settings, seed):
    """(data, status, message, raised) of one output; an exception is status FAILED with ``raised``
    True, never raised on; a status the output returned has ``raised`` False."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data, res = o.func(problem, settings, seed)
    except Exception as e:  # recorded, never silent
        message = f"{type(e).__name__}: {e} | " + traceback.format_exc(limit=3).strip().splitlines()[-1]
        return {}, Status.FAILED, message, True
    if res is None:
        return data, Status.SUCCESS, "", False
    return data, getattr(res, "status", Status.SUCCESS), str(getattr(res, "message", "") or ""), False


def _compute_output(o, problem, settings, seed, data_vars: dict, attrs: dict) -> float:
    """Run output ``o`` into ``data_vars`` / ``attrs``; returns its compute time in seconds."""
    with Timer() as tm:
        data, status, message, raised = _call(o, problem, settings, seed)
    for k, v in (data or {}).items():
        arr = np.asarray(v)
        if arr.ndim > 1:
            raise ValueError(f"output {o.name!r} variable {k!r} has {arr.ndim} dimensions (0 or 1 allowed)")
        data_vars[f"{o.prefix}_{k}"] = (("t",) if arr.ndim == 1 else (), arr)
    data_vars[f"{o.prefix}_status"] = ((), np.int8(int(status)))
    data_vars[f"{o.prefix}_raised"] = ((), np.int8(raised))
    attrs[f"{o.prefix}_status"] = status.label if isinstance(status, Status) else str(status)
    attrs[f"{o.prefix}_raised"] = int(raised)
    attrs[f"{o.prefix}_message"] = message
    attrs[f"{o.prefix}_seed"] = int(seed) if o.uses_seed else "none"
    attrs[f"timing_{o.prefix}_s"] = float(tm.seconds)
    return tm.seconds
