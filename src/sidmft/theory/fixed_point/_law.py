r"""The fixed-point law of (z, w, y) and the moments entering (F1)-(F3) (docs/theory.md §3).

With (z, w) ~ N(0, [[1, m], [m, q]]), w = m z + s xi (s = sqrt(q - m^2)), y | z from the model and
r = prox_{gamma l(y, .)}(w), :class:`FixedPointLaw` integrates g = l'(y, r), Gamma = E[l''/(1 +
gamma l'')] and friends by a deterministic quadrature (:meth:`FixedPointLaw.nodes`), and samples
the law by Latin-hypercube Monte Carlo (:meth:`FixedPointLaw.sample`, for the rate).

Quadrature: outer z by composite Gauss-Legendre on [-L, L] with weight phi(z), split at 0, at the
model's breakpoints and (intensity loss, noiseless additive models) where f(z) = 1/gamma; inner xi
by composite Gauss-Legendre split at xi0 = -m z / s (the prox jump w = 0) with geometrically
graded panels around it (the Gamma integrand has an integrable |w|^(-2/3) singularity at w = 0,
gamma y = 1), plus fixed edges; noise by the model's ``label_nodes`` rule.  The Gauss-Legendre
panel rule is :func:`sidmft.quadrature.gauss_legendre`.

This module may import numpy, scipy, :mod:`sidmft.numerics`, the model/problem layer and the
theory helpers ``_prox``, ``_quadrature`` and ``_fp_settings``; not the solver stages or the
entry point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
from scipy.optimize import brentq

from ...models import AdditiveModel
from ...numerics import lhs_normal_scores
from ...problem import Problem
from ...quadrature import gauss_legendre
from ._prox import prox
from ._settings import FixedPointQuadrature, check_root

__all__ = ["FixedPointLaw", "Moments", "NUMERIC_ERRORS", "U_LO", "U_HI", "LOG_G_LO", "LOG_G_HI", "equations"]

#: numerical failures inside a solver stage: they count as a rejected trial point, never escape
NUMERIC_ERRORS = (ArithmeticError, ValueError, RuntimeError, np.linalg.LinAlgError)
#: box of the unknowns u = (m, v = q - m^2, gamma) (see :mod:`sidmft.theory.fixed_point._stages`)
U_LO = np.array([-1e3, 0.0, 1e-12])
U_HI = np.array([1e3, 1e8, 1e8])
LOG_G_LO, LOG_G_HI = math.log(U_LO[2]), math.log(U_HI[2])

_SQ2PI = math.sqrt(2.0 * math.pi)
_XI_FIXED = np.array([-6.0, -3.0, -1.5, 0.0, 1.5, 3.0, 6.0])
_XI_GRADED = np.array([-1.0, -0.1, -1e-2, -1e-3, 0.0, 1e-3, 1e-2, 0.1, 1.0])


def _phi(x):
    return np.exp(-0.5 * x * x) / _SQ2PI


def _panels(edges, n):
    """Composite Gauss-Legendre nodes/weights (Lebesgue measure) on the panels ``edges[..., k:k+2]``."""
    t, wt = gauss_legendre(int(n))
    a = edges[..., :-1, None]
    b = edges[..., 1:, None]
    x = a + (b - a) * t
    w = (b - a) * wt
    return x.reshape(*edges.shape[:-1], -1), w.reshape(*edges.shape[:-1], -1)


def _gl_normal(edges, n):
    """As :func:`_panels`, times the standard normal density."""
    x, w = _panels(edges, n)
    return x, w * _phi(x)


@dataclass(frozen=True)
class Moments:
    """Moments of the fixed-point law at one point (m, s, gamma).

    Egz, Eg2, Gamma, Egr, Eloss: E[g z], E[g^2], E[l''/(1 + gamma l'')], E[g r], E[l(y, r)];
    min_stab: min over the nodes of 1 + gamma l''; weight: total quadrature weight (~1).
    """

    Egz: float
    Eg2: float
    Gamma: float
    Egr: float
    Eloss: float
    min_stab: float
    weight: float


def equations(problem: Problem, m, v, gamma, M: Moments) -> np.ndarray:
    """(F1, F2, F3) = (alpha gamma (lam + Gamma) - 1, lam m + E[g z], v - alpha gamma^2 E[g^2]), v = q - m^2."""
    a, lam = problem.alpha, problem.lam
    return np.array([a * gamma * (lam + M.Gamma) - 1.0, lam * m + M.Egz, v - a * gamma * gamma * M.Eg2])


class FixedPointLaw:
    """Quadrature of the fixed-point law of (z, w, y) and the moments entering (F1)-(F3).

    Parameters
    ----------
    problem : Problem
    root : {"global", "same_sign"}
    quad : FixedPointQuadrature or dict, optional
        ``nz`` (Gauss-Legendre nodes per z panel), ``nxi`` (per xi panel), ``n_noise`` (nodes of
        the model's noise rule), ``L`` (half-width of the truncated Gaussian ranges); fields not
        given take the model's default.  ``self.quad`` is the resolved :class:`FixedPointQuadrature`.
    """

    def __init__(self, problem: Problem, root: str = "global", quad: Union[None, dict, FixedPointQuadrature] = None):
        self.root = check_root(root)
        self.problem = problem
        self.model = problem.model_obj
        self.loss = problem.loss_obj
        self.quad = q = FixedPointQuadrature.coerce(quad).resolve(problem)
        assert q.nz is not None and q.nxi is not None and q.n_noise is not None and q.L is not None  # resolved
        self.nz, self.nxi, self.n_noise, self.L = q.nz, q.nxi, q.n_noise, float(q.L)
        self._zbase = sorted(
            {-self.L, 0.0, self.L, *[float(b) for b in self.model.breakpoints if -self.L < b < self.L]}
        )

    def _z_edges(self, gamma):
        """z panels: the base edges, plus (noiseless additive models) every z where f(z) hits a label at which
        the loss declares that its prox changes form (``Loss.prox_breaks``; intensity: f(z) = 1/gamma, where the
        prox becomes non-convex at w = 0 and Gamma has a singular point)."""
        edges = list(self._zbase)
        breaks = self.loss.prox_breaks(gamma) if self.loss.prox_breaks is not None else ()
        if breaks and isinstance(self.model, AdditiveModel) and self.model.is_noiseless:
            zg = np.linspace(-self.L, self.L, 2001)
            for yb in breaks:
                fz = self.model.link(zg) - yb
                idx = np.nonzero(np.sign(fz[:-1]) * np.sign(fz[1:]) < 0)[0]
                if idx.size > 16:
                    continue
                for i in idx:
                    try:
                        edges.append(
                            brentq(
                                lambda x, yb=yb: float(self.model.link(np.array(x))) - yb, zg[i], zg[i + 1], xtol=1e-14
                            )
                        )
                    except (ValueError, RuntimeError):  # pragma: no cover
                        pass
        return np.unique(np.asarray(edges, dtype=float))

    def nodes(self, m, s, gamma):
        """Quadrature (W, z, w, y) of the law, arrays broadcasting to (nz, nxi, nnoise); sum W = 1."""
        z, wz = _gl_normal(self._z_edges(gamma), self.nz)
        Y, WY = self.model.label_nodes(z, n_noise=self.n_noise)
        Y, WY = np.asarray(Y, dtype=float), np.asarray(WY, dtype=float)
        if s > 0:
            xi0 = -m * z / s
            fixed = np.broadcast_to(np.concatenate([[-self.L, self.L], _XI_FIXED]), (z.size, _XI_FIXED.size + 2))
            graded = xi0[:, None] + _XI_GRADED[None, :]
            edges = np.sort(np.clip(np.concatenate([fixed, graded], axis=1), -self.L, self.L), axis=1)
            xi, wx = _gl_normal(edges, self.nxi)
        else:
            xi, wx = np.zeros((z.size, 1)), np.ones((z.size, 1))
        W = wz[:, None, None] * wx[:, :, None] * WY[:, None, :]
        w = (m * z[:, None] + s * xi)[:, :, None]
        return W, z[:, None, None], w, Y[:, None, :]

    def evaluate(self, m, s, gamma) -> Moments:
        """:class:`Moments` of the law at (m, s = sqrt(q - m^2), gamma)."""
        W, z, w, y = self.nodes(m, s, gamma)
        r = prox(self.loss, y, w, gamma, self.root)
        g = self.loss.grad(y, r)
        h = self.loss.hess(y, r)
        stab = 1.0 + gamma * h
        with np.errstate(divide="ignore", invalid="ignore"):
            resp = np.where(W > 0, h / stab, 0.0)
        return Moments(
            Egz=float(np.sum(W * g * z)),
            Eg2=float(np.sum(W * g * g)),
            Gamma=float(np.sum(W * resp)),
            Egr=float(np.sum(W * g * r)),
            Eloss=float(np.sum(W * self.loss.value(y, r))),
            min_stab=float(np.min(np.where(W > 0, stab, np.inf))),
            weight=float(W.sum()),
        )

    def residuals(self, m, s, gamma):
        """(F1, F2, F3) residuals and the :class:`Moments`."""
        M = self.evaluate(m, s, gamma)
        return equations(self.problem, m, s * s, gamma, M), M

    def _f1(self, m, s):
        """(F1) as a function of log gamma (clipped to the box); NaN where it cannot be evaluated."""
        p = self.problem

        def f1(lg):
            g = math.exp(min(max(lg, LOG_G_LO), LOG_G_HI))
            try:
                v = p.alpha * g * (p.lam + self.evaluate(m, s, g).Gamma) - 1.0
            except NUMERIC_ERRORS:
                return float("nan")
            return v if math.isfinite(v) else float("nan")

        return f1

    def solve_gamma(self, m, s, gamma0=0.3):
        """gamma solving (F1) at fixed (m, s) (brentq in log gamma); NaN if none is bracketed.

        Never raises on numerical trouble: an overflow, a failed prox or a non-finite (F1) value
        anywhere in the bracket search or the root search gives NaN (the caller falls back)."""
        if not (math.isfinite(m) and math.isfinite(s) and s >= 0 and gamma0 > 0 and math.isfinite(gamma0)):
            return float("nan")
        f1 = self._f1(m, s)
        lo = hi = min(max(math.log(gamma0), LOG_G_LO), LOG_G_HI)
        flo = fhi = f1(lo)
        for _ in range(40):
            if not flo >= 0:  # negative (found) or NaN (give up)
                break
            lo = max(lo - 1.0, LOG_G_LO)
            flo = f1(lo)
        for _ in range(40):
            if not fhi <= 0:
                break
            hi = min(hi + 1.0, LOG_G_HI)
            fhi = f1(hi)
        if not (flo < 0 < fhi):
            return float("nan")
        try:
            return math.exp(brentq(f1, lo, hi, xtol=1e-13))
        except NUMERIC_ERRORS:
            return float("nan")

    def sample(self, m, q, gamma, n=100_000, seed=0, stratified=True):
        """Monte-Carlo sample of the law: dict z, w, y, r, g, hess (arrays of length n).

        ``stratified``: Latin-hypercube (quantile-stratified) normals for z and xi
        (:func:`sidmft.numerics.lhs_normal_scores`, independent permutations), which cuts the
        Monte-Carlo error of smooth averages such as h_min several-fold; the noise of y is drawn
        by ``model.sample``."""
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        if stratified:
            z, xi = lhs_normal_scores(rng, 2, n)
        else:
            z = rng.standard_normal(n)
            xi = rng.standard_normal(n)
        y = np.asarray(self.model.sample(z, rng), dtype=float)
        s = math.sqrt(max(q - m * m, 0.0))
        w = m * z + s * xi
        r = prox(self.loss, y, w, gamma, self.root)
        return dict(z=z, w=w, y=y, r=r, g=self.loss.grad(y, r), hess=self.loss.hess(y, r))

    def curvatures(self, smp: dict) -> np.ndarray:
        """The curvature samples of the Hessian's bulk (docs/theory.md §3): l''(y, r_hat) of :meth:`sample`."""
        return smp["hess"]

    def test_error(self, m, q) -> float:
        """The model's test error from (m, q) (:meth:`sidmft.models.Model.test_error`)."""
        return float(self.model.test_error(m, q))

    def jump_term(self, m, s, gamma) -> Optional[float]:
        """J = p_w(0) E[g(0+) - g(0-) | w = 0] for even losses (prox jump at w = 0); None otherwise.

        Stein's lemma E[g xi] = s E[dg/dw] picks up s^2 J when the prox map jumps at w = 0, which
        the pathwise response Gamma does not contain (``checks['jump_term']``)."""
        if not self.loss.even or s <= 0:
            return None
        q = m * m + s * s
        v = 1.0 - m * m / q  # Var(z | w = 0)
        Lz = 12.0 * math.sqrt(max(v, 1e-300))
        # panels split where the prox at w = 0 switches on (f(z) = 1/gamma: sqrt kink of the jump)
        e = self._z_edges(gamma)
        edges = np.unique(np.concatenate([[-Lz, 0.0, Lz], e[(e > -Lz) & (e < Lz)]]))
        z, wz = _panels(edges, 40)
        wz = wz * np.exp(-0.5 * z * z / v) / math.sqrt(2 * math.pi * v)
        Y, WY = self.model.label_nodes(z, n_noise=self.n_noise)
        rp = prox(self.loss, Y, np.zeros_like(Y), gamma, self.root)
        jump = -2.0 * rp / gamma  # g = (w - r)/gamma, r(0-) = -r(0+)
        return float(np.sum(wz[:, None] * WY * jump) / math.sqrt(2 * math.pi * q))
