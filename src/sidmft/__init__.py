"""sidmft: exact high-dimensional behaviour of spectral-initialised gradient descent for
single index models, next to fast finite-size simulation.

Public namespace::

    Problem                      frozen, validated problem description
    register_model / register_loss / register_preprocessing / Preprocessing
    simulate(problem, dim, ...)  finite-size two-stage algorithm
    spectral(problem)            d -> inf spectral initialisation (sidmft.theory.spectral)
    dmft(problem, ...)           d -> inf GD trajectory (sidmft.theory.dmft)
    fixed_point(problem, ...)    long-time limit and rate (sidmft.theory.fixed_point)
    compare(problem, ...)        theory next to simulation
"""

from ._version import __version__
from .losses import Loss, available_losses, get_loss, register_loss
from .models import Model, AdditiveModel, BinaryModel, available_models, get_model, register_model
from .preprocess import Preprocessing, get_preprocessing, register_preprocessing
from .problem import Problem
from .results import OBSERVABLES, Result, Status

__all__ = [
    "__version__", "Problem", "Status", "Result", "OBSERVABLES",
    "Loss", "register_loss", "get_loss", "available_losses",
    "Model", "AdditiveModel", "BinaryModel", "register_model", "get_model", "available_models",
    "Preprocessing", "register_preprocessing", "get_preprocessing",
    "simulate", "spectral", "dmft", "fixed_point", "compare",
]


def __getattr__(name):
    # lazy entry points, so importing sidmft stays cheap and modules stay separate
    if name == "simulate":
        from .simulate import simulate
        return simulate
    if name == "spectral":
        from .theory.spectral import spectral
        return spectral
    if name == "dmft":
        from .theory.dmft import dmft
        return dmft
    if name == "fixed_point":
        from .theory.fixed_point import fixed_point
        return fixed_point
    if name == "compare":
        from .comparison import compare
        return compare
    raise AttributeError(f"module 'sidmft' has no attribute {name!r}")
