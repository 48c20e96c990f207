"""The entry point :func:`fixed_point`: solve (F1)-(F3), fill the result, attach the rate."""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Optional, Union

import numpy as np

from ...problem import Problem
from ...results import Status, Timer
from .._settings import resolve_settings
from ..rate._predict import predict_rate
from ._law import NUMERIC_ERRORS, FixedPointLaw, Moments
from ._law_complex import law_for
from ._result import FixedPointResult
from ._settings import DEFAULT_QUAD, FixedPointQuadrature, FixedPointSettings
from ._solver import Solution, failed_solution, solve

__all__ = [
    "fixed_point",
    "FixedPointResult",
    "FixedPointLaw",
    "FixedPointSettings",
    "FixedPointQuadrature",
    "DEFAULT_QUAD",
]


# ---------------------------------------------------------------------------------------- entry point
def _start_guess(start):
    """(m, q, gamma or None) from a start object, or None."""
    if start is None:
        return None
    if isinstance(start, FixedPointResult):
        vals = (float(start.m), float(start.q), float(start.gamma))
        if not all(math.isfinite(v) for v in vals) or not vals[2] > 0:
            raise ValueError(f"start is a FixedPointResult without a finite point (status {start.status.label})")
        return vals
    if isinstance(start, (tuple, list, np.ndarray)):
        return _tuple_guess(start)
    from ...results import TrajectoryResult

    if not isinstance(start, TrajectoryResult):
        raise TypeError(
            "start must be a DMFT or simulation result, a FixedPointResult or an (m, q[, gamma]) "
            f"tuple; got {type(start).__name__}"
        )

    def last(name):
        a = np.asarray(start.mean(name), dtype=float).ravel() if name in start.names else np.zeros(0)
        a = a[np.isfinite(a)]
        if a.size == 0:
            raise ValueError(f"start has no finite values of {name!r}")
        return float(a[-1])

    return abs(last("m")), last("q"), None


def _tuple_guess(start):
    if np.ndim(start) != 1:
        raise ValueError(f"start must be (m, q) or (m, q, gamma); got {start!r}")
    try:
        vals = [float(v) for v in start]
    except (TypeError, ValueError):
        raise ValueError(f"start must be (m, q) or (m, q, gamma) of real numbers; got {start!r}") from None
    if len(vals) not in (2, 3):
        raise ValueError(f"start must be (m, q) or (m, q, gamma); got {start!r}")
    if not all(math.isfinite(v) for v in vals):
        raise ValueError(f"start values must be finite; got {start!r}")
    if len(vals) == 3 and not vals[2] > 0:
        raise ValueError(f"start gamma must be > 0; got {vals[2]!r}")
    return vals[0], vals[1], (vals[2] if len(vals) == 3 else None)


def _settings(settings, **keywords) -> FixedPointSettings:
    """The one place where the keyword arguments of :func:`fixed_point` become a FixedPointSettings."""
    return resolve_settings(FixedPointSettings, settings, **keywords)


