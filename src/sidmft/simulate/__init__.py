"""Finite-size simulator of spectral-initialised gradient descent (THEORY.md §0).

Public API::

    simulate(problem, dim, seeds=1, seed=0, dtype="float64", progress=False, lams=None, etas=None, ...)
        -> SimulationResult
    generate_data(problem, dim, seed, dtype) -> Data(A, y, z, x_star)
    spectral_init(data, problem, ...) -> (v, SpectralInfo)     # ||v||^2 = d, <v, x*> >= 0
    run_gd(data, x0, problem, ...) -> Trajectory                # fused one-read kernel
    run_gd_batch(data, x0, problem, lams, etas) -> Trajectory   # B trajectories, one fused read of A per step
"""

from ._data import Data, generate_data
from ._gd import Trajectory, run_gd, run_gd_batch
from ._simulate import initial_point, simulate
from ._spectral import DEFAULT_T_FLOOR, SpectralInfo, spectral_init
from .result import SimulationResult

__all__ = ["simulate", "generate_data", "spectral_init", "run_gd", "run_gd_batch", "initial_point",
           "SimulationResult", "Data", "Trajectory", "SpectralInfo", "DEFAULT_T_FLOOR"]


# ``sidmft.simulate`` is both this package and the function (``sidmft.simulate(problem, dim)``,
# see sidmft/__init__.py).  Once the package is imported, Python binds the attribute to the
# module, so make the module itself callable and forward to :func:`simulate`.
import sys as _sys
import types as _types


class _CallableModule(_types.ModuleType):
    def __call__(self, *args, **kwargs):
        return simulate(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
