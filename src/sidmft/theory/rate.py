"""Convergence rate of GD near its limit: bulk-edge prediction and fits from trajectories.

Prediction (docs/theory.md §3, "Convergence rate (bulk prediction)")
---------------------------------------------------------------
Linearising the TTI DMFT around the fixed point, the Stieltjes transform of the Hessian
H = (1/alpha) A^T diag(l'') A + lam I at the limit point solves (Silverstein, as if diag(l'') were
independent of A)

    m_H(s) = 1 / ( s + lam + E[ l'' / (1 + l'' m_H(s) / alpha) ] ),   l'' = l''(y, r_hat),

so its lower bulk edge is

    h_min = max_{m in M} { lam + E[ l''/(1 + l'' m/alpha)] - 1/m },
    M = { m > 0 : 1 + l'' m / alpha > 0 a.s. } = (0, alpha / |min l''|)   (or (0, inf) if l'' >= 0),

and the predicted per-step contraction of GD is rho = 1 - eta h_min when 0 < eta h_min < 1
(:func:`bulk_edge`).  Outlier eigenvalues of H below the bulk (in the span of x* and x^inf) are
not captured.

Measurement
-----------
:func:`fit_rate` fits log|v_t| = a + p t log(rho) - beta log t on the tail of a trajectory
(p = 1 for |m_t - m_inf| or successive differences, p = 2 for the squared gradient norm
G_t = ||grad L||^2/d).  beta is the power-law prefactor: near a square-root bulk edge the
spectral sum  int sqrt(h - h_min) (1 - eta h)^{p t} dh  decays as rho^{p t} t^{-3/2}, so
``prefactor=1.5`` removes the bias of a plain exponential fit, which is -beta/(p t) in
log(rho) (docs/theory.md §5.5).  :func:`measured_rate` applies it to a DMFT or simulation result and
:func:`compare_rate` puts prediction and measurement side by side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from ..numerics import standard_error
from ._rate_result import RateComparison, RateFit

__all__ = [
    "bulk_edge",
    "bulk_edge_at_dim",
    "RatePrediction",
    "predict_rate",
    "RateFit",
    "fit_rate",
    "fit_rate_differences",
    "extrapolate_limit",
    "measured_rate",
    "compare_rate",
    "RateComparison",
]


# ------------------------------------------------------------------------------ prediction
def bulk_edge(hess, alpha: float, lam: float, weights=None) -> tuple[float, float]:
    """Lower bulk edge h_min of H = (1/alpha) A^T diag(l'') A + lam I (docs/theory.md §3).

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


def bulk_edge_at_dim(fp, dim: int, seeds: int = 16, seed: int = 0) -> tuple[float, float]:
    """Finite-size bulk edge: mean and standard error over ``seeds`` of :func:`bulk_edge` evaluated
    with n = alpha * dim samples of the fixed-point law (the empirical l'' of a finite problem).

    Matters when the edge is a support edge (``fp.rate_note`` says so, e.g. phase retrieval at
    alpha = 2, lam = 0.1); otherwise it agrees with ``fp.h_min`` up to O(1/sqrt(n)).
    """
    n = int(round(fp.problem.alpha * dim))
    if n < 10:
        raise ValueError(f"alpha * dim must be >= 10; got {n}")
    hs = np.array(
        [bulk_edge(fp.sample(n, seed=seed + k)["hess"], fp.problem.alpha, fp.problem.lam)[0] for k in range(seeds)]
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
        1 - eta h_min when 0 < eta h_min < 1, else NaN (``note`` says why).
    m_star_over_m_max : float
        m_star / (alpha / |min l''|) (0 when l'' >= 0): near 1 the edge is a support edge.
    note : str
        Caveats ("" when none).
    """

    h_min: float
    m_star: float
    rate: float
    m_star_over_m_max: float
    note: str = ""


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
    hess, gamma: float, alpha: float, lam: float, eta: float, bounded_hessian: bool = True
) -> RatePrediction:
    """Predicted per-step contraction 1 - eta h_min of GD at its limit (docs/theory.md §3).

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

    Returns
    -------
    RatePrediction
    """
    h = np.asarray(hess, dtype=float)
    ok = np.isfinite(h)
    note = ""
    if not np.all(ok):
        note = f"{np.sum(~ok)} non-finite l'' samples dropped"
        h = h[ok]
    hmin_emp = float(h.min())
    if hmin_emp < -1.0 / gamma * (1 + 1e-9):
        note = (
            f"min l'' = {hmin_emp:.4g} < -1/gamma = {-1 / gamma:.4g} on the selected roots: "
            "the valid branch is not guaranteed"
        )
    h_min, m_star = bulk_edge(h, alpha, lam)
    m_max = alpha / -hmin_emp if hmin_emp < 0 else np.inf
    if np.isfinite(m_max) and m_star > 0.98 * m_max:
        note = _join(
            note,
            f"the maximiser m* = {m_star:.4g} sits at the end of the valid branch alpha/|min l''| = "
            f"{m_max:.4g}: the lower edge is set by the most negative l'' samples (support edge, not "
            "a square-root bulk edge), so h_min depends on the sample size n_mc and decreases slowly "
            "as it grows; for GD at dimension d use rate.bulk_edge_at_dim(result, d)",
        )
    eh = eta * h_min
    for more in _rate_caveats(eh, bounded_hessian):
        note = _join(note, more)
    return RatePrediction(
        h_min=h_min,
        m_star=m_star,
        rate=1.0 - eh if 0 < eh < 1 else float("nan"),
        m_star_over_m_max=float(m_star / m_max) if np.isfinite(m_max) else 0.0,
        note=note,
    )


# the fits of measured trajectories live in _rate_fit (re-exported here)
from ._rate_fit import compare_rate, extrapolate_limit, fit_rate, fit_rate_differences, measured_rate  # noqa: E402
