"""Parameter sweeps on Dask: a Cartesian grid of problems, each point computing chosen outputs.

A sweep is a grid over any problem field (``model, noise, loss, preprocess, alpha, lam, eta,
steps, kappa, init, m0, q0``) and run setting (``dim, seeds`` for the simulator, ``samples,
batches`` for the DMFT).  Every grid point is one :class:`~sidmft.Problem` (docs/theory.md §0
conventions) for which the chosen *outputs* are computed:

``spectral``     d -> inf spectral initialisation (docs/theory.md §1.1): alpha_c, rho, rho^2, top
                 eigenvalue, bulk edge, passed.
``dmft``         d -> inf GD trajectory (docs/theory.md §2): final observables with Monte-Carlo
                 standard errors, and the whole trajectory over ``t``.
``fixed-point``  long-time limit (m, q, cosine, error, train loss, gamma, h_min, rate, residual).
``simulate``     finite-size GD (``dim``, ``seeds``): final observables mean/se over seeds, the
                 trajectory, the spectral overlap and top eigenvalue.
``module:func``  a user function ``func(problem, settings, seed) -> dict`` of scalars and
                 1-D arrays over ``t`` (importable on the workers).

Store layout (a directory; every file is written atomically by the *client*)::

    STORE/sweep.json          the sweep specification (grid, fixed parameters, outputs, seed)
    STORE/points/<key>.nc     one netCDF per finished point (parameters, seeds, version, timing)
    STORE/journal.jsonl       append-only log: one "point" line per computed point, "start"/"end"
    STORE/results.zarr        consolidated dataset, one dimension per grid parameter
                              (rebuilt at the end of a run and on demand by :func:`open_sweep`)

Stored variables (``results.zarr``, dims = the grid parameters in ``--grid`` order, plus ``t``):
``<output>_<name>`` with ``<output>`` in ``spectral, dmft, fixed_point, simulate`` (or the custom
function's name); final-time observables ``dmft_error``, ``dmft_error_se``, trajectories
``dmft_error_t``, ``dmft_error_se_t`` (NaN-padded to the longest ``steps``), the same for
``simulate_*`` (mean / standard error over seeds) and ``simulate_spectral_overlap``; spectral
``spectral_alpha_c, _rho, _rho_sq, _top_eigenvalue, _bulk_edge, _passed``; fixed point
``fixed_point_m, _q, _error, _rate, ...``; ``<output>_status`` (a :class:`~sidmft.Status` code,
-1 = not computed; not an exit code), ``<output>_raised`` (1 where the output raised an exception,
0 where it returned its status, -1 = not computed), ``<output>_seed``, ``finished`` and
``point_time_s``.  A returned status other than success (below-threshold, a fixed point with no
solution, ...) is data; only an exception (a bug) or a point that could not be computed is an
error.  Whatever the outputs, ``alpha_c`` is the spectral weak-recovery threshold (docs/theory.md §1.1) of each (model,
noise, preprocess) of the grid, computed once per combination when the dataset is assembled:
its dims are those of ``model, noise, preprocess`` that are grid dimensions (a scalar if none
is); it is NaN where the theory gives no finite threshold or fails, and its ``message``
attribute then says why.  Plots draw it as the threshold curve.

A point is finished iff its point file exists.  Re-running the same sweep skips finished
points, so a sweep killed at any moment (even SIGKILL) loses at most the points in flight,
and the journal proves that no finished point is computed again.  Each point's seeds are
derived from its own parameters (``numpy.random.SeedSequence`` of a SHA-256 of the canonical
parameter dict, the output name and the base seed), so stored numbers do not depend on the
number of workers or on the completion order.

Package layout (each module imports only those listed before it, and :mod:`sidmft.io`,
:mod:`sidmft.labels`, :mod:`sidmft.problem`, :mod:`sidmft.results`, :mod:`sidmft.numerics`):

``grid``       parameter names, value parsing (``NAME=V1,V2`` / ``START:STOP:NUM[:log]``), TOML files
``outputs``    the :class:`~sidmft.sweep.outputs.Output` registry (solvers imported lazily)
``spec``       the frozen :class:`SweepSpec`, point keys and seeds
``point``      :func:`compute_point`, the worker side
``store``      :class:`Store`: files, journal, lock
``threshold``  alpha_c per (model, noise, preprocess)
``dataset``    :func:`build_dataset`, :func:`consolidate`, :func:`open_sweep`, :func:`sweep_info`
``runner``     :func:`run_sweep` on Dask
"""

from __future__ import annotations

from ..labels import PARAM_LABELS as PARAM_LABELS  # kept for the plotting code; lives in sidmft.labels
from .dataset import build_dataset, consolidate, open_sweep, sweep_info
from .grid import (
    GRID_PARAMS,
    RUN_SETTINGS,
    SETTINGS_USED_BY,
    SweepError,
    load_config,
    parse_grid,
    parse_grid_item,
    parse_values,
)
from .outputs import OUTPUTS, Output, resolve_outputs
from .point import compute_point
from .runner import run_sweep
from .spec import SweepSpec, point_seed
from .store import FORMAT, FORMAT_VERSION, Store, prepare_store
from .threshold import threshold_variable

__all__ = [
    "SweepSpec",
    "OUTPUTS",
    "GRID_PARAMS",
    "RUN_SETTINGS",
    "parse_grid",
    "parse_grid_item",
    "parse_values",
    "load_config",
    "run_sweep",
    "open_sweep",
    "consolidate",
    "build_dataset",
    "sweep_info",
    "compute_point",
    "point_seed",
    "SweepError",
    "Store",
    "prepare_store",
    "resolve_outputs",
    "Output",
    "SETTINGS_USED_BY",
    "FORMAT",
    "FORMAT_VERSION",
    "threshold_variable",
]
