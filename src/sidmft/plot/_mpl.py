"""Small matplotlib helpers shared by the figures (matplotlib is imported inside each function)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["pyplot", "given_axes", "log_axis", "save"]


def pyplot(headless: bool):
    """``matplotlib.pyplot``, switched to the Agg backend first when the figure only goes to a file."""
    import matplotlib

    if headless:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def given_axes(ax, n: int, error: str, exc=ValueError):
    """(figure, flat array of axes) from a caller's axes; raise ``exc(error)`` unless there are ``n``."""
    axes = np.ravel(np.asarray(ax, dtype=object))
    if axes.size != n:
        raise exc(error.format(got=axes.size))
    return axes[0].figure, axes


def log_axis(axis) -> None:
    """Log scale with plain-number tick labels (1, 2, 5 per decade; no minor labels)."""
    from matplotlib import ticker

    axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def save(fig, path, dpi: int, mkdir: bool = False) -> None:
    """Write ``fig`` to ``path`` (format from the extension), creating its folder when ``mkdir``."""
    if mkdir:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
