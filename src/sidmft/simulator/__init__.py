"""Finite-size simulator of spectral-initialised gradient descent (docs/theory.md §0).

Public API::

    simulate(problem, dim, seeds=1, seed=0, dtype="float64", progress=False, lams=None, etas=None,
             backend="numba", spectral=SpectralInitSettings(...), ...) -> SimulationResult
    generate_data(problem, dim, seed, dtype) -> Data(A, y, z, x_star)
    spectral_init(data, problem, settings=None, **options) -> (v, SpectralInfo)   # ||v||^2 = d, <v, x*> >= 0
    run_gd(data, x0, problem, ...) -> Trajectory                # fused one-read kernel
    run_gd_batch(data, x0, problem, lams, etas) -> Trajectory   # B trajectories, one fused read of A per step

``run_gd`` and ``run_gd_batch`` run ``problem.algorithm`` (gd, heavy-ball, nesterov, sgd, langevin;
see :mod:`sidmft.algorithms`) with the step sizes of ``problem.eta_schedule`` (in a batch, started
from each eta; the method's beta, batch and temperature are shared by the batch).  The random
draws of sgd and Langevin dynamics are ``sgd_factor(seed, t, n, batch)`` and
``langevin_noise(seed, t, d)`` (their own SeedSequence streams), shared by every trajectory of a
batch, so trajectory b of ``run_gd_batch`` is ``run_gd`` with (lams[b], etas[b]) up to rounding.

``Problem(field="complex")`` (complex Wirtinger flow, docs/theory.md §7) runs everything above on complex
data: complex128/complex64 A with rows a_i^H, a_i ~ CN(0, I_d/d), y = f(|a_i^H x*|), the fused kernels of
``simulator/_ckernels.py`` (A^H and g = L'(y, |r|) r/|r|), the Hermitian spectral matrix, every method with
the same real coefficients (real GD on (Re x, Im x); complex Langevin noise xi_re + i xi_im), and the
phase-invariant observables m = |x*^H x|/d, q, cosine, error, training loss, objective, gradient norm and
test error.  The JAX backend runs real data only.
"""

from ._batch import run_gd_batch
from ._data import Data, generate_data, langevin_noise, sgd_factor
from ._gd import Trajectory, run_gd
from ._settings import GDSettings, SimulationSettings, SpectralInitSettings
from ._simulate import initial_point, simulate
from ._spectral import DEFAULT_T_FLOOR, SpectralInfo, spectral_init
from .result import SimulationResult

__all__ = [
    "simulate",
    "generate_data",
    "spectral_init",
    "run_gd",
    "run_gd_batch",
    "initial_point",
    "SimulationResult",
    "Data",
    "Trajectory",
    "SpectralInfo",
    "SpectralInitSettings",
    "GDSettings",
    "SimulationSettings",
    "DEFAULT_T_FLOOR",
    "sgd_factor",
    "langevin_noise",
]
