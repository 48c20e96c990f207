"""simulate(): the two-stage algorithm (spectral initialisation, then GD) over several seeds."""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Sequence
from typing import Optional, Union

import numpy as np
from threadpoolctl import threadpool_limits

from .._settings import resolve_settings
from ..results import OBSERVABLES, Status
from ._batch import batch_etas, check_lams_etas
from ._data import KEY_RANDOM_INIT, _check_dim, _check_seed, child_rng, n_samples, resolve_dtype
from ._seeds import SeedRecord, run_seeds
from ._settings import SimulationSettings, SpectralInitSettings
from ._spectral import spectral_init
from ._steps import check_jax_algorithm
from .result import SPECTRAL_FIELDS, SimulationResult

__all__ = ["simulate", "initial_point"]


def initial_point(data, problem, spectral=None):
    """x0 for ``problem.init`` on ``data``: (x0, SpectralInfo or None).

    spectral: x0 = kappa v (kappa = problem.kappa_value(y)); random: x0 = m0 x* + sqrt(q0 - m0^2) xi
    with xi a unit-direction vector orthogonal to x*, ||xi||^2 = d, drawn from the seed's own stream
    (independent of A); given: problem.x0; linear: x0 = kappa sqrt(d) u/||u|| with u = A^T T(y)
    (T = problem.T, the identity unless a preprocessing is given).  ``spectral``:
    :class:`SpectralInitSettings` (or a dict of its fields) for :func:`spectral_init`.

    Complex data (docs/theory.md §7): v has x*^H v > 0; the random start draws xi ~ CN(0, I) (its
    standard_normal(2d) read as complex), removes its component along x* (xi -= (x*^H xi/d) x*) and
    normalises it to ||xi||^2 = d; the linear start uses u = A^H T(y).
    """
    d = data.d
    if problem.init == "linear":
        return _linear_start(data, problem), None
    if problem.init == "spectral":
        v, info = spectral_init(data, problem, spectral)
        if info.status == Status.FAILED:
            return v, info
        my = float(np.mean(data.y))
        if isinstance(problem.kappa, str) and not my > 0:
            # E[y] > 0 is checked by Problem; a small sample can still have mean(y) <= 0
            info.status = Status.FAILED
            info.message = "; ".join(
                m
                for m in (
                    info.message,
                    f"kappa='empirical' needs mean(y) > 0 on the data; "
                    f"this sample has mean(y) = {my:.3g} (n = {data.n})",
                )
                if m
            )
            return np.full(d, np.nan), info
        return problem.kappa_value(data.y) * v, info
    if problem.init == "random":
        xs = data.x_star
        if data.field == "complex":
            xi = child_rng(data.seed, KEY_RANDOM_INIT).standard_normal(2 * d).view(np.complex128)
            xi -= np.vdot(xs, xi) / np.vdot(xs, xs).real * xs
        else:
            xi = child_rng(data.seed, KEY_RANDOM_INIT).standard_normal(d)
            xi -= (xi @ xs) / (xs @ xs) * xs
        xi *= math.sqrt(d) / np.linalg.norm(xi)
        return problem.m0 * xs + math.sqrt(max(problem.q0 - problem.m0**2, 0.0)) * xi, None
    x0 = np.asarray(problem.x0, dtype=np.float64)
    if x0.shape != (d,):
        raise ValueError(f"x0 (init='given') must have length dim = {d}; got shape {x0.shape}")
    return x0.copy(), None


