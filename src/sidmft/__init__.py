"""sidmft: exact high-dimensional behaviour of spectral-initialised gradient descent for
single index models, next to fast finite-size simulation.

Public namespace::

    Problem                      frozen, validated problem description
    register_model / register_loss / register_preprocessing / register_algorithm / register_parameter
                                 one shape: a declaration object, or its name and fields as keywords
    Algorithm, Linear, Parameter, Loss, Model, Preprocessing   the declarations
    simulate(problem, dim, ...)  finite-size two-stage algorithm (sidmft.simulator)
    spectral(problem)            d -> inf spectral initialisation (sidmft.theory.spectral)
    dmft(problem, ...)           d -> inf GD trajectory (sidmft.theory.dmft)
    fixed_point(problem, ...)    long-time limit and rate (sidmft.theory.fixed_point)
    compare(problem, ...)        theory next to simulation
"""

from ._version import __version__
from .algorithms import Algorithm, Linear, available_algorithms, get_algorithm, register_algorithm
from .losses import Loss, available_losses, get_loss, register_loss
from .models import AdditiveModel, BinaryModel, Model, available_models, get_model, register_model
from .parameters import Parameter, register_parameter
from .preprocess import Preprocessing, get_preprocessing, register_preprocessing
from .problem import Problem
from .results import OBSERVABLES, Result, Status, TrajectoryResult

#: lazy entry points and settings: name -> module (importing sidmft stays cheap, rooms stay separate)
_LAZY = {
    "simulate": "simulator",
    "SimulationResult": "simulator",
    "SpectralInitSettings": "simulator",
    "GDSettings": "simulator",
    "spectral": "theory.spectral",
    "SpectralTheoryResult": "theory.spectral",
    "dmft": "theory.dmft",
    "DMFTSettings": "theory.dmft",
    "DMFTResult": "theory.dmft",
    "fixed_point": "theory.fixed_point",
    "FixedPointSettings": "theory.fixed_point",
    "FixedPointQuadrature": "theory.fixed_point",
    "FixedPointResult": "theory.fixed_point",
    "compare": "comparison",
    "ComparisonResult": "comparison",
}

__all__ = [
    "__version__",
    "Problem",
    "Status",
    "Result",
    "TrajectoryResult",
    "OBSERVABLES",
    "Loss",
    "register_loss",
    "get_loss",
    "available_losses",
    "Model",
    "AdditiveModel",
    "BinaryModel",
    "register_model",
    "get_model",
    "available_models",
    "Preprocessing",
    "register_preprocessing",
    "get_preprocessing",
    "Algorithm",
    "Linear",
    "register_algorithm",
    "get_algorithm",
    "available_algorithms",
    "Parameter",
    "register_parameter",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'sidmft' has no attribute {name!r}")
