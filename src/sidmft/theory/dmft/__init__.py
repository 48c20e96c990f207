"""Dynamical mean-field theory (DMFT) of gradient descent from the spectral initialisation.

The d -> infinity trajectory of GD (docs/theory.md §0) is described by two coupled effective
processes (docs/theory.md §2):

* parameter side (one coordinate, linear, solved in closed form, §2.2)::

      x^{t+1} = (1 - eta lam) x^t - (eta/alpha) zeta^t
                - eta [R_g(t,S) v + sum_{s=1}^t R_g(t,s) x^s] - eta mu_t x*,
      v = R_S (zeta^S + alpha mu_S x*),   x^0 = kappa v,   zeta ~ N(0, Sigma),
  so x^p = c_p x* + sum_k R_x(p,k) zeta^k and C_x = c c^T + R_x Sigma R_x^T;

* sample side (one sample, non-linear, Monte Carlo, §2.3)::

      (z, w^S, w^1..w^T) Gaussian with Cov(z, w^p) = c_p, Cov(w^p, w^p') = C_x(p,p'),
      u = w^S/(1 - R_S T(y)),  g^S = T(y) u,  r^0 = kappa u,
      r^t = w^t + R_x(t,S) g^S + sum_{tau<t} R_x(t,tau) g^tau,   g^t = l'(y, r^t);

* closure (§2.4): R_g(t,p) = E[d g^t/d w^p] (pathwise, §4.1; hybrid window + probe for long horizons,
  §4.3; or integration by parts, §6.8), mu_t = E[g^t z] - sum_p c_p R_g(t,p) (Stein), Sigma(k,l) =
  alpha E[g^k g^l], with the spectral stage from :func:`sidmft.theory.spectral.spectral` (§1.2).

Other first-order methods (heavy-ball, Nesterov, Bernoulli SGD, Langevin, step schedules; the
``algorithm`` fields of the Problem) run the same engine with the method's linear update applied to the
coefficient rows (§6.1-§6.5); ``init="linear"`` starts from the stage L of §6.6.
With ``problem.init == "random"`` the standard DMFT of §2.7 is solved instead
(x^0 = m0 x* + sqrt(q0 - m0^2) xi with xi independent of the data; no S index).

The system is causal, so a single forward pass over t = 0..T solves it up to Monte-Carlo
error (§4.1).  The Monte-Carlo settings (paths, batches, scores, precision, kernel, threads) are
one frozen :class:`DMFTSettings`.  Implementation: :mod:`sidmft.theory.dmft._core` (forward pass).

Monte-Carlo error.  Reported observables are the means of ``batches`` independent solves and
``*_se`` the standard deviation over batches / sqrt(batches) (bit-identical for a given thread
mode; the path-parallel and batch-parallel kernels differ by rounding, ~1e-13).  Why independent
solves rather than one pooled solve with batch means: the kernels are self-consistent averages,
so in a pooled solve the batch means of one trajectory share the same (random) kernels and their
spread misses the kernel noise, which dominates (it is fed back through the memory terms).
Independent solves give an honest spread; their price is the O(1/(samples/batches)) bias of a
smaller solve, measured to be far below the MC error at >= 2000 paths per batch.  The
heavy-tailed averages of §5.3 make a few-batch standard error itself noisy: use >= 10 batches
for tight tests.  Kernels are the batch averages (the identities C_x = c c^T + R_x Sigma R_x^T
hold per batch).

Variance reduction (``scores``): ``"lhs-orth"`` (default) Latin-hypercube normal scores per
column, then exact moment matching of their second moments; ``"lhs"``; ``"iid"``.  Measured
(PR, intensity loss, T = 1 - 1/y, alpha = 3, eta = lam = 0.1; spread of 40 independent batches
of 5000 paths): variance of m_t reduced against iid by 2.7, 6.0, 9.5, 19 at t = 1, 5, 10, 30
(LHS alone: 1.4, 2.1, 3.0, 4.8); of q_t by 3.2-14; of the training loss and gradient norm by
~2-3.  For the linear model with square loss every average is exact.
"""

from __future__ import annotations

from ._core import BatchSolver
from ._result import DMFTResult
from ._settings import DMFTSettings
from ._solve import dmft

__all__ = ["dmft", "DMFTResult", "DMFTSettings", "BatchSolver"]
