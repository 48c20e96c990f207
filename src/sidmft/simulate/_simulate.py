"""simulate(): the two-stage algorithm (spectral initialisation, then GD) over several seeds."""

from __future__ import annotations

import math
import sys
import time
from typing import Optional, Sequence, Union

import numpy as np

from ..results import OBSERVABLES, Status, Timer
from ._data import KEY_RANDOM_INIT, _check_dim, _check_seed, child_rng, generate_data, n_samples, resolve_dtype
from ._gd import DEFAULT_BOUND, check_lams_etas, run_gd, run_gd_batch
from ._spectral import spectral_init
from .result import SPECTRAL_FIELDS, SimulationResult

__all__ = ["simulate", "initial_point"]


def initial_point(data, problem, spectral_options=None):
    """x0 for ``problem.init`` on ``data``: (x0, SpectralInfo or None).

    spectral: x0 = kappa v (kappa = problem.kappa_value(y)); random: x0 = m0 x* + sqrt(q0 - m0^2) xi
    with xi a unit-direction vector orthogonal to x*, ||xi||^2 = d, drawn from the seed's own stream
    (independent of A); given: problem.x0.
    """
    d = data.d
    if problem.init == "spectral":
        v, info = spectral_init(data, problem, **(spectral_options or {}))
        return problem.kappa_value(data.y) * v, info
    if problem.init == "random":
        xs = data.x_star
        xi = child_rng(data.seed, KEY_RANDOM_INIT).standard_normal(d)
        xi -= (xi @ xs) / (xs @ xs) * xs
        xi *= math.sqrt(d) / np.linalg.norm(xi)
        return problem.m0 * xs + math.sqrt(max(problem.q0 - problem.m0 ** 2, 0.0)) * xi, None
    x0 = np.asarray(problem.x0, dtype=np.float64)
    if x0.shape != (d,):
        raise ValueError(f"x0 (init='given') must have length dim = {d}; got shape {x0.shape}")
    return x0.copy(), None


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


