"""One result family for every solver: status, message, timing, seed, parameters, xarray.

Every solver returns a subclass of :class:`Result` (scipy.optimize's ``OptimizeResult`` idea):
``status`` is a :class:`Status` that is never silent, ``message`` says what happened in words,
``success`` is ``status == Status.SUCCESS``, and ``to_xarray()`` / ``save()`` give a
self-describing file recording the problem, seed, package version and timing; results that can be
read back have ``from_xarray()`` / ``load()`` (``Result.load(path)`` picks the class from the file).

:class:`TrajectoryResult` is the common interface of the trajectory results (the simulation over
seeds, the DMFT over Monte-Carlo batches): ``t``, ``names``, ``mean(name)``, ``se(name)``,
``per_replica(name)`` (one row per seed or batch, ``replica_dim``), ``to_dict()`` and the shared
part of ``to_xarray()`` / ``from_xarray()``.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional

import numpy as np

from ._version import __version__
from .problem import Problem

__all__ = ["Status", "Result", "TrajectoryResult", "OBSERVABLES", "Timer"]

#: per-step observables shared by simulation and DMFT (docs/theory.md §0 / §2.6)
OBSERVABLES = ("m", "q", "cosine", "error", "train_loss", "objective", "grad_norm", "test_error")


class Status(enum.IntEnum):
    """Outcome of a computation; ``Status.SUCCESS`` is the only silent one."""

    SUCCESS = 0
    DIVERGED = 1  #: GD iterates became non-finite or the objective exceeded its bound
    BLOWUP = 2  #: DMFT Monte-Carlo moments blew up (heavy-tail instability)
    NOT_CONVERGED = 3  #: iteration limit reached before the tolerance
    BELOW_THRESHOLD = 4  #: spectral method has no outlier (no weak recovery)
    NOT_APPLICABLE = 5  #: theory does not cover this problem (e.g. sup T = inf)
    FAILED = 6  #: anything else; see message
    UNINFORMATIVE = 7  #: the equations have no informative solution (a fact about the problem, e.g. a threshold)

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


class Timer:
    """Context manager measuring wall time in seconds (``.seconds``)."""

    def __enter__(self):
        self._t0 = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._t0
        return False


@dataclass
class Result:
    """Common fields of every sidmft result.

    Attributes
    ----------
    problem : Problem
        The validated problem that was solved.
    status : Status
        Outcome; only ``Status.SUCCESS`` is silent.
    message : str
        What happened, in words.
    seed : int or None
        Root seed of the random numbers used (None for deterministic solvers).
    timing : dict
        Wall-clock seconds per phase (``total`` always present).
    version : str
        sidmft version that produced it.
    nit : int or None
        Iterations of the solver when it iterates to a tolerance (None otherwise).

    Notes
    -----
    In Jupyter every result renders as a short table (``_repr_html_``): status, message, the key
    scalars and, for trajectories, a few rows of the main observables with their standard errors.
    """

    problem: Problem
    status: Status = Status.SUCCESS
    message: str = ""
    seed: Optional[int] = None
    timing: dict = field(default_factory=dict)
    version: str = __version__
    nit: Optional[int] = None

    #: names of the key scalars shown by :meth:`summary_rows` (empty: the subclass's number fields)
    SCALARS: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        _CLASSES[cls.__name__] = cls

    @property
    def success(self) -> bool:
        """``status == Status.SUCCESS``."""
        return self.status == Status.SUCCESS

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the common fields (subclasses add theirs).

        Examples
        --------
        >>> from sidmft import Problem, Result, Status
        >>> d = Result(Problem(), status=Status.FAILED, message="no root").to_dict()
        >>> d["status"], d["status_code"], d["success"], d["problem"]["alpha"]
        ('failed', 6, False, 3.0)
        """
        return dict(
            kind=type(self).__name__,
            status=self.status.label,
            status_code=int(self.status),
            message=self.message,
            success=self.success,
            seed=self.seed,
            nit=self.nit,
            timing=dict(self.timing),
            sidmft_version=self.version,
            problem=self.problem.to_dict(),
        )

    def metadata(self) -> dict[str, Any]:
        """Attributes written to every result file."""
        md = {f"problem_{k}": v for k, v in self.problem.to_dict().items()}
        md.update(
            kind=type(self).__name__,
            kind_module=type(self).__module__,
            status=self.status.label,
            status_code=int(self.status),
            message=self.message,
            seed=self.seed,
            nit=self.nit,
            sidmft_version=self.version,
            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )
        md.update({f"timing_{k}_s": float(v) for k, v in self.timing.items()})
        return md

    def to_xarray(self):  # pragma: no cover - implemented by subclasses
        raise NotImplementedError(f"{type(self).__name__} cannot be written to a file")

    @classmethod
    def from_xarray(cls, ds) -> Result:  # pragma: no cover - implemented by subclasses
        """Rebuild a result from its :meth:`to_xarray` output (or a loaded file)."""
        raise NotImplementedError(f"{cls.__name__} cannot be read back from a file")

    def save(self, path) -> str:
        """Write ``to_xarray()`` to netCDF (``.nc``) or zarr (``.zarr``); returns the path."""
        from .io import save_dataset

        return save_dataset(self.to_xarray(), path)

    @classmethod
    def load(cls, path) -> Result:
        """Read a file written by :meth:`save`.

        ``Result.load(path)`` returns the class recorded in the file (its ``kind`` attribute);
        ``SomeResult.load(path)`` insists on that class.
        """
        from .io import load

        ds = load(path)
        kind = str(ds.attrs.get("kind", cls.__name__))
        sub = _result_class(kind, ds.attrs.get("kind_module"))
        if sub is None or not issubclass(sub, cls):
            raise ValueError(f"path holds a {kind}, not a {cls.__name__}: {path}")
        return sub.from_xarray(ds)

    @staticmethod
    def _common_from_xarray(ds) -> dict[str, Any]:
        """Keyword arguments of the common fields, read from a dataset written by :meth:`to_xarray`
        (the problem, with ``x0`` from the ``x0_given`` variable when the start was given)."""
        from .io import problem_from_attrs

        a = ds.attrs
        x0 = np.asarray(ds["x0_given"].values) if "x0_given" in ds else None
        timing = {
            k[len("timing_") : -2]: float(v) for k, v in a.items() if k.startswith("timing_") and k.endswith("_s")
        }
        return dict(
            problem=problem_from_attrs(a, x0=x0),
            status=Status(int(a["status_code"])),
            message=str(a.get("message", "")),
            seed=_int_or_none(a.get("seed")),
            timing=timing,
            version=str(a.get("sidmft_version", "")),
            nit=_int_or_none(a.get("nit")),
        )

    def _problem_vars(self) -> dict:
        """Data variables recording what the attributes cannot: a given start ``x0``."""
        if self.problem.init == "given" and self.problem.x0 is not None:
            return {"x0_given": (("coord",), np.asarray(self.problem.x0, dtype=np.float64))}
        return {}

    # ------------------------------------------------------------------ notebook display
    def summary_rows(self, max_scalars: int = 14) -> list[tuple[str, str]]:
        """Key scalars as ``(name, formatted value)`` pairs (used by the notebook summary).

        The class's :attr:`SCALARS` (else the dataclass fields of the subclass holding plain numbers), nested
        results with their status, then :meth:`summary_extra` (a subclass's derived numbers).

        Examples
        --------
        >>> from sidmft import Problem, Result, Status
        >>> r = Result(Problem(), status=Status.NOT_CONVERGED, message="iteration limit")
        >>> r.summary_rows()
        []
        >>> r.success
        False
        """
        import dataclasses
        import numbers

        base = {f.name for f in dataclasses.fields(Result)}
        names = self.SCALARS or tuple(f.name for f in dataclasses.fields(self) if f.name not in base)
        rows: list[tuple[str, str]] = []
        for name in names:
            v = getattr(self, name, None)
            if isinstance(v, Result):
                rows.append((name, f"{type(v).__name__}: {v.status.label}"))
            elif isinstance(v, (bool, numbers.Number)) and not isinstance(v, complex):
                if len(rows) < max_scalars:
                    rows.append((name, _fmt(v)))
        return rows + self.summary_extra()

    def summary_extra(self) -> list[tuple[str, str]]:
        """Derived numbers a subclass adds to :meth:`summary_rows` (none here)."""
        return []

    def html_table(self) -> Optional[tuple[list[str], list[list[str]]]]:
        """A table (columns, rows of strings) a subclass shows in the notebook summary (none here)."""
        return None

    def trajectory_rows(self, names=("m", "q", "error", "train_loss"), n_rows: int = 6):
        """A few rows (t, value ± se) of the main observables of a :class:`TrajectoryResult`.

        Returns ``(columns, rows)`` with formatted strings, or ``None`` when the result has no
        trajectory (not a :class:`TrajectoryResult`, or none of ``names`` is one trajectory).

        Examples
        --------
        >>> import numpy as np
        >>> from sidmft import Problem
        >>> from sidmft.simulator import SimulationResult
        >>> per_seed = {"m": np.array([[0.5, 0.7, 0.9], [0.5, 0.8, 0.85]])}
        >>> res = SimulationResult(Problem(), t=np.arange(3), per_seed=per_seed, seeds=np.arange(2))
        >>> cols, rows = res.trajectory_rows(names=("m",))
        >>> cols
        ['t', 'm']
        >>> rows[-1]
        ['2', '0.875 ± 0.025']
        """
        if not isinstance(self, TrajectoryResult) or self.t is None:
            return None
        t = np.asarray(self.t)
        if t.ndim != 1 or t.size == 0:
            return None
        cols, series = ["t"], []
        for name in names:
            if name not in self.replicas:
                continue
            val, se = np.asarray(self.mean(name), dtype=float), np.asarray(self.se(name), dtype=float)
            if val.shape != t.shape:  # e.g. a batch of (lam, eta) pairs: not one trajectory
                continue
            cols.append(name)
            series.append((val, se))
        if not series:
            return None
        n = t.size
        if n <= n_rows:
            idx = list(range(n))
        else:
            idx = sorted({0, 1, *np.linspace(0, n - 1, n_rows - 1).round().astype(int).tolist()})
        rows = []
        for i in idx:
            row = [str(t[i])]
            for val, se in series:
                s = _fmt(val[i])
                if np.isfinite(se[i]):
                    s += f" ± {_fmt(se[i], 2)}"
                row.append(s)
            rows.append(row)
        return cols, rows

    def _repr_html_(self) -> str:
        """Short HTML summary for Jupyter: status, message, problem, key scalars, a few trajectory rows."""
        from html import escape

        colour = "#1a7f37" if self.success else "#b42318"
        p = self.problem
        prob = ", ".join(
            f"{k}={getattr(p, k)}"
            for k in ("model", "loss", "preprocess", "alpha", "lam", "eta", "steps")
            if hasattr(p, k)
        )
        out = [
            f"<div class='sidmft-result'><b>{escape(type(self).__name__)}</b> "
            f"<span style='color:{colour};font-weight:bold'>{escape(self.status.label)}</span>"
        ]
        if self.message:
            out.append(f"<br><i>{escape(str(self.message))}</i>")
        meta = [prob]
        if self.seed is not None:
            meta.append(f"seed={self.seed}")
        if "total" in self.timing:
            meta.append(f"{float(self.timing['total']):.3g} s")
        meta.append(f"sidmft {self.version}")
        out.append(f"<br><small>{escape('; '.join(meta))}</small>")
        scalars = self.summary_rows()
        if scalars:
            out.append(
                "<table><tr>"
                + "".join(f"<th>{escape(k)}</th>" for k, _ in scalars)
                + "</tr><tr>"
                + "".join(f"<td>{escape(v)}</td>" for _, v in scalars)
                + "</tr></table>"
            )
        extra = self.html_table()
        if extra is not None:
            cols, rows = extra
            out.append(
                "<table><tr>"
                + "".join(f"<th>{escape(c)}</th>" for c in cols)
                + "</tr>"
                + "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
                + "</table>"
            )
        traj = self.trajectory_rows()
        if traj is not None:
            cols, rows = traj
            out.append(
                "<table><tr>"
                + "".join(f"<th>{escape(c)}</th>" for c in cols)
                + "</tr>"
                + "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
                + "</table>"
            )
        out.append("</div>")
        return "\n".join(out)


