"""The spectral stage: d -> infinity limit of the spectral initialisation (:func:`spectral`)."""

from __future__ import annotations

import math
from typing import Union

import numpy as np
from scipy.optimize import brentq

from ...models import Model
from ...preprocess import get_preprocessing
from ...problem import Problem
from ...quadrature import DEFAULT_QUAD, QuadSpec, moment_rule
from ...results import Status, Timer
from ._laws import ParameterSideLaw, SampleSideLaw
from ._measure import (
    _XTOL,
    SpectralMeasure,
    _alpha_dependent,
    _build_measure,
    _l_bar,
    _margin,
    _SolveFailure,
    _threshold_from_measure,
    _threshold_scan,
)
from ._result import SpectralTheoryResult

__all__ = [
    "spectral",
    "SpectralTheoryResult",
    "spectral_threshold",
    "optimal_preprocessing",
    "sample_side_law",
    "parameter_side_law",
    "SampleSideLaw",
    "ParameterSideLaw",
    "SpectralMeasure",
]


# ------------------------------------------------------------------------------------------------ main
def spectral(problem: Problem, quad: QuadSpec = DEFAULT_QUAD, threshold: bool = True) -> SpectralTheoryResult:
    """d -> infinity limit of the spectral initialisation for ``problem`` (docs/theory.md §1.1-§1.2).

    Solves l_bar = argmin_{l > tau} psi(l) (root of psi' = 0, or tau), then
    psi(max(l, l_bar)) = phi(l) for l_star (brentq, xtol 1e-14), and reports
    lambda_1 = psi(l_star), rho^2 = psi'(l_star)/(psi'(l_star) - phi'(l_star)), the bulk edge
    psi(l_bar) and the static cavity quantities R_S = 1/l_star, R_g^S, B0, B2, mu_S, Sigma(S,S)
    of §1.2 (whose identities are checked: ``identity_residual``).  The threshold alpha_c of this
    (model, T) is computed too (``threshold=False`` skips it).

    Quadrature: see the module docstring (graded composite Gauss-Legendre split at the
    breakpoints of T mapped to z; accuracy ~1e-10).

    ``problem.field == "complex"`` (docs/theory.md §7.1): the same formulas with the expectations over
    z ~ CN(0, 1) (|z|^2 ~ Exp(1)), i.e. z^2 -> |z|^2, by the radial rule of
    :func:`sidmft.quadrature.moment_rule`; the result records ``field``.

    Parameters
    ----------
    problem : Problem
    quad : QuadSpec, optional
        Quadrature settings (frozen, validated; default :data:`sidmft.quadrature.DEFAULT_QUAD`);
        ``QuadSpec().finer(2)`` is the accuracy check of the tests.
    threshold : bool
        Also compute alpha_c (default True; the DMFT's spectral stage skips it).

    Returns
    -------
    SpectralTheoryResult
        ``status`` SUCCESS above the threshold; BELOW_THRESHOLD (rho = 0, top eigenvalue =
        bulk edge) below it; NOT_APPLICABLE if sup T = inf, sup T <= 0, T constant, or the
        transition is never passed; FAILED if T is NaN/+inf on the support.

    Examples
    --------
    Noiseless phase retrieval with T(y) = 1 - 1/y: the threshold is alpha_c = 1/2 and the top eigenvalue 1/alpha.

    >>> from sidmft import Problem, spectral
    >>> sp = spectral(Problem(alpha=2.0, preprocess="lal"))
    >>> sp.status.label, round(float(sp.alpha_c), 6), round(float(sp.rho_sq), 4), round(float(sp.top_eigenvalue), 9)
    ('success', 0.5, 0.6389, 0.5)
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a sidmft.Problem; got {type(problem).__name__}")
    if not isinstance(quad, QuadSpec):
        raise ValueError(f"quad must be a QuadSpec (quadrature settings); got {type(quad).__name__}")
    alpha = problem.alpha
    T = problem.T
    f: dict = dict(tau=float(T.sup), alpha_c=math.nan, timing={})  # the fields the stages collect; built once
    with Timer() as timer:
        try:
            with np.errstate(all="ignore"):
                _solve(f, problem, quad, threshold)
        except _SolveFailure as e:
            f["status"], f["message"] = Status.FAILED, str(e)
        except (ArithmeticError, ValueError, RuntimeError, np.linalg.LinAlgError) as e:
            # a root bracket or quadrature that failed inside a stage: reported, never raised
            f["status"] = Status.FAILED
            f["message"] = f"spectral theory failed: {type(e).__name__}: {e}"
    f["timing"]["total"] = timer.seconds
    return SpectralTheoryResult(problem=problem, alpha=alpha, T=T, field=problem.field, **f)


def _solve(f: dict, problem: Problem, quad: QuadSpec, threshold: bool) -> None:
    """The stages of :func:`spectral`, each filling the fields ``f``; a stage that ends the solve sets the status."""
    stage = _measure_stage(f, problem, quad)
    if stage is None:
        return
    rule, meas = stage
    alpha = problem.alpha
    if threshold:
        f["alpha_c"] = (
            _threshold_scan(problem, rule) if _alpha_dependent(problem, rule) else _threshold_from_measure(meas)
        )
    lbar = _bulk_stage(f, meas, alpha)
    if not _margin(meas, alpha, lbar) > 0:
        _no_outlier(f, problem.T, alpha, lbar == meas.tau, threshold)
        return
    ls = _l_star(meas, alpha, lbar)
    if ls is None:
        f["status"], f["message"] = Status.FAILED, "could not bracket l_star"
        return
    _outlier_stage(f, meas, alpha, ls)


def _measure_stage(f: dict, problem: Problem, quad: QuadSpec):
    """(rule, measure): the quadrature rule and the spectral measure (also ``f["measure"]``); None
    (status set) if T does not fit."""
    T = problem.T
    if not np.isfinite(T.sup):
        f["status"] = Status.NOT_APPLICABLE
        f["message"] = (
            f"preprocess {T.name!r} has sup T = inf: the spectral theory needs sup T < inf "
            "(the top eigenvector localises on the largest labels as d -> inf)"
        )
        f["alpha_c"] = math.nan
        return None
    rule = moment_rule(problem.model_obj, T.breakpoints, quad, field=problem.field)
    f["n_nodes"] = rule.size
    meas, msg = _build_measure(T, rule)
    if meas is None:
        f["status"] = Status.FAILED if "NaN" in msg or "exceeds" in msg else Status.NOT_APPLICABLE
        f["message"] = msg
        f["alpha_c"] = math.inf if f["status"] == Status.NOT_APPLICABLE else math.nan
        return None
    f["measure"] = meas
    f["tau"] = meas.tau
    try:
        f["kappa"] = _kappa(problem, rule)
    except ValueError:
        f["kappa"] = math.nan
    return rule, meas


def _kappa(problem: Problem, rule) -> float:
    """kappa as a number; 'empirical' = sqrt(E[y]) under the problem's own law (complex: z ~ CN(0, 1))."""
    if problem.field != "complex" or not isinstance(problem.kappa, str):
        return problem.kappa_value()
    my = float(rule.W[:, 0] @ rule.y)
    if not my > 0:
        raise ValueError(f"kappa='empirical' needs E[y] > 0; got {my:g}")
    return math.sqrt(my)


