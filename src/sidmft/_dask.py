"""Dask clients for the parts of sidmft that run beyond one process: sweeps
(:func:`sidmft.sweep.run_sweep`) and DMFT batches (:func:`sidmft.theory.dmft.dmft`).

A neutral module (imports only ``distributed``, lazily) so that the theory and the sweep share one
client helper without importing each other.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any, Optional

__all__ = ["client", "check_workers_scheduler"]

#: ``[protocol://]host:port``, e.g. ``tcp://127.0.0.1:8786`` or ``tls://[::1]:8786``
_ADDRESS = re.compile(r"(?:[a-z][a-z0-9+.-]*://)?(?:\[[0-9a-fA-F:.]+\]|[^\s/:\[\]]+):[0-9]{1,5}")


def check_workers_scheduler(workers: Any, scheduler: Any) -> tuple[int, Optional[str]]:
    """``(workers, scheduler)`` validated: ``workers`` an integer >= 0, ``scheduler`` None or an
    address ``[protocol://]host:port``, not both (ValueError naming the parameter otherwise)."""
    if isinstance(workers, bool) or not hasattr(workers, "__index__"):
        raise ValueError(f"workers must be an integer >= 0 (0: no Dask); got {workers!r}")
    workers = int(workers)
    if workers < 0:
        raise ValueError(f"workers must be an integer >= 0 (0: no Dask); got {workers}")
    if scheduler is not None:
        if not isinstance(scheduler, str) or not _ADDRESS.fullmatch(scheduler.strip()):
            raise ValueError(f"scheduler must be a Dask scheduler address like tcp://HOST:PORT; got {scheduler!r}")
        scheduler = scheduler.strip()
        if workers:
            raise ValueError(
                f"workers must be 0 when a scheduler is given (its workers are the scheduler's); got workers={workers}"
            )
    return workers, scheduler


@contextlib.contextmanager
def client(workers: int, scheduler: Optional[str], timeout: float = 30.0) -> Iterator[Any]:
    """A Dask client on ``scheduler`` (connection ``timeout`` in seconds) or on a new LocalCluster
    of ``workers`` single-thread processes on 127.0.0.1; closed (and the cluster shut down) on exit."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        c = Client(scheduler, timeout=timeout, set_as_default=False)
        try:
            yield c
        finally:
            c.close()
        return
    try:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            scheduler_port=0,
            dashboard_address=None,
            silence_logs=logging.ERROR,
            worker_dashboard_address=None,
        )
    except RuntimeError as e:  # typically "Nanny failed to start"
        raise RuntimeError(
            f"the Dask LocalCluster did not start ({e}); a script that starts one must guard its code with "
            "`if __name__ == '__main__':` (the worker processes are spawned and import the script)"
        ) from e
    try:
        c = Client(cluster, set_as_default=False)
        try:
            yield c
        finally:
            c.close()
    finally:
        cluster.close()
