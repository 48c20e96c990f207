"""First-order methods as declarations: everything the library knows about a method lives in its :class:`Algorithm`.

Every method is one linear two-step recursion with an optional per-sample random factor and an
optional Gaussian noise.  At step t (t = 0..steps-1), with x^{-1} := x^0,

    read point  p^t     = a x^t + b x^{t-1},
    gradient    g_i^t   = f_i^t l'(y_i, <a_i, p^t>),
    update      x^{t+1} = A x^t + B x^{t-1} - eta_t (lam p^t + (1/alpha) A^T g^t) + sigma_t xi^t,

where f^t is the per-sample factor (1; or s_i/b with s_i ~ Bernoulli(b) independent over i and t),
sigma_t = sqrt(2 eta_t tau) for Langevin dynamics (else 0) and xi^t ~ N(0, I_d).  Each coefficient is a
linear form in the method's parameters (:class:`Linear`), e.g. A = 1 + beta:

    gd          a = 1,        b = 0,     A = 1,        B = 0
    heavy-ball  a = 1,        b = 0,     A = 1 + beta, B = -beta
    nesterov    a = 1 + beta, b = -beta, A = 1 + beta, B = -beta
    sgd         as gd, f_i^t = s_i^t / b, s_i^t ~ Bernoulli(b)   (b = 1 is gd)
    langevin    as gd, sigma_t = sqrt(2 eta_t tau)

What the rooms read from the declaration:

* the simulator and the DMFT: the coefficients (:meth:`Algorithm.coefficients`), the factor and the noise;
* the fixed point: :attr:`Algorithm.no_fixed_point` (None when the stationary point of L is the limit);
* the rate: the characteristic polynomial of the linearised recursion on a Hessian eigenvalue h,
  z^2 - (A - eta h a) z - (B - eta h b) = 0 (:meth:`Algorithm.rate_polynomial`, :meth:`Algorithm.contraction`),
  from which the heavy-ball form z^2 - (1 + beta - eta h) z + beta and the Nesterov form
  z^2 - (1 + beta)(1 - eta h) z + beta (1 - eta h) follow;
* the labels, the command-line help and the documentation: ``title``, ``description`` and the parameters'
  entries in :data:`sidmft.parameters.PARAMETERS` (range, default, symbol).

A method with a parameter of its own registers the parameter (:func:`sidmft.parameters.register_parameter`)
and the method (:func:`register_algorithm`); ``Problem(algorithm=..., params={...})`` then carries its value
and every room runs it (``examples/custom_method.py``).

Step sizes eta_t come from a :class:`~sidmft.schedules.StepSchedule` (re-exported here).

This module imports numpy and the problem room's tables only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np

from .parameters import PARAMETERS, Parameter, get_parameter, register_parameter
from .schedules import StepSchedule

__all__ = [
    "Algorithm",
    "Linear",
    "StepCoefficients",
    "StepSchedule",
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "register_algorithm",
    "get_algorithm",
    "available_algorithms",
    "Parameter",
    "register_parameter",
]

#: per-sample random factors: "one" (f = 1) or "bernoulli" (f = s/b, s ~ Bernoulli(b))
FACTORS = ("one", "bernoulli")


@dataclass(frozen=True)
class Linear:
    """A coefficient that is a linear form in the method's parameters: ``Linear(1, beta=1)`` is 1 + beta.

    ``terms`` holds ``(parameter, weight)`` pairs (sorted); ``const`` the constant."""

    const: float = 0.0
    terms: tuple[tuple[str, float], ...] = ()

    def __init__(self, const: float = 0.0, **weights: float):
        object.__setattr__(self, "const", float(const))
        object.__setattr__(self, "terms", tuple(sorted((k, float(v)) for k, v in weights.items() if v != 0)))

    @classmethod
    def of(cls, spec) -> Linear:
        """A Linear from a number, a Linear, a mapping ``{"": const, name: weight}`` or the historical
        ``(c0, c1)`` pair meaning c0 + c1 beta."""
        if isinstance(spec, Linear):
            return spec
        if isinstance(spec, Mapping):
            d = dict(spec)
            return cls(d.pop("", 0.0), **d)
        if isinstance(spec, (tuple, list)) and len(spec) == 2:
            return cls(spec[0], beta=spec[1])
        return cls(float(spec))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.terms)

    def __call__(self, values: Mapping[str, float]) -> float:
        return self.const + sum(w * float(values.get(k, 0.0) or 0.0) for k, w in self.terms)


@dataclass(frozen=True)
class StepCoefficients:
    """The numbers (a, b, A, B) of one method at given parameter values (see the module docstring)."""

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

    @property
    def gradient_descent(self) -> bool:
        """True for the form of plain GD (p^t = x^t and a one-step update)."""
        return self.reads_iterate and self.one_step


Coefficient = Union[float, Linear, Mapping, tuple]


@dataclass(frozen=True)
class Algorithm:
    """One registered first-order method: a frozen declaration, no code path.

    Parameters
    ----------
    name : str
        Registry key (``Problem(algorithm=...)``, ``--algorithm``).
    read : (a, b)
        p^t = a x^t + b x^{t-1}; each a number, a :class:`Linear` form in the parameters, a mapping
        ``{"": const, name: weight}`` or the pair ``(c0, c1)`` meaning c0 + c1 beta.
    update : (A, B)
        x^{t+1} = A x^t + B x^{t-1} - eta_t (...) + sigma_t xi^t, coefficients as for ``read``.
    factor : {"one", "bernoulli"}
        Per-sample factor f_i^t of the gradient (``"bernoulli"`` reads the parameter ``batch``).
    noise : bool
        Langevin noise sigma_t = sqrt(2 eta_t tau) (reads the parameter ``temperature``).
    parameters : tuple of str
        The method's parameters, each registered in :data:`sidmft.parameters.PARAMETERS`.
    no_fixed_point : str, optional
        Why the iterates have no fixed point at a constant step (None: the stationary point of L is the
        limit).  Derived for a random factor or injected noise when not given.
    title : str
        Display name (figures, tables); the name when empty.
    description : str
        One line for the command-line help and the documentation.
    """

    name: str
    read: tuple = (1.0, 0.0)
    update: tuple = (1.0, 0.0)
    factor: str = "one"
    noise: bool = False
    parameters: tuple[str, ...] = ()
    no_fixed_point: Optional[str] = None
    title: str = ""
    description: str = ""
    _forms: tuple = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"algorithm name must be a non-empty string; got {self.name!r}")
        if self.factor not in FACTORS:
            raise ValueError(f"factor must be one of {list(FACTORS)}; got {self.factor!r}")
        object.__setattr__(self, "parameters", tuple(self.parameters))
        for p in self.parameters:
            if p not in PARAMETERS:
                raise ValueError(
                    f"parameters must be among the registered parameters {sorted(PARAMETERS)}; got {p!r} "
                    "(register it with sidmft.register_parameter)"
                )
        for needed, used in (("batch", self.factor == "bernoulli"), ("temperature", self.noise)):
            if used and needed not in self.parameters:
                raise ValueError(f"parameters must include {needed!r} for factor={self.factor!r}, noise={self.noise}")
        if len(self.read) != 2 or len(self.update) != 2:
            raise ValueError("read and update must each be two coefficients: (a, b) and (A, B)")
        forms = tuple(Linear.of(c) for c in (*self.read, *self.update))
        for f in forms:
            for k in f.names:
                if k not in self.parameters:
                    raise ValueError(f"a coefficient of {self.name!r} uses {k!r}, which is not in its parameters")
        object.__setattr__(self, "_forms", forms)
        if self.no_fixed_point is None and (self.factor != "one" or self.noise):
            why = "the selection noise" if self.factor != "one" else "the injected noise"
            object.__setattr__(
                self,
                "no_fixed_point",
                f"{self.name} has no fixed point at a constant step: {why} keeps the iterates moving (only a "
                "stationary distribution, which the static equations do not describe)",
            )

    # ------------------------------------------------------------------ parameter values
    def values(self, given: Optional[Mapping[str, float]] = None) -> dict:
        """The method's parameter values: from ``given`` (a mapping), else the parameters' defaults (None
        when a parameter has neither)."""
        given = dict(given or {})
        out: dict = {}
        for p in self.parameters:
            v = given.get(p)
            v = get_parameter(p).default if v is None else v
            out[p] = None if v is None else float(v)
        return out

    def coefficients(self, values=None) -> StepCoefficients:
        """(a, b, A, B) at the parameter ``values`` (a mapping; a number or None is the historical beta)."""
        if values is None or isinstance(values, (int, float, np.floating, np.integer)):
            values = {"beta": 0.0 if values is None else float(values)}
        a, b, A, B = (f(values) for f in self._forms)
        return StepCoefficients(a, b, A, B)

    @property
    def gradient_form(self) -> bool:
        """True when the declaration is plain GD's recursion for every parameter value (a = A = 1, b = B = 0
        as constants): its rate is 1 - eta h_min, set by the lower bulk edge alone."""
        return all(not f.terms for f in self._forms) and self.coefficients({}).gradient_descent

    # ------------------------------------------------------------------ rate
    def rate_polynomial(self, h, eta: float, values=None) -> tuple[np.ndarray, np.ndarray]:
        """(c1, c0) of the characteristic polynomial z^2 - c1 z - c0 of the linearised recursion on a
        Hessian eigenvalue ``h``: c1 = A - eta h a, c0 = B - eta h b (arrays over ``h``)."""
        co = self.coefficients(values)
        h = np.asarray(h, dtype=float)
        return co.A - eta * h * co.a, co.B - eta * h * co.b

    def contraction(self, h, eta: float, values=None) -> np.ndarray:
        """Largest |root| of :meth:`rate_polynomial` at each ``h`` (the per-step contraction of that mode)."""
        c1, c0 = self.rate_polynomial(h, eta, values)
        disc = np.sqrt((c1 * c1 + 4.0 * c0).astype(complex))
        return np.maximum(np.abs(0.5 * (c1 + disc)), np.abs(0.5 * (c1 - disc)))

    # ------------------------------------------------------------------ labels
    def label(self, values: Optional[Mapping[str, float]] = None, latex: bool = True) -> str:
        """``title`` with the parameter values, e.g. ``heavy-ball ($\\beta=0.5$)``."""
        name = self.title or self.name
        if not values:
            return name
        parts = []
        for p in self.parameters:
            v = values.get(p)
            if v is None:
                continue
            sym = get_parameter(p).symbol or p
            parts.append(f"${sym}={v:g}$" if latex else f"{p}={v:g}")
        return f"{name} ({', '.join(parts)})" if parts else name


ALGORITHMS: dict[str, Algorithm] = {}
#: the method of a Problem that names none
DEFAULT_ALGORITHM = "gd"


def register_algorithm(algorithm: Union[str, Algorithm], *, overwrite: bool = False, **fields) -> Algorithm:
    """Register a first-order method: an :class:`Algorithm`, or its name and the fields as keywords (``read``,
    ``update``, ``factor``, ``noise``, ``parameters``, ...); returns the declaration.  Its parameters must be in
    the parameter table already (:func:`sidmft.register_parameter`).  Like every registration it must run in
    each process that uses the method (on Dask workers: at import time of a module the workers import)."""
    if isinstance(algorithm, Algorithm):
        if fields:
            raise TypeError("register_algorithm takes an Algorithm or a name with keyword fields, not both")
        decl = algorithm
    elif isinstance(algorithm, str):
        decl = Algorithm(algorithm, **fields)
    else:
        raise TypeError(f"algorithm must be an Algorithm or a name; got {type(algorithm).__name__}")
    if decl.name in ALGORITHMS and not overwrite:
        raise ValueError(f"algorithm {decl.name!r} is already registered (pass overwrite=True)")
    ALGORITHMS[decl.name] = decl
    return decl


_MOMENTUM = (Linear(1, beta=1), Linear(0, beta=-1))  # A = 1 + beta, B = -beta

for _alg in (
    Algorithm("gd", title="GD", description="gradient descent"),
    Algorithm(
        "heavy-ball",
        update=_MOMENTUM,
        parameters=("beta",),
        title="heavy-ball",
        description="Polyak's heavy-ball momentum: x' = x - eta grad L(x) + beta (x - x_prev)",
    ),
    Algorithm(
        "nesterov",
        read=_MOMENTUM,
        update=_MOMENTUM,
        parameters=("beta",),
        title="Nesterov",
        description="Nesterov's momentum: p = x + beta (x - x_prev), x' = p - eta grad L(p)",
    ),
    Algorithm(
        "sgd",
        factor="bernoulli",
        parameters=("batch",),
        no_fixed_point="mini-batch SGD has no fixed point at a constant step: the selection noise keeps the "
        "iterates moving (only a stationary distribution, which the static equations do not describe)",
        title="SGD",
        description="Bernoulli mini-batch SGD: each sample kept with probability batch, gradient reweighted by 1/batch",
    ),
    Algorithm(
        "langevin",
        noise=True,
        parameters=("temperature",),
        no_fixed_point="Langevin dynamics has no fixed point: the injected noise keeps the iterates moving (only "
        "a stationary distribution, which the static equations do not describe)",
        title="Langevin",
        description="Langevin dynamics: GD plus sqrt(2 eta temperature) N(0, I) noise per step",
    ),
):
    register_algorithm(_alg)


def available_algorithms() -> list[str]:
    """Names of the registered methods, in registration order."""
    return list(ALGORITHMS)


def get_algorithm(name: Union[str, Algorithm]) -> Algorithm:
    """The registered :class:`Algorithm` called ``name`` (ValueError naming the choices otherwise)."""
    if isinstance(name, Algorithm):
        return name
    if name not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {available_algorithms()}; got {name!r}")
    return ALGORITHMS[name]
