"""Result of the spectral theory (:func:`sidmft.theory.spectral.spectral`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from ...preprocess import Preprocessing
from ...results import Result
from ._measure import SpectralMeasure

__all__ = ["SpectralTheoryResult"]


@dataclass
class SpectralTheoryResult(Result):
    """d -> inf limit of the spectral initialisation (docs/theory.md §1).

    Attributes
    ----------
    alpha : float           sample ratio of the problem
    alpha_c : float         weak-recovery threshold of this (model, T) (inf if never passed)
    tau : float             sup T
    l_bar, l_star : float   argmin psi and the solution of psi(max(l, l_bar)) = phi(l) (nan below threshold)
    bulk_edge : float       psi(l_bar), right edge of the bulk of spec(D)
    top_eigenvalue : float  psi(l_star) above the threshold, the bulk edge otherwise
    rho, rho_sq : float     |<v,x*>|/(||v|| ||x*||) and its square (0 below threshold)
    passed : bool           psi'(l_star) > 0
    psi_prime, phi_prime : float  psi'(l_star), phi'(l_star)
    R_S : float             1/l_star (static response, §1.2)
    R_g : float             R_g^S = E[T/(1 - R_S T)]
    B0, B2 : float          alpha R_S^2 E[T^2/(1-R_S T)^2], alpha R_S^2 E[T^2 z^2/(1-R_S T)^2]
    mu_S : float            rho E[T(z^2-1)/(1-R_S T)] (= rho/(alpha R_S))
    Sigma_SS : float        alpha E[(T u)^2] with u = w/(1-R_S T)  (= (1-rho^2)/R_S^2)
    kappa : float           norm of the spectral start x0 = kappa v
    identity_residual : float  max residual of the identities psi(l*) = phi(l*), R_S = 1/(alpha(lambda1 - R_g)),
                               mu_S = rho/(alpha R_S), Sigma_SS = (1-rho^2)/R_S^2, rho^2 = (1-B0)/(1-B0+B2)
    n_nodes : int           quadrature nodes used
    field : str             "real" (z ~ N(0,1)) or "complex" (z ~ CN(0,1), docs/theory.md §7.1)
    T : Preprocessing       the preprocessing (resolved at alpha)
    """

    alpha: float = math.nan
    alpha_c: float = math.nan
    tau: float = math.nan
    l_bar: float = math.nan
    l_star: float = math.nan
    bulk_edge: float = math.nan
    top_eigenvalue: float = math.nan
    rho: float = 0.0
    rho_sq: float = 0.0
    passed: bool = False
    psi_prime: float = math.nan
    phi_prime: float = math.nan
    R_S: float = math.nan
    R_g: float = math.nan
    B0: float = math.nan
    B2: float = math.nan
    mu_S: float = math.nan
    Sigma_SS: float = math.nan
    kappa: float = math.nan
    identity_residual: float = math.nan
    n_nodes: int = 0
    T: Optional[Preprocessing] = field(default=None, repr=False, compare=False)
    measure: Optional[SpectralMeasure] = field(default=None, repr=False, compare=False)
    field: str = "real"  # after the last use of dataclasses.field in this class body

    SCALARS = (
        "alpha",
        "alpha_c",
        "tau",
        "l_bar",
        "l_star",
        "bulk_edge",
        "top_eigenvalue",
        "rho",
        "rho_sq",
        "passed",
        "psi_prime",
        "phi_prime",
        "R_S",
        "R_g",
        "B0",
        "B2",
        "mu_S",
        "Sigma_SS",
        "kappa",
        "identity_residual",
        "n_nodes",
    )

    # psi, phi on demand (needs the measure)
    def psi(self, l):
        return np.vectorize(lambda x: self.measure.psi(x, self.alpha))(l)

    def phi(self, l):
        return np.vectorize(self.measure.phi)(l)

    def to_dict(self) -> dict:
        """Common fields (:meth:`Result.to_dict`) and every scalar of the spectral theory."""
        d = super().to_dict()
        d.update({k: getattr(self, k) for k in self.SCALARS})
        d["passed"] = bool(self.passed)
        d["field"] = self.field
        return d

    @classmethod
    def from_xarray(cls, ds) -> SpectralTheoryResult:
        """Rebuild a result from :meth:`to_xarray` output; ``psi``/``phi`` need :func:`spectral` again."""
        kw: dict[str, Any] = {k: float(ds[k].values) for k in cls.SCALARS if k in ds}
        kw["passed"], kw["n_nodes"] = bool(kw.get("passed", 0.0)), int(kw.get("n_nodes", 0))
        kw["field"] = str(ds.attrs.get("field", "real"))
        common: dict[str, Any] = cls._common_from_xarray(ds)
        return cls(**common, **kw)

    def to_xarray(self):
        import xarray as xr

        data = {k: ((), float(getattr(self, k))) for k in self.SCALARS}
        ds = xr.Dataset(data)
        ds.attrs.update(self.metadata())
        ds.attrs["preprocess_resolved"] = self.T.name if self.T is not None else "none"
        ds.attrs["field"] = self.field
        return ds
