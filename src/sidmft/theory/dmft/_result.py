"""Result of the Monte-Carlo DMFT (:func:`sidmft.theory.dmft.dmft`)."""

from __future__ import annotations

import json
import math
from dataclasses import InitVar, dataclass, field
from typing import Any, Optional

import numpy as np

from ...results import OBSERVABLES, TrajectoryResult

__all__ = ["DMFTResult"]


@dataclass
class DMFTResult(TrajectoryResult):
    """Result of :func:`dmft`.

    A :class:`~sidmft.results.TrajectoryResult` whose replicas are the independent Monte-Carlo
    batches: ``mean(name)`` is the average of the ``batches`` solves of the observable ``name``
    (docs/theory.md §2.6; names :data:`sidmft.results.OBSERVABLES`), ``se(name)`` the
    Monte-Carlo standard error, standard deviation over batches / sqrt(batches) (NaN if
    ``batches == 1``), and ``per_replica(name)`` (= ``per_batch[name]``) the batches themselves.

    Attributes
    ----------
    t : ndarray (T+1,)
        Steps 0..T.
    per_batch : dict name -> ndarray (batches, T+1)
        The observables of each independent batch (NaN from a blow-up on, in every batch).
    C_x, R_x, R_g, Sigma : ndarray (T+1, T+1)
        Kernels averaged over batches.  ``C_x[t, s] = <x^t, x^s>/d``; ``R_x[t, s] = d x^t / d h^s``
        (response of the iterate to the field zeta^s); ``R_g[t, s] = E[d g^t / d w^s]``;
        ``Sigma[t, s] = alpha E[g^t g^s]``.  In spectral mode there is no separate input w^0
        (r^0 = kappa u), so ``R_g[:, 0]`` is NaN and the spectral stage is in the ``*_S`` arrays.
    mu : ndarray (T+1,)
        Stein term mu_t (§2.4).
    C_x_v, R_x_S, R_g_S, Sigma_S : ndarray (T+1,)
        Spectral-stage row/column: C_x(t, v), R_x(t, S), R_g(t, S), Sigma(S, t).  In random mode
        ``R_x_S`` holds b_t, the coefficient of the data-independent direction xi (§2.7), and the
        others are NaN.
    Sigma_SS : float
        Sigma(S, S) = (1 - rho^2)/R_S^2 (closed form), NaN in random mode.
    spectral_overlap, top_eigenvalue, R_S : float
        rho, lambda_1 and R_S = 1/l* from the spectral theory (NaN in random mode).
    samples, batches : int
        Total Monte-Carlo paths and number of independent batches (samples/batches paths each).
    blowup_step : int or None
        First step of a heavy-tail blow-up (docs/theory.md §3), else None.  Observables from this
        step on are NaN; the status is ``Status.BLOWUP``.
    diagnostics : dict
        ``min_schur`` (smallest relative Schur complement met in the incremental Cholesky, before
        clipping; ~0 or slightly negative values mean a degenerate direction), ``max_abs_r``
        (per step, max over paths and batches of |r^t|), ``scores``, ``kernel``, ``naive``,
        ``responses``; ``unreliable`` ({observable: first step} whose average is dominated by a single
        Monte-Carlo path: heavy tails, the value and its error bar are not to be trusted there, see
        :attr:`unreliable`), ``diverging_batches`` ({batch: step} that ran away without reaching the blow-up
        thresholds; the status is then BLOWUP) and ``stability`` (the expected number of locally unstable paths,
        :mod:`sidmft.stability`).
    """

    t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    samples: int = 0
    batches: int = 0
    naive: bool = False
    per_batch: dict = field(default_factory=dict)
    C_x: Optional[np.ndarray] = None
    R_x: Optional[np.ndarray] = None
    R_g: Optional[np.ndarray] = None
    Sigma: Optional[np.ndarray] = None
    mu: Optional[np.ndarray] = None
    C_x_v: Optional[np.ndarray] = None
    R_x_S: Optional[np.ndarray] = None
    R_g_S: Optional[np.ndarray] = None
    Sigma_S: Optional[np.ndarray] = None
    Sigma_SS: float = math.nan
    spectral_overlap: float = math.nan
    top_eigenvalue: float = math.nan
    R_S: float = math.nan
    blowup_step: Optional[int] = None
    diagnostics: dict = field(default_factory=dict)
    obs: InitVar[Optional[dict]] = None

    REPLICA_DIM = "batch"
    REPLICAS_FIELD = "per_batch"

    def __post_init__(self, obs):
        # ``obs`` (means and ``_se`` as computed by the solver) is an input only: the per-batch
        # values are the one record.  Where the solver masked a mean (a blow-up: NaN from that step
        # on), every batch is masked, so that mean()/se() give exactly the solver's arrays; a result
        # without batches (nothing computed) gets ``batches`` rows of its (NaN) means.
        if not obs:
            return
        per = {k: np.array(v, dtype=float) for k, v in self.per_batch.items()}
        for k in OBSERVABLES:
            if k not in obs:
                continue
            mean = np.asarray(obs[k], dtype=float)
            if k not in per:
                per[k] = np.repeat(mean[None, :], max(int(self.batches), 1), axis=0)
            else:
                per[k][:, np.isnan(mean)] = np.nan
        self.per_batch = per

    @property
    def unreliable(self) -> dict:
        """{observable: first step} whose Monte-Carlo average is dominated by single paths (heavy tails): from
        that step on the value and its standard error are not reliable (empty when every average is sound)."""
        return dict(self.diagnostics.get("unreliable", {}))

    def observables(self) -> dict:
        """Dict name -> array for every observable (mean over batches) and its ``_se``."""
        out = {}
        for k in self.names:
            out[k], out[k + "_se"] = self.mean(k), self.se(k)
        return out

    def to_dict(self) -> dict:
        """JSON-friendly summary: common fields, ``t``, means and ``_se`` (keys as ``sidmft simulate --json``)
        and the DMFT scalars."""
        d = super().to_dict()
        d.update(
            spectral_overlap=self.spectral_overlap,
            top_eigenvalue=self.top_eigenvalue,
            samples=self.samples,
            batches=self.batches,
            naive=bool(self.naive),
            blowup_step=self.blowup_step,
        )
        return d

    _KERNELS2 = ("C_x", "R_x", "R_g", "Sigma")
    _KERNELS1 = ("mu", "C_x_v", "R_x_S", "R_g_S", "Sigma_S")
    _FLOATS = ("spectral_overlap", "top_eigenvalue", "R_S", "Sigma_SS")

    def to_xarray(self):
        """xarray Dataset: means ``<name>`` and ``<name>_se`` on ``t``, per-batch values ``<name>_batch``
        on ``(batch, t)``, kernels on ``(t, t2)``; attributes from :meth:`Result.metadata`."""
        import xarray as xr

        t = self.t
        data = {}
        for k in self.names:
            data[k] = ("t", self.mean(k))
            data[k + "_se"] = ("t", self.se(k))
        data.update(self._replica_vars(suffix="_batch"))
        for k in self._KERNELS2:
            v = getattr(self, k)
            if v is not None:
                data[k] = (("t", "t2"), v)
        for k in self._KERNELS1:
            v = getattr(self, k)
            if v is not None:
                data[k] = ("t", v)
        if self.diagnostics.get("max_abs_r") is not None:
            data["max_abs_r"] = ("t", np.asarray(self.diagnostics["max_abs_r"], dtype=float))
        coords = {"t": t, "t2": t.copy(), "batch": np.arange(self.n_replicas)}
        ds = xr.Dataset(data, coords=coords)
        ds.attrs.update(self.metadata())
        ds.attrs.update(
            samples=int(self.samples),
            batches=int(self.batches),
            naive=int(self.naive),
            **{k: float(getattr(self, k)) for k in self._FLOATS},
            blowup_step=-1 if self.blowup_step is None else int(self.blowup_step),
            min_schur=float(self.diagnostics.get("min_schur", math.nan)),
            scores=str(self.diagnostics.get("scores", "")),
            kernel=str(self.diagnostics.get("kernel", "")),
            responses=str(self.diagnostics.get("responses", "")),
            window=int(self.diagnostics.get("window", 0)),
            unreliable=json.dumps(self.unreliable),
            stability_expected=float(self.diagnostics.get("stability", {}).get("expected", math.nan)),
        )
        return ds

    @classmethod
    def from_xarray(cls, ds) -> DMFTResult:
        """Rebuild a result from :meth:`to_xarray` output (or a loaded file)."""
        a = ds.attrs
        b = int(a.get("blowup_step", -1))
        diagnostics = dict(
            min_schur=float(a.get("min_schur", math.nan)),
            scores=str(a.get("scores", "")),
            kernel=str(a.get("kernel", "")),
            responses=str(a.get("responses", "")),
            window=int(a.get("window", 0)),
            naive=bool(int(a.get("naive", 0))),
            unreliable={str(k): int(v) for k, v in json.loads(str(a.get("unreliable", "{}"))).items()},
        )
        if "max_abs_r" in ds:
            diagnostics["max_abs_r"] = np.asarray(ds["max_abs_r"].values)
        kw: dict[str, Any] = dict(cls._common_from_xarray(ds))
        kw.update({k: np.asarray(ds[k].values) for k in cls._KERNELS2 + cls._KERNELS1 if k in ds})
        kw.update({k: float(a[k]) for k in cls._FLOATS if k in a})
        return cls(
            t=np.asarray(ds["t"].values),
            samples=int(a["samples"]),
            batches=int(a["batches"]),
            naive=bool(int(a.get("naive", 0))),
            per_batch=cls._replicas_from_xarray(ds, suffix="_batch"),
            blowup_step=None if b < 0 else b,
            diagnostics=diagnostics,
            **kw,
        )
