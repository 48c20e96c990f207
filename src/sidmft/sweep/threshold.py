"""The spectral weak-recovery threshold alpha_c of every (model, noise, preprocess) in a sweep.

alpha_c (docs/theory.md §1.1: the smallest alpha at which the top eigenvalue of D separates
from the bulk) depends on the model, its noise and the preprocessing only, so it is computed once
per distinct combination present in the grid, with :func:`sidmft.theory.spectral.spectral`, and
stored in the consolidated dataset as ``alpha_c`` (dims: those of model / noise / preprocess
that are grid dimensions; a scalar otherwise).  Where the theory gives no finite threshold
(no alpha passes the transition, sup T = inf, a failure) the value is NaN and the variable's
``message`` attribute says why, per combination.  Nothing here raises.

Imports: numpy, :mod:`sidmft.labels`, :mod:`.spec`; :mod:`sidmft.theory.spectral` lazily.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..labels import obs_label
from .spec import SweepSpec, format_values

__all__ = ["THRESHOLD_PARAMS", "threshold_variable", "alpha_c_of"]

#: the problem fields alpha_c depends on
THRESHOLD_PARAMS = ("model", "noise", "preprocess")


def alpha_c_of(problem) -> tuple[float, str]:
    """(alpha_c, message) of ``problem``'s (model, noise, preprocess): finite, or NaN and why."""
    try:
        from ..theory.spectral import spectral

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = spectral(problem)
        value = float(getattr(res, "alpha_c", math.nan))
    except Exception as e:  # the theory is unavailable or raised: recorded, never raised
        return math.nan, f"spectral theory failed: {type(e).__name__}: {e}"
    if math.isfinite(value):
        return value, ""
    status = getattr(getattr(res, "status", None), "label", "unknown")
    why = "no alpha passes the spectral transition" if value == math.inf else "no threshold"
    return math.nan, f"{why} (alpha_c = {value}; spectral status {status}: {getattr(res, 'message', '')})"


def threshold_variable(spec: SweepSpec) -> tuple[tuple, np.ndarray, dict]:
    """``(dims, values, attrs)`` of the ``alpha_c`` variable of a sweep dataset."""
    dims = tuple(d for d in spec.dims if d in THRESHOLD_PARAMS)
    shape = tuple(len(spec.grid[d]) for d in dims)
    values = np.full(shape, np.nan)
    notes = []
    for sub in np.ndindex(*shape):
        where = dict(zip(dims, sub))
        idx = tuple(where.get(d, 0) for d in spec.dims)  # any point with this combination
        values[sub], msg = alpha_c_of(spec.problem(idx))
        if msg:
            label = format_values({d: spec.grid[d][i] for d, i in where.items()})
            notes.append(f"{label}: {msg}" if label else msg)
    attrs = {
        "long_name": obs_label("alpha_c"),
        "units": "1",
        "description": "weak-recovery threshold of the spectral initialisation for this model, noise and "
        "preprocessing (d -> inf theory); NaN where the theory gives none",
        "message": "; ".join(notes),
    }
    return dims, values, attrs
