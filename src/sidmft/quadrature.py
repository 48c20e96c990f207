"""Deterministic quadrature helpers shared by the asymptotic solvers.

Everything here builds *flat discrete measures* that approximate the law of (z, y) with
z ~ N(0, 1) the index and y = f(z, noise) the label, so that

    E[h(z, y)]  ~=  sum_k  w_k h(z_k, y_k)        (:meth:`JointRule.expect`).

The rules respect the non-smooth points of the integrand:

* **noiseless additive model** y = g(z): composite Gauss-Legendre in z on [-L, L], split at
  the kinks of g, at z = 0, and at every z where g(z) crosses a breakpoint of the
  preprocessing T (a kink, jump or pole of T(y), mapped back to z).  Each piece is split
  into panels graded geometrically towards both of its ends (:func:`graded_rule`), so that
  integrands with a (near-)singularity at a breakpoint, such as 1/(l - T)^2 with l just
  above sup T, are integrated to ~1e-12.
* **additive model with noise** y = g(z) + sigma*eps: iterated rule, outer graded
  Gauss-Legendre in z (split at the kinks of g), inner graded Gauss-Legendre in eps on
  [-L, L] split at the z-dependent points eps = (b - g(z))/sigma for each breakpoint b of T.
  Without breakpoints of T the inner rule is Gauss-Hermite (``model.label_nodes``).
* **binary model** y in {+1, -1}: graded Gauss-Legendre in z (split at 0) times the two
  labels with weights P(y = +-1 | z) (``model.label_nodes``).

**Complex designs** (``field="complex"``, docs/theory.md §7): the index z ~ CN(0, 1) enters an even model
only through rho = |z| (|z|^2 ~ Exp(1)), so every rule above is built the same way for the radial variable
rho on [0, L] with density 2 rho exp(-rho^2) (:func:`radial_rule`), split at the breakpoints of T mapped to
rho > 0; the node array ``z`` then holds rho.  A :class:`MomentRule` for complex z has
W[:, 0] = E[h(y)], W[:, 1] = E[h(y) z] = 0 (circular symmetry) and W[:, 2] = E[h(y) |z|^2].

Public API
----------
``gauss_legendre(n)``                 nodes/weights on [0, 1]
``graded_rule(n, levels, ratio, n_core)``  [0, 1] rule graded towards both ends
``composite_rule(points, ...)``       rule on consecutive intervals [p_0, p_1], [p_1, p_2], ...
``gauss_hermite(n)``                  E over N(0, 1) (probabilists'; :func:`sidmft.numerics.gauss_hermite`)
``normal_rule(breaks, ...)``          E over z ~ N(0, 1) on [-L, L] split at ``breaks``
``radial_rule(breaks, ...)``          E over rho = |z|, z ~ CN(0, 1), on [0, L] split at ``breaks``
``index_rule(breaks, quad, field)``   the rule of the index: normal (real) or radial (complex)
``z_breakpoints(model, y_breaks)``    z where g(z) hits a y-breakpoint of T, plus kinks
``joint_rule(model, y_breaks, ..., field)``  :class:`JointRule` for the law of (z, y) (or (|z|, y))
``QuadSpec``                          the knobs (n, levels, ratio, L, n_core, n_noise)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy.optimize import brentq

from .models import AdditiveModel, BinaryModel
from .numerics import gauss_hermite

__all__ = [
    "QuadSpec",
    "JointRule",
    "MomentRule",
    "moment_rule",
    "gauss_legendre",
    "graded_rule",
    "composite_rule",
    "gauss_hermite",
    "normal_rule",
    "radial_rule",
    "index_rule",
    "FIELDS",
    "z_breakpoints",
    "joint_rule",
    "DEFAULT_QUAD",
]

_SQRT2PI = np.sqrt(2.0 * np.pi)
#: number fields of the index: z ~ N(0, 1) ("real") or z ~ CN(0, 1) ("complex", rules in rho = |z|)
FIELDS = ("real", "complex")


@dataclass(frozen=True)
class QuadSpec:
    """Quadrature settings (frozen; validated on construction: ValueError naming the field and its range).

    Attributes
    ----------
    n : int         Gauss-Legendre nodes per panel (default 16).
    levels : int    number of geometrically graded panels towards each end of a piece (default 10).
    ratio : float   grading ratio (panel sizes shrink by this factor towards an end; default 0.2,
                    so the smallest panel is ratio**levels ~ 1e-7 of the piece's end zone).
    n_core : int    equal panels in the middle 3/4 of a piece (default 6).
    L : float       truncation |z|, |eps| <= L (default 11; the Gaussian tail beyond is < 1e-26).
    n_noise : int   Gauss-Hermite nodes for smooth noise integrals (default 60).
    nz_noise : int  Gauss-Legendre nodes per z panel for the label densities of noisy models (default 10).
    zwidth : float  those z panels have width <= min(0.25, zwidth * sigma/|g'(z)|) (default 1).
    """

    n: int = 16
    levels: int = 10
    ratio: float = 0.2
    n_core: int = 6
    L: float = 11.0
    n_noise: int = 60
    nz_noise: int = 10
    zwidth: float = 1.0

    def __post_init__(self):
        for name, lo in (("n", 1), ("levels", 0), ("n_core", 1), ("n_noise", 1), ("nz_noise", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"QuadSpec.{name} must be an integer >= {lo}; got {v!r}")
        if not 0.0 < self.ratio < 1.0:
            raise ValueError(f"QuadSpec.ratio must be in (0, 1); got {self.ratio!r}")
        for name in ("L", "zwidth"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float, np.number)) and 0.0 < v < math.inf):
                raise ValueError(f"QuadSpec.{name} must be a finite number > 0; got {v!r}")

    def finer(self, factor: int = 2) -> QuadSpec:
        """A finer rule (more nodes per panel, more panels, deeper grading), for accuracy checks."""
        return QuadSpec(
            n=self.n * factor,
            levels=self.levels + 4 * factor,
            ratio=self.ratio,
            n_core=self.n_core * factor,
            L=self.L + 1.0,
            n_noise=self.n_noise * factor,
            nz_noise=self.nz_noise * factor,
            zwidth=self.zwidth / factor,
        )


DEFAULT_QUAD = QuadSpec()


@lru_cache(maxsize=64)
def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1]."""
    x, w = leggauss(int(n))
    return 0.5 * (x + 1.0), 0.5 * w


@lru_cache(maxsize=64)
def graded_rule(n: int = 16, levels: int = 10, ratio: float = 0.2, n_core: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre rule on [0, 1], geometrically graded towards 0 and 1.

    [0, 1/8] is cut at 1/8 * ratio**k (k = 1..levels), likewise [7/8, 1] towards 1, and
    [1/8, 7/8] into ``n_core`` equal panels; ``n`` Gauss-Legendre nodes per panel.  Integrands
    analytic inside the piece but singular at (or just beyond) an end converge geometrically.
    """
    e = 0.125
    left = [0.0] + [e * ratio**k for k in range(levels, 0, -1)] + [e]
    core = list(np.linspace(e, 1 - e, n_core + 1)[1:])
    right = [1 - e * ratio**k for k in range(1, levels + 1)] + [1.0]
    pts = np.array(left + core + right)
    x0, w0 = gauss_legendre(n)
    a, b = pts[:-1], pts[1:]
    x = (a[:, None] + (b - a)[:, None] * x0[None, :]).ravel()
    w = ((b - a)[:, None] * w0[None, :]).ravel()
    return x, w


def composite_rule(points: Sequence[float], quad: QuadSpec = DEFAULT_QUAD) -> tuple[np.ndarray, np.ndarray]:
    """Graded composite Gauss-Legendre rule (Lebesgue measure) on [points[0], points[-1]],
    with each interval [p_k, p_{k+1}] graded towards both of its ends."""
    p = np.unique(np.asarray(points, dtype=float))
    x0, w0 = graded_rule(quad.n, quad.levels, quad.ratio, quad.n_core)
    a, b = p[:-1], p[1:]
    x = (a[:, None] + (b - a)[:, None] * x0[None, :]).ravel()
    w = ((b - a)[:, None] * w0[None, :]).ravel()
    return x, w


def normal_rule(breaks: Sequence[float] = (), quad: QuadSpec = DEFAULT_QUAD) -> tuple[np.ndarray, np.ndarray]:
    """Rule for E[h(z)], z ~ N(0, 1): graded Gauss-Legendre on [-L, L] split at ``breaks`` and 0."""
    L = quad.L
    pts = [-L, 0.0, L] + [float(b) for b in breaks if -L < b < L]
    x, w = composite_rule(pts, quad)
    return x, w * np.exp(-0.5 * x * x) / _SQRT2PI


def radial_rule(breaks: Sequence[float] = (), quad: QuadSpec = DEFAULT_QUAD) -> tuple[np.ndarray, np.ndarray]:
    """Rule for E[h(|z|)], z ~ CN(0, 1): graded Gauss-Legendre in rho = |z| on [0, L] split at the ``breaks``
    in (0, L), with the density 2 rho exp(-rho^2) of rho (|z|^2 ~ Exp(1); the tail beyond L = 11 is e^-121)."""
    L = quad.L
    pts = [0.0, L] + [float(b) for b in breaks if 0.0 < b < L]
    x, w = composite_rule(pts, quad)
    return x, w * 2.0 * x * np.exp(-x * x)


def _check_field(field: str) -> str:
    if field not in FIELDS:
        raise ValueError(f"field must be one of {list(FIELDS)}; got {field!r}")
    return field


def index_rule(breaks: Sequence[float] = (), quad: QuadSpec = DEFAULT_QUAD, field: str = "real"):
    """The rule of the index: :func:`normal_rule` for ``field="real"``, :func:`radial_rule` (nodes rho = |z|)
    for ``field="complex"``."""
    if _check_field(field) == "complex":
        return radial_rule(breaks, quad)
    return normal_rule(breaks, quad)


def z_breakpoints(model, y_breaks: Sequence[float] = (), L: float = 11.0, grid: int = 20001) -> list[float]:
    """z in (-L, L) where a noiseless additive link g(z) equals a y-breakpoint, plus the kinks of g.

    Sign changes of g(z) - b are located on a uniform grid and refined by brentq
    (xtol 1e-15); grid points where g(z) = b exactly (touching zeros, e.g. z^2 = 0) are
    kept as well.
    """
    out = [float(k) for k in getattr(model, "breakpoints", ())]
    link = getattr(model, "link", None)
    if link is None or not y_breaks:
        return sorted(set(out))
    zg = np.linspace(-L, L, grid)
    g = np.asarray(link(zg), dtype=float)
    for b in y_breaks:
        s = g - b
        zero = s == 0.0
        # ends of runs of exact zeros (an isolated touching zero, or the ends of a flat piece)
        ends = zero & ~(np.r_[False, zero[:-1]] & np.r_[zero[1:], False])
        out.extend(zg[np.nonzero(ends)[0]].tolist())
        idx = np.nonzero(s[:-1] * s[1:] < 0)[0]
        for i in idx:
            f = lambda t, b=b: float(link(np.array([t]))[0]) - b
            out.append(brentq(f, zg[i], zg[i + 1], xtol=1e-15, rtol=1e-15))
    return sorted(set(out))


@dataclass(frozen=True)
class JointRule:
    """Flat discrete approximation of the law of (z, y): E[h(z, y)] ~= sum_k w_k h(z_k, y_k).

    Attributes
    ----------
    z, y, w : arrays of equal length (weights sum to 1 up to the quadrature error).
    kind : str  ('noiseless', 'noisy', 'binary')
    """

    z: np.ndarray
    y: np.ndarray
    w: np.ndarray
    kind: str = "noiseless"

    def expect(self, fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
        """E[fn(z, y)]; ``fn`` is vectorised; it may return leading axes, e.g. ``np.stack([f1, f2])``
        (the last axis runs over the nodes)."""
        v = np.asarray(fn(self.z, self.y), dtype=float)
        return v @ self.w

    @property
    def size(self) -> int:
        return self.w.size


def joint_rule(model, y_breaks: Sequence[float] = (), quad: QuadSpec = DEFAULT_QUAD, field: str = "real") -> JointRule:
    """Quadrature rule for (z, y), z ~ N(0,1), y | z from ``model`` (see module docstring).

    Parameters
    ----------
    model : sidmft.models.Model
    y_breaks : y-values where the integrand (through T(y)) is not smooth; panels are split
        where y crosses them.
    quad : QuadSpec
    field : {"real", "complex"}
        ``"complex"``: z ~ CN(0, 1) and an even model; the rule is for (rho, y) with rho = |z| >= 0
        (:func:`radial_rule`), and ``JointRule.z`` holds rho.
    """

    _check_field(field)
    y_breaks = tuple(float(b) for b in y_breaks if np.isfinite(b))
    if isinstance(model, BinaryModel):
        z, wz = index_rule(tuple(model.breakpoints) + (0.0,), quad, field)
        Y, W = model.label_nodes(z)
        zz = np.repeat(z, Y.shape[-1])
        return JointRule(zz, Y.ravel(), (wz[:, None] * W).ravel(), "binary")
    if isinstance(model, AdditiveModel) and model.noise == 0:
        z, wz = index_rule(z_breakpoints(model, y_breaks, quad.L), quad, field)
        y = np.asarray(model.link(z), dtype=float)
        return JointRule(z, y, wz, "noiseless")
    if isinstance(model, AdditiveModel):
        return _noisy_joint_rule(model, y_breaks, quad, field)
    # generic model: its own label rule on a graded z rule
    z, wz = index_rule(tuple(getattr(model, "breakpoints", ())), quad, field)
    Y, W = model.label_nodes(z, quad.n_noise)
    return JointRule(np.repeat(z, Y.shape[-1]), Y.ravel(), (wz[:, None] * W).ravel(), "generic")


def _noisy_joint_rule(model, y_breaks: tuple, quad: QuadSpec, field: str) -> JointRule:
    """:func:`joint_rule` of an additive model with noise (iterated rule, see the module docstring)."""
    sig = model.noise
    # outer z rule: split at the kinks of g (the eps-integrated integrand is smooth elsewhere)
    outer = dataclasses.replace(quad, levels=max(quad.levels // 2, 2))
    z, wz = index_rule(z_breakpoints(model, y_breaks, quad.L), outer, field)
    g = np.asarray(model.link(z), dtype=float)
    if not y_breaks:
        e, we = gauss_hermite(quad.n_noise)
        y = g[:, None] + sig * e[None, :]
        w = wz[:, None] * we[None, :]
        return JointRule(np.repeat(z, e.size), y.ravel(), w.ravel(), "noisy")
    L = quad.L
    eb = np.clip((np.asarray(y_breaks)[None, :] - g[:, None]) / sig, -L, L)  # (nz, K)
    ends = np.sort(np.concatenate([np.full((z.size, 1), -L), eb, np.full((z.size, 1), L)], axis=1), axis=1)
    x0, w0 = graded_rule(quad.n, quad.levels, quad.ratio, quad.n_core)
    a, b = ends[:, :-1], ends[:, 1:]  # (nz, K+1)
    e = a[..., None] + (b - a)[..., None] * x0  # (nz, K+1, m)
    we = (b - a)[..., None] * w0 * np.exp(-0.5 * e * e) / _SQRT2PI
    y = g[:, None, None] + sig * e
    w = wz[:, None, None] * we
    keep = w.ravel() > 0
    zz = np.broadcast_to(z[:, None, None], e.shape).ravel()
    return JointRule(zz[keep], y.ravel()[keep], w.ravel()[keep], "noisy")


# ------------------------------------------------------------------------------------- moment rules
@dataclass(frozen=True)
class MomentRule:
    """Label nodes y_j with weights W[j, k] such that E[h(y) z^k] ~= sum_j W[j, k] h(y_j), k = 0, 1, 2.

    The reduction used by every functional that is polynomial (degree <= 2) in z given y, such
    as the spectral psi, phi of docs/theory.md §1.1 and the moments of §1.3.
    """

    y: np.ndarray
    W: np.ndarray  # (N, 3)
    kind: str = "noiseless"

    @property
    def size(self) -> int:
        return self.y.size

    def expect(self, h: Callable[[np.ndarray], np.ndarray], k: int = 0):
        """E[h(y) z^k]."""
        return self.W[:, k] @ np.asarray(h(self.y), dtype=float)


def _critical_values(model, L: float, grid: int = 20001) -> list[float]:
    """g at the kinks of g and at the points where g' changes sign or vanishes on a piece."""
    zg = np.linspace(-L, L, grid)
    g = np.asarray(model.link(zg), dtype=float)
    dg = np.diff(g)
    out = [float(model.link(np.array([k]))[0]) for k in getattr(model, "breakpoints", ())]
    sgn = np.sign(dg)
    idx = np.nonzero(sgn[:-1] != sgn[1:])[0]
    out.extend(g[idx + 1].tolist())
    return out


def _adaptive_z_edges(model, L: float, hmax: float, c: float, lo: Optional[float] = None) -> np.ndarray:
    """Panel edges on [lo, L] (lo = -L by default; split at the link's kinks) with width <= min(hmax, c*sigma/|g'|)."""
    lo = -L if lo is None else lo
    sig = model.noise
    zg = np.linspace(lo, L, 40001 if lo == -L else 20001)
    g = np.asarray(model.link(zg), dtype=float)
    gp = np.abs(np.gradient(g, zg))
    # local max of |g'| over a window of +-0.05 so the width is safe inside a panel
    k = 100
    pad = np.pad(gp, k, mode="edge")
    from scipy.ndimage import maximum_filter1d

    gpm = maximum_filter1d(pad, 2 * k + 1)[k:-k]
    h = np.minimum(hmax, c * sig / np.maximum(gpm, 1e-300))
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (1 / h[1:] + 1 / h[:-1]) * np.diff(zg))])
    edges = [lo, L] + [float(b) for b in getattr(model, "breakpoints", ()) if lo < b < L]
    n = int(np.ceil(cum[-1]))
    edges.extend(np.interp(np.arange(1, n), cum, zg).tolist())
    return np.unique(edges)


