"""Convergence rate of GD near its limit: bulk-edge prediction and fits from trajectories.

Prediction (THEORY.md §3, "Convergence rate (bulk prediction)")
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
log(rho) (THEORY.md §5.5).  :func:`measured_rate` applies it to a DMFT or simulation result and
:func:`compare_rate` puts prediction and measurement side by side.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np
from scipy.optimize import minimize_scalar

__all__ = ["bulk_edge", "bulk_edge_at_dim", "RateFit", "fit_rate", "fit_rate_differences", "extrapolate_limit",
           "measured_rate", "compare_rate"]


# ------------------------------------------------------------------------------ prediction
def bulk_edge(hess, alpha: float, lam: float, weights=None) -> tuple[float, float]:
    """Lower bulk edge h_min of H = (1/alpha) A^T diag(l'') A + lam I (THEORY.md §3).

    Parameters
    ----------
    hess : array
        Samples (or quadrature nodes, with ``weights``) of l''(y, r_hat) under the fixed-point law.
        Use Monte-Carlo samples (THEORY.md §3): extreme Gauss-Hermite tail nodes corrupt the
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
    res = minimize_scalar(lambda lm: -f(math.exp(lm)), bounds=(math.log(a), math.log(b)),
                          method="bounded", options=dict(xatol=1e-10))
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
    hs = np.array([bulk_edge(fp.sample(n, seed=seed + k)["hess"], fp.problem.alpha, fp.problem.lam)[0]
                   for k in range(seeds)])
    return float(hs.mean()), float(hs.std(ddof=1) / math.sqrt(seeds)) if seeds > 1 else float("nan")


# ------------------------------------------------------------------------------ fitting
@dataclass
class RateFit:
    """Result of :func:`fit_rate`.

    Attributes
    ----------
    rate : float
        Per-step contraction rho (v_t ~ rho^{power t}).
    rate_se : float
        Standard error of ``rate`` (delta method; the slope's covariance is scaled by the
        reduced chi^2 when it exceeds 1, so misfit shows up in the error).
    slope, slope_se : float
        Fitted d log|v| / dt and its standard error.
    window : (int, int)
        First and last t used.
    n : int
        Number of points fitted.
    power, prefactor : float
        The fitted model  log|v_t| = a + power t log(rho) - prefactor log t.
    chi2_dof : float
        Reduced chi^2 (NaN without ``se``).
    message : str
    """

    rate: float
    rate_se: float
    slope: float
    slope_se: float
    intercept: float
    window: tuple
    n: int
    power: float = 1.0
    prefactor: float = 0.0
    chi2_dof: float = float("nan")
    message: str = ""

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.rate))

    def to_dict(self) -> dict:
        return asdict(self)


def _nan_fit(msg, power, prefactor):
    return RateFit(float("nan"), float("nan"), float("nan"), float("nan"), float("nan"), (None, None), 0,
                   power, prefactor, float("nan"), msg)


def fit_rate(t, values, se=None, *, power: float = 1.0, prefactor: float = 0.0, window=None,
             tail: float = 0.5, floor: Optional[float] = None, nsigma_floor: float = 3.0,
             min_points: int = 5, correction: bool = False) -> RateFit:
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
    good = np.isfinite(v) & (v > 0) & np.isfinite(t) & (t > 0 if prefactor else np.isfinite(t))
    if floor is None:
        vmax = np.nanmax(np.where(good, v, np.nan)) if np.any(good) else 0.0
        floor = 1e-13 ** power * vmax
    good &= v > floor
    if s is not None:
        good &= np.isfinite(s) & (v > nsigma_floor * s)
    if window is not None:
        t0, t1 = window
        sel = good & (t >= t0) & (t <= t1)
    else:
        # usable tail: the contiguous run of good points before the end's first bad point
        idx = np.nonzero(good)[0]
        if idx.size == 0:
            return _nan_fit("no usable points (all zero, non-finite or below the noise floor)", power, prefactor)
        last = idx[-1]
        first = last
        while first - 1 >= 0 and good[first - 1]:
            first -= 1
        n_run = last - first + 1
        start = first + int(math.floor((1.0 - tail) * n_run))
        sel = np.zeros_like(good)
        sel[start:last + 1] = True
    n = int(sel.sum())
    if n < min_points:
        return _nan_fit(f"only {n} usable points in the window (need {min_points})", power, prefactor)
    tt, lv = t[sel], np.log(v[sel])
    yv = lv + prefactor * np.log(tt) if prefactor else lv
    if s is not None:
        sig = np.maximum(s[sel] / v[sel], 1e-300)
        wts = 1.0 / sig**2
    else:
        wts = np.ones(n)
    X = np.stack([np.ones(n), tt] + ([1.0 / tt] if correction else []), 1)
    XtW = X.T * wts
    cov = np.linalg.inv(XtW @ X)
    beta = cov @ (XtW @ yv)
    resid = yv - X @ beta
    dof = max(n - X.shape[1], 1)
    chi2 = float(np.sum(wts * resid**2) / dof)
    if s is None:
        cov = cov * chi2  # unit weights: residual variance
        chi2_dof = float("nan")
    else:
        cov = cov * max(chi2, 1.0)
        chi2_dof = chi2
    slope, slope_se = float(beta[1]), float(math.sqrt(max(cov[1, 1], 0.0)))
    rate = math.exp(slope / power)
    rate_se = rate * slope_se / power
    return RateFit(rate, rate_se, slope, slope_se, float(beta[0]), (float(tt[0]), float(tt[-1])), n,
                   float(power), float(prefactor), chi2_dof, "ok")


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
    """(t, mean, se, per_seed or None) from a DMFTResult or SimulationResult."""
    t = np.asarray(result.t, dtype=float)
    per_seed = getattr(result, "per_seed", None)
    if not (isinstance(per_seed, dict) and name in per_seed):
        per_seed = getattr(result, "per_batch", None)  # DMFT: independent Monte-Carlo batches
    if isinstance(per_seed, dict) and name in per_seed:
        ps = np.asarray(per_seed[name], dtype=float)
        if ps.ndim == 2 and ps.shape[0] > 1:
            return t, ps.mean(0), ps.std(0, ddof=1) / math.sqrt(ps.shape[0]), ps
    v = np.asarray(getattr(result, name), dtype=float)
    se = getattr(result, f"{name}_se", None)
    return t, v, (None if se is None else np.asarray(se, dtype=float)), None


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
            return _nan_fit("fewer than two seeds gave a usable fit", power, prefactor)
        r = float(rates[ok].mean())
        r_se = float(rates[ok].std(ddof=1) / math.sqrt(ok.sum()))
        f0 = fits[int(np.nonzero(ok)[0][0])]
        return RateFit(r, r_se, power * math.log(r), power * r_se / r, float("nan"), f0.window, int(ok.sum()),
                       power, prefactor, float("nan"),
                       f"mean over {int(ok.sum())} seeds (seed spread {rates[ok].std(ddof=1):.2g})")
    return one(v, se)


