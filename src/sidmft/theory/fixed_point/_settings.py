"""Settings of the fixed-point solver (docs/theory.md §3): small frozen, validated objects.

:class:`FixedPointQuadrature` holds the quadrature sizes of the fixed-point law and
:class:`FixedPointSettings` everything else the solver takes (root rule, tolerances, Monte-Carlo
size of the rate, stage selection).  Each validates its fields once, in ``__post_init__``, and
raises ``TypeError`` / ``ValueError`` naming the parameter and the allowed range.

This module imports only numpy and :mod:`sidmft.theory.fixed_point._prox` (for the root rules).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Optional, Union

import numpy as np

from ._prox import ROOT_RULES

__all__ = [
    "FixedPointQuadrature",
    "FixedPointSettings",
    "DEFAULT_QUAD",
    "DEFAULT_QUAD_NOISY",
    "STRATEGIES",
    "check_root",
]

#: default quadrature: nodes per z panel, per xi panel, noise nodes, half-width L
DEFAULT_QUAD = dict(nz=50, nxi=10, n_noise=16, L=10.0)
#: smaller default when the model is noisy (3-D rule)
DEFAULT_QUAD_NOISY = dict(nz=32, nxi=8, n_noise=16, L=10.0)
#: solver stages that can be forced (``"auto"`` tries them in this order)
STRATEGIES = ("auto", "newton", "anderson", "continuation")
#: upper limits of the node counts
_MAX_NODES = dict(nz=1000, nxi=200, n_noise=200)


def _is_number(v) -> bool:
    return not isinstance(v, (bool, np.bool_)) and isinstance(v, (int, np.integer, float, np.floating))


def _real(name, value) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number; got {value!r}") from None


def _whole(name, value, lo, hi) -> int:
    if not _is_number(value):
        raise TypeError(f"{name} must be a whole number; got {value!r}")
    if not (math.isfinite(value) and float(value) == int(value)):
        raise ValueError(f"{name} must be a whole number; got {value!r}")
    v = int(value)
    if v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" + (f" and <= {hi}" if hi is not None else "")
        raise ValueError(f"{name} must be {rng}; got {value!r}")
    return v


def check_root(root) -> str:
    """The root rule of the non-convex prox, checked against :data:`sidmft.theory.fixed_point._prox.ROOT_RULES`."""
    if root not in ROOT_RULES:
        raise ValueError(f"root must be one of {list(ROOT_RULES)}; got {root!r}")
    return root


@dataclass(frozen=True)
class FixedPointQuadrature:
    """Quadrature sizes of the fixed-point law (:class:`sidmft.theory.fixed_point.FixedPointLaw`).

    Attributes
    ----------
    nz : int, optional
        Gauss-Legendre nodes per z panel (2 to 1000).
    nxi : int, optional
        Gauss-Legendre nodes per xi panel (2 to 200).
    n_noise : int, optional
        Nodes of the model's noise rule ``label_nodes`` (2 to 200).
    L : float, optional
        Half-width of the truncated Gaussian ranges (> 4 and <= 40).

    A field left ``None`` takes the model's default (:meth:`resolve`): ``DEFAULT_QUAD``, or
    ``DEFAULT_QUAD_NOISY`` for additive models with noise.
    """

    nz: Optional[int] = None
    nxi: Optional[int] = None
    n_noise: Optional[int] = None
    L: Optional[float] = None

    def __post_init__(self):
        for k, hi in _MAX_NODES.items():
            v = getattr(self, k)
            if v is None:
                continue
            if not (_is_number(v) and math.isfinite(v) and v == int(v) and 2 <= v <= hi):
                raise ValueError(f"quad[{k!r}] must be an integer >= 2 and <= {hi}; got {v!r}")
            object.__setattr__(self, k, int(v))
        if self.L is not None:
            if not (_is_number(self.L) and 4 < self.L <= 40):
                raise ValueError(f"quad['L'] must be a number > 4 and <= 40; got {self.L!r}")
            object.__setattr__(self, "L", float(self.L))

    @classmethod
    def coerce(cls, quad: Union[None, dict, FixedPointQuadrature]) -> FixedPointQuadrature:
        """A FixedPointQuadrature from ``None`` (all defaults), a dict of some of the fields, or itself."""
        if quad is None:
            return cls()
        if isinstance(quad, cls):
            return quad
        if not isinstance(quad, dict):
            raise TypeError(
                f"quad must be a FixedPointQuadrature or a dict with keys among {sorted(DEFAULT_QUAD)}; "
                f"got {type(quad).__name__}"
            )
        unknown = set(quad) - set(DEFAULT_QUAD)
        if unknown:
            raise ValueError(f"quad keys must be among {sorted(DEFAULT_QUAD)}; got {sorted(unknown)}")
        return cls(**quad)

    def resolve(self, problem) -> FixedPointQuadrature:
        """Every field set: the ``None`` ones from the default of ``problem``'s model."""
        from ...models import AdditiveModel

        model = problem.model_obj
        base = DEFAULT_QUAD_NOISY if (not model.is_noiseless and isinstance(model, AdditiveModel)) else DEFAULT_QUAD
        unset: dict[str, Any] = {k: base[k] for k in base if getattr(self, k) is None}
        return replace(self, **unset)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class FixedPointSettings:
    """Settings of :func:`sidmft.theory.fixed_point.fixed_point` (validated on construction).

    Attributes
    ----------
    root : {"global", "same_sign"}
        Root rule of the non-convex prox (identical for even losses).
    quad : FixedPointQuadrature
        Quadrature sizes (a dict of some of its fields is converted).
    tol : float
        Success threshold on max |residual| (> 0, finite; default 1e-10).
    m_min : float
        A solution with |m| < m_min is the uninformative one (>= 0, finite; default 1e-3).
    n_mc : int
        Monte-Carlo samples of the law for h_min (0 to 10^7; 0 skips the rate; default 10^6).
    mc_seed : int
        Seed of those samples (>= 0).
    continuation : bool
        Allow continuation in alpha when the direct solves fail.
    strategy : {"auto", "newton", "anderson", "continuation"}
        Force one stage (for testing); ``"auto"`` tries them in this order.
    maxiter : int
        Iteration cap of the Anderson stage (1 to 10^5).

    Examples
    --------
    >>> FixedPointSettings(tol=1e-12, quad=dict(nz=20)).quad
    FixedPointQuadrature(nz=20, nxi=None, n_noise=None, L=None)
    """

    root: str = "global"
    quad: FixedPointQuadrature = FixedPointQuadrature()
    tol: float = 1e-10
    m_min: float = 1e-3
    n_mc: int = 1_000_000
    mc_seed: int = 20250923
    continuation: bool = True
    strategy: str = "auto"
    maxiter: int = 300

    def __post_init__(self):
        check_root(self.root)
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(map(repr, STRATEGIES))}; got {self.strategy!r}")
        tol = _real("tol", self.tol)
        if not (0 < tol < math.inf):
            raise ValueError(f"tol must be finite and > 0; got {self.tol!r}")
        m_min = _real("m_min", self.m_min)
        if not (0 <= m_min < math.inf):
            raise ValueError(f"m_min must be finite and >= 0; got {self.m_min!r}")
        if not isinstance(self.continuation, (bool, np.bool_)):
            raise TypeError(f"continuation must be a bool; got {type(self.continuation).__name__}")
        values = dict(
            quad=FixedPointQuadrature.coerce(self.quad),
            tol=tol,
            m_min=m_min,
            n_mc=_whole("n_mc", self.n_mc, 0, 10**7),
            mc_seed=_whole("mc_seed", self.mc_seed, 0, None),
            maxiter=_whole("maxiter", self.maxiter, 1, 10**5),
            continuation=bool(self.continuation),
        )
        for k, v in values.items():
            object.__setattr__(self, k, v)

    def to_dict(self) -> dict:
        return asdict(self)
