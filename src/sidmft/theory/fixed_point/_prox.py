"""Proximal maps r = prox_{gamma l(y, .)}(w) used by the fixed point (docs/theory.md §3).

The proximal objective is

    P(r) = (r - w)^2 / (2 gamma) + l(y, r),      stationarity  r + gamma l'(y, r) = w.

For a convex l the stationary point is unique.  For a non-convex l (the intensity loss
l = (r^2 - y)^2/4 has l'' = 3r^2 - y < 0 near r = 0 when y > 0) the equation can have several
roots and a *root rule* picks one:

``"global"``
    the global minimiser of P (the true proximal map);
``"same_sign"``
    the local minimiser of P (1 + gamma l'' > 0) with sign(r) = sign(w) -- the branch a sample
    reaches when GD moves it continuously from a start with the sign of w.  When no such local
    minimiser exists it falls back to the global one.

**For an even loss, l(y, -r) = l(y, r), the two rules coincide exactly.**  Proof:
P(r) - P(-r) = -2 r w / gamma, so for w > 0 every r > 0 beats -r and the global minimiser has
sign(r) = sign(w); for the intensity cubic p(r) = gamma r^3 + (1 - gamma y) r - w with w > 0,
p(0) = -w < 0 and p has a single critical point on r > 0, so there is exactly one positive
root and it is a local minimiser (p changes sign from - to +).  The intensity and amplitude
losses are even, so for them 'same_sign' = 'global'; both select r with sign(r) = sign(w) and
the map jumps at w = 0 when gamma y > 1.  The rules differ only for non-even losses.

Functions
---------
prox_generic(loss, y, w, gamma, root)  vectorised safeguarded (bracketed) Newton, multi-bracket (one
                                       bracket for a loss declared ``convex``)
prox(loss, y, w, gamma, root)       dispatcher: the loss's declared ``prox`` (the closed forms of
                                    :mod:`sidmft.losses._prox`) if it has one, else the generic
                                    solver; every answer is checked against r + gamma l'(y, r) = w
                                    and recomputed generically when the check fails.
"""

from __future__ import annotations

import inspect

import numpy as np

from ...losses._prox import ROOT_RULES, check_root, prox_amplitude, prox_intensity

__all__ = ["ROOT_RULES", "prox", "prox_intensity", "prox_amplitude", "prox_generic", "prox_objective"]


def prox_objective(loss, y, w, gamma, r):
    """P(r) = (r - w)^2/(2 gamma) + l(y, r)."""
    return (r - w) ** 2 / (2.0 * gamma) + loss.value(y, r)


# ------------------------------------------------------------------------------------ generic
def _bracket_newton(loss, y, w, gamma, lo, hi, iters=100, tol=1e-13):
    """Root of phi(r) = r + gamma l'(y, r) - w in [lo, hi] with phi(lo) <= 0 <= phi(hi).

    Vectorised Newton with bisection safeguard (rtsafe); converged points leave the active set."""
    lo = np.array(lo, dtype=float)
    hi = np.array(hi, dtype=float)
    r = 0.5 * (lo + hi)
    act = np.arange(r.size)
    for _ in range(iters):
        ya, wa, ra, la, ha = y[act], w[act], r[act], lo[act], hi[act]
        phi = ra + gamma * loss.grad(ya, ra) - wa
        dphi = 1.0 + gamma * loss.hess(ya, ra)
        neg = phi < 0
        la = np.where(neg, ra, la)
        ha = np.where(neg, ha, ra)
        with np.errstate(divide="ignore", invalid="ignore"):
            rn = ra - phi / dphi
        bad = ~np.isfinite(rn) | (rn <= la) | (rn >= ha) | (dphi <= 0)
        rn = np.where(bad, 0.5 * (la + ha), rn)
        scale = 1.0 + np.abs(ra)
        done = (
            (np.abs(rn - ra) <= tol * scale) | (np.abs(phi) <= 1e-15 * (scale + np.abs(wa))) | (ha - la <= tol * scale)
        )
        r[act], lo[act], hi[act] = np.where(np.abs(phi) <= 1e-15 * (scale + np.abs(wa)), ra, rn), la, ha
        act = act[~done]
        if act.size == 0:
            break
    return r