def fixed_point(
    problem: Problem,
    start=None,
    root: Optional[str] = None,
    quad: Union[None, dict, FixedPointQuadrature] = None,
    *,
    tol: Optional[float] = None,
    m_min: Optional[float] = None,
    n_mc: Optional[int] = None,
    mc_seed: Optional[int] = None,
    continuation: Optional[bool] = None,
    strategy: Optional[str] = None,
    maxiter: Optional[int] = None,
    settings: Optional[FixedPointSettings] = None,
) -> FixedPointResult:
    """Solve the static equations (F1)-(F3) of docs/theory.md §3 and predict the convergence rate.

    Parameters
    ----------
    problem : Problem
        Any registered model and loss; ``eta`` only enters the rate.  SGD and Langevin: NOT_APPLICABLE.
    start : TrajectoryResult, FixedPointResult or (m, q[, gamma]), optional
        Starting point (the end of a trajectory; gamma then from (F1)); finite values, gamma > 0.  A
        start with q <= m^2 or |m| > 1e3 is repaired (noted in ``message``).  The default guess
        (0.95, 0.95) is tried too.
    root, quad, tol, m_min, n_mc, mc_seed, continuation, strategy, maxiter, settings
        The fields of :class:`FixedPointSettings` as keywords (``None``: its default), or one
        ``settings`` object (not both).

    Returns
    -------
    FixedPointResult
        SUCCESS only when max|residual| <= tol on an informative (or exact-recovery) solution, else
        NOT_CONVERGED (best point) or FAILED, the reason in ``message``; numerical failures never raise.

    Raises
    ------
    TypeError, ValueError
        Bad input (types, a non-finite start, bad settings, or settings and keywords), before any work.

    Examples
    --------
    >>> from sidmft import Problem, fixed_point
    >>> fp = fixed_point(Problem(alpha=3.0, lam=0.1, eta=0.1))
    >>> fp.status.label, round(fp.m, 3), round(fp.q, 3), bool(0 < fp.rate < 1)
    ('success', 0.936, 0.885, True)
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a sidmft.Problem; got {type(problem).__name__}")
    kws = dict(root=root, quad=quad, tol=tol, m_min=m_min, n_mc=n_mc, mc_seed=mc_seed)
    cfg = _settings(settings, continuation=continuation, strategy=strategy, maxiter=maxiter, **kws)
    guess = _start_guess(start)
    law = law_for(problem, cfg.root, cfg.quad)
    out = FixedPointResult(problem=problem, root=cfg.root, quad=law.quad.to_dict(), seed=cfg.mc_seed, n_mc=cfg.n_mc)
    why = problem.algorithm_obj.no_fixed_point
    if why is not None:  # nothing to solve: the declared reason is the message
        return dataclasses.replace(out, status=Status.NOT_APPLICABLE, message=why)
    with (
        Timer() as t_all,
        warnings.catch_warnings(),
        np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"),
    ):
        warnings.simplefilter("ignore", RuntimeWarning)
        with Timer() as t_solve:
            try:
                sol = solve(law, guess, cfg)
            except NUMERIC_ERRORS as e:  # pragma: no cover - every stage catches its own failures
                sol = failed_solution("solver", [f"numerical failure in the solver: {type(e).__name__}: {e}"])
        out.timing["solve"] = t_solve.seconds
        _fill_or_fail(out, law, sol, cfg)
        if np.isfinite(out.m) and cfg.n_mc > 0 and out.status != Status.FAILED:
            with Timer() as t_rate:
                _attach_rate(out, law, cfg)
            out.timing["rate"] = t_rate.seconds
        elif cfg.n_mc == 0:
            out.rate_note = "rate not computed (n_mc = 0)"
    out.timing["total"] = t_all.seconds
    return out


def _fill_or_fail(out: FixedPointResult, law: FixedPointLaw, sol: Solution, cfg: FixedPointSettings) -> None:
    """Fill ``out`` from the solution; if its residuals cannot be evaluated, fill it as failed."""
    try:
        _fill(out, law, sol, cfg)
    except NUMERIC_ERRORS as e:
        note = f"the residuals could not be evaluated at the final point: {type(e).__name__}: {e}"
        _fill(out, law, failed_solution(sol.strategy, [*sol.notes, note]), cfg)


def _attach_rate(out: FixedPointResult, law: FixedPointLaw, cfg: FixedPointSettings):
    """h_min and the rate from ``n_mc`` samples of the law (:func:`sidmft.theory.rate.predict_rate`)."""
    p = law.problem
    if p.eta_schedule is not None:
        # a step schedule shares the fixed point (the stationary point of L) but has no constant-step rate
        out.rate_note = (
            f"the fixed point is the stationary point of L, shared by the step schedule {p.eta_schedule!r}; its rate "
            "prediction is not implemented for a step schedule (a varying step has no constant per-step contraction)"
        )
        return
    try:
        smp = law.sample(out.m, out.q, out.gamma, n=cfg.n_mc, seed=cfg.mc_seed)
        hess, bounded = law.curvatures(smp), p.loss_obj.bounded_hessian
        pr = predict_rate(
            hess, out.gamma, p.alpha, p.lam, p.eta, bounded, algorithm=p.algorithm_obj, values=p.method_values
        )
    except NUMERIC_ERRORS as e:
        out.h_min = out.h_max = out.m_star = out.rate = float("nan")
        out.rate_note = f"rate not computed: numerical failure ({type(e).__name__}: {e})"
        return
    out.h_min, out.m_star, out.rate, out.rate_note = pr.h_min, pr.m_star, pr.rate, pr.note
    out.h_max = pr.h_max
    out.checks["m_star_over_m_max"] = pr.m_star_over_m_max


def _fill(out: FixedPointResult, law: FixedPointLaw, sol: Solution, cfg: FixedPointSettings):
    """The result's fields from the solver's Solution: observables, residuals, checks and status."""
    F = np.asarray(sol.F, dtype=float)
    out.nit, out.nfev_total, out.strategy = int(sol.nit), int(sol.nfev), sol.strategy
    notes = list(sol.notes)
    if sol.failed or not np.isfinite(sol.m):
        out.m = out.q = out.gamma = float("nan")
        out.status = Status.FAILED
        out.message = "; ".join(notes) or "no fixed point found"
        out.residuals = {k: float(v) for k, v in zip(("F1", "F2", "F3"), F)}
        out.residual = float(np.max(np.abs(F))) if np.all(np.isfinite(F)) else float("nan")
        return
    M = _fill_point(out, law, sol, notes)
    out.branch = (
        "exact-recovery" if out.strategy == "exact" else ("informative" if abs(out.m) >= cfg.m_min else "uninformative")
    )
    _set_status(out, cfg.tol, notes)
    if M.min_stab < -1e-12:
        out.message += f"; WARNING: 1 + gamma l'' reaches {M.min_stab:.3g} < 0 on the selected roots"


def _fill_point(out: FixedPointResult, law: FixedPointLaw, sol: Solution, notes: list) -> Moments:
    """Observables, residuals and the equivalent forms (module docstring) at the solution; its Moments."""
    problem = law.problem
    m, s, g = sol.m, sol.s, sol.gamma
    if m < 0:  # sign convention of the spectral start: <x, x*> >= 0 (symmetric models)
        m = -m
    q = m * m + s * s
    F, M = law.residuals(m, s, g)
    out.m, out.q, out.gamma = float(m), float(q), float(g)
    out.cosine = float(m / math.sqrt(q)) if q > 0 else float("nan")
    out.error = float(1.0 + q - 2.0 * abs(m))
    out.train_loss = M.Eloss
    out.objective = float(M.Eloss + 0.5 * problem.lam * q)
    out.Gamma = M.Gamma
    try:
        out.test_error = law.test_error(m, q)
    except Exception as e:  # pragma: no cover - model specific
        notes.append(f"test_error failed: {e}")
    out.residuals = {k: float(v) for k, v in zip(("F1", "F2", "F3"), F)}
    out.residual = float(np.max(np.abs(F)))
    a, lam = problem.alpha, problem.lam
    out.checks = dict(
        F2_response_form=float(m + a * g * (M.Egz - m * M.Gamma)),
        x_stationarity=float(lam * q + M.Egr),
        min_stability=float(M.min_stab),
    )
    try:
        jt = law.jump_term(m, s, g)
    except NUMERIC_ERRORS as e:
        jt = None
        notes.append(f"jump term not computed ({type(e).__name__}: {e})")
    if jt is not None and math.isfinite(jt):
        out.checks["jump_term"] = float(s * s * jt)
    return M


def _set_status(out: FixedPointResult, tol: float, notes: list):
    """SUCCESS on an informative (or exact-recovery) point within ``tol``; else FAILED / NOT_CONVERGED."""
    if out.residual <= tol and out.branch != "uninformative":
        status = Status.SUCCESS
        message = (
            f"converged ({out.strategy}; {out.nfev_total} residual evaluations): "
            f"max |residual| = {out.residual:.2g}" + (" after: " + "; ".join(notes) if notes else "")
        )
    elif out.residual <= tol:
        status = Status.FAILED
        message = (
            f"only the uninformative fixed point m = {out.m:.2g} was found "
            f"(no informative solution reached; below the weak-recovery threshold?)"
        )
    else:
        status = Status.NOT_CONVERGED
        message = (
            f"no solution with max |residual| <= {tol:g}; best point has max |residual| = "
            f"{out.residual:.2g} (m = {out.m:.4g}, q = {out.q:.4g}, gamma = {out.gamma:.4g}): " + "; ".join(notes)
        )
    out.status, out.message = status, message
