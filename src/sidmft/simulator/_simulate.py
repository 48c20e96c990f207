"""simulate(): the two-stage algorithm (spectral initialisation, then GD) over several seeds."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Sequence
from typing import Optional, Union

import numpy as np

from .._dask import check_workers_scheduler
from .._settings import resolve_settings
from ..results import OBSERVABLES, Status
from ._batch import batch_etas, check_lams_etas
from ._data import _check_dim, _check_seed, n_samples, resolve_dtype
from ._seeds import SeedRecord, run_seeds
from ._settings import SimulationSettings, SpectralInitSettings
from ._steps import check_jax_algorithm
from .result import SPECTRAL_FIELDS, SimulationResult

__all__ = ["simulate", "initial_point"]

from ._start import initial_point  # noqa: E402  (re-exported)


def _seed_list(seeds, seed) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1 (a count) or a list of seeds; got {seeds!r}")
        base = _check_seed(seed)
        return [base + k for k in range(int(seeds))]
    try:
        lst = [_check_seed(s) for s in seeds]
    except TypeError:
        raise ValueError(f"seeds must be a count >= 1 or a list of whole numbers >= 0; got {seeds!r}") from None
    if not lst:
        raise ValueError("seeds must not be empty")
    if len(set(lst)) != len(lst):
        raise ValueError(f"seeds must be distinct; got {lst}")
    return lst


def _check_backend(gd, problem, etas):
    """ValueError for what the backend does not run; ``etas`` the batch's (None: one run per seed)."""
    batch = etas is not None
    if batch:
        batch_etas(problem, etas, problem.steps)  # the step schedule fits every eta
    if gd.backend != "jax":
        return
    check_jax_algorithm(problem)
    if batch:
        raise ValueError("backend='jax' runs one trajectory per seed; lams/etas batches need backend='numba'")
    from ..backends.jax_gd import require_jax

    problem.loss_obj.check_array_namespace("jax")
    require_jax()


class _Run:
    """Per-seed arrays of one :func:`simulate` call, filled from the seeds' records."""

    def __init__(self, problem, seed_list, shape, progress):
        self.problem, self.seed_list = problem, seed_list
        self.per_seed = {k: np.full(shape, np.nan) for k in OBSERVABLES}
        self.spectral = {k: np.full(len(seed_list), np.nan) for k in SPECTRAL_FIELDS}
        self.statuses, self.messages = [], []
        self.timing = {"data": 0.0, "spectral": 0.0, "iterations": 0.0}
        self.info: dict = {"gd_method": None, "spectral_method": None, "passes_gd": 0}
        self.bar = None
        self.done = 0  # steps counted on the bar for the current seed (local runs)
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=len(seed_list) * (problem.steps + 1), file=sys.stderr, desc="simulate", unit="step", leave=False
            )

    def step(self, t):
        """Per-step progress of a local run."""
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)

    def finished(self, rec: SeedRecord):
        """A seed finished (progress only; the records are stored in order by :meth:`store`)."""
        if self.bar is not None:
            self.bar.update(self.problem.steps + 1 - self.done)
        self.done = 0

    def store(self, k: int, rec: SeedRecord):
        for key in self.timing:
            self.timing[key] += rec.timing.get(key, 0.0)
        if rec.spectral is not None:
            for name, v in rec.spectral.items():
                self.spectral[name][k] = v
        if rec.obs is not None:
            for name in OBSERVABLES:
                self.per_seed[name][k] = rec.obs[name]
        passes = rec.info.get("passes_gd", 0)
        self.info.update({k_: v for k_, v in rec.info.items() if k_ != "passes_gd"})
        self.info["passes_gd"] += passes
        self.statuses.append(rec.status)
        self.messages.append(rec.message)

    def finish(self, problem, dim, dt, lams, etas, t_total, notes=()):
        self.timing["total"] = time.perf_counter() - t_total
        n_seeds = len(self.seed_list)
        worst = max(self.statuses, key=int)
        bad = [m_ for st_, m_ in zip(self.statuses, self.messages) if st_ != Status.SUCCESS]
        if worst == Status.SUCCESS:
            message = f"{n_seeds} seed(s) completed"
        else:
            message = f"{len(bad)} of {n_seeds} seed(s) not successful; " + " | ".join(bad[:3])
        message += "".join(f"; WARNING: {n}" for n in notes)
        return SimulationResult(
            problem=problem,
            status=worst,
            message=message,
            seed=self.seed_list[0],
            timing=self.timing,
            t=np.arange(problem.steps + 1),
            per_seed=self.per_seed,
            seeds=np.asarray(self.seed_list),
            dim=dim,
            n=n_samples(problem.alpha, dim),
            dtype=dt.name,
            spectral=self.spectral,
            statuses=self.statuses,
            messages=self.messages,
            lams=lams,
            etas=etas,
            info=self.info,
        )


