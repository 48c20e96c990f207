"""Parameter sweeps on Dask: a Cartesian grid of problems, each point computing chosen outputs.

A sweep is a grid over any problem field (``model, noise, loss, preprocess, alpha, lam, eta,
steps, kappa, init, m0, q0``) and run setting (``dim, seeds`` for the simulator, ``samples,
batches`` for the DMFT).  Every grid point is one :class:`~sidmft.Problem` (THEORY.md §0
conventions) for which the chosen *outputs* are computed:

``spectral``     d -> inf spectral initialisation (THEORY.md §1.1): alpha_c, rho, rho^2, top
                 eigenvalue, bulk edge, passed.
``dmft``         d -> inf GD trajectory (THEORY.md §2): final observables with Monte-Carlo
                 standard errors, and the whole trajectory over ``t``.
``fixed-point``  long-time limit (m, q, cosine, error, train loss, gamma, h_min, rate, residual).
``simulate``     finite-size GD (``dim``, ``seeds``): final observables mean/se over seeds, the
                 trajectory, the spectral overlap and top eigenvalue.
``module:func``  a user function ``func(problem, settings, seed) -> dict`` of scalars and
                 1-D arrays over ``t`` (importable on the workers).

Store layout (a directory; every file is written atomically by the *client*)::

    STORE/sweep.json          the sweep specification (grid, fixed parameters, outputs, seed)
    STORE/points/<key>.nc     one netCDF per finished point (parameters, seeds, version, timing)
    STORE/journal.jsonl       append-only log: one "point" line per computed point, "start"/"end"
    STORE/results.zarr        consolidated dataset, one dimension per grid parameter
                              (rebuilt at the end of a run and on demand by :func:`open_sweep`)

Stored variables (``results.zarr``, dims = the grid parameters in ``--grid`` order, plus ``t``):
``<output>_<name>`` with ``<output>`` in ``spectral, dmft, fixed_point, simulate`` (or the custom
function's name); final-time observables ``dmft_error``, ``dmft_error_se``, trajectories
``dmft_error_t``, ``dmft_error_se_t`` (NaN-padded to the longest ``steps``), the same for
``simulate_*`` (mean / standard error over seeds) and ``simulate_spectral_overlap``; spectral
``spectral_alpha_c, _rho, _rho_sq, _top_eigenvalue, _bulk_edge, _passed``; fixed point
``fixed_point_m, _q, _error, _rate, ...``; ``<output>_status`` (a :class:`~sidmft.Status` code,
-1 = not computed), ``<output>_seed``, ``finished`` and ``point_time_s``.

A point is finished iff its point file exists.  Re-running the same sweep skips finished
points, so a sweep killed at any moment (even SIGKILL) loses at most the points in flight,
and the journal proves that no finished point is computed again.  Each point's seeds are
derived from its own parameters (``numpy.random.SeedSequence`` of a SHA-256 of the canonical
parameter dict, the output name and the base seed), so stored numbers do not depend on the
number of workers or on the completion order.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import itertools
import json
import math
import os
import shutil
import socket
import sys
import time
import traceback
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import numpy as np

from ._version import __version__
from .problem import PROBLEM_FIELDS, Problem
from .results import OBSERVABLES, Status, Timer

__all__ = [
    "SweepSpec", "OUTPUTS", "GRID_PARAMS", "RUN_SETTINGS", "parse_grid", "parse_grid_item",
    "load_config", "run_sweep", "open_sweep", "consolidate", "sweep_info", "compute_point",
    "point_seed", "SweepError",
]

FORMAT = "sidmft-sweep"
FORMAT_VERSION = 1

#: run settings (not part of the Problem) with their defaults and the outputs that use them
RUN_SETTINGS = {"dim": 1000, "seeds": 4, "samples": 20000, "batches": 4}
SETTINGS_USED_BY = {"dim": ("simulate",), "seeds": ("simulate",), "samples": ("dmft",), "batches": ("dmft",)}

#: every parameter a grid may vary
GRID_PARAMS = tuple(PROBLEM_FIELDS) + tuple(RUN_SETTINGS)

_INT_PARAMS = {"steps", "dim", "seeds", "samples", "batches"}
_STR_PARAMS = {"model", "loss", "preprocess", "init"}
_OPTIONAL_FLOAT = {"m0", "q0"}          # may be "none"
_KAPPA = {"kappa"}                      # float or "empirical"


class SweepError(ValueError):
    """A bad sweep specification (unknown parameter, empty range, invalid value, ...)."""


# =============================================================================== grid parsing
def _clean_float(v: float) -> float:
    """Round to 12 significant digits so linspace values are stable keys (0.1*3 -> 0.3)."""
    return float(f"{float(v):.12g}")


def _convert_value(name: str, raw) -> Any:
    """Convert one grid value of parameter ``name`` to its type (raise SweepError naming it)."""
    if isinstance(raw, str):
        raw = raw.strip()
        if raw == "":
            raise SweepError(f"grid parameter {name!r}: empty value")
    if name in _STR_PARAMS:
        return str(raw)
    if name in _OPTIONAL_FLOAT and (raw is None or (isinstance(raw, str) and raw.lower() == "none")):
        return None
    if name in _KAPPA and isinstance(raw, str) and raw == "empirical":
        return raw
    try:
        v = float(raw)
    except (TypeError, ValueError):
        kind = "a whole number" if name in _INT_PARAMS else "a number"
        extra = " or 'empirical'" if name in _KAPPA else ""
        raise SweepError(f"grid parameter {name!r}: value {raw!r} is not {kind}{extra}") from None
    if not math.isfinite(v):
        raise SweepError(f"grid parameter {name!r}: value {raw!r} is not finite")
    if name in _INT_PARAMS:
        if abs(v - round(v)) > 1e-9 * max(1.0, abs(v)):
            raise SweepError(f"grid parameter {name!r}: value {raw!r} is not a whole number")
        return int(round(v))
    return _clean_float(v)


def _parse_range(name: str, text: str) -> list:
    parts = text.split(":")
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3].strip().lower() not in ("log", "lin")):
        raise SweepError(f"grid parameter {name!r}: malformed range {text!r}; expected START:STOP:NUM "
                         "(or START:STOP:NUM:log for geometric spacing)")
    try:
        start, stop = float(parts[0]), float(parts[1])
    except ValueError:
        raise SweepError(f"grid parameter {name!r}: malformed range {text!r}; START and STOP must be numbers") \
            from None
    try:
        num_f = float(parts[2])
    except ValueError:
        raise SweepError(f"grid parameter {name!r}: malformed range {text!r}; NUM must be a whole number") from None
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise SweepError(f"grid parameter {name!r}: range {text!r} has a non-finite end")
    if num_f != int(num_f):
        raise SweepError(f"grid parameter {name!r}: range {text!r}; NUM must be a whole number >= 1")
    num = int(num_f)
    if num < 1:
        raise SweepError(f"grid parameter {name!r}: empty range {text!r} (NUM = {num}); NUM must be >= 1")
    if len(parts) == 4 and parts[3].strip().lower() == "log":
        if start <= 0 or stop <= 0:
            raise SweepError(f"grid parameter {name!r}: geometric range {text!r} needs START, STOP > 0")
        vals = np.geomspace(start, stop, num)
    else:
        vals = np.linspace(start, stop, num)
    if name in _INT_PARAMS:
        bad = [v for v in vals if abs(v - round(v)) > 1e-9 * max(1.0, abs(v))]
        if bad:
            raise SweepError(f"grid parameter {name!r}: range {text!r} gives non-integer values (e.g. {bad[0]:g}); "
                             "choose NUM so that (STOP - START)/(NUM - 1) is a whole number")
    return [_convert_value(name, v) for v in vals]


def parse_grid_item(item) -> tuple[str, list]:
    """Parse one ``NAME=V1,V2,...`` or ``NAME=START:STOP:NUM[:log]`` into ``(name, values)``.

    String-valued parameters (model, loss, preprocess, init) only take lists (so
    ``preprocess=clip:3,trim:7`` is two values).  Raises :class:`SweepError` naming the parameter.
    """
    if not isinstance(item, str) or "=" not in item:
        raise SweepError(f"malformed grid {item!r}; expected NAME=V1,V2,... or NAME=START:STOP:NUM")
    name, _, text = item.partition("=")
    name = name.strip().replace("-", "_")
    _check_name(name)
    text = text.strip()
    if text == "":
        raise SweepError(f"grid parameter {name!r}: no values given")
    if name not in _STR_PARAMS and "," not in text and ":" in text:
        return name, _parse_range(name, text)
    if name not in _STR_PARAMS and ":" in text:
        raise SweepError(f"grid parameter {name!r}: {text!r} mixes a list and a range; give one of "
                         "V1,V2,... or START:STOP:NUM")
    return name, _check_values(name, [_convert_value(name, v) for v in text.split(",")])


def _check_name(name: str) -> None:
    if name not in GRID_PARAMS:
        raise SweepError(f"unknown grid parameter {name!r}; choose from {', '.join(GRID_PARAMS)}")


def _check_values(name: str, values: list) -> list:
    if len(values) == 0:
        raise SweepError(f"grid parameter {name!r}: empty list of values")
    seen = set()
    for v in values:
        if v in seen:
            raise SweepError(f"grid parameter {name!r}: value {v!r} appears twice")
        seen.add(v)
    return values


def _values_from_config(name: str, raw) -> list:
    """Grid values from a TOML entry: a list, a "V1,V2" / "a:b:n" string, a {start,stop,num} table."""
    _check_name(name)
    if isinstance(raw, dict):
        unknown = set(raw) - {"start", "stop", "num", "spacing"}
        if unknown or not {"start", "stop", "num"} <= set(raw):
            raise SweepError(f"grid parameter {name!r}: a range table needs keys start, stop, num "
                             f"(optional spacing = 'lin' | 'log'); got {sorted(raw)}")
        text = f"{raw['start']}:{raw['stop']}:{raw['num']}" + (f":{raw['spacing']}" if "spacing" in raw else "")
        if name in _STR_PARAMS:
            raise SweepError(f"grid parameter {name!r} takes a list of values, not a range")
        return _parse_range(name, text)
    if isinstance(raw, str):
        return parse_grid_item(f"{name}={raw}")[1]
    if isinstance(raw, (list, tuple)):
        return _check_values(name, [_convert_value(name, v) for v in raw])
    return [_convert_value(name, raw)]


def parse_grid(items: Iterable, base: Optional[dict] = None) -> dict[str, list]:
    """Parse repeated ``--grid`` items into an ordered ``{name: values}`` (duplicates refused)."""
    grid = dict(base or {})
    for it in items:
        name, values = parse_grid_item(it)
        if name in grid:
            raise SweepError(f"grid parameter {name!r} is given twice")
        grid[name] = values
    return grid


# =============================================================================== outputs
@dataclass(frozen=True)
class Output:
    """One thing a sweep point can compute.

    ``func(problem, settings, seed) -> (data, result)``: ``data`` maps a variable name
    (without prefix) to a scalar or a 1-D array over ``t``; ``result`` is any object whose
    ``status`` / ``message`` are recorded (or None).
    """

    name: str
    prefix: str
    func: Callable
    settings: tuple = ()
    module: Optional[str] = None     # "module:function" that must exist for the output to be available
    uses_seed: bool = False


def _get(obj, name, default=np.nan):
    """Attribute ``name`` of a result (a missing one becomes NaN; rename here in one line)."""
    v = getattr(obj, name, default)
    return default if v is None else v


def _final(arr) -> float:
    a = np.asarray(arr, dtype=float).ravel()
    return float(a[-1]) if a.size else float("nan")


def _summary_spectral(problem, settings, seed):
    from .theory.spectral import spectral

    res = spectral(problem)
    data = {k: float(_get(res, k)) for k in ("alpha_c", "rho", "rho_sq", "l_star", "top_eigenvalue", "bulk_edge")}
    data["passed"] = np.int8(bool(_get(res, "passed", False)))
    return data, res


def _trajectory_summary(res, mean: Callable, se: Callable) -> dict:
    data = {}
    for obs in OBSERVABLES:
        try:
            m = np.asarray(mean(obs), dtype=float)
        except (AttributeError, KeyError):
            continue
        try:
            s = np.asarray(se(obs), dtype=float)
        except (AttributeError, KeyError):
            s = np.full_like(m, np.nan)
        data[obs] = _final(m)
        data[f"{obs}_se"] = _final(s)
        data[f"{obs}_t"] = m
        data[f"{obs}_se_t"] = s
    return data


def _summary_dmft(problem, settings, seed):
    from .theory.dmft import dmft

    res = dmft(problem, samples=int(settings["samples"]), batches=int(settings["batches"]), seed=seed)
    data = _trajectory_summary(res, lambda o: getattr(res, o), lambda o: getattr(res, f"{o}_se"))
    b = getattr(res, "blowup_step", None)
    data["blowup_step"] = float(b) if b is not None else np.nan
    return data, res


def _summary_fixed_point(problem, settings, seed):
    from .theory.fixed_point import fixed_point

    res = fixed_point(problem)
    names = ("m", "q", "cosine", "error", "train_loss", "gamma", "h_min", "rate", "residual")
    return {k: float(_get(res, k)) for k in names}, res


def _mean_se(x) -> tuple[float, float]:
    x = np.asarray(x, dtype=float).ravel()
    if x.size == 0:
        return float("nan"), float("nan")
    se = float(np.std(x, ddof=1) / math.sqrt(x.size)) if x.size > 1 else float("nan")
    return float(np.mean(x)), se


def _summary_simulate(problem, settings, seed):
    from .simulate import simulate

    res = simulate(problem, dim=int(settings["dim"]), seeds=int(settings["seeds"]), seed=seed)
    data = _trajectory_summary(res, res.mean, res.se)
    for k in ("spectral_overlap", "top_eigenvalue", "second_eigenvalue"):
        v = getattr(res, k, None)
        if v is not None:
            data[k], data[f"{k}_se"] = _mean_se(v)
    return data, res


#: built-in outputs; the order is the order of variables in the store
OUTPUTS: dict[str, Output] = {
    "spectral": Output("spectral", "spectral", _summary_spectral, (), "sidmft.theory.spectral:spectral"),
    "dmft": Output("dmft", "dmft", _summary_dmft, ("samples", "batches"), "sidmft.theory.dmft:dmft", True),
    "fixed-point": Output("fixed-point", "fixed_point", _summary_fixed_point, (),
                          "sidmft.theory.fixed_point:fixed_point"),
    "simulate": Output("simulate", "simulate", _summary_simulate, ("dim", "seeds"), "sidmft.simulate:simulate",
                       True),
}


def _custom_output(spec: str, check: bool = True) -> Output:
    mod, _, fn = spec.partition(":")
    if not check:       # reading a store: the function need not be importable here
        return Output(spec, fn, None, tuple(RUN_SETTINGS), None, True)
    try:
        func = getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError) as e:
        raise SweepError(f"output {spec!r}: cannot import {fn!r} from module {mod!r} ({e})") from None

    def call(problem, settings, seed, _func=func):
        out = _func(problem, dict(settings), seed)
        return (out if isinstance(out, tuple) else (out, None))

    return Output(spec, fn, call, tuple(RUN_SETTINGS), None, True)


def resolve_outputs(names, check: bool = True) -> list[Output]:
    """Outputs by name (``spectral, dmft, fixed-point, simulate`` or ``module:function``).

    Refuses unknown names and (``check=True``) outputs whose module is not installed, before
    any work.  ``check=False`` only resolves names (to read a store)."""
    if isinstance(names, str):
        names = [n for n in names.split(",")]
    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise SweepError("no outputs chosen; --outputs takes a comma-separated list of "
                         f"{', '.join(OUTPUTS)} (or module:function)")
    outs = []
    for n in names:
        key = n.replace("_", "-") if n.replace("_", "-") in OUTPUTS else n
        if key in OUTPUTS:
            o = OUTPUTS[key]
            mod, _, attr = o.module.partition(":")
            try:
                if check and not hasattr(importlib.import_module(mod), attr):
                    raise SweepError(f"output {key!r} is not available: {mod} has no {attr!r}")
            except ModuleNotFoundError as e:
                raise SweepError(f"output {key!r} is not available: module {mod} is missing ({e})") from None
            except SweepError:
                raise
            except Exception as e:  # broken install: say so before any work
                raise SweepError(f"output {key!r} is not available: importing {mod} failed "
                                 f"({type(e).__name__}: {e})") from None
            outs.append(o)
        elif ":" in n:
            outs.append(_custom_output(n, check))
        else:
            raise SweepError(f"unknown output {n!r}; choose from {', '.join(OUTPUTS)} (or module:function)")
    if len({o.name for o in outs}) != len(outs):
        raise SweepError(f"output listed twice in {','.join(names)}")
    return outs


# =============================================================================== spec
def _canon(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def _digest(obj) -> str:
    return hashlib.sha256(_canon(obj).encode()).hexdigest()


def point_seed(params: dict, base_seed: int, output: str) -> int:
    """Seed of one output at one point: ``SeedSequence(base_seed, spawn_key=sha256(params, output))``.

    Depends only on the point's canonical parameters, the output and the base seed, never on
    the grid it belongs to, the number of workers or the completion order (returns a uint32)."""
    h = hashlib.sha256(_canon({"params": params, "output": output}).encode()).digest()
    words = tuple(int.from_bytes(h[i:i + 4], "little") for i in range(0, 16, 4))
    return int(np.random.SeedSequence(int(base_seed), spawn_key=words).generate_state(1)[0])


@dataclass
class SweepSpec:
    """A validated sweep: grid, fixed problem fields, run settings, outputs and base seed.

    Parameters
    ----------
    grid : dict
        ``{parameter: [values]}``, in dimension order (Cartesian product).
    fixed : dict
        Problem fields held fixed (any subset of the Problem fields; the rest take defaults).
    settings : dict
        Run settings ``dim, seeds, samples, batches`` (defaults :data:`RUN_SETTINGS`).
    outputs : list of str
        What each point computes.
    seed : int
        Base seed (>= 0).
    """

    grid: dict
    fixed: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    outputs: list = field(default_factory=lambda: ["spectral"])
    seed: int = 0
    check_outputs: bool = field(default=True, repr=False, compare=False)

    def __post_init__(self):
        if isinstance(self.outputs, str):
            self.outputs = [o.strip() for o in self.outputs.split(",") if o.strip()]
        self._outputs = resolve_outputs(self.outputs, check=self.check_outputs)
        self.outputs = [o.name for o in self._outputs]
        if not self.grid:
            raise SweepError("empty grid: give at least one --grid NAME=VALUES")
        grid = {}
        for name, values in self.grid.items():
            name = name.replace("-", "_")
            if isinstance(values, (list, tuple)):
                _check_name(name)
                grid[name] = _check_values(name, [_convert_value(name, v) for v in values])
            else:
                grid[name] = _values_from_config(name, values)
        self.grid = grid
        for k in self.fixed:
            if k not in PROBLEM_FIELDS:
                raise SweepError(f"unknown problem parameter {k!r}; choose from {', '.join(PROBLEM_FIELDS)}")
        self.fixed = {k: v for k, v in self.fixed.items() if v is not None}
        st = dict(RUN_SETTINGS)
        for k, v in (self.settings or {}).items():
            if k not in RUN_SETTINGS:
                raise SweepError(f"unknown run setting {k!r}; choose from {', '.join(RUN_SETTINGS)}")
            st[k] = v
        for k in RUN_SETTINGS:
            st[k] = _convert_value(k, st[k])
        self.settings = st
        try:
            seed = int(self.seed)
        except (TypeError, ValueError):
            raise SweepError(f"seed must be a whole number >= 0; got {self.seed!r}") from None
        if seed < 0 or seed != float(self.seed):
            raise SweepError(f"seed must be a whole number >= 0; got {self.seed!r}")
        self.seed = seed
        used = {s for o in self._outputs for s in o.settings}
        for name in self.grid:
            if name in RUN_SETTINGS and name not in used:
                raise SweepError(f"grid parameter {name!r} is only used by output(s) "
                                 f"{', '.join(SETTINGS_USED_BY[name])}, which this sweep does not compute")
        self._validate_points()

    # -- points -------------------------------------------------------------------------------
    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(self.grid)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.grid.values())

    @property
    def n_points(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def iter_points(self):
        """Yield ``(index, grid_values)`` in C order over the grid."""
        names = self.dims
        for idx in itertools.product(*(range(n) for n in self.shape)):
            yield idx, {k: self.grid[k][i] for k, i in zip(names, idx)}

    def point_params(self, values: dict) -> tuple[dict, dict]:
        """(problem dict, settings dict) of a point with grid ``values``."""
        prob = dict(self.fixed)
        st = dict(self.settings)
        for k, v in values.items():
            (st if k in RUN_SETTINGS else prob)[k] = v
        return prob, st

    def _validate_points(self):
        """Build every point's Problem now, so a bad value is refused before any work."""
        self._problems = {}
        self._keys = {}
        cache = {}
        for idx, values in self.iter_points():
            prob, st = self.point_params(values)
            for k in ("seeds", "samples", "batches", "dim"):
                if st[k] < 1:
                    raise SweepError(f"{k} must be >= 1; got {st[k]!r}" + _where(values, k))
            if st["batches"] > st["samples"]:
                raise SweepError(f"batches must be <= samples; got batches={st['batches']}, "
                                 f"samples={st['samples']}" + _where(values, "batches"))
            ck = _canon(prob)
            if ck not in cache:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        p = Problem(**{k: v for k, v in prob.items() if v is not None})
                except (ValueError, TypeError) as e:
                    raise SweepError(f"invalid grid point {_fmt(values)}: {e}") from None
                cache[ck] = p
            p = cache[ck]
            self._problems[idx] = p
            self._keys[idx] = self._point_key(p, st)

    def canonical(self, problem: Problem, settings: dict) -> dict:
        """Canonical parameters of a point: the Problem's fields + the settings its outputs use."""
        used = sorted({s for o in self._outputs for s in o.settings})
        return {"problem": problem.to_dict(), "settings": {k: settings[k] for k in used}}

    def _point_key(self, problem, settings) -> str:
        canon = self.canonical(problem, settings)
        return _digest({"point": canon, "outputs": self.outputs, "seed": self.seed})[:24]

    def problem(self, idx) -> Problem:
        return self._problems[tuple(idx)]

    def key(self, idx) -> str:
        return self._keys[tuple(idx)]

    def task(self, idx) -> dict:
        """Everything a worker needs to compute one point (plain, picklable)."""
        idx = tuple(idx)
        values = {k: self.grid[k][i] for k, i in zip(self.dims, idx)}
        p = self._problems[idx]
        _, st = self.point_params(values)
        seeds = {}
        for o in self._outputs:
            params = {"problem": p.to_dict(), "settings": {k: st[k] for k in o.settings}}
            seeds[o.name] = point_seed(params, self.seed, o.name)
        return {"key": self._keys[idx], "index": list(idx), "grid_values": values,
                "problem": p.to_dict(), "settings": st, "outputs": list(self.outputs), "seeds": seeds,
                "base_seed": self.seed}

    # -- (de)serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"grid": self.grid, "fixed": self.fixed, "settings": self.settings,
                "outputs": list(self.outputs), "seed": self.seed}

    @property
    def spec_hash(self) -> str:
        return _digest(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict, check_outputs: bool = True) -> "SweepSpec":
        return cls(grid=d["grid"], fixed=d.get("fixed", {}), settings=d.get("settings", {}),
                   outputs=d.get("outputs", ["spectral"]), seed=d.get("seed", 0), check_outputs=check_outputs)