def _z_powers(z: np.ndarray, field: str) -> np.ndarray:
    """(1, z, z^2) per node, shape (nz, 3); complex (nodes rho = |z|): (1, 0, rho^2) since E[h(y) z] = 0."""
    if field == "complex":
        return np.stack([np.ones_like(z), np.zeros_like(z), z * z], axis=1)
    return np.stack([np.ones_like(z), z, z * z], axis=1)


def moment_rule(
    model, y_breaks: Sequence[float] = (), quad: QuadSpec = DEFAULT_QUAD, field: str = "real"
) -> MomentRule:
    """:class:`MomentRule` for the label law of ``model`` (see module docstring).

    * noiseless additive: the graded z rule of :func:`joint_rule`, y_j = g(z_j), W = w_j z_j^k;
    * binary: the two labels, W[+-, k] = E[z^k 1{y = +-1}] by the graded z rule;
    * additive with noise sigma > 0: a graded composite Gauss-Legendre rule in y, split at the
      breakpoints of T and at g(kinks), g(critical points) (where the density of y has
      sigma-scale structure), times the densities
      q_k(y) = E_z[z^k phi_sigma(y - g(z))] computed by composite Gauss-Legendre in z
      (10 nodes per panel, panel width <= min(0.25, sigma/|g'(z)|), |z| <= 9.5).

    ``field="complex"`` (z ~ CN(0, 1), even model): the same rules in rho = |z| with the density
    2 rho exp(-rho^2) on [0, L]; W[:, 1] = 0 and W[:, 2] = E[h(y) |z|^2].
    """

    _check_field(field)
    y_breaks = tuple(float(b) for b in y_breaks if np.isfinite(b))
    if isinstance(model, BinaryModel):
        z, wz = index_rule(tuple(model.breakpoints) + (0.0,), quad, field)
        Y, Wl = model.label_nodes(z)
        zk = _z_powers(z, field)  # (nz, 3)
        W = np.einsum("i,ij,ik->jk", wz, Wl, zk)
        return MomentRule(Y[0].copy(), W, "binary")
    if isinstance(model, AdditiveModel) and model.noise == 0:
        r = joint_rule(model, y_breaks, quad, field)
        return MomentRule(r.y, r.w[:, None] * _z_powers(r.z, field), "noiseless")
    if isinstance(model, AdditiveModel):
        return _noisy_moment_rule(model, y_breaks, quad, field)
    r = joint_rule(model, y_breaks, quad, field)
    return MomentRule(r.y, r.w[:, None] * _z_powers(r.z, field), r.kind)


