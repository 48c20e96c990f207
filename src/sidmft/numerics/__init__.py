"""Small numerical helpers shared by the simulator and the theory (one copy of each).

:mod:`~sidmft.numerics.gauss`    probabilists' Gauss-Hermite rule and Latin-hypercube normal scores
:mod:`~sidmft.numerics.stats`    standard error over replicas (seeds or batches)
:mod:`~sidmft.numerics.threads`  numba / BLAS thread-count contexts

These modules import only numpy, scipy and numba; every room of the package may use them.
"""

from .gauss import gauss_hermite, lhs_normal_scores, lhs_uniforms
from .stats import standard_error
from .threads import numba_threads, single_thread

__all__ = ["gauss_hermite", "lhs_normal_scores", "lhs_uniforms", "standard_error", "numba_threads", "single_thread"]
