"""One result family for every solver: status, message, timing, seed, parameters, xarray.

Every solver returns a subclass of :class:`Result` (scipy.optimize's ``OptimizeResult`` idea):
``status`` is a :class:`Status` that is never silent, ``message`` says what happened in words,
``success`` is ``status == Status.SUCCESS``, and ``to_xarray()`` / ``save()`` give a
self-describing file recording the problem, seed, package version and timing.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from ._version import __version__
from .problem import Problem

__all__ = ["Status", "Result", "OBSERVABLES", "Timer"]

#: per-step observables shared by simulation and DMFT (THEORY.md §0 / §2.6)
OBSERVABLES = ("m", "q", "cosine", "error", "train_loss", "objective", "grad_norm", "test_error")


class Status(enum.IntEnum):
    """Outcome of a computation; ``Status.SUCCESS`` is the only silent one."""

    SUCCESS = 0
    DIVERGED = 1          #: GD iterates became non-finite or the objective exceeded its bound
    BLOWUP = 2            #: DMFT Monte-Carlo moments blew up (heavy-tail instability)
    NOT_CONVERGED = 3     #: iteration limit reached before the tolerance
    BELOW_THRESHOLD = 4   #: spectral method has no outlier (no weak recovery)
    NOT_APPLICABLE = 5    #: theory does not cover this problem (e.g. sup T = inf)
    FAILED = 6            #: anything else; see message

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


class Timer:
    """Context manager measuring wall time in seconds (``.seconds``)."""

    def __enter__(self):
        self._t0 = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._t0
        return False


@dataclass
class Result:
    """Common fields of every sidmft result.

    Attributes
    ----------
    problem : Problem
    status : Status
    message : str
    seed : int or None
    timing : dict  -- wall-clock seconds per phase (``total`` always present)
    version : str  -- sidmft version that produced it
    """

    problem: Problem
    status: Status = Status.SUCCESS
    message: str = ""
    seed: Optional[int] = None
    timing: dict = field(default_factory=dict)
    version: str = __version__

    @property
    def success(self) -> bool:
        return self.status == Status.SUCCESS

    def metadata(self) -> dict[str, Any]:
        """Attributes written to every result file."""
        md = {f"problem_{k}": v for k, v in self.problem.to_dict().items()}
        md.update(kind=type(self).__name__, status=self.status.label, status_code=int(self.status),
                  message=self.message, seed=self.seed, sidmft_version=self.version,
                  created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        md.update({f"timing_{k}_s": float(v) for k, v in self.timing.items()})
        return md

    def to_xarray(self):  # pragma: no cover - implemented by subclasses
        raise NotImplementedError

    def save(self, path) -> str:
        """Write ``to_xarray()`` to netCDF (``.nc``) or zarr (``.zarr``); returns the path."""
        from .io import save_dataset

        return save_dataset(self.to_xarray(), path)
