"""Losses l(y, r) with their first two derivatives in r, in a registry.

The objective of gradient descent is (docs/theory.md §0)

    L(x) = (1/alpha) sum_i l(y_i, <a_i, x>) + (lam/2) ||x||^2 .

A loss is three vectorised functions ``value``, ``grad`` (dl/dr) and ``hess`` (d2l/dr2).
``scalar_grad`` optionally gives a plain-Python scalar version of ``grad`` written with
``math`` only, so that the simulator can compile it into its fused (numba) kernel; losses
without it run on the numpy reference path.  ``prox`` optionally solves
r + gamma * l'(y, r) = w (used by the fixed-point solver; a generic Newton solver is used
otherwise).

Array namespaces.  The built-in losses are registered with ``array_namespace=True``: their
``value`` and ``grad`` take an optional keyword ``xp`` (default ``numpy``) and then use only
``xp`` operations, so the JAX backend of the simulator evaluates the same registry functions with
``xp=jax.numpy`` (``sidmft.simulate(..., backend="jax")``).  A registered loss without that
flag is refused by the JAX backend with a message saying how to add it.

Register your own in a few lines::

    sidmft.register_loss("huber1",
        value=lambda y, r: np.where(abs(r-y) < 1, 0.5*(r-y)**2, abs(r-y) - 0.5),
        grad=lambda y, r: np.clip(r - y, -1, 1),
        hess=lambda y, r: (abs(r - y) < 1).astype(float))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

__all__ = ["Loss", "register_loss", "get_loss", "available_losses", "LOSSES"]


@dataclass(frozen=True)
class Loss:
    """A loss l(y, r) with vectorised value, gradient and Hessian in r."""

    name: str
    value: Callable = field(compare=False)
    grad: Callable = field(compare=False)
    hess: Callable = field(compare=False)
    scalar_grad: Optional[Callable] = field(default=None, compare=False)
    prox: Optional[Callable] = field(default=None, compare=False)
    #: ``True`` when hess is bounded (the DMFT long-time limit is then unconditionally stable)
    bounded_hessian: bool = False
    #: ``True`` when ``value`` and ``grad`` accept ``xp=`` (an array namespace: numpy, jax.numpy)
    array_namespace: bool = False

    def check_array_namespace(self, backend: str) -> None:
        """Raise ``ValueError`` unless ``value``/``grad`` accept ``xp=`` (needed by ``backend``)."""
        if not self.array_namespace:
            raise ValueError(
                f"loss {self.name!r} does not support backend={backend!r}: its value/grad must accept an array "
                f"namespace keyword xp= (numpy or jax.numpy) and be registered with array_namespace=True; "
                f"use backend='numba' or 'numpy' for it"
            )


LOSSES: dict[str, Loss] = {}


def register_loss(
    name: str,
    *,
    value: Callable,
    grad: Callable,
    hess: Callable,
    scalar_grad: Optional[Callable] = None,
    prox: Optional[Callable] = None,
    bounded_hessian: bool = False,
    array_namespace: bool = False,
    overwrite: bool = False,
) -> Loss:
    """Register a loss. See the module docstring for an example (``array_namespace``: see there too)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"loss name must be a non-empty string, got {name!r}")
    if name in LOSSES and not overwrite:
        raise ValueError(f"loss {name!r} is already registered (pass overwrite=True to replace it)")
    for k, f in (("value", value), ("grad", grad), ("hess", hess)):
        if not callable(f):
            raise TypeError(f"{k} of loss {name!r} must be callable")
    loss = Loss(name, value, grad, hess, scalar_grad, prox, bounded_hessian, bool(array_namespace))
    LOSSES[name] = loss
    return loss


def available_losses() -> list[str]:
    return sorted(LOSSES)


def get_loss(name) -> Loss:
    if isinstance(name, Loss):
        return name
    if name not in LOSSES:
        raise ValueError(f"loss must be one of {available_losses()}; got {name!r}")
    return LOSSES[name]


# --- intensity (Wirtinger flow): (r^2 - y)^2 / 4 ---------------------------------------
def _int_scalar_grad(y, r):
    return (r * r - y) * r


register_loss(
    "intensity",
    value=lambda y, r, xp=np: 0.25 * (r * r - y) ** 2,
    grad=lambda y, r, xp=np: (r * r - y) * r,
    hess=lambda y, r: 3.0 * r * r - y,
    scalar_grad=_int_scalar_grad,
    array_namespace=True,
)


