"""The initial point of a simulated run: spectral, random, linear or given (docs/theory.md §0, §2.7, §6.6)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from threadpoolctl import threadpool_limits

from ..results import Status
from ._data import KEY_RANDOM_INIT, child_rng
from ._spectral import spectral_init

__all__ = ["initial_point", "StartFailed"]


class StartFailed(Exception):
    """The data give no start vector (a fact about the data, reported as a status by the seed runner)."""


def initial_point(data, problem, spectral=None):
    """x0 for ``problem.init`` on ``data``: (x0, SpectralInfo or None).

    spectral: x0 = kappa v (kappa = problem.kappa_value(y)); random: x0 = m0 x* + sqrt(q0 - m0^2) xi
    with xi a unit-direction vector orthogonal to x*, ||xi||^2 = d, drawn from the seed's own stream
    (independent of A); given: problem.x0; linear: x0 = kappa sqrt(d) u/||u|| with u = A^T T(y)
    (T = problem.T, the identity unless a preprocessing is given).  ``spectral``:
    :class:`SpectralInitSettings` (or a dict of its fields) for :func:`spectral_init`.

    Complex data (docs/theory.md §7): v has x*^H v > 0; the random start draws xi ~ CN(0, I) (its
    standard_normal(2d) read as complex), removes its component along x* (xi -= (x*^H xi/d) x*) and
    normalises it to ||xi||^2 = d; the linear start uses u = A^H T(y).
    """
    d = data.d
    if problem.init == "linear":
        return _linear_start(data, problem), None
    if problem.init == "spectral":
        v, info = spectral_init(data, problem, spectral)
        if info.status == Status.FAILED:
            return v, info
        my = float(np.mean(data.y))
        if isinstance(problem.kappa, str) and not my > 0:
            # E[y] > 0 is checked by Problem; a small sample can still have mean(y) <= 0
            note = f"kappa='empirical' needs mean(y) > 0 on the data; this sample has mean(y) = {my:.3g} (n = {data.n})"
            message = "; ".join(m for m in (info.message, note) if m)
            info = dataclasses.replace(info, status=Status.FAILED, message=message)
            return np.full(d, np.nan), info
        return problem.kappa_value(data.y) * v, info
    if problem.init == "random":
        xs = data.x_star
        if data.field == "complex":
            xi = child_rng(data.seed, KEY_RANDOM_INIT).standard_normal(2 * d).view(np.complex128)
            xi -= np.vdot(xs, xi) / np.vdot(xs, xs).real * xs
        else:
            xi = child_rng(data.seed, KEY_RANDOM_INIT).standard_normal(d)
            xi -= (xi @ xs) / (xs @ xs) * xs
        xi *= math.sqrt(d) / np.linalg.norm(xi)
        return problem.m0 * xs + math.sqrt(max(problem.q0 - problem.m0**2, 0.0)) * xi, None
    x0 = np.asarray(problem.x0, dtype=np.float64)
    if x0.shape != (d,):
        raise ValueError(f"x0 (init='given') must have length dim = {d}; got shape {x0.shape}")
    return x0.copy(), None


def _linear_start(data, problem):
    """x0 = kappa sqrt(d) u/||u||, u = A^T T(y) (complex: A^H T(y) = conj(A^T T(y)) for real T; one BLAS pass
    in float64 or complex128, one thread)."""
    w = np.asarray(problem.T(data.y), dtype=np.float64)
    with threadpool_limits(1):
        if data.field == "complex":
            u = np.conj(data.A.T.astype(np.complex128, copy=False) @ w)
        else:
            u = data.A.T.astype(np.float64, copy=False) @ w
    norm = float(np.linalg.norm(u))
    if not (math.isfinite(norm) and norm > 0):
        raise StartFailed(
            f"linear start: u = A^T T(y) has norm {norm:g} (T = {problem.preprocess!r} vanishes or is not finite "
            "on these labels): no direction to start from"
        )
    return problem.kappa_value(data.y) * math.sqrt(data.d) / norm * u
