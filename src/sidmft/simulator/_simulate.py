"""simulate(): the two-stage algorithm (spectral initialisation, then GD) over several seeds."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from typing import Optional, Union

import numpy as np
from threadpoolctl import threadpool_limits

from ..results import OBSERVABLES, Status, Timer
from ._batch import batch_etas, check_lams_etas, run_gd_batch
from ._data import KEY_RANDOM_INIT, _check_dim, _check_seed, child_rng, generate_data, n_samples, resolve_dtype
from ._gd import run_gd
from ._settings import DEFAULT_BOUND, GDSettings, SpectralInitSettings
from ._spectral import spectral_init
from ._steps import check_jax_algorithm
from .result import SPECTRAL_FIELDS, SimulationResult

__all__ = ["simulate", "initial_point"]

#: SpectralInfo attribute stored in ``SimulationResult.spectral[name]`` (per seed)
_SPECTRAL_ATTR = {
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


def _spectral_settings(spectral) -> SpectralInitSettings:
    """The eigensolver settings of a run (defaults when ``spectral`` is None)."""
    if spectral is None:
        return SpectralInitSettings()
    if not isinstance(spectral, SpectralInitSettings):
        raise TypeError(f"spectral must be a SpectralInitSettings; got {type(spectral).__name__}")
    return spectral


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
    """Per-seed arrays of one :func:`simulate` call, filled seed by seed."""

    def __init__(self, problem, seed_list, shape, progress):
        self.problem, self.seed_list = problem, seed_list
        self.per_seed = {k: np.full(shape, np.nan) for k in OBSERVABLES}
        self.spectral = {k: np.full(len(seed_list), np.nan) for k in SPECTRAL_FIELDS}
        self.statuses, self.messages = [], []
        self.timing = {"data": 0.0, "spectral": 0.0, "gd": 0.0}
        self.info = {"gd_method": None, "spectral_method": None, "passes_gd": 0}
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=len(seed_list) * (problem.steps + 1), file=sys.stderr, desc="simulate", unit="step", leave=False
            )

    def store_spectral(self, k, sinfo):
        for name, attr in _SPECTRAL_ATTR.items():
            self.spectral[name][k] = getattr(sinfo, attr)
        self.info.update(spectral_method=sinfo.method, t_floor=sinfo.t_floor, spectral_tol=sinfo.tol)

    def store_gd(self, k, traj):
        self.timing["gd"] += traj.seconds
        self.info["gd_method"] = traj.method
        self.info["passes_gd"] += traj.passes
        for name in OBSERVABLES:
            self.per_seed[name][k] = traj.obs[name]

    def finish(self, problem, dim, dt, lams, etas, t_total):
        self.timing["total"] = time.perf_counter() - t_total
        n_seeds = len(self.seed_list)
        worst = max(self.statuses, key=int)
        bad = [m_ for st_, m_ in zip(self.statuses, self.messages) if st_ != Status.SUCCESS]
        if worst == Status.SUCCESS:
            message = f"{n_seeds} seed(s) completed"
        else:
            message = f"{len(bad)} of {n_seeds} seed(s) not successful; " + " | ".join(bad[:3])
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


def _one_seed(run, k, s, dim, dt, spec, gd, lams, etas, data_kw):
    """Data, initial point and GD for seed ``s`` (index ``k``); appends its status and message."""
    problem, done = run.problem, [0]

    def cb(t):
        done[0] += 1
        if run.bar is not None:
            run.bar.update(1)

    try:
        with Timer() as tm:
            data = generate_data(problem, dim, s, dt, **data_kw)
        run.timing["data"] += tm.seconds
        with Timer() as tm:
            x0, sinfo = initial_point(data, problem, spec)
        run.timing["spectral"] += tm.seconds
        st, msg = Status.SUCCESS, ""
        if sinfo is not None:
            run.store_spectral(k, sinfo)
            if sinfo.status != Status.SUCCESS:
                st, msg = sinfo.status, sinfo.message
        if sinfo is not None and sinfo.status == Status.FAILED:  # no start vector: GD is not run
            run.statuses.append(st)
            run.messages.append(f"seed {s}: spectral initialisation failed: {msg}; GD not run")
        else:
            if lams is not None:
                traj = run_gd_batch(data, x0, problem, lams, etas, bound=gd.bound, callback=cb, threads=gd.threads)
            else:
                traj = run_gd(
                    data,
                    x0,
                    problem,
                    method=gd.kernel,
                    threads=gd.threads,
                    bound=gd.bound,
                    callback=cb,
                    backend=gd.backend,
                )
            run.store_gd(k, traj)
            st = max(st, traj.status, key=int)
            msg = "; ".join(m_ for m_ in (msg, traj.message) if m_)
            run.statuses.append(st)
            run.messages.append(f"seed {s}: {msg}" if msg else "")
        del data
    except (MemoryError, Exception) as e:  # keep the other seeds
        run.statuses.append(Status.FAILED)
        run.messages.append(f"seed {s}: unexpected {type(e).__name__}: {e}")
    if run.bar is not None:
        run.bar.update(problem.steps + 1 - done[0])


def simulate(
    problem,
    dim: int,
    seeds: Union[int, Sequence[int]] = 1,
    seed: int = 0,
    dtype="float64",
    progress: bool = False,
    *,
    lams=None,
    etas=None,
    method: str = "auto",
    backend: str = "numba",
    threads: Optional[int] = None,
    spectral: Optional[SpectralInitSettings] = None,
    bound: float = DEFAULT_BOUND,
    workers: Optional[int] = None,
    chunk_rows: Optional[int] = None,
) -> SimulationResult:
    """Finite-size simulation of the two-stage algorithm (docs/theory.md §0).

    For each seed: draw (A, x*, y) (:func:`generate_data`), initialise (spectral: x0 = kappa v, the
    top eigenvector of D = (1/alpha) A^T diag(T(y)) A; random; given), run ``problem.steps`` GD steps
    and record every observable of ``sidmft.OBSERVABLES`` at t = 0..steps.

    Parameters
    ----------
    problem : Problem
    dim : int
        Dimension d (n = round(alpha d)).
    seeds : int or sequence of int
        A count (seeds ``seed, seed+1, ...``) or an explicit list.
    seed : int
        First seed when ``seeds`` is a count.
    dtype : {"float64", "float32", "complex128", "complex64"}
        Storage type of A; for ``problem.field == "complex"`` (docs/theory.md §7) "float64"/"float32"
        mean complex128/complex64 and the complex names are accepted.
    progress : bool
        tqdm progress bar on stderr.
    lams, etas : array_like, optional
        Run a batch of (lam, eta) pairs (broadcast together) on each seed's data from the same
        x0, advanced together by :func:`~sidmft.simulator.run_gd_batch` (any
        ``problem.algorithm``; eta is the base step of ``problem.eta_schedule``; one read of A
        per step for the whole batch); observables then have shape (n_seeds, B, steps+1).
    method, backend, threads, bound :
        GD settings, validated by :class:`GDSettings`: ``backend`` in {"numba", "numpy", "jax"}
        (``jax`` needs ``pip install sidmft[jax]``), ``method`` the numba kernel.
    spectral : SpectralInitSettings, optional
        Eigensolver settings of the spectral initialisation (defaults when omitted).
    workers, chunk_rows :
        Data generation (results do not depend on them).

    Returns
    -------
    SimulationResult
        A seed that raises is recorded with ``Status.FAILED`` and its message; the other seeds
        are kept.  ``status`` is the worst over seeds.
    """
    dim = _check_dim(dim)
    seed_list = _seed_list(seeds, seed)
    dt = resolve_dtype(dtype, problem.field)
    batch = lams is not None or etas is not None
    lams_ = etas_ = None
    shape: tuple[int, ...] = (len(seed_list), problem.steps + 1)
    if batch:
        lams_, etas_ = check_lams_etas(problem.lam if lams is None else lams, problem.eta if etas is None else etas)
        shape = (len(seed_list), lams_.size, problem.steps + 1)
    if problem.init == "given" and np.shape(problem.x0) != (dim,):
        raise ValueError(f"x0 (init='given') must have length dim = {dim}; got shape {np.shape(problem.x0)}")
    gd = GDSettings(backend=backend, method=method, threads=threads, bound=bound)
    _check_backend(gd, problem, etas_)
    spec = _spectral_settings(spectral)
    run = _Run(problem, seed_list, shape, progress)
    t_total = time.perf_counter()
    try:
        for k, s in enumerate(seed_list):
            _one_seed(run, k, s, dim, dt, spec, gd, lams_, etas_, dict(chunk_rows=chunk_rows, workers=workers))
    finally:
        if run.bar is not None:
            run.bar.close()
    return run.finish(problem, dim, dt, lams_, etas_, t_total)
