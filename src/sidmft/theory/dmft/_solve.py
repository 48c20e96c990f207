"""The entry point :func:`dmft`: spectral stage, batches, assembly of the result."""

from __future__ import annotations

from typing import Optional

import numpy as np

from ...algorithms import DEFAULT_ALGORITHM
from ...numerics import standard_error
from ...problem import Problem
from ...results import OBSERVABLES, Status, Timer
from .._settings import resolve_settings
from ._checkpoint import Checkpoint, run_key
from ._core import BatchSolver  # noqa: F401  (the solver of each batch; kept importable here)
from ._dask import check_execution
from ._method import algorithm_ctx, grad_norm, linear_stage, unsupported
from ._result import DMFTResult
from ._run import solve_batches
from ._settings import DMFTSettings

__all__ = ["dmft", "DMFTResult", "DMFTSettings"]


_NO_MATCH = "the scores were not moment-matched (larger Monte-Carlo error; use fewer batches or more samples)"


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


def _empty_result(problem, status, message, seed, settings, naive, extra=None):
    n_steps = problem.steps
    nan = np.full(n_steps + 1, np.nan)
    obs = {}
    for k in OBSERVABLES:
        obs[k] = nan.copy()
        obs[k + "_se"] = nan.copy()
    return _result(problem, status, message, seed, settings, naive, extra, obs=obs)


