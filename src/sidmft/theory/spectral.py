"""Exact d -> infinity asymptotics of the spectral initialisation (THEORY.md §1).

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

Quadrature (see :mod:`sidmft.theory._quadrature`): expectations are sums over a fixed rule
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

import math
from dataclasses import dataclass, field, fields
from typing import Callable, Optional, Union

import numpy as np
from scipy.optimize import brentq

from ..models import BinaryModel, Model
from ..preprocess import Preprocessing, conditional_z2, get_preprocessing
from ..problem import Problem
from ..results import Result, Status, Timer
from ._quadrature import DEFAULT_QUAD, JointRule, MomentRule, QuadSpec, gauss_hermite, joint_rule, moment_rule

__all__ = ["spectral", "SpectralTheoryResult", "spectral_threshold", "optimal_preprocessing",
           "sample_side_law", "parameter_side_law", "SampleSideLaw", "ParameterSideLaw", "SpectralMeasure"]

_XTOL = 1e-14


# ------------------------------------------------------------------------------------------------ measure
class SpectralMeasure:
    """The law of (T(y), z^2) reduced to a weighted node set, with psi, phi and their derivatives.

    Parameters
    ----------
    t : array  T(y_k) at the label nodes (may contain -inf)
    w0, w2 : arrays  weights with E[h(T)] ~= sum w0 h(t), E[h(T) z^2] ~= sum w2 h(t)
    tau : float  sup T (finite)
    """

    def __init__(self, t, w0, w2, tau):
        t = np.asarray(t, dtype=float)
        w = np.asarray(w0, dtype=float)
        w2 = np.asarray(w2, dtype=float)
        keep = (w != 0) | (w2 != 0)
        t, w, w2 = t[keep], w[keep], w2[keep]
        # compress repeated values of T (binary labels, clipped/trimmed plateaus)
        u, inv = np.unique(t, return_inverse=True)
        if u.size < 0.5 * t.size:
            w = np.bincount(inv, weights=w, minlength=u.size)
            w2 = np.bincount(inv, weights=w2, minlength=u.size)
            t = u
        self.t, self.w0, self.w2, self.tau = t, w, w2, float(tau)
        self.mass = float(w.sum())

    def _s(self, l):
        with np.errstate(divide="ignore"):
            return np.where(np.isneginf(self.t), 0.0, 1.0 / (l - self.t))

    def sums(self, l):
        """(S1, A, P1, P2) = E[T/(l-T)], E[T^2/(l-T)^2], E[T z^2/(l-T)], E[T^2 z^2/(l-T)^2]."""
        s = self._s(l)
        r = l * s - 1.0  # = T/(l - T)
        r2 = r * r
        return self.w0 @ r, self.w0 @ r2, self.w2 @ r, self.w2 @ r2

    def A(self, l):
        r = l * self._s(l) - 1.0
        return self.w0 @ (r * r)

    def G(self, l):
        """E[T(z^2 - 1)/(l - T)] - E[T^2/(l - T)^2]: the transition margin (phi - psi)/l at psi' = 0."""
        r = l * self._s(l) - 1.0
        return (self.w2 - self.w0) @ r - self.w0 @ (r * r)

    def psi(self, l, alpha):
        S1, *_ = self.sums(l)
        return l * (1.0 / alpha + S1)

    def phi(self, l):
        return l * self.sums(l)[2]

    def dpsi(self, l, alpha):
        return 1.0 / alpha - self.A(l)

    def dphi(self, l):
        return -self.sums(l)[3]

    def expect(self, h):
        """E[h(T)] and E[h(T) z^2] for a vectorised h (finite on the nodes)."""
        v = h(self.t)
        return self.w0 @ v, self.w2 @ v


def _resolve_T(problem: Problem, alpha: float) -> Optional[Preprocessing]:
    """problem's preprocessing re-resolved at alpha (None if it is not defined there)."""
    if alpha == problem.alpha:
        return problem.T
    spec = problem.preprocess
    try:
        return get_preprocessing(spec, problem.model_obj, alpha)
    except ValueError:
        return None


