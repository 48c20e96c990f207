"""First-order methods as declarative descriptions (the simulator runs them; the DMFT may read them).

Every method of the registry is one linear two-step recursion with an optional per-sample random
factor and an optional Gaussian noise.  At step t (t = 0..steps-1), with x^{-1} := x^0,

    read point  p^t     = a x^t + b x^{t-1},
    gradient    g_i^t   = f_i^t l'(y_i, <a_i, p^t>),
    update      x^{t+1} = A x^t + B x^{t-1} - eta_t (lam p^t + (1/alpha) A^T g^t) + sigma_t xi^t,

where f^t is the per-sample factor (1; or s_i/b with s_i ~ Bernoulli(b) independent over i and t),
sigma_t = sqrt(2 eta_t tau) for Langevin dynamics (else 0) and xi^t ~ N(0, I_d).  The coefficients
are affine in the momentum beta: each is stored as (c0, c1), meaning c0 + c1 beta.

    gd          a = 1,        b = 0,     A = 1,        B = 0
    heavy-ball  a = 1,        b = 0,     A = 1 + beta, B = -beta
    nesterov    a = 1 + beta, b = -beta, A = 1 + beta, B = -beta
    sgd         as gd, f_i^t = s_i^t / b, s_i^t ~ Bernoulli(b)   (b = 1 is gd)
    langevin    as gd, sigma_t = sqrt(2 eta_t tau)

Step sizes eta_t come from a :class:`StepSchedule`: ``None``/``"constant"`` (eta_t = eta),
``"step:FACTOR:EVERY"`` (eta_t = eta FACTOR^floor(t / EVERY)), ``"cosine:ETA_MIN"``
(eta_t = ETA_MIN + (eta - ETA_MIN)(1 + cos(pi t / steps))/2) or an explicit list of ``steps``
positive numbers (eta_t = list[t]; ``eta`` is then not used).

This module imports numpy only (problem room).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np

__all__ = [
    "Algorithm",
    "StepCoefficients",
    "StepSchedule",
    "ALGORITHMS",
    "register_algorithm",
    "get_algorithm",
    "available_algorithms",
]

#: per-sample random factors: "one" (f = 1) or "bernoulli" (f = s/b, s ~ Bernoulli(b))
FACTORS = ("one", "bernoulli")
#: the Problem field each algorithm parameter is read from, with its allowed range
PARAMETERS = {"beta": "beta in [0, 1)", "batch": "batch in (0, 1]", "temperature": "temperature >= 0"}

Affine = tuple[float, float]


@dataclass(frozen=True)
class StepCoefficients:
    """The numbers (a, b, A, B) of one method at one beta (see the module docstring)."""

    a: float
    b: float
    A: float
    B: float

    @property
    def reads_iterate(self) -> bool:
        """True when p^t = x^t for every t (a = 1, b = 0)."""
        return self.a == 1.0 and self.b == 0.0

    @property
    def one_step(self) -> bool:
        """True when x^{t+1} does not use x^{t-1} (A = 1, B = 0)."""
        return self.A == 1.0 and self.B == 0.0


@dataclass(frozen=True)
class Algorithm:
    """One registered first-order method (a frozen description, no code path).

    Parameters
    ----------
    name : str
    read : ((a0, a1), (b0, b1))
        p^t = (a0 + a1 beta) x^t + (b0 + b1 beta) x^{t-1}.
    update : ((A0, A1), (B0, B1))
        x^{t+1} = (A0 + A1 beta) x^t + (B0 + B1 beta) x^{t-1} - eta_t (...) + sigma_t xi^t.
    factor : {"one", "bernoulli"}
        Per-sample factor f_i^t of the gradient.
    noise : bool
        Langevin noise sigma_t = sqrt(2 eta_t tau).
    parameters : tuple of str
        The Problem fields the method needs (``beta``, ``batch``, ``temperature``).
    """

    name: str
    read: tuple[Affine, Affine] = ((1.0, 0.0), (0.0, 0.0))
    update: tuple[Affine, Affine] = ((1.0, 0.0), (0.0, 0.0))
    factor: str = "one"
    noise: bool = False
    parameters: tuple[str, ...] = ()

    def __post_init__(self):
        if self.factor not in FACTORS:
            raise ValueError(f"factor must be one of {list(FACTORS)}; got {self.factor!r}")
        for p in self.parameters:
            if p not in PARAMETERS:
                raise ValueError(f"parameters must be among {list(PARAMETERS)}; got {p!r}")
        for needed, used in (("batch", self.factor == "bernoulli"), ("temperature", self.noise)):
            if used and needed not in self.parameters:
                raise ValueError(f"parameters must include {needed!r} for factor={self.factor!r}, noise={self.noise}")

    def coefficients(self, beta: Optional[float] = None) -> StepCoefficients:
        """(a, b, A, B) at momentum ``beta`` (0 when the method has none)."""
        bt = 0.0 if beta is None else float(beta)
        (a, b), (A, B) = self.read, self.update
        return StepCoefficients(a[0] + a[1] * bt, b[0] + b[1] * bt, A[0] + A[1] * bt, B[0] + B[1] * bt)


_MOMENTUM = ((1.0, 1.0), (0.0, -1.0))  # A = 1 + beta, B = -beta

ALGORITHMS: dict[str, Algorithm] = {}


def register_algorithm(algorithm: Algorithm, overwrite: bool = False) -> Algorithm:
    """Add ``algorithm`` to the registry (by its name)."""
    if not isinstance(algorithm, Algorithm):
        raise TypeError(f"algorithm must be an Algorithm; got {type(algorithm).__name__}")
    if algorithm.name in ALGORITHMS and not overwrite:
        raise ValueError(f"algorithm {algorithm.name!r} is already registered (pass overwrite=True)")
    ALGORITHMS[algorithm.name] = algorithm
    return algorithm


for _alg in (
    Algorithm("gd"),
    Algorithm("heavy-ball", update=_MOMENTUM, parameters=("beta",)),
    Algorithm("nesterov", read=_MOMENTUM, update=_MOMENTUM, parameters=("beta",)),
    Algorithm("sgd", factor="bernoulli", parameters=("batch",)),
    Algorithm("langevin", noise=True, parameters=("temperature",)),
):
    register_algorithm(_alg)


def available_algorithms() -> list[str]:
    return list(ALGORITHMS)


def get_algorithm(name: Union[str, Algorithm]) -> Algorithm:
    """The registered :class:`Algorithm` called ``name`` (ValueError naming the choices otherwise)."""
    if isinstance(name, Algorithm):
        return name
    if name not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {available_algorithms()}; got {name!r}")
    return ALGORITHMS[name]


def _positive(name: str, text, lo_open=True) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v) or v < 0 or (lo_open and v == 0):
        raise ValueError(f"{name} must be a finite number {'>' if lo_open else '>='} 0; got {text!r}")
    return v


@dataclass(frozen=True)
class StepSchedule:
    """Step sizes eta_t, t = 0..steps-1 (see the module docstring for the four kinds).

    ``spec`` is the normalised description stored in a Problem: ``None`` (constant), a string
    ``"step:FACTOR:EVERY"`` / ``"cosine:ETA_MIN"``, or a tuple of floats (explicit list).
    """

    kind: str = "constant"
    factor: float = 1.0
    every: int = 1
    eta_min: float = 0.0
    values: tuple[float, ...] = ()

    @classmethod
    def parse(cls, spec) -> StepSchedule:
        """A schedule from ``None``, ``"constant"``, ``"step:F:E"``, ``"cosine:M"``, a JSON list
        string ``"[0.1, 0.05]"``, a comma list ``"0.1,0.05"`` or a sequence of numbers."""
        if isinstance(spec, StepSchedule):
            return spec
        if spec is None or (isinstance(spec, str) and spec.strip() in ("", "constant", "none")):
            return cls()
        if isinstance(spec, str):
            s = spec.strip()
            head, _, rest = s.partition(":")
            if head == "step":
                f, _, e = rest.partition(":")
                factor = _positive("eta_schedule step FACTOR", f)
                try:
                    every = int(e)
                except ValueError:
                    every = 0
                if every < 1:
                    raise ValueError(f"eta_schedule step EVERY must be a whole number >= 1; got {e!r}")
                return cls("step", factor=factor, every=every)
            if head == "cosine":
                return cls("cosine", eta_min=_positive("eta_schedule cosine ETA_MIN", rest, lo_open=False))
            try:
                spec = json.loads(s) if s.startswith("[") else [float(v) for v in s.split(",")]
            except ValueError:
                raise ValueError(
                    "eta_schedule must be 'constant', 'step:FACTOR:EVERY', 'cosine:ETA_MIN' or a list of "
                    f"step sizes; got {spec!r}"
                ) from None
        values = tuple(_positive("eta_schedule entries", v) for v in np.ravel(np.asarray(spec, dtype=object)))
        return cls("list", values=values)

    @property
    def spec(self):
        """The normalised description (None, str or tuple; see the class docstring)."""
        if self.kind == "constant":
            return None
        if self.kind == "step":
            return f"step:{self.factor:g}:{self.every}"
        if self.kind == "cosine":
            return f"cosine:{self.eta_min:g}"
        return self.values

    def check(self, eta: float, steps: int) -> None:
        """ValueError when the schedule does not fit (eta, steps): a list of the wrong length, or a
        cosine floor above eta."""
        if self.kind == "list" and len(self.values) != steps:
            raise ValueError(f"eta_schedule must list one step size per step (steps = {steps}); got {len(self.values)}")
        if self.kind == "cosine" and self.eta_min > eta:
            raise ValueError(f"eta_schedule cosine ETA_MIN must be <= eta = {eta:g}; got {self.eta_min:g}")

    def etas(self, eta: float, steps: int) -> np.ndarray:
        """eta_t for t = 0..steps-1 (float64 array of length ``steps``)."""
        self.check(eta, steps)
        t = np.arange(steps, dtype=np.float64)
        if self.kind == "constant":
            return np.full(steps, float(eta))
        if self.kind == "step":
            return eta * self.factor ** np.floor_divide(np.arange(steps), self.every).astype(np.float64)
        if self.kind == "cosine":
            return self.eta_min + (eta - self.eta_min) * 0.5 * (1.0 + np.cos(math.pi * t / max(steps, 1)))
        return np.asarray(self.values, dtype=np.float64)
