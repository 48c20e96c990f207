"""SimulationResult: finite-size trajectories over seeds, with xarray / netCDF round trip."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..results import OBSERVABLES, Status, TrajectoryResult

__all__ = ["SimulationResult"]

#: per-seed spectral diagnostics stored by :func:`sidmft.simulator.simulate`
SPECTRAL_FIELDS = (
    "spectral_overlap",
    "spectral_overlap_sq",
    "spectral_raw_overlap",
    "spectral_sign",
    "top_eigenvalue",
    "second_eigenvalue",
    "spectral_passes",
    "spectral_residual",
    "spectral_n_floored",
)


@dataclass
class SimulationResult(TrajectoryResult):
    """Finite-size simulation of spectral-initialised GD over several seeds.

    A :class:`~sidmft.results.TrajectoryResult` whose replicas are the seeds: ``mean(name)``,
    ``se(name)``, ``per_replica(name)`` (= ``per_seed[name]``).

    Attributes
    ----------
    t : (steps+1,) int array
    per_seed : dict name -> array (n_seeds, steps+1), or (n_seeds, B, steps+1) for a batch of
        (lam, eta) pairs (``lams``, ``etas``)
    seeds : (n_seeds,) int array
    dim, n : int
    dtype : str
    spectral : dict name -> (n_seeds,) array (see ``SPECTRAL_FIELDS``; NaN for init != spectral)
    statuses : list of Status (per seed; worst over a batch) and ``messages`` (per seed)
    lams, etas : arrays of length B for a batch, else None
    status / message : worst over seeds and its message (inherited fields)
    """

    per_seed: dict = field(default_factory=dict)
    seeds: np.ndarray = None
    dim: int = 0
    n: int = 0
    dtype: str = "float64"
    spectral: dict = field(default_factory=dict)
    statuses: list = field(default_factory=list)
    messages: list = field(default_factory=list)
    lams: Optional[np.ndarray] = None
    etas: Optional[np.ndarray] = None
    info: dict = field(default_factory=dict)

    REPLICA_DIM = "seed"
    REPLICAS_FIELD = "per_seed"

    def summary_extra(self) -> list:
        """The number of seeds and, for a spectral start, the spectral overlap mean +- standard error."""
        from ..results import _fmt

        rows = [("n_seeds", _fmt(self.n_seeds))]
        rho = np.asarray(self.spectral.get("spectral_overlap", []), dtype=float)
        if rho.ndim == 1 and rho.size > 1 and np.all(np.isfinite(rho)):
            se = rho.std(ddof=1) / np.sqrt(rho.size)
            rows.append(("spectral_overlap", f"{_fmt(rho.mean())} ± {_fmt(se, 2)}"))
        return rows

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    @property
    def spectral_overlap(self) -> np.ndarray:
        """rho = |<v,x*>|/(||v|| ||x*||) per seed."""
        return self.spectral["spectral_overlap"]

    @property
    def top_eigenvalue(self) -> np.ndarray:
        return self.spectral["top_eigenvalue"]

    @property
    def second_eigenvalue(self) -> np.ndarray:
        return self.spectral["second_eigenvalue"]

    # ---------------------------------------------------------------- xarray
    def to_xarray(self):
        """xarray Dataset: per-seed observables on ``(seed, t)`` (``(seed, traj, t)`` for a batch),
        spectral diagnostics and status codes on ``seed``; attributes from :meth:`Result.metadata`."""
        import xarray as xr

        batch = self.lams is not None
        coords = {"seed": np.asarray(self.seeds, dtype=np.int64), "t": np.asarray(self.t, dtype=np.int64)}
        if batch:
            coords["traj"] = np.arange(len(self.lams))
        data_vars = self._replica_vars(inner=("traj",) if batch else ())
        for k, v in self.spectral.items():
            data_vars[k] = (("seed",), np.asarray(v, dtype=np.float64))
        data_vars["status_code"] = (("seed",), np.array([int(s) for s in self.statuses], dtype=np.int64))
        if batch:
            data_vars["lam"] = (("traj",), np.asarray(self.lams, dtype=np.float64))
            data_vars["eta"] = (("traj",), np.asarray(self.etas, dtype=np.float64))
        data_vars.update(self._problem_vars())
        ds = xr.Dataset(data_vars, coords=coords)
        attrs = self.metadata()
        attrs.update(
            dim=int(self.dim),
            n=int(self.n),
            dtype=str(self.dtype),
            n_seeds=int(self.n_seeds),
            seed_messages=json.dumps(list(self.messages)),
            info=json.dumps(_jsonable(self.info)),
        )
        ds.attrs.update(attrs)
        return ds

    @classmethod
    def from_xarray(cls, ds) -> SimulationResult:
        """Rebuild a result from :meth:`to_xarray` output (or a loaded file)."""
        a = ds.attrs
        batch = "traj" in ds.dims
        return cls(
            **cls._common_from_xarray(ds),
            t=np.asarray(ds["t"].values),
            per_seed=cls._replicas_from_xarray(ds),
            seeds=np.asarray(ds["seed"].values),
            dim=int(a["dim"]),
            n=int(a["n"]),
            dtype=str(a["dtype"]),
            spectral={k: np.asarray(ds[k].values) for k in SPECTRAL_FIELDS if k in ds},
            statuses=[Status(int(c)) for c in ds["status_code"].values],
            messages=list(json.loads(a.get("seed_messages", "[]"))),
            lams=np.asarray(ds["lam"].values) if batch else None,
            etas=np.asarray(ds["eta"].values) if batch else None,
            info=json.loads(a.get("info", "{}")),
        )

    # ---------------------------------------------------------------- dict / JSON
    def to_dict(self) -> dict:
        """Common fields, means and standard errors over seeds, and the per-seed spectral quantities."""
        d = super().to_dict()
        d.update(
            seeds=np.asarray(self.seeds),
            dim=self.dim,
            n=self.n,
            dtype=self.dtype,
            seed_statuses=[s.label for s in self.statuses],
            seed_messages=list(self.messages),
            spectral={k: np.asarray(v) for k, v in self.spectral.items()},
        )
        if self.lams is not None:
            d.update(lams=self.lams, etas=self.etas)
        return d

    # ---------------------------------------------------------------- JSON summary
    def summary(self) -> dict:
        """Plain dict (CLI ``--json``): means and standard errors over seeds, spectral quantities,
        status, message, problem parameters."""
        out = {"t": self.t}
        for k in OBSERVABLES:
            out[k] = self.mean(k)
            out[f"{k}_se"] = self.se(k)
        for k, v in self.spectral.items():
            out[k] = float(np.mean(v)) if np.size(v) else None
            out[f"{k}_se"] = float(np.std(v, ddof=1) / np.sqrt(len(v))) if len(v) > 1 else None
            out[f"{k}_per_seed"] = np.asarray(v)
        out.update(
            status=self.status.label,
            status_code=int(self.status),
            message=self.message,
            seed_statuses=[s.label for s in self.statuses],
            seed_messages=list(self.messages),
            seeds=np.asarray(self.seeds),
            dim=self.dim,
            n=self.n,
            dtype=self.dtype,
            problem=self.problem.to_dict(),
            timing=dict(self.timing),
            sidmft_version=self.version,
        )
        out.update({k: v for k, v in self.problem.to_dict().items()})
        if self.lams is not None:
            out.update(lams=self.lams, etas=self.etas)
        return out


def _jsonable(obj):
    from ..io import to_jsonable

    return to_jsonable(obj)
