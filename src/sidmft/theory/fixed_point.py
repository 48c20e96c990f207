r"""Long-time limit of GD: the time-translation-invariant fixed point of the DMFT (docs/theory.md §3).

Equations solved
----------------
With (z, w) ~ N(0, [[1, m], [m, q]]), y = f(z, eps) (the model's conditional law of y given z) and
the proximal map r = prox_{gamma l(y, .)}(w), i.e. r + gamma l'(y, r) = w,

    g     = l'(y, r) = (w - r) / gamma,          Gamma = E[ l''(y, r) / (1 + gamma l''(y, r)) ]
    (F1)  alpha gamma (lam + Gamma) = 1                       (response closure)
    (F2)  lam m + E[g z] = 0                                  (grad L = 0 projected on x*)
    (F3)  q = m^2 + alpha gamma^2 E[g^2]                      (norm of the parameter-side noise)

for (m, q, gamma) [docs/theory.md §3; these are the M-estimation / CGMT equations of El Karoui 2013,
Thrampoulidis-Abbasi-Hassibi 2018, here for a non-convex l].  gamma = -sum_{tau >= 1} R_x(tau) is the
integrated response and Gamma = sum_tau R_g(tau).  The limit point has coordinates
x_j ~ m X + sqrt(q - m^2) G and fitted values <a_i, x> ~ r (non-Gaussian; :meth:`FixedPointResult.sample`).

Equivalent forms (checked in ``result.checks``): given (F1), (F2) <=> m = -alpha gamma (E[g z] - m Gamma);
given (F1), (F2), (F3) <=> lam q + E[g r] = 0 *up to a jump term* s^2 J when the prox map is
discontinuous: Stein's lemma E[g xi] = s E[d g / d w] then picks up the jump of g across the
switching surface (w = 0 for even losses), J = p_w(0) E[g(0+) - g(0-) | w = 0], which the pathwise
response Gamma does not contain.  It is ~1e-10 at alpha = 2 and far smaller in the benign cases
(``checks['x_stationarity']`` vs ``checks['jump_term']``).

Root selection
--------------
For a non-convex loss the prox equation has several roots where 1 + gamma min l'' < 0 (intensity
loss: gamma y > 1).  ``root="global"`` takes the true prox (global minimiser of
(r - w)^2/(2 gamma) + l(y, r)); ``root="same_sign"`` the local minimiser with sign(r) = sign(w)
(the branch a sample reaches when it moves continuously with the sign of its field).  For even
losses (intensity, amplitude) the two rules are *identical* (proof in :mod:`sidmft.theory._prox`):
P(r) - P(-r) = -2 r w / gamma.  GD itself may leave an individual sample on the other local
minimiser (its choice depends on the trajectory); the static equations cannot see that.  In the
benign regime such samples need y > 1/gamma at w ~ 0, which has tiny probability (z | w = 0 has
standard deviation sqrt(1 - m^2/q) ~ 0.06-0.2), and the fixed point agrees with long DMFT runs and
simulations (tests).  When it matters the DMFT of §2 is the reference.

Quadrature
----------
Outer z: composite Gauss-Legendre on [-L, L] with weight phi(z), split at 0, at the model's
breakpoints and (intensity loss, noiseless additive models) where f(z) = 1/gamma.  Inner
xi (w = m z + s xi, s = sqrt(q - m^2)): composite Gauss-Legendre split at xi0 = -m z / s (the
prox jump w = 0) with geometrically graded panels around it (the Gamma integrand has an
integrable |w|^(-2/3) singularity at w = 0, gamma y = 1), plus fixed edges.  Noise: the model's
``label_nodes`` rule (3-D).  Accuracy ~1e-11 on the moments (noiseless PR).

Solver strategy
---------------
Unknowns u = (m, v, gamma) with v = q - m^2, kept in a box (|m| <= 1e3, 0 <= v <= 1e8,
1e-12 <= gamma <= 1e8): the moments are evaluated at the projection of u on the box, the
explicit dependence of (F1)-(F3) on (m, v, gamma) is kept outside it, so the residual is
continuous, has no root outside the box and no exponential can overflow.  (F1) and (F3) are close
to affine in (gamma, v); in logarithmic unknowns they flatten out as v -> 0 or gamma -> 0, and a
Powell step from a poor start could run off to log s ~ 7700.  Stages: 1. Powell hybrid (MINPACK
``hybr``, initial step bound ``factor = 1``) + Newton polish from ``start`` (a DMFT or simulation
result, a FixedPointResult, or an (m, q[, gamma]) tuple), then from the default guess (0.95, 0.95,
gamma(F1)); 2. if that fails: Anderson-accelerated damped fixed-point iteration of the map
(m, s) -> (alpha gamma (m Gamma - E[g z]), sqrt(alpha gamma^2 E[g^2])) with gamma <- 1/(alpha (lam +
Gamma)), from the start and from the default guess, each followed by ``hybr``; 3. if that fails:
continuation in alpha from an easy (large) alpha down to the target.  An overflow, a failed prox,
a non-finite residual or a failed linear solve inside any stage rejects that trial point (or
ends that stage) and is reported in ``message``; no exception escapes.  Success needs max
|residual| <= ``tol`` (1e-10) and an informative solution (m > ``m_min``).  Noiseless realisable
problems with lam = 0 (l'(f(z), z) = 0) are solved on the exact-recovery branch m = q = 1, r = z,
where (F2), (F3) hold identically and (F1) is the scalar equation alpha gamma E[l''(y, z)/(1 +
gamma l''(y, z))] = 1 (brentq).

Rate
----
h_min = max_m {lam + E[l''/(1 + l'' m/alpha)] - 1/m} over the valid branch (:func:`sidmft.theory.rate.bulk_edge`),
evaluated with ``n_mc`` (10^6) Monte-Carlo samples of the fixed-point law (fixed seed), and the predicted
per-step contraction rate = 1 - eta h_min when 0 < eta h_min < 1 (NaN with a note otherwise);
see :func:`sidmft.theory.rate.predict_rate`.

Modules
-------
This module is the entry point (:func:`fixed_point`, :class:`FixedPointResult`).  The settings are
:class:`FixedPointSettings` and :class:`FixedPointQuadrature` (``_fp_settings``), the law and its
moments :class:`FixedPointLaw` (``_fp_law``), the solver stages ``_fp_stages`` and their
orchestration ``_fp_solve``; the rate prediction lives in :mod:`sidmft.theory.rate`.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Optional, Union

import numpy as np

from ..problem import Problem
from ..results import Status, Timer
from ._fp_law import NUMERIC_ERRORS, FixedPointLaw, Moments
from ._fp_result import FixedPointResult
from ._fp_settings import DEFAULT_QUAD, FixedPointQuadrature, FixedPointSettings
from ._fp_solve import Solution, failed_solution, solve
from ._settings import resolve_settings
from .rate import predict_rate

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
    from ..results import TrajectoryResult

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
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a sidmft.Problem; got {type(problem).__name__}")
    cfg = _settings(
        settings,
        root=root,
        quad=quad,
        tol=tol,
        m_min=m_min,
        n_mc=n_mc,
        mc_seed=mc_seed,
        continuation=continuation,
        strategy=strategy,
        maxiter=maxiter,
    )
    guess = _start_guess(start)
    law = FixedPointLaw(problem, cfg.root, cfg.quad)
    out = FixedPointResult(problem=problem, root=cfg.root, quad=law.quad.to_dict(), seed=cfg.mc_seed, n_mc=cfg.n_mc)
    if problem.algorithm in NO_FIXED_POINT:  # nothing to solve: the reason is the message
        return dataclasses.replace(out, status=Status.NOT_APPLICABLE, message=NO_FIXED_POINT[problem.algorithm])
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


#: algorithms whose iterates have no fixed point at a constant step (the reason is the message)
NO_FIXED_POINT = {
    "sgd": "mini-batch SGD has no fixed point at a constant step: the selection noise keeps the iterates moving "
    "(only a stationary distribution, which the static equations do not describe)",
    "langevin": "Langevin dynamics has no fixed point: the injected noise keeps the iterates moving (only a "
    "stationary distribution, which the static equations do not describe)",
}


def _attach_rate(out: FixedPointResult, law: FixedPointLaw, cfg: FixedPointSettings):
    """h_min and the rate from ``n_mc`` samples of the law (:func:`sidmft.theory.rate.predict_rate`)."""
    p = law.problem
    if p.algorithm not in ("gd", "heavy-ball", "nesterov") or p.eta_schedule is not None:
        # step schedules (and other methods) share GD's fixed point, the stationary point of L, but no
        # constant-step contraction rate
        out.rate_note = (
            f"the fixed point is the stationary point of L, shared by {p.algorithm}; its rate prediction is not "
            "implemented for this algorithm or step schedule (GD's 1 - eta h_min does not apply)"
        )
        return
    beta = float(p.beta or 0.0)  # GD ignores it
    try:
        smp = law.sample(out.m, out.q, out.gamma, n=cfg.n_mc, seed=cfg.mc_seed)
        hess, bounded = smp["hess"], p.loss_obj.bounded_hessian
        pr = predict_rate(hess, out.gamma, p.alpha, p.lam, p.eta, bounded, algorithm=p.algorithm, beta=beta)
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
        out.test_error = float(problem.model_obj.test_error(m, q))
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
