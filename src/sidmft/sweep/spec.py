"""The sweep specification: a frozen, validated grid with its points, keys and seeds.

A :class:`SweepSpec` is built once (every point's :class:`~sidmft.Problem` is constructed then,
so a bad value is refused before any work) and never changes afterwards; the store, the runner
and the dataset assembly read it through its public accessors (``dims``, ``shape``,
``n_points``, ``points()``, ``keys``, ``key(idx)``, ``problem(idx)``, ``resolved_outputs``,
``task(idx)``).

Imports: numpy, :mod:`sidmft.problem`, :mod:`.grid`, :mod:`.outputs`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..problem import PROBLEM_FIELDS, Problem
from .grid import (
    RUN_SETTINGS,
    SETTINGS_USED_BY,
    SweepError,
    check_name,
    check_values,
    convert_value,
    method_parameters,
    values_from_config,
)
from .outputs import Output, resolve_outputs

__all__ = ["SweepSpec", "point_seed", "canonical_json", "digest", "format_values"]


def canonical_json(obj) -> str:
    """Canonical JSON of ``obj`` (sorted keys, no spaces): the input of every hash."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def digest(obj) -> str:
    """SHA-256 hex digest of :func:`canonical_json` of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


def format_values(values: dict) -> str:
    """``"alpha=1.0, lam=0.1"``: a grid point for messages."""
    return ", ".join(f"{k}={v}" for k, v in values.items())


def point_seed(params: dict, base_seed: int, output: str) -> int:
    """Seed of one output at one point: ``SeedSequence(base_seed, spawn_key=sha256(params, output))``.

    Depends only on the point's canonical parameters, the output and the base seed, never on
    the grid it belongs to, the number of workers or the completion order (returns a uint32)."""
    h = hashlib.sha256(canonical_json({"params": params, "output": output}).encode()).digest()
    words = tuple(int.from_bytes(h[i : i + 4], "little") for i in range(0, 16, 4))
    return int(np.random.SeedSequence(int(base_seed), spawn_key=words).generate_state(1)[0])


def _where(values: dict, k: str) -> str:
    return f" (grid point {format_values(values)})" if k in values else ""


def _normal_grid(grid: dict) -> dict:
    """``{name: tuple(values)}`` with typed, checked values (lists, range strings or tables)."""
    if not grid:
        raise SweepError("empty grid: give at least one --grid NAME=VALUES")
    out = {}
    for name, values in grid.items():
        name = name.replace("-", "_")
        if isinstance(values, (list, tuple)):
            check_name(name)
            out[name] = tuple(check_values(name, [convert_value(name, v) for v in values]))
        else:
            out[name] = tuple(values_from_config(name, values))
    return out


def _normal_settings(settings) -> dict:
    st = dict(RUN_SETTINGS)
    for k, v in (settings or {}).items():
        if k not in RUN_SETTINGS:
            raise SweepError(f"unknown run setting {k!r}; choose from {', '.join(RUN_SETTINGS)}")
        st[k] = v
    return {k: convert_value(k, st[k]) for k in RUN_SETTINGS}


def _normal_seed(seed) -> int:
    try:
        s = int(seed)
    except (TypeError, ValueError):
        raise SweepError(f"seed must be a whole number >= 0; got {seed!r}") from None
    if s < 0 or s != float(seed):
        raise SweepError(f"seed must be a whole number >= 0; got {seed!r}")
    return s


def _check_settings(st: dict, values: dict) -> None:
    for k in ("seeds", "samples", "batches", "dim"):
        if st[k] < 1:
            raise SweepError(f"{k} must be >= 1; got {st[k]!r}" + _where(values, k))
    if st["batches"] > st["samples"]:
        raise SweepError(
            f"batches must be <= samples; got batches={st['batches']}, "
            f"samples={st['samples']}" + _where(values, "batches")
        )


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: grid, fixed problem fields, run settings, outputs and base seed (frozen).

    Parameters
    ----------
    grid : dict
        ``{parameter: values}``, in dimension order (Cartesian product); values a list, a
        ``"V1,V2"`` / ``"START:STOP:NUM[:log]"`` string or a ``{start, stop, num}`` table.
        Stored as ``{name: tuple of typed values}``.
    fixed : dict
        Problem fields held fixed (any subset of the Problem fields; the rest take defaults).
    settings : dict
        Run settings ``dim, seeds, samples, batches`` (defaults :data:`RUN_SETTINGS`).
    outputs : list of str or str
        What each point computes (stored as a tuple of names).
    seed : int
        Base seed (>= 0).

    Raises
    ------
    SweepError
        For any bad parameter, value or point, naming it, before any work.
    """

    grid: dict
    fixed: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    outputs: tuple = ("spectral",)
    seed: int = 0
    check_outputs: bool = field(default=True, repr=False, compare=False)
    # derived in __post_init__ (read them through the public accessors)
    _resolved: tuple = field(init=False, repr=False, compare=False, default=())
    _used_settings: tuple = field(init=False, repr=False, compare=False, default=())
    _problems: dict = field(init=False, repr=False, compare=False, default_factory=dict)
    _keys: dict = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self):
        names = self.outputs
        if isinstance(names, str):
            names = [o.strip() for o in names.split(",") if o.strip()]
        resolved = tuple(resolve_outputs(names, check=self.check_outputs))
        grid = _normal_grid(self.grid)
        fixed = dict(self.fixed or {})
        for k in list(fixed):
            if k in PROBLEM_FIELDS:
                continue
            if k in method_parameters():  # a registered method's own parameter: into params
                fixed["params"] = {**(fixed.get("params") or {}), k: fixed.pop(k)}
                continue
            raise SweepError(f"unknown problem parameter {k!r}; choose from {', '.join(PROBLEM_FIELDS)}")
        settings, seed = _normal_settings(self.settings), _normal_seed(self.seed)
        used = {s for o in resolved for s in o.settings}
        for name in grid:
            if name in RUN_SETTINGS and name not in used:
                raise SweepError(
                    f"grid parameter {name!r} is only used by output(s) "
                    f"{', '.join(SETTINGS_USED_BY[name])}, which this sweep does not compute"
                )
        self._set(
            outputs=tuple(o.name for o in resolved),
            grid=grid,
            fixed={k: v for k, v in fixed.items() if v is not None},
            settings=settings,
            seed=seed,
            _resolved=resolved,
            _used_settings=tuple(sorted(used)),
        )
        self._validate_points()

    def _set(self, **kw) -> None:
        for k, v in kw.items():
            object.__setattr__(self, k, v)

    def __hash__(self) -> int:
        return hash(self.spec_hash)

    # -- points -------------------------------------------------------------------------------
    @property
    def dims(self) -> tuple[str, ...]:
        """The grid parameters, in dimension order."""
        return tuple(self.grid)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.grid.values())

    @property
    def n_points(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def resolved_outputs(self) -> tuple[Output, ...]:
        """The :class:`~sidmft.sweep.outputs.Output` objects, in the order of ``outputs``."""
        return self._resolved

    @property
    def keys(self) -> tuple[str, ...]:
        """Every point's key (its file name in the store), in C order over the grid."""
        return tuple(self._keys[idx] for idx, _ in self.points())

    def points(self) -> Iterator[tuple[tuple, dict]]:
        """Yield ``(index, grid_values)`` in C order over the grid."""
        names = self.dims
        for idx in itertools.product(*(range(n) for n in self.shape)):
            yield idx, {k: self.grid[k][i] for k, i in zip(names, idx)}

    def point_params(self, values: dict) -> tuple[dict, dict]:
        """(problem dict, settings dict) of a point with grid ``values``; a registered method parameter that is not
        a Problem field (e.g. a custom method's ``delta``) goes into the problem's ``params``."""
        prob = dict(self.fixed)
        st = dict(self.settings)
        for k, v in values.items():
            if k in RUN_SETTINGS:
                st[k] = v
            elif k in PROBLEM_FIELDS:
                prob[k] = v
            else:
                prob["params"] = {**(prob.get("params") or {}), k: v}
        return prob, st

    def _validate_points(self) -> None:
        """Build every point's Problem now, so a bad value is refused before any work."""
        problems, keys, cache = {}, {}, {}
        for idx, values in self.points():
            prob, st = self.point_params(values)
            _check_settings(st, values)
            ck = canonical_json(prob)
            if ck not in cache:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        cache[ck] = Problem(**{k: v for k, v in prob.items() if v is not None})
                except (ValueError, TypeError) as e:
                    raise SweepError(f"invalid grid point {format_values(values)}: {e}") from None
            problems[idx] = cache[ck]
            keys[idx] = self._point_key(cache[ck], st)
        self._set(_problems=problems, _keys=keys)

    def canonical(self, problem: Problem, settings: dict) -> dict:
        """Canonical parameters of a point: the Problem's fields + the settings its outputs use."""
        return {"problem": problem.to_dict(), "settings": {k: settings[k] for k in self._used_settings}}

    def _point_key(self, problem, settings) -> str:
        canon = self.canonical(problem, settings)
        return digest({"point": canon, "outputs": list(self.outputs), "seed": self.seed})[:24]

    def problem(self, idx) -> Problem:
        """The :class:`~sidmft.Problem` of the point at grid index ``idx``."""
        return self._problems[tuple(idx)]

    def key(self, idx) -> str:
        """The key of the point at grid index ``idx``."""
        return self._keys[tuple(idx)]

    def task(self, idx) -> dict:
        """Everything a worker needs to compute one point (plain, picklable)."""
        idx = tuple(idx)
        values = {k: self.grid[k][i] for k, i in zip(self.dims, idx)}
        p = self._problems[idx]
        _, st = self.point_params(values)
        seeds = {}
        for o in self._resolved:
            params = {"problem": p.to_dict(), "settings": {k: st[k] for k in o.settings}}
            seeds[o.name] = point_seed(params, self.seed, o.name)
        return {
            "key": self._keys[idx],
            "index": list(idx),
            "grid_values": values,
            "problem": p.to_dict(),
            "settings": st,
            "outputs": list(self.outputs),
            "seeds": seeds,
            "base_seed": self.seed,
        }

    # -- (de)serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain JSON-able dict (lists) that :meth:`from_dict` reads back."""
        return {
            "grid": {k: list(v) for k, v in self.grid.items()},
            "fixed": dict(self.fixed),
            "settings": dict(self.settings),
            "outputs": list(self.outputs),
            "seed": self.seed,
        }

    @property
    def spec_hash(self) -> str:
        return digest(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict, check_outputs: bool = True) -> SweepSpec:
        return cls(
            grid=d["grid"],
            fixed=d.get("fixed", {}),
            settings=d.get("settings", {}),
            outputs=d.get("outputs", ["spectral"]),
            seed=d.get("seed", 0),
            check_outputs=check_outputs,
        )
