"""One seed of :func:`sidmft.simulate` as a pure function, and the seeds of a run locally or on Dask.

:func:`run_seed` draws the data of one seed, starts (spectral, random, linear or given) and runs the first-order
method, and returns a :class:`SeedRecord` (observables, spectral diagnostics, status, message, timing).  It reads
nothing but its arguments and the seed's own random streams, so a seed computed in another process (a Dask
worker) is bitwise the one computed here, provided the worker has the same CPU type (numba compiles for the host)
and the same sidmft version: the kernels reduce in a fixed order whatever the thread count, and the BLAS passes
of the data generation run on one thread.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..results import OBSERVABLES, Status, Timer
from ._data import generate_data
from ._start import StartFailed, initial_point

__all__ = ["SeedRecord", "run_seed", "run_seeds", "SPECTRAL_ATTR"]

#: SpectralInfo attribute stored in ``SimulationResult.spectral[name]`` (per seed)
SPECTRAL_ATTR = {
    "spectral_overlap": "overlap",
    "spectral_overlap_sq": "overlap_sq",
    "spectral_raw_overlap": "raw_overlap",
    "spectral_sign": "sign",
    "top_eigenvalue": "top_eigenvalue",
    "second_eigenvalue": "second_eigenvalue",
    "spectral_passes": "passes",
    "spectral_residual": "residual",
    "spectral_n_floored": "n_floored",
}


@dataclass
class SeedRecord:
    """What one seed produced (``obs`` and ``spectral`` None where that stage did not run)."""

    seed: int
    status: Status
    message: str
    obs: Optional[dict] = None
    spectral: Optional[dict] = None
    timing: dict = field(default_factory=lambda: {"data": 0.0, "spectral": 0.0, "iterations": 0.0})
    info: dict = field(default_factory=dict)


def _gd(data, x0, problem, cfg, lams, etas, callback):
    from ._batch import run_gd_batch
    from ._gd import run_gd

    gd = cfg.gd
    if lams is not None:
        return run_gd_batch(data, x0, problem, lams, etas, bound=gd.bound, callback=callback, threads=gd.threads)
    return run_gd(
        data, x0, problem, method=gd.kernel, threads=gd.threads, bound=gd.bound, callback=callback, backend=gd.backend
    )


def run_seed(problem, dim: int, seed: int, cfg, lams=None, etas=None, callback=None) -> SeedRecord:
    """Seed ``seed`` of a run with settings ``cfg`` (:class:`~sidmft.simulator.SimulationSettings`); never raises:
    an exception of a stage becomes a FAILED record with its message (the other seeds are kept)."""
    rec = SeedRecord(seed, Status.SUCCESS, "")
    try:
        with Timer() as tm:
            data = generate_data(problem, dim, seed, cfg.dtype, chunk_rows=cfg.chunk_rows, workers=cfg.data_threads)
        rec.timing["data"] = tm.seconds
        with Timer() as tm:
            x0, sinfo = initial_point(data, problem, cfg.spectral_settings)
        rec.timing["spectral"] = tm.seconds
        msg = ""
        if sinfo is not None:
            rec.spectral = {name: getattr(sinfo, attr) for name, attr in SPECTRAL_ATTR.items()}
            rec.info.update(spectral_method=sinfo.method, t_floor=sinfo.t_floor, spectral_tol=sinfo.tol)
            if sinfo.status != Status.SUCCESS:
                rec.status, msg = sinfo.status, sinfo.message
        if sinfo is not None and sinfo.status == Status.FAILED:  # no start vector: GD is not run
            rec.message = f"seed {seed}: spectral initialisation failed: {msg}; GD not run"
            return rec
        traj = _gd(data, x0, problem, cfg, lams, etas, callback)
        rec.timing["iterations"] = traj.seconds
        rec.info.update(gd_method=traj.method, passes_gd=traj.passes)
        rec.obs = {name: np.asarray(traj.obs[name]) for name in OBSERVABLES}
        rec.status = max(rec.status, traj.status, key=int)
        msg = "; ".join(m for m in (msg, traj.message) if m)
        rec.message = f"seed {seed}: {msg}" if msg else ""
    except StartFailed as e:
        rec.status, rec.message = Status.FAILED, f"seed {seed}: {e}; GD not run"
    except (MemoryError, Exception) as e:  # keep the other seeds
        rec.status, rec.message = Status.FAILED, f"seed {seed}: unexpected {type(e).__name__}: {e}"
    return rec


def _worker_seed(problem, dim, seed, cfg, lams, etas) -> SeedRecord:
    """One Dask task: :func:`run_seed` with one BLAS thread (the kernels' numbers do not depend on threads)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return run_seed(problem, dim, seed, cfg, lams, etas)


def run_seeds(problem, dim, seeds, cfg, lams, etas, workers=0, scheduler=None, on_seed=None, callback=None) -> list:
    """The records of ``seeds`` in order: locally one after the other, or one Dask task per seed (``workers``
    LocalCluster processes or the ``scheduler`` address).  ``on_seed(record)`` is called as each one finishes.
    Failures of the cluster are raised as ``RuntimeError`` with a readable message."""
    if not (workers or scheduler):
        out = []
        for s in seeds:
            rec = run_seed(problem, dim, s, cfg, lams, etas, callback)
            out.append(rec)
            if on_seed is not None:
                on_seed(rec)
        return out
    from concurrent.futures import CancelledError

    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    from .._dask import client

    where = f"scheduler {scheduler}" if scheduler else f"{workers}-worker LocalCluster"
    run = uuid.uuid4().hex[:12]
    try:
        with client(min(workers, len(seeds)) if workers else 0, scheduler) as c:
            if scheduler:
                c.wait_for_workers(1, timeout=60.0)
            futs = [
                c.submit(_worker_seed, problem, dim, s, cfg, lams, etas, key=f"sidmft-sim-{run}-{s}", pure=False)
                for s in seeds
            ]
            for f in as_completed(futs, loop=c.loop):
                if on_seed is not None:
                    on_seed(f.result())
            return list(c.gather(futs))
    except (OSError, KilledWorker, CancelledError) as e:
        raise RuntimeError(f"Dask execution on the {where} failed: {type(e).__name__}: {e}") from e
