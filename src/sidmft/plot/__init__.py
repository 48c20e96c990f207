"""Figures: sweep phase diagrams, theory against simulation, the spectral overlap curve.

Rooms of the package (matplotlib is imported only inside drawing functions, so importing
:mod:`sidmft.plot` stays cheap; numerical modules never import it):

* :mod:`~sidmft.plot.layout` decides what a sweep figure shows (:func:`sweep_layout` ->
  :class:`~sidmft.plot.layout.SweepLayout`); pure, numpy/xarray only, with the data helpers
  of ``_data`` (selections, trajectories' last values, stored alpha_c, titles).
* :mod:`~sidmft.plot.sweep` draws a layout (:func:`plot_sweep`, one function per element).
* :mod:`~sidmft.plot.compare` draws a :class:`~sidmft.comparison.ComparisonResult`
  (:func:`plot_comparison`).
* :mod:`~sidmft.plot.spectral` draws rho^2 against alpha (:func:`plot_overlap`).
* ``_mpl`` holds the matplotlib helpers the three drawing modules share (backend, given axes,
  log ticks, saving).

Imports: ``layout`` and ``_data`` use numpy, xarray, :mod:`sidmft.labels`, :mod:`sidmft.results`
and :mod:`sidmft.problem` only (never matplotlib, never the theory: the threshold alpha_c is
read from the sweep); the drawing modules add matplotlib (inside functions) and
:func:`sidmft.sweep.open_sweep` to read a store.  Nothing numerical imports :mod:`sidmft.plot`.
"""

from __future__ import annotations

from ._data import PlotError, plot_variables
from .compare import plot_comparison
from .layout import SweepLayout, sweep_layout
from .spectral import plot_overlap
from .sweep import plot_sweep

__all__ = [
    "plot_sweep",
    "plot_comparison",
    "plot_overlap",
    "plot_variables",
    "sweep_layout",
    "SweepLayout",
    "PlotError",
]
