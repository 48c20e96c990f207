"""Orchestration of the fixed-point solver stages (docs/theory.md §3): :func:`solve` -> :class:`Solution`.

Stages ("auto"): the exact-recovery branch when it applies, else Newton (hybr) from the start,
Newton from the default guess, Anderson from the start, Anderson from the default guess,
continuation in alpha; the first informative solution with max|F| <= tol wins, else the best
point seen.  Every numerical failure inside a stage rejects a trial point or ends that stage; it
never escapes.

This module may import numpy, :mod:`sidmft.theory.fixed_point._law`, ``_fp_stages`` and ``_fp_settings``;
not the entry point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ._law import NUMERIC_ERRORS, U_HI, U_LO, FixedPointLaw
from ._settings import FixedPointSettings
from ._stages import (
    Residual,
    anderson_stage,
    continuation_stage,
    exact_stage,
    from_u,
    is_exact_recovery,
    newton_stage,
)

__all__ = ["Solution", "solve", "failed_solution"]


@dataclass(frozen=True, eq=False)
class Solution:
    """The solver's answer: the point (m, s = sqrt(q - m^2), gamma), its residuals and how it was found.

    ``strategy`` names the stage that produced it, ``nit`` the residual evaluations of that stage,
    ``nfev`` those of all stages, ``notes`` what went wrong on the way; ``failed`` means no point.
    """

    m: float
    s: float
    gamma: float
    F: np.ndarray
    strategy: str
    nit: int = 0
    nfev: int = 0
    notes: tuple = ()
    failed: bool = False
    no_solution: bool = False  #: proved: the equations have no (informative) solution


def failed_solution(strategy: str, notes, nfev: int = 0, no_solution: bool = False) -> Solution:
    nan = float("nan")
    return Solution(nan, nan, nan, np.full(3, np.nan), strategy, 0, nfev, tuple(notes), True, no_solution)


def _starting_points(law: FixedPointLaw, guess, strategy: str, notes: list):
    """[(name, m0, v0, gamma0)]: the user's start (repaired into the domain) and the default guess."""
    points = []
    if guess is not None:
        m0, q0, g0 = guess
        m0c = min(max(m0, U_LO[0]), U_HI[0])
        if m0c != m0:
            notes.append(f"start m = {m0:.4g} clipped to {m0c:.4g}")
        v0 = q0 - m0c * m0c
        if not v0 > 0:
            notes.append(f"start (m, q) = ({m0:.4g}, {q0:.4g}) has q <= m^2; using q = m^2 + 1e-3")
            v0 = 1e-3
        points.append(("start", m0c, min(v0, U_HI[1]), g0))
    if guess is None or strategy == "auto":
        points.append(("default guess", 0.95, 0.95 - 0.95**2, None))
    pts = []
    for src, m0, v0, g0 in points:
        if g0 is None:
            g0 = law.solve_gamma(m0, math.sqrt(v0), 0.3)
            if not np.isfinite(g0):
                g0 = 0.3
        pts.append((src, m0, v0, min(max(g0, U_LO[2]), U_HI[2])))
    return pts


def _run_stages(law, res, pts, settings):
    """The stages in order, as a generator of StageResults (lazily: the caller stops at a success)."""
    st = settings.strategy
    if st in ("auto", "newton"):
        for src, m0, v0, g0 in pts if st == "auto" else pts[:1]:
            yield newton_stage(res, src, np.array([m0, v0, g0]), settings.tol)
    if st in ("auto", "anderson"):
        for src, m0, v0, g0 in pts if st == "auto" else pts[:1]:
            yield anderson_stage(law, res, src, m0, v0, g0, settings.tol, settings.maxiter)
    if st == "continuation" or (st == "auto" and settings.continuation):
        yield continuation_stage(law, res, settings.tol, settings.m_min)


def _exact(law, notes) -> Solution:
    sr = exact_stage(law)
    if sr.u is None or sr.F is None:
        return failed_solution("exact", notes + list(sr.notes), nfev=sr.nfev, no_solution=sr.no_solution)
    return Solution(1.0, 0.0, float(sr.u[2]), sr.F, "exact", sr.nfev, sr.nfev, tuple(notes))


def _score(u: np.ndarray, F: np.ndarray, settings: FixedPointSettings):
    """(accepted, key) of a stage's point: key orders candidates (accepted first, then max|F|)."""
    fin = bool(np.all(np.isfinite(F))) and bool(np.all(np.isfinite(u)))
    r = float(np.max(np.abs(F))) if fin else math.inf
    ok = fin and r <= settings.tol and abs(from_u(u)[0]) >= settings.m_min
    return ok, (None if not fin else (not ok, r))


def solve(law: FixedPointLaw, guess, settings: FixedPointSettings) -> Solution:
    """Solve (F1)-(F3) for ``law`` from ``guess`` ((m, q, gamma or None) or None); never raises on
    numerical trouble (a failure is a :class:`Solution` with ``failed`` set and the reason in ``notes``)."""
    notes: list = []
    try:
        exact = is_exact_recovery(law)
    except NUMERIC_ERRORS as e:
        exact = False
        notes.append(f"exact-recovery check failed ({type(e).__name__}: {e})")
    if exact:
        return _exact(law, notes)
    res = Residual(law)
    pts = _starting_points(law, guess, settings.strategy, notes)
    best: Optional[tuple] = None
    for sr in _run_stages(law, res, pts, settings):
        notes.extend(sr.notes)
        if sr.u is None or sr.F is None:  # the stage broke down
            continue
        ok, key = _score(sr.u, sr.F, settings)
        if key is not None and (best is None or key < best[0]):
            best = (key, sr.name, sr.nfev, sr.u, sr.F)
        if ok:
            break
        if sr.miss_note:
            notes.append(sr.miss_note)
    if res.n_bad:
        notes.append(f"{res.n_bad} trial points were rejected (residual not evaluable; last: {res.last_error})")
    if best is None:
        return failed_solution("solver", notes + ["no stage produced a point with finite residuals"], nfev=res.n)
    _, name, nit, u, F = best
    m, s, g = from_u(u)
    return Solution(m, s, g, np.asarray(F, dtype=float), name, nit, res.n, tuple(notes))
