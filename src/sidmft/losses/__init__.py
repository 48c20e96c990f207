"""Losses l(y, r) as declarations: derivatives, structure (jumps, convexity, evenness) and prox, in a registry.

The objective of gradient descent is (docs/theory.md §0)

    L(x) = (1/alpha) sum_i l(y_i, <a_i, x>) + (lam/2) ||x||^2 .

A :class:`Loss` carries everything the rooms need, so no code elsewhere tests a loss by name:

* ``value``, ``grad`` (the per-sample gradient g = dl/dr that the methods use) and ``hess`` (dg/dr away from
  jumps), vectorised; ``scalar_grad``, a plain-Python scalar ``grad`` written with ``math`` only, which the
  simulator compiles into its fused numba kernel;
* ``jumps``: where g jumps, as a function of y (the DMFT then takes its responses by Gaussian integration by
  parts, which sees the jumps; pathwise derivatives miss them); ``convex``; ``even`` (l(y, -r) = l(y, r):
  the two prox root rules coincide, and the loss has a complex form l(y, |r|) for complex signals);
  ``bounded_hessian``;
* ``prox``: a closed-form solution of r + gamma g(y, r) = w (the fixed point; a safeguarded Newton solver
  otherwise) and ``prox_breaks``: labels y at which that map changes form (quadrature breakpoints);
* ``potential``: the function whose derivative is ``grad`` when that is not ``value`` (a surrogate gradient
  such as Truncated Amplitude Flow's, whose reported value is the amplitude loss).

Complex signals (docs/theory.md §7): an even loss has the complex form l(y, r) = L(y, |r|) with
g = 2 dl/d r-bar = L'(y, |r|) r/|r| (:meth:`Loss.complex_grad`) and the Wirtinger derivatives
dg/dr = (kappa_r + kappa_t)/2, dg/d r-bar = (kappa_r - kappa_t)/2 r^2/|r|^2 with the radial curvature
kappa_r = L'' and the tangential one kappa_t = L'/|r| (:meth:`Loss.complex_derivatives`).

Array namespaces.  The built-in losses are registered with ``array_namespace=True``: their ``value`` and
``grad`` take an optional keyword ``xp`` (default ``numpy``) and then use only ``xp`` operations, so the JAX
backend of the simulator evaluates the same functions with ``xp=jax.numpy``.

Register your own in a few lines (``examples/custom_loss.py`` declares one whose g jumps away from r = 0)::

    sidmft.register_loss("huber1",
        value=lambda y, r: np.where(abs(r-y) < 1, 0.5*(r-y)**2, abs(r-y) - 0.5),
        grad=lambda y, r: np.clip(r - y, -1, 1),
        hess=lambda y, r: (abs(r - y) < 1).astype(float),
        jumps=(), convex=True)
"""

from __future__ import annotations

from . import _builtin  # noqa: F401  (registers the built-in losses)
from ._core import DEFAULT_LOSS, LOSSES, Loss, available_losses, get_loss, register_loss

__all__ = ["Loss", "register_loss", "get_loss", "available_losses", "LOSSES", "DEFAULT_LOSS"]
