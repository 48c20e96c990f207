"""Closed-form proximal maps of the built-in losses (declared by the losses, read by the fixed point).

The proximal objective is P(r) = (r - w)^2 / (2 gamma) + l(y, r), stationarity r + gamma l'(y, r) = w.
For a non-convex l the equation can have several roots; a root rule picks one (``"global"``: the global
minimiser of P; ``"same_sign"``: the local minimiser with sign(r) = sign(w)).  For an even loss
P(r) - P(-r) = -2 r w / gamma, so both rules select sign(r) = sign(w) (proof in
:mod:`sidmft.theory.fixed_point._prox`).

This module imports numpy only (problem room).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ROOT_RULES", "check_root", "prox_intensity", "prox_amplitude", "prox_truncated_amplitude", "prox_square"]

ROOT_RULES = ("global", "same_sign")


def check_root(root):
    """ValueError unless ``root`` is one of :data:`ROOT_RULES`."""
    if root not in ROOT_RULES:
        raise ValueError(f"root must be one of {list(ROOT_RULES)}; got {root!r}")


# ------------------------------------------------------------------------------------ intensity
def prox_intensity(y, w, gamma, root="global"):
    """Proximal map of gamma * (r^2 - y)^2 / 4: root of gamma r^3 + (1 - gamma y) r - w = 0.

    Both root rules give r = sign(w) * (largest real root of gamma r^3 + (1 - gamma y) r - |w|)
    (see the module docstring: the loss is even).  The largest root is computed in closed form
    (Cardano when the cubic has one real root, the trigonometric form when it has three) and
    polished with two Newton steps, so |r + gamma l'(y, r) - w| is at rounding level.
    At w = 0 with gamma y > 1 (a tie between +-sqrt(y - 1/gamma)) the positive root is returned.
    """
    check_root(root)
    y, w = np.broadcast_arrays(np.asarray(y, dtype=float), np.asarray(w, dtype=float))
    gamma = float(gamma)
    if not gamma > 0:
        raise ValueError(f"gamma must be > 0; got {gamma!r}")
    a = np.abs(w)
    # depressed cubic r^3 + p r + q = 0 with q = -|w|/gamma <= 0
    p = (1.0 - gamma * y) / gamma
    q = -a / gamma
    D = (q * 0.5) ** 2 + (p / 3.0) ** 3
    r = np.empty(y.shape)
    one = D >= 0
    if np.any(one):
        sD = np.sqrt(D[one])
        hq = -0.5 * q[one]  # >= 0
        u = np.cbrt(hq + sD)
        # v = cbrt(hq - sD) computed without cancellation: u v = -p/3
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(u != 0, -p[one] / (3.0 * u), 0.0)
        r[one] = u + v
    three = ~one
    if np.any(three):
        pp = p[three]  # < 0 here
        c = np.sqrt(-pp / 3.0)
        arg = np.clip((1.5 * q[three] / pp) * np.sqrt(-3.0 / pp), -1.0, 1.0)
        r[three] = 2.0 * c * np.cos(np.arccos(arg) / 3.0)
    # Newton polish on f(r) = gamma r^3 + (1 - gamma y) r - |w| (largest root: f' >= 0)
    for _ in range(2):
        f = gamma * r**3 + (1.0 - gamma * y) * r - a
        fp = 3.0 * gamma * r * r + 1.0 - gamma * y
        ok = fp > 1e-8 * (1.0 + np.abs(gamma * y))
        r = np.where(ok, r - f / np.where(ok, fp, 1.0), r)
    return np.where(w < 0, -r, r)


# ------------------------------------------------------------------------------------ amplitude
def prox_amplitude(y, w, gamma, root="global"):
    """Proximal map of gamma * (|r| - sqrt(y_+))^2 / 2: r = (w + gamma sqrt(y_+) sign(w)) / (1 + gamma).

    The loss is even, so both root rules select sign(r) = sign(w); r = 0 (a concave kink) is
    never a minimiser when y > 0.  w = 0 returns the positive root.
    """
    check_root(root)
    y, w = np.broadcast_arrays(np.asarray(y, dtype=float), np.asarray(w, dtype=float))
    s = np.sqrt(np.maximum(y, 0.0))
    sgn = np.where(w < 0, -1.0, 1.0)
    return (w + gamma * s * sgn) / (1.0 + gamma)


def prox_square(y, w, gamma, root="global"):
    """Proximal map of gamma (r - y)^2 / 2: r = (w + gamma y) / (1 + gamma) (convex: one root)."""
    check_root(root)
    return (np.asarray(w, dtype=float) + gamma * np.asarray(y, dtype=float)) / (1.0 + gamma)


def prox_truncated_amplitude(y, w, gamma, root="global", trunc=0.7):
    """r solving r + gamma g(y, r) = w for the truncated amplitude gradient g = (r - sqrt(y_+) sign r)
    1{|r| >= c}, c = sqrt(y_+)/(1 + trunc) (Truncated Amplitude Flow).

    g is the derivative of the continuous potential l_T(r) = 0 for |r| < c and (|r| - sqrt(y))^2/2 -
    (c - sqrt(y))^2/2 otherwise.  Candidates: r = w when |w| < c, and r = (w + gamma sqrt(y) sign w)/(1 +
    gamma) when that has |r| >= c; both rules take the one of least P(r) = (r - w)^2/(2 gamma) + l_T(r) (the
    potential is even, so the sign of r is the sign of w either way).
    """
    check_root(root)
    y, w = np.broadcast_arrays(np.asarray(y, dtype=float), np.asarray(w, dtype=float))
    s = np.sqrt(np.maximum(y, 0.0))
    c = s / (1.0 + trunc)
    sgn = np.where(w < 0, -1.0, 1.0)
    out = (w + gamma * s * sgn) / (1.0 + gamma)
    out_ok = np.abs(out) >= c
    inner_ok = np.abs(w) < c
    p_out = (out - w) ** 2 / (2.0 * gamma) + 0.5 * (np.abs(out) - s) ** 2 - 0.5 * (c - s) ** 2
    take_inner = inner_ok & (~out_ok | (0.0 < p_out))
    return np.where(take_inner, w, out)