def _fmt(values: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())


def _where(values, k):
    return f" (grid point {_fmt(values)})" if k in values else ""


def load_config(path) -> dict:
    """Read a TOML sweep file.

    Layout::

        outputs = ["spectral", "simulate"]     # or "spectral,simulate"
        store = "runs/pr_sweep"                # optional
        seed = 0                               # optional
        workers = 2                            # optional
        [problem]                              # fixed problem fields
        lam = 0.1
        [settings]                             # dim, seeds, samples, batches
        dim = 500
        [grid]                                 # one entry per dimension, in order
        alpha = [1.0, 2.0, 3.0]
        lam = "0:0.5:6"
        eta = {start = 0.05, stop = 0.2, num = 4}

    Returns a dict with keys ``grid, fixed, settings, outputs, seed, store, workers, scheduler``
    (absent ones omitted)."""
    import tomllib

    try:
        with open(path, "rb") as f:
            cfg = tomllib.load(f)
    except FileNotFoundError:
        raise SweepError(f"config file {str(path)!r} not found") from None
    except tomllib.TOMLDecodeError as e:
        raise SweepError(f"config file {str(path)!r} is not valid TOML: {e}") from None
    allowed = {"grid", "problem", "settings", "outputs", "seed", "store", "workers", "scheduler"}
    unknown = set(cfg) - allowed
    if unknown:
        raise SweepError(f"config file {str(path)!r}: unknown key(s) {sorted(unknown)}; allowed {sorted(allowed)}")
    out = {}
    grid = {}
    for name, raw in (cfg.get("grid") or {}).items():
        name = name.replace("-", "_")
        grid[name] = _values_from_config(name, raw)
    out["grid"] = grid
    out["fixed"] = dict(cfg.get("problem") or {})
    out["settings"] = dict(cfg.get("settings") or {})
    for k in ("outputs", "seed", "store", "workers", "scheduler"):
        if k in cfg:
            out[k] = cfg[k]
    return out


