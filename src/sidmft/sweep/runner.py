"""Running a sweep: the points still to compute go to Dask workers (or run in this process),
and the client writes each finished point to the store and the journal as it arrives.

Imports: :mod:`.grid`, :mod:`.spec`, :mod:`.store`, :mod:`.point`, :mod:`.dataset`;
``distributed`` and ``tqdm`` lazily.
"""

from __future__ import annotations

import contextlib
import sys
import time
import uuid
from collections.abc import Callable
from typing import Optional

from .._dask import client as _client
from .dataset import consolidate
from .point import compute_point
from .spec import SweepSpec, format_values
from .store import Store, open_store, timestamp

__all__ = ["run_sweep"]


def run_sweep(
    spec: SweepSpec,
    store,
    *,
    workers: int = 2,
    scheduler: Optional[str] = None,
    overwrite: bool = False,
    progress: bool = True,
    consolidate_at_end: bool = True,
    max_points: Optional[int] = None,
    log: Optional[Callable[[str], None]] = None,
    retry_failed: bool = False,
) -> dict:
    """Run (or resume) a sweep into ``store``; returns a summary dict.

    Parameters
    ----------
    spec : SweepSpec
    store : path
        Sweep directory (created; an existing one must hold the same spec, and its finished
        points are skipped).
    workers : int
        LocalCluster worker processes (1 thread each); 0 computes in this process without Dask.
    scheduler : str, optional
        Address of an existing Dask scheduler (then ``workers`` is ignored).
    max_points : int, optional
        Stop after this many new points (the rest are left for a later run).
    retry_failed : bool
        Recompute finished points where an output raised (status ``failed``).

    Returns
    -------
    dict
        ``store, n_points, n_finished, skipped, computed, errors, seconds, run, results``.
    """
    log = log or (lambda s: print(s, file=sys.stderr))
    with open_store(store, spec, overwrite=overwrite) as st:
        run = _Run(spec, st, log)
        todo = run.todo(retry_failed, max_points)
        run.journal(
            "start",
            n_points=spec.n_points,
            n_finished=run.n_done0,
            n_todo=len(todo),
            workers=workers,
            scheduler=scheduler,
        )
        from tqdm.auto import tqdm

        bar = tqdm(
            total=spec.n_points,
            initial=run.n_done0,
            file=sys.stderr,
            disable=not progress,
            desc="sweep",
            unit="pt",
            dynamic_ncols=True,
        )
        try:
            tasks = [spec.task(idx) for idx in todo]
            if tasks and workers == 0 and not scheduler:
                for task in tasks:
                    run.finish(task, compute_point(task))
                    bar.update(1)
            elif tasks:
                _run_dask(run, tasks, workers, scheduler, bar)
        finally:
            bar.close()
        return run.summary(consolidate_at_end)


class _Run:
    """One run on a locked store: what to compute, and the client-side bookkeeping of each point."""

    def __init__(self, spec: SweepSpec, st: Store, log: Callable[[str], None]):
        self.spec, self.st, self.log = spec, st, log
        self.id = uuid.uuid4().hex[:12]
        self.t0 = time.perf_counter()
        self.computed = 0
        self.errors: list[str] = []
        self.n_done0 = 0

    def journal(self, event: str, **record) -> None:
        self.st.append_journal({"event": event, "run": self.id, **record, "time": timestamp()})

    def todo(self, retry_failed: bool, max_points: Optional[int]) -> list:
        """Grid indices still to compute (finished points with a failed output too, if asked)."""
        done = self.st.finished_keys()
        if retry_failed:
            for k in self.st.failed_keys(done & set(self.spec.keys)):
                self.st.point_file(k).unlink()
                self.st.append_journal({"event": "retry", "key": k, "time": timestamp()})
                done.discard(k)
        todo = [idx for idx, _ in self.spec.points() if self.spec.key(idx) not in done]
        self.n_done0 = self.spec.n_points - len(todo)
        return todo if max_points is None else todo[:max_points]

    def finish(self, task: dict, ds, worker=None) -> None:
        """Write a computed point, then journal it (a point is finished once its file exists)."""
        key = task["key"]
        ds.attrs["worker"] = str(worker or "local")
        ds.attrs["run"] = self.id
        self.st.write_point(key, ds)
        statuses = {o.name: ds.attrs.get(f"{o.prefix}_status") for o in self.spec.resolved_outputs}
        self.journal(
            "point",
            key=key,
            index=task["index"],
            grid_values=task["grid_values"],
            status=statuses,
            seconds=ds.attrs.get("timing_total_s"),
            worker=str(worker or "local"),
        )
        self.computed += 1

    def lost(self, task: dict, e: Exception) -> None:
        """A point whose worker failed (not written: a re-run retries it)."""
        where, why = f"point {format_values(task['grid_values'])}", f"{type(e).__name__}: {e}"
        self.errors.append(f"{where}: {why}")
        self.log(f"sweep: {where} failed: {why}")

    def summary(self, consolidate_at_end: bool) -> dict:
        elapsed = time.perf_counter() - self.t0
        self.journal("end", computed=self.computed, errors=len(self.errors), seconds=elapsed)
        spec, st = self.spec, self.st
        n_finished = len(st.finished_keys() & set(spec.keys))
        out = {
            "store": str(st.path),
            "n_points": spec.n_points,
            "n_finished": n_finished,
            "skipped": self.n_done0,
            "computed": self.computed,
            "errors": self.errors,
            "seconds": elapsed,
            "run": self.id,
        }
        if consolidate_at_end:
            consolidate(st.path, spec=spec)
            out["results"] = str(st.results)
        return out


def _run_dask(run: _Run, tasks: list, workers: int, scheduler: Optional[str], bar) -> None:
    from distributed import as_completed

    with _client(workers, scheduler) as client:
        futs = {}
        for task in tasks:
            f = client.submit(compute_point, task, key=f"sidmft-point-{task['key']}-{run.id}", pure=False)
            futs[f] = task
        for fut in as_completed(list(futs), loop=client.loop):
            task = futs.pop(fut)
            try:
                ds = fut.result()
            except Exception as e:  # worker died etc.: not written, a re-run retries it
                run.lost(task, e)
                bar.update(1)
                continue
            who = None
            with contextlib.suppress(Exception):
                who = next(iter(client.who_has([fut]).get(fut.key, ())), None)
            run.finish(task, ds, who)
            fut.release()
            bar.update(1)
