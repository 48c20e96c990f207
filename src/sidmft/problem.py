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

from .algorithms import ALGORITHMS, PARAMETERS, Algorithm, StepSchedule, get_algorithm
from .losses import Loss, get_loss
from .models import Model, get_model
from .preprocess import Preprocessing, get_preprocessing

__all__ = ["Problem", "INITS"]

INITS = ("spectral", "random", "given", "linear")

#: fields that define the problem (recorded in every result file)
_BASE_FIELDS = ("model", "noise", "loss", "preprocess", "alpha", "lam", "eta", "steps", "init", "kappa", "m0", "q0")
#: fields of the first-order method (sidmft.algorithms)
ALGORITHM_FIELDS = ("algorithm", "beta", "batch", "temperature", "eta_schedule")
PROBLEM_FIELDS = _BASE_FIELDS + ALGORITHM_FIELDS


def _check_number(name, value, lo=None, hi=None, lo_open=False, integer=False):
    try:
        v = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a {'whole ' if integer else ''}number; got {value!r}") from None
    if integer and float(value) != v:
        raise ValueError(f"{name} must be a whole number; got {value!r}")
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite; got {value!r}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        rng = f"{'>' if lo_open else '>='} {lo}"
        if hi is not None:
            rng += f" and <= {hi}"
        raise ValueError(f"{name} must be {rng}; got {value!r}")
    if hi is not None and v > hi:
        raise ValueError(f"{name} must be <= {hi}; got {value!r}")
    return v


def _mean_label(model: Model) -> float:
    """E[y] by the label-moment quadrature of the theory (graded Gauss-Legendre in z, split at the
    kinks of the link, so kinked links such as relu are integrated to ~1e-12, not O(1/nodes))."""
    from .numerics.quadrature import moment_rule

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
        Step sizes eta_t (:class:`sidmft.algorithms.StepSchedule`): ``None``/``"constant"``,
        ``"step:FACTOR:EVERY"``, ``"cosine:ETA_MIN"`` (both start at ``eta``) or an explicit list of
        ``steps`` step sizes.
    x0 : array, optional
        Initial vector for ``init="given"`` (length d, in the §0 scaling).
    """

    model: Union[str, Model] = "phase-retrieval"
    noise: float = 0.0
    loss: Union[str, Loss] = "intensity"
    preprocess: Union[str, Preprocessing, None] = None
    alpha: float = 3.0
    lam: float = 0.1
    eta: float = 0.1
    steps: int = 50
    init: str = "spectral"
    kappa: Union[float, str] = 1.0
    m0: Optional[float] = None
    q0: Optional[float] = None
    algorithm: Union[str, Algorithm] = "gd"
    beta: Optional[float] = None
    batch: Optional[float] = None
    temperature: Optional[float] = None
    eta_schedule: Union[str, tuple, list, None] = None
    x0: Optional[np.ndarray] = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        s = object.__setattr__
        s(self, "alpha", _check_number("alpha", self.alpha, 0, lo_open=True))
        s(self, "lam", _check_number("lam", self.lam, 0))
        s(self, "eta", _check_number("eta", self.eta, 0, lo_open=True))
        s(self, "noise", _check_number("noise", self.noise, 0))
        s(self, "steps", _check_number("steps", self.steps, 0, 10**7, integer=True))
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
            s(self, "kappa", _check_number("kappa", self.kappa, 0, lo_open=True))
        if self.init == "random":
            if self.m0 is None or self.q0 is None:
                raise ValueError("init='random' needs m0 (overlap <x0,x*>/d) and q0 (||x0||^2/d)")
            s(self, "q0", _check_number("q0", self.q0, 0, lo_open=True))
            m0 = _check_number("m0", self.m0)
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
        """Validate algorithm, its parameters (beta, batch, temperature) and eta_schedule."""
        s = object.__setattr__
        alg = get_algorithm(self.algorithm)
        s(self, "algorithm", alg.name)
        for name, allowed in PARAMETERS.items():
            v = getattr(self, name)
            if name not in alg.parameters:
                if v is not None:
                    users = [a.name for a in ALGORITHMS.values() if name in a.parameters]
                    raise ValueError(
                        f"{name} is only used by algorithm {' or '.join(users)} (algorithm is {alg.name!r})"
                    )
                continue
            if v is None:
                raise ValueError(f"algorithm={alg.name!r} needs {allowed}")
            v = _check_number(name, v)
            bad = {"beta": not 0 <= v < 1, "batch": not 0 < v <= 1, "temperature": v < 0}[name]
            if bad:
                raise ValueError(f"{name} must be {allowed.split(' ', 1)[1]}; got {v!r}")
            s(self, name, v)
        schedule = StepSchedule.parse(self.eta_schedule)
        schedule.check(self.eta, self.steps)
        s(self, "eta_schedule", schedule.spec)

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
        """Plain JSON-able dict of the defining fields (x0 is not included).  The fields of the
        method (``ALGORITHM_FIELDS``) appear only where they differ from plain GD at a constant step,
        so the description (and every hash of it, e.g. sweep point seeds) of a GD problem is as before."""
        d = {k: getattr(self, k) for k in _BASE_FIELDS}
        d.update({k: getattr(self, k) for k in ALGORITHM_FIELDS if getattr(self, k) not in (None, "gd")})
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Problem:
        return cls(**{k: d[k] for k in PROBLEM_FIELDS if k in d and d[k] is not None})

    def __hash__(self):
        return hash(tuple(self.to_dict().items()))