def simulate(problem, dim: int, seeds: Union[int, Sequence[int]] = 1, seed: int = 0, dtype="float64",
             progress: bool = False, *, lams=None, etas=None, method: str = "auto", threads: Optional[int] = None,
             spectral_options: Optional[dict] = None, bound: float = DEFAULT_BOUND, workers: Optional[int] = None,
             chunk_rows: Optional[int] = None) -> SimulationResult:
    """Finite-size simulation of the two-stage algorithm (THEORY.md §0).

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
    dtype : {"float64", "float32"}
    progress : bool
        tqdm progress bar on stderr.
    lams, etas : array_like, optional
        Run a batch of (lam, eta) pairs (broadcast together) on each seed's data from the same
        x0, advanced together with GEMMs; observables then have shape (n_seeds, B, steps+1).
    method : {"auto", "fused", "numpy"}
        GD kernel for single runs (see :func:`run_gd`).
    threads : int, optional
        numba threads (results do not depend on it).
    spectral_options : dict, optional
        Keyword arguments for :func:`spectral_init` (e.g. ``t_floor``, ``tol``, ``second=True``).
    bound : float
        Divergence bound factor.

    Returns
    -------
    SimulationResult
        A seed that raises is recorded with ``Status.FAILED`` and its message; the other seeds
        are kept.  ``status`` is the worst over seeds.
    """
    dim = _check_dim(dim)
    seed_list = _seed_list(seeds, seed)
    dt = resolve_dtype(dtype)
    steps = problem.steps
    batch = lams is not None or etas is not None
    if batch:
        lams_ = problem.lam if lams is None else lams
        etas_ = problem.eta if etas is None else etas
        lams_, etas_ = check_lams_etas(lams_, etas_)
        shape = (len(seed_list), lams_.size, steps + 1)
    else:
        lams_ = etas_ = None
        shape = (len(seed_list), steps + 1)
    if problem.init == "given" and np.shape(problem.x0) != (dim,):
        raise ValueError(f"x0 (init='given') must have length dim = {dim}; got shape {np.shape(problem.x0)}")
    if method not in ("auto", "fused", "numpy"):
        raise ValueError(f"method must be one of ['auto', 'fused', 'numpy']; got {method!r}")

    per_seed = {k: np.full(shape, np.nan) for k in OBSERVABLES}
    spectral = {k: np.full(len(seed_list), np.nan) for k in SPECTRAL_FIELDS}
    statuses, messages = [], []
    timing = {"data": 0.0, "spectral": 0.0, "gd": 0.0}
    info = {"gd_method": None, "spectral_method": None, "passes_gd": 0}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(seed_list) * (steps + 1), file=sys.stderr, desc="simulate", unit="step", leave=False)
    t_total = time.perf_counter()
    try:
        for k, s in enumerate(seed_list):
            done = [0]

            def cb(t, _done=done):
                _done[0] += 1
                if bar is not None:
                    bar.update(1)

            try:
                with Timer() as tm:
                    data = generate_data(problem, dim, s, dt, chunk_rows=chunk_rows, workers=workers)
                timing["data"] += tm.seconds
                with Timer() as tm:
                    x0, sinfo = initial_point(data, problem, spectral_options)
                timing["spectral"] += tm.seconds
                st, msg = Status.SUCCESS, ""
                if sinfo is not None:
                    spectral["spectral_overlap"][k] = sinfo.overlap
                    spectral["spectral_overlap_sq"][k] = sinfo.overlap_sq
                    spectral["spectral_raw_overlap"][k] = sinfo.raw_overlap
                    spectral["spectral_sign"][k] = sinfo.sign
                    spectral["top_eigenvalue"][k] = sinfo.top_eigenvalue
                    spectral["second_eigenvalue"][k] = sinfo.second_eigenvalue
                    spectral["spectral_passes"][k] = sinfo.passes
                    spectral["spectral_residual"][k] = sinfo.residual
                    spectral["spectral_n_floored"][k] = sinfo.n_floored
                    info["spectral_method"] = sinfo.method
                    info["t_floor"] = sinfo.t_floor
                    info["spectral_tol"] = sinfo.tol
                    if sinfo.status != Status.SUCCESS:
                        st, msg = sinfo.status, sinfo.message
                if batch:
                    traj = run_gd_batch(data, x0, problem, lams_, etas_, bound=bound, callback=cb,
                                        threads=threads)
                else:
                    traj = run_gd(data, x0, problem, method=method, threads=threads, bound=bound, callback=cb)
                timing["gd"] += traj.seconds
                info["gd_method"] = traj.method
                info["passes_gd"] += traj.passes
                for name in OBSERVABLES:
                    per_seed[name][k] = traj.obs[name]
                if int(traj.status) > int(st):
                    st = traj.status
                msg = "; ".join(m_ for m_ in (msg, traj.message) if m_)
                statuses.append(st)
                messages.append(f"seed {s}: {msg}" if msg else "")
                del data
            except (MemoryError, Exception) as e:  # keep the other seeds
                statuses.append(Status.FAILED)
                messages.append(f"seed {s}: {type(e).__name__}: {e}")
            if bar is not None:
                bar.update(steps + 1 - done[0])
    finally:
        if bar is not None:
            bar.close()
    timing["total"] = time.perf_counter() - t_total
    worst = max(statuses, key=int)
    bad = [m_ for st_, m_ in zip(statuses, messages) if st_ != Status.SUCCESS]
    if worst == Status.SUCCESS:
        message = f"{len(seed_list)} seed(s) completed"
    else:
        message = f"{len(bad)} of {len(seed_list)} seed(s) not successful; " + " | ".join(bad[:3])
    return SimulationResult(problem=problem, status=worst, message=message, seed=seed_list[0], timing=timing,
                            t=np.arange(steps + 1), per_seed=per_seed, seeds=np.asarray(seed_list), dim=dim,
                            n=n_samples(problem.alpha, dim), dtype=dt.name, spectral=spectral, statuses=statuses,
                            messages=messages, lams=lams_, etas=etas_, info=info)
