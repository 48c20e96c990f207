"""Result of the fixed-point solver (:func:`sidmft.theory.fixed_point.fixed_point`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...results import Result
from ._law import FixedPointLaw
from ._law_complex import law_for

__all__ = ["FixedPointResult"]


@dataclass
class FixedPointResult(Result):
    """Long-time limit of GD (docs/theory.md §3).

    Attributes
    ----------
    m, q, cosine, error : float
        Overlap, squared norm, cosine m/sqrt(q), error 1 + q - 2|m| of x^inf.
    train_loss, objective, test_error : float
        E[l(y, r)], train_loss + lam q/2, model test error from (m, q).
    gamma, Gamma : float
        Integrated responses (F1).
    h_min : float
        Predicted lower bulk edge of the Hessian at x^inf (10^6-sample MC of the law).
    h_max : float
        Predicted upper bulk edge of the Hessian (same samples; grows with n_mc for an unbounded l'').
    rate : float
        Predicted per-step contraction: 1 - eta h_min for GD (NaN unless 0 < eta h_min < 1), the largest
        root of the linearised recursion over [h_min, h_max] for heavy-ball / Nesterov; see ``rate_note``.
    residual : float
        max |residual| over (F1)-(F3); ``residuals`` per equation.
    nit : int
        Residual evaluations used by the successful stage (all stages in ``nfev_total``).
    branch : str
        ``"informative"``, ``"exact-recovery"`` or ``"uninformative"``.
    strategy : str
        Which stage succeeded (``start``, ``anderson``, ``continuation``, ``exact``).
    checks : dict
        Equivalent forms of the equations (see module docstring).
    """

    # the limit point and its observables
    m: float = float("nan")
    q: float = float("nan")
    gamma: float = float("nan")
    cosine: float = float("nan")
    error: float = float("nan")
    train_loss: float = float("nan")
    objective: float = float("nan")
    test_error: float = float("nan")
    Gamma: float = float("nan")
    # the rate (theory.rate.predict_rate)
    h_min: float = float("nan")
    h_max: float = float("nan")
    m_star: float = float("nan")
    rate: float = float("nan")
    rate_note: str = ""
    # how it was solved
    residual: float = float("nan")
    residuals: dict = field(default_factory=dict)
    nit: int = 0
    nfev_total: int = 0
    root: str = "global"
    branch: str = ""
    strategy: str = ""
    checks: dict = field(default_factory=dict)
    quad: dict = field(default_factory=dict)
    n_mc: int = 0

    SCALARS = (
        "m",
        "q",
        "cosine",
        "error",
        "train_loss",
        "objective",
        "test_error",
        "gamma",
        "Gamma",
        "h_min",
        "h_max",
        "rate",
        "residual",
    )

    @property
    def law(self) -> FixedPointLaw:
        """The fixed-point law of the problem (complex for ``field="complex"``, docs/theory.md §7.3)."""
        return law_for(self.problem, self.root, self.quad)

    def sample(self, n: int = 100_000, seed: int = 0) -> dict:
        """Sample the law of the fitted values at the limit: dict of arrays z, w, y, r, g, hess.

        z = <a, x*>, w = the Gaussian cavity field (jointly N(0, [[1, m], [m, q]]) with z),
        r = <a, x^inf> = prox_{gamma l(y,.)}(w) (training sample), g = l'(y, r), hess = l''(y, r).
        A fresh test sample has instead (z, r_test) Gaussian with the same covariance.
        Complex problems (docs/theory.md §7.3): complex z, w, r, g and the curvatures kappa_r, kappa_t instead
        of hess (:meth:`ComplexFixedPointLaw.sample`).
        """
        if not np.isfinite(self.m):
            raise ValueError(f"no fixed point to sample from (status {self.status.label})")
        return self.law.sample(self.m, self.q, self.gamma, n, seed)

    def to_dict(self) -> dict:
        """Common fields (:meth:`Result.to_dict`), the scalars, residuals, checks and solver details."""
        d = super().to_dict()
        d.update({k: getattr(self, k) for k in self.SCALARS})
        d.update(
            residuals=dict(self.residuals),
            rate_note=self.rate_note,
            branch=self.branch,
            strategy=self.strategy,
            root=self.root,
            m_star=self.m_star,
            checks=dict(self.checks),
        )
        return d

    @classmethod
    def from_xarray(cls, ds) -> FixedPointResult:
        """Rebuild a result from :meth:`to_xarray` output (or a loaded file)."""
        a = ds.attrs

        def sub(prefix):
            return {k[len(prefix) :]: v for k, v in a.items() if k.startswith(prefix)}

        kw: dict[str, Any] = cls._common_from_xarray(ds)
        kw.update({k: float(ds[k].values) for k in cls.SCALARS if k in ds})
        kw.update({k: str(a.get(k, "")) for k in ("branch", "strategy", "root", "rate_note")})
        kw["residuals"] = {
            k[len("residual_") :]: float(ds[k].values) for k in ds.data_vars if k.startswith("residual_")
        }
        kw["quad"] = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in sub("quad_").items()}
        kw["checks"] = {k: float(v) for k, v in sub("checks_").items()}
        kw.update(n_mc=int(a.get("n_mc", 0)), m_star=float(a.get("m_star", math.nan)))
        return cls(**kw)

    def to_xarray(self):
        import xarray as xr

        data = {k: ((), float(getattr(self, k))) for k in self.SCALARS}
        for k, v in self.residuals.items():
            data[f"residual_{k}"] = ((), float(v))
        ds = xr.Dataset(data)
        md = self.metadata()
        md.update(
            nit=self.nit,
            branch=self.branch,
            strategy=self.strategy,
            root=self.root,
            rate_note=self.rate_note,
            n_mc=self.n_mc,
            m_star=self.m_star,
            quad=dict(self.quad),
            checks={k: float(v) for k, v in self.checks.items()},
        )
        ds.attrs = md
        return ds

    def __repr__(self):
        return (
            f"FixedPointResult(status={self.status.label}, m={self.m:.6g}, q={self.q:.6g}, "
            f"gamma={self.gamma:.6g}, h_min={self.h_min:.4g}, rate={self.rate:.5g}, "
            f"residual={self.residual:.2g}, message={self.message!r})"
        )
