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
(:func:`bulk_edge`).  Complex signals (docs/theory.md §7.4): the expectation is over the mixture of the
radial and tangential curvatures kappa_r = L''(|r|), kappa_t = L'(|r|)/|r|, each with weight 1/2 (``weights``).
Outlier eigenvalues of H below the bulk (in the span of x* and x^inf) are
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

from ._compare import compare_rate
from ._fit import extrapolate_limit, fit_rate, fit_rate_differences, measured_rate
from ._predict import (
    RatePrediction,
    bulk_edge,
    bulk_edge_at_dim,
    method_rate,
    momentum_rate,
    predict_rate,
    upper_edge,
)
from ._result import RateComparison, RateFit

__all__ = [
    "bulk_edge",
    "upper_edge",
    "method_rate",
    "momentum_rate",
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
