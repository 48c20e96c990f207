"""Running the independent DMFT batches: locally in threads, on Dask, with a checkpoint (docs/theory.md §4.1).

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
from ._complex import ComplexBatchSolver
from ._core import BatchSolver
from ._input import BatchOutput, EngineInput

__all__ = [
    "Execution",
    "check_execution",
    "solve_batch",
    "solve_batches",
    "solve_batches_dask",
    "n_threads",
    "CONNECT_TIMEOUT",
    "WORKER_TIMEOUT",
]

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


def solve_batch(inp: EngineInput, settings, kern: str, seed: int, b: int, callback=None) -> BatchOutput:
    """Batch ``b``: :class:`BatchSolver` with ``settings.paths_per_batch`` paths on the stream
    ``SeedSequence(seed, spawn_key=(b,))``, kernel variant ``kern``; returns its outputs."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,)))
    solver = ComplexBatchSolver if inp.field == "complex" else BatchSolver
    return solver(
        inp,
        settings.paths_per_batch,
        rng,
        kernel=kern,
        scores=settings.scores,
        callback=callback,
        precision=settings.precision,
    ).run()


def _worker_solve(inp: EngineInput, settings, kern: str, seed: int, b: int) -> BatchOutput:
    """One Dask task: :func:`solve_batch` with one BLAS thread and one numba thread."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1), numba_threads(1 if kern == "numba" else None):
        if kern.startswith("numba"):
            from ._kernels import warmup

            warmup(settings.precision, serial=kern == "numba-serial")
        return solve_batch(inp, settings, kern, seed, b)


def _cluster_errors() -> tuple:
    """Exceptions that mean the cluster failed (not the computation)."""
    from concurrent.futures import CancelledError

    from distributed.scheduler import KilledWorker

    return (OSError, KilledWorker, CancelledError)


def solve_batches_dask(
    inp: EngineInput, settings, kern: str, seed: int, execution: Execution, bar=None, which=None
) -> list:
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
                c.submit(_worker_solve, inp, settings, kern, seed, b, key=f"sidmft-dmft-{run}-{b}", pure=False)
                for b in which
            ]
            index = {f.key: b for f, b in zip(futs, which)}
            for f in as_completed(futs, loop=c.loop):
                if execution.checkpoint is not None:
                    execution.checkpoint.save(index[f.key], f.result())
                if bar is not None:
                    bar.update(inp.steps + 1)
            return list(c.gather(futs))
    except _cluster_errors() as e:
        raise RuntimeError(f"Dask execution on the {where} failed: {type(e).__name__}: {e}") from e


def n_threads(threads) -> int:
    """``threads``, or numba's thread count when None."""
    if threads is not None:
        return int(threads)
    try:
        import numba

        return int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover
        return 1


def solve_batches(inp: EngineInput, settings, kernel, seed, progress, execution=None) -> list:
    """The per-batch forward passes (:func:`solve_batch`), in threads when that pays, or one Dask task
    per batch when ``execution`` names workers or a scheduler (same kernel variant: bitwise the same).
    Batches found in ``execution.checkpoint`` are loaded, the others solved and saved as they finish."""
    batches = settings.batches
    ck = execution.checkpoint if execution is not None else None
    done = {}
    if ck is not None:
        done = {b: o for b in range(batches) if (o := ck.load(b)) is not None}
    todo = [b for b in range(batches) if b not in done]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=batches * (inp.steps + 1), desc="dmft", unit="step", leave=False)
        bar.update(len(done) * (inp.steps + 1))
    cb = (lambda t: bar.update(1)) if bar is not None else None
    nthreads = n_threads(settings.threads)
    # batch-parallel (one GIL-free single-threaded solve per thread, no per-step synchronisation) when
    # there are >= 2 batches; otherwise the kernels run path-parallel.  Both use the same fixed chunking
    # (same summation order); they differ only by FMA contraction, i.e. at the rounding level (~1e-13).
    batch_parallel = kernel == "numba" and nthreads > 1 and batches > 1
    kern = "numba-serial" if batch_parallel else kernel

    def solve(b):
        out = solve_batch(inp, settings, kern, seed, b, cb)
        if ck is not None:
            ck.save(b, out)
        return out

    try:
        if not todo:
            new = []
        elif execution is not None and execution.distributed:
            new = solve_batches_dask(inp, settings, kern, seed, execution, bar, which=todo)
        else:
            new = _local(solve, todo, settings, kern, nthreads, batch_parallel)
    finally:
        if bar is not None:
            bar.close()
    done.update(zip(todo, new))
    return [done[b] for b in range(batches)]


def _local(solve, todo, settings, kern, nthreads, batch_parallel) -> list:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1), numba_threads(settings.threads if kern == "numba" else None):
        if kern.startswith("numba"):
            from ._kernels import warmup

            warmup(settings.precision, serial=batch_parallel)
        if not batch_parallel:
            return [solve(b) for b in todo]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(nthreads, len(todo))) as ex:
            return list(ex.map(solve, todo))
