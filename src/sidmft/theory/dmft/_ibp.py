"""Responses without derivatives: Gaussian integration by parts (docs/theory.md §6.8).

The sample-side Gaussian inputs of one path are X = L xi (z, then w^S or w^0, then w^1, ...), with L the
incremental Cholesky factor of :class:`sidmft.theory.dmft._core.BatchSolver` and xi the normal scores.
For any g with finite second moment -- l'(y, r) with jumps included -- Gaussian integration by parts
(Stein's lemma for a correlated vector) gives

    E[X g] = K E[grad_X g],   K = L L^T   =>   E[grad_X g] = K^{-1} E[X g] = L^{-T} E[xi g].

``grad_X g`` is the *total* derivative of g^t = l'(y, r^t) in the inputs, the memory chain r^t <- g^tau
included, i.e. the same quantity as the pathwise reverse-mode response R_g(t, .), but with the delta
that l'' carries at a jump of l' (which pathwise derivatives miss).  g^t depends on the inputs 0..t+1
only, so the leading (t+2) x (t+2) block of L suffices.  With ``"lhs-orth"`` scores E[xi xi^T] = I holds
exactly on the sample, so the linear part of g (in X) is integrated with no Monte-Carlo error; the
remaining error comes from the non-linear part of g.

Degenerate inputs.  A pivot L[i, i] set to 0 by the Cholesky update (relative Schur complement below
``SCHUR_TOL``) means X_i is an exact linear combination of X_0..X_{i-1}; column i of L is then zero and
xi_i enters no input, so the derivative along X_i is not identified by the law of X.  It is not needed
either: the parameter side uses R_g only through mu_t x* + sum_j R_g(t, j) x^{pin(j)}, whose law
depends on the vector v = E[grad_X g] only through K v = E[X g] (two solutions differ by a vector u with
u^T K u = 0, i.e. by a combination of the inputs that vanishes).  We take the solution with v_i = 0 on
degenerate indices and solve the triangular system on the non-degenerate ones; this solves K v = E[X g]
exactly (see :func:`ibp_gradient`).

Measured (PR, T = lal, alpha = 3, eta = lam = 0.1, 20 batches of 5000 paths, spectral start):

* intensity loss (smooth; pathwise is the reference): same means, variance of m_t against pathwise
  x1.0, 1.1, 1.3, 3.6 at t = 1, 5, 10, 30 (q: x1.3, 0.9, 0.9, 2.4);
* amplitude and pseudo-Huber amplitude losses (l' jumps): every observable within 2.1 sigma of the
  simulation at d = 4000 at t = 1, 5, 10, 30, where the pathwise estimator is up to 77 sigma off;
* a control variate (integration by parts of l' - beta r^t only, with E[grad r^t] known exactly from the
  earlier rows and beta = E[l'']) changed the variance by < 10 % for the jump losses (their noise is the
  jump part's own) and raised it for the intensity loss, so it is not used;
* long horizons: with the heavy-tailed intensity loss (l' ~ r^3) the noise of E[xi g] is large and the
  solve can blow up (measured: one of 4 batches of 5000 paths, at t = 66-124); the bounded-l'' jump
  losses ran to T = 200.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular

__all__ = ["RESPONSES", "ibp_gradient", "gram_row"]

#: response estimators of the DMFT (``DMFTSettings.responses``)
RESPONSES = ("auto", "pathwise", "ibp", "hybrid")


def ibp_gradient(L: np.ndarray, Xi: np.ndarray, g: np.ndarray, n_inputs: int) -> np.ndarray:
    """E[grad_X g] over the first ``n_inputs`` Gaussian inputs X = L xi, by integration by parts.

    Parameters
    ----------
    L : ndarray (n, n)
        Lower-triangular factor of the inputs' covariance K = L L^T (zero pivots: degenerate inputs,
        their column of L zero).
    Xi : ndarray (>= n_inputs, M)
        Normal scores of the M paths (float32 or float64).
    g : ndarray (M,)
        The function of the inputs, one value per path.
    n_inputs : int
        g depends on X_0..X_{n_inputs - 1} only.

    Returns
    -------
    ndarray (n_inputs,)
        v with v_i = 0 on degenerate indices and L_D^T v_D = E[xi_D g] on the non-degenerate ones D,
        hence K v = L E[xi g] = E[X g] (the columns of L outside D are zero).  Component 0 (z) is
        E[dg/dz] = mu_t (docs/theory.md §2.4), the others R_g(t, .).
    """
    n, M = int(n_inputs), g.shape[0]
    b = (Xi[:n, :M].astype(np.float64, copy=False) @ g) / M
    keep = np.flatnonzero(np.diag(L)[:n] > 0.0)
    v = np.zeros(n)
    if keep.size:
        Lk = L[np.ix_(keep, keep)]
        v[keep] = solve_triangular(Lk, b[keep], lower=True, trans="T", check_finite=False)
    return v


def gram_row(G: np.ndarray, g: np.ndarray, t: int, gS) -> np.ndarray:
    """E[g^t g^tau] for tau = 0..t, then E[g^t g^S] (0 without a spectral seed): O(M t) in float64."""
    M = g.shape[0]
    out = np.empty(t + 2)
    out[: t + 1] = (G[: t + 1, :M].astype(np.float64, copy=False) @ g) / M
    out[t + 1] = float(np.asarray(gS[:M], dtype=np.float64) @ g) / M if gS is not None else 0.0
    return out