def _bulk_stage(f: dict, meas: SpectralMeasure, alpha: float) -> float:
    """l_bar = argmin psi and the bulk edge psi(l_bar) (``f["l_bar"]``, ``f["bulk_edge"]``)."""
    lbar = _l_bar(meas, alpha)
    f["l_bar"] = lbar
    with np.errstate(all="ignore"):
        f["bulk_edge"] = float(meas.psi(lbar, alpha))
    if not np.isfinite(f["bulk_edge"]):
        f["bulk_edge"] = float(meas.psi(lbar + 1e-13 * max(1.0, abs(lbar)), alpha))
    return lbar


def _no_outlier(f: dict, T, alpha: float, at_sup: bool, threshold: bool) -> None:
    """Below the transition: rho = 0, top eigenvalue = bulk edge; BELOW_THRESHOLD or NOT_APPLICABLE."""
    f["top_eigenvalue"] = f["bulk_edge"]
    f["rho"] = f["rho_sq"] = 0.0
    f["passed"] = False
    edge = "; psi' >= 0 on the whole domain (l_bar = sup T): finite-d overlaps converge slowly here" if at_sup else ""
    if np.isfinite(f["alpha_c"]) or not threshold:
        f["status"] = Status.BELOW_THRESHOLD
        f["message"] = (
            f"below the spectral threshold: alpha = {alpha:g} <= alpha_c = {f['alpha_c']:.6g} for "
            f"T = {T.name!r}; no outlier, rho = 0, top eigenvalue = bulk edge{edge}"
        )
    else:
        f["status"] = Status.NOT_APPLICABLE
        f["message"] = (
            f"T = {T.name!r} never produces an outlier for this model (no alpha passes the "
            f"transition phi(l_bar) > psi(l_bar)){edge}"
        )