def _linear_start(data, problem):
    """x0 = kappa sqrt(d) u/||u||, u = A^T T(y) (complex: A^H T(y) = conj(A^T T(y)) for real T; one BLAS pass
    in float64 or complex128, one thread)."""
    w = np.asarray(problem.T(data.y), dtype=np.float64)
    with threadpool_limits(1):
        if data.field == "complex":
            u = np.conj(data.A.T.astype(np.complex128, copy=False) @ w)
        else:
            u = data.A.T.astype(np.float64, copy=False) @ w
    norm = float(np.linalg.norm(u))
    if not (math.isfinite(norm) and norm > 0):
        raise ValueError(f"init='linear': u = A^T T(y) has norm {norm:g}; no direction to start from")
    return problem.kappa_value(data.y) * math.sqrt(data.d) / norm * u


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
        self.timing = {"data": 0.0, "spectral": 0.0, "gd": 0.0}
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

    For each seed: draw (A, x*, y) (:func:`generate_data`), initialise (spectral: x0 = kappa v, the
    top eigenvector of D = (1/alpha) A^T diag(T(y)) A; random; linear; given), run ``problem.steps`` steps of
    ``problem.algorithm`` and record every observable of ``sidmft.OBSERVABLES`` at t = 0..steps.

    Parameters
    ----------
    problem : Problem
    dim : int
        Dimension d (n = round(alpha d)).
    seeds : int or sequence of int
        A count (seeds ``seed, seed+1, ...``) or an explicit list.
    seed : int
        First seed when ``seeds`` is a count.
    progress : bool
        tqdm progress bar on stderr.
    lams, etas : array_like, optional
        Run a batch of (lam, eta) pairs (broadcast together) on each seed's data from the same
        x0, advanced together by :func:`~sidmft.simulator.run_gd_batch` (any
        ``problem.algorithm``; eta is the base step of ``problem.eta_schedule``; one read of A
        per step for the whole batch); observables then have shape (n_seeds, B, steps+1).
    dtype, method, backend, threads, bound, spectral, chunk_rows, data_threads :
        The fields of :class:`SimulationSettings` as keywords (None: its default): ``dtype`` in {"float64",
        "float32", "complex128", "complex64"} (complex problems, docs/theory.md §7, map the real names to the
        complex ones), the GD stage (``backend`` in {"numba", "numpy", "jax"}, ``method`` its kernel), the
        eigensolver of the spectral start, and the data generation (speed only).
    settings : SimulationSettings, optional
        All of them in one object (not together with the keywords).
    workers, scheduler : int (>= 0), str, optional
        Run each seed as a Dask task on a LocalCluster of ``workers`` processes or on the scheduler
        ``tcp://HOST:PORT``: the same numbers as a local run (workers of the same CPU type and sidmft version).

    Returns
    -------
    SimulationResult
        A seed that raises is recorded with ``Status.FAILED`` and its message; the other seeds
        are kept.  ``status`` is the worst over seeds.  The message warns when samples are locally unstable
        (:mod:`sidmft.stability`) or a linear start carries no information (an even link).

    Examples
    --------
    >>> from sidmft import Problem, simulate
    >>> sim = simulate(Problem(steps=5), dim=200, seeds=2)
    >>> sim.status.label, sim.mean("m").shape, bool(0 < sim.mean("m")[0] <= 1)
    ('success', (6,), True)
    """
    from .._dask import check_workers_scheduler

    dim = _check_dim(dim)
    seed_list = _seed_list(seeds, seed)
    keywords = dict(dtype=dtype, method=method, backend=backend, threads=threads, bound=bound, spectral=spectral)
    keywords.update(chunk_rows=chunk_rows, data_threads=data_threads)
    cfg = resolve_settings(SimulationSettings, settings, **keywords)
    workers, scheduler = check_workers_scheduler(workers, scheduler)
    dt = resolve_dtype(cfg.dtype, problem.field)
    lams_ = etas_ = None
    shape: tuple[int, ...] = (len(seed_list), problem.steps + 1)
    if lams is not None or etas is not None:
        lams_, etas_ = check_lams_etas(problem.lam if lams is None else lams, problem.eta if etas is None else etas)
        shape = (len(seed_list), lams_.size, problem.steps + 1)
    if problem.init == "given" and np.shape(problem.x0) != (dim,):
        raise ValueError(f"x0 (init='given') must have length dim = {dim}; got shape {np.shape(problem.x0)}")
    _check_backend(cfg.gd, problem, etas_)
    cfg = dataclasses.replace(cfg, dtype=dt.name)
    run = _Run(problem, seed_list, shape, progress)
    t_total = time.perf_counter()
    try:
        records = run_seeds(problem, dim, seed_list, cfg, lams_, etas_, workers, scheduler, run.finished, run.step)
    except RuntimeError as e:  # the cluster failed (not the computation)
        records = [SeedRecord(s, Status.FAILED, f"seed {s}: {e}") for s in seed_list]
    finally:
        if run.bar is not None:
            run.bar.close()
    for k, rec in enumerate(records):
        run.store(k, rec)
    return run.finish(problem, dim, dt, lams_, etas_, t_total, _notes(problem, dim))


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
