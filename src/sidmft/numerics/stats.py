"""Statistics over independent replicas (simulation seeds, DMFT batches)."""

from __future__ import annotations

import numpy as np

__all__ = ["standard_error"]


def standard_error(values, axis: int = 0):
    """Standard error of the mean over ``axis``: ``std(ddof=1) / sqrt(n)``; NaN when n < 2.

    Returns a float for 1-D input, else an array without ``axis``.

    Examples
    --------
    >>> standard_error([1.0, 2.0, 3.0, 4.0])   # sd 1.29..., / sqrt(4)
    0.6454972243679028
    >>> standard_error([5.0])
    nan
    """
    a = np.asarray(values, dtype=float)
    n = a.shape[axis] if a.ndim else 1
    if n < 2:
        out = np.full(np.delete(a.shape, axis) if a.ndim else (), np.nan)
    else:
        out = np.std(a, axis=axis, ddof=1) / np.sqrt(n)
    return float(out) if np.ndim(out) == 0 else out