def _alpha_dependent(problem: Problem, rule: MomentRule) -> bool:
    """True if T changes with alpha (e.g. 'mm' with c = sqrt(alpha)); probed numerically."""
    if isinstance(problem.preprocess, Preprocessing) or not isinstance(problem.preprocess, str):
        return False
    a = problem.alpha
    idx = np.linspace(0, rule.size - 1, 41).astype(int)
    y = rule.y[idx]
    t0 = problem.T(y)
    for b in (a * 2.0 + 1.0, a * 0.5):
        Tb = _resolve_T(problem, b)
        if Tb is None:
            return True
        tb = Tb(y)
        if not np.allclose(t0, tb, rtol=1e-13, atol=1e-13, equal_nan=True):
            return True
    return False


def _build_measure(T: Preprocessing, rule: MomentRule):
    """(SpectralMeasure or None, message)."""
    if not np.isfinite(T.sup):
        return None, (f"preprocess {T.name!r} has sup T = inf: the spectral theory needs sup T < inf "
                      "(the top eigenvector localises on the largest labels)")
    with np.errstate(all="ignore"):
        t = np.asarray(T(rule.y), dtype=float)
    bad = np.isnan(t) | np.isposinf(t)
    if bad.any():
        return None, f"T = {T.name!r} is NaN or +inf at {int(bad.sum())} quadrature nodes (e.g. y = {rule.y[bad][0]:g})"
    tmax = float(np.max(t))
    if tmax > T.sup * (1 + 1e-9) + 1e-12:
        return None, f"T = {T.name!r} exceeds its declared sup {T.sup:g} (max {tmax:g} at the nodes)"
    # the law of T: its essential sup is T.sup for continuous labels, the largest atom for discrete
    tau = tmax if rule.kind == "binary" else float(T.sup)
    tmin = float(np.min(t))
    if tmax - tmin <= 1e-14 * max(1.0, abs(tmax)):
        return None, f"T = {T.name!r} is constant (= {tmax:g}) on the support of y: D carries no information on x*"
    if tau <= 0:
        return None, (f"sup T = {tau:g} <= 0: the theory (Mondelli-Montanari, l > sup T > 0) needs T to take "
                      "positive values")
    return SpectralMeasure(t, rule.W[:, 0], rule.W[:, 2], tau), ""


def _l_bar(meas: SpectralMeasure, alpha: float) -> float:
    """argmin_{l > tau} psi: root of psi'(l) = 1/alpha - A(l) (A decreasing), or tau if psi' >= 0."""
    tau = meas.tau
    scale = max(1.0, abs(tau))
    lo = tau + 1e-13 * scale
    with np.errstate(all="ignore"):
        d0 = meas.dpsi(tau, alpha)  # finite iff E[T^2/(tau-T)^2] < inf (tau not attained, e.g. T = 1 - 1/y)
    if (np.isfinite(d0) and d0 >= 0) or meas.dpsi(lo, alpha) >= 0:
        return tau
    d = scale
    while meas.dpsi(tau + d, alpha) < 0:
        d *= 2.0
        if d > 1e12 * scale:
            raise RuntimeError("could not bracket l_bar")
    return brentq(lambda l: meas.dpsi(l, alpha), lo, tau + d, xtol=_XTOL * scale, rtol=1e-15, maxiter=500)


def _margin(meas: SpectralMeasure, alpha: float, lbar: float) -> float:
    """(phi - psi)(l_bar) / l_bar: > 0 iff the transition is passed."""
    with np.errstate(all="ignore"):
        S1, A, P1, P2 = meas.sums(lbar)
    if not np.isfinite(P1 - S1):
        S1, A, P1, P2 = meas.sums(lbar + 1e-13 * max(1.0, abs(lbar)))
    return P1 - S1 - 1.0 / alpha


