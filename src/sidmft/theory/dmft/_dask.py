"""DMFT batches beyond one process: one Dask task per independent batch solve.

The batches of :func:`sidmft.theory.dmft.dmft` are independent full solves (batch b uses the
stream ``SeedSequence(seed, spawn_key=(b,))``), so they can run anywhere.  With ``workers=N`` (a
LocalCluster of N single-thread processes on 127.0.0.1) or ``scheduler="tcp://HOST:PORT"`` (an
existing Dask scheduler), each batch is one task running :func:`solve_batch`, the very function
the local path runs, and the outputs are assembled in batch order exactly as a local run does.

Kernel variant.  Locally, with >= 2 threads and >= 2 batches the batches run concurrently on the
single-threaded GIL-free kernels (``"numba-serial"``), otherwise on the path-parallel kernels
(``"numba"``); the two differ by FMA contraction, at the rounding level (~1e-13).  The variant is
chosen on the calling side by that same rule (from ``threads`` and ``batches``) and the workers run
it with one BLAS thread and one numba thread (the path-parallel kernels reduce fixed chunks in a
fixed order, so their result does not depend on the thread count).  Hence the numbers are bitwise
those of a local run with the same arguments, provided the workers have the same CPU type (numba
compiles for the host CPU).

Failures of the cluster (unreachable scheduler, no worker joining, a worker lost) are raised as
``RuntimeError`` with a readable message, which :func:`dmft` turns into a ``FAILED`` status.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..._dask import check_workers_scheduler, client
from ...numerics import numba_threads
from ._core import BatchSolver

__all__ = ["Execution", "check_execution", "solve_batch", "solve_batches_dask", "CONNECT_TIMEOUT", "WORKER_TIMEOUT"]

#: seconds to connect to a scheduler, and to wait for its first worker
CONNECT_TIMEOUT = 30.0
WORKER_TIMEOUT = 60.0


@dataclass(frozen=True)
class Execution:
    """Where the batches run: ``workers`` LocalCluster processes, or the Dask ``scheduler``; local
    (no Dask) when ``workers == 0`` and no scheduler is given.  Execution only: no effect on the numbers."""

    workers: int = 0
    scheduler: Optional[str] = None
    checkpoint: Optional[Any] = None  # a :class:`sidmft.theory.dmft._checkpoint.Checkpoint`

    def with_checkpoint(self, checkpoint) -> Execution:
        """This execution, keeping finished batches in ``checkpoint``."""
        return dataclasses.replace(self, checkpoint=checkpoint)

    @property
    def distributed(self) -> bool:
        """True when the batches go to Dask."""
        return bool(self.workers or self.scheduler)


def check_execution(workers, scheduler) -> Execution:
    """The validated :class:`Execution` (ValueError naming ``workers`` or ``scheduler`` otherwise)."""
    return Execution(*check_workers_scheduler(workers, scheduler))


def solve_batch(ctx: dict, settings, kern: str, seed: int, b: int, callback=None) -> dict:
    """Batch ``b``: :class:`BatchSolver` with ``settings.paths_per_batch`` paths on the stream
    ``SeedSequence(seed, spawn_key=(b,))``, kernel variant ``kern``; returns its outputs."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,)))
    return BatchSolver(
        ctx,
        settings.paths_per_batch,
        rng,
        kernel=kern,
        scores=settings.scores,
        callback=callback,
        precision=settings.precision,
    ).run()


def _worker_solve(ctx: dict, settings, kern: str, seed: int, b: int) -> dict:
    """One Dask task: :func:`solve_batch` with one BLAS thread and one numba thread."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1), numba_threads(1 if kern == "numba" else None):
        if kern.startswith("numba"):
            from ._kernels import warmup

            warmup(settings.precision, serial=kern == "numba-serial")
        return solve_batch(ctx, settings, kern, seed, b)


def _cluster_errors() -> tuple:
    """Exceptions that mean the cluster failed (not the computation)."""
    from concurrent.futures import CancelledError

    from distributed.scheduler import KilledWorker

    return (OSError, KilledWorker, CancelledError)


def solve_batches_dask(ctx: dict, settings, kern: str, seed: int, execution: Execution, bar=None, which=None) -> list:
    """The outputs of the batches ``which`` (default 0..B-1) computed on Dask (one task each), in that order.

    ``bar`` (a tqdm bar counting steps) advances by ``steps + 1`` per finished batch; with a checkpoint in
    ``execution``, each batch is saved as soon as it arrives."""
    which = list(range(settings.batches)) if which is None else list(which)
    from distributed import as_completed

    where = f"scheduler {execution.scheduler}" if execution.scheduler else f"{execution.workers}-worker LocalCluster"
    run = uuid.uuid4().hex[:12]
    try:
        workers = min(execution.workers, settings.batches)  # no idle processes
        with client(workers, execution.scheduler, timeout=CONNECT_TIMEOUT) as c:
            if execution.scheduler:
                c.wait_for_workers(1, timeout=WORKER_TIMEOUT)
            futs = [
                c.submit(_worker_solve, ctx, settings, kern, seed, b, key=f"sidmft-dmft-{run}-{b}", pure=False)
                for b in which
            ]
            index = {f.key: b for f, b in zip(futs, which)}
            for f in as_completed(futs, loop=c.loop):
                if execution.checkpoint is not None:
                    execution.checkpoint.save(index[f.key], f.result())
                if bar is not None:
                    bar.update(ctx["steps"] + 1)
            return list(c.gather(futs))
    except _cluster_errors() as e:
        raise RuntimeError(f"Dask execution on the {where} failed: {type(e).__name__}: {e}") from e