#: z values whose images g(z) split the label rule of a noisy additive model (:func:`_noisy_moment_rule`)
_BULK_Z = (-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0)


def _noisy_moment_rule(model, y_breaks: tuple, quad: QuadSpec, field: str) -> MomentRule:
    """:func:`moment_rule` of an additive model with noise (label densities q_k(y), module docstring)."""
    sig = model.noise
    Lz = min(quad.L, 9.5)
    edges = _adaptive_z_edges(model, Lz, 0.25, quad.zwidth, lo=0.0 if field == "complex" else None)
    x0, w0 = gauss_legendre(quad.nz_noise)
    a, b = edges[:-1], edges[1:]
    z = (a[:, None] + (b - a)[:, None] * x0).ravel()
    if field == "complex":
        wz = ((b - a)[:, None] * w0).ravel() * 2.0 * z * np.exp(-z * z)
    else:
        wz = ((b - a)[:, None] * w0).ravel() * np.exp(-0.5 * z * z) / _SQRT2PI
    g = np.asarray(model.link(z), dtype=float)
    ylo, yhi = float(g.min()) - 10 * sig, float(g.max()) + 10 * sig
    # the labels' mass sits near g(z) for the bulk of z: split there too, so that a link with a wide range (z^3:
    # |y| up to 860) still gets fine panels where y lives (without, E[1] came out 0.55 for z^3 at noise 0.1)
    bulk = np.asarray(model.link(np.array(_BULK_Z)), dtype=float).tolist()
    splits = [ylo, yhi] + [v for v in list(y_breaks) + _critical_values(model, Lz) + bulk if ylo < v < yhi]
    y, wy = composite_rule(splits, quad)
    zk = np.stack([wz, 0.0 * wz if field == "complex" else wz * z, wz * z * z], axis=1)  # (nz, 3)
    W = np.empty((y.size, 3))
    order = np.argsort(y)
    for s in range(0, y.size, 32):
        sl = order[s : s + 32]
        ys = y[sl]
        near = (g > ys.min() - 10 * sig) & (g < ys.max() + 10 * sig)  # the kernel is < 2e-22 elsewhere
        K = np.exp(-0.5 * ((ys[:, None] - g[None, near]) / sig) ** 2) / (sig * _SQRT2PI)
        W[sl] = (K @ zk[near]) * wy[sl, None]
    return MomentRule(y, W, "noisy")