def _l_star(meas: SpectralMeasure, alpha: float, lbar: float):
    """The root l_star of psi(l) = phi(l) on (l_bar, inf) (brentq), or None if it cannot be bracketed."""
    F = lambda l: meas.psi(l, alpha) - meas.phi(l)  # noqa: E731
    scale = max(1.0, abs(lbar))
    lo = lbar if lbar > meas.tau else lbar + 1e-13 * scale
    d = scale
    while F(lbar + d) <= 0:
        d *= 2.0
        if d > 1e14 * scale:
            return None
    return brentq(F, lo, lbar + d, xtol=_XTOL * scale, rtol=1e-15, maxiter=500)


def _outlier_stage(f: dict, meas: SpectralMeasure, alpha: float, ls: float) -> None:
    """Top eigenvalue, overlap and the static cavity quantities of §1.2 at l_star (with their identities)."""
    S1, A, P1, P2 = meas.sums(ls)
    dpsi = 1.0 / alpha - A
    dphi = -P2
    lam1 = ls * (1.0 / alpha + S1)
    f["l_star"] = ls
    f["psi_prime"], f["phi_prime"] = dpsi, dphi
    f["passed"] = bool(dpsi > 0)
    if not f["passed"]:
        f["status"] = Status.BELOW_THRESHOLD
        f["message"] = f"psi'(l_star) = {dpsi:.3g} <= 0: no outlier (alpha_c = {f['alpha_c']:.6g})"
        f["top_eigenvalue"] = f["bulk_edge"]
        return
    rho_sq = dpsi / (dpsi - dphi)
    rho = math.sqrt(rho_sq)
    R = 1.0 / ls
    f["top_eigenvalue"] = lam1
    f["rho_sq"], f["rho"], f["R_S"] = rho_sq, rho, R
    f["R_g"] = ls * S1  # E[T/(1 - R T)]
    f["B0"] = alpha * A  # alpha R^2 E[T^2/(1-RT)^2] = alpha E[T^2/(l-T)^2]
    f["B2"] = alpha * P2
    f["mu_S"] = rho * ls * (P1 - S1)  # rho E[T(z^2-1)/(1-RT)]
    f["Sigma_SS"] = (rho_sq * f["B2"] + (1 - rho_sq) * f["B0"]) / R**2  # alpha E[(T u)^2]
    phi_l = ls * P1
    checks = [
        (lam1 - phi_l) / max(1.0, abs(lam1)),
        R * alpha * (lam1 - f["R_g"]) - 1.0,
        (f["mu_S"] - rho / (alpha * R)) / max(1.0, abs(f["mu_S"])),
        (f["Sigma_SS"] - (1 - rho_sq) / R**2) * R**2,
        rho_sq - (1 - f["B0"]) / (1 - f["B0"] + f["B2"]),
    ]
    f["identity_residual"] = float(np.max(np.abs(checks)))
    f["status"] = Status.SUCCESS
    f["message"] = (
        f"outlier: lambda_1 = {lam1:.6g} > bulk edge {f['bulk_edge']:.6g}; rho^2 = {rho_sq:.6g} "
        f"(alpha = {alpha:g} > alpha_c = {f['alpha_c']:.6g})"
    )
    if f["identity_residual"] > 1e-8:
        f["message"] += f"; WARNING: cavity identities hold only to {f['identity_residual']:.1e}"


