"""Running the independent DMFT batches: in threads, on Dask, and with a checkpoint (docs/theory.md §4.1)."""

from __future__ import annotations

from ...numerics import numba_threads
from ._dask import solve_batch, solve_batches_dask

__all__ = ["solve_batches", "n_threads"]


def n_threads(threads) -> int:
    """``threads``, or numba's thread count when None."""
    if threads is not None:
        return int(threads)
    try:
        import numba

        return int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover
        return 1


def solve_batches(ctx, settings, kernel, seed, progress, execution=None) -> list:
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

        bar = tqdm(total=batches * (ctx["steps"] + 1), desc="dmft", unit="step", leave=False)
        bar.update(len(done) * (ctx["steps"] + 1))
    cb = (lambda t: bar.update(1)) if bar is not None else None
    nthreads = n_threads(settings.threads)
    # batch-parallel (one GIL-free single-threaded solve per thread, no per-step synchronisation) when
    # there are >= 2 batches; otherwise the kernels run path-parallel.  Both use the same fixed chunking
    # (same summation order); they differ only by FMA contraction, i.e. at the rounding level (~1e-13).
    batch_parallel = kernel == "numba" and nthreads > 1 and batches > 1
    kern = "numba-serial" if batch_parallel else kernel

    def solve(b):
        out = solve_batch(ctx, settings, kern, seed, b, cb)
        if ck is not None:
            ck.save(b, out)
        return out

    try:
        if not todo:
            new = []
        elif execution is not None and execution.distributed:
            new = solve_batches_dask(ctx, settings, kern, seed, execution, bar, which=todo)
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
