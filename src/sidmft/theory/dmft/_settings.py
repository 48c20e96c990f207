"""Monte-Carlo settings of the DMFT (:func:`sidmft.theory.dmft.dmft`): one frozen, validated object."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ._core import SCORES
from ._hybrid import DEFAULT_WINDOW
from ._ibp import RESPONSES

__all__ = ["DMFTSettings", "KERNELS", "PRECISIONS", "RESPONSES", "HYBRID_FROM_STEPS"]

#: ``responses="auto"`` uses the hybrid estimator (O(M T^2)) from this horizon on, the exact pathwise one
#: (O(M T^3)) below it, where it is cheap: at T = 200 it costs 1.3-1.7x the hybrid one (measured, same
#: standard errors), at T = 1000 6x (docs/theory.md §4.3; benchmarks/bench_dmft_long.py)
HYBRID_FROM_STEPS = 300

KERNELS = ("auto", "numba", "numpy")
PRECISIONS = ("float32", "float64")


def _whole(name: str, value) -> int:
    """``value`` as an int if it is a whole number (an int, or an integral float), else ValueError."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        and not (isinstance(value, float) and value.is_integer())
    ):
        raise ValueError(f"{name} must be a whole number; got {value!r}")
    return int(value)


@dataclass(frozen=True)
class DMFTSettings:
    """Monte-Carlo settings of :func:`dmft`, validated once on construction.

    Parameters
    ----------
    samples : int
        Total number of Monte-Carlo paths (>= 50 per batch).  The ``samples`` paths are split into
        ``batches`` *independent full solves* of samples // batches paths each; batch b uses the
        stream ``SeedSequence(seed, spawn_key=(b,))``, so its result does not depend on the number
        of batches or on how they are scheduled.
    batches : int
        Number of independent solves B (>= 1); the standard errors are their spread / sqrt(B).
    scores : {"lhs-orth", "lhs", "iid"}
        Variance reduction of the normal scores (:func:`sidmft.theory.dmft._core.normal_scores`).
    precision : {"float32", "float64"}
        Storage of the per-path histories (normal scores, g^t, l''^t) and arithmetic of the reverse
        sweep; every average is accumulated in float64 and the parameter side is float64.  float32
        (default) is ~2x faster (T = 200, M = 2e4: 1.1-1.4 s against 2.3-2.6 s on 2 cores); its effect
        on the observables was measured at <= 1e-7 (PR, T = 40; linear model, T = 100), four orders of
        magnitude below the Monte-Carlo error.
    kernel : {"auto", "numba", "numpy"}
        Hot loops: numba (``"auto"``, unless the environment variable ``SIDMFT_DMFT_KERNEL=numpy``)
        or the plain numpy reference (slow; for checking).
    threads : int, optional
        Threads (>= 1; default: numba's thread count).  With >= 2 batches the batches run
        concurrently, one single-threaded solve per thread (no per-step synchronisation, robust on
        busy machines); with one batch the kernels are path-parallel.  Results depend on
        ``threads`` only at the rounding level (~1e-13).
    responses : {"auto", "pathwise", "ibp", "hybrid"}
        Estimator of the responses R_g(t, .) = E[d g^t / d w] (docs/theory.md §2.4, §4.3, §6.8).
        ``"pathwise"``: exact reverse mode along each path, E[l'' dr^t/dw]; needs l' continuous (a
        jump of l' puts a delta in l'' that no path sees); O(M T^3) for T steps.  ``"hybrid"``: the
        same derivative, exact in the last ``window`` steps and by an unbiased random-probe tangent
        for older ones; O(M T^2 + M T window^2), for long horizons.  ``"ibp"``: Gaussian integration
        by parts, R_g = K^{-1} E[(z, w) g^t] with K the inputs' covariance; exact for any l' (jumps
        included), O(M T^2), larger Monte-Carlo variance at late times.  ``"auto"`` (default): ibp
        when l' jumps at r = 0, else pathwise below ``HYBRID_FROM_STEPS`` steps and hybrid from there.
    window : int
        Window W (>= 1) of the hybrid estimator (default 32); W >= T gives the pathwise responses.

    Raises
    ------
    ValueError
        Naming the parameter and its allowed values.

    Examples
    --------
    >>> s = DMFTSettings(samples=2000, batches=4)
    >>> s.paths_per_batch
    500
    """

    samples: int = 20000
    batches: int = 4
    scores: str = "lhs-orth"
    precision: str = "float32"
    kernel: str = "auto"
    threads: Optional[int] = None
    responses: str = "auto"
    window: int = DEFAULT_WINDOW

    def __post_init__(self):
        samples, batches = _whole("samples", self.samples), _whole("batches", self.batches)
        if batches < 1:
            raise ValueError(f"batches must be >= 1; got {batches}")
        if samples < 1 or samples // batches < 50:
            raise ValueError(
                f"samples must be >= 50 * batches (at least 50 paths per batch); got samples={samples}, "
                f"batches={batches}"
            )
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {list(KERNELS)}; got {self.kernel!r}")
        if self.scores not in SCORES:
            raise ValueError(f"scores must be one of {list(SCORES)}; got {self.scores!r}")
        if self.responses not in RESPONSES:
            raise ValueError(f"responses must be one of {list(RESPONSES)}; got {self.responses!r}")
        window = _whole("window", self.window)
        if window < 1:
            raise ValueError(f"window must be >= 1; got {window}")
        object.__setattr__(self, "window", window)
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be 'float64' or 'float32'; got {self.precision!r}")
        threads = self.threads
        if threads is not None and (
            isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1
        ):
            raise ValueError(f"threads must be an integer >= 1 or None; got {threads!r}")
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "batches", batches)
        if threads is not None:
            object.__setattr__(self, "threads", int(threads))

    @property
    def paths_per_batch(self) -> int:
        """Paths of each independent solve, samples // batches."""
        return self.samples // self.batches

    @property
    def paths_used(self) -> int:
        """Paths actually solved, paths_per_batch * batches (<= samples)."""
        return self.paths_per_batch * self.batches

    def resolved_kernel(self) -> str:
        """``"numba"`` or ``"numpy"`` (``"auto"`` reads ``SIDMFT_DMFT_KERNEL``, default numba)."""
        if self.kernel != "auto":
            return self.kernel
        return "numba" if os.environ.get("SIDMFT_DMFT_KERNEL", "numba") != "numpy" else "numpy"

    def resolved_responses(self, grad_jumps: bool, n_steps: int = 0, field: str = "real") -> str:
        """``"pathwise"``, ``"hybrid"`` or ``"ibp"``: ``"auto"`` is ibp when l' jumps (``grad_jumps``), else
        pathwise for fewer than ``HYBRID_FROM_STEPS`` steps and hybrid from there (real fields; complex fields
        have no hybrid estimator and take ibp there)."""
        if self.responses != "auto":
            return self.responses
        if grad_jumps:
            return "ibp"
        if n_steps >= HYBRID_FROM_STEPS:
            return "hybrid" if field == "real" else "ibp"
        return "pathwise"
