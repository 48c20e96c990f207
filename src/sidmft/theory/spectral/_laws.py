"""Joint laws at the spectral initialisation (docs/theory.md §1.3): sample side and parameter side.

Both laws have a ``field``: ``"real"`` (docs/theory.md §1.3) or ``"complex"`` (docs/theory.md §7.1: circular
complex Gaussian (z, w) with E[w z-bar] = rho, E|w|^2 = 1, u = kappa w/(1 - R_S T(y)); x*_j, v_j complex).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...models import Model
from ...numerics import gauss_hermite
from ...preprocess import Preprocessing
from ...quadrature import DEFAULT_QUAD, QuadSpec, joint_rule, moment_rule

__all__ = ["SampleSideLaw", "ParameterSideLaw"]


@dataclass
class SampleSideLaw:
    """Joint law at initialisation of (z_i, u_i, y_i), u_i = <a_i, x0> (docs/theory.md §1.3):

        z ~ N(0,1), y = f(z, noise), w = rho z + sqrt(1-rho^2) xi (xi ~ N(0,1) independent),
        u = kappa * w / (1 - R_S T(y)) = kappa * w * l_star/(l_star - T(y)).

    ``w`` is the Gaussian "spectral field" (the cavity field of the eigenvector, unit variance);
    the factor 1/(1 - R_S T) is the Onsager correction.  ``expect(fn)`` integrates
    fn(z, u, y) by the (z, y) quadrature of :func:`spectral` times Gauss-Hermite in xi.

    ``field="complex"`` (docs/theory.md §7.1): z ~ CN(0, 1), y = f(|z|, noise), xi ~ CN(0, 1) independent,
    w = rho z + sqrt(1 - rho^2) xi (so E[w z-bar] = rho, E|w|^2 = 1) and the same u; z and u are complex.
    """

    rho: float
    R_S: float
    kappa: float
    T: Preprocessing
    model: Model
    quad: QuadSpec = field(default=DEFAULT_QUAD, repr=False)
    n_xi: int = 40
    field: str = "real"
    n_phase: int = 16

    def __post_init__(self):
        if self.field not in ("real", "complex"):
            raise ValueError(f"field must be one of ['real', 'complex']; got {self.field!r}")

    def factor(self, y):
        """1/(1 - R_S T(y)) (0 where T = -inf)."""
        with np.errstate(all="ignore"):
            t = np.asarray(self.T(y), dtype=float)
            return np.where(np.isneginf(t), 0.0, 1.0 / (1.0 - self.R_S * np.where(np.isneginf(t), 0.0, t)))

    def sample(self, n: int, rng=None):
        """Draw n i.i.d. triples; returns arrays (z, u, y) (z, u complex for ``field="complex"``)."""
        rng = np.random.default_rng(rng)
        if self.field == "complex":
            return self._sample_complex(n, rng)
        z = rng.standard_normal(n)
        y = self.model.sample(z, rng)
        xi = rng.standard_normal(n)
        w = self.rho * z + math.sqrt(max(1 - self.rho**2, 0.0)) * xi
        return z, self.kappa * w * self.factor(y), y

    def _sample_complex(self, n: int, rng: np.random.Generator):
        c = math.sqrt(max(1 - self.rho**2, 0.0))
        zr = rng.standard_normal((2, n)) / math.sqrt(2.0)
        z = zr[0] + 1j * zr[1]
        y = self.model.sample(np.abs(z), rng)
        xr = rng.standard_normal((2, n)) / math.sqrt(2.0)
        w = self.rho * z + c * (xr[0] + 1j * xr[1])
        return z, self.kappa * w * self.factor(y), y

    def expect(self, fn: Callable):
        """E[fn(z, u, y)] (last axis of fn's output = nodes) by quadrature: the (z, y) rule of
        :func:`sidmft.quadrature.joint_rule` times Gauss-Hermite (``n_xi`` nodes) in xi.

        Complex: the radial (|z|, y) rule times the phase of z (``n_phase``-point trapezoid rule, exact for
        trigonometric polynomials of degree < ``n_phase``) times tensor Gauss-Hermite in (Re xi, Im xi)."""
        if self.field == "complex":
            return self._expect_complex(fn)
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

    def _expect_complex(self, fn: Callable):
        rule = joint_rule(self.model, self.T.breakpoints, self.quad, field="complex")
        x, wx = gauss_hermite(self.n_xi)
        x = x / math.sqrt(2.0)  # Re xi, Im xi ~ N(0, 1/2)
        c = math.sqrt(max(1 - self.rho**2, 0.0))
        ph = np.exp(2j * np.pi * np.arange(self.n_phase) / self.n_phase)
        z = (rule.z[:, None] * ph[None, :]).ravel()
        y = np.repeat(rule.y, ph.size)
        wzy = np.repeat(rule.w, ph.size) / ph.size
        f = self.factor(y)
        total = 0.0
        for xa, wa in zip(x, wx):
            for xb, wb in zip(x, wx):
                u = self.kappa * (self.rho * z + c * (xa + 1j * xb)) * f
                total = total + wa * wb * (np.asarray(fn(z, u, y)) @ wzy)
        return total

    def moments(self) -> dict:
        """E[u z], E[u^2], E[u^2 T(y)], E[u] (exact in xi; label-moment quadrature in (z, y)).

        E[u z] = kappa rho E[z^2 f], E[u^2] = kappa^2 E[(rho^2 z^2 + 1 - rho^2) f^2],
        E[u^2 T] = kappa^2 E[(rho^2 z^2 + 1 - rho^2) T f^2], f = 1/(1 - R_S T(y)).
        Complex: the same with z^2 -> |z|^2, E[u z-bar], E|u|^2, E[|u|^2 T] and E[u] = 0.
        """
        mr = moment_rule(self.model, self.T.breakpoints, self.quad, field=self.field)
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
    (X, rho X + sqrt(1-rho^2) G), X, G i.i.d. N(0,1); x0_j = kappa v_j.

    ``field="complex"`` (docs/theory.md §7.1): X, G i.i.d. CN(0, 1) (phase of v fixed by x*^H v > 0)."""

    rho: float
    kappa: float = 1.0
    n: int = 40
    field: str = "real"

    def __post_init__(self):
        if self.field not in ("real", "complex"):
            raise ValueError(f"field must be one of ['real', 'complex']; got {self.field!r}")

    def sample(self, n: int, rng=None):
        rng = np.random.default_rng(rng)
        if self.field == "complex":
            a = rng.standard_normal((4, n)) / math.sqrt(2.0)
            x, g = a[0] + 1j * a[1], a[2] + 1j * a[3]
            return x, self.rho * x + math.sqrt(max(1 - self.rho**2, 0.0)) * g
        x = rng.standard_normal(n)
        g = rng.standard_normal(n)
        return x, self.rho * x + math.sqrt(max(1 - self.rho**2, 0.0)) * g

    def expect(self, fn: Callable):
        """E[fn(x*, v)] (last axis of fn's output = nodes) by tensor Gauss-Hermite (``n`` nodes per dimension;
        complex: per real dimension, 4 dimensions)."""
        x, w = gauss_hermite(self.n)
        if self.field == "complex":
            x = x / math.sqrt(2.0)
            A, B, C, D = np.meshgrid(x, x, x, x, indexing="ij", sparse=True)
            W = w[:, None, None, None] * w[None, :, None, None] * w[None, None, :, None] * w[None, None, None, :]
            X = np.broadcast_to(A + 1j * B, W.shape)
            V = self.rho * X + math.sqrt(max(1 - self.rho**2, 0.0)) * (C + 1j * D)
            return np.asarray(fn(X.ravel(), V.ravel())) @ W.ravel()
        X, G = np.meshgrid(x, x, indexing="ij")
        W = np.outer(w, w)
        V = self.rho * X + math.sqrt(max(1 - self.rho**2, 0.0)) * G
        return np.asarray(fn(X.ravel(), V.ravel()), dtype=float) @ W.ravel()