# ------------------------------------------------------------------------------------------------ threshold
def spectral_threshold(
    problem: Union[Problem, Model, str],
    T=None,
    quad: QuadSpec = DEFAULT_QUAD,
    noise: float = 0.0,
    field: str = "real",
) -> float:
    """Weak-recovery threshold alpha_c: the smallest alpha with phi(l_bar) > psi(l_bar) (docs/theory.md §1.1).

    Called as ``spectral_threshold(problem)`` or ``spectral_threshold(model, T)`` (model a
    Model or registered name, T a spec string or Preprocessing).  For T independent of alpha
    the root is found in the l_bar parametrisation (alpha = 1/E[T^2/(l-T)^2] and
    E[T(z^2-1)/(l-T)] = E[T^2/(l-T)^2] at the threshold; brentq); for T that depends on alpha
    (e.g. 'mm', c = sqrt(alpha)) T is re-resolved at every alpha and the margin is root-found in
    alpha (log-grid scan on [1e-3, 1e4], then brentq).  Returns inf if no alpha passes and nan if
    the theory does not apply (sup T = inf).

    ``field`` ("real" or "complex", docs/theory.md §7.1) applies to the ``(model, T)`` form; a Problem
    carries its own.  For noiseless phase retrieval with T = 1 - 1/y it gives 1/2 (real) and 1 (complex).
    """
    if not isinstance(problem, Problem):
        if T is None:
            raise ValueError("spectral_threshold(model, T) needs the preprocessing T")
        kw = dict(model=problem, preprocess=T, field=field)
        if isinstance(problem, str):
            kw["noise"] = noise
        problem = _problem_for(kw)
    Tp = problem.T
    if not np.isfinite(Tp.sup):
        return math.nan
    rule = moment_rule(problem.model_obj, Tp.breakpoints, quad, field=problem.field)
    if _alpha_dependent(problem, rule):
        return _threshold_scan(problem, rule)
    meas, msg = _build_measure(Tp, rule)
    if meas is None:
        return math.inf
    return _threshold_from_measure(meas)


def _problem_for(kw: dict) -> Problem:
    import warnings

    for a in (3.0, 10.0, 100.0):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return Problem(alpha=a, **kw)
        except ValueError:
            continue
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Problem(alpha=3.0, **kw)


def optimal_preprocessing(model: Union[Model, str], noise: float = 0.0, quad: QuadSpec = DEFAULT_QUAD):
    """The Luo-Alghamdi-Lu optimal preprocessing T*(y) = 1 - 1/E[z^2 | y] and its threshold.

    E[z^2|y] is :func:`sidmft.preprocess.conditional_z2` (closed forms for the noiseless
    built-ins, exact two-point values for binary models, a fine-grid posterior average
    otherwise) -- the same T as ``preprocess='lal'``.

    Returns
    -------
    (Preprocessing, float)
        T* (name 'lal') and its alpha_c (inf if T* is constant, e.g. symmetric binary models).
    """
    from ...models import get_model

    m = get_model(model, noise) if isinstance(model, str) else model
    T = get_preprocessing("lal", m, 1.0)
    p = _problem_for(dict(model=m, preprocess="lal"))
    return T, spectral_threshold(p, quad=quad)


# ------------------------------------------------------------------------------------------------ laws
def sample_side_law(problem_or_result, quad: QuadSpec = DEFAULT_QUAD) -> SampleSideLaw:
    """The §1.3 sample-side law for a problem (or an existing SpectralTheoryResult); complex for a problem with
    ``field="complex"`` (docs/theory.md §7.1).

    Raises ValueError below the threshold (the law of the spectral seed is undefined there)."""
    res = (
        problem_or_result
        if isinstance(problem_or_result, SpectralTheoryResult)
        else spectral(problem_or_result, quad=quad, threshold=False)
    )
    if not res.passed:
        raise ValueError(f"sample-side law needs an outlier (status {res.status.label}): {res.message}")
    p = res.problem
    k = res.kappa if np.isfinite(res.kappa) else 1.0
    return SampleSideLaw(rho=res.rho, R_S=res.R_S, kappa=k, T=p.T, model=p.model_obj, quad=quad, field=p.field)


def parameter_side_law(problem_or_result, quad: QuadSpec = DEFAULT_QUAD) -> ParameterSideLaw:
    """The §1.3 parameter-side law (x*_j, v_j) for a problem or SpectralTheoryResult."""
    res = (
        problem_or_result
        if isinstance(problem_or_result, SpectralTheoryResult)
        else spectral(problem_or_result, quad=quad, threshold=False)
    )
    k = res.kappa if np.isfinite(res.kappa) else 1.0
    return ParameterSideLaw(rho=res.rho, kappa=k, field=res.problem.field)