def _result(problem, status, message, seed, settings, naive, extra, **fields) -> DMFTResult:
    """A DMFTResult with the common fields, ``fields`` and the ``extra`` attributes (spectral stage)."""
    res = DMFTResult(
        problem=problem,
        status=status,
        message=message,
        seed=seed,
        t=np.arange(problem.steps + 1),
        samples=settings.paths_used,
        batches=settings.batches,
        naive=naive,
        **fields,
    )
    for k, v in (extra or {}).items():
        setattr(res, k, v)
    return res


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
        ``tcp://HOST:PORT``; bitwise the local numbers (:mod:`sidmft.theory.dmft._dask`).
    checkpoint : path, optional
        Directory keeping each finished batch; a rerun reuses them (:mod:`sidmft.theory.dmft._checkpoint`).

    Returns
    -------
    DMFTResult
        ``status``: SUCCESS; BLOWUP (heavy-tail instability, §3: some paths escape, the moments
        explode; observables from ``blowup_step`` on are NaN); BELOW_THRESHOLD (no spectral outlier,
        §5.6: the spectral seed is undefined); NOT_APPLICABLE (sup T = inf; an algorithm or start the
        DMFT does not cover yet; l' jumps (``Loss.jumps``) with pathwise responses: nothing computed).
    """
    _check_problem(problem)
    settings = resolve_settings(
        DMFTSettings,
        settings,
        samples=samples,
        batches=batches,
        scores=scores,
        precision=precision,
        kernel=kernel,
        threads=threads,
        responses=responses,
        window=window,
    )
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
    responses = settings.resolved_responses(jumps is not None, problem.steps)
    if jumps is not None and responses == "pathwise" and not allow_nonsmooth:
        return _empty_result(
            problem,
            Status.NOT_APPLICABLE,
            f"loss {problem.loss!r} has l'(y, r) {jumps}: l'' then contains "
            "a delta that pathwise responses miss, and the DMFT is biased (measured for the amplitude loss, PR, "
            "alpha = 3, eta = lam = 0.1: m_30 = 0.876 against 0.865 +- 0.001 from simulation at d = 2000). "
            "Use responses='ibp' (or 'auto': Gaussian integration by parts, exact for such losses, docs/theory.md "
            "§6.8), or pass allow_nonsmooth=True to compute the biased pathwise DMFT anyway.",
            seed,
            settings,
            naive,
        )
    kernel = settings.resolved_kernel()
    timing = {}
    with Timer() as total:
        ctx, extra, no_seed = _stage_inputs(problem, naive)
        ctx["responses"] = responses
        ctx["window"] = settings.window
        if no_seed is not None:
            return _empty_result(problem, *no_seed, seed, settings, naive, extra)
        outs = solve_batches(ctx, settings, kernel, seed, progress, execution)
        with Timer() as tpost:
            res = _assemble(problem, ctx, outs, seed, settings, kernel, naive, extra)
        timing["observables"] = tpost.seconds
    timing["total"] = total.seconds
    res.timing = timing
    return res


def _stage_inputs(problem, naive):
    """(ctx, extra, no_seed): the inputs of the forward pass (ctx), the spectral stage's values to
    report (extra) and, where the spectral seed is undefined, the (status, message) to return."""
    ctx = dict(
        steps=problem.steps,
        alpha=problem.alpha,
        eta=problem.eta,
        lam=problem.lam,
        loss=problem.loss_obj,
        model=problem.model_obj,
    )
    ctx.update(algorithm_ctx(problem))  # the first-order method (docs/theory.md §6.1)
    if problem.init == "linear":  # docs/theory.md §6.6
        mu, e2 = linear_stage(problem)
        ctx.update(mode="linear", kappa=problem.kappa_value(), preprocess=problem.T, mu_L=mu, ET2_L=e2)
        if not (np.isfinite(mu) and np.isfinite(e2) and e2 > 0):
            return ctx, {}, (Status.NOT_APPLICABLE, f"linear start needs 0 < E[T(y)^2] < inf; got {e2:g}")
        return ctx, {}, None
    if problem.init != "spectral":
        ctx.update(mode="random", m0=problem.m0, q0=problem.q0)
        return ctx, {}, None
    from ..spectral import spectral

    sp = spectral(problem, threshold=False)
    extra = dict(spectral_overlap=float(sp.rho), top_eigenvalue=float(sp.top_eigenvalue), R_S=float(sp.R_S))
    if sp.status != Status.SUCCESS or not sp.passed:
        return ctx, extra, _no_spectral_seed(problem, sp)
    kap = problem.kappa_value()
    if naive:
        ctx.update(mode="random", m0=kap * sp.rho, q0=kap * kap)
    else:
        ctx.update(
            mode="spectral",
            rho=float(sp.rho),
            R_S=float(sp.R_S),
            kappa=kap,
            Sigma_SS=(1.0 - sp.rho**2) / sp.R_S**2,
            preprocess=problem.T,
        )
        extra["Sigma_SS"] = ctx["Sigma_SS"]
    return ctx, extra, None


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


_SAMPLE_SIDE = ("train_loss", "objective", "grad_norm")


def _mask_blowup(arrs, b, tb):
    """NaN from the blow-up step tb: sample-side averages (train loss, objective, gradient norm)
    from tb on, kernel-derived observables (m, q, ...), which use averages of steps < t, from tb + 1."""
    for k in list(arrs):
        base = k[:-3] if k.endswith("_se") else k
        start = tb if base in _SAMPLE_SIDE else tb + 1
        if b is None:
            arrs[k][start:] = np.nan
        else:
            arrs[k][b, start:] = np.nan


def _per_batch(problem, outs, ctx):
    """Observables of each batch, dict name -> (batches, steps + 1), NaN from its blow-up step."""
    n_steps = problem.steps
    per = {k: np.full((len(outs), n_steps + 1), np.nan) for k in OBSERVABLES}
    for b, o in enumerate(outs):
        c, Cx = o["c"], o["Cx"]
        m = c[: n_steps + 1]
        q = np.diag(Cx)[: n_steps + 1]
        per["m"][b] = m
        per["q"][b] = q
        with np.errstate(invalid="ignore", divide="ignore"):
            per["cosine"][b] = m / np.sqrt(q)
        per["error"][b] = 1 + q - 2 * np.abs(m)
        per["train_loss"][b] = o["train"]
        per["objective"][b] = o["train"] + problem.lam * q / 2
        per["grad_norm"][b] = grad_norm(problem, ctx, o)
        if o["blowup_step"] is not None:
            _mask_blowup(per, b, o["blowup_step"])
        ok = np.isfinite(per["m"][b]) & np.isfinite(per["q"][b])
        te = np.full(n_steps + 1, np.nan)
        if ok.any():
            te[ok] = problem.model_obj.test_error(per["m"][b][ok], np.maximum(per["q"][b][ok], 0.0))
        per["test_error"][b] = te
    return per


def _batch_kernels(outs, n_steps, spectral):
    """Kernels averaged over batches, relabelled for users (see :class:`DMFTResult`)."""

    def avg(key, sl):
        return np.mean([sl(o[key]) for o in outs], axis=0)

    n = n_steps + 1
    nan = np.full(n, np.nan)
    kern = dict(
        C_x=avg("Cx", lambda a: a[:n, :n]),
        R_x=avg("Rx", lambda a: a[:n, 1 : n + 1]),
        Sigma=avg("Sig", lambda a: a[1 : n + 1, 1 : n + 1]),
        mu=avg("mu", lambda a: a),
    )
    if spectral:
        kern["R_g"] = avg("Rg", lambda a: np.concatenate([np.full((n, 1), np.nan), a[:, 2 : n + 1]], axis=1))
        kern.update(
            R_g_S=avg("Rg", lambda a: a[:, 1]),
            C_x_v=avg("Cv", lambda a: a[:n]),
            R_x_S=avg("Rx", lambda a: a[:n, 0]),
            Sigma_S=avg("Sig", lambda a: a[0, 1 : n + 1]),
        )
    else:
        kern.update(
            R_g=avg("Rg", lambda a: a[:, 1 : n + 1]),
            R_g_S=nan,
            C_x_v=nan.copy(),
            R_x_S=avg("Rx", lambda a: a[:n, 0]),
            Sigma_S=nan.copy(),
        )
    return kern


def _nanmax_rows(a):
    """Column-wise max ignoring NaN; NaN (without a warning) where a whole column is NaN (after a blow-up)."""
    out = np.full(a.shape[1:], np.nan)
    ok = ~np.all(np.isnan(a), axis=0)
    out[ok] = np.nanmax(a[:, ok], axis=0)
    return out


def _assemble(problem, ctx, outs, seed, settings, kernel, naive, extra):
    n_steps, batches, n_paths = problem.steps, settings.batches, settings.paths_per_batch
    per = _per_batch(problem, outs, ctx)
    obs = {}
    for k in OBSERVABLES:
        obs[k] = per[k].mean(axis=0)
        obs[k + "_se"] = standard_error(per[k], axis=0)
    maxr = _nanmax_rows(np.array([o["maxr"] for o in outs])) if outs else None
    diagnostics = dict(
        min_schur=float(min(o["min_schur"] for o in outs)),
        max_abs_r=maxr,
        scores=settings.scores,
        kernel=kernel,
        naive=bool(naive),
        paths_per_batch=n_paths,
        responses=str(ctx.get("responses", "pathwise")),
        window=int(ctx.get("window", 0)) if ctx.get("responses") == "hybrid" else 0,
    )
    blow_steps = [o["blowup_step"] for o in outs if o["blowup_step"] is not None]
    if blow_steps:
        tb = int(min(blow_steps))
        _mask_blowup(obs, None, tb)
        status = Status.BLOWUP
        message = (
            f"heavy-tail blow-up (docs/theory.md §3): Monte-Carlo moments exploded in {len(blow_steps)} of "
            f"{batches} batches, beginning at step {tb} (max |r| = {np.nanmax(maxr):.3g}); train loss, "
            f"objective and gradient norm from step {tb} on and m, q, ... from step {tb + 1} on are NaN. "
            "Reduce eta or use a loss with bounded l''."
        )
    else:
        tb = None
        status = Status.SUCCESS
        how = (
            "naive: spectral start treated as data independent, demonstration only, docs/theory.md §2.5"
            if naive
            else ctx["mode"] + " init"
        )
        message = f"DMFT solved: {n_steps} steps, {batches} x {n_paths} paths ({how})"
        if problem.algorithm != DEFAULT_ALGORITHM:
            message += f", algorithm {problem.algorithm!r}"
        if ctx["probe"]:
            message += " (grad_norm from a probe field, docs/theory.md §6.7)"
        if settings.scores == "lhs-orth" and n_paths <= 2 * (n_steps + 2):
            message += f"; note: {n_paths} paths per batch <= 2 (steps + 2): {_NO_MATCH}"
    kernels = _batch_kernels(outs, n_steps, ctx["mode"] == "spectral")
    return _result(
        problem,
        status,
        message,
        seed,
        settings,
        naive,
        extra,
        per_batch=per,
        blowup_step=tb,
        diagnostics=diagnostics,
        obs=obs,
        **kernels,
    )
