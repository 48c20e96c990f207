"""The entry point :func:`dmft`: spectral stage, batches, assembly of the result."""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..._settings import resolve_settings
from ...problem import Problem
from ...results import Status, Timer
from ._assemble import NO_MATCH, assemble, empty_fields, make_result
from ._checkpoint import Checkpoint, run_key
from ._core import BatchSolver  # noqa: F401  (the solver of each batch; kept importable here)
from ._input import EngineInput, LinearStart, RandomStart, SpectralStart, method_steps
from ._method import linear_stage, unsupported
from ._result import DMFTResult
from ._run import check_execution, solve_batches
from ._settings import DMFTSettings

__all__ = ["dmft", "DMFTResult", "DMFTSettings"]


_NO_MATCH = NO_MATCH


def _check_problem(problem) -> None:
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a sidmft.Problem; got {type(problem).__name__}")
    if problem.init not in ("spectral", "random", "linear"):
        raise ValueError(
            "init must be 'spectral', 'random' or 'linear' for the DMFT (init='given' is simulation only); "
            f"got {problem.init!r}"
        )


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}")
    return int(seed)


def _grad_jump_at_zero(problem) -> float:
    """Largest |l'(y, 0+) - l'(y, 0-)| over labels y drawn at 64 quantiles of z (0 for smooth losses)."""
    from scipy.special import ndtri

    z = ndtri((np.arange(64) + 0.5) / 64)
    y = np.asarray(problem.model_obj.sample(z, np.random.default_rng(0)), dtype=float)
    loss = problem.loss_obj
    with np.errstate(all="ignore"):
        d = np.asarray(loss.grad(y, np.full_like(y, 1e-12)) - loss.grad(y, np.full_like(y, -1e-12)), dtype=float)
    d = d[np.isfinite(d)]
    return float(np.max(np.abs(d))) if d.size else 0.0


def _grad_jumps(problem) -> Optional[str]:
    """Where l' jumps, in words (None when it is continuous): the loss's declaration (``Loss.jumps``); a loss
    that declares nothing is probed at r = 0."""
    loss = problem.loss_obj
    if loss.has_jumps is None:
        size = _grad_jump_at_zero(problem)
        return f"discontinuous at r = 0 (jump up to {size:.3g}, found by probing)" if size > 1e-8 else None
    if not loss.has_jumps:
        return None
    if callable(loss.jumps):
        return "declared discontinuous (Loss.jumps)"
    return "declared discontinuous at r in " + ", ".join(f"{j:g}" for j in loss.jumps)


def _empty_result(problem, status, message, seed, settings, naive, spectral_values=None, timing=None):
    """A result where nothing was computed (NaN observables), with its status and message."""
    fields = dict(status=status, message=message, **empty_fields(problem, settings))
    return make_result(problem, settings, seed, naive, timing or {}, spectral_values or {}, fields)


def dmft(
    problem: Problem,
    samples: Optional[int] = None,
    batches: Optional[int] = None,
    seed: int = 0,
    naive: bool = False,
    progress: bool = False,
    scores: Optional[str] = None,
    kernel: Optional[str] = None,
    precision: Optional[str] = None,
    threads: Optional[int] = None,
    allow_nonsmooth: bool = False,
    *,
    responses: Optional[str] = None,
    window: Optional[int] = None,
    settings: Optional[DMFTSettings] = None,
    workers: int = 0,
    scheduler: Optional[str] = None,
    checkpoint: Optional[str] = None,
) -> DMFTResult:
    """Monte-Carlo DMFT (docs/theory.md §2, §4, §6) for ``problem.steps`` steps: one causal forward pass
    (§4.1); Monte-Carlo error and variance reduction in the module docstring.

    Parameters
    ----------
    problem : Problem
        ``init`` must be ``"spectral"``, ``"random"`` or ``"linear"``; any registered ``algorithm``.
    samples, batches, scores, kernel, precision, threads, responses, window
        The Monte-Carlo settings (defaults 20000, 4, "lhs-orth", "auto", "float32", None, "auto", 32):
        see :class:`DMFTSettings` (``responses``: pathwise, hybrid for long horizons, or integration by
        parts for losses whose l' jumps).  Either these keywords or ``settings``, not both.
    seed : int
        Root seed (>= 0).
    naive : bool
        Demonstration only (docs/theory.md §2.5): treat the spectral start as data independent, i.e. run
        the random-init DMFT with m0 = kappa rho, q0 = kappa^2.  This is wrong.
    progress : bool
        tqdm progress bar on stderr.
    allow_nonsmooth : bool
        With ``responses="pathwise"``, solve even if l'(y, .) jumps (biased: a demonstration).
    settings : DMFTSettings, optional
        All Monte-Carlo settings in one object.
    workers, scheduler : int (>= 0), str, optional
        Each batch a Dask task on a LocalCluster of ``workers`` processes or on the scheduler
        ``tcp://HOST:PORT``; bitwise the local numbers (:mod:`sidmft.theory.dmft._run`).
    checkpoint : path, optional
        Directory keeping each finished batch; a rerun reuses them (:mod:`sidmft.theory.dmft._checkpoint`).

    Returns
    -------
    DMFTResult
        ``status``: SUCCESS; BLOWUP (heavy-tail instability, §3: some paths escape, the moments
        explode; observables from ``blowup_step`` on are NaN); BELOW_THRESHOLD (no spectral outlier,
        §5.6: the spectral seed is undefined); NOT_APPLICABLE (sup T = inf; an algorithm or start the
        DMFT does not cover yet; l' jumps (``Loss.jumps``) with pathwise responses: nothing computed).

    Examples
    --------
    Five GD steps of phase retrieval from the spectral start (small Monte-Carlo sizes for the example; see the
    guide on choosing sizes):

    >>> from sidmft import Problem, dmft
    >>> th = dmft(Problem(steps=5), samples=2000, batches=2, seed=0)
    >>> th.status.label, th.mean("m").shape, bool(abs(th.mean("m")[0] - th.spectral_overlap) < 1e-12)
    ('success', (6,), True)
    """
    _check_problem(problem)
    keywords = dict(samples=samples, batches=batches, scores=scores, precision=precision, kernel=kernel)
    keywords.update(threads=threads, responses=responses, window=window)
    settings = resolve_settings(DMFTSettings, settings, **keywords)
    seed, execution = _check_seed(seed), check_execution(workers, scheduler)
    if checkpoint is not None:  # refuses another run's directory before any work
        execution = execution.with_checkpoint(Checkpoint(checkpoint, run_key(problem, settings, seed, naive)))
    if naive and problem.init != "spectral":
        raise ValueError("naive=True only makes sense with init='spectral'")
    try:
        return _dmft(problem, settings, seed, naive, progress, allow_nonsmooth, execution)
    except (ArithmeticError, RuntimeError, np.linalg.LinAlgError) as e:
        # a numerical failure inside a stage (overflow, a failed factorisation, ...): a status, never raised
        return _empty_result(problem, Status.FAILED, f"DMFT failed: {type(e).__name__}: {e}", seed, settings, naive)