def _fmt(v, digits: int = 6) -> str:
    """Compact number formatting for summaries (``bool`` and integers as they are)."""
    if isinstance(v, bool):
        return str(v)
    try:
        import numpy as np

        if isinstance(v, (int, np.integer)):
            return str(int(v))
        return f"{float(v):.{digits}g}"
    except (TypeError, ValueError):
        return str(v)


def _int_or_none(v) -> Optional[int]:
    """An integer attribute read back from a file (``"none"`` / missing -> None)."""
    if v is None or (isinstance(v, str) and v == "none"):
        return None
    return int(v)


#: every Result subclass by class name (filled by ``Result.__init_subclass__``)
_CLASSES: dict[str, type] = {}


def _result_class(kind: str, module=None):
    """The :class:`Result` subclass named ``kind``: registered already, or after importing the module the file
    records (``kind_module``)."""
    import importlib

    if kind not in _CLASSES and isinstance(module, str) and module.startswith("sidmft."):
        try:
            importlib.import_module(module)
        except ImportError:  # a file written by a version whose module has moved
            pass
    return _CLASSES.get(kind)


@dataclass
class TrajectoryResult(Result):
    """A trajectory t = 0..steps observed on several independent replicas (seeds or batches).

    The one interface of :class:`~sidmft.simulator.SimulationResult` (replicas = seeds) and
    :class:`~sidmft.theory.dmft.DMFTResult` (replicas = independent Monte-Carlo batches).

    Attributes
    ----------
    t : (steps+1,) int array
        The steps.
    replicas : dict name -> array (n_replicas, steps+1)
        Per-replica values (``(n_replicas, B, steps+1)`` for a simulated batch of B (lam, eta)
        pairs); the field that holds them is named by the subclass (``per_seed``, ``per_batch``).
    replica_dim : str
        What a replica is: ``"seed"`` or ``"batch"``.
    names : tuple of str
        The observables present (:data:`OBSERVABLES`).

    Notes
    -----
    ``mean(name)`` is the average over replicas and ``se(name)`` its standard error
    std(ddof=1)/sqrt(n_replicas) (NaN for one replica); a NaN in any replica (a divergence, a
    blow-up) makes the mean NaN there.
    """

    t: Optional[np.ndarray] = None

    REPLICA_DIM: ClassVar[str] = "seed"
    REPLICAS_FIELD: ClassVar[str] = "per_seed"

    @property
    def replica_dim(self) -> str:
        return self.REPLICA_DIM

    @property
    def replicas(self) -> dict:
        return getattr(self, self.REPLICAS_FIELD)

    @property
    def names(self) -> tuple:
        return tuple(self.replicas)

    @property
    def n_replicas(self) -> int:
        return int(next(iter(self.replicas.values())).shape[0]) if self.replicas else 0

    def per_replica(self, name: str) -> np.ndarray:
        """The values of each replica: array (n_replicas, steps+1) (or (n_replicas, B, steps+1))."""
        if name not in self.replicas:
            raise ValueError(f"name must be one of {list(self.replicas)}; got {name!r}")
        return self.replicas[name]

    def mean(self, name: str) -> np.ndarray:
        """Average over replicas (NaN where any replica is NaN)."""
        return np.mean(self.per_replica(name), axis=0)

    def se(self, name: str) -> np.ndarray:
        """Standard error of :meth:`mean`: std(ddof=1)/sqrt(n_replicas), NaN for one replica."""
        from .numerics import standard_error

        return np.asarray(standard_error(self.per_replica(name), axis=0))

    def to_dict(self) -> dict[str, Any]:
        """Common fields, ``t``, and ``<name>`` / ``<name>_se`` (mean and standard error) per observable."""
        d = super().to_dict()
        d.update(t=self.t, replica_dim=self.replica_dim, n_replicas=self.n_replicas)
        for k in self.names:
            d[k], d[f"{k}_se"] = self.mean(k), self.se(k)
        return d

    # ---------------------------------------------------------------- shared xarray part
    def _replica_vars(self, suffix: str = "", inner: tuple = ()) -> dict:
        """Data variables ``<name><suffix>`` on ``(replica_dim, *inner, "t")``."""
        dims = (self.replica_dim, *inner, "t")
        return {f"{k}{suffix}": (dims, np.asarray(v, dtype=np.float64)) for k, v in self.replicas.items()}

    @classmethod
    def _replicas_from_xarray(cls, ds, suffix: str = "") -> dict:
        return {k: np.asarray(ds[f"{k}{suffix}"].values) for k in OBSERVABLES if f"{k}{suffix}" in ds}

    # ---------------------------------------------------------------- transitional
