"""Local stability of the per-sample dynamics: how many samples (or Monte-Carlo paths) a step size makes unstable.

Near a fitted value r a sample follows, to first order, r <- r - (eta f / alpha) l''(y, r) (r - r_fix) plus the
coupling to the others: with eta f l''(y, r) > 2 alpha the sample overshoots and its oscillation grows.  f is the
per-sample factor of the method (1/b for Bernoulli SGD, 1 otherwise) and eta the largest step of the schedule.
For a loss with unbounded l'' (the intensity loss: l'' = 3 r^2 - y) such samples exist for every eta: at the
signal r = z, l'' = 2 z^2, so constant-step GD is locally unstable for z^2 > alpha/eta (docs/theory.md §3,
"instability caveat").  Their probability is tiny, but a finite problem has n = alpha d samples and a Monte-Carlo
DMFT M paths, so the expected number of unstable ones, n p or M p, decides whether a run meets one: at alpha = 2,
eta = 0.1 (p = P(z^2 > 20) = 7.7e-6) a DMFT with 8e4 paths expects 0.6 of them and blew up, one with 2e4 (0.15)
did not.

:func:`unstable_probability` evaluates p = P(eta f kappa(y, z) > 2 alpha) at the signal (r = z, the point GD
approaches in the benign regime) by deterministic quadrature of the model's law, split where the condition
switches (kappa = l'' for real signals; the radial curvature L''(|z|) for complex ones, |z|^2 ~ Exp(1)); the
law is truncated at |z| = 12 (the mass beyond is below 1e-32).
:func:`stability` turns it into the expected count for a given number of samples or paths.

Imports: numpy, scipy and the problem room (so the simulator and the theory both use it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.optimize import brentq

__all__ = ["StabilityReport", "unstable_probability", "stability", "EXPECTED_WARN"]

#: an expected number of unstable samples (or paths) from which a run is warned
EXPECTED_WARN = 0.05
_L = 12.0
_GRID = 6001


def _per_sample_scale(problem) -> float:
    """eta f: the largest step of the schedule times the largest per-sample factor (1/b for Bernoulli SGD)."""
    alg, values = problem.algorithm_obj, problem.method_values
    eta = float(np.max(problem.etas())) if problem.steps > 0 else float(problem.eta)
    f = 1.0 / float(values["batch"]) if alg.factor == "bernoulli" else 1.0
    return eta * f


def _curvature(problem, y, z):
    """kappa(y, z): l''(y, z) (real) or the radial curvature L''(y, |z|) (complex)."""
    loss = problem.loss_obj
    with np.errstate(all="ignore"):
        return np.asarray(loss.hess(y, np.abs(z) if problem.field == "complex" else z), dtype=float)


def _gauss_legendre_mass(a, b, dens, n=24):
    """int_a^b dens(z) dz by Gauss-Legendre (dens smooth on [a, b])."""
    if b <= a:
        return 0.0
    x, w = np.polynomial.legendre.leggauss(n)
    zz = 0.5 * (b - a) * x + 0.5 * (a + b)
    return float(0.5 * (b - a) * np.sum(w * dens(zz)))


def unstable_probability(problem) -> float:
    """p = P(eta f kappa(y, z) > 2 alpha) at r = z under the model's law (see the module docstring)."""
    scale, alpha = _per_sample_scale(problem), problem.alpha
    model = problem.model_obj
    complex_ = problem.field == "complex"
    zg = np.linspace(0.0, _L, _GRID) if complex_ else np.linspace(-_L, _L, _GRID)
    Y, W = model.label_nodes(zg)
    Y, W = np.asarray(Y, dtype=float), np.asarray(W, dtype=float)
    if complex_:

        def density(z):
            return 2.0 * z * np.exp(-z * z)
    else:

        def density(z):
            return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)

    total = 0.0
    for k in range(Y.shape[1]):
        f = scale * _curvature(problem, Y[:, k], zg) / alpha - 2.0
        f = np.where(np.isfinite(f), f, -1.0)
        on = f > 0
        if not np.any(on):
            continue
        edges = [zg[0]] if on[0] else []
        for i in np.flatnonzero(on[:-1] != on[1:]):
            g = _switch(problem, model, k, scale, alpha, zg[i], zg[i + 1])
            edges.append(g)
        if on[-1]:
            edges.append(zg[-1])
        for a, b in zip(edges[0::2], edges[1::2]):

            def dens(z, k=k):
                return density(z) * np.asarray(model.label_nodes(z)[1], dtype=float)[:, k]

            total += _gauss_legendre_mass(a, b, dens)
    return float(min(max(total, 0.0), 1.0))


def _switch(problem, model, k, scale, alpha, a, b) -> float:
    """The z in [a, b] where eta f kappa(y_k(z), z)/alpha - 2 changes sign (brentq; the midpoint if it fails)."""

    def f(z):
        y = np.asarray(model.label_nodes(np.array([z]))[0], dtype=float)[0, k]
        return float(scale * _curvature(problem, np.array([y]), np.array([z]))[0] / alpha - 2.0)

    try:
        return float(brentq(f, a, b, xtol=1e-12))
    except (ValueError, RuntimeError):
        return 0.5 * (a + b)


@dataclass(frozen=True)
class StabilityReport:
    """The expected number of locally unstable samples (or paths) of a run (see the module docstring)."""

    probability: float
    count: int
    what: str = "samples"

    @property
    def expected(self) -> float:
        """count * probability."""
        return self.probability * self.count

    @property
    def warning(self) -> Optional[str]:
        """A sentence when the expected number is not small (>= :data:`EXPECTED_WARN`), else None."""
        if not self.expected >= EXPECTED_WARN:
            return None
        return (
            f"stability: about {self.expected:.2g} of the {self.count} {self.what} are locally unstable "
            f"(eta f l'' > 2 alpha at the signal, probability {self.probability:.2g} each): such a sample escapes and "
            "the run may blow up or its heavy-tailed averages may not converge; a smaller eta lowers the count "
            "(docs/theory.md §3)"
        )

    def to_dict(self) -> dict:
        return dict(probability=self.probability, count=int(self.count), expected=self.expected, what=self.what)


def stability(problem, count: int, what: str = "samples") -> StabilityReport:
    """:class:`StabilityReport` of ``problem`` for ``count`` samples (simulation: n = alpha d per seed) or paths
    (DMFT: every path of every batch)."""
    return StabilityReport(unstable_probability(problem), int(count), what)