# --- amplitude (reshaped WF): (|r| - sqrt(y_+))^2 / 2 ----------------------------------
def _amp_scalar_grad(y, r):
    s = math.sqrt(y) if y > 0.0 else 0.0
    if r > 0.0:
        return r - s
    elif r < 0.0:
        return r + s
    return 0.0


register_loss(
    "amplitude",
    value=lambda y, r, xp=np: 0.5 * (xp.abs(r) - xp.sqrt(xp.maximum(y, 0.0))) ** 2,
    grad=lambda y, r, xp=np: r - xp.sqrt(xp.maximum(y, 0.0)) * xp.sign(r),
    # l'' = 1 away from r = 0 (the kink at r = 0 carries a measure-zero delta, ignored)
    hess=lambda y, r: np.ones(np.broadcast(y, r).shape),
    scalar_grad=_amp_scalar_grad,
    bounded_hessian=True,
    array_namespace=True,
)


# --- pseudo-Huber amplitude: delta^2 (sqrt(1 + e^2/delta^2) - 1), e = |r| - sqrt(y_+), delta = 1 -------
# A robust amplitude loss: l' = psi(e) sign(r) with psi(e) = e / sqrt(1 + e^2) bounded by 1, so l' jumps at r = 0
# by 2 psi(-sqrt(y)) (like the amplitude loss); l'' = (1 + e^2)^(-3/2) is smooth away from r = 0.
def _pha_value(y, r, xp=np):
    e = xp.abs(r) - xp.sqrt(xp.maximum(y, 0.0))
    return xp.sqrt(1.0 + e * e) - 1.0


def _pha_grad(y, r, xp=np):
    e = xp.abs(r) - xp.sqrt(xp.maximum(y, 0.0))
    return e / xp.sqrt(1.0 + e * e) * xp.sign(r)


def _pha_hess(y, r):
    e = np.abs(r) - np.sqrt(np.maximum(y, 0.0))
    return (1.0 + e * e) ** -1.5


def _pha_scalar_grad(y, r):
    s = math.sqrt(y) if y > 0.0 else 0.0
    if r > 0.0:
        e = r - s
        return e / math.sqrt(1.0 + e * e)
    elif r < 0.0:
        e = -r - s
        return -e / math.sqrt(1.0 + e * e)
    return 0.0


register_loss(
    "pseudo-huber-amplitude",
    value=_pha_value,
    grad=_pha_grad,
    # l'' away from r = 0 (the jump of l' at r = 0 is a delta in l'', ignored here as for "amplitude")
    hess=_pha_hess,
    scalar_grad=_pha_scalar_grad,
    bounded_hessian=True,
    array_namespace=True,
)


# --- square: (r - y)^2 / 2 -------------------------------------------------------------
def _sq_scalar_grad(y, r):
    return r - y


register_loss(
    "square",
    value=lambda y, r, xp=np: 0.5 * (r - y) ** 2,
    grad=lambda y, r, xp=np: r - y,
    hess=lambda y, r: np.ones(np.broadcast(y, r).shape),
    scalar_grad=_sq_scalar_grad,
    prox=lambda y, w, gamma: (w + gamma * y) / (1.0 + gamma),
    bounded_hessian=True,
    array_namespace=True,
)


# --- logistic: log(1 + exp(-y r)), y in {-1, +1} ----------------------------------------
def _log_value(y, r, xp=np):
    return xp.logaddexp(0.0, -y * r)


def _log_grad(y, r, xp=np):
    if xp is not np:  # sigmoid(-t) = exp(-log(1 + e^t)), stable for either sign of t
        return -y * xp.exp(-xp.logaddexp(0.0, y * r))
    from scipy.special import expit

    return -y * expit(-y * r)


def _log_hess(y, r):
    from scipy.special import expit

    s = expit(y * r)
    return s * (1.0 - s)


def _log_scalar_grad(y, r):
    t = y * r
    if t >= 0:
        e = math.exp(-t)
        return -y * e / (1.0 + e)
    return -y / (1.0 + math.exp(t))


register_loss(
    "logistic",
    value=_log_value,
    grad=_log_grad,
    hess=_log_hess,
    scalar_grad=_log_scalar_grad,
    bounded_hessian=True,
    array_namespace=True,
)
