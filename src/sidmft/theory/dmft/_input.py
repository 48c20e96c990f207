"""The engine's typed input and output: one frozen description of a DMFT batch solve, and what a batch returns.

:class:`EngineInput` is built once from a :class:`~sidmft.Problem` (and the spectral stage) by
:func:`sidmft.theory.dmft.dmft`; every batch (local thread, Dask task) reads it and nothing else.  Its parts:

* :class:`MethodSteps` -- the first-order method resolved for this run: the coefficients (a, b, A, B) of its
  declaration (docs/theory.md §6.1), the step sizes eta_t and Langevin widths sigma_t (length steps + 1: the extra
  last step only serves the gradient norm at t = steps) and the Bernoulli rate of SGD's per-sample factor;
* the start, one of :class:`SpectralStart` (§1.2: rho, R_S, kappa, Sigma(S,S) and T), :class:`LinearStart`
  (§6.6: kappa, T, E[T z], E[T^2]) or :class:`RandomStart` (§2.7: m0, q0).

:class:`BatchOutput` is what one batch returns (kernels, observables' raw material, diagnostics); it owns its
checkpoint encoding (:meth:`BatchOutput.arrays` / :meth:`BatchOutput.from_arrays`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Optional, Union

import numpy as np

from ._hybrid import DEFAULT_WINDOW

__all__ = ["MethodSteps", "SpectralStart", "LinearStart", "RandomStart", "EngineInput", "BatchOutput", "method_steps"]


@dataclass(frozen=True, eq=False)
class MethodSteps:
    """A first-order method resolved for one run (see the module docstring)."""

    coef: tuple[float, float, float, float]
    etas: np.ndarray
    sigmas: np.ndarray
    batch: Optional[float] = None
    #: measure the gradient norm with a probe field even where the coefficients give it (a check)
    force_probe: bool = False

    @property
    def noise(self) -> bool:
        """True when Langevin noise is injected (one xi column per step is then carried)."""
        return bool(np.any(self.sigmas > 0))

    @property
    def reads_iterate(self) -> bool:
        """p^t = x^t (a = 1, b = 0)."""
        return self.coef[0] == 1.0 and self.coef[1] == 0.0

    @property
    def simple(self) -> bool:
        """The GD form: p^t = x^t and a one-step update (A = 1, B = 0)."""
        return self.reads_iterate and self.coef[2] == 1.0 and self.coef[3] == 0.0

    @property
    def probe(self) -> bool:
        """True when the full-batch gradient norm at x^t needs a probe field (docs/theory.md §6.7)."""
        return self.force_probe or not (self.reads_iterate and self.batch is None)

    @classmethod
    def gd(cls, eta: float, steps: int) -> MethodSteps:
        """Plain GD at the constant step ``eta``."""
        return cls((1.0, 0.0, 1.0, 0.0), np.full(steps + 1, float(eta)), np.zeros(steps + 1))


def method_steps(problem) -> MethodSteps:
    """The :class:`MethodSteps` of ``problem`` (its algorithm's declaration at its parameter values)."""
    alg, values = problem.algorithm_obj, problem.method_values
    co = alg.coefficients(values)
    etas = np.asarray(problem.etas(), dtype=np.float64)
    last = etas[-1] if problem.steps > 0 else float(problem.eta)
    etas = np.concatenate([etas, [last]])
    tau = float(values["temperature"]) if alg.noise else 0.0
    batch = float(values["batch"]) if alg.factor == "bernoulli" and float(values["batch"]) < 1.0 else None
    return MethodSteps((co.a, co.b, co.A, co.B), etas, np.sqrt(2.0 * etas * tau), batch)


@dataclass(frozen=True, eq=False)
class SpectralStart:
    """x^0 = kappa v, v the spectral vector (docs/theory.md §1.2-§1.3, §2.5)."""

    rho: float
    R_S: float
    kappa: float
    Sigma_SS: float
    preprocess: Any


@dataclass(frozen=True, eq=False)
class LinearStart:
    """x^0 = kappa sqrt(d) u/||u||, u = A^T T(y) (docs/theory.md §6.6), with E[T z] and E[T^2] by quadrature."""

    kappa: float
    preprocess: Any
    mu_L: float
    ET2_L: float


@dataclass(frozen=True, eq=False)
class RandomStart:
    """x^0 = m0 x* + sqrt(q0 - m0^2) xi, xi independent of the data (docs/theory.md §2.7)."""

    m0: float
    q0: float


Start = Union[SpectralStart, LinearStart, RandomStart]


@dataclass(frozen=True, eq=False)
class EngineInput:
    """Everything one batch solve reads (see the module docstring)."""

    steps: int
    alpha: float
    lam: float
    loss: Any
    model: Any
    method: MethodSteps
    start: Start
    responses: str = "pathwise"
    window: int = DEFAULT_WINDOW
    field: str = "real"

    @property
    def mode(self) -> str:
        """``"spectral"``, ``"linear"`` or ``"random"``."""
        if isinstance(self.start, SpectralStart):
            return "spectral"
        return "linear" if isinstance(self.start, LinearStart) else "random"


@dataclass(eq=False)
class BatchOutput:
    """What one batch returns (internal index conventions of :mod:`sidmft.theory.dmft._core`)."""

    c: np.ndarray
    Rx: np.ndarray
    Sig: np.ndarray
    Rg: np.ndarray
    mu: np.ndarray
    Cx: np.ndarray
    Cv: np.ndarray
    train: np.ndarray
    grad_norm: np.ndarray
    maxr: np.ndarray
    blowup_step: Optional[int]
    min_schur: float
    #: per step, (largest single path, sum over paths) of |g|^2 (the Gram diagonal) and of |l| (the training loss):
    #: the heavy-tail diagnostic of :mod:`sidmft.theory.dmft._assemble` (arrays (2, steps + 1))
    tail_g2: Optional[np.ndarray] = None
    tail_loss: Optional[np.ndarray] = None

    _SCALARS = ("blowup_step", "min_schur")

    def arrays(self) -> dict:
        """The checkpoint encoding: plain arrays (blowup_step -1 when None)."""
        out = {
            f.name: np.asarray(getattr(self, f.name))
            for f in fields(self)
            if f.name not in self._SCALARS and getattr(self, f.name) is not None
        }
        out["blowup_step"] = np.array(-1 if self.blowup_step is None else int(self.blowup_step))
        out["min_schur"] = np.array(float(self.min_schur))
        return out

    @classmethod
    def from_arrays(cls, z) -> BatchOutput:
        """Inverse of :meth:`arrays` (``z`` a mapping such as an open ``.npz``)."""
        kw: dict = {f.name: np.array(z[f.name]) for f in fields(cls) if f.name not in cls._SCALARS and f.name in z}
        blow = int(z["blowup_step"])
        return cls(**kw, blowup_step=None if blow < 0 else blow, min_schur=float(z["min_schur"]))