def _threshold_from_measure(meas: SpectralMeasure) -> float:
    """alpha_c for an alpha-independent T.

    Parametrise by l_bar: for l_bar > tau, 1/alpha = A(l_bar) and the margin is
    G(l) = E[T(z^2-1)/(l-T)] - A(l); alpha_c = 1/A(l_c) at the first root l_c of G.  If G(tau+) >= 0
    (possible only if A(tau+) < inf) the transition happens while l_bar = tau, at
    alpha_c = 1/E[T(z^2-1)/(tau-T)].
    """
    tau = meas.tau
    scale = max(1.0, abs(tau))
    with np.errstate(all="ignore"):
        l0 = tau
        g0 = meas.G(l0)
        if not np.isfinite(g0):
            l0 = tau + 1e-13 * scale
            g0 = meas.G(l0)
    if np.isfinite(g0) and g0 >= 0:
        S1, A, P1, P2 = meas.sums(l0)
        S = P1 - S1
        return 1.0 / S if S > 0 else math.inf
    d_prev, g_prev = 1e-13 * scale, g0
    d = 1e-10 * scale
    while d < 1e10 * scale:
        g = meas.G(tau + d)
        if g > 0:
            lc = brentq(meas.G, tau + d_prev, tau + d, xtol=_XTOL * scale, rtol=1e-15, maxiter=500)
            return 1.0 / meas.A(lc)
        d_prev, g_prev = d, g
        d *= 1.5
    return math.inf


def _passed_at(problem: Problem, rule: MomentRule, alpha: float) -> float:
    """Transition margin at alpha with T re-resolved at alpha (-inf where T is undefined)."""
    T = _resolve_T(problem, alpha)
    if T is None:
        return -math.inf
    meas, msg = _build_measure(T, rule)
    if meas is None:
        return -math.inf
    return _margin(meas, alpha, _l_bar(meas, alpha))


def _threshold_scan(problem: Problem, rule: MomentRule, lo=1e-3, hi=1e4) -> float:
    """alpha_c for an alpha-dependent T: first sign change of the margin on a log grid, then
    bisection/brentq in alpha (T re-resolved at every alpha)."""
    grid = np.geomspace(lo, hi, 57)
    prev = None
    for a in grid:
        m = _passed_at(problem, rule, a)
        if m > 0:
            if prev is None:
                return float(a)  # passes already at the lower end of the scan
            a0, a1 = prev, float(a)
            # bisect while the lower end is undefined, then brentq
            for _ in range(200):
                m0 = _passed_at(problem, rule, a0)
                if np.isfinite(m0):
                    break
                mid = 0.5 * (a0 + a1)
                mm = _passed_at(problem, rule, mid)
                if mm > 0:
                    a1 = mid
                else:
                    a0 = mid
                if a1 - a0 < 1e-13 * a1:
                    return a1
            return brentq(lambda a: _passed_at(problem, rule, a), a0, a1, xtol=1e-14 * a1, rtol=1e-15)
        prev = float(a)
    return math.inf


