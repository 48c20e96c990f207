"""The spectral measure (law of (T(y), z^2)), psi, phi and the thresholds (docs/theory.md §1.1).

Used by :func:`sidmft.theory.spectral.spectral`; the equations are in that module's docstring.
Roots by brentq (xtol 1e-14 relative).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
from scipy.optimize import brentq

from ...preprocess import Preprocessing, get_preprocessing
from ...problem import Problem
from ...quadrature import MomentRule

__all__ = ["SpectralMeasure"]

_XTOL = 1e-14


class _SolveFailure(RuntimeError):
    """A stage of :func:`sidmft.theory.spectral.spectral` that cannot produce its root (message says which)."""


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
        return None, (
            f"preprocess {T.name!r} has sup T = inf: the spectral theory needs sup T < inf "
            "(the top eigenvector localises on the largest labels)"
        )
    with np.errstate(all="ignore"):
        t = np.asarray(T(rule.y), dtype=float)
    bad = np.isnan(t) | np.isposinf(t)
    if bad.any():
        return None, f"T = {T.name!r} is NaN or +inf at {int(bad.sum())} quadrature nodes (e.g. y = {rule.y[bad][0]:g})"
    tmax = float(np.max(t))
    if tmax > T.sup + 1e-9 * abs(T.sup) + 1e-12:  # relative slack, also for sup T < 0
        return None, f"T = {T.name!r} exceeds its declared sup {T.sup:g} (max {tmax:g} at the nodes)"
    # the law of T: its essential sup is T.sup for continuous labels, the largest atom for discrete
    tau = tmax if rule.kind == "binary" else float(T.sup)
    tmin = float(np.min(t))
    if tmax - tmin <= 1e-14 * max(1.0, abs(tmax)):
        return None, f"T = {T.name!r} is constant (= {tmax:g}) on the support of y: D carries no information on x*"
    if tau <= 0:
        return None, (
            f"sup T = {tau:g} <= 0: the theory (Mondelli-Montanari, l > sup T > 0) needs T to take positive values"
        )
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
        if not np.isfinite(d) or d > 1e12 * scale:
            raise _SolveFailure(
                f"could not bracket l_bar = argmin psi: psi'(l) < 0 up to l = sup T + {d:.3g} (alpha = {alpha:g})"
            )
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
    # bracket the first sign change of G on (l0, inf); the left end carries its own value of G
    left, g_left = l0, g0
    d = 1e-10 * scale
    while d < 1e10 * scale:
        g = meas.G(tau + d)
        if g > 0:
            if not g_left < 0:
                # G(left) is 0 up to rounding (e.g. T = 'lal', where G(tau) = 0 exactly when sup T is
                # not attained) or not finite: the sign change is at the left end of the bracket
                return 1.0 / meas.A(left)
            lc = brentq(meas.G, left, tau + d, xtol=_XTOL * scale, rtol=1e-15, maxiter=500)
            return 1.0 / meas.A(lc)
        left, g_left = tau + d, g
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
