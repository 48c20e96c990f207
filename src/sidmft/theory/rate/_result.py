"""Records of the rate measurement: :class:`RateFit` (one fit) and :class:`RateComparison` (prediction
against measurement, a :class:`~sidmft.results.Result`)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any, Optional

import numpy as np

from ...results import Result

__all__ = ["RateFit", "RateComparison"]


@dataclass(frozen=True)
class RateFit:
    """One fit of :func:`~sidmft.theory.rate.fit_rate`.

    Attributes
    ----------
    rate : float
        Per-step contraction rho (v_t ~ rho^{power t}).
    rate_se : float
        Standard error of ``rate`` (delta method; the slope's covariance is scaled by the
        reduced chi^2 when it exceeds 1, so misfit shows up in the error).
    slope, slope_se : float
        Fitted d log|v| / dt and its standard error.
    intercept : float
        Fitted log|v| at t = 0.
    window : (float, float)
        First and last t used ((None, None) when nothing was fitted).
    n : int
        Number of points fitted.
    power, prefactor : float
        The fitted model  log|v_t| = a + power t log(rho) - prefactor log t.
    chi2_dof : float
        Reduced chi^2 (NaN without ``se``).
    message : str
    """

    rate: float
    rate_se: float
    slope: float
    slope_se: float
    intercept: float
    window: tuple
    n: int
    power: float = 1.0
    prefactor: float = 0.0
    chi2_dof: float = float("nan")
    message: str = ""

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.rate))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> RateFit:
        nan = float("nan")
        kw: dict[str, Any] = {
            k: (nan if d.get(k) is None and k not in ("window", "message") else d.get(k))
            for k in ("rate", "rate_se", "slope", "slope_se", "intercept", "power", "prefactor", "chi2_dof")
        }
        return cls(
            window=tuple(d.get("window") or (None, None)), n=int(d.get("n", 0)), message=str(d.get("message", "")), **kw
        )


def nan_fit(msg, power, prefactor) -> RateFit:
    """A fit that found nothing (``message`` says why)."""
    return RateFit(
        float("nan"),
        float("nan"),
        float("nan"),
        float("nan"),
        float("nan"),
        (None, None),
        0,
        power,
        prefactor,
        float("nan"),
        msg,
    )


@dataclass
class RateComparison(Result):
    """Predicted (bulk edge) against measured contraction (:func:`~sidmft.theory.rate.compare_rate`).

    Attributes
    ----------
    observable : str
        The observable whose decay was fitted.
    predicted, h_min : float
        1 - eta h_min and the lower bulk edge h_min of the fixed point.
    measured, measured_se : float
        Edge-corrected fit (t^-1.5 prefactor) and its standard error.
    drift : float
        Change of that fit between the two halves of the window (NaN when not computed).
    measured_plain, measured_plain_se : float
        Plain exponential fit (prefactor 0).
    window : (float, float)
        The t range fitted.
    difference : float
        measured - predicted.
    agree : bool
        |difference| <= nsigma * measured_se + tol (+ drift when ``use_drift``).
    nsigma, tol : float
        The agreement criterion.
    fit, fit_plain : RateFit
        The two fits.

    Notes
    -----
    ``status`` is SUCCESS when both the prediction and the measurement are finite (whether they
    agree is ``agree``), NOT_APPLICABLE when the bulk edge gives no rate, FAILED when nothing could
    be fitted.
    """

    observable: str = "grad_norm"
    predicted: float = math.nan
    h_min: float = math.nan
    measured: float = math.nan
    measured_se: float = math.nan
    drift: float = math.nan
    measured_plain: float = math.nan
    measured_plain_se: float = math.nan
    window: tuple = (None, None)
    difference: float = math.nan
    agree: bool = False
    nsigma: float = 2.0
    tol: float = 0.0
    fit: Optional[RateFit] = None
    fit_plain: Optional[RateFit] = None

    SCALARS = ("predicted", "measured", "measured_se", "drift", "measured_plain", "difference", "agree")
    _FLOATS = (
        "predicted",
        "h_min",
        "measured",
        "measured_se",
        "drift",
        "measured_plain",
        "measured_plain_se",
        "difference",
        "nsigma",
        "tol",
    )

    def to_dict(self) -> dict:
        d = super().to_dict()
        d.update(
            {k: getattr(self, k) for k in self._FLOATS},
            observable=self.observable,
            agree=bool(self.agree),
            window=tuple(self.window),
            fit=None if self.fit is None else self.fit.to_dict(),
            fit_plain=None if self.fit_plain is None else self.fit_plain.to_dict(),
        )
        return d

    def to_xarray(self):
        """Scalars as 0-d variables; the fits as JSON attributes."""
        import xarray as xr

        from ...io import to_jsonable

        ds = xr.Dataset({k: ((), float(getattr(self, k))) for k in self._FLOATS})
        ds.attrs.update(self.metadata())
        ds.attrs.update(
            observable=self.observable,
            agree=int(bool(self.agree)),
            window=json.dumps(to_jsonable(list(self.window))),
            fit=json.dumps(to_jsonable(self.fit.to_dict() if self.fit else None)),
            fit_plain=json.dumps(to_jsonable(self.fit_plain.to_dict() if self.fit_plain else None)),
        )
        return ds

    @classmethod
    def from_xarray(cls, ds) -> RateComparison:
        a = ds.attrs

        def fit(key):
            d = json.loads(a.get(key, "null"))
            return None if d is None else RateFit.from_dict(d)

        common: dict[str, Any] = cls._common_from_xarray(ds)
        floats: dict[str, Any] = {k: float(ds[k].values) for k in cls._FLOATS if k in ds}
        return cls(
            **common,
            **floats,
            observable=str(a.get("observable", "")),
            agree=bool(int(a.get("agree", 0))),
            window=tuple(json.loads(a.get("window", "[null, null]"))),
            fit=fit("fit"),
            fit_plain=fit("fit_plain"),
        )