# =============================================================================== worker side
def compute_point(task: dict):
    """Compute one sweep point (runs on a Dask worker); returns an ``xarray.Dataset``.

    Every output is computed under ``threadpool_limits(1)``.  An exception inside an output
    is recorded as status ``failed`` with its message (the point still completes), so one bad
    corner of the grid never stops a sweep."""
    import xarray as xr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problem = Problem.from_dict(task["problem"])
    settings = task["settings"]
    data_vars = {}
    attrs = {f"problem_{k}": v for k, v in problem.to_dict().items()}
    attrs.update({f"settings_{k}": v for k, v in settings.items()})
    attrs.update(kind="SweepPoint", point_key=task["key"], point_index=json.dumps(task["index"]),
                 grid_values=_canon(task["grid_values"]), outputs=",".join(task["outputs"]),
                 base_seed=task["base_seed"], sidmft_version=__version__, host=socket.gethostname(),
                 pid=os.getpid())
    outs = {o.name: o for o in resolve_outputs(task["outputs"])}
    with _single_thread():
        total = _compute_outputs(task, problem, settings, outs, data_vars, attrs)
    attrs["timing_total_s"] = float(total)
    ds = xr.Dataset(data_vars, attrs=attrs)
    if "t" in ds.dims:
        ds = ds.assign_coords(t=np.arange(ds.sizes["t"]))
    return ds


