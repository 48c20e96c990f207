"""The built-in losses (their declarations; :mod:`sidmft.losses` describes the fields)."""

from __future__ import annotations

import math

import numpy as np

from ._core import Loss, register_loss
from ._prox import prox_amplitude, prox_intensity, prox_square, prox_truncated_amplitude

#: gamma of Truncated Amplitude Flow (Wang, Giannakis & Eldar 2016): g = 0 where |r| < sqrt(y)/(1 + gamma)
TAF_GAMMA = 0.7


# --- intensity (Wirtinger flow): (r^2 - y)^2 / 4 ---------------------------------------
def _int_scalar_grad(y, r):
    return (r * r - y) * r


register_loss(
    Loss(
        "intensity",
        value=lambda y, r, xp=np: 0.25 * (r * r - y) ** 2,
        grad=lambda y, r, xp=np: (r * r - y) * r,
        hess=lambda y, r: 3.0 * r * r - y,
        scalar_grad=_int_scalar_grad,
        prox=prox_intensity,
        array_namespace=True,
        jumps=(),
        even=True,
        # gamma y > 1: the prox cubic has three roots near w = 0 (the map jumps there)
        prox_breaks=lambda gamma: (1.0 / gamma,),
        title="intensity",
        description="(r^2 - y)^2 / 4, Wirtinger flow",
    )
)


# --- amplitude (reshaped WF): (|r| - sqrt(y_+))^2 / 2 ----------------------------------
def _amp_scalar_grad(y, r):
    s = math.sqrt(y) if y > 0.0 else 0.0
    if r > 0.0:
        return r - s
    elif r < 0.0:
        return r + s
    return 0.0


register_loss(
    Loss(
        "amplitude",
        value=lambda y, r, xp=np: 0.5 * (xp.abs(r) - xp.sqrt(xp.maximum(y, 0.0))) ** 2,
        grad=lambda y, r, xp=np: r - xp.sqrt(xp.maximum(y, 0.0)) * xp.sign(r),
        # g' = 1 away from r = 0, where g jumps by 2 sqrt(y)
        hess=lambda y, r: np.ones(np.broadcast(y, r).shape),
        scalar_grad=_amp_scalar_grad,
        prox=prox_amplitude,
        bounded_hessian=True,
        array_namespace=True,
        jumps=(0.0,),
        even=True,
        title="amplitude",
        description="(|r| - sqrt(y))^2 / 2, reshaped Wirtinger flow; g jumps at r = 0",
    )
)


# --- pseudo-Huber amplitude: sqrt(1 + e^2) - 1, e = |r| - sqrt(y_+) -------------------------------
# A robust amplitude loss: g = psi(e) sign(r) with psi(e) = e / sqrt(1 + e^2) bounded by 1, so g jumps at r = 0
# by 2 psi(-sqrt(y)) (like the amplitude loss); g' = (1 + e^2)^(-3/2) is smooth away from r = 0.
def _pha_value(y, r, xp=np):
    e = xp.abs(r) - xp.sqrt(xp.maximum(y, 0.0))
    return xp.sqrt(1.0 + e * e) - 1.0


def _pha_grad(y, r, xp=np):
    e = xp.abs(r) - xp.sqrt(xp.maximum(y, 0.0))
    return e / xp.sqrt(1.0 + e * e) * xp.sign(r)


def _pha_hess(y, r):
    e = np.abs(r) - np.sqrt(np.maximum(y, 0.0))
    return (1.0 + e * e) ** -1.5


def _pha_scalar_grad(y, r):
    s = math.sqrt(y) if y > 0.0 else 0.0
    if r > 0.0:
        e = r - s
        return e / math.sqrt(1.0 + e * e)
    elif r < 0.0:
        e = -r - s
        return -e / math.sqrt(1.0 + e * e)
    return 0.0


register_loss(
    Loss(
        "pseudo-huber-amplitude",
        value=_pha_value,
        grad=_pha_grad,
        hess=_pha_hess,
        scalar_grad=_pha_scalar_grad,
        bounded_hessian=True,
        array_namespace=True,
        jumps=(0.0,),
        even=True,
        title="pseudo-Huber amplitude",
        description="sqrt(1 + (|r| - sqrt(y))^2) - 1, a robust amplitude loss; g jumps at r = 0",
    )
)


