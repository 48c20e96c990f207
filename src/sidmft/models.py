"""Models: the link y = f(z, noise) of a single index model, in a registry.

A *model* maps the index z = <a, x*> ~ N(0, 1) and independent noise to a label y.
Two families cover the built-ins and are what a user extends:

* :class:`AdditiveModel` -- ``y = g(z) + sigma * eps`` with eps ~ N(0, 1);
* :class:`BinaryModel`   -- ``y = +1`` with probability ``p(z)``, else ``-1``.

Every model exposes the same small interface used by *all* solvers:

``sample(z, rng)``
    draw labels for given indices (simulation, Monte-Carlo DMFT);
``label_nodes(z, n_noise)``
    a quadrature rule for the conditional law of y given z, returned as
    arrays ``(Y, W)`` of shape ``z.shape + (k,)`` with ``E[h(y) | z] ~= sum_k W h(Y)``
    (deterministic theory: spectral quadrature, fixed point, test error);
``predict(r)``
    the noiseless prediction from a fitted value r (test error);
``breakpoints``
    z-values where the link is not smooth (for composite quadrature).

Register a new link with :func:`register_model`::

    import numpy as np, sidmft
    sidmft.register_model("cubic", lambda z: z**3 - 3*z)          # additive noise
    sidmft.register_model("probit", lambda z: scipy.special.ndtr(2*z), kind="binary")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from scipy.special import expit, ndtr

from .numerics import gauss_hermite

__all__ = [
    "Model",
    "complex_test_error",
    "AdditiveModel",
    "BinaryModel",
    "register_model",
    "get_model",
    "available_models",
    "MODELS",
    "DEFAULT_MODEL",
]


def _flat_mq(m, q):
    """(m, q) broadcast together and flattened (float), and the broadcast shape to restore."""
    m, q = np.asarray(m, dtype=float), np.asarray(q, dtype=float)
    shape = np.broadcast(m, q).shape
    return np.broadcast_to(m, shape).ravel(), np.broadcast_to(q, shape).ravel(), shape


@dataclass(frozen=True)
class Model:
    """Base class. ``noise`` is the model's noise level (see subclasses)."""

    name: str
    noise: float = 0.0

    #: y depends on z only through |z| (declared; the complex design measures such models)
    @property
    def even(self) -> bool:
        return False

    # -- interface -------------------------------------------------------
    def sample(self, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def label_nodes(self, z: np.ndarray, n_noise: int = 40) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def predict(self, r: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    @property
    def breakpoints(self) -> tuple[float, ...]:
        return ()

    @property
    def is_noiseless(self) -> bool:
        return self.noise == 0.0

    def test_error(self, m, q, n_nodes: int = 60, field: str = "real") -> np.ndarray:
        """Prediction error E[(y_new - predict(r))^2] for a fresh sample.

        (z, r) ~ N(0, [[1, m], [m, q]]) with m = <x, x*>/d and q = ||x||^2/d, so the
        test error depends on (m, q) only.  Computed by tensor Gauss-Hermite quadrature
        (``n_nodes`` per Gaussian dimension, plus the model's noise rule), which is exact
        for polynomial links such as phase retrieval:
        3 - 2(q + 2m^2) + 3q^2 + sigma^2.

        ``field="complex"`` (docs/theory.md §7; even models): (z, r) circular complex Gaussian with
        E|z|^2 = 1, E[r conj(z)] = m = |x*^H x|/d, E|r|^2 = q, the label y = f(|z|) and the prediction
        predict(|r|) = predict(|<a, x>|); see :func:`complex_test_error`.  Phase retrieval:
        2 - 2(q + m^2) + 2q^2 + sigma^2.
        """
        if field == "complex":
            return complex_test_error(self, m, q, n_nodes)
        if field != "real":
            raise ValueError(f"field must be one of ['real', 'complex']; got {field!r}")
        m, q, shape = _flat_mq(m, q)
        x, w = gauss_hermite(n_nodes)
        z = x[:, None]  # (n,1)
        e = x[None, :]  # (1,n)
        ww = w[:, None] * w[None, :]
        Y, WY = self.label_nodes(z[:, 0], n_noise=min(n_nodes, 40))  # (n,k)
        out = np.empty(m.shape)
        for i, (mi, qi) in enumerate(zip(m, q)):
            s = np.sqrt(max(qi - mi * mi, 0.0))
            r = mi * z + s * e  # (n,n)
            pred = self.predict(r)[:, :, None]  # (n,n,1)
            err = (Y[:, None, :] - pred) ** 2  # (n,n,k)
            out[i] = np.sum(ww * np.sum(WY[:, None, :] * err, axis=-1))
        return out.reshape(shape)


def complex_test_error(model: Model, m, q, n_nodes: int = 60) -> np.ndarray:
    """E[(y_new - predict(|r|))^2] over circular complex Gaussian (z, r), E|z|^2 = 1, E[r conj(z)] = m, E|r|^2 = q.

    Removing the common phase, z = rho >= 0 with rho^2 ~ Exp(1) and r = m rho + s (e1 + i e2)/sqrt(2),
    s = sqrt(q - m^2), e1, e2 ~ N(0, 1) independent of rho.  The label enters through its conditional moments
    E[y | rho] and E[y^2 | rho] (the model's ``label_nodes`` at z = rho; even models: y = f(|z|)), so

        test error = E[ E[y^2|rho] - 2 E[y|rho] p + p^2 ],   p = predict(|m rho + s (e1 + i e2)/sqrt(2)|),

    by Gauss-Laguerre quadrature in rho^2 (``n_nodes``) times Gauss-Hermite in e1 and e2 (``n_nodes`` each):
    deterministic, and exact for polynomial links such as phase retrieval, 2 - 2(q + m^2) + 2q^2 + sigma^2.
    """
    from scipy.special import roots_laguerre

    if not model.even:
        raise ValueError(f"field='complex' needs an even model (y = f(|z|)); model {model.name!r} is not even")
    m, q, shape = _flat_mq(m, q)
    u, wu = roots_laguerre(int(n_nodes))
    rho = np.sqrt(u)
    Y, WY = model.label_nodes(rho, n_noise=min(n_nodes, 40))
    M1, M2 = np.sum(WY * Y, axis=-1), np.sum(WY * Y * Y, axis=-1)
    x, w = gauss_hermite(n_nodes)
    e = x / np.sqrt(2.0)
    W = wu[:, None, None] * w[None, :, None] * w[None, None, :]
    # the tensor nodes whose weight is below 1e-20 of the largest carry 4e-20 of the mass (60 nodes): dropping
    # them leaves 38 000 of the 216 000 nodes
    keep = W > 1e-20 * W.max()
    k, j, l = np.nonzero(keep)
    W, rho_k, m1, m2, e1, e2 = W[keep], rho[k], M1[k], M2[k], e[j], e[l]
    out = np.empty(m.shape)
    for i, (mi, qi) in enumerate(zip(m, q)):
        s = np.sqrt(max(qi - mi * mi, 0.0))
        re = mi * rho_k + s * e1
        im = s * e2
        p = np.asarray(model.predict(np.sqrt(re * re + im * im)), dtype=float)
        out[i] = np.sum(W * (m2 - 2.0 * m1 * p + p * p))
    return out.reshape(shape)


@dataclass(frozen=True)
class AdditiveModel(Model):
    """``y = link(z) + noise * eps``, eps ~ N(0, 1).

    Parameters
    ----------
    name : str
    noise : float
        Standard deviation sigma >= 0 of the additive Gaussian noise.
    link : callable
        Vectorised deterministic link g(z).
    kinks : tuple of float
        Points where g is not smooth (quadrature breakpoints).
    """

    link: Callable[[np.ndarray], np.ndarray] = field(default=lambda z: z, compare=False)
    kinks: tuple[float, ...] = ()
    symmetric: Optional[bool] = None
    description: str = ""

    @property
    def even(self) -> bool:
        """g(-z) = g(z): declared (``symmetric``), else checked on a grid of z in [-6, 6]."""
        if self.symmetric is not None:
            return bool(self.symmetric)
        z = np.linspace(0.0, 6.0, 241)
        with np.errstate(all="ignore"):
            a, b = np.asarray(self.link(z), dtype=float), np.asarray(self.link(-z), dtype=float)
        return bool(np.all(np.isfinite(a)) and np.allclose(a, b, rtol=1e-12, atol=1e-12))

    def sample(self, z, rng):
        y = self.link(np.asarray(z))
        if self.noise > 0:
            y = y + self.noise * rng.standard_normal(np.shape(z))
        return y

    def label_nodes(self, z, n_noise: int = 40):
        g = np.asarray(self.link(np.asarray(z, dtype=float)), dtype=float)
        if self.noise == 0:
            return g[..., None], np.ones(g.shape + (1,))
        x, w = gauss_hermite(n_noise)
        return g[..., None] + self.noise * x, np.broadcast_to(w, g.shape + (n_noise,))

    def predict(self, r):
        return self.link(np.asarray(r))

    @property
    def breakpoints(self):
        return tuple(self.kinks)


@dataclass(frozen=True)
class BinaryModel(Model):
    """``y = +1`` with probability ``prob(z, noise)``, else ``-1``.

    ``noise`` is a temperature: for the built-in ``logistic`` model
    P(y = 1 | z) = sigmoid(z / noise), and ``noise = 0`` gives y = sign(z).
    """

    prob: Optional[Callable[[np.ndarray, float], np.ndarray]] = field(default=None, compare=False)
    description: str = ""

    def _p(self, z):
        return np.clip(np.asarray(self.prob(np.asarray(z, dtype=float), self.noise), dtype=float), 0.0, 1.0)

    def sample(self, z, rng):
        p = self._p(z)
        return np.where(rng.random(np.shape(z)) < p, 1.0, -1.0)

    def label_nodes(self, z, n_noise: int = 40):
        p = self._p(z)
        Y = np.empty(p.shape + (2,))
        Y[..., 0], Y[..., 1] = 1.0, -1.0
        return Y, np.stack([p, 1.0 - p], axis=-1)

    def predict(self, r):
        return np.where(np.asarray(r) >= 0, 1.0, -1.0)

    @property
    def breakpoints(self):
        return (0.0,) if self.noise == 0 else ()

    def test_error(self, m, q, n_nodes: int = 60, field: str = "real") -> np.ndarray:
        """E[(y_new - sign r)^2] = 4 P(y_new != sign r) = 4 E_z[p(z) Phi(-m z/s) + (1 - p(z)) Phi(m z/s)],
        s = sqrt(q - m^2): the Gaussian r given z integrated in closed form, leaving one smooth integral over z
        on each side of 0 (where p jumps at noise 0, and where Phi(m z/s) becomes a step at s = 0), by
        Gauss-Legendre with 4 ``n_nodes`` nodes per side on [0, 12].  (The generic tensor rule of
        :meth:`Model.test_error` integrates the step sign(r) and gives a staircase in (m, q).)"""
        if field != "real":
            raise ValueError(f"field must be 'real' for a binary model; got {field!r}")
        m, q, shape = _flat_mq(m, q)
        x, w = np.polynomial.legendre.leggauss(4 * n_nodes)
        half = 6.0 * (x + 1.0)  # [0, 12]
        z = np.concatenate([-half[::-1], half])
        wz = np.concatenate([w[::-1], w]) * 6.0 * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
        p = self._p(z)
        s = np.sqrt(np.maximum(q - m * m, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.where(
                s[:, None] > 0, m[:, None] * z[None, :] / s[:, None], np.sign(m[:, None] * z[None, :]) * np.inf
            )
        plus = ndtr(u)  # P(r >= 0 | z)
        out = 4.0 * np.sum(wz * (p * (1.0 - plus) + (1.0 - p) * plus), axis=1)
        return out.reshape(shape)


def _logistic_prob(z, noise):
    if noise == 0:
        return np.where(z > 0, 1.0, np.where(z < 0, 0.0, 0.5))
    return expit(z / noise)


# name -> the registered Model at noise 0 (get_model binds the noise level)
MODELS: dict[str, Model] = {}


def register_model(
    model,
    link: Optional[Callable] = None,
    *,
    kind: str = "additive",
    kinks: tuple[float, ...] = (),
    even: Optional[bool] = None,
    description: str = "",
    overwrite: bool = False,
) -> Model:
    """Register a model: a :class:`Model` (its noise is set per problem), or a name and its link.

    Parameters
    ----------
    model : str or Model
        Registry key (used by :class:`~sidmft.Problem` and the CLI ``--model``), or a declaration.
    link : callable
        ``kind="additive"``: vectorised g(z), and y = g(z) + noise * eps.
        ``kind="binary"``: vectorised p(z, noise) = P(y = +1 | z).
    kind : {"additive", "binary"}
    kinks : tuple of float
        z-values where g (or p) is not smooth; used as quadrature breakpoints.
    even : bool, optional
        g(-z) = g(z) (y depends on |z| only; complex designs need it).  Checked on a grid when not given.
    description : str
        One line for the documentation.
    overwrite : bool
        Replace an existing entry of the same name.

    Returns
    -------
    Model
        The declaration (at noise 0).

    Notes
    -----
    Registrations live in the process that runs them: a Dask worker knows a model only when the module that
    registers it is imported there (put the call at import time of a module the workers import).
    """
    if isinstance(model, Model):
        if link is not None:
            raise TypeError("register_model takes a Model or a name and a link, not both")
        decl = dataclasses.replace(model, noise=0.0)
    else:
        name = model
        if not isinstance(name, str) or not name:
            raise ValueError(f"model name must be a non-empty string, got {name!r}")
        if not callable(link):
            raise TypeError(f"link for model {name!r} must be callable, got {type(link).__name__}")
        if kind not in ("additive", "binary"):
            raise ValueError(f"kind must be one of 'additive', 'binary'; got {kind!r}")
        if kind == "additive":
            decl = AdditiveModel(name, 0.0, link, tuple(kinks), even, description)
        else:
            decl = BinaryModel(name, 0.0, link, description)
    if decl.name in MODELS and not overwrite:
        raise ValueError(f"model {decl.name!r} is already registered (pass overwrite=True to replace it)")
    MODELS[decl.name] = decl
    return decl


def available_models() -> list[str]:
    """Names of the registered models (sorted)."""
    return sorted(MODELS)


def get_model(name, noise: float = 0.0) -> Model:
    """The registered model ``name`` at noise level ``noise`` (a :class:`Model` is returned as it is)."""
    if isinstance(name, Model):
        return name
    if name not in MODELS:
        raise ValueError(f"model must be one of {available_models()}; got {name!r}")
    noise = float(noise)
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0; got {noise!r}")
    return dataclasses.replace(MODELS[name], noise=noise)


#: the model of a Problem that names none
DEFAULT_MODEL = "phase-retrieval"

register_model("phase-retrieval", lambda z: z * z, even=True, description="y = z^2 + noise")
register_model("linear", lambda z: z, even=False, description="y = z + noise")
register_model("relu", lambda z: np.maximum(z, 0.0), kinks=(0.0,), even=False, description="y = max(z, 0) + noise")
register_model("logistic", _logistic_prob, kind="binary", description="y = +-1 with P(y = 1 | z) = sigmoid(z / noise)")