@contextlib.contextmanager
def _single_thread():
    """One thread for BLAS (threadpoolctl) and numba while a point is computed."""
    from threadpoolctl import threadpool_limits

    prev = None
    try:
        import numba

        prev = numba.get_num_threads()
        numba.set_num_threads(1)
    except Exception:  # numba missing or its threading layer unavailable
        prev = None
    try:
        with threadpool_limits(1):
            yield
    finally:
        if prev is not None:
            with contextlib.suppress(Exception):
                numba.set_num_threads(prev)


def _compute_outputs(task, problem, settings, outs, data_vars, attrs) -> float:
    total = 0.0
    for name in task["outputs"]:
        o = outs[name]
        seed = task["seeds"][name]
        status, message = Status.SUCCESS, ""
        with Timer() as tm:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    data, res = o.func(problem, settings, seed)
                if res is not None:
                    status = getattr(res, "status", Status.SUCCESS)
                    message = str(getattr(res, "message", "") or "")
            except Exception as e:  # recorded, never silent
                data = {}
                status = Status.FAILED
                message = f"{type(e).__name__}: {e} | " + traceback.format_exc(limit=3).strip().splitlines()[-1]
        total += tm.seconds
        for k, v in (data or {}).items():
            arr = np.asarray(v)
            if arr.ndim == 0:
                data_vars[f"{o.prefix}_{k}"] = ((), arr)
            elif arr.ndim == 1:
                data_vars[f"{o.prefix}_{k}"] = (("t",), arr)
            else:
                raise ValueError(f"output {name!r} variable {k!r} has {arr.ndim} dimensions (0 or 1 allowed)")
        code = int(status)
        data_vars[f"{o.prefix}_status"] = ((), np.int8(code))
        label = status.label if isinstance(status, Status) else str(status)
        attrs[f"{o.prefix}_status"] = label
        attrs[f"{o.prefix}_message"] = message
        attrs[f"{o.prefix}_seed"] = int(seed) if o.uses_seed else "none"
        attrs[f"timing_{o.prefix}_s"] = float(tm.seconds)
    return total


