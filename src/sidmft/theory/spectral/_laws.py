"""Joint laws at the spectral initialisation (docs/theory.md §1.3): sample side and parameter side."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...models import Model
from ...numerics import gauss_hermite
from ...numerics.quadrature import DEFAULT_QUAD, QuadSpec, joint_rule, moment_rule
from ...preprocess import Preprocessing

__all__ = ["SampleSideLaw", "ParameterSideLaw"]


@dataclass
class SampleSideLaw:
    """Joint law at initialisation of (z_i, u_i, y_i), u_i = <a_i, x0> (docs/theory.md §1.3):

        z ~ N(0,1), y = f(z, noise), w = rho z + sqrt(1-rho^2) xi (xi ~ N(0,1) independent),
        u = kappa * w / (1 - R_S T(y)) = kappa * w * l_star/(l_star - T(y)).

    ``w`` is the Gaussian "spectral field" (the cavity field of the eigenvector, unit variance);
    the factor 1/(1 - R_S T) is the Onsager correction.  ``expect(fn)`` integrates
    fn(z, u, y) by the (z, y) quadrature of :func:`spectral` times Gauss-Hermite in xi.
    """

    rho: float
    R_S: float
    kappa: float
    T: Preprocessing
    model: Model
    quad: QuadSpec = field(default=DEFAULT_QUAD, repr=False)
    n_xi: int = 40

    def factor(self, y):
        """1/(1 - R_S T(y)) (0 where T = -inf)."""
        with np.errstate(all="ignore"):
            t = np.asarray(self.T(y), dtype=float)
            return np.where(np.isneginf(t), 0.0, 1.0 / (1.0 - self.R_S * np.where(np.isneginf(t), 0.0, t)))

    def sample(self, n: int, rng=None):
        """Draw n i.i.d. triples; returns arrays (z, u, y)."""
        rng = np.random.default_rng(rng)
        z = rng.standard_normal(n)
        y = self.model.sample(z, rng)
        xi = rng.standard_normal(n)
        w = self.rho * z + math.sqrt(max(1 - self.rho**2, 0.0)) * xi
        return z, self.kappa * w * self.factor(y), y

    def expect(self, fn: Callable):
        """E[fn(z, u, y)] (last axis of fn's output = nodes) by quadrature: the (z, y) rule of
        :func:`sidmft.numerics.quadrature.joint_rule` times Gauss-Hermite (``n_xi`` nodes) in xi."""
        rule = joint_rule(self.model, self.T.breakpoints, self.quad)
        x, wx = gauss_hermite(self.n_xi)
        c = math.sqrt(max(1 - self.rho**2, 0.0))
        z, y, wzy = rule.z, rule.y, rule.w
        f = self.factor(y)
        total = 0.0
        for xk, wk in zip(x, wx):
            u = self.kappa * (self.rho * z + c * xk) * f
            total = total + wk * (np.asarray(fn(z, u, y), dtype=float) @ wzy)
        return total

    def moments(self) -> dict:
        """E[u z], E[u^2], E[u^2 T(y)], E[u] (exact in xi; label-moment quadrature in (z, y)).

        E[u z] = kappa rho E[z^2 f], E[u^2] = kappa^2 E[(rho^2 z^2 + 1 - rho^2) f^2],
        E[u^2 T] = kappa^2 E[(rho^2 z^2 + 1 - rho^2) T f^2], f = 1/(1 - R_S T(y)).
        """
        mr = moment_rule(self.model, self.T.breakpoints, self.quad)
        f = self.factor(mr.y)
        with np.errstate(all="ignore"):
            t = np.asarray(self.T(mr.y), dtype=float)
            tf2 = np.where(np.isneginf(t), 0.0, np.where(np.isneginf(t), 0.0, t) * f * f)  # T f^2 -> 0 as T -> -inf
        W0, W1, W2 = mr.W[:, 0], mr.W[:, 1], mr.W[:, 2]
        k, r = self.kappa, self.rho
        return {
            "E_uz": k * r * (W2 @ f),
            "E_u2": k * k * (r * r * (W2 @ (f * f)) + (1 - r * r) * (W0 @ (f * f))),
            "E_u2T": k * k * (r * r * (W2 @ tf2) + (1 - r * r) * (W0 @ tf2)),
            "E_u": k * r * (W1 @ f),
        }


@dataclass
class ParameterSideLaw:
    """Joint law of (x*_j, v_j) (docs/theory.md §1.3, exact by rotational invariance):
    (X, rho X + sqrt(1-rho^2) G), X, G i.i.d. N(0,1); x0_j = kappa v_j."""

    rho: float
    kappa: float = 1.0
    n: int = 40

    def sample(self, n: int, rng=None):
        rng = np.random.default_rng(rng)
        x = rng.standard_normal(n)
        g = rng.standard_normal(n)
        return x, self.rho * x + math.sqrt(max(1 - self.rho**2, 0.0)) * g

    def expect(self, fn: Callable):
        """E[fn(x*, v)] (last axis of fn's output = nodes) by tensor Gauss-Hermite (``n`` nodes per dimension)."""
        x, w = gauss_hermite(self.n)
        X, G = np.meshgrid(x, x, indexing="ij")
        W = np.outer(w, w)
        V = self.rho * X + math.sqrt(max(1 - self.rho**2, 0.0)) * G
        return np.asarray(fn(X.ravel(), V.ravel()), dtype=float) @ W.ravel()
