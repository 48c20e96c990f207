"""Settings of the simulator as small frozen objects, validated once on construction.

:class:`SpectralInitSettings`  the eigensolver of the spectral initialisation (:func:`spectral_init`)
:class:`GDSettings`            the gradient-descent loop of :func:`simulate` (kernel, backend, threads, bound)

Each raises ``ValueError`` naming the parameter and its allowed range in ``__post_init__``, before
any data is drawn.  ``SpectralInitSettings.coerce`` converts the historical ``spectral_options``
dict (the only place where that conversion happens).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Optional

import numpy as np

__all__ = [
    "SpectralInitSettings",
    "GDSettings",
    "SimulationSettings",
    "DEFAULT_T_FLOOR",
    "DEFAULT_WARM_FLOOR",
    "DEFAULT_DENSE_FALLBACK",
    "DEFAULT_BOUND",
    "GD_BACKENDS",
]

#: default K in T_K = max(T, -K) (see :mod:`sidmft.simulator._spectral`)
DEFAULT_T_FLOOR = 100.0
#: floor of the cheap warm-start solve (see :func:`sidmft.simulator.spectral_init`)
DEFAULT_WARM_FLOOR = 3.0
#: largest d for the dense fallback when Lanczos returns no eigenvector
DEFAULT_DENSE_FALLBACK = 4000
#: divergence bound factor: objective > DEFAULT_BOUND * max(|objective_0|, 1)
DEFAULT_BOUND = 1e8
#: GD backends of :func:`sidmft.simulator.simulate`
GD_BACKENDS = ("numba", "numpy", "jax")


def _whole(name, v, lo, none_ok=False):
    if v is None and none_ok:
        return
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f"{name} must be a whole number >= {lo}{' or None' if none_ok else ''}; got {v!r}")


def _positive(name, v, none_ok=False):
    if v is None and none_ok:
        return
    try:
        ok = not isinstance(v, bool) and math.isfinite(float(v)) and float(v) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a finite number > 0{' or None' if none_ok else ''}; got {v!r}")


def _choice(name, v, allowed):
    if v not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}; got {v!r}")


@dataclass(frozen=True)
class SpectralInitSettings:
    """Eigensolver settings of :func:`sidmft.simulator.spectral_init` (see its docstring for each).

    Parameters
    ----------
    method : {"auto", "lanczos", "dense"}
        ``auto``: dense ``eigh`` for d <= ``dense_max``, else matrix-free Lanczos.
    tol : float in [0, 1)
        ARPACK relative residual tolerance ||D v - theta v|| <= tol |theta| (0: machine
        precision).  The default 1e-2 is loose on purpose: rho^2 moves by <~ 2e-4 against
        tol = 1e-10 (benchmark and tests) -- far below the finite-size spread -- at about half the
        passes.  (With a floored T the residual is dominated by tiny components along the O(K)
        negative eigenvectors, so it over-states the eigenvector error.)
    t_floor : float > 0 or None
        K of the floor T_K = max(T, -K) (see :mod:`sidmft.simulator._spectral`); None for the exact T.
    ncv : int >= 3, optional
        Lanczos basis size (default 20).
    maxiter : int >= 1, optional
        ARPACK restart limit (default 1000).
    dense_max : int >= 0
        Largest d solved densely by ``method="auto"``.
    fused : bool
        Use the fused numba kernel (else two BLAS passes per application).
    threads : int >= 1, optional
        numba threads for the kernel (result independent of it).
    second : bool
        Also compute the second eigenvalue (bulk edge) on the Lanczos path by a deflated solve.
        Off by default: the bulk edge is not an isolated eigenvalue, so this costs several times
        the top eigenpair.  The dense path always returns it; otherwise it is NaN.
    warm_floor : float > 0 or None
        When T goes below -warm_floor, first solve loosely (tol 0.1, ncv 10) with T floored at
        -warm_floor (spectral spread O(warm_floor), a few passes) and start the real solve from that
        vector: about 35% fewer passes for ``lal`` (benchmark).  None disables it.
    complex_eigsh : {"hermitian", "embedded"}
        Complex data only: Lanczos on the complex Hermitian operator D (ARPACK's complex driver) or on its
        real symmetric 2d x 2d embedding (see :mod:`sidmft.simulator._spectral`; benchmarks/README.md
        compares their passes).
    dense_fallback : int >= 0
        If Lanczos stops without any converged eigenvector (``ArpackNoConvergence``), solve by
        dense ``eigh`` instead when d <= ``dense_fallback`` (default 4000; 0 disables).  The
        message then says so.  Without a fallback the status is ``FAILED`` and v is NaN.

    Examples
    --------
    >>> SpectralInitSettings(t_floor=30.0).t_floor
    30.0
    >>> SpectralInitSettings(maxiter=0)
    Traceback (most recent call last):
    ...
    ValueError: maxiter must be a whole number >= 1 or None; got 0
    """

    method: str = "auto"
    tol: float = 1e-2
    t_floor: Optional[float] = DEFAULT_T_FLOOR
    ncv: Optional[int] = None
    maxiter: Optional[int] = None
    dense_max: int = 300
    fused: bool = True
    threads: Optional[int] = None
    second: bool = False
    warm_floor: Optional[float] = DEFAULT_WARM_FLOOR
    dense_fallback: int = DEFAULT_DENSE_FALLBACK
    complex_eigsh: str = "hermitian"

    def __post_init__(self):
        _choice("method", self.method, ("auto", "lanczos", "dense"))
        _choice("complex_eigsh", self.complex_eigsh, ("hermitian", "embedded"))
        try:
            ok = not isinstance(self.tol, bool) and 0 <= float(self.tol) < 1
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"tol must be a number >= 0 and < 1 (0: machine precision); got {self.tol!r}")
        _positive("t_floor", self.t_floor, none_ok=True)
        _positive("warm_floor", self.warm_floor, none_ok=True)
        _whole("ncv", self.ncv, 3, none_ok=True)
        _whole("maxiter", self.maxiter, 1, none_ok=True)
        _whole("dense_max", self.dense_max, 0)
        _whole("dense_fallback", self.dense_fallback, 0)
        _whole("threads", self.threads, 1, none_ok=True)
        for k in ("fused", "second"):
            if not isinstance(getattr(self, k), (bool, np.bool_)):
                raise ValueError(f"{k} must be True or False; got {getattr(self, k)!r}")

    @classmethod
    def coerce(cls, spectral=None, **options) -> SpectralInitSettings:
        """Settings from ``None``, a :class:`SpectralInitSettings`, or a dict of option names (the
        historical ``spectral_options``); keyword ``options`` override.  Unknown names raise
        ``ValueError`` listing the known ones."""
        if spectral is None:
            base = {}
        elif isinstance(spectral, cls):
            if not options:
                return spectral
            base = asdict(spectral)
        elif isinstance(spectral, dict):
            base = dict(spectral)
        else:
            raise TypeError(
                f"spectral settings must be a SpectralInitSettings or a dict; got {type(spectral).__name__}"
            )
        base.update(options)
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(base) - set(names))
        if unknown:
            raise ValueError(f"unknown spectral option(s) {unknown}; choose from {names}")
        return cls(**base)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GDSettings:
    """Settings of the gradient-descent stage of :func:`sidmft.simulator.simulate`.

    Parameters
    ----------
    backend : {"numba", "numpy", "jax"}
        ``numba``: the fused one-read kernel when the loss has a compilable ``scalar_grad`` (else
        the numpy path); ``numpy``: two BLAS passes per step (reference); ``jax``: a
        ``jax.lax.scan`` on JAX's default device (``pip install sidmft[jax]``; built-in losses,
        or registered ones with ``array_namespace=True``).
    method : {"auto", "fused", "numpy"}
        Kernel of the numba backend (``fused`` insists on the numba kernel, ``numpy`` is the same
        as ``backend="numpy"``); must stay ``"auto"`` with ``backend="jax"``.
    threads : int >= 1 or None
        numba threads (results do not depend on it).
    bound : float > 0
        Divergence bound factor on the objective.

    Examples
    --------
    >>> GDSettings(backend="numpy").kernel
    'numpy'
    >>> GDSettings(backend="cuda")
    Traceback (most recent call last):
    ...
    ValueError: backend must be one of ['numba', 'numpy', 'jax']; got 'cuda'
    """

    backend: str = "numba"
    method: str = "auto"
    threads: Optional[int] = None
    bound: float = DEFAULT_BOUND

    def __post_init__(self):
        _choice("backend", self.backend, GD_BACKENDS)
        _choice("method", self.method, ("auto", "fused", "numpy"))
        _whole("threads", self.threads, 1, none_ok=True)
        _positive("bound", self.bound)
        if self.backend == "numpy" and self.method == "fused":
            raise ValueError("method='fused' needs backend='numba' (got backend='numpy')")
        if self.backend == "jax" and self.method != "auto":
            raise ValueError(
                f"method must be 'auto' with backend='jax' (the JAX loop has one kernel); got {self.method!r}"
            )

    @property
    def kernel(self) -> str:
        """``method`` argument for :func:`sidmft.simulator.run_gd` (numba/numpy backends)."""
        return "numpy" if self.backend == "numpy" else self.method


_DTYPES = ("float64", "float32", "complex128", "complex64")


@dataclass(frozen=True)
class SimulationSettings:
    """Every setting of :func:`sidmft.simulate` that is not the problem, the sizes or the seeds, in one frozen
    object (the keywords of :func:`~sidmft.simulate` build one; pass ``settings=`` instead of them).

    Parameters
    ----------
    dtype : {"float64", "float32", "complex128", "complex64"}
        Storage type of A (complex problems map the real names to their complex counterparts).
    backend, method, threads, bound :
        The GD stage (:class:`GDSettings`).
    spectral : SpectralInitSettings, optional
        The eigensolver of the spectral start (its defaults when None).
    chunk_rows, data_threads : int, optional
        Data generation: rows per task and threads drawing blocks (speed only: results do not depend on them).

    Examples
    --------
    >>> s = SimulationSettings(dtype="float32", threads=1)
    >>> s.gd.kernel, s.spectral_settings.t_floor
    ('auto', 100.0)
    """

    dtype: str = "float64"
    backend: str = "numba"
    method: str = "auto"
    threads: Optional[int] = None
    bound: float = DEFAULT_BOUND
    spectral: Optional[SpectralInitSettings] = None
    chunk_rows: Optional[int] = None
    data_threads: Optional[int] = None

    def __post_init__(self):
        name = np.dtype(self.dtype).name if not isinstance(self.dtype, str) else self.dtype
        _choice("dtype", name, _DTYPES)
        object.__setattr__(self, "dtype", name)
        GDSettings(backend=self.backend, method=self.method, threads=self.threads, bound=self.bound)
        if self.spectral is not None and not isinstance(self.spectral, SpectralInitSettings):
            raise TypeError(f"spectral must be a SpectralInitSettings; got {type(self.spectral).__name__}")
        _whole("chunk_rows", self.chunk_rows, 1, none_ok=True)
        _whole("data_threads", self.data_threads, 1, none_ok=True)

    @property
    def gd(self) -> GDSettings:
        """The GD stage's settings."""
        return GDSettings(backend=self.backend, method=self.method, threads=self.threads, bound=self.bound)

    @property
    def spectral_settings(self) -> SpectralInitSettings:
        """The eigensolver's settings (defaults when not given)."""
        return self.spectral if self.spectral is not None else SpectralInitSettings()