# ------------------------------------------------------------------------------------------------ result
@dataclass
class SpectralTheoryResult(Result):
    """d -> inf limit of the spectral initialisation (THEORY.md §1).

    Attributes
    ----------
    alpha : float           sample ratio of the problem
    alpha_c : float         weak-recovery threshold of this (model, T) (inf if never passed)
    tau : float             sup T
    l_bar, l_star : float   argmin psi and the solution of psi(max(l, l_bar)) = phi(l) (nan below threshold)
    bulk_edge : float       psi(l_bar), right edge of the bulk of spec(D)
    top_eigenvalue : float  psi(l_star) above the threshold, the bulk edge otherwise
    rho, rho_sq : float     |<v,x*>|/(||v|| ||x*||) and its square (0 below threshold)
    passed : bool           psi'(l_star) > 0
    psi_prime, phi_prime : float  psi'(l_star), phi'(l_star)
    R_S : float             1/l_star (static response, §1.2)
    R_g : float             R_g^S = E[T/(1 - R_S T)]
    B0, B2 : float          alpha R_S^2 E[T^2/(1-R_S T)^2], alpha R_S^2 E[T^2 z^2/(1-R_S T)^2]
    mu_S : float            rho E[T(z^2-1)/(1-R_S T)] (= rho/(alpha R_S))
    Sigma_SS : float        alpha E[(T u)^2] with u = w/(1-R_S T)  (= (1-rho^2)/R_S^2)
    kappa : float           norm of the spectral start x0 = kappa v
    identity_residual : float  max residual of the identities psi(l*) = phi(l*), R_S = 1/(alpha(lambda1 - R_g)),
                               mu_S = rho/(alpha R_S), Sigma_SS = (1-rho^2)/R_S^2, rho^2 = (1-B0)/(1-B0+B2)
    n_nodes : int           quadrature nodes used
    T : Preprocessing       the preprocessing (resolved at alpha)
    """

    alpha: float = math.nan
    alpha_c: float = math.nan
    tau: float = math.nan
    l_bar: float = math.nan
    l_star: float = math.nan
    bulk_edge: float = math.nan
    top_eigenvalue: float = math.nan
    rho: float = 0.0
    rho_sq: float = 0.0
    passed: bool = False
    psi_prime: float = math.nan
    phi_prime: float = math.nan
    R_S: float = math.nan
    R_g: float = math.nan
    B0: float = math.nan
    B2: float = math.nan
    mu_S: float = math.nan
    Sigma_SS: float = math.nan
    kappa: float = math.nan
    identity_residual: float = math.nan
    n_nodes: int = 0
    T: Optional[Preprocessing] = field(default=None, repr=False, compare=False)
    measure: Optional[SpectralMeasure] = field(default=None, repr=False, compare=False)

    _SCALARS = ("alpha", "alpha_c", "tau", "l_bar", "l_star", "bulk_edge", "top_eigenvalue", "rho", "rho_sq",
                "passed", "psi_prime", "phi_prime", "R_S", "R_g", "B0", "B2", "mu_S", "Sigma_SS", "kappa",
                "identity_residual", "n_nodes")

    # psi, phi on demand (needs the measure)
    def psi(self, l):
        return np.vectorize(lambda x: self.measure.psi(x, self.alpha))(l)

    def phi(self, l):
        return np.vectorize(self.measure.phi)(l)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self._SCALARS}
        d["passed"] = bool(self.passed)
        d.update(status=self.status.label, message=self.message, problem=self.problem.to_dict(),
                 timing=dict(self.timing))
        return d

    def to_xarray(self):
        import xarray as xr

        data = {k: ((), float(getattr(self, k))) for k in self._SCALARS}
        ds = xr.Dataset(data)
        ds.attrs.update(self.metadata())
        ds.attrs["preprocess_resolved"] = self.T.name if self.T is not None else "none"
        return ds


