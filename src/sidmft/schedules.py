"""Step-size schedules eta_t of the first-order methods (``Problem.eta_schedule``).

``None``/``"constant"`` (eta_t = eta), ``"step:FACTOR:EVERY"`` (eta_t = eta FACTOR^floor(t / EVERY)),
``"cosine:ETA_MIN"`` (eta_t = ETA_MIN + (eta - ETA_MIN)(1 + cos(pi t / steps))/2) or an explicit list of
``steps`` positive numbers (eta_t = list[t]; ``eta`` is then not used).

This module imports numpy only (problem room).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["StepSchedule"]


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
