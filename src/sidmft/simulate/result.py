"""SimulationResult: finite-size trajectories over seeds, with xarray / netCDF round trip."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..results import OBSERVABLES, Result, Status

__all__ = ["SimulationResult"]

#: per-seed spectral diagnostics stored by :func:`sidmft.simulate.simulate`
SPECTRAL_FIELDS = ("spectral_overlap", "spectral_overlap_sq", "spectral_raw_overlap", "spectral_sign",
                   "top_eigenvalue", "second_eigenvalue", "spectral_passes", "spectral_residual",
                   "spectral_n_floored")


@dataclass
class SimulationResult(Result):
    """Finite-size simulation of spectral-initialised GD over several seeds.

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

    t: np.ndarray = None
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

    # ---------------------------------------------------------------- statistics
    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    def mean(self, name: str) -> np.ndarray:
        """Mean over seeds (NaN where any seed is NaN, e.g. after a divergence)."""
        return np.mean(self.per_seed[name], axis=0)

    def se(self, name: str) -> np.ndarray:
        """Standard error over seeds, std(ddof=1)/sqrt(n_seeds) (NaN for one seed)."""
        a = self.per_seed[name]
        if a.shape[0] < 2:
            return np.full(a.shape[1:], np.nan)
        return np.std(a, axis=0, ddof=1) / np.sqrt(a.shape[0])

    def __getattr__(self, name):
        # .m, .q, ... -> mean over seeds; .m_se -> standard error
        per_seed = self.__dict__.get("per_seed", {})
        if name in per_seed:
            return self.mean(name)
        if name.endswith("_se") and name[:-3] in per_seed:
            return self.se(name[:-3])
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}")

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
        import xarray as xr

        batch = self.lams is not None
        dims = ("seed", "traj", "t") if batch else ("seed", "t")
        coords = {"seed": np.asarray(self.seeds, dtype=np.int64), "t": np.asarray(self.t, dtype=np.int64)}
        if batch:
            coords["traj"] = np.arange(len(self.lams))
        data_vars = {k: (dims, np.asarray(v, dtype=np.float64)) for k, v in self.per_seed.items()}
        for k, v in self.spectral.items():
            data_vars[k] = (("seed",), np.asarray(v, dtype=np.float64))
        data_vars["status_code"] = (("seed",), np.array([int(s) for s in self.statuses], dtype=np.int64))
        if batch:
            data_vars["lam"] = (("traj",), np.asarray(self.lams, dtype=np.float64))
            data_vars["eta"] = (("traj",), np.asarray(self.etas, dtype=np.float64))
        if self.problem.init == "given" and self.problem.x0 is not None:
            data_vars["x0_given"] = (("coord",), np.asarray(self.problem.x0, dtype=np.float64))
        ds = xr.Dataset(data_vars, coords=coords)
        attrs = self.metadata()
        attrs.update(dim=int(self.dim), n=int(self.n), dtype=str(self.dtype), n_seeds=int(self.n_seeds),
                     seed_messages=json.dumps(list(self.messages)),
                     info=json.dumps(_jsonable(self.info)))
        ds.attrs.update(attrs)
        return ds

    @classmethod
    def from_xarray(cls, ds) -> "SimulationResult":
        """Rebuild a result from :meth:`to_xarray` output (or a loaded file)."""
        from ..io import problem_from_attrs
        from ..problem import PROBLEM_FIELDS, Problem

        a = ds.attrs
        if "x0_given" in ds:
            d = {}
            for k in PROBLEM_FIELDS:
                v = a.get(f"problem_{k}", "none")
                if isinstance(v, str) and v == "none":
                    continue
                d[k] = v.item() if isinstance(v, np.generic) else v
            problem = Problem(**d, x0=np.asarray(ds["x0_given"].values))
        else:
            problem = problem_from_attrs(a)
        per_seed = {k: np.asarray(ds[k].values) for k in OBSERVABLES if k in ds}
        spectral = {k: np.asarray(ds[k].values) for k in SPECTRAL_FIELDS if k in ds}
        statuses = [Status(int(c)) for c in ds["status_code"].values]
        timing = {k[len("timing_"):-2]: float(v) for k, v in a.items() if k.startswith("timing_") and k.endswith("_s")}
        batch = "traj" in ds.dims
        seed = a.get("seed", None)
        seed = None if (isinstance(seed, str) and seed == "none") else int(seed)
        return cls(problem=problem, status=Status(int(a["status_code"])), message=str(a.get("message", "")),
                   seed=seed, timing=timing, version=str(a.get("sidmft_version", "")),
                   t=np.asarray(ds["t"].values), per_seed=per_seed, seeds=np.asarray(ds["seed"].values),
                   dim=int(a["dim"]), n=int(a["n"]), dtype=str(a["dtype"]), spectral=spectral, statuses=statuses,
                   messages=list(json.loads(a.get("seed_messages", "[]"))),
                   lams=np.asarray(ds["lam"].values) if batch else None,
                   etas=np.asarray(ds["eta"].values) if batch else None,
                   info=json.loads(a.get("info", "{}")))

    @classmethod
    def load(cls, path) -> "SimulationResult":
        from ..io import load

        return cls.from_xarray(load(path))

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
        out.update(status=self.status.label, status_code=int(self.status), message=self.message,
                   seed_statuses=[s.label for s in self.statuses], seed_messages=list(self.messages),
                   seeds=np.asarray(self.seeds), dim=self.dim, n=self.n, dtype=self.dtype,
                   problem=self.problem.to_dict(), timing=dict(self.timing), sidmft_version=self.version)
        out.update({k: v for k, v in self.problem.to_dict().items()})
        if self.lams is not None:
            out.update(lams=self.lams, etas=self.etas)
        return out


def _jsonable(obj):
    from ..io import to_jsonable

    return to_jsonable(obj)