# --- truncated amplitude (Truncated Amplitude Flow, Wang-Giannakis-Eldar 2016) ---------------------
# g = (r - sqrt(y) sign r) 1{|r| >= sqrt(y)/(1 + gamma)}: samples whose fitted |r| is far below sqrt(y) (likely a
# wrong sign) are dropped from the gradient.  g jumps at r = 0 and at |r| = sqrt(y)/(1 + gamma); its antiderivative
# (the potential) is 0 inside and (|r| - sqrt(y))^2/2 - (c - sqrt(y))^2/2 outside; the reported value is the
# amplitude loss.
def _taf_cut(y, xp=np):
    return xp.sqrt(xp.maximum(y, 0.0)) / (1.0 + TAF_GAMMA)


def _taf_grad(y, r, xp=np):
    keep = xp.abs(r) >= _taf_cut(y, xp)
    return xp.where(keep, r - xp.sqrt(xp.maximum(y, 0.0)) * xp.sign(r), 0.0)


def _taf_hess(y, r):
    return (np.abs(r) >= _taf_cut(y)).astype(float) * np.ones(np.broadcast(y, r).shape)


def _taf_potential(y, r):
    s = np.sqrt(np.maximum(y, 0.0))
    c = s / (1.0 + TAF_GAMMA)
    return np.where(np.abs(r) >= c, 0.5 * (np.abs(r) - s) ** 2 - 0.5 * (c - s) ** 2, 0.0)


def _taf_scalar_grad(y, r):
    s = math.sqrt(y) if y > 0.0 else 0.0
    if abs(r) < s / (1.0 + TAF_GAMMA):
        return 0.0
    if r > 0.0:
        return r - s
    elif r < 0.0:
        return r + s
    return 0.0


def _taf_jumps(y):
    c = _taf_cut(np.asarray(y, dtype=float))
    return (np.zeros_like(c), c, -c)


register_loss(
    Loss(
        "truncated-amplitude",
        value=lambda y, r, xp=np: 0.5 * (xp.abs(r) - xp.sqrt(xp.maximum(y, 0.0))) ** 2,
        grad=_taf_grad,
        hess=_taf_hess,
        scalar_grad=_taf_scalar_grad,
        prox=lambda y, w, gamma, root="global": prox_truncated_amplitude(y, w, gamma, root, TAF_GAMMA),
        bounded_hessian=True,
        array_namespace=True,
        jumps=_taf_jumps,
        even=True,
        potential=_taf_potential,
        title="truncated amplitude",
        description="Truncated Amplitude Flow: amplitude gradient kept where |r| >= sqrt(y)/1.7; g jumps at r = 0 "
        "and at |r| = sqrt(y)/1.7",
    )
)


# --- square: (r - y)^2 / 2 -------------------------------------------------------------
def _sq_scalar_grad(y, r):
    return r - y


register_loss(
    Loss(
        "square",
        value=lambda y, r, xp=np: 0.5 * (r - y) ** 2,
        grad=lambda y, r, xp=np: r - y,
        hess=lambda y, r: np.ones(np.broadcast(y, r).shape),
        scalar_grad=_sq_scalar_grad,
        prox=prox_square,
        bounded_hessian=True,
        array_namespace=True,
        jumps=(),
        convex=True,
        title="square",
        description="(r - y)^2 / 2, least squares",
    )
)


# --- logistic: log(1 + exp(-y r)), y in {-1, +1} ----------------------------------------
def _log_value(y, r, xp=np):
    return xp.logaddexp(0.0, -y * r)


def _log_grad(y, r, xp=np):
    if xp is not np:  # sigmoid(-t) = exp(-log(1 + e^t)), stable for either sign of t
        return -y * xp.exp(-xp.logaddexp(0.0, y * r))
    from scipy.special import expit

    return -y * expit(-y * r)


def _log_hess(y, r):
    from scipy.special import expit

    s = expit(y * r)
    return s * (1.0 - s)


def _log_scalar_grad(y, r):
    t = y * r
    if t >= 0:
        e = math.exp(-t)
        return -y * e / (1.0 + e)
    return -y / (1.0 + math.exp(t))


register_loss(
    Loss(
        "logistic",
        value=_log_value,
        grad=_log_grad,
        hess=_log_hess,
        scalar_grad=_log_scalar_grad,
        bounded_hessian=True,
        array_namespace=True,
        jumps=(),
        convex=True,
        title="logistic",
        description="log(1 + exp(-y r)) for labels y in {-1, +1}",
    )
)
