"""The problem: one frozen, validated description used by every solver.

A :class:`Problem` fixes the model (link + noise), the loss, the preprocessing T of the
spectral initialisation, the sample ratio alpha = n/d, the ridge lam, the step size eta,
the horizon ``steps`` and the initialisation.  Conventions are docs/theory.md §0:

    L(x) = (1/alpha) sum_i l(y_i, <a_i, x>) + (lam/2)||x||^2,  a_i ~ N(0, I_d/d), ||x*||^2 = d,
    x^{t+1} = x^t - eta * grad L(x^t),   x^0 = kappa * v  (spectral, ||v||^2 = d).

The first-order method (``algorithm``: gd, heavy-ball, nesterov, sgd, langevin, with ``beta``,
``batch``, ``temperature``) and the step sizes (``eta_schedule``) are described declaratively by
:mod:`sidmft.algorithms`; GD at a constant step is the default.

The simulator (:mod:`sidmft.simulator`), the spectral theory, the DMFT and the fixed point
all take the same ``Problem``, so theory and experiment are compared without glue.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import numpy as np

from .algorithms import ALGORITHMS, DEFAULT_ALGORITHM, Algorithm, StepSchedule, get_algorithm
from .losses import DEFAULT_LOSS, Loss, get_loss
from .models import DEFAULT_MODEL, Model, get_model
from .parameters import get_parameter
from .preprocess import Preprocessing, get_preprocessing

__all__ = ["Problem", "INITS", "FIELDS"]

INITS = ("spectral", "random", "given", "linear")
#: number fields: real signals and designs, or complex ones (complex Wirtinger flow, docs/theory.md §7)
FIELDS = ("real", "complex")

#: fields that define the problem (recorded in every result file)
_BASE_FIELDS = (
    "model",
    "noise",
    "loss",
    "preprocess",
    "alpha",
    "lam",
    "eta",
    "steps",
    "init",
    "kappa",
    "m0",
    "q0",
    "field",
)
#: fields of the first-order method (sidmft.algorithms); ``params`` holds the values of a method's own
#: parameters that have no field (e.g. a registered method's ``delta``)
ALGORITHM_FIELDS = ("algorithm", "beta", "batch", "temperature", "eta_schedule", "params")
#: method parameters with a field of their own
_PARAMETER_FIELDS = ("beta", "batch", "temperature")
PROBLEM_FIELDS = _BASE_FIELDS + ALGORITHM_FIELDS


def _check_number(name, value):
    """``value`` validated against the parameter table (:mod:`sidmft.parameters`) entry ``name``."""
    return get_parameter(name).check(value)


def _mean_label(model: Model) -> float:
    """E[y] by the label-moment quadrature of the theory (graded Gauss-Legendre in z, split at the
    kinks of the link, so kinked links such as relu are integrated to ~1e-12, not O(1/nodes))."""
    from .quadrature import moment_rule

    rule = moment_rule(model)
    return float(rule.W[:, 0] @ rule.y)


@dataclass(frozen=True)
class Problem:
    """Frozen, validated description of a single-index learning problem.

    Parameters
    ----------
    model : str or Model
        Registered model name (``phase-retrieval``, ``linear``, ``relu``, ``logistic`` or a
        user's, see :func:`sidmft.register_model`).
    noise : float
        Noise level >= 0 (additive std sigma; temperature for ``logistic``).
    loss : str or Loss
        Registered loss (``intensity``, ``amplitude``, ``square``, ``logistic``).
    preprocess : str or Preprocessing, optional
        Preprocessing T (``lal``, ``mm``, ``clip:C``, ``trim:C``, ``identity``) of the spectral
        matrix, or of u = A^T T(y) for ``init="linear"``.  Default ``lal`` (``identity`` for
        ``init="linear"``).
    alpha : float
        Sample ratio n/d > 0.
    lam : float
        Ridge penalty >= 0.
    eta : float
        GD step size > 0.
    steps : int
        Number of GD steps >= 0.
    init : {"spectral", "random", "given", "linear"}
        ``spectral``: x0 = kappa * v; ``random``: x0 independent of the data with overlap
        ``m0`` and squared norm ``q0``; ``given``: the vector ``x0`` (simulation only);
        ``linear``: x0 = kappa sqrt(d) u/||u||, u = A^T T(y) (T defaults to the identity;
        docs/theory.md §6.6).
    kappa : float or "empirical"
        Norm of the spectral start (||x0||^2/d = kappa^2); ``"empirical"`` uses
        sqrt(mean y) (the usual WF estimate): the simulator uses the sample mean of y, the
        theory E[y] by quadrature.  Needs E[y] > 0 (checked here for ``init="spectral"``, so
        e.g. the linear and logistic models, E[y] = 0, raise ValueError).
    m0, q0 : float
        Overlap <x0, x*>/d and squared norm ||x0||^2/d for ``init="random"`` (m0^2 <= q0).
    algorithm : str
        First-order method (:mod:`sidmft.algorithms`): ``gd`` (default), ``heavy-ball``,
        ``nesterov`` (need ``beta``), ``sgd`` (needs ``batch``), ``langevin`` (needs ``temperature``).
    beta : float in [0, 1), optional
        Momentum of ``heavy-ball`` / ``nesterov``.
    batch : float in (0, 1], optional
        Sample fraction b of ``sgd`` (each sample kept with probability b, gradient reweighted by 1/b).
    temperature : float >= 0, optional
        Temperature tau of ``langevin`` (noise sqrt(2 eta_t tau) xi^t).
    eta_schedule : str or sequence of float, optional
        Step sizes eta_t (:class:`sidmft.schedules.StepSchedule`): ``None``/``"constant"``,
        ``"step:FACTOR:EVERY"``, ``"cosine:ETA_MIN"`` (both start at ``eta``) or an explicit list of
        ``steps`` step sizes.
    params : mapping, optional
        Values of the method's own parameters that have no field here (a registered method's parameters,
        :func:`sidmft.register_parameter`); the built-in ``beta``, ``batch``, ``temperature`` may be given
        either way.  Parameters with a default may be left out.
    field : {"real", "complex"}
        ``"complex"``: complex Gaussian design a_i ~ CN(0, I/d), complex signal, y = f(|a^H x*|), the loss a
        function of |r| (complex Wirtinger flow, docs/theory.md §7).  Needs a model whose label depends on
        |z| only and an even loss (both declared).
    x0 : array, optional
        Initial vector for ``init="given"`` (length d, in the §0 scaling).
    """

    model: Union[str, Model] = DEFAULT_MODEL
    noise: float = 0.0
    loss: Union[str, Loss] = DEFAULT_LOSS
    preprocess: Union[str, Preprocessing, None] = None
    alpha: float = 3.0
    lam: float = 0.1
    eta: float = 0.1
    steps: int = 50
    init: str = "spectral"
    kappa: Union[float, str] = 1.0
    m0: Optional[float] = None
    q0: Optional[float] = None
    algorithm: Union[str, Algorithm] = DEFAULT_ALGORITHM
    beta: Optional[float] = None
    batch: Optional[float] = None
    temperature: Optional[float] = None
    eta_schedule: Union[str, tuple, list, None] = None
    x0: Optional[np.ndarray] = field(default=None, compare=False, repr=False)
    params: Optional[Any] = None
    field: str = "real"

    def __post_init__(self):
        s = object.__setattr__
        s(self, "alpha", _check_number("alpha", self.alpha))
        s(self, "lam", _check_number("lam", self.lam))
        s(self, "eta", _check_number("eta", self.eta))
        s(self, "noise", _check_number("noise", self.noise))
        s(self, "steps", _check_number("steps", self.steps))
        model = get_model(self.model, self.noise)
        if isinstance(self.model, Model):
            s(self, "noise", model.noise)
        loss = get_loss(self.loss)
        if self.init not in INITS:
            raise ValueError(f"init must be one of {list(INITS)}; got {self.init!r}")
        if isinstance(self.kappa, str):
            if self.kappa != "empirical":
                raise ValueError(f"kappa must be a number > 0 or 'empirical'; got {self.kappa!r}")
        else:
            s(self, "kappa", _check_number("kappa", self.kappa))
        if self.init == "random":
            if self.m0 is None or self.q0 is None:
                raise ValueError("init='random' needs m0 (overlap <x0,x*>/d) and q0 (||x0||^2/d)")
            s(self, "q0", _check_number("q0", self.q0))
            m0 = get_parameter("m0").check(self.m0)
            if m0 * m0 > self.q0 * (1 + 1e-12):
                raise ValueError(
                    f"m0 must satisfy m0^2 <= q0 (Cauchy-Schwarz), i.e. |m0| <= {math.sqrt(self.q0):g}; "
                    f"got m0 = {m0!r}, q0 = {self.q0!r}"
                )
            s(self, "m0", m0)
        else:
            for k in ("m0", "q0"):
                if getattr(self, k) is not None:
                    raise ValueError(f"{k} is only used with init='random' (init is {self.init!r})")
        if self.init == "given":
            if self.x0 is None:
                raise ValueError("init='given' needs the vector x0")
            x0 = np.asarray(self.x0, dtype=float)
            if x0.ndim != 1 or not np.all(np.isfinite(x0)):
                raise ValueError("x0 must be a finite 1-D vector")
            s(self, "x0", x0)
        elif self.x0 is not None:
            raise ValueError(f"x0 is only used with init='given' (init is {self.init!r})")
        self._check_algorithm()
        self._check_field(model, loss)
        if self.preprocess is None:
            s(self, "preprocess", "identity" if self.init == "linear" else "lal")
        if self.kappa == "empirical" and self.init in ("spectral", "linear"):
            my = _mean_label(model)
            if not my > 1e-10:
                raise ValueError(
                    f"kappa='empirical' (sqrt(mean y)) needs E[y] > 0; model {model.name!r} with noise "
                    f"{model.noise:g} has E[y] = {my:.3g}: give kappa as a number > 0"
                )
        T = get_preprocessing(self.preprocess, model, self.alpha)
        if self.init == "spectral" and not np.isfinite(T.sup):
            warnings.warn(
                f"preprocess {T.name!r} is unbounded above (sup T = inf): the spectral theory "
                "(sup T < inf) does not apply and the top eigenvector may localise",
                stacklevel=3,
            )
        # resolved objects (not part of equality)
        s(self, "_model", model)
        s(self, "_loss", loss)
        s(self, "_T", T)
        if not isinstance(self.model, str):
            s(self, "model", model.name)
        if not isinstance(self.loss, str):
            s(self, "loss", loss.name)
        if not isinstance(self.preprocess, str):
            s(self, "preprocess", T.name)

    def _check_algorithm(self):
        """Validate the algorithm, its parameters (fields beta, batch, temperature and ``params``) against the
        parameter table, and eta_schedule."""
        s = object.__setattr__
        alg = get_algorithm(self.algorithm)
        s(self, "algorithm", alg.name)
        given = dict(self.params or {})
        for name in _PARAMETER_FIELDS:
            v = getattr(self, name)
            if v is not None and name in given:
                raise ValueError(f"{name} is given twice (as a field and in params)")
            if v is not None:
                given[name] = v
        for name in given:
            if name not in alg.parameters:
                users = [a.name for a in ALGORITHMS.values() if name in a.parameters]
                who = f"algorithm {' or '.join(users)}" if users else "no registered algorithm"
                raise ValueError(f"{name} is only used by {who} (algorithm is {alg.name!r})")
        values = {}
        for name in alg.parameters:
            par = get_parameter(name)
            v = given.get(name, par.default)
            if v is None:
                raise ValueError(f"algorithm={alg.name!r} needs {name} {par.range_text}")
            values[name] = par.check(v)
        for name in _PARAMETER_FIELDS:
            s(self, name, values.get(name) if name in given else None)
        extra = {k: values[k] for k in values if k not in _PARAMETER_FIELDS and k in given}
        s(self, "params", extra or None)
        s(self, "_values", values)
        schedule = StepSchedule.parse(self.eta_schedule)
        schedule.check(self.eta, self.steps)
        s(self, "eta_schedule", schedule.spec)

    def _check_field(self, model: Model, loss: Loss) -> None:
        """field in FIELDS; a complex design needs a model with y = f(|z|) and an even loss."""
        if self.field not in FIELDS:
            raise ValueError(f"field must be one of {list(FIELDS)}; got {self.field!r}")
        if self.field != "complex":
            return
        if not model.even:
            raise ValueError(
                f"field='complex' needs a model whose label depends on |z| only (y = f(|a^H x*|)); model "
                f"{model.name!r} is not even (a real signal measured through a complex design is not covered)"
            )
        loss.check_complex()
        if self.init == "given":
            raise ValueError(
                "field='complex' with init='given' is not supported (give a real start or use another init)"
            )

    @property
    def method_values(self) -> dict:
        """The method's parameter values, {name: value} (defaults filled in)."""
        return dict(self.__dict__["_values"])

    # -- resolved objects ----------------------------------------------------------
    @property
    def algorithm_obj(self) -> Algorithm:
        """The registered :class:`~sidmft.algorithms.Algorithm` of ``algorithm``."""
        return get_algorithm(self.algorithm)

    @property
    def schedule(self) -> StepSchedule:
        """The :class:`~sidmft.algorithms.StepSchedule` of ``eta_schedule``."""
        return StepSchedule.parse(self.eta_schedule)

    def etas(self, eta: Optional[float] = None, steps: Optional[int] = None) -> np.ndarray:
        """eta_t for t = 0..steps-1 (``eta``/``steps`` default to the problem's)."""
        return self.schedule.etas(self.eta if eta is None else float(eta), self.steps if steps is None else int(steps))

    @property
    def model_obj(self) -> Model:
        """The resolved :class:`~sidmft.models.Model` (noise bound in)."""
        model: Model = self.__dict__["_model"]
        return model

    @property
    def loss_obj(self) -> Loss:
        loss: Loss = self.__dict__["_loss"]
        return loss

    @property
    def T(self) -> Preprocessing:
        """The resolved preprocessing (callable: ``problem.T(y)``)."""
        T: Preprocessing = self.__dict__["_T"]
        return T

    def kappa_value(self, y: Optional[np.ndarray] = None) -> float:
        """kappa as a number: sqrt(mean y) on data ``y`` (or sqrt(E[y]) by quadrature) if 'empirical'."""
        if not isinstance(self.kappa, str):
            return float(self.kappa)
        my = float(np.mean(y)) if y is not None else _mean_label(self.model_obj)
        if not my > 0:
            raise ValueError(f"kappa='empirical' needs mean(y) > 0; got {my:g} for model {self.model!r}")
        return math.sqrt(my)

    # -- conversions ----------------------------------------------------------------
    def replace(self, **changes) -> Problem:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of the defining fields (x0 is not included).  The fields of the method
        (``ALGORITHM_FIELDS``) appear only where they differ from plain GD at a constant step, so the
        description (and every hash of it) of a GD problem does not grow with the method table."""
        d = {k: getattr(self, k) for k in _BASE_FIELDS}
        d.update({k: getattr(self, k) for k in ALGORITHM_FIELDS if getattr(self, k) not in (None, DEFAULT_ALGORITHM)})
        if "params" in d:
            d["params"] = dict(sorted(d["params"].items()))
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Problem:
        return cls(**{k: d[k] for k in PROBLEM_FIELDS if k in d and d[k] is not None})

    def __hash__(self):
        return hash(tuple((k, tuple(v.items()) if isinstance(v, dict) else v) for k, v in self.to_dict().items()))
