r"""Long-time limit of GD: the time-translation-invariant fixed point of the DMFT (THEORY.md §3).

Equations solved
----------------
With (z, w) ~ N(0, [[1, m], [m, q]]), y = f(z, eps) (the model's conditional law of y given z) and
the proximal map r = prox_{gamma l(y, .)}(w), i.e. r + gamma l'(y, r) = w,

    g     = l'(y, r) = (w - r) / gamma,          Gamma = E[ l''(y, r) / (1 + gamma l''(y, r)) ]
    (F1)  alpha gamma (lam + Gamma) = 1                       (response closure)
    (F2)  lam m + E[g z] = 0                                  (grad L = 0 projected on x*)
    (F3)  q = m^2 + alpha gamma^2 E[g^2]                      (norm of the parameter-side noise)

for (m, q, gamma) [THEORY.md §3; these are the M-estimation / CGMT equations of El Karoui 2013,
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
losses (intensity, amplitude) the two rules are *identical* (proof in :mod:`sidmft.theory._prox`):
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
Unknowns u = (m, log s, log gamma).  1. Powell hybrid (MINPACK ``hybr``) from ``start`` (a DMFT or
simulation result, a FixedPointResult, or an (m, q[, gamma]) tuple) or from (0.95, 0.95, gamma(F1));
2. if that fails: Anderson-accelerated damped fixed-point iteration of the map
(m, s) -> (alpha gamma (m Gamma - E[g z]), sqrt(alpha gamma^2 E[g^2])) with gamma solving (F1) at
every step, then ``hybr`` polish; 3. if that fails: continuation in alpha from an easy (large)
alpha down to the target.  Success needs max |residual| <= ``tol`` (1e-10) and an informative
solution (m > ``m_min``).  Noiseless realisable problems with lam = 0 (l'(f(z), z) = 0) are solved
on the exact-recovery branch m = q = 1, r = z, where (F2), (F3) hold identically and (F1) is the
scalar equation alpha gamma E[l''(y, z)/(1 + gamma l''(y, z))] = 1 (brentq).

Rate
----
h_min = max_m {lam + E[l''/(1 + l'' m/alpha)] - 1/m} over the valid branch (:func:`sidmft.theory.rate.bulk_edge`),
evaluated with ``n_mc`` (10^6) Monte-Carlo samples of the fixed-point law (fixed seed), and the predicted
per-step contraction rate = 1 - eta h_min when 0 < eta h_min < 1 (NaN with a note otherwise).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy.optimize import brentq, root as _root
from scipy.special import ndtri

from ..models import AdditiveModel
from ..problem import Problem
from ..results import Result, Status, Timer
from ._prox import ROOT_RULES, prox
from .rate import bulk_edge

__all__ = ["fixed_point", "FixedPointResult", "FixedPointLaw", "DEFAULT_QUAD"]

#: default quadrature: nodes per z panel, per xi panel, noise nodes, half-width L
DEFAULT_QUAD = dict(nz=50, nxi=10, n_noise=16, L=10.0)
#: smaller default when the model is noisy (3-D rule)
DEFAULT_QUAD_NOISY = dict(nz=32, nxi=8, n_noise=16, L=10.0)

_SQ2PI = math.sqrt(2.0 * math.pi)
_XI_FIXED = np.array([-6.0, -3.0, -1.5, 0.0, 1.5, 3.0, 6.0])
_XI_GRADED = np.array([-1.0, -0.1, -1e-2, -1e-3, 0.0, 1e-3, 1e-2, 0.1, 1.0])


def _phi(x):
    return np.exp(-0.5 * x * x) / _SQ2PI


def _gl_panels(edges, n):
    """Composite Gauss-Legendre nodes/weights (times the normal density) on panels ``edges[..., k:k+2]``."""
    t, wt = leggauss(n)
    a = edges[..., :-1, None]
    b = edges[..., 1:, None]
    x = 0.5 * (a + b) + 0.5 * (b - a) * t
    w = 0.5 * (b - a) * wt * _phi(x)
    return x.reshape(*edges.shape[:-1], -1), w.reshape(*edges.shape[:-1], -1)


# ---------------------------------------------------------------------------------------- the law
class FixedPointLaw:
    """Quadrature of the fixed-point law of (z, w, y) and the moments entering (F1)-(F3).

    Parameters
    ----------
    problem : Problem
    root : {"global", "same_sign"}
    quad : dict, optional
        ``nz`` (Gauss-Legendre nodes per z panel), ``nxi`` (per xi panel), ``n_noise`` (nodes of
        the model's noise rule), ``L`` (half-width of the truncated Gaussian ranges).
    """

    def __init__(self, problem: Problem, root: str = "global", quad: Optional[dict] = None):
        if root not in ROOT_RULES:
            raise ValueError(f"root must be one of {list(ROOT_RULES)}; got {root!r}")
        self.problem = problem
        self.model = problem.model_obj
        self.loss = problem.loss_obj
        self.root = root
        base = DEFAULT_QUAD_NOISY if (not self.model.is_noiseless and isinstance(self.model, AdditiveModel)) \
            else DEFAULT_QUAD
        q = dict(base)
        if quad:
            unknown = set(quad) - set(q)
            if unknown:
                raise ValueError(f"quad keys must be among {sorted(q)}; got {sorted(unknown)}")
            q.update(quad)
        for k in ("nz", "nxi", "n_noise"):
            if int(q[k]) < 2:
                raise ValueError(f"quad[{k!r}] must be an integer >= 2; got {q[k]!r}")
        if not q["L"] > 4:
            raise ValueError(f"quad['L'] must be > 4; got {q['L']!r}")
        self.quad = q
        self.L = float(q["L"])
        self._zbase = sorted({-self.L, 0.0, self.L, *[float(b) for b in self.model.breakpoints
                                                      if -self.L < b < self.L]})

    # -- z nodes ---------------------------------------------------------------------------
    def _z_edges(self, gamma):
        edges = list(self._zbase)
        if (self.loss.name == "intensity" and isinstance(self.model, AdditiveModel)
                and self.model.is_noiseless):
            # f(z) = 1/gamma: the prox becomes non-convex at w = 0 (Gamma has a singular point there)
            zg = np.linspace(-self.L, self.L, 2001)
            fz = self.model.link(zg) - 1.0 / gamma
            idx = np.nonzero(np.sign(fz[:-1]) * np.sign(fz[1:]) < 0)[0]
            if idx.size <= 16:
                for i in idx:
                    try:
                        edges.append(brentq(lambda x: float(self.model.link(np.array(x))) - 1.0 / gamma,
                                            zg[i], zg[i + 1], xtol=1e-14))
                    except (ValueError, RuntimeError):  # pragma: no cover
                        pass
        return np.unique(np.asarray(edges, dtype=float))

    def nodes(self, m, s, gamma):
        """Quadrature (W, z, w, y) of the law, arrays broadcasting to (nz, nxi, nnoise); sum W = 1."""
        z, wz = _gl_panels(self._z_edges(gamma), int(self.quad["nz"]))
        Y, WY = self.model.label_nodes(z, n_noise=int(self.quad["n_noise"]))
        Y, WY = np.asarray(Y, dtype=float), np.asarray(WY, dtype=float)
        if s > 0:
            xi0 = -m * z / s
            fixed = np.broadcast_to(np.concatenate([[-self.L, self.L], _XI_FIXED]), (z.size, _XI_FIXED.size + 2))
            graded = xi0[:, None] + _XI_GRADED[None, :]
            edges = np.sort(np.clip(np.concatenate([fixed, graded], axis=1), -self.L, self.L), axis=1)
            xi, wx = _gl_panels(edges, int(self.quad["nxi"]))
        else:
            xi, wx = np.zeros((z.size, 1)), np.ones((z.size, 1))
        W = wz[:, None, None] * wx[:, :, None] * WY[:, None, :]
        w = (m * z[:, None] + s * xi)[:, :, None]
        return W, z[:, None, None], w, Y[:, None, :]

    def evaluate(self, m, s, gamma):
        """Moments at (m, s = sqrt(q - m^2), gamma): dict with Egz, Eg2, Gamma, Egr, Eloss, min_stab."""
        W, z, w, y = self.nodes(m, s, gamma)
        r = prox(self.loss, y, w, gamma, self.root)
        g = self.loss.grad(y, r)
        h = self.loss.hess(y, r)
        stab = 1.0 + gamma * h
        with np.errstate(divide="ignore", invalid="ignore"):
            resp = np.where(W > 0, h / stab, 0.0)
        tot = float(W.sum())
        return dict(Egz=float(np.sum(W * g * z)), Eg2=float(np.sum(W * g * g)), Gamma=float(np.sum(W * resp)),
                    Egr=float(np.sum(W * g * r)), Eloss=float(np.sum(W * self.loss.value(y, r))),
                    min_stab=float(np.min(np.where(W > 0, stab, np.inf))), weight=tot)

    def residuals(self, m, s, gamma):
        """(F1, F2, F3) residuals and the moments."""
        p = self.problem
        M = self.evaluate(m, s, gamma)
        F = np.array([p.alpha * gamma * (p.lam + M["Gamma"]) - 1.0,
                      p.lam * m + M["Egz"],
                      s * s - p.alpha * gamma * gamma * M["Eg2"]])
        return F, M

    def solve_gamma(self, m, s, gamma0=0.3):
        """gamma solving (F1) at fixed (m, s) (brentq in log gamma); NaN if none is bracketed."""
        p = self.problem

        def f1(lg):
            g = math.exp(lg)
            return p.alpha * g * (p.lam + self.evaluate(m, s, g)["Gamma"]) - 1.0

        lo = hi = math.log(gamma0)
        flo = fhi = f1(lo)
        for _ in range(40):
            if flo < 0:
                break
            lo -= 1.0
            flo = f1(lo)
        for _ in range(40):
            if fhi > 0:
                break
            hi += 1.0
            fhi = f1(hi)
        if not (flo < 0 < fhi) or not (np.isfinite(flo) and np.isfinite(fhi)):
            return float("nan")
        return math.exp(brentq(f1, lo, hi, xtol=1e-13))

    def sample(self, m, q, gamma, n=100_000, seed=0, stratified=True):
        """Monte-Carlo sample of the law: dict z, w, y, r, g, hess (arrays of length n).

        ``stratified``: Latin-hypercube (quantile-stratified) normals for z and xi, which cuts the
        Monte-Carlo error of smooth averages such as h_min several-fold; the noise of y is drawn
        by ``model.sample``."""
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        if stratified:  # Latin-hypercube in (z, xi): one draw per quantile stratum, independent permutations
            u = (rng.permutation(n) + rng.random(n)) / n
            z = ndtri(u)
            u = (rng.permutation(n) + rng.random(n)) / n
            xi = ndtri(u)
        else:
            z = rng.standard_normal(n)
            xi = rng.standard_normal(n)
        y = np.asarray(self.model.sample(z, rng), dtype=float)
        s = math.sqrt(max(q - m * m, 0.0))
        w = m * z + s * xi
        r = prox(self.loss, y, w, gamma, self.root)
        return dict(z=z, w=w, y=y, r=r, g=self.loss.grad(y, r), hess=self.loss.hess(y, r))


# ---------------------------------------------------------------------------------------- result
@dataclass
class FixedPointResult(Result):
    """Long-time limit of GD (THEORY.md §3).

    Attributes
    ----------
    m, q, cosine, error : float
        Overlap, squared norm, cosine m/sqrt(q), error 1 + q - 2|m| of x^inf.
    train_loss, objective, test_error : float
        E[l(y, r)], train_loss + lam q/2, model test error from (m, q).
    gamma, Gamma : float
        Integrated responses (F1).
    h_min : float
        Predicted lower bulk edge of the Hessian at x^inf (10^6-sample MC of the law).
    rate : float
        Predicted per-step contraction 1 - eta h_min (NaN unless 0 < eta h_min < 1; see ``rate_note``).
    residual : float
        max |residual| over (F1)-(F3); ``residuals`` per equation.
    nit : int
        Residual evaluations used by the successful stage (all stages in ``nfev_total``).
    branch : str
        ``"informative"``, ``"exact-recovery"`` or ``"uninformative"``.
    strategy : str
        Which stage succeeded (``start``, ``anderson``, ``continuation``, ``exact``).
    checks : dict
        Equivalent forms of the equations (see module docstring).
    """

    m: float = float("nan")
    q: float = float("nan")
    gamma: float = float("nan")
    cosine: float = float("nan")
    error: float = float("nan")
    train_loss: float = float("nan")
    objective: float = float("nan")
    test_error: float = float("nan")
    Gamma: float = float("nan")
    h_min: float = float("nan")
    m_star: float = float("nan")
    rate: float = float("nan")
    rate_note: str = ""
    residual: float = float("nan")
    residuals: dict = field(default_factory=dict)
    nit: int = 0
    nfev_total: int = 0
    root: str = "global"
    branch: str = ""
    strategy: str = ""
    checks: dict = field(default_factory=dict)
    quad: dict = field(default_factory=dict)
    n_mc: int = 0

    SCALARS = ("m", "q", "cosine", "error", "train_loss", "objective", "test_error", "gamma", "Gamma",
               "h_min", "rate", "residual")

    @property
    def law(self) -> FixedPointLaw:
        return FixedPointLaw(self.problem, self.root, self.quad)

    def sample(self, n: int = 100_000, seed: int = 0) -> dict:
        """Sample the law of the fitted values at the limit: dict of arrays z, w, y, r, g, hess.

        z = <a, x*>, w = the Gaussian cavity field (jointly N(0, [[1, m], [m, q]]) with z),
        r = <a, x^inf> = prox_{gamma l(y,.)}(w) (training sample), g = l'(y, r), hess = l''(y, r).
        A fresh test sample has instead (z, r_test) Gaussian with the same covariance.
        """
        if not np.isfinite(self.m):
            raise ValueError("no fixed point to sample from (status %s)" % self.status.label)
        return self.law.sample(self.m, self.q, self.gamma, n, seed)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.SCALARS}
        d.update(residuals=dict(self.residuals), nit=self.nit, status=self.status.label, message=self.message,
                 rate_note=self.rate_note, branch=self.branch, strategy=self.strategy, root=self.root,
                 m_star=self.m_star, checks=dict(self.checks), timing=dict(self.timing),
                 problem=self.problem.to_dict())
        return d

    def to_xarray(self):
        import xarray as xr

        data = {k: ((), float(getattr(self, k))) for k in self.SCALARS}
        for k, v in self.residuals.items():
            data[f"residual_{k}"] = ((), float(v))
        ds = xr.Dataset(data)
        md = self.metadata()
        md.update(nit=self.nit, branch=self.branch, strategy=self.strategy, root=self.root,
                  rate_note=self.rate_note, n_mc=self.n_mc, m_star=self.m_star,
                  quad=dict(self.quad), checks={k: float(v) for k, v in self.checks.items()})
        ds.attrs = md
        return ds

    def __repr__(self):
        return (f"FixedPointResult(status={self.status.label}, m={self.m:.6g}, q={self.q:.6g}, "
                f"gamma={self.gamma:.6g}, h_min={self.h_min:.4g}, rate={self.rate:.5g}, "
                f"residual={self.residual:.2g}, message={self.message!r})")


# ---------------------------------------------------------------------------------------- solver
def _start_guess(start):
    """(m, q, gamma or None) from a start object, or None."""
    if start is None:
        return None
    if isinstance(start, FixedPointResult):
        return float(start.m), float(start.q), float(start.gamma)
    if isinstance(start, (tuple, list, np.ndarray)):
        vals = [float(v) for v in start]
        if len(vals) not in (2, 3):
            raise ValueError(f"start must be (m, q) or (m, q, gamma); got {start!r}")
        if len(vals) == 3 and not vals[2] > 0:
            raise ValueError(f"start gamma must be > 0; got {vals[2]!r}")
        return vals[0], vals[1], (vals[2] if len(vals) == 3 else None)

    def last(name):
        if hasattr(start, "per_seed") and hasattr(start, "mean"):
            a = np.asarray(start.mean(name), dtype=float)
        else:
            a = np.asarray(getattr(start, name), dtype=float)
        a = a[np.isfinite(a)]
        if a.size == 0:
            raise ValueError(f"start has no finite values of {name!r}")
        return float(a[-1])

    try:
        return abs(last("m")), last("q"), None
    except AttributeError:
        raise TypeError("start must be a DMFT or simulation result, a FixedPointResult or an (m, q[, gamma]) "
                        f"tuple; got {type(start).__name__}") from None


def _to_u(m, q, gamma):
    s2 = q - m * m
    return np.array([m, 0.5 * math.log(max(s2, 1e-12)), math.log(gamma)])


def _from_u(u):
    return float(u[0]), math.exp(float(u[1])), math.exp(float(u[2]))


class _Counter:
    def __init__(self, law):
        self.law = law
        self.n = 0

    def F(self, u):
        self.n += 1
        m, s, g = _from_u(u)
        if not (np.all(np.isfinite(u)) and g < 1e8 and s < 1e4 and abs(m) < 1e4):
            return np.full(3, 1e3)
        F, _ = self.law.residuals(m, s, g)
        if not np.all(np.isfinite(F)):
            return np.full(3, 1e3)
        return F


def _hybr(cnt, u0, tol):
    """Powell hybrid + Newton polish (FD Jacobian) to reach max|F| <= tol."""
    try:
        sol = _root(cnt.F, u0, method="hybr", options=dict(xtol=1e-13, maxfev=400))
        u = sol.x
    except (ValueError, FloatingPointError, ArithmeticError):
        return u0, np.full(3, np.inf)
    F = cnt.F(u)
    for _ in range(6):  # polish: Newton with forward-difference Jacobian
        if np.max(np.abs(F)) <= 0.1 * tol:
            break
        J = np.empty((3, 3))
        for j in range(3):
            du = np.zeros(3)
            du[j] = 1e-7 * max(1.0, abs(u[j]))
            J[:, j] = (cnt.F(u + du) - F) / du[j]
        try:
            step = np.linalg.solve(J, -F)
        except np.linalg.LinAlgError:
            break
        un = u + step
        Fn = cnt.F(un)
        if np.max(np.abs(Fn)) < np.max(np.abs(F)):
            u, F = un, Fn
        else:
            break
    return u, F


def _anderson(law, cnt, m, s, gamma, maxiter=300, beta=0.5, depth=5, tol=1e-12):
    """Anderson-accelerated damped iteration of the natural map (THEORY.md §3 in fixed-point form)

        m <- alpha gamma (m Gamma - E[g z]),  s^2 <- alpha gamma^2 E[g^2],  gamma <- 1/(alpha (lam + Gamma)),

    on u = (m, log s, log gamma).  Returns (m, s, gamma) or None if the map leaves its domain."""
    p = law.problem

    def T(x):
        m_, s_, g_ = x[0], math.exp(x[1]), math.exp(x[2])
        M = law.evaluate(m_, s_, g_)
        cnt.n += 1
        s2 = p.alpha * g_ * g_ * M["Eg2"]
        den = p.alpha * (p.lam + M["Gamma"])
        if not (np.isfinite(s2) and s2 > 0 and np.isfinite(den) and den > 0):
            return None
        return np.array([p.alpha * g_ * (m_ * M["Gamma"] - M["Egz"]), 0.5 * math.log(s2), -math.log(den)])

    x = np.array([m, math.log(max(s, 1e-8)), math.log(gamma)])
    X, G = [], []
    for it in range(maxiter):
        tx = T(x)
        if tx is None:
            return None
        fx = tx - x
        if np.max(np.abs(fx)) < tol:
            break
        X.append(x.copy())
        G.append(fx.copy())
        X, G = X[-depth:], G[-depth:]
        x_new = x + beta * fx
        if len(G) >= 2:
            dG = np.diff(np.array(G), axis=0).T
            dX = np.diff(np.array(X), axis=0).T
            try:
                c, *_ = np.linalg.lstsq(dG, fx, rcond=None)
                xa = x + beta * fx - (dX + beta * dG) @ c
                if np.all(np.isfinite(xa)) and abs(xa[0]) < 10 and abs(xa[2] - x[2]) < 2:
                    x_new = xa
            except np.linalg.LinAlgError:
                pass
        x = x_new
    return x[0], math.exp(x[1]), math.exp(x[2])


def _exact_recovery(law, problem):
    """lam = 0 and l'(f(z), z) = 0 on every node: the branch m = q = 1, r = z."""
    if problem.lam != 0:
        return None
    W, z, w, y = law.nodes(1.0, 0.0, 1.0)
    z = np.broadcast_to(z, y.shape)
    Wb = np.broadcast_to(W, y.shape)
    gz = law.loss.grad(y, z)
    scale = 1.0 + np.abs(law.loss.value(y, np.zeros_like(z)))
    if not np.all(np.abs(gz[Wb > 0]) <= 1e-12 * scale[Wb > 0]):
        return None
    return True


def fixed_point(problem: Problem, start=None, root: str = "global", quad: Optional[dict] = None, *,
                tol: float = 1e-10, m_min: float = 1e-3, n_mc: int = 1_000_000, mc_seed: int = 20250923,
                continuation: bool = True, strategy: str = "auto", maxiter: int = 300) -> FixedPointResult:
    """Solve the static equations (F1)-(F3) of THEORY.md §3 and predict the convergence rate.

    Parameters
    ----------
    problem : Problem
        Any registered model (y | z law through ``label_nodes``) and loss (prox through
        :func:`sidmft.theory._prox.prox`).  ``eta`` only enters the rate.
    start : DMFTResult, SimulationResult, FixedPointResult or (m, q[, gamma]), optional
        Starting point (the end of a trajectory; gamma is then solved from (F1)).
        Default (0.95, 0.95) with gamma from (F1).
    root : {"global", "same_sign"}
        Root rule of the non-convex prox (identical for even losses; see module docstring).
    quad : dict, optional
        Quadrature sizes (``nz``, ``nxi``, ``n_noise``, ``L``); see :class:`FixedPointLaw`.
    tol : float
        Success threshold on max |residual| (default 1e-10).
    m_min : float
        A solution with |m| < m_min is the uninformative one and is not a success.
    n_mc, mc_seed : int
        Monte-Carlo size and seed for h_min (10^6 samples, fixed seed; 0 skips the rate).
    continuation : bool
        Allow continuation in alpha when direct solves fail.
    strategy : {"auto", "newton", "anderson", "continuation"}
        Force one stage (for testing); "auto" tries them in this order.
    maxiter : int
        Iteration cap of the Anderson stage.

    Returns
    -------
    FixedPointResult
        Status SUCCESS only when max|residual| <= tol on an informative (or exact-recovery)
        solution; NOT_CONVERGED (best point so far, with its residuals) or FAILED otherwise,
        with the reason in ``message``.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a sidmft.Problem; got {type(problem).__name__}")
    if strategy not in ("auto", "newton", "anderson", "continuation"):
        raise ValueError(f"strategy must be one of 'auto', 'newton', 'anderson', 'continuation'; got {strategy!r}")
    if not (tol > 0):
        raise ValueError(f"tol must be > 0; got {tol!r}")
    n_mc = int(n_mc)
    if n_mc < 0:
        raise ValueError(f"n_mc must be >= 0; got {n_mc!r}")
    guess = _start_guess(start)
    law = FixedPointLaw(problem, root, quad)
    out = FixedPointResult(problem=problem, root=root, quad=dict(law.quad), seed=mc_seed, n_mc=n_mc)
    with Timer() as t_all:
        with Timer() as t_solve:
            with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                sol = _solve(law, problem, guess, tol, m_min, continuation, strategy, maxiter)
        out.timing["solve"] = t_solve.seconds
        _fill(out, law, problem, sol, tol, m_min)
        if np.isfinite(out.m) and n_mc > 0 and out.status != Status.FAILED:
            with Timer() as t_rate:
                _rate(out, law, problem, n_mc, mc_seed)
            out.timing["rate"] = t_rate.seconds
        elif n_mc == 0:
            out.rate_note = "rate not computed (n_mc = 0)"
    out.timing["total"] = t_all.seconds
    return out


def _solve(law, problem, guess, tol, m_min, continuation, strategy, maxiter):
    """Returns dict(m, s, gamma, F, strategy, nit, nfev, notes)."""
    notes = []
    if _exact_recovery(law, problem):
        # gamma from alpha gamma E[l''/(1 + gamma l'')] = 1 with r = z
        def f1(lg):
            return law.residuals(1.0, 0.0, math.exp(lg))[0][0]

        W, z, w, y = law.nodes(1.0, 0.0, 1.0)
        h = law.loss.hess(y, np.broadcast_to(z, y.shape))
        hmin = float(np.min(h[np.broadcast_to(W, h.shape) > 0]))
        hi = math.log(0.999 / -hmin) if hmin < 0 else 30.0
        lo = -30.0
        try:
            flo, fhi = f1(lo), f1(hi)
        except FloatingPointError:  # pragma: no cover
            flo = fhi = float("nan")
        if not (flo < 0 < fhi):
            return dict(m=float("nan"), s=float("nan"), gamma=float("nan"), F=np.full(3, np.nan),
                        strategy="exact", nit=2, nfev=2, failed=True,
                        notes=[f"exact-recovery branch (lam = 0, noiseless, realisable): (F1) "
                               f"alpha gamma E[l''/(1 + gamma l'')] = 1 has no solution gamma > 0 "
                               f"(sup over gamma = {fhi + 1:.4g} < 1; for phase retrieval this needs alpha > 1)"])
        cnt = [0]

        def f1c(lg):
            cnt[0] += 1
            return f1(lg)

        lg = brentq(f1c, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200)
        g = math.exp(lg)
        F, _ = law.residuals(1.0, 0.0, g)
        return dict(m=1.0, s=0.0, gamma=g, F=F, strategy="exact", nit=cnt[0], nfev=cnt[0] + 2, notes=notes)

    cnt = _Counter(law)
    best = None

    def consider(u, F, name, n_used):
        nonlocal best
        m, s, g = _from_u(u)
        cand = dict(m=m, s=s, gamma=g, F=F, strategy=name, nit=n_used, notes=notes)
        ok = np.max(np.abs(F)) <= tol and abs(m) >= m_min
        key = (not ok, np.max(np.abs(F)) if np.all(np.isfinite(F)) else np.inf)
        if best is None or key < best[0]:
            best = (key, cand)
        return ok

    # starting point
    if guess is not None:
        m0, q0, g0 = guess
        if not (q0 > m0 * m0):
            notes.append(f"start (m, q) = ({m0:.4g}, {q0:.4g}) has q <= m^2; using q = m^2 + 1e-3")
            q0 = m0 * m0 + 1e-3
        src = "start"
    else:
        m0, q0, g0 = 0.95, 0.95, None
        src = "default guess"
    if g0 is None:
        g0 = law.solve_gamma(m0, math.sqrt(q0 - m0 * m0), 0.3)
        if not np.isfinite(g0):
            g0 = 0.3
    u0 = _to_u(m0, q0, g0)

    stages = ["newton", "anderson", "continuation"] if strategy == "auto" else [strategy]
    if not continuation and "continuation" in stages and strategy == "auto":
        stages.remove("continuation")
    for st in stages:
        n_before = cnt.n
        if st == "newton":
            u, F = _hybr(cnt, u0, tol)
            if consider(u, F, f"newton from {src}", cnt.n - n_before):
                break
            notes.append(f"Newton (hybr) from the {src} ended at max|F| = {np.max(np.abs(F)):.2g}, "
                         f"m = {u[0]:.4g}")
        elif st == "anderson":
            r = _anderson(law, cnt, m0, math.sqrt(q0 - m0 * m0), g0, maxiter=maxiter)
            if r is None or not np.all(np.isfinite(r)):
                notes.append("Anderson iteration broke down (F1 had no root or the map left the domain)")
                continue
            u, F = _hybr(cnt, _to_u(r[0], r[0] ** 2 + r[1] ** 2, r[2]), tol)
            if consider(u, F, f"anderson from {src}", cnt.n - n_before):
                break
            notes.append(f"Anderson + Newton ended at max|F| = {np.max(np.abs(F)):.2g}, m = {u[0]:.4g}")
        elif st == "continuation":
            res = _continuation(law, problem, cnt, tol, m_min)
            if res is None:
                notes.append("continuation in alpha failed")
                continue
            u, F = res
            if consider(u, F, "continuation in alpha", cnt.n - n_before):
                break
    out = dict(best[1])
    out["nfev"] = cnt.n
    return out


def _continuation(law, problem, cnt, tol, m_min, max_steps=60):
    """Follow the informative branch from alpha_easy = max(2 alpha, alpha + 4) down to alpha."""
    a_target = problem.alpha
    a = max(2.0 * a_target, a_target + 4.0)
    lw = FixedPointLaw(problem.replace(alpha=a), law.root, law.quad)
    c = _Counter(lw)
    g0 = lw.solve_gamma(0.95, math.sqrt(0.95 - 0.95**2), 0.3)
    if not np.isfinite(g0):
        return None
    u, F = _hybr(c, _to_u(0.95, 0.95, g0), tol)
    if not (np.max(np.abs(F)) <= tol and abs(u[0]) >= m_min):
        return None
    step = 0.25 * (a - a_target)
    steps = 0
    while a > a_target and steps < max_steps:
        steps += 1
        a_new = max(a - step, a_target)
        lw = FixedPointLaw(problem.replace(alpha=a_new), law.root, law.quad)
        c2 = _Counter(lw)
        u2, F2 = _hybr(c2, u, tol)
        c.n += c2.n
        if np.max(np.abs(F2)) <= tol and abs(u2[0]) >= m_min:
            a, u = a_new, u2
            step *= 1.5
        else:
            step *= 0.4
            if step < 1e-4 * a_target:
                cnt.n += c.n
                return None
    cnt.n += c.n
    if a > a_target:
        return None
    F = cnt.F(u)
    return u, F


def _fill(out, law, problem, sol, tol, m_min):
    F = np.asarray(sol["F"], dtype=float)
    out.nit = int(sol.get("nit", 0))
    out.nfev_total = int(sol.get("nfev", 0))
    out.strategy = sol["strategy"]
    notes = list(sol.get("notes", []))
    if sol.get("failed") or not np.isfinite(sol["m"]):
        out.status = Status.FAILED
        out.message = "; ".join(notes) or "no fixed point found"
        out.residuals = {k: float(v) for k, v in zip(("F1", "F2", "F3"), F)}
        out.residual = float(np.max(np.abs(F))) if np.all(np.isfinite(F)) else float("nan")
        return
    m, s, g = sol["m"], sol["s"], sol["gamma"]
    if m < 0:  # sign convention of the spectral start: <x, x*> >= 0 (symmetric models)
        m = -m
    q = m * m + s * s
    F, M = law.residuals(m, s, g)
    out.m, out.q, out.gamma = float(m), float(q), float(g)
    out.cosine = float(m / math.sqrt(q)) if q > 0 else float("nan")
    out.error = float(1.0 + q - 2.0 * abs(m))
    out.train_loss = M["Eloss"]
    out.objective = float(M["Eloss"] + 0.5 * problem.lam * q)
    out.Gamma = M["Gamma"]
    try:
        out.test_error = float(problem.model_obj.test_error(m, q))
    except Exception as e:  # pragma: no cover - model specific
        notes.append(f"test_error failed: {e}")
    out.residuals = {k: float(v) for k, v in zip(("F1", "F2", "F3"), F)}
    out.residual = float(np.max(np.abs(F)))
    # equivalent forms (module docstring)
    a, lam = problem.alpha, problem.lam
    checks = dict(F2_response_form=float(m + a * g * (M["Egz"] - m * M["Gamma"])),
                  x_stationarity=float(lam * q + M["Egr"]),
                  min_stability=float(M["min_stab"]))
    jt = _jump_term(law, m, s, g)
    if jt is not None:
        checks["jump_term"] = float(s * s * jt)
    out.checks = checks
    out.branch = "exact-recovery" if out.strategy == "exact" else (
        "informative" if abs(m) >= m_min else "uninformative")
    if out.residual <= tol and out.branch != "uninformative":
        out.status = Status.SUCCESS
        out.message = (f"converged ({out.strategy}; {out.nfev_total} residual evaluations): "
                       f"max |residual| = {out.residual:.2g}")
        if notes:
            out.message += " after: " + "; ".join(notes)
    elif out.residual <= tol:
        out.status = Status.FAILED
        out.message = (f"only the uninformative fixed point m = {m:.2g} was found "
                       f"(no informative solution reached; below the weak-recovery threshold?)")
    else:
        out.status = Status.NOT_CONVERGED
        out.message = (f"no solution with max |residual| <= {tol:g}; best point has max |residual| = "
                       f"{out.residual:.2g} (m = {m:.4g}, q = {q:.4g}, gamma = {g:.4g}): " + "; ".join(notes))
    if M["min_stab"] < -1e-12:
        out.message += f"; WARNING: 1 + gamma l'' reaches {M['min_stab']:.3g} < 0 on the selected roots"


def _jump_term(law, m, s, gamma):
    """J = p_w(0) E[g(0+) - g(0-) | w = 0] for even losses (prox jump at w = 0); None otherwise."""
    if law.loss.name not in ("intensity", "amplitude") or s <= 0:
        return None
    q = m * m + s * s
    v = 1.0 - m * m / q  # Var(z | w = 0)
    Lz = 12.0 * math.sqrt(max(v, 1e-300))
    # panels split where the prox at w = 0 switches on (f(z) = 1/gamma: sqrt kink of the jump)
    e = law._z_edges(gamma)
    edges = np.unique(np.concatenate([[-Lz, 0.0, Lz], e[(e > -Lz) & (e < Lz)]]))
    x, wx = leggauss(40)
    a, b = edges[:-1, None], edges[1:, None]
    z = (0.5 * (a + b) + 0.5 * (b - a) * x).ravel()
    wz = (0.5 * (b - a) * wx).ravel() * np.exp(-0.5 * z * z / v) / math.sqrt(2 * math.pi * v)
    Y, WY = law.model.label_nodes(z, n_noise=int(law.quad["n_noise"]))
    rp = prox(law.loss, Y, np.zeros_like(Y), gamma, law.root)
    jump = -2.0 * rp / gamma  # g = (w - r)/gamma, r(0-) = -r(0+)
    return float(np.sum(wz[:, None] * WY * jump) / math.sqrt(2 * math.pi * q))


def _rate(out, law, problem, n_mc, seed):
    smp = law.sample(out.m, out.q, out.gamma, n=n_mc, seed=seed)
    h = smp["hess"]
    ok = np.isfinite(h)
    if not np.all(ok):
        out.rate_note = f"{np.sum(~ok)} non-finite l'' samples dropped"
        h = h[ok]
    hmin_emp = float(h.min())
    if hmin_emp < -1.0 / out.gamma * (1 + 1e-9):
        out.rate_note = (f"min l'' = {hmin_emp:.4g} < -1/gamma = {-1 / out.gamma:.4g} on the selected roots: "
                         "the valid branch is not guaranteed")
    out.h_min, out.m_star = bulk_edge(h, problem.alpha, problem.lam)
    m_max = problem.alpha / -hmin_emp if hmin_emp < 0 else np.inf
    out.checks["m_star_over_m_max"] = float(out.m_star / m_max) if np.isfinite(m_max) else 0.0
    if np.isfinite(m_max) and out.m_star > 0.98 * m_max:
        out.rate_note = (out.rate_note + "; " if out.rate_note else "") + (
            f"the maximiser m* = {out.m_star:.4g} sits at the end of the valid branch alpha/|min l''| = "
            f"{m_max:.4g}: the lower edge is set by the most negative l'' samples (support edge, not a "
            "square-root bulk edge), so h_min depends on the sample size n_mc and decreases slowly as it "
            "grows; for GD at dimension d use rate.bulk_edge_at_dim(result, d)")
    eh = problem.eta * out.h_min
    if 0 < eh < 1:
        out.rate = 1.0 - eh
    else:
        out.rate = float("nan")
        if eh <= 0:
            note = (f"eta h_min = {eh:.4g} <= 0: the bulk of the Hessian reaches 0 or below, no exponential "
                    "contraction predicted")
        else:
            note = f"eta h_min = {eh:.4g} >= 1: the step is too large for a monotone contraction of the lower edge"
        out.rate_note = (out.rate_note + "; " if out.rate_note else "") + note
    if not problem.loss_obj.bounded_hessian:
        note = ("l'' is unbounded: the upper Hessian edge is infinite as d -> inf, so 1 - eta h_min is the "
                "rate of the slowest (bulk-edge) modes only (THEORY.md §3 instability caveat)")
        out.rate_note = (out.rate_note + "; " if out.rate_note else "") + note