# ------------------------------------------------------------------------------------------------ main
def spectral(problem: Problem, quad: QuadSpec = DEFAULT_QUAD, threshold: bool = True) -> SpectralTheoryResult:
    """d -> infinity limit of the spectral initialisation for ``problem`` (THEORY.md §1.1-§1.2).

    Solves l_bar = argmin_{l > tau} psi(l) (root of psi' = 0, or tau), then
    psi(max(l, l_bar)) = phi(l) for l_star (brentq, xtol 1e-14), and reports
    lambda_1 = psi(l_star), rho^2 = psi'(l_star)/(psi'(l_star) - phi'(l_star)), the bulk edge
    psi(l_bar) and the static cavity quantities R_S = 1/l_star, R_g^S, B0, B2, mu_S, Sigma(S,S)
    of §1.2 (whose identities are checked: ``identity_residual``).  The threshold alpha_c of this
    (model, T) is computed too (``threshold=False`` skips it).

    Quadrature: see the module docstring (graded composite Gauss-Legendre split at the
    breakpoints of T mapped to z; accuracy ~1e-10).

    Parameters
    ----------
    problem : Problem
    quad : QuadSpec, optional
    threshold : bool

    Returns
    -------
    SpectralTheoryResult
        ``status`` SUCCESS above the threshold; BELOW_THRESHOLD (rho = 0, top eigenvalue =
        bulk edge) below it; NOT_APPLICABLE if sup T = inf, sup T <= 0, T constant, or the
        transition is never passed; FAILED if T is NaN/+inf on the support.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a sidmft.Problem; got {type(problem).__name__}")
    alpha = problem.alpha
    T = problem.T
    res = SpectralTheoryResult(problem=problem, alpha=alpha, T=T, tau=float(T.sup))
    with Timer() as timer:
        _solve(res, problem, quad, threshold)
    res.timing["total"] = timer.seconds
    return res


def _solve(res: SpectralTheoryResult, problem: Problem, quad: QuadSpec, threshold: bool) -> None:
    alpha, T = problem.alpha, problem.T
    if not np.isfinite(T.sup):
        res.status = Status.NOT_APPLICABLE
        res.message = (f"preprocess {T.name!r} has sup T = inf: the spectral theory needs sup T < inf "
                       "(the top eigenvector localises on the largest labels as d -> inf)")
        res.alpha_c = math.nan
        return
    rule = moment_rule(problem.model_obj, T.breakpoints, quad)
    res.n_nodes = rule.size
    meas, msg = _build_measure(T, rule)
    if meas is None:
        res.status = Status.FAILED if "NaN" in msg or "exceeds" in msg else Status.NOT_APPLICABLE
        res.message = msg
        res.alpha_c = math.inf if res.status == Status.NOT_APPLICABLE else math.nan
        return
    res.measure = meas
    res.tau = meas.tau
    try:
        res.kappa = problem.kappa_value()
    except ValueError:
        res.kappa = math.nan
    if threshold:
        if _alpha_dependent(problem, rule):
            res.alpha_c = _threshold_scan(problem, rule)
        else:
            res.alpha_c = _threshold_from_measure(meas)
    lbar = _l_bar(meas, alpha)
    res.l_bar = lbar
    with np.errstate(all="ignore"):
        res.bulk_edge = float(meas.psi(lbar, alpha))
    if not np.isfinite(res.bulk_edge):
        res.bulk_edge = float(meas.psi(lbar + 1e-13 * max(1.0, abs(lbar)), alpha))
    margin = _margin(meas, alpha, lbar)
    if not margin > 0:
        res.top_eigenvalue = res.bulk_edge
        res.rho = res.rho_sq = 0.0
        res.passed = False
        edge = ("; psi' >= 0 on the whole domain (l_bar = sup T): finite-d overlaps converge slowly here"
                if lbar == meas.tau else "")
        if np.isfinite(res.alpha_c) or not threshold:
            res.status = Status.BELOW_THRESHOLD
            res.message = (f"below the spectral threshold: alpha = {alpha:g} <= alpha_c = {res.alpha_c:.6g} for "
                           f"T = {T.name!r}; no outlier, rho = 0, top eigenvalue = bulk edge{edge}")
        else:
            res.status = Status.NOT_APPLICABLE
            res.message = (f"T = {T.name!r} never produces an outlier for this model (no alpha passes the "
                           f"transition phi(l_bar) > psi(l_bar)){edge}")
        return
    F = lambda l: meas.psi(l, alpha) - meas.phi(l)
    scale = max(1.0, abs(lbar))
    lo = lbar if lbar > meas.tau else lbar + 1e-13 * scale
    d = scale
    while F(lbar + d) <= 0:
        d *= 2.0
        if d > 1e14 * scale:
            res.status, res.message = Status.FAILED, "could not bracket l_star"
            return
    ls = brentq(F, lo, lbar + d, xtol=_XTOL * scale, rtol=1e-15, maxiter=500)
    S1, A, P1, P2 = meas.sums(ls)
    dpsi = 1.0 / alpha - A
    dphi = -P2
    lam1 = ls * (1.0 / alpha + S1)
    res.l_star = ls
    res.psi_prime, res.phi_prime = dpsi, dphi
    res.passed = bool(dpsi > 0)
    if not res.passed:
        res.status = Status.BELOW_THRESHOLD
        res.message = f"psi'(l_star) = {dpsi:.3g} <= 0: no outlier (alpha_c = {res.alpha_c:.6g})"
        res.top_eigenvalue = res.bulk_edge
        return
    rho_sq = dpsi / (dpsi - dphi)
    rho = math.sqrt(rho_sq)
    R = 1.0 / ls
    res.top_eigenvalue = lam1
    res.rho_sq, res.rho, res.R_S = rho_sq, rho, R
    res.R_g = ls * S1                       # E[T/(1 - R T)]
    res.B0 = alpha * A                      # alpha R^2 E[T^2/(1-RT)^2] = alpha E[T^2/(l-T)^2]
    res.B2 = alpha * P2
    res.mu_S = rho * ls * (P1 - S1)         # rho E[T(z^2-1)/(1-RT)]
    res.Sigma_SS = (rho_sq * res.B2 + (1 - rho_sq) * res.B0) / R**2   # alpha E[(T u)^2]
    phi_l = ls * P1
    checks = [
        (lam1 - phi_l) / max(1.0, abs(lam1)),
        R * alpha * (lam1 - res.R_g) - 1.0,
        (res.mu_S - rho / (alpha * R)) / max(1.0, abs(res.mu_S)),
        (res.Sigma_SS - (1 - rho_sq) / R**2) * R**2,
        rho_sq - (1 - res.B0) / (1 - res.B0 + res.B2),
    ]
    res.identity_residual = float(np.max(np.abs(checks)))
    res.status = Status.SUCCESS
    res.message = (f"outlier: lambda_1 = {lam1:.6g} > bulk edge {res.bulk_edge:.6g}; rho^2 = {rho_sq:.6g} "
                   f"(alpha = {alpha:g} > alpha_c = {res.alpha_c:.6g})")
    if res.identity_residual > 1e-8:
        res.message += f"; WARNING: cavity identities hold only to {res.identity_residual:.1e}"


# ------------------------------------------------------------------------------------------------ threshold
def spectral_threshold(problem: Union[Problem, Model, str], T=None, quad: QuadSpec = DEFAULT_QUAD,
                       noise: float = 0.0) -> float:
    """Weak-recovery threshold alpha_c: the smallest alpha with phi(l_bar) > psi(l_bar) (THEORY.md §1.1).

    Called as ``spectral_threshold(problem)`` or ``spectral_threshold(model, T)`` (model a
    Model or registered name, T a spec string or Preprocessing).  For T independent of alpha
    the root is found in the l_bar parametrisation (alpha = 1/E[T^2/(l-T)^2] and
    E[T(z^2-1)/(l-T)] = E[T^2/(l-T)^2] at the threshold; brentq); for T that depends on alpha
    (e.g. 'mm', c = sqrt(alpha)) T is re-resolved at every alpha and the margin is root-found in
    alpha (log-grid scan on [1e-3, 1e4], then brentq).  Returns inf if no alpha passes and nan if
    the theory does not apply (sup T = inf).
    """
    if not isinstance(problem, Problem):
        if T is None:
            raise ValueError("spectral_threshold(model, T) needs the preprocessing T")
        kw = dict(model=problem, preprocess=T)
        if isinstance(problem, str):
            kw["noise"] = noise
        problem = _problem_for(kw)
    Tp = problem.T
    if not np.isfinite(Tp.sup):
        return math.nan
    rule = moment_rule(problem.model_obj, Tp.breakpoints, quad)
    if _alpha_dependent(problem, rule):
        return _threshold_scan(problem, rule)
    meas, msg = _build_measure(Tp, rule)
    if meas is None:
        return math.inf
    return _threshold_from_measure(meas)


def _problem_for(kw: dict) -> Problem:
    import warnings

    for a in (3.0, 10.0, 100.0):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return Problem(alpha=a, **kw)
        except ValueError:
            continue
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Problem(alpha=3.0, **kw)


def optimal_preprocessing(model: Union[Model, str], noise: float = 0.0, quad: QuadSpec = DEFAULT_QUAD):
    """The Luo-Alghamdi-Lu optimal preprocessing T*(y) = 1 - 1/E[z^2 | y] and its threshold.

    E[z^2|y] is :func:`sidmft.preprocess.conditional_z2` (closed forms for the noiseless
    built-ins, exact two-point values for binary models, a fine-grid posterior average
    otherwise) -- the same T as ``preprocess='lal'``.

    Returns
    -------
    (Preprocessing, float)
        T* (name 'lal') and its alpha_c (inf if T* is constant, e.g. symmetric binary models).
    """
    from ..models import get_model

    m = get_model(model, noise) if isinstance(model, str) else model
    T = get_preprocessing("lal", m, 1.0)
    p = _problem_for(dict(model=m, preprocess="lal"))
    return T, spectral_threshold(p, quad=quad)


# ------------------------------------------------------------------------------------------------ laws
@dataclass
class SampleSideLaw:
    """Joint law at initialisation of (z_i, u_i, y_i), u_i = <a_i, x0> (THEORY.md §1.3):

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
        """E[fn(z, u, y)] (last axis of fn's output = nodes) by quadrature: the (z, y) rule of :func:`sidmft.theory._quadrature.joint_rule`
        times Gauss-Hermite (``n_xi`` nodes) in xi."""
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
        return {"E_uz": k * r * (W2 @ f),
                "E_u2": k * k * (r * r * (W2 @ (f * f)) + (1 - r * r) * (W0 @ (f * f))),
                "E_u2T": k * k * (r * r * (W2 @ tf2) + (1 - r * r) * (W0 @ tf2)),
                "E_u": k * r * (W1 @ f)}