# =============================================================================== store
class Store:
    """The sweep directory (see the module docstring for the layout)."""

    def __init__(self, path):
        self.path = Path(path)
        self.spec_file = self.path / "sweep.json"
        self.points = self.path / "points"
        self.journal = self.path / "journal.jsonl"
        self.results = self.path / "results.zarr"

    def point_file(self, key: str) -> Path:
        return self.points / f"{key}.nc"

    def exists(self) -> bool:
        return self.spec_file.exists()

    def read_spec(self) -> SweepSpec:
        with open(self.spec_file) as f:
            d = json.load(f)
        if d.get("format") != FORMAT:
            raise SweepError(f"{self.path} is not a sidmft sweep store (sweep.json has no format {FORMAT!r})")
        return SweepSpec.from_dict(d["spec"], check_outputs=False)

    def write_spec(self, spec: SweepSpec) -> None:
        self.points.mkdir(parents=True, exist_ok=True)
        d = {"format": FORMAT, "format_version": FORMAT_VERSION, "spec": spec.to_dict(),
             "spec_hash": spec.spec_hash, "n_points": spec.n_points, "sidmft_version": __version__,
             "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        _atomic_write_text(self.spec_file, json.dumps(d, indent=1, default=str) + "\n")

    def finished_keys(self) -> set[str]:
        if not self.points.exists():
            return set()
        return {p.name[:-3] for p in self.points.iterdir() if p.name.endswith(".nc")}

    def clean_tmp(self) -> None:
        """Remove half-written files left by a killed run (never finished points)."""
        if self.points.exists():
            for p in self.points.iterdir():
                if ".tmp" in p.name:
                    with contextlib.suppress(OSError):
                        p.unlink()
        for p in self.path.glob("results.zarr.*"):
            shutil.rmtree(p, ignore_errors=True)

    def append_journal(self, record: dict) -> None:
        line = json.dumps(record, default=str, allow_nan=True)
        with open(self.journal, "a+b") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() > 0:               # a killed writer may have left a partial line
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    f.write(b"\n")
            f.write(line.encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())

    def read_journal(self) -> list[dict]:
        """All complete journal records (a partial last line is ignored)."""
        out = []
        if not self.journal.exists():
            return out
        with open(self.journal) as f:
            for line in f:
                with contextlib.suppress(json.JSONDecodeError):
                    out.append(json.loads(line))
        return out


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _write_point(store: Store, ds, key: str) -> None:
    from .io import save_dataset

    save_dataset(ds, store.point_file(key))


def prepare_store(path, spec: SweepSpec, overwrite: bool = False) -> Store:
    """Create the store for ``spec`` or check that an existing one holds the same sweep."""
    store = Store(path)
    if store.path.exists() and not store.exists() and any(store.path.iterdir()):
        if not overwrite:
            raise SweepError(f"store {str(store.path)!r} exists and is not a sweep store; "
                             "choose another --store (or --overwrite to replace it)")
    if overwrite and store.path.exists():
        shutil.rmtree(store.path)
    if store.exists():
        old = store.read_spec()
        if old.spec_hash != spec.spec_hash:
            a, b = old.to_dict(), spec.to_dict()
            diff = [k for k in a if _canon(a[k]) != _canon(b[k])]
            raise SweepError(f"store {str(store.path)!r} holds a different sweep ({', '.join(diff)} differ); "
                             "re-run with the same grid/outputs/parameters to resume, or use another "
                             "--store (or --overwrite)")
    else:
        store.write_spec(spec)
    store.clean_tmp()
    return store


@contextlib.contextmanager
def _client(workers: int, scheduler: Optional[str], timeout: float = 30.0):
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        client = Client(scheduler, timeout=timeout, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           scheduler_port=0, dashboard_address=None, silence_logs=logging.ERROR,
                           worker_dashboard_address=None)
    try:
        client = Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def run_sweep(spec: SweepSpec, store, *, workers: int = 2, scheduler: Optional[str] = None,
              overwrite: bool = False, progress: bool = True, consolidate_at_end: bool = True,
              max_points: Optional[int] = None, log: Optional[Callable[[str], None]] = None,
              retry_failed: bool = False) -> dict:
    """Run (or resume) a sweep into ``store``; returns a summary dict.

    Parameters
    ----------
    spec : SweepSpec
    store : path
        Sweep directory (created; an existing one must hold the same spec, and its finished
        points are skipped).
    workers : int
        LocalCluster worker processes (1 thread each); 0 computes in this process without Dask.
    scheduler : str, optional
        Address of an existing Dask scheduler (then ``workers`` is ignored).
    max_points : int, optional
        Stop after this many new points (the rest are left for a later run).
    retry_failed : bool
        Recompute finished points where an output raised (status ``failed``).

    Returns
    -------
    dict
        ``store, n_points, n_finished, skipped, computed, errors, seconds, run, results``.
    """
    log = log or (lambda s: print(s, file=sys.stderr))
    st = prepare_store(store, spec, overwrite=overwrite)
    with _store_lock(st):
        return _run_locked(spec, st, workers=workers, scheduler=scheduler, progress=progress,
                           consolidate_at_end=consolidate_at_end, max_points=max_points, log=log,
                           retry_failed=retry_failed)


@contextlib.contextmanager
def _store_lock(st: "Store"):
    """Exclusive lock on the store (released by the OS even if the process is killed)."""
    import fcntl

    f = open(st.path / ".lock", "w")
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SweepError(f"store {str(st.path)!r} is in use by another running sweep") from None
        f.write(str(os.getpid()))
        f.flush()
        yield
    finally:
        f.close()


def _failed_points(st: "Store", keys) -> list[str]:
    """Finished points with an output whose status is ``failed`` (an exception)."""
    import xarray as xr

    bad = []
    for k in keys:
        with contextlib.suppress(OSError, ValueError):
            with xr.open_dataset(st.point_file(k), engine="h5netcdf") as ds:
                if any(k2.endswith("_status") and v == "failed" for k2, v in ds.attrs.items()):
                    bad.append(k)
    return bad


def _run_locked(spec, st, *, workers, scheduler, progress, consolidate_at_end, max_points, log, retry_failed):
    done = st.finished_keys()
    if retry_failed:
        for k in _failed_points(st, done & set(spec._keys.values())):
            st.point_file(k).unlink()
            st.append_journal({"event": "retry", "key": k, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
            done.discard(k)
    todo = [idx for idx, _ in spec.iter_points() if spec.key(idx) not in done]
    n_done0 = spec.n_points - len(todo)
    if max_points is not None:
        todo = todo[:max_points]
    run_id = uuid.uuid4().hex[:12]
    t0 = time.perf_counter()
    st.append_journal({"event": "start", "run": run_id, "n_points": spec.n_points, "n_finished": n_done0,
                       "n_todo": len(todo), "workers": workers, "scheduler": scheduler,
                       "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    computed, errors = 0, []

    def finish(task, ds, worker=None):
        nonlocal computed
        key = task["key"]
        ds.attrs["worker"] = str(worker or "local")
        ds.attrs["run"] = run_id
        _write_point(st, ds, key)
        statuses = {o.name: ds.attrs.get(f"{o.prefix}_status") for o in spec._outputs}
        st.append_journal({"event": "point", "run": run_id, "key": key, "index": task["index"],
                           "grid_values": task["grid_values"], "status": statuses,
                           "seconds": ds.attrs.get("timing_total_s"), "worker": str(worker or "local"),
                           "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        computed += 1

    from tqdm.auto import tqdm

    bar = tqdm(total=spec.n_points, initial=n_done0, file=sys.stderr, disable=not progress,
               desc="sweep", unit="pt", dynamic_ncols=True)
    try:
        tasks = [spec.task(idx) for idx in todo]
        if tasks and workers == 0 and not scheduler:
            for task in tasks:
                finish(task, compute_point(task))
                bar.update(1)
        elif tasks:
            from distributed import as_completed

            with _client(workers, scheduler) as client:
                futs = {}
                for task in tasks:
                    f = client.submit(compute_point, task, key=f"sidmft-point-{task['key']}-{run_id}", pure=False)
                    futs[f] = task
                for fut in as_completed(list(futs), loop=client.loop):
                    task = futs.pop(fut)
                    try:
                        ds = fut.result()
                    except Exception as e:  # worker died etc.: not written, a re-run retries it
                        errors.append(f"point {_fmt(task['grid_values'])}: {type(e).__name__}: {e}")
                        log(f"sweep: point {_fmt(task['grid_values'])} failed: {type(e).__name__}: {e}")
                        bar.update(1)
                        continue
                    who = None
                    with contextlib.suppress(Exception):
                        who = next(iter(client.who_has([fut]).get(fut.key, ())), None)
                    finish(task, ds, who)
                    fut.release()
                    bar.update(1)
    finally:
        bar.close()
    elapsed = time.perf_counter() - t0
    st.append_journal({"event": "end", "run": run_id, "computed": computed, "errors": len(errors),
                       "seconds": elapsed, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    n_finished = len(st.finished_keys() & set(spec._keys.values()))
    summary = {"store": str(st.path), "n_points": spec.n_points, "n_finished": n_finished,
               "skipped": n_done0, "computed": computed, "errors": errors, "seconds": elapsed, "run": run_id}
    if consolidate_at_end:
        consolidate(st.path, spec=spec)
        summary["results"] = str(st.results)
    return summary


# =============================================================================== consolidation
_FLAG_MEANINGS = " ".join(s.label.replace("-", "_") for s in Status)
_FLAG_VALUES = [int(s) for s in Status]


def build_dataset(store, spec: Optional[SweepSpec] = None):
    """Assemble the finished points of ``store`` into one Dataset over the grid dimensions.

    Unfinished points are NaN (status -1, ``finished`` False); trajectories of different
    lengths (a ``steps`` grid) are NaN-padded along ``t``."""
    import xarray as xr

    from .io import load

    st = Store(store)
    if not st.exists():
        raise SweepError(f"{str(st.path)!r} is not a sweep store (no sweep.json)")
    spec = spec or st.read_spec()
    shape = spec.shape
    done = st.finished_keys()
    loaded = {}
    for idx, _ in spec.iter_points():
        k = spec.key(idx)
        if k in done:
            with contextlib.suppress(OSError, ValueError):
                loaded[idx] = load(st.point_file(k))
    # union of variables
    kinds: dict[str, tuple] = {}
    tmax = 0
    for ds in loaded.values():
        if "t" in ds.dims:
            tmax = max(tmax, ds.sizes["t"])
        for name, v in ds.data_vars.items():
            kinds.setdefault(name, (v.dims, v.dtype, dict(v.attrs)))
    arrays = {}
    for name, (dims, dtype, _) in kinds.items():
        if name.endswith("_status"):
            arrays[name] = np.full(shape, -1, dtype=np.int8)
        elif "t" in dims:
            arrays[name] = np.full(shape + (tmax,), np.nan)
        else:
            arrays[name] = np.full(shape, np.nan)
    finished = np.zeros(shape, dtype=bool)
    seeds = {o: np.full(shape, -1, dtype=np.int64) for o in spec._outputs if o.uses_seed}
    times = np.full(shape, np.nan)
    for idx, ds in loaded.items():
        finished[idx] = True
        times[idx] = float(ds.attrs.get("timing_total_s", np.nan))
        for o in seeds:
            s = ds.attrs.get(f"{o.prefix}_seed", -1)
            seeds[o][idx] = int(s) if not isinstance(s, str) else -1
        for name, v in ds.data_vars.items():
            a = np.asarray(v.values)
            if "t" in v.dims:
                arrays[name][idx + (slice(0, a.shape[0]),)] = a
            else:
                arrays[name][idx] = a
    dims = spec.dims
    coords = {}
    for k in dims:
        vals = spec.grid[k]
        if any(isinstance(v, str) or v is None for v in vals):
            coords[k] = np.array(["none" if v is None else str(v) for v in vals], dtype=object)
        else:
            coords[k] = np.asarray(vals)
    data_vars = {}
    for name, (vdims, _, vattrs) in kinds.items():
        d = dims + (("t",) if "t" in vdims else ())
        attrs = _var_attrs(name, spec)
        if name.endswith("_status"):
            attrs.update(flag_values=_FLAG_VALUES, flag_meanings=_FLAG_MEANINGS,
                         description="Status code of the output at this point (-1: not computed)")
        data_vars[name] = (d, arrays[name], attrs)
    data_vars["finished"] = (dims, finished, {"long_name": "point finished"})
    data_vars["point_time_s"] = (dims, times, {"long_name": "compute time of the point", "units": "s"})
    for o, arr in seeds.items():
        data_vars[f"{o.prefix}_seed"] = (dims, arr, {"long_name": f"seed of output {o.name} (derived from the "
                                                     "point's parameters and the base seed)"})
    if tmax:
        coords["t"] = np.arange(tmax)
    ds = xr.Dataset(data_vars, coords=coords)
    for k in dims:
        ds[k].attrs.update(long_name=PARAM_LABELS.get(k, k))
    if "t" in ds.coords:
        ds["t"].attrs.update(long_name="GD step t")
    ds.attrs.update({
        "kind": "SweepResults", "sidmft_version": __version__, "sweep_format": FORMAT,
        "spec_hash": spec.spec_hash, "grid": json.dumps(spec.grid), "dims": json.dumps(list(dims)),
        "fixed": json.dumps(spec.fixed), "settings": json.dumps(spec.settings), "outputs": ",".join(spec.outputs),
        "base_seed": spec.seed, "n_points": spec.n_points, "n_finished": int(finished.sum()),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })
    for k, v in spec.fixed.items():
        ds.attrs[f"problem_{k}"] = "none" if v is None else v
    for k, v in spec.settings.items():
        ds.attrs[f"settings_{k}"] = v
    return ds


def consolidate(store, spec: Optional[SweepSpec] = None):
    """(Re)build ``STORE/results.zarr`` from the finished points; returns the Dataset.

    Written to a temporary directory and swapped in, so a reader never sees half a store."""
    st = Store(store)
    ds = build_dataset(st.path, spec)
    tmp = st.path / f"results.zarr.tmp{os.getpid()}-{uuid.uuid4().hex[:6]}"
    old = st.path / f"results.zarr.old{os.getpid()}-{uuid.uuid4().hex[:6]}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.to_zarr(tmp, mode="w", consolidated=False)
        if st.results.exists():
            os.replace(st.results, old)
        os.replace(tmp, st.results)
    except OSError:
        pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return ds


def open_sweep(store, rebuild: bool = False):
    """The results of a sweep as an ``xarray.Dataset`` with one dimension per grid parameter.

    Reads ``STORE/results.zarr`` when it is up to date (same spec, same number of finished
    points), otherwise rebuilds it from the point files (also while a sweep is running)."""
    import xarray as xr

    st = Store(store)
    if not st.exists():
        raise SweepError(f"{str(st.path)!r} is not a sweep store (no sweep.json)")
    spec = st.read_spec()
    if not rebuild and st.results.exists():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = xr.open_zarr(st.results, consolidated=False).load()
            n_done = len(st.finished_keys() & set(spec._keys.values()))
            if ds.attrs.get("spec_hash") == spec.spec_hash and int(ds.attrs.get("n_finished", -1)) == n_done:
                return ds
        except Exception:  # unreadable/partial: rebuild
            pass
    return consolidate(st.path, spec)


def sweep_info(store) -> dict:
    """Progress of a store: points, finished, failed statuses, journal counts."""
    st = Store(store)
    spec = st.read_spec()
    keys = set(spec._keys.values())
    done = st.finished_keys() & keys
    j = st.read_journal()
    pts = [r for r in j if r.get("event") == "point"]
    return {"store": str(st.path), "dims": list(spec.dims), "shape": list(spec.shape), "n_points": spec.n_points,
            "n_finished": len(done), "outputs": spec.outputs, "runs": len({r.get("run") for r in j if "run" in r}),
            "journal_points": len(pts), "recomputed": len(pts) - len({r["key"] for r in pts})}


# =============================================================================== labels (shared with plot)
PARAM_LABELS = {
    "alpha": r"sample ratio $\alpha = n/d$",
    "lam": r"ridge penalty $\lambda$",
    "eta": r"step size $\eta$",
    "noise": r"noise level $\sigma$",
    "steps": r"number of GD steps $T$",
    "kappa": r"initial norm $\kappa$",
    "m0": r"initial overlap $m_0$",
    "q0": r"initial squared norm $q_0$",
    "dim": r"dimension $d$",
    "seeds": "number of seeds",
    "samples": "DMFT Monte-Carlo samples",
    "batches": "DMFT batches",
    "model": "model",
    "loss": "loss",
    "preprocess": r"preprocessing $\mathcal{T}$",
    "init": "initialisation",
    "t": r"GD step $t$",
}

_OBS_LABELS = {
    "m": r"overlap $m = \langle x, x^\star\rangle/d$",
    "q": r"squared norm $q = \|x\|^2/d$",
    "cosine": r"cosine $m/\sqrt{q}$",
    "error": r"estimation error $1 + q - 2|m|$",
    "train_loss": r"training loss $\mathcal{L}$",
    "objective": r"objective $\mathcal{L} + \lambda q/2$",
    "grad_norm": r"gradient norm $\|\nabla L\|^2/d$",
    "test_error": "test error",
    "alpha_c": r"spectral threshold $\alpha_c$",
    "rho": r"spectral overlap $\rho$",
    "rho_sq": r"spectral overlap $\rho^2$",
    "l_star": r"$l^\star$",
    "top_eigenvalue": r"top eigenvalue $\lambda_1$",
    "second_eigenvalue": r"second eigenvalue $\lambda_2$",
    "bulk_edge": "bulk edge",
    "passed": "outlier exists (1/0)",
    "spectral_overlap": r"spectral overlap $\rho$",
    "gamma": r"$\gamma$",
    "h_min": r"$h_{\min}$",
    "rate": "linear convergence rate",
    "residual": "fixed-point residual",
    "blowup_step": "DMFT blow-up step",
}
_SOURCE = {"spectral": "spectral theory", "dmft": "DMFT", "fixed_point": "fixed point", "simulate": "simulation"}


def _var_attrs(name: str, spec: Optional[SweepSpec] = None) -> dict:
    """``long_name`` / ``units`` for a stored variable (used as axis and colour-bar labels)."""
    for prefix, src in _SOURCE.items():
        if name.startswith(prefix + "_"):
            rest = name[len(prefix) + 1:]
            break
    else:
        return {"long_name": name}
    traj = rest.endswith("_t")
    base = rest[:-2] if traj else rest
    se = base.endswith("_se")
    base = base[:-3] if se else base
    if base == "status":
        return {"long_name": f"status ({src})"}
    label = _OBS_LABELS.get(base, base.replace("_", " "))
    if src in ("DMFT", "simulation") and base in OBSERVABLES and not traj:
        label = "final " + label
    if se:
        label = "standard error of " + label
    return {"long_name": f"{label} ({src})", "units": "1"}
