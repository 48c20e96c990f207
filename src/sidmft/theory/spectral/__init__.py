"""Exact d -> infinity asymptotics of the spectral initialisation (docs/theory.md §1).

Spectral matrix D = (1/alpha) sum_i T(y_i) a_i a_i^T (§0), v its top eigenvector, ||v||^2 = d.
With tau = sup T < inf (T may be unbounded below) and, for l > tau,

    psi(l)  = l (1/alpha + E[T/(l - T)]),        phi(l)  = l E[T z^2/(l - T)],
    psi'(l) = 1/alpha - E[T^2/(l - T)^2],        phi'(l) = -E[T^2 z^2/(l - T)^2],

(z ~ N(0,1), y = f(z, noise), T = T(y); Lu-Li 2017, Mondelli-Montanari 2018 Lemma 2 with
delta = alpha) the limits are

* l_bar = argmin_{l > tau} psi(l)  (= tau if psi' >= 0 on (tau, inf));  bulk edge psi(l_bar);
* l_star solves psi(max(l, l_bar)) = phi(l);  transition passed iff psi'(l_star) > 0
  (equivalently phi(l_bar) > psi(l_bar));
* top eigenvalue psi(l_star) = phi(l_star);  rho^2 = psi'/(psi' - phi') at l_star;
* static cavity form (§1.2): R_S = 1/l_star, R_g^S = E[T/(1 - R_S T)], B0, B2, mu_S, Sigma(S,S);
* joint laws at initialisation (§1.3): :func:`sample_side_law`, :func:`parameter_side_law`.

Complex signals (``Problem(field="complex")``, docs/theory.md §7.1): the same formulas with z ~ CN(0, 1)
(z^2 -> |z|^2, |z|^2 ~ Exp(1)), by the radial quadrature rules; the laws are circular complex.

Quadrature (see :mod:`sidmft.quadrature`): expectations are sums over a fixed rule
for (z, y), built once per call.  Noiseless additive models: composite Gauss-Legendre in z on
[-11, 11], split at 0, at the kinks of the link and at every z where y = g(z) crosses a
breakpoint of T (kink, jump or pole), 16 nodes per panel, panels graded geometrically
(ratio 0.2, 10 levels) towards every split point, so near-singular integrands such as
1/(l - T)^2 with l just above sup T are resolved.  Noisy additive models: the same in z times
a graded Gauss-Legendre rule in the noise split at the z-dependent noise values where y
crosses a breakpoint of T (Gauss-Hermite, 60 nodes, when T has no breakpoints).  Binary
models: the rule in z times the two labels.  The integrands are rewritten with
s = 1/(l - T) (T/(l - T) = l s - 1), which stays bounded where T -> -inf (the pole of
T = 1 - 1/y at y = 0).  Roots by brentq (xtol 1e-14 relative).  Accuracy: ~1e-10 or better on
all outputs against a rule with twice the nodes and deeper grading, and against adaptive
scipy.integrate.quad (tests/test_spectral.py).
"""

from __future__ import annotations

from ._laws import ParameterSideLaw, SampleSideLaw
from ._measure import SpectralMeasure
from ._result import SpectralTheoryResult
from ._solve import (
    optimal_preprocessing,
    parameter_side_law,
    sample_side_law,
    spectral,
    spectral_threshold,
)

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
