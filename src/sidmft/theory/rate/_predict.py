"""Prediction of the convergence rate from the bulk edges of the Hessian (no fits here: :mod:`._fit`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.optimize import minimize_scalar

from ...algorithms import DEFAULT_ALGORITHM, get_algorithm
from ...numerics import standard_error
from ...parameters import get_parameter

__all__ = [
    "bulk_edge",
    "upper_edge",
    "method_rate",
    "momentum_rate",
    "bulk_edge_at_dim",
    "RatePrediction",
    "predict_rate",
]


# ------------------------------------------------------------------------------ prediction
def bulk_edge(hess, alpha: float, lam: float, weights=None) -> tuple[float, float]:
    """Lower bulk edge h_min of H = (1/alpha) A^T diag(l'') A + lam I (docs/theory.md §3).

    The expectation is over a *mixture* of curvature samples when ``weights`` (or the concatenation of
    equal-size groups) says so: complex signals (docs/theory.md §7.4) pass the radial and tangential
    curvatures (kappa_r, kappa_t) of each sample, concatenated with equal weights, which gives
    lam + E[kappa_r/(1 + kappa_r m/alpha)]/2 + E[kappa_t/(1 + kappa_t m/alpha)]/2 - 1/m.

    Parameters
    ----------
    hess : array
        Samples (or quadrature nodes, with ``weights``) of l''(y, r_hat) under the fixed-point law.
        Use Monte-Carlo samples (docs/theory.md §3): extreme Gauss-Hermite tail nodes corrupt the
        valid branch m < alpha/|min l''|.
    alpha, lam : float
    weights : array, optional
        Probability weights (default: equal).

    Returns
    -------
    h_min : float
        max over the valid branch of lam + E[l''/(1 + l'' m/alpha)] - 1/m.
    m_star : float
        The maximiser (``inf`` if the supremum is reached as m -> inf, i.e. h_min = lam
        + the limit, which happens when alpha P(l'' != 0) <= 1).
    """
    h = np.asarray(hess, dtype=float).ravel()
    if weights is None:
        wts = None
    else:
        wts = np.asarray(weights, dtype=float).ravel()
        wts = wts / wts.sum()
    if not np.all(np.isfinite(h)):
        raise ValueError("hess contains non-finite values")
    hmin = float(h.min())
    m_max = alpha / -hmin if hmin < 0 else np.inf

    def f(m):
        v = h / (1.0 + h * (m / alpha))
        e = float(v.mean()) if wts is None else float(wts @ v)
        return lam + e - 1.0 / m

    # coarse log grid on the valid branch, then bounded Brent around the best grid point
    hi = m_max * (1.0 - 1e-9) if np.isfinite(m_max) else 1e8
    grid = np.geomspace(min(1e-6, hi * 1e-6), hi, 64)
    vals = np.array([f(m) for m in grid])
    k = int(np.nanargmax(vals))
    if k == len(grid) - 1 and not np.isfinite(m_max):
        return float(vals[k]), np.inf
    a = grid[max(k - 1, 0)]
    b = grid[min(k + 1, len(grid) - 1)]
    res = minimize_scalar(
        lambda lm: -f(math.exp(lm)), bounds=(math.log(a), math.log(b)), method="bounded", options=dict(xatol=1e-10)
    )
    m_star = math.exp(res.x)
    best = -res.fun
    if vals[k] > best:
        best, m_star = float(vals[k]), float(grid[k])
    return float(best), float(m_star)


def upper_edge(hess, alpha: float, lam: float, weights=None) -> tuple[float, float]:
    """Upper bulk edge h_max of H = (1/alpha) A^T diag(l'') A + lam I (same Silverstein equation; ``weights``:
    probability weights of a mixture of curvature samples, as in :func:`bulk_edge`; default equal).

    h_max = min over the valid m < 0 branch M- = { -alpha / max l'' < m < 0 } (1 + l'' m / alpha > 0
    for every sample; M- = (-inf, 0) if l'' <= 0) of lam + E[l''/(1 + l'' m/alpha)] - 1/m.
    For l'' = 1 this is the Marchenko-Pastur edge lam + (1 + alpha^(-1/2))^2.

    Returns (h_max, m_star) with m_star < 0 the minimiser.  For an unbounded l'' (intensity loss) the
    value from n samples is finite but grows with n (the edge is set by the largest samples).
    """
    h = np.asarray(hess, dtype=float).ravel()
    if h.size == 0 or not np.all(np.isfinite(h)):
        raise ValueError("hess must be a non-empty array of finite values")
    wts = None if weights is None else np.asarray(weights, dtype=float).ravel() / np.sum(weights)
    hmax = float(h.max())
    u_max = alpha / hmax if hmax > 0 else np.inf

    def f(u):  # m = -u
        v = h / (1.0 - h * (u / alpha))
        return lam + (float(np.mean(v)) if wts is None else float(wts @ v)) + 1.0 / u

    hi = u_max * (1.0 - 1e-9) if np.isfinite(u_max) else 1e8
    grid = np.geomspace(min(1e-6, hi * 1e-6), hi, 64)
    vals = np.array([f(u) for u in grid])
    k = int(np.nanargmin(vals))
    if k == len(grid) - 1 and not np.isfinite(u_max):
        return float(vals[k]), -np.inf
    a = grid[max(k - 1, 0)]
    b = grid[min(k + 1, len(grid) - 1)]
    res = minimize_scalar(
        lambda lu: f(math.exp(lu)), bounds=(math.log(a), math.log(b)), method="bounded", options=dict(xatol=1e-10)
    )
    u_star, best = math.exp(res.x), float(res.fun)
    if vals[k] < best:
        best, u_star = float(vals[k]), float(grid[k])
    return best, -u_star


def method_rate(algorithm, values, h_min: float, h_max: float, eta: float, n_grid: int = 4001):
    """Bulk rate of a first-order method near the limit: max over h in [h_min, h_max] of the largest |root| of
    its linearised recursion z^2 - (A - eta h a) z - (B - eta h b) = 0 (:meth:`sidmft.Algorithm.contraction`,
    the coefficients (a, b, A, B) of its declaration at the parameter ``values``), evaluated on a uniform grid
    of ``n_grid`` points including both edges.  Returns (rate, h_at), h_at the eigenvalue that attains it."""
    if not (math.isfinite(h_min) and math.isfinite(h_max) and h_min <= h_max):
        raise ValueError(f"need finite h_min <= h_max; got {h_min!r}, {h_max!r}")
    alg = get_algorithm(algorithm)
    hs = np.linspace(h_min, h_max, n_grid)
    rad = alg.contraction(hs, eta, values)
    k = int(np.argmax(rad))
    return float(rad[k]), float(hs[k])


def momentum_rate(h_min: float, h_max: float, eta: float, beta: float, algorithm, n_grid: int = 4001):
    """:func:`method_rate` of a method whose one parameter is the momentum ``beta`` (heavy-ball, Nesterov):

        heavy-ball  z^2 - (1 + beta - eta h) z + beta = 0,
        nesterov    z^2 - (1 + beta)(1 - eta h) z + beta (1 - eta h) = 0,

    both read off the declarations (docs/theory.md §3).  beta = 0 gives max(|1 - eta h_min|, |1 - eta h_max|).
    """
    beta = get_parameter("beta").check(beta)
    return method_rate(algorithm, {"beta": beta}, h_min, h_max, eta, n_grid)


def bulk_edge_at_dim(fp, dim: int, seeds: int = 16, seed: int = 0) -> tuple[float, float]:
    """Finite-size bulk edge: mean and standard error over ``seeds`` of :func:`bulk_edge` evaluated
    with n = alpha * dim samples of the fixed-point law (the empirical l'' of a finite problem).

    Matters when the edge is a support edge (``fp.rate_note`` says so, e.g. phase retrieval at
    alpha = 2, lam = 0.1); otherwise it agrees with ``fp.h_min`` up to O(1/sqrt(n)).  Complex problems: the
    2n curvatures (kappa_r, kappa_t) of the n samples (``fp.law.curvatures``, docs/theory.md §7.4).
    """
    n = int(round(fp.problem.alpha * dim))
    if n < 10:
        raise ValueError(f"alpha * dim must be >= 10; got {n}")
    law = fp.law
    hs = np.array(
        [
            bulk_edge(law.curvatures(fp.sample(n, seed=seed + k)), fp.problem.alpha, fp.problem.lam)[0]
            for k in range(seeds)
        ]
    )
    return float(hs.mean()), standard_error(hs)


@dataclass(frozen=True)
class RatePrediction:
    """Result of :func:`predict_rate`.

    Attributes
    ----------
    h_min, m_star : float
        Lower bulk edge and its maximiser (:func:`bulk_edge`).
    rate : float
        GD form: 1 - eta h_min when 0 < eta h_min < 1; other methods (heavy-ball, Nesterov, ...):
        :func:`method_rate` over [h_min, h_max] when h_min > 0 and it is < 1; else NaN (``note`` says why).
    m_star_over_m_max : float
        m_star / (alpha / |min l''|) (0 when l'' >= 0): near 1 the edge is a support edge.
    note : str
        Caveats ("" when none).
    h_max : float
        Upper bulk edge (:func:`upper_edge`).
    """

    h_min: float
    m_star: float
    rate: float
    m_star_over_m_max: float
    note: str = ""
    h_max: float = float("nan")


def _join(note, more):
    return (note + "; " if note else "") + more


def _rate_caveats(eh, bounded_hessian):
    notes = []
    if eh <= 0:
        notes.append(
            f"eta h_min = {eh:.4g} <= 0: the bulk of the Hessian reaches 0 or below, no exponential "
            "contraction predicted"
        )
    elif not 0 < eh < 1:
        notes.append(f"eta h_min = {eh:.4g} >= 1: the step is too large for a monotone contraction of the lower edge")
    if not bounded_hessian:
        notes.append(
            "l'' is unbounded: the upper Hessian edge is infinite as d -> inf, so 1 - eta h_min is the "
            "rate of the slowest (bulk-edge) modes only (docs/theory.md §3 instability caveat)"
        )
    return notes


def predict_rate(
    hess,
    gamma: float,
    alpha: float,
    lam: float,
    eta: float,
    bounded_hessian: bool = True,
    *,
    algorithm=DEFAULT_ALGORITHM,
    beta: Optional[float] = None,
    values: Optional[dict] = None,
    weights=None,
) -> RatePrediction:
    """Predicted per-step contraction at the limit (docs/theory.md §3): 1 - eta h_min for a method declared in
    the GD form (:attr:`sidmft.Algorithm.gradient_form`: p^t = x^t, one-step update, whatever its parameters),
    :func:`method_rate` over the bulk [h_min, h_max] otherwise.

    Parameters
    ----------
    hess : array
        Monte-Carlo samples of l''(y, r_hat) under the fixed-point law (non-finite ones are dropped
        with a note), e.g. ``FixedPointLaw.sample(...)["hess"]``.
    gamma : float
        Integrated response of the fixed point: min l'' < -1/gamma means the selected prox roots
        leave the valid branch (noted).
    alpha, lam, eta : float
        Sample ratio, ridge and step size of the problem.
    bounded_hessian : bool
        False for losses with unbounded l'' (noted: only the slowest modes follow the rate).
    algorithm : str or Algorithm
        A registered method with a fixed point (ValueError for one without, e.g. sgd).
    beta : float, optional
        The momentum, for a method with a ``beta`` parameter (shortcut for ``values={"beta": beta}``).
    values : dict, optional
        The method's parameter values (``Problem.method_values``).
    weights : array, optional
        Probability weights of the curvature samples (default equal; complex signals: docs/theory.md §7.4).

    Returns
    -------
    RatePrediction
    """
    alg = get_algorithm(algorithm)
    if alg.no_fixed_point is not None:
        raise ValueError(f"algorithm {alg.name!r} has no rate at a fixed point: {alg.no_fixed_point}")
    vals = _method_values(alg, beta, values)
    h = np.asarray(hess, dtype=float)
    ok = np.isfinite(h)
    note = ""
    wts = None if weights is None else np.asarray(weights, dtype=float)[ok]
    if not np.all(ok):
        note = f"{np.sum(~ok)} non-finite l'' samples dropped"
        h = h[ok]
    hmin_emp = float(h.min())
    if hmin_emp < -1.0 / gamma * (1 + 1e-9):
        note = (
            f"min l'' = {hmin_emp:.4g} < -1/gamma = {-1 / gamma:.4g} on the selected roots: "
            "the valid branch is not guaranteed"
        )
    h_min, m_star = bulk_edge(h, alpha, lam, wts)
    m_max = alpha / -hmin_emp if hmin_emp < 0 else np.inf
    if np.isfinite(m_max) and m_star > 0.98 * m_max:
        note = _join(
            note,
            f"the maximiser m* = {m_star:.4g} sits at the end of the valid branch alpha/|min l''| = "
            f"{m_max:.4g}: the lower edge is set by the most negative l'' samples (support edge, not "
            "a square-root bulk edge), so h_min depends on the sample size n_mc and decreases slowly "
            "as it grows; for GD at dimension d use rate.bulk_edge_at_dim(result, d)",
        )
    h_max = upper_edge(h, alpha, lam, wts)[0]
    ratio = float(m_star / m_max) if np.isfinite(m_max) else 0.0
    eh = eta * h_min
    if alg.gradient_form:
        for more in _rate_caveats(eh, bounded_hessian):
            note = _join(note, more)
        rate = 1.0 - eh if 0 < eh < 1 else float("nan")
    else:
        rate, more = _bulk_prediction(h_min, h_max, eta, alg, vals, bounded_hessian, h.size)
        note = _join(note, more) if more else note
    return RatePrediction(h_min=h_min, m_star=m_star, rate=rate, m_star_over_m_max=ratio, note=note, h_max=h_max)


def _method_values(alg, beta, values) -> dict:
    """The method's parameter values, checked (``beta`` given alone is the momentum's)."""
    vals = dict(values or {})
    if beta is not None and "beta" in alg.parameters:
        vals["beta"] = get_parameter("beta").check(beta)
    return {k: get_parameter(k).check(v) for k, v in alg.values(vals).items() if v is not None}


def _bulk_prediction(h_min, h_max, eta, alg, values, bounded_hessian, n):
    """(rate or NaN, note) of a method beyond the GD form from the bulk edges (:func:`method_rate`)."""
    if h_min <= 0:
        return float("nan"), (
            f"h_min = {h_min:.4g} <= 0: the bulk of the Hessian reaches 0 or below, no exponential contraction "
            "predicted"
        )
    rate, h_at = method_rate(alg, values, h_min, h_max, eta)
    at_top = h_at == h_max and h_max > h_min
    notes = []
    if at_top:
        notes.append(f"the upper edge decides (eta h_max = {eta * h_max:.4g}): the rate is set by the stiffest modes")
    if not bounded_hessian:
        notes.append(
            f"l'' is unbounded: h_max = {h_max:.4g} from n_mc = {n} samples is finite but grows with the sample "
            "size (infinite as d -> inf)"
            + (", and it decides the rate here, so the rate depends on n_mc" if at_top else "; it does not decide")
        )
    if rate >= 1:
        notes.append(f"largest |root| = {rate:.5g} >= 1 on the bulk: no contraction (the iteration diverges)")
        rate = float("nan")
    notes.append("outlier eigenvalues of H (span of x* and x^inf) are not captured")
    return rate, "; ".join(notes)
