"""Gaussian quadrature and stratified normal scores."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import ndtri

__all__ = ["gauss_hermite", "lhs_uniforms", "lhs_normal_scores"]

_SQRT2PI = math.sqrt(2.0 * math.pi)


@lru_cache(maxsize=64)
def gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilists' Gauss-Hermite rule normalised to the standard normal law.

    Returns nodes ``x`` and weights ``w`` (read-only arrays) with ``sum(w * h(x)) ~= E[h(X)]``,
    X ~ N(0, 1), exact for polynomials of degree < 2n; ``sum(w) == 1``.

    Examples
    --------
    >>> x, w = gauss_hermite(8)
    >>> round(float(w @ x**4), 12)   # E[X^4] = 3
    3.0
    """
    if int(n) < 1:
        raise ValueError(f"n must be an integer >= 1; got {n!r}")
    x, w = hermegauss(int(n))
    w = w / _SQRT2PI
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def lhs_uniforms(rng: np.random.Generator, m: int) -> np.ndarray:
    """Latin-hypercube uniforms: one point in each of the m equiprobable strata of (0, 1), in random order."""
    return (rng.permutation(m) + rng.random(m)) / m


def lhs_normal_scores(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    """Standard normal scores, shape (n, m): row j is Phi^{-1} of :func:`lhs_uniforms` (independent rows).

    Each row hits every one of the m equiprobable normal strata exactly once, which removes most of
    the Monte-Carlo variance of smooth averages over the row.
    """
    out = np.empty((int(n), int(m)))
    for j in range(int(n)):
        out[j] = ndtri(lhs_uniforms(rng, int(m)))
    return out
