r"""The fixed-point law for complex signals (docs/theory.md §7.3) and the law of a problem (:func:`law_for`).

(z, w) is circular complex Gaussian with E[w z-bar] = m, E|w|^2 = q, i.e. w = m z + s xi with s^2 = q - m^2
and xi ~ CN(0, 1); y = f(|z|, noise).  A loss of |r| has the radial prox

    r = w rho_hat/|w|,     rho_hat + gamma L'(y, rho_hat) = |w|   (the real prox at |w| >= 0, positive root),

g = (w - r)/gamma = L'(y, rho_hat) w/|w|, and the response is the holomorphic derivative

    Gamma = E[1 - dr/dw]/gamma,   dr/dw = (rho_hat/|w| + d rho_hat/d|w|)/2,   d rho_hat/d|w| = 1/(1 + gamma L''),

i.e. Gamma = E[(1 - rho_hat/|w|)/gamma]/2 + E[kappa_r/(1 + gamma kappa_r)]/2 with kappa_r = L''(y, rho_hat) (the
tangential part is kappa_t/(1 + gamma kappa_t) with kappa_t = L'/rho_hat).  (F1)-(F3) read
alpha gamma (lam + Gamma) = 1, lam m + Re E[g z-bar] = 0, q = m^2 + alpha gamma^2 E|g|^2.

Quadrature (3-D, plus noise).  Every moment is invariant under a common rotation of (z, w), so z is taken
real, rho_z = |z| >= 0 with density 2 rho exp(-rho^2), and w in polar coordinates around w = 0:
t = |w| given rho_z is Rice distributed,

    p(t | rho_z) = (2 t/s^2) exp(-(t - |a|)^2/s^2) i0e(2 t |a|/s^2),      a = m rho_z,

and the phase of w relative to z enters only through E[cos phi | t, rho_z] = i1e(2ta/s^2)/i0e(2ta/s^2)
(in Re E[g z-bar] = E[L' rho_z cos phi]).  The polar Jacobian t cancels the integrable |w|^-1 singularity of
rho_hat/|w| at w = 0 (where rho_hat(0) = sqrt(y - 1/gamma) > 0 for the intensity loss when gamma y > 1).
rho_z: composite Gauss-Legendre (``nz`` nodes per panel) on [0, L] split at the model's breakpoints and, for
noiseless additive models, where f(rho_z) is a label at which the prox changes form (``loss.prox_breaks``;
intensity: f = 1/gamma, where rho_hat(t) has a t^(1/3) cusp at t = 0).  t: Gauss-Legendre (``nxi`` per panel)
on panels at |a| + s {-8, -4, -2, -1, -1/2, 0, 1/2, 1, 2, 4, 8}, graded towards t = 0 at s {1e-3, 1e-2, 0.1}
(clipped to t >= 0).  Noise: the model's ``label_nodes``.  No jump term: the map w -> r is continuous except
at the single point w = 0, and Stein's lemma holds in the plane.

This module may import what :mod:`sidmft.theory.fixed_point._law` imports, and that module.
"""

from __future__ import annotations

import math
from typing import Union

import numpy as np
from scipy.special import i0e, i1e

from ...numerics import lhs_normal_scores, lhs_uniforms
from ...problem import Problem
from ._law import FixedPointLaw, Moments, _panels
from ._prox import prox
from ._settings import FixedPointQuadrature

__all__ = ["ComplexFixedPointLaw", "law_for"]

_T_CENTRE = np.array([-8.0, -4.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 4.0, 8.0])
_T_ZERO = np.array([0.0, 1e-3, 1e-2, 0.1])


def law_for(problem: Problem, root: str = "global", quad: Union[None, dict, FixedPointQuadrature] = None):
    """The fixed-point law of ``problem``: :class:`ComplexFixedPointLaw` for ``field="complex"``, else
    :class:`~sidmft.theory.fixed_point.FixedPointLaw`."""
    if problem.field == "complex":
        return ComplexFixedPointLaw(problem, root, quad)
    return FixedPointLaw(problem, root, quad)