def compare_rate(result, fp=None, *, observable: str = "grad_norm", nsigma: float = 2.0, tol: float = 0.0,
                 use_drift: bool = True, **kw) -> dict:
    """Predicted (bulk edge) against measured contraction for a DMFT or simulation ``result``.

    Parameters
    ----------
    result : DMFTResult or SimulationResult
    fp : FixedPointResult, optional
        Computed with :func:`sidmft.theory.fixed_point.fixed_point` on ``result.problem`` if absent.
    observable, kw : passed to :func:`measured_rate` (both the edge-corrected fit, prefactor 1.5,
        and the plain exponential fit, prefactor 0, are reported).
    nsigma, tol, use_drift : agreement criterion |predicted - measured| <= nsigma * se + tol (+ drift),
        with ``measured`` the edge-corrected fit and ``drift`` the change of that fit between the two
        halves of the window (the model error of the asymptotic prefactor; THEORY.md §5.5).

    Returns
    -------
    dict with ``predicted``, ``h_min``, ``measured``, ``measured_se``, ``drift``, ``measured_plain``,
    ``measured_plain_se``, ``window``, ``agree`` (bool), ``difference``, ``message``.
    """
    if fp is None:
        from .fixed_point import fixed_point

        fp = fixed_point(result.problem)
    kw = dict(kw)
    kw.pop("prefactor", None)
    f = measured_rate(result, observable, prefactor=1.5, **kw)
    f0 = measured_rate(result, observable, prefactor=0.0, **kw)
    # systematic error of the asymptotic t^-1.5 model: change of the fitted rate between the
    # two halves of the window (higher-order 1/t^2 terms, crossover to the smallest eigenvalue)
    drift = float("nan")
    if f.ok and f.window[0] is not None:
        t0, t1 = f.window
        tm = 0.5 * (t0 + t1)
        kw2 = {k: v for k, v in kw.items() if k not in ("window", "tail")}
        fa = measured_rate(result, observable, prefactor=1.5, window=(t0, tm), **kw2)
        fb = measured_rate(result, observable, prefactor=1.5, window=(tm, t1), **kw2)
        drift = abs(fb.rate - fa.rate)
    pred = float(fp.rate)
    diff = f.rate - pred
    sys_err = drift if (use_drift and np.isfinite(drift)) else 0.0
    agree = bool(np.isfinite(diff) and abs(diff) <= nsigma * f.rate_se + tol + sys_err)
    msg = (f"predicted 1 - eta h_min = {pred:.5f}; measured {f.rate:.5f} +- {f.rate_se:.1g} "
           f"(t^-1.5 edge prefactor; window drift {drift:.1g}), {f0.rate:.5f} +- {f0.rate_se:.1g} "
           f"(plain exponential) on t in {f.window}; {'agree' if agree else 'DISAGREE'} within "
           f"{nsigma:g} se + {tol:g}" + (" + drift" if use_drift else ""))
    return dict(predicted=pred, h_min=float(fp.h_min), measured=f.rate, measured_se=f.rate_se, drift=drift,
                measured_plain=f0.rate, measured_plain_se=f0.rate_se, window=f.window, agree=agree,
                difference=diff, fit=f, fit_plain=f0, message=msg)
