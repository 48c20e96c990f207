"""Measured convergence rates: fits of a trajectory's tail and the comparison with the prediction.

See :mod:`sidmft.theory.rate` for the model fitted (log|v_t| = a + p t log(rho) - beta log t) and
why the t^{-3/2} edge prefactor matters; everything here is re-exported from there.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ...numerics import standard_error
from ...results import TrajectoryResult
from ._result import RateFit, nan_fit

__all__ = ["fit_rate", "fit_rate_differences", "extrapolate_limit", "measured_rate"]


# ------------------------------------------------------------------------------ fitting
def fit_rate(
    t,
    values,
    se=None,
    *,
    power: float = 1.0,
    prefactor: float = 0.0,
    window=None,
    tail: float = 0.5,
    floor: Optional[float] = None,
    nsigma_floor: float = 3.0,
    min_points: int = 5,
    correction: bool = False,
) -> RateFit:
    """Fit an exponential rate to the tail of a decaying trajectory.

    Model: log|v_t| = a + power * t * log(rho) - prefactor * log(t) [+ c / t]  (weighted least squares).

    Parameters
    ----------
    t : array of int or float
        Times (steps).
    values : array
        Decaying positive quantity: |m_t - m_inf|, successive differences |m_{t+1} - m_t|
        (power 1), or the squared gradient norm G_t (power 2).
    se : array, optional
        Standard errors of ``values``; used as weights (sigma_log = se/|v|) and to drop points
        below ``nsigma_floor * se`` (noise floor).
    power : float
        1 when v ~ rho^t, 2 when v ~ rho^{2t} (squared quantities such as G_t).
    prefactor : float
        beta in the t^{-beta} power-law prefactor (1.5 near a square-root bulk edge; 0 = plain fit).
    window : (t0, t1), optional
        Fit only t0 <= t <= t1.  Default: the last fraction ``tail`` of the usable points
        (finite, nonzero, above the noise floor and above ``floor``, and before the first point
        where that stops being true from the end).
    correction : bool
        Also fit the next term c/t of the edge asymptotics rho^{pt} t^{-beta} (1 + c/t + ...); useful
        when the window is at moderate t (e.g. a DMFT run of 100 steps).
    floor : float, optional
        Drop |v| <= floor (default: 1e-13**power * max|v| -- rounding floor of deterministic runs).

    Returns
    -------
    RateFit
    """
    t = np.asarray(t, dtype=float)
    v = np.abs(np.asarray(values, dtype=float))
    if t.shape != v.shape or t.ndim != 1:
        raise ValueError(f"t and values must be 1-D arrays of the same length; got {t.shape} and {v.shape}")
    if power <= 0:
        raise ValueError(f"power must be > 0; got {power!r}")
    s = None if se is None else np.abs(np.broadcast_to(np.asarray(se, dtype=float), v.shape))
    sel = _fit_window(t, v, s, prefactor, window, tail, floor, nsigma_floor, power)
    if sel is None:
        return nan_fit("no usable points (all zero, non-finite or below the noise floor)", power, prefactor)
    n = int(sel.sum())
    if n < min_points:
        return nan_fit(f"only {n} usable points in the window (need {min_points})", power, prefactor)
    tt, lv = t[sel], np.log(v[sel])
    yv = lv + prefactor * np.log(tt) if prefactor else lv
    wts = 1.0 / np.maximum(s[sel] / v[sel], 1e-300) ** 2 if s is not None else np.ones(n)
    X = np.stack([np.ones(n), tt] + ([1.0 / tt] if correction else []), 1)
    beta, cov, chi2_dof = _wls(X, yv, wts, weighted=s is not None)
    slope, slope_se = float(beta[1]), float(math.sqrt(max(cov[1, 1], 0.0)))
    rate = math.exp(slope / power)
    rate_se = rate * slope_se / power
    return RateFit(
        rate,
        rate_se,
        slope,
        slope_se,
        float(beta[0]),
        (float(tt[0]), float(tt[-1])),
        n,
        float(power),
        float(prefactor),
        chi2_dof,
        "ok",
    )


def _fit_window(t, v, s, prefactor, window, tail, floor, nsigma_floor, power):
    """Boolean mask of the points :func:`fit_rate` fits (None: no usable point at all)."""
    good = np.isfinite(v) & (v > 0) & np.isfinite(t) & (t > 0 if prefactor else np.isfinite(t))
    if floor is None:
        vmax = np.nanmax(np.where(good, v, np.nan)) if np.any(good) else 0.0
        floor = 1e-13**power * vmax
    good &= v > floor
    if s is not None:
        good &= np.isfinite(s) & (v > nsigma_floor * s)
    if window is not None:
        t0, t1 = window
        return good & (t >= t0) & (t <= t1)
    # usable tail: the contiguous run of good points before the end's first bad point
    idx = np.nonzero(good)[0]
    if idx.size == 0:
        return None
    last = idx[-1]
    first = last
    while first - 1 >= 0 and good[first - 1]:
        first -= 1
    n_run = last - first + 1
    start = first + int(math.floor((1.0 - tail) * n_run))
    sel = np.zeros_like(good)
    sel[start : last + 1] = True
    return sel


def _wls(X, yv, wts, weighted):
    """Weighted least squares: (coefficients, covariance, reduced chi^2 or NaN when not ``weighted``).

    Unit weights: the covariance is scaled by the residual variance; weights: by max(chi^2, 1)."""
    XtW = X.T * wts
    cov = np.linalg.inv(XtW @ X)
    beta = cov @ (XtW @ yv)
    resid = yv - X @ beta
    dof = max(X.shape[0] - X.shape[1], 1)
    chi2 = float(np.sum(wts * resid**2) / dof)
    if not weighted:
        return beta, cov * chi2, float("nan")
    return beta, cov * max(chi2, 1.0), chi2


def fit_rate_differences(t, values, se=None, **kw) -> RateFit:
    """:func:`fit_rate` on successive differences |v_{t+1} - v_t| (needs no limit value).

    ``se`` (of ``values``) is propagated as sqrt(se_t^2 + se_{t+1}^2) -- an upper bound, since
    Monte-Carlo errors of neighbouring steps are positively correlated.
    """
    t = np.asarray(t, dtype=float)
    v = np.asarray(values, dtype=float)
    d = np.diff(v)
    sd = None
    if se is not None:
        s = np.broadcast_to(np.asarray(se, dtype=float), v.shape)
        sd = np.hypot(s[1:], s[:-1])
    return fit_rate(t[:-1], d, sd, **kw)


def extrapolate_limit(values, rate: float, rate_se: float = 0.0, se_last: float = 0.0) -> tuple[float, float]:
    """Limit of a geometrically converging sequence: v_inf = v_T + (v_T - v_{T-1}) rho / (1 - rho).

    Returns (v_inf, se) with se from ``rate_se`` (delta method) and the last point's ``se_last``.
    """
    v = np.asarray(values, dtype=float)
    if v.size < 2:
        raise ValueError("need at least two values to extrapolate")
    if not (0 < rate < 1):
        return float(v[-1]), float("nan")
    d = v[-1] - v[-2]
    k = rate / (1.0 - rate)
    dk = rate_se / (1.0 - rate) ** 2
    return float(v[-1] + d * k), float(math.hypot(abs(d) * dk, se_last))


# ------------------------------------------------------------------------------ results
def _series(result, name):
    """(t, mean, se, per-replica values or None) of observable ``name`` of a trajectory result."""
    if not isinstance(result, TrajectoryResult):
        raise TypeError(f"result must be a DMFTResult or SimulationResult; got {type(result).__name__}")
    if name not in result.names:
        raise ValueError(f"observable must be one of {list(result.names)}; got {name!r}")
    t = np.asarray(result.t, dtype=float)
    ps = np.asarray(result.per_replica(name), dtype=float)
    if ps.ndim == 2 and ps.shape[0] > 1:
        return t, ps.mean(0), standard_error(ps, axis=0), ps
    return t, np.asarray(result.mean(name), dtype=float), np.asarray(result.se(name), dtype=float), None


def measured_rate(result, observable: str = "grad_norm", *, prefactor: float = 1.5, **kw) -> RateFit:
    """Fit the per-step contraction from a DMFT or simulation result.

    Several seeds (simulation ``per_seed``) or Monte-Carlo batches (DMFT ``per_batch``) are fitted
    one by one and averaged; their spread gives the standard error.

    ``observable="grad_norm"`` fits G_t ~ rho^{2t} t^{-prefactor}; ``"m"`` (or any other
    observable) fits its successive differences ~ rho^t t^{-prefactor}.  For a simulation with
    several seeds each seed is fitted separately and the rates are averaged (the standard error
    is the spread over seeds / sqrt(n_seeds), which contains the finite-size fluctuation of the
    smallest Hessian eigenvalue); otherwise the mean trajectory is fitted with its Monte-Carlo
    standard errors.
    """
    t, v, se, ps = _series(result, observable)
    power = 2.0 if observable == "grad_norm" else 1.0

    def one(vals, s):
        if observable == "grad_norm":
            return fit_rate(t, vals, s, power=power, prefactor=prefactor, **kw)
        return fit_rate_differences(t, vals, s, power=power, prefactor=prefactor, **kw)

    if ps is not None and ps.shape[0] > 1:
        fits = [one(row, None) for row in ps]
        rates = np.array([f.rate for f in fits])
        ok = np.isfinite(rates)
        if ok.sum() < 2:
            return nan_fit("fewer than two seeds gave a usable fit", power, prefactor)
        r = float(rates[ok].mean())
        r_se = standard_error(rates[ok])
        f0 = fits[int(np.nonzero(ok)[0][0])]
        return RateFit(
            r,
            r_se,
            power * math.log(r),
            power * r_se / r,
            float("nan"),
            f0.window,
            int(ok.sum()),
            power,
            prefactor,
            float("nan"),
            f"mean over {int(ok.sum())} seeds (seed spread {rates[ok].std(ddof=1):.2g})",
        )
    return one(v, se)
