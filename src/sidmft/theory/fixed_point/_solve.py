"""The entry point :func:`fixed_point`: solve (F1)-(F3), collect the result's fields, attach the rate, build it once."""

from __future__ import annotations

import math
import warnings
from typing import Optional, Union

import numpy as np

from ..._settings import resolve_settings
from ...problem import Problem
from ...results import Status, Timer
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
    base = dict(problem=problem, root=cfg.root, quad=law.quad.to_dict(), seed=cfg.mc_seed, n_mc=cfg.n_mc)
    why = problem.algorithm_obj.no_fixed_point
    if why is not None:  # nothing to solve: the declared reason is the message
        return FixedPointResult(**base, status=Status.NOT_APPLICABLE, message=why)
    f: dict = dict(timing={}, checks={})  # the result's fields, collected by the stages; the result is built once
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
        f["timing"]["solve"] = t_solve.seconds
        _fill_or_fail(f, law, sol, cfg)
        if np.isfinite(f["m"]) and cfg.n_mc > 0 and f["status"] not in (Status.FAILED, Status.UNINFORMATIVE):
            with Timer() as t_rate:
                _attach_rate(f, law, cfg)
            f["timing"]["rate"] = t_rate.seconds
        elif cfg.n_mc == 0:
            f["rate_note"] = "rate not computed (n_mc = 0)"
    f["timing"]["total"] = t_all.seconds
    return FixedPointResult(**base, **f)


def _fill_or_fail(f: dict, law: FixedPointLaw, sol: Solution, cfg: FixedPointSettings) -> None:
    """The result's fields ``f`` from the solution; if its residuals cannot be evaluated, those of a failure."""
    try:
        _fill(f, law, sol, cfg)
    except NUMERIC_ERRORS as e:
        note = f"the residuals could not be evaluated at the final point: {type(e).__name__}: {e}"
        timing = f["timing"]
        f.clear()  # nothing of the half-filled point survives
        f.update(timing=timing, checks={})
        _fill(f, law, failed_solution(sol.strategy, [*sol.notes, note]), cfg)


def _attach_rate(f: dict, law: FixedPointLaw, cfg: FixedPointSettings):
    """h_min and the rate from ``n_mc`` samples of the law (:func:`sidmft.theory.rate.predict_rate`)."""
    p = law.problem
    if p.eta_schedule is not None:
        # a step schedule shares the fixed point (the stationary point of L) but has no constant-step rate
        f["rate_note"] = (
            f"the fixed point is the stationary point of L, shared by the step schedule {p.eta_schedule!r}; its rate "
            "prediction is not implemented for a step schedule (a varying step has no constant per-step contraction)"
        )
        return
    try:
        smp = law.sample(f["m"], f["q"], f["gamma"], n=cfg.n_mc, seed=cfg.mc_seed)
        hess, bounded = law.curvatures(smp), p.loss_obj.bounded_hessian
        pr = predict_rate(
            hess, f["gamma"], p.alpha, p.lam, p.eta, bounded, algorithm=p.algorithm_obj, values=p.method_values
        )
    except NUMERIC_ERRORS as e:
        f["h_min"] = f["h_max"] = f["m_star"] = f["rate"] = float("nan")
        f["rate_note"] = f"rate not computed: numerical failure ({type(e).__name__}: {e})"
        return
    f["h_min"], f["m_star"], f["rate"], f["rate_note"] = pr.h_min, pr.m_star, pr.rate, pr.note
    f["h_max"] = pr.h_max
    f["checks"]["m_star_over_m_max"] = pr.m_star_over_m_max


def _fill(f: dict, law: FixedPointLaw, sol: Solution, cfg: FixedPointSettings):
    """The result's fields from the solver's Solution: observables, residuals, checks and status."""
    F = np.asarray(sol.F, dtype=float)
    f["nit"], f["nfev_total"], f["strategy"] = int(sol.nit), int(sol.nfev), sol.strategy
    notes = list(sol.notes)
    if sol.failed or not np.isfinite(sol.m):
        f["m"] = f["q"] = f["gamma"] = float("nan")
        f["status"] = Status.UNINFORMATIVE if sol.no_solution else Status.FAILED
        f["message"] = "; ".join(notes) or "no fixed point found"
        f["residuals"] = {k: float(v) for k, v in zip(("F1", "F2", "F3"), F)}
        f["residual"] = float(np.max(np.abs(F))) if np.all(np.isfinite(F)) else float("nan")
        return
    M = _fill_point(f, law, sol, notes)
    f["branch"] = (
        "exact-recovery"
        if f["strategy"] == "exact"
        else ("informative" if abs(f["m"]) >= cfg.m_min else "uninformative")
    )
    _set_status(f, cfg.tol, notes)
    if M.min_stab < -1e-12:
        f["message"] += f"; WARNING: 1 + gamma l'' reaches {M.min_stab:.3g} < 0 on the selected roots"


def _fill_point(f: dict, law: FixedPointLaw, sol: Solution, notes: list) -> Moments:
    """Observables, residuals and the equivalent forms (module docstring) at the solution; its Moments."""
    problem = law.problem
    m, s, g = sol.m, sol.s, sol.gamma
    if m < 0:  # sign convention of the spectral start: <x, x*> >= 0 (symmetric models)
        m = -m
    q = m * m + s * s
    F, M = law.residuals(m, s, g)
    f["m"], f["q"], f["gamma"] = float(m), float(q), float(g)
    f["cosine"] = float(m / math.sqrt(q)) if q > 0 else float("nan")
    f["error"] = float(1.0 + q - 2.0 * abs(m))
    f["train_loss"] = M.Eloss
    f["objective"] = float(M.Eloss + 0.5 * problem.lam * q)
    f["Gamma"] = M.Gamma
    try:
        f["test_error"] = law.test_error(m, q)
    except Exception as e:  # pragma: no cover - model specific
        notes.append(f"test_error failed: {e}")
    f["residuals"] = {k: float(v) for k, v in zip(("F1", "F2", "F3"), F)}
    f["residual"] = float(np.max(np.abs(F)))
    a, lam = problem.alpha, problem.lam
    f["checks"] = dict(
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
        f["checks"]["jump_term"] = float(s * s * jt)
    return M


def _set_status(f: dict, tol: float, notes: list):
    """SUCCESS on an informative (or exact-recovery) point within ``tol``; else FAILED / NOT_CONVERGED."""
    if f["residual"] <= tol and f["branch"] != "uninformative":
        status = Status.SUCCESS
        message = (
            f"converged ({f['strategy']}; {f['nfev_total']} residual evaluations): "
            f"max |residual| = {f['residual']:.2g}" + (" after: " + "; ".join(notes) if notes else "")
        )
    elif f["residual"] <= tol:
        status = Status.UNINFORMATIVE
        message = (
            f"only the uninformative fixed point m = {f['m']:.2g} was found "
            f"(no informative solution reached; below the weak-recovery threshold?)"
        )
    else:
        status = Status.NOT_CONVERGED
        message = (
            f"no solution with max |residual| <= {tol:g}; best point has max |residual| = "
            f"{f['residual']:.2g} (m = {f['m']:.4g}, q = {f['q']:.4g}, gamma = {f['gamma']:.4g}): " + "; ".join(notes)
        )
    f["status"], f["message"] = status, message
