"""Long-time limit of GD: the time-translation-invariant fixed point of the DMFT (docs/theory.md §3).

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
losses (intensity, amplitude) the two rules are *identical* (proof in :mod:`sidmft.theory.fixed_point._prox`):
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

Complex signals
---------------
``Problem(field="complex")`` (docs/theory.md §7.3): (z, w) circular complex Gaussian with E[w z-bar] = m,
E|w|^2 = q, the radial prox r = w rho_hat/|w| (rho_hat + gamma L'(y, rho_hat) = |w|), the holomorphic response
Gamma = E[1 - dr/dw]/gamma with dr/dw = (rho_hat/|w| + 1/(1 + gamma L''))/2, and (F2), (F3) with Re E[g z-bar]
and E|g|^2; integrated in (|z|, |w|) with the Rice law of |w| given |z| (``_law_complex``).  The rate uses
the radial and tangential curvatures (kappa_r, kappa_t) of every sample (docs/theory.md §7.4).

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

from ._law import FixedPointLaw
from ._result import FixedPointResult
from ._settings import DEFAULT_QUAD, FixedPointQuadrature, FixedPointSettings
from ._solve import fixed_point

__all__ = [
    "fixed_point",
    "FixedPointResult",
    "FixedPointLaw",
    "FixedPointSettings",
    "FixedPointQuadrature",
    "DEFAULT_QUAD",
]