def sample_side_law(problem_or_result, quad: QuadSpec = DEFAULT_QUAD) -> SampleSideLaw:
    """The §1.3 sample-side law for a problem (or an existing SpectralTheoryResult).

    Raises ValueError below the threshold (the law of the spectral seed is undefined there)."""
    res = problem_or_result if isinstance(problem_or_result, SpectralTheoryResult) else spectral(
        problem_or_result, quad=quad, threshold=False)
    if not res.passed:
        raise ValueError(f"sample-side law needs an outlier (status {res.status.label}): {res.message}")
    p = res.problem
    k = res.kappa if np.isfinite(res.kappa) else 1.0
    return SampleSideLaw(rho=res.rho, R_S=res.R_S, kappa=k, T=p.T, model=p.model_obj, quad=quad)


@dataclass
class ParameterSideLaw:
    """Joint law of (x*_j, v_j) (THEORY.md §1.3, exact by rotational invariance):
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


def parameter_side_law(problem_or_result, quad: QuadSpec = DEFAULT_QUAD) -> ParameterSideLaw:
    """The §1.3 parameter-side law (x*_j, v_j) for a problem or SpectralTheoryResult."""
    res = problem_or_result if isinstance(problem_or_result, SpectralTheoryResult) else spectral(
        problem_or_result, quad=quad, threshold=False)
    k = res.kappa if np.isfinite(res.kappa) else 1.0
    return ParameterSideLaw(rho=res.rho, kappa=k)
