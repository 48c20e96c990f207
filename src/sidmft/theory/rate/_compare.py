"""Predicted against measured contraction: :func:`compare_rate` (the fixed point's rate next to a fit)."""

from __future__ import annotations

import math

import numpy as np

from ...results import Status
from ._fit import measured_rate
from ._result import RateComparison

__all__ = ["compare_rate"]


def compare_rate(
    result,
    fp=None,
    *,
    observable: str = "grad_norm",
    nsigma: float = 2.0,
    tol: float = 0.0,
    use_drift: bool = True,
    **kw,
) -> RateComparison:
    """Predicted (bulk edge) against measured contraction for a DMFT or simulation ``result``.

    Parameters
    ----------
    result : DMFTResult or SimulationResult
    fp : FixedPointResult, optional
        Computed with :func:`sidmft.theory.fixed_point.fixed_point` on ``result.problem`` if absent.
    observable, kw : passed to :func:`measured_rate` (both the edge-corrected fit, prefactor 1.5,
        and the plain exponential fit, prefactor 0, are reported).
    nsigma, tol, use_drift : agreement criterion |predicted - measured| <= nsigma * se + tol (+ drift),
        with ``measured`` the edge-corrected fit and ``drift`` the change of that fit between the two
        halves of the window (the model error of the asymptotic prefactor; docs/theory.md §5.5).

    Returns
    -------
    RateComparison
        ``predicted``, ``h_min``, ``measured``, ``measured_se``, ``drift``, ``measured_plain``,
        ``measured_plain_se``, ``window``, ``agree`` (bool), ``difference``, ``fit``, ``fit_plain``,
        ``status`` and ``message``.
    """
    if fp is None:
        from ..fixed_point import fixed_point

        fp = fixed_point(result.problem)
    kw = dict(kw)
    kw.pop("prefactor", None)
    f = measured_rate(result, observable, prefactor=1.5, **kw)
    f0 = measured_rate(result, observable, prefactor=0.0, **kw)
    drift = _window_drift(result, observable, f, kw)
    pred = float(fp.rate)
    diff = f.rate - pred
    sys_err = drift if (use_drift and np.isfinite(drift)) else 0.0
    agree = bool(np.isfinite(diff) and abs(diff) <= nsigma * f.rate_se + tol + sys_err)
    what = "1 - eta h_min" if result.problem.algorithm_obj.gradient_form else "bulk rate"
    msg = (
        f"predicted {what} = {pred:.5f}; measured {f.rate:.5f} +- {f.rate_se:.1g} "
        f"(t^-1.5 edge prefactor; window drift {drift:.1g}), {f0.rate:.5f} +- {f0.rate_se:.1g} "
        f"(plain exponential) on t in {f.window}; {'agree' if agree else 'DISAGREE'} within "
        f"{nsigma:g} se + {tol:g}" + (" + drift" if use_drift else "")
    )
    if not math.isfinite(pred):
        status, msg = Status.NOT_APPLICABLE, f"no predicted rate ({fp.status.label}: {fp.message}); " + msg
    elif not f.ok:
        status, msg = Status.FAILED, f"no usable fit ({f.message}); " + msg
    else:
        status = Status.SUCCESS
    return RateComparison(
        problem=result.problem,
        status=status,
        message=msg,
        seed=result.seed,
        observable=observable,
        predicted=pred,
        h_min=float(fp.h_min),
        measured=f.rate,
        measured_se=f.rate_se,
        drift=drift,
        measured_plain=f0.rate,
        measured_plain_se=f0.rate_se,
        window=f.window,
        difference=diff,
        agree=agree,
        nsigma=float(nsigma),
        tol=float(tol),
        fit=f,
        fit_plain=f0,
    )


def _window_drift(result, observable, f, kw) -> float:
    """Systematic error of the asymptotic t^-1.5 model: change of the fitted rate between the two
    halves of the window (higher-order 1/t^2 terms, crossover to the smallest eigenvalue)."""
    if not (f.ok and f.window[0] is not None):
        return float("nan")
    t0, t1 = f.window
    tm = 0.5 * (t0 + t1)
    kw2 = {k: v for k, v in kw.items() if k not in ("window", "tail")}
    fa = measured_rate(result, observable, prefactor=1.5, window=(t0, tm), **kw2)
    fb = measured_rate(result, observable, prefactor=1.5, window=(tm, t1), **kw2)
    return abs(fb.rate - fa.rate)