def prox_generic(loss, y, w, gamma, root="global", n_brackets=12, iters=100):
    """Proximal map for any loss by safeguarded Newton.

    phi(r) = r + gamma l'(y, r) - w is positive for large r and negative for small r (the
    prox objective is coercive).  An outer bracket [w - B, w + B] is grown until phi changes
    sign, split into ``n_brackets`` sub-intervals, and every sub-interval where phi goes from
    - to + (a local minimiser of P) is refined by bracketed Newton.  The rule then picks the
    candidate: 'global' the smallest P, 'same_sign' the smallest P among candidates with
    sign(r) = sign(w) (the global one if there is none).  For convex losses there is one
    candidate and the answer is the unique root.
    """
    check_root(root)
    y, w = np.broadcast_arrays(np.asarray(y, dtype=float), np.asarray(w, dtype=float))
    shape = y.shape
    y, w = y.ravel(), w.ravel()
    gamma = float(gamma)

    def phi(r):
        return r + gamma * loss.grad(y, r) - w

    B = np.full(w.shape, 1.0) + np.abs(w)
    for _ in range(60):
        okb = (phi(w - B) < 0) & (phi(w + B) > 0)
        if np.all(okb):
            break
        B = np.where(okb, B, 2.0 * B)
    else:
        raise RuntimeError(
            "prox_generic: could not bracket r + gamma l'(y, r) = w "
            "(is the loss bounded below and the prox objective coercive?)"
        )
    if loss.convex:  # declared convex: unique root, no scan
        return _bracket_newton(loss, y, w, gamma, w - B, w + B, iters).reshape(shape)
    grid = w[:, None] + B[:, None] * np.linspace(-1.0, 1.0, n_brackets + 1)[None, :]
    yy = np.broadcast_to(y[:, None], grid.shape)
    ww = np.broadcast_to(w[:, None], grid.shape)
    pg = grid + gamma * loss.grad(yy, grid) - ww
    up = (pg[:, :-1] < 0) & (pg[:, 1:] >= 0)
    # fast path: phi increasing on the scan (1 + gamma l'' > 0 and a single sign change) -> one root
    convex = (up.sum(axis=1) == 1) & np.all(1.0 + gamma * loss.hess(yy, grid) > 0, axis=1)
    out = np.full(w.shape, np.nan)
    if np.any(convex):
        out[convex] = _bracket_newton(loss, y[convex], w[convex], gamma, (w - B)[convex], (w + B)[convex], iters)
    if np.all(convex):
        return out.reshape(shape)
    up[convex] = False
    rows, cols = np.nonzero(up)
    cand = _bracket_newton(loss, y[rows], w[rows], gamma, grid[rows, cols], grid[rows, cols + 1], iters)
    P = prox_objective(loss, y[rows], w[rows], gamma, cand)
    if root == "same_sign":
        wrong = np.sign(cand) * np.sign(w[rows]) < 0
        # penalise wrong-sign candidates if the row has a right-sign one
        has_right = np.zeros(w.shape, bool)
        np.logical_or.at(has_right, rows, ~wrong)
        P = np.where(wrong & has_right[rows], np.inf, P)
    best = np.full(w.shape, np.inf)
    np.minimum.at(best, rows, P)
    pick = P <= best[rows]
    out[rows[pick]] = cand[pick]
    return out.reshape(shape)


# ------------------------------------------------------------------------------------ dispatcher
def _declared_prox(loss, y, w, gamma, root):
    f = loss.prox
    try:
        if "root" in inspect.signature(f).parameters:
            return f(y, w, gamma, root=root)
    except (TypeError, ValueError):
        pass
    return f(y, w, gamma)


def prox(loss, y, w, gamma, root="global", check_tol=1e-9):
    """r = prox_{gamma l(y, .)}(w) for a registered :class:`~sidmft.losses.Loss`.

    Uses the loss's declared ``prox`` (the closed forms of the built-in losses: :mod:`sidmft.losses._prox`)
    when it has one, else :func:`prox_generic`.  The stationarity residual |r + gamma l'(y, r) - w| /
    (1 + |w|) is checked; where it exceeds ``check_tol`` the generic solver is used for those points.
    """
    check_root(root)
    y, w = np.broadcast_arrays(np.asarray(y, dtype=float), np.asarray(w, dtype=float))
    if loss.prox is None:
        return prox_generic(loss, y, w, gamma, root)
    r = np.asarray(_declared_prox(loss, y, w, gamma, root), dtype=float)
    r = np.broadcast_to(r, y.shape).copy()
    res = np.abs(r + gamma * loss.grad(y, r) - w) / (1.0 + np.abs(w) + np.abs(r) ** 3 * gamma)
    bad = ~(res <= check_tol)
    if np.any(bad):
        r[bad] = prox_generic(loss, y[bad], w[bad], gamma, root)
    return r
