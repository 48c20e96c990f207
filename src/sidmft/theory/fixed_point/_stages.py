"""Stages of the fixed-point solver (docs/theory.md §3): each returns a :class:`StageResult`.

Unknowns u = (m, v, gamma) with v = q - m^2 = s^2.  Not logarithms: (F3) is v - alpha gamma^2 E[g^2]
and (F1) is alpha gamma (lam + Gamma) - 1, so both are close to affine in (v, gamma), whereas in
(log s, log gamma) they flatten out exponentially as s -> 0 or gamma -> 0 and a Newton/Powell step
there is huge (the cause of the overflow math.exp(7680) seen from the start (0.3, 0.2, 5.0)).
The moments are evaluated at the projection of u on the box ``U_LO <= u <= U_HI``; outside it
they are frozen while the explicit dependence on (m, v, gamma) is kept, so F is continuous
everywhere, has no spurious root outside the box (v < 0: F3 < 0; gamma < 0: F1 < -1) and pushes
back into it.

Stages: :func:`newton_stage` (MINPACK ``hybr`` with initial step bound 1 + a Newton polish),
:func:`anderson_stage` (Anderson-accelerated damped iteration of the natural map, then ``hybr``),
:func:`continuation_stage` (continuation in alpha from an easy alpha) and :func:`exact_stage` (the
exact-recovery branch m = q = 1).  A numerical failure inside a stage rejects a trial point or
ends the stage; none escapes.

This module may import numpy, scipy and :mod:`sidmft.theory.fixed_point._law`; not the entry point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.optimize import brentq
from scipy.optimize import root as _root

from ._law import LOG_G_HI, LOG_G_LO, NUMERIC_ERRORS, U_HI, U_LO, FixedPointLaw, equations

__all__ = [
    "StageResult",
    "Residual",
    "to_u",
    "from_u",
    "clip_u",
    "newton_stage",
    "anderson_stage",
    "continuation_stage",
    "exact_stage",
    "is_exact_recovery",
]

#: residual returned where it cannot be evaluated (non-finite u, prox failure, non-finite moments)
_BAD = 1e6
#: initial step bound of MINPACK hybr (its ``factor``; scipy's default 100 lets the first steps
#: jump far outside the region where the residuals are informative)
_HYBR_FACTOR = 1.0


@dataclass(frozen=True, eq=False)
class StageResult:
    """Outcome of one solver stage.

    Attributes
    ----------
    name : str
        The stage and its starting point (``"newton from start"``, ``"continuation in alpha"``, ...).
    u, F : array or None
        Final unknowns (m, v, gamma) and residuals (F1, F2, F3); None when the stage broke down.
    nfev : int
        Residual evaluations the stage used.
    notes : tuple of str
        What went wrong on the way (for the result's message).
    miss_note : str
        Note to add when the caller does not accept the point.
    """

    name: str
    u: Optional[np.ndarray]
    F: Optional[np.ndarray]
    nfev: int
    notes: tuple = ()
    miss_note: str = ""


def clip_u(u):
    return np.clip(np.asarray(u, dtype=float), U_LO, U_HI)


def to_u(m, q, gamma):
    return clip_u(np.array([m, q - m * m, gamma], dtype=float))


def from_u(u):
    """(m, s, gamma) at the projection of u on the box (NaN stays NaN)."""
    uc = clip_u(u)
    return float(uc[0]), math.sqrt(float(uc[1])), float(uc[2])


class Residual:
    """Residual F(u) with a count of evaluations and a record of the rejected points."""

    def __init__(self, law: FixedPointLaw):
        self.law = law
        self.n = 0
        self.n_bad = 0
        self.last_error = ""

    def _reject(self, why):
        self.n_bad += 1
        self.last_error = why
        return np.full(3, _BAD)

    def F(self, u):
        self.n += 1
        u = np.asarray(u, dtype=float)
        if not np.all(np.isfinite(u)):
            return self._reject("non-finite trial point")
        m, s, g = from_u(u)
        try:
            M = self.law.evaluate(m, s, g)
        except NUMERIC_ERRORS as e:
            return self._reject(f"{type(e).__name__}: {e}")
        mu, vu, gu = (float(x) for x in u)  # explicit dependence kept outside the box (module docstring)
        F = equations(self.law.problem, mu, vu, gu, M)
        if not np.all(np.isfinite(F)):
            return self._reject(f"non-finite residual at (m, s, gamma) = ({m:.3g}, {s:.3g}, {g:.3g})")
        return F


def _newton_polish(res: Residual, u, F, tol):
    """Newton with a forward-difference Jacobian, each step accepted only if max|F| decreases."""
    for _ in range(8):
        if np.max(np.abs(F)) <= 0.1 * tol:
            break
        J = np.empty((3, 3))
        for j in range(3):
            du = np.zeros(3)
            du[j] = 1e-7 * max(1.0, abs(u[j]))
            J[:, j] = (res.F(u + du) - F) / du[j]
        try:
            step = np.linalg.solve(J, -F)
        except NUMERIC_ERRORS:
            break
        if not np.all(np.isfinite(step)):
            break
        un = clip_u(u + step)
        Fn = res.F(un)
        if np.max(np.abs(Fn)) < np.max(np.abs(F)):
            u, F = un, Fn
        else:
            break
    return u, F


def hybr(res: Residual, u0, tol, factor=_HYBR_FACTOR):
    """Powell hybrid (step bound ``factor``) + Newton polish to reach max|F| <= tol.

    Any numerical failure ends the stage with the best point so far (never raises)."""
    u0 = clip_u(u0)
    try:
        sol = _root(res.F, u0, method="hybr", options=dict(xtol=1e-13, maxfev=400, factor=factor))
        u = clip_u(sol.x) if np.all(np.isfinite(sol.x)) else u0
    except NUMERIC_ERRORS as e:
        res.last_error = f"hybr: {type(e).__name__}: {e}"
        u = u0
    return _newton_polish(res, u, res.F(u), tol)


def newton_stage(res: Residual, src: str, u0, tol) -> StageResult:
    """Powell hybrid + Newton polish from ``u0`` (the starting point called ``src``)."""
    n0 = res.n
    u, F = hybr(res, u0, tol)
    return StageResult(
        f"newton from {src}",
        u,
        F,
        res.n - n0,
        miss_note=(f"Newton (hybr) from the {src} ended at max|F| = {np.max(np.abs(F)):.2g}, m = {u[0]:.4g}"),
    )


def _anderson_map(law, res, lo, hi):
    """The natural map on x = (m, log s, log gamma); None where it leaves its domain."""
    p = law.problem

    def T(x):
        m_, s_, g_ = x[0], math.exp(x[1]), math.exp(x[2])
        M = law.evaluate(m_, s_, g_)
        res.n += 1
        s2 = p.alpha * g_ * g_ * M.Eg2
        den = p.alpha * (p.lam + M.Gamma)
        mn = p.alpha * g_ * (m_ * M.Gamma - M.Egz)
        if not (np.isfinite(s2) and s2 > 0 and np.isfinite(den) and den > 0 and np.isfinite(mn)):
            return None
        return np.clip(np.array([mn, 0.5 * math.log(s2), -math.log(den)]), lo, hi)

    return T


def _anderson_step(x, fx, X, G, beta):
    """Anderson (type II) update from the last iterates X and map residuals G (damped step if it fails)."""
    x_new = x + beta * fx
    if len(G) >= 2:
        dG = np.diff(np.array(G), axis=0).T
        dX = np.diff(np.array(X), axis=0).T
        try:
            c, *_ = np.linalg.lstsq(dG, fx, rcond=None)
            xa = x + beta * fx - (dX + beta * dG) @ c
            if np.all(np.isfinite(xa)) and abs(xa[0]) < 10 and abs(xa[2] - x[2]) < 2:
                x_new = xa
        except NUMERIC_ERRORS:
            pass
    return x_new


def anderson(law, res, m, s, gamma, maxiter=300, beta=0.5, depth=5, tol=1e-12):
    """Anderson-accelerated damped iteration of the natural map (docs/theory.md §3 in fixed-point form)

        m <- alpha gamma (m Gamma - E[g z]),  s^2 <- alpha gamma^2 E[g^2],  gamma <- 1/(alpha (lam + Gamma)),

    on x = (m, log s, log gamma) (kept in the box of the Newton unknowns).  Returns (m, s, gamma),
    or None if the map leaves its domain or a numerical failure occurs (never raises)."""
    lo = np.array([U_LO[0], math.log(1e-12), LOG_G_LO])
    hi = np.array([U_HI[0], 0.5 * math.log(U_HI[1]), LOG_G_HI])
    T = _anderson_map(law, res, lo, hi)
    if not (math.isfinite(m) and s >= 0 and gamma > 0 and math.isfinite(s) and math.isfinite(gamma)):
        return None
    x = np.clip(np.array([m, math.log(max(s, 1e-8)), math.log(gamma)]), lo, hi)
    X, G = [], []
    try:
        for _ in range(maxiter):
            tx = T(x)
            if tx is None:
                return None
            fx = tx - x
            if np.max(np.abs(fx)) < tol:
                break
            X, G = (X + [x.copy()])[-depth:], (G + [fx.copy()])[-depth:]
            x = np.clip(_anderson_step(x, fx, X, G, beta), lo, hi)
    except NUMERIC_ERRORS as e:
        res.last_error = f"anderson: {type(e).__name__}: {e}"
        return None
    return x[0], math.exp(x[1]), math.exp(x[2])


def anderson_stage(law, res: Residual, src: str, m0, v0, g0, tol, maxiter) -> StageResult:
    """:func:`anderson` from (m0, sqrt(v0), g0), then :func:`hybr` from its end point."""
    n0 = res.n
    r = anderson(law, res, m0, math.sqrt(v0), g0, maxiter=maxiter)
    if r is None or not np.all(np.isfinite(r)):
        return StageResult(
            f"anderson from {src}",
            None,
            None,
            res.n - n0,
            notes=(f"Anderson iteration from the {src} broke down (F1 had no root or the map left the domain)",),
        )
    u, F = hybr(res, to_u(r[0], r[0] ** 2 + r[1] ** 2, r[2]), tol)
    return StageResult(
        f"anderson from {src}",
        u,
        F,
        res.n - n0,
        miss_note=(f"Anderson + Newton from the {src} ended at max|F| = {np.max(np.abs(F)):.2g}, m = {u[0]:.4g}"),
    )


def _continue(law, res, tol, m_min, max_steps=60):
    """Follow the informative branch from alpha_easy = max(2 alpha, alpha + 4) down to alpha; u or None."""
    problem = law.problem
    a_target = problem.alpha
    a = max(2.0 * a_target, a_target + 4.0)
    lw = type(law)(problem.replace(alpha=a), law.root, law.quad)
    c = Residual(lw)
    g0 = lw.solve_gamma(0.95, math.sqrt(0.95 - 0.95**2), 0.3)
    if not np.isfinite(g0):
        return None
    u, F = hybr(c, to_u(0.95, 0.95, g0), tol)
    step, steps = 0.25 * (a - a_target), 0
    if not (np.max(np.abs(F)) <= tol and abs(u[0]) >= m_min):
        a = math.inf  # no start: give up below
    while a_target < a < math.inf and steps < max_steps:
        steps += 1
        a_new = max(a - step, a_target)
        c2 = Residual(type(law)(problem.replace(alpha=a_new), law.root, law.quad))
        u2, F2 = hybr(c2, u, tol)
        c.n += c2.n
        if np.max(np.abs(F2)) <= tol and abs(u2[0]) >= m_min:
            a, u = a_new, u2
            step *= 1.5
        else:
            step *= 0.4
            if step < 1e-4 * a_target:
                break
    res.n += c.n
    return u if a <= a_target else None


def continuation_stage(law, res: Residual, tol, m_min) -> StageResult:
    """Continuation in alpha (:func:`_continue`), then the residual at the target alpha."""
    n0 = res.n
    notes = []
    try:
        u = _continue(law, res, tol, m_min)
    except NUMERIC_ERRORS as e:
        u = None
        notes.append(f"continuation in alpha hit a numerical failure ({type(e).__name__}: {e})")
    if u is None:
        return StageResult(
            "continuation in alpha", None, None, res.n - n0, notes=tuple(notes + ["continuation in alpha failed"])
        )
    return StageResult("continuation in alpha", u, res.F(u), res.n - n0)


def is_exact_recovery(law) -> bool:
    """lam = 0 and l'(f(z), z) = 0 on every node: the branch m = q = 1, r = z."""
    if law.problem.lam != 0:
        return False
    W, z, w, y = law.nodes(1.0, 0.0, 1.0)
    z = np.broadcast_to(z, y.shape)
    Wb = np.broadcast_to(W, y.shape)
    gz = law.loss.grad(y, z)
    scale = 1.0 + np.abs(law.loss.value(y, np.zeros_like(z)))
    return bool(np.all(np.abs(gz[Wb > 0]) <= 1e-12 * scale[Wb > 0]))


def exact_stage(law) -> StageResult:
    """Exact-recovery branch m = q = 1, r = z: gamma from alpha gamma E[l''/(1 + gamma l'')] = 1 (brentq).

    ``u`` is (1, 0, gamma), not projected on the box (gamma may be as small as e^-30)."""
    cnt = [0]

    def f1(lg):
        cnt[0] += 1
        try:
            v = float(law.residuals(1.0, 0.0, math.exp(lg))[0][0])
        except NUMERIC_ERRORS:
            return float("nan")
        return v if math.isfinite(v) else float("nan")

    W, z, w, y = law.nodes(1.0, 0.0, 1.0)
    h = law.loss.hess(y, np.broadcast_to(z, y.shape))
    hmin = float(np.min(h[np.broadcast_to(W, h.shape) > 0]))
    lo, hi = -30.0, (math.log(0.999 / -hmin) if hmin < 0 else 30.0)
    flo, fhi = f1(lo), f1(hi)
    if not (flo < 0 < fhi):
        why = (
            f"sup over gamma = {fhi + 1:.4g} < 1; for phase retrieval this needs alpha > 1"
            if math.isfinite(fhi)
            else "the equation could not be evaluated at the end of the bracket"
        )
        return StageResult(
            "exact",
            None,
            None,
            cnt[0],
            notes=(
                "exact-recovery branch (lam = 0, noiseless, realisable): (F1) alpha gamma E[l''/(1 + gamma l'')] = 1 "
                f"has no solution gamma > 0 ({why})",
            ),
        )
    try:
        g = math.exp(brentq(f1, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200))
        F, _ = law.residuals(1.0, 0.0, g)
    except NUMERIC_ERRORS as e:
        return StageResult(
            "exact",
            None,
            None,
            cnt[0],
            notes=(f"exact-recovery branch: brentq on (F1) failed ({type(e).__name__}: {e})",),
        )
    return StageResult("exact", np.array([1.0, 0.0, g]), F, cnt[0])
