"""Preprocessing functions T(y) for the spectral matrix D = (1/alpha) sum_i T(y_i) a_i a_i^T.

Spec strings (CLI ``--preprocess`` and :class:`~sidmft.Problem`):

``identity``   T(y) = y                                  (sup T = inf: theory does not apply)
``trim:C``     T(y) = y 1{y <= C}                         (Lu-Li truncation)
``clip:C``     T(y) = min(y, C)
``mm``         T(y) = (y_+ - 1)/(y_+ + sqrt(alpha) - 1)    (Mondelli-Montanari / PhasePack; alpha > 1)
``lal``        T(y) = 1 - 1/E[z^2 | y]                    (Luo-Alghamdi-Lu optimal; = 1 - 1/y for
                                                          noiseless phase retrieval)
or a :class:`Preprocessing` built from a user callable.  A suffix ``|floor:K`` (``"lal|floor:100"``) gives
T_K = max(T, -K), the T of the simulator's spectral start with the floor K (:func:`floored`).

A :class:`Preprocessing` carries ``sup`` (sup_y T(y), which the spectral theory needs
finite) and ``breakpoints`` (y-values where T is not smooth or singular, for quadrature).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .models import AdditiveModel, BinaryModel, Model

__all__ = [
    "Preprocessing",
    "get_preprocessing",
    "register_preprocessing",
    "PREPROCESSINGS",
    "conditional_z2",
    "floored",
    "FLOOR_SEP",
]


@dataclass(frozen=True)
class Preprocessing:
    """A preprocessing T(y).

    Parameters
    ----------
    name : str
        Spec string (e.g. ``"trim:7"``) or a label for user functions.
    fn : callable
        Vectorised T(y).
    sup : float
        sup_y T(y) (``inf`` if unbounded above).  The spectral theory needs it finite.
    breakpoints : tuple of float
        y-values where T has a kink, jump or pole (quadrature panels are split there).
    """

    name: str
    fn: Callable = field(compare=False)
    sup: float = np.inf
    breakpoints: tuple[float, ...] = ()

    def __call__(self, y):
        return self.fn(np.asarray(y, dtype=float))


# ------------------------------------------------------------------------- E[z^2 | y]
def conditional_z2(model: Model) -> Callable[[np.ndarray], np.ndarray]:
    """Return a vectorised y -> E[z^2 | y] for ``model`` (z ~ N(0,1)).

    Closed forms for the noiseless built-ins (phase retrieval: y; linear: y^2;
    relu: y^2 for y > 0, E[z^2 | z < 0] = 1 at y = 0), exact two-point values for binary
    models, and otherwise a posterior average on a fine z-grid (spacing 2.5e-3 on
    [-10, 10]; noiseless user links use the preimages of y on that grid).
    """
    zg = np.linspace(-10.0, 10.0, 8001)
    phi = np.exp(-0.5 * zg**2)
    if isinstance(model, BinaryModel):
        p = model._p(zg)
        c_plus = np.sum(zg**2 * phi * p) / np.sum(phi * p)
        c_minus = np.sum(zg**2 * phi * (1 - p)) / np.sum(phi * (1 - p))
        return lambda y: np.where(np.asarray(y) > 0, c_plus, c_minus)
    if not isinstance(model, AdditiveModel):
        raise TypeError(f"cannot compute E[z^2|y] for model type {type(model).__name__}")
    if model.noise == 0:
        if model.name == "phase-retrieval":
            return lambda y: np.asarray(y, dtype=float)
        if model.name == "linear":
            return lambda y: np.asarray(y, dtype=float) ** 2
        if model.name == "relu":
            return lambda y: np.where(np.asarray(y) > 0, np.asarray(y, dtype=float) ** 2, 1.0)
        g = model.link(zg)
        dg = np.gradient(g, zg)

        def noiseless(y):
            y = np.asarray(y, dtype=float)
            out = np.empty(y.shape)
            flat = y.ravel()
            res = out.ravel()
            for i, yi in enumerate(flat):
                s = np.sign(g - yi)
                idx = np.nonzero(s[:-1] * s[1:] <= 0)[0]
                if idx.size == 0:
                    res[i] = np.nan
                    continue
                zz = zg[idx]
                wt = np.exp(-0.5 * zz**2) / np.maximum(np.abs(dg[idx]), 1e-12)
                res[i] = np.sum(wt * zz**2) / np.sum(wt)
            return out

        return noiseless
    sig = model.noise
    g = model.link(zg)

    def noisy(y):
        y = np.asarray(y, dtype=float)
        flat = y.ravel()
        out = np.empty(flat.shape)
        for s in range(0, flat.size, 256):
            yy = flat[s : s + 256, None]
            logw = -0.5 * ((yy - g[None, :]) / sig) ** 2 - 0.5 * zg[None, :] ** 2
            logw -= logw.max(axis=1, keepdims=True)
            w = np.exp(logw)
            out[s : s + 256] = (w @ zg**2) / w.sum(axis=1)
        return out.reshape(y.shape)

    return noisy


# ------------------------------------------------------------------------- registry
# name -> factory(arg: str | None, model: Model, alpha: float) -> Preprocessing
PREPROCESSINGS: dict[str, Callable] = {}


def register_preprocessing(preprocessing, factory: Optional[Callable] = None, *, overwrite: bool = False):
    """Register a preprocessing: a fixed :class:`Preprocessing` (its name is the spec), or a name and
    ``factory(arg, model, alpha) -> Preprocessing`` (``arg`` is the text after ``:`` in the spec string, None if
    absent); returns what was registered.  Like every registration it must run on each Dask worker too (at
    import time of a module the workers import)."""
    if isinstance(preprocessing, Preprocessing):
        if factory is not None:
            raise TypeError("register_preprocessing takes a Preprocessing or a name and a factory, not both")
        fixed = preprocessing
        name = fixed.name
        factory = lambda arg, model, alpha: fixed  # noqa: E731
    else:
        name = preprocessing
        if not isinstance(name, str) or not name:
            raise ValueError(f"preprocessing name must be a non-empty string, got {name!r}")
        if not callable(factory):
            raise TypeError(f"factory of preprocessing {name!r} must be callable")
    if name in PREPROCESSINGS and not overwrite:
        raise ValueError(f"preprocessing {name!r} is already registered (pass overwrite=True)")
    PREPROCESSINGS[name] = factory
    return preprocessing if isinstance(preprocessing, Preprocessing) else factory


def _need_arg(name, arg):
    if arg is None:
        raise ValueError(f"preprocess {name!r} needs a level, e.g. '{name}:3'")
    try:
        c = float(arg)
    except ValueError:
        raise ValueError(f"preprocess level in '{name}:{arg}' must be a number") from None
    if not np.isfinite(c):
        raise ValueError(f"preprocess level in '{name}:{arg}' must be finite")
    return c


def _identity(arg, model, alpha):
    return Preprocessing("identity", lambda y: y, np.inf, ())


def _trim(arg, model, alpha):
    c = _need_arg("trim", arg)
    return Preprocessing(f"trim:{arg}", lambda y: np.where(y <= c, y, 0.0), max(c, 0.0), (c,))


def _clip(arg, model, alpha):
    c = _need_arg("clip", arg)
    return Preprocessing(f"clip:{arg}", lambda y: np.minimum(y, c), c, (c,))


def _mm(arg, model, alpha):
    c = np.sqrt(alpha) if arg is None else _need_arg("mm", arg)
    if not c > 1:
        raise ValueError(
            f"preprocess 'mm' = (y_+ - 1)/(y_+ + c - 1) needs c = sqrt(alpha) > 1 (alpha > 1), "
            f"got c = {c:g}; use 'lal' or 'clip:C' for alpha <= 1"
        )
    return Preprocessing(
        "mm" if arg is None else f"mm:{arg}",
        lambda y: (np.maximum(y, 0.0) - 1.0) / (np.maximum(y, 0.0) + c - 1.0),
        1.0,
        (0.0,),
    )


def _lal(arg, model, alpha):
    cz2 = conditional_z2(model)

    def fn(y):
        c = cz2(y)
        with np.errstate(divide="ignore"):
            return np.where(c > 0, 1.0 - 1.0 / np.where(c > 0, c, 1.0), -np.inf)

    bp = (0.0,) if (isinstance(model, AdditiveModel) and model.noise == 0) else ()
    return Preprocessing("lal", fn, 1.0, bp)


register_preprocessing("identity", _identity)
register_preprocessing("trim", _trim)
register_preprocessing("clip", _clip)
register_preprocessing("mm", _mm)
register_preprocessing("lal", _lal)


def get_preprocessing(spec, model: Model, alpha: float) -> Preprocessing:
    """Resolve a spec string (or Preprocessing, or callable) for ``model`` at ``alpha``."""
    if isinstance(spec, Preprocessing):
        return spec
    if callable(spec):
        warnings.warn(
            "preprocess given as a bare callable: sup T unknown (assumed inf); wrap it in "
            "sidmft.Preprocessing(name, fn, sup=...) for the spectral theory",
            stacklevel=3,
        )
        return Preprocessing(getattr(spec, "__name__", "custom"), spec, np.inf, ())
    if not isinstance(spec, str):
        raise TypeError(f"preprocess must be a spec string, a Preprocessing or a callable; got {spec!r}")
    inner, sep, floor = spec.partition(FLOOR_SEP)
    if sep:
        try:
            K = float(floor)
        except ValueError:
            K = float("nan")
        if not (np.isfinite(K) and K > 0):
            raise ValueError(f"preprocess floor in {spec!r} must be a number K > 0 ('{inner}{FLOOR_SEP}100')")
        return floored(get_preprocessing(inner, model, alpha), K)
    name, _, arg = spec.partition(":")
    if name not in PREPROCESSINGS:
        raise ValueError(f"preprocess must be one of {sorted(PREPROCESSINGS)} (with ':C' for trim/clip); got {spec!r}")
    return PREPROCESSINGS[name](arg or None, model, alpha)


#: the spec suffix of a floored preprocessing: ``"lal|floor:100"`` is T_K = max(T, -100)
FLOOR_SEP = "|floor:"


def _level_crossings(fn, level: float) -> list[float]:
    """The y where fn(y) crosses ``level`` (scan of a wide log grid of both signs, then brentq)."""
    from scipy.optimize import brentq

    pos = np.geomspace(1e-14, 1e8, 2201)
    grid = np.concatenate([-pos[::-1], [0.0], pos])
    with np.errstate(all="ignore"):
        f = np.asarray(fn(grid), dtype=float) - level
    out = []
    ok = np.isfinite(f)
    for i in np.flatnonzero(ok[:-1] & ok[1:] & (np.sign(f[:-1]) * np.sign(f[1:]) < 0)):
        try:
            out.append(float(brentq(lambda y: float(fn(np.array([y]))[0]) - level, grid[i], grid[i + 1], xtol=1e-15)))
        except (ValueError, RuntimeError):
            out.append(float(0.5 * (grid[i] + grid[i + 1])))
    return out


def floored(T: Preprocessing, K: float) -> Preprocessing:
    """T_K(y) = max(T(y), -K): the preprocessing the simulator's spectral start uses for a T unbounded below
    (``SpectralInitSettings.t_floor``).  The theory with T_K is the d -> inf limit of that simulation exactly, so a
    comparison with it carries no floor bias; the kink at T(y) = -K is a quadrature breakpoint."""
    K = float(K)

    def fn(y):
        with np.errstate(invalid="ignore"):
            return np.maximum(T(y), -K)

    bps = tuple(sorted(set(T.breakpoints) | set(_level_crossings(T, -K))))
    return Preprocessing(f"{T.name}{FLOOR_SEP}{K:g}", fn, T.sup, bps)
