"""The :class:`Loss` declaration and the loss registry (the package ``sidmft.losses`` re-exports them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np

__all__ = ["Loss", "register_loss", "get_loss", "available_losses", "LOSSES", "DEFAULT_LOSS"]


@dataclass(frozen=True)
class Loss:
    """A loss l(y, r): vectorised value, gradient and Hessian in r, and its declared structure.

    Parameters
    ----------
    name : str
    value, grad, hess : callable (y, r) -> array
        l, g = dl/dr (what the methods use) and dg/dr away from the jumps of g.
    scalar_grad : callable (y, r) -> float, optional
        ``grad`` for two floats, written with ``math`` only (compiled into the simulator's fused kernel).
    prox : callable (y, w, gamma[, root]) -> array, optional
        Closed-form root of r + gamma g(y, r) = w (default: a safeguarded Newton solver).
    bounded_hessian : bool
        True when dg/dr is bounded (the long-time limit is then unconditionally stable).
    array_namespace : bool
        True when ``value`` and ``grad`` accept ``xp=`` (numpy or jax.numpy).
    jumps : tuple of float, callable y -> tuple of arrays, or None
        The r-values where g jumps: constants (``(0.0,)`` for a jump at r = 0), a function of the labels
        returning arrays broadcastable to y, or ``()`` for a continuous g.  None: not declared (the DMFT
        then probes r = 0 numerically).
    convex : bool
        l(y, .) convex for every y (the prox then has one root).
    even : bool
        l(y, -r) = l(y, r) (then g is odd, the prox root rules coincide and the complex form exists).
    prox_breaks : callable gamma -> tuple of float, optional
        Labels y at which the prox map r(w) changes form (e.g. the intensity loss at y = 1/gamma).
    potential : callable (y, r) -> array, optional
        The antiderivative of ``grad`` in r when it is not ``value`` (surrogate gradients).
    title, description : str
        Display name and one line of documentation.
    """

    name: str
    value: Callable = field(compare=False)
    grad: Callable = field(compare=False)
    hess: Callable = field(compare=False)
    scalar_grad: Optional[Callable] = field(default=None, compare=False)
    prox: Optional[Callable] = field(default=None, compare=False)
    bounded_hessian: bool = False
    array_namespace: bool = False
    jumps: Union[None, tuple, Callable] = field(default=None, compare=False)
    convex: bool = False
    even: bool = False
    prox_breaks: Optional[Callable] = field(default=None, compare=False)
    potential: Optional[Callable] = field(default=None, compare=False)
    title: str = ""
    description: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"loss name must be a non-empty string, got {self.name!r}")
        for k in ("value", "grad", "hess"):
            if not callable(getattr(self, k)):
                raise TypeError(f"{k} of loss {self.name!r} must be callable")
        if self.jumps is not None and not callable(self.jumps):
            try:
                object.__setattr__(self, "jumps", tuple(float(j) for j in self.jumps))
            except (TypeError, ValueError):
                raise ValueError(
                    f"jumps of loss {self.name!r} must be a tuple of numbers, a function of y or None; "
                    f"got {self.jumps!r}"
                ) from None

    # ------------------------------------------------------------------ declared structure
    @property
    def has_jumps(self) -> Optional[bool]:
        """True when g is declared to jump somewhere, False when declared continuous, None when undeclared."""
        if self.jumps is None:
            return None
        return callable(self.jumps) or len(self.jumps) > 0

    def jump_points(self, y) -> list[np.ndarray]:
        """The declared jump locations of g(y, .) as arrays broadcast to ``y`` (empty when continuous)."""
        y = np.asarray(y, dtype=float)
        if self.jumps is None:
            return []
        pts = self.jumps(y) if callable(self.jumps) else self.jumps
        return [np.broadcast_to(np.asarray(p, dtype=float), y.shape) for p in pts]

    def antiderivative(self, y, r):
        """The function whose r-derivative is ``grad``: ``potential`` if declared, else ``value``."""
        return (self.potential or self.value)(y, r)

    def check_array_namespace(self, backend: str) -> None:
        """Raise ``ValueError`` unless ``value``/``grad`` accept ``xp=`` (needed by ``backend``)."""
        if not self.array_namespace:
            raise ValueError(
                f"loss {self.name!r} does not support backend={backend!r}: its value/grad must accept an array "
                f"namespace keyword xp= (numpy or jax.numpy) and be registered with array_namespace=True; "
                f"use backend='numba' or 'numpy' for it"
            )

    # ------------------------------------------------------------------ complex form (even losses)
    def check_complex(self) -> None:
        """ValueError unless the loss has a complex form l(y, |r|) (it must be declared ``even``)."""
        if not self.even:
            raise ValueError(
                f"loss {self.name!r} is not declared even (l(y, -r) = l(y, r)), so it has no complex form "
                "l(y, |r|): field='complex' needs an even loss such as "
                f"{[n for n, v in LOSSES.items() if v.even]}"
            )

    def complex_value(self, y, r):
        """l(y, |r|) for complex fitted values r."""
        return self.value(y, np.abs(r))

    def _radial(self, y, rho):
        """(L'(rho), L'(rho)/rho) with the limit L''(0) at rho = 0."""
        g = np.asarray(self.grad(y, rho), dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            kt = np.where(rho > 0, g / np.where(rho > 0, rho, 1.0), np.asarray(self.hess(y, rho), dtype=float))
        return g, kt

    def complex_grad(self, y, r):
        """g = 2 dl/d r-bar = L'(y, |r|) r/|r| for complex r (0 at r = 0 when L' jumps there)."""
        r = np.asarray(r)
        _, kt = self._radial(y, np.abs(r))
        return kt * r

    def complex_derivatives(self, y, r):
        """(dg/dr, dg/d r-bar) for complex r: ((kappa_r + kappa_t)/2, (kappa_r - kappa_t)/2 r^2/|r|^2) with
        kappa_r = L''(|r|) (radial curvature) and kappa_t = L'(|r|)/|r| (tangential)."""
        r = np.asarray(r)
        rho = np.abs(r)
        _, kt = self._radial(y, rho)
        kr = np.asarray(self.hess(y, rho), dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            phase2 = np.where(rho > 0, (r / np.where(rho > 0, rho, 1.0)) ** 2, 1.0)
        return 0.5 * (kr + kt), 0.5 * (kr - kt) * phase2


LOSSES: dict[str, Loss] = {}
#: the loss of a Problem that names none
DEFAULT_LOSS = "intensity"


def register_loss(loss: Union[str, Loss], *, overwrite: bool = False, **fields) -> Loss:
    """Register a loss: a :class:`Loss`, or its name and the fields as keywords (``value``, ``grad``, ``hess``
    and any of the optional declarations); returns the declaration.  See the module docstring."""
    if isinstance(loss, Loss):
        if fields:
            raise TypeError("register_loss takes a Loss or a name with keyword fields, not both")
        decl = loss
    else:
        if not isinstance(loss, str) or not loss:
            raise ValueError(f"loss name must be a non-empty string, got {loss!r}")
        missing = [k for k in ("value", "grad", "hess") if k not in fields]
        if missing:
            raise TypeError(f"register_loss({loss!r}, ...) needs the keyword(s) {missing}")
        decl = Loss(loss, **fields)
    if decl.name in LOSSES and not overwrite:
        raise ValueError(f"loss {decl.name!r} is already registered (pass overwrite=True to replace it)")
    LOSSES[decl.name] = decl
    return decl


def available_losses() -> list[str]:
    """Names of the registered losses (sorted)."""
    return sorted(LOSSES)


def get_loss(name) -> Loss:
    """The registered :class:`Loss` called ``name`` (ValueError naming the choices otherwise)."""
    if isinstance(name, Loss):
        return name
    if name not in LOSSES:
        raise ValueError(f"loss must be one of {available_losses()}; got {name!r}")
    return LOSSES[name]