def simulate(
    problem,
    dim: int,
    seeds: Union[int, Sequence[int]] = 1,
    seed: int = 0,
    dtype: Optional[str] = None,
    progress: bool = False,
    *,
    lams=None,
    etas=None,
    method: Optional[str] = None,
    backend: Optional[str] = None,
    threads: Optional[int] = None,
    spectral: Optional[SpectralInitSettings] = None,
    bound: Optional[float] = None,
    chunk_rows: Optional[int] = None,
    data_threads: Optional[int] = None,
    settings: Optional[SimulationSettings] = None,
    workers: int = 0,
    scheduler: Optional[str] = None,
) -> SimulationResult:
    """Finite-size simulation of the two-stage algorithm (docs/theory.md §0).

    For each seed: draw (A, x*, y) (:func:`generate_data`), initialise (spectral: x0 = kappa v, v the top eigenvector
    of D = (1/alpha) A^T diag(T(y)) A; random; linear; given), run ``problem.steps`` steps of ``problem.algorithm``
    and record every observable of ``sidmft.OBSERVABLES`` at t = 0..steps.

    Parameters
    ----------
    problem : Problem
    dim : int
        Dimension d (n = round(alpha d)).
    seeds, seed : int or sequence of int, int
        A count (seeds ``seed, seed+1, ...``) or an explicit list; ``seed`` the first seed of a count.
    progress : bool
        tqdm progress bar on stderr.
    lams, etas : array_like, optional
        A batch of (lam, eta) pairs (broadcast together; eta the base step of ``problem.eta_schedule``) run on each
        seed's data from the same x0 by :func:`~sidmft.simulator.run_gd_batch`, one read of A per step for the
        whole batch; observables then have shape (n_seeds, B, steps+1).
    dtype, method, backend, threads, bound, spectral, chunk_rows, data_threads :
        The fields of :class:`SimulationSettings` as keywords (None: its default): ``dtype`` in {"float64",
        "float32", "complex128", "complex64"} (complex problems, docs/theory.md §7, map the real names to the
        complex ones), the GD stage (``backend`` in {"numba", "numpy", "jax"}, ``method`` its kernel), the
        eigensolver of the spectral start, and the data generation (speed only).
    settings : SimulationSettings, optional
        All of them in one object (not together with the keywords).
    workers, scheduler : int (>= 0), str, optional
        Each seed a Dask task on a LocalCluster of ``workers`` processes or on the scheduler ``tcp://HOST:PORT``:
        the numbers of a local run (on workers of the same CPU type and sidmft version).

    Returns
    -------
    SimulationResult
        A seed that raises is recorded with ``Status.FAILED`` and its message, the others kept; ``status`` is the
        worst over seeds.  The message warns of locally unstable samples (:mod:`sidmft.stability`) or a linear
        start that carries no information (an even link).

    Examples
    --------
    >>> from sidmft import Problem, simulate
    >>> sim = simulate(Problem(steps=5), dim=200, seeds=2)
    >>> sim.status.label, sim.mean("m").shape, bool(0 < sim.mean("m")[0] <= 1)
    ('success', (6,), True)
    """
    dim = _check_dim(dim)
    seed_list = _seed_list(seeds, seed)
    keywords = dict(dtype=dtype, method=method, backend=backend, threads=threads, bound=bound, spectral=spectral)
    cfg = resolve_settings(SimulationSettings, settings, **keywords, chunk_rows=chunk_rows, data_threads=data_threads)
    workers, scheduler = check_workers_scheduler(workers, scheduler)
    cfg, dt, lams_, etas_, shape = _check_run(problem, dim, len(seed_list), cfg, lams, etas)
    run, t_total = _Run(problem, seed_list, shape, progress), time.perf_counter()
    for k, rec in enumerate(_records(run, problem, dim, seed_list, cfg, lams_, etas_, workers, scheduler)):
        run.store(k, rec)
    return run.finish(problem, dim, dt, lams_, etas_, t_total, _notes(problem, dim))


def _records(run, problem, dim, seed_list, cfg, lams, etas, workers, scheduler) -> list:
    """The seeds' records (each seed FAILED with the message when the cluster itself fails)."""
    try:
        return run_seeds(problem, dim, seed_list, cfg, lams, etas, workers, scheduler, run.finished, run.step)
    except RuntimeError as e:  # the cluster failed (not the computation)
        return [SeedRecord(s, Status.FAILED, f"seed {s}: {e}") for s in seed_list]
    finally:
        if run.bar is not None:
            run.bar.close()


def _check_run(problem, dim: int, n_seeds: int, cfg, lams, etas):
    """The checked run: settings with the resolved dtype, that dtype, the (lam, eta) batch and the shape."""
    dt = resolve_dtype(cfg.dtype, problem.field)
    lams_ = etas_ = None
    shape: tuple[int, ...] = (n_seeds, problem.steps + 1)
    if lams is not None or etas is not None:
        lams_, etas_ = check_lams_etas(problem.lam if lams is None else lams, problem.eta if etas is None else etas)
        shape = (n_seeds, lams_.size, problem.steps + 1)
    if problem.init == "given" and np.shape(problem.x0) != (dim,):
        raise ValueError(f"x0 (init='given') must have length dim = {dim}; got shape {np.shape(problem.x0)}")
    _check_backend(cfg.gd, problem, etas_)
    return dataclasses.replace(cfg, dtype=dt.name), dt, lams_, etas_, shape


def _notes(problem, dim: int) -> list:
    """Warnings of a run: locally unstable samples (:mod:`sidmft.stability`), an uninformative linear start."""
    from ..stability import stability

    notes = []
    stab = stability(problem, n_samples(problem.alpha, dim), "samples of each seed")
    if stab.warning is not None:
        notes.append(stab.warning)
    if problem.init == "linear" and problem.model_obj.even:
        notes.append(
            "the linear start carries no information for an even link (E[T(y) z] = 0): x^0 is uncorrelated with x* "
            "up to O(1/sqrt(d)); use the spectral start"
        )
    return notes