def _dmft(problem, settings, seed, naive, progress, allow_nonsmooth, execution=None):
    why = unsupported(problem)
    if why is not None:
        msg = f"the DMFT does not cover this first-order method: {why} (use simulate)"
        return _empty_result(problem, Status.NOT_APPLICABLE, msg, seed, settings, naive)
    jumps = _grad_jumps(problem)
    responses = settings.resolved_responses(jumps is not None, problem.steps, problem.field)
    if jumps is not None and responses == "pathwise" and not allow_nonsmooth:
        return _empty_result(
            problem,
            Status.NOT_APPLICABLE,
            f"loss {problem.loss!r} has l'(y, r) {jumps}: l'' then contains "
            "a delta that pathwise responses miss, and the DMFT is biased (measured for |r| - sqrt(y) on PR, "
            "alpha = 3, eta = lam = 0.1: m_30 = 0.876 against 0.865 +- 0.001 from simulation at d = 2000). "
            "Use responses='ibp' (or 'auto': Gaussian integration by parts, exact for such losses, docs/theory.md "
            "§6.8), or pass allow_nonsmooth=True to compute the biased pathwise DMFT anyway.",
            seed,
            settings,
            naive,
        )
    kernel = settings.resolved_kernel()
    timing: dict = {}
    with Timer() as total:
        inp, spectral_values, no_seed = _engine_input(problem, naive, responses, settings.window)
        if no_seed is not None:
            return _empty_result(problem, *no_seed, seed, settings, naive, spectral_values)
        outs = solve_batches(inp, settings, kernel, seed, progress, execution)
        with Timer() as tpost:
            fields = assemble(problem, inp, outs, settings, kernel, naive)
        timing["observables"] = tpost.seconds
    timing["total"] = total.seconds
    return make_result(problem, settings, seed, naive, timing, spectral_values, fields)


def _engine_input(problem, naive, responses, window):
    """(EngineInput or None, the spectral stage's values to report, (status, message) or None): the typed input of
    the forward pass, or why there is none (no spectral seed; a linear start without a finite E[T^2])."""
    base = dict(
        steps=problem.steps,
        alpha=problem.alpha,
        lam=problem.lam,
        loss=problem.loss_obj,
        model=problem.model_obj,
        method=method_steps(problem),  # the first-order method (docs/theory.md §6.1)
        responses=responses,
        window=window,
        field=problem.field,
    )
    if problem.init == "linear":  # docs/theory.md §6.6
        mu, e2 = linear_stage(problem)
        if not (np.isfinite(mu) and np.isfinite(e2) and e2 > 0):
            return None, {}, (Status.NOT_APPLICABLE, f"linear start needs 0 < E[T(y)^2] < inf; got {e2:g}")
        return EngineInput(start=LinearStart(problem.kappa_value(), problem.T, mu, e2), **base), {}, None
    if problem.init != "spectral":
        return EngineInput(start=RandomStart(problem.m0, problem.q0), **base), {}, None
    from ..spectral import spectral

    sp = spectral(problem, threshold=False)
    values = dict(spectral_overlap=float(sp.rho), top_eigenvalue=float(sp.top_eigenvalue), R_S=float(sp.R_S))
    if sp.status != Status.SUCCESS or not sp.passed:
        return None, values, _no_spectral_seed(problem, sp)
    kap = problem.kappa_value()
    if naive:
        return EngineInput(start=RandomStart(kap * sp.rho, kap * kap), **base), values, None
    sigma_ss = (1.0 - sp.rho**2) / sp.R_S**2
    values["Sigma_SS"] = sigma_ss
    start = SpectralStart(float(sp.rho), float(sp.R_S), kap, sigma_ss, problem.T)
    return EngineInput(start=start, **base), values, None


def _no_spectral_seed(problem, sp):
    """(status, message) when the spectral stage has no outlier or failed."""
    if sp.status != Status.FAILED:
        from ..spectral import spectral

        sp = spectral(problem)  # again with the threshold alpha_c, for the message
    st = sp.status if sp.status != Status.SUCCESS else Status.BELOW_THRESHOLD
    if st == Status.FAILED:
        return st, f"the spectral theory failed ({sp.message}); nothing computed"
    return st, (
        f"spectral initialisation has no outlier ({sp.message}); the DMFT seed is undefined "
        "below the threshold (docs/theory.md §5.6), nothing computed"
    )