class ComplexFixedPointLaw(FixedPointLaw):
    """Quadrature and sampling of the complex fixed-point law (module docstring); same interface as
    :class:`~sidmft.theory.fixed_point.FixedPointLaw` (``nodes`` returns |z| and |w|)."""

    def __init__(self, problem: Problem, root: str = "global", quad: Union[None, dict, FixedPointQuadrature] = None):
        super().__init__(problem, root, quad)
        self._zbase = sorted({0.0, self.L, *[abs(float(b)) for b in self.model.breakpoints if 0 < abs(b) < self.L]})

    def _z_edges(self, gamma):
        e = super()._z_edges(gamma)  # base edges (here on [0, L]) and the prox breaks mapped to z
        return np.unique(e[(e >= 0.0) & (e <= self.L)])

    def _full_nodes(self, m, s, gamma):
        """(W, rho_z, t, y, cos) with W summing to 1: rho_z = |z|, t = |w|, cos = E[cos(arg w - arg z) | t, rho_z]."""
        edges = self._z_edges(gamma)
        rz, wz = _panels(edges, self.nz)
        wz = wz * 2.0 * rz * np.exp(-rz * rz)
        Y, WY = self.model.label_nodes(rz, n_noise=self.n_noise)
        Y, WY = np.asarray(Y, dtype=float), np.asarray(WY, dtype=float)
        a = m * rz
        if s > 0:
            c = np.abs(a)[:, None]
            hi = c + 8.0 * s
            pts = np.concatenate([np.broadcast_to(s * _T_ZERO, (rz.size, _T_ZERO.size)), c + s * _T_CENTRE], axis=1)
            t_edges = np.sort(np.clip(pts, 0.0, hi), axis=1)
            t, wt = _panels(t_edges, self.nxi)
            x = 2.0 * t * c / (s * s)
            wt = wt * (2.0 * t / (s * s)) * np.exp(-((t - c) ** 2) / (s * s)) * i0e(x)
            with np.errstate(invalid="ignore", divide="ignore"):
                cos = np.sign(a)[:, None] * np.where(x > 0, i1e(x) / i0e(x), 0.0)
        else:
            t, wt = np.abs(a)[:, None], np.ones((rz.size, 1))
            cos = np.where(a < 0, -1.0, 1.0)[:, None]
        W = wz[:, None, None] * wt[:, :, None] * WY[:, None, :]
        return W, rz[:, None, None], t[:, :, None], Y[:, None, :], cos[:, :, None]

    def nodes(self, m, s, gamma):
        """Quadrature (W, |z|, |w|, y) of the law, arrays broadcasting to (nz, nt, nnoise); sum W = 1."""
        W, rz, t, y, _ = self._full_nodes(m, s, gamma)
        return W, rz, t, y

    def evaluate(self, m, s, gamma) -> Moments:
        """:class:`Moments` at (m, s, gamma): Egz = Re E[g z-bar], Eg2 = E|g|^2, Gamma (module docstring),
        Egr = Re E[g-bar r], Eloss = E[L(y, |r|)], min_stab = min 1 + gamma L''(rho_hat)."""
        W, rz, t, y, cos = self._full_nodes(m, s, gamma)
        rho = prox(self.loss, y, t, gamma, self.root)
        G = (t - rho) / gamma  # L'(y, rho_hat): g = G w/|w|
        h = self.loss.hess(y, rho)
        stab = 1.0 + gamma * h
        with np.errstate(divide="ignore", invalid="ignore"):
            radial = np.where(W > 0, h / stab, 0.0)
            tangential = np.where(W > 0, np.where(t > 0, G / t, h / stab), 0.0)  # (1 - rho_hat/|w|)/gamma
        return Moments(
            Egz=float(np.sum(W * G * rz * cos)),
            Eg2=float(np.sum(W * G * G)),
            Gamma=float(np.sum(W * (0.5 * radial + 0.5 * tangential))),
            Egr=float(np.sum(W * G * rho)),
            Eloss=float(np.sum(W * self.loss.value(y, rho))),
            min_stab=float(np.min(np.where(W > 0, stab, np.inf))),
            weight=float(W.sum()),
        )

    def sample(self, m, q, gamma, n=100_000, seed=0, stratified=True):
        """Monte-Carlo sample of the complex law: dict z, w, r, g (complex), y, kappa_r = L''(y, |r|) and
        kappa_t = L'(y, |r|)/|r| (the radial and tangential curvatures of docs/theory.md §7.4).

        ``stratified``: Latin-hypercube strata for |z| (|z|^2 = -log U), the phase of z and both parts of xi."""
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        if stratified:
            u = lhs_uniforms(rng, n)
            ph = lhs_uniforms(rng, n)
            xr, xi_ = lhs_normal_scores(rng, 2, n)
        else:
            u, ph = rng.random(n), rng.random(n)
            xr, xi_ = rng.standard_normal(n), rng.standard_normal(n)
        rz = np.sqrt(-np.log1p(-u))
        z = rz * np.exp(2j * np.pi * ph)
        y = np.asarray(self.model.sample(rz, rng), dtype=float)
        s = math.sqrt(max(q - m * m, 0.0))
        w = m * z + s * (xr + 1j * xi_) / math.sqrt(2.0)
        t = np.abs(w)
        rho = prox(self.loss, y, t, gamma, self.root)
        with np.errstate(divide="ignore", invalid="ignore"):
            phase = np.where(t > 0, w / np.where(t > 0, t, 1.0), 1.0)
            kt = np.where(rho > 0, self.loss.grad(y, rho) / np.where(rho > 0, rho, 1.0), self.loss.hess(y, rho))
        r = rho * phase
        return dict(z=z, w=w, y=y, r=r, g=(w - r) / gamma, kappa_r=self.loss.hess(y, rho), kappa_t=kt)

    def curvatures(self, smp: dict) -> np.ndarray:
        """The 2n curvature samples (kappa_r, kappa_t) of the real 2d x 2d Hessian, equally weighted."""
        return np.concatenate([smp["kappa_r"], smp["kappa_t"]])

    def jump_term(self, m, s, gamma):
        """None: the complex prox map is continuous away from the point w = 0 (no Stein jump term)."""
        return None

    def test_error(self, m, q) -> float:
        """E[(y_new - f(|r|))^2] for a fresh sample, (z, r) circular with E[r z-bar] = m, E|r|^2 = q
        (phase retrieval: 2 - 2(q + m^2) + 2q^2 + sigma^2)."""
        s = math.sqrt(max(q - m * m, 0.0))
        W, rz, t, y, _ = self._full_nodes(m, s, 1.0)
        pred = self.model.predict(t)
        return float(np.sum(W * (y - pred) ** 2) / np.sum(W))
