"""Grid parsing: ``NAME=V1,V2,...`` lists, ``START:STOP:NUM[:log]`` ranges and TOML sweep files.

Every value is converted to its parameter's type (whole numbers for ``steps, dim, seeds,
samples, batches``; strings for ``model, loss, preprocess, init``; ``none`` for ``m0, q0``;
``empirical`` for ``kappa``; floats rounded to 12 significant digits otherwise, so that
``0:0.3:4`` gives the stable keys 0.0, 0.1, 0.2, 0.3).  Errors are :class:`SweepError`
naming the parameter.  :func:`parse_values` is also the parser of ``sidmft spectral --alpha``.

Imports: numpy and :mod:`sidmft.problem` only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Optional

import numpy as np

from ..parameters import PARAMETERS
from ..problem import PROBLEM_FIELDS

__all__ = [
    "SweepError",
    "method_parameters",
    "RUN_SETTINGS",
    "SETTINGS_USED_BY",
    "GRID_PARAMS",
    "convert_value",
    "check_name",
    "check_values",
    "parse_values",
    "parse_grid_item",
    "parse_grid",
    "values_from_config",
    "load_config",
]

#: run settings (not part of the Problem) with their defaults and the outputs that use them
RUN_SETTINGS = {"dim": 1000, "seeds": 4, "samples": 20000, "batches": 4}
SETTINGS_USED_BY = {"dim": ("simulate",), "seeds": ("simulate",), "samples": ("dmft",), "batches": ("dmft",)}

#: every parameter a grid may vary (plus the registered methods' own parameters, :func:`method_parameters`)
GRID_PARAMS = tuple(k for k in PROBLEM_FIELDS if k != "params") + tuple(RUN_SETTINGS)

_INT_PARAMS = {k for k, p in PARAMETERS.items() if p.integer}
_STR_PARAMS = {"model", "loss", "preprocess", "init", "algorithm", "eta_schedule", "field"}


def method_parameters() -> tuple[str, ...]:
    """The parameters of the registered methods that are not Problem fields (they go into ``Problem.params``)."""
    from ..algorithms import ALGORITHMS

    names = {p for a in ALGORITHMS.values() for p in a.parameters}
    return tuple(sorted(n for n in names if n not in PROBLEM_FIELDS))


_OPTIONAL_FLOAT = {"m0", "q0", "beta", "batch", "temperature"}  # may be "none"
_KAPPA = {"kappa"}  # float or "empirical"


class SweepError(ValueError):
    """A bad sweep specification (unknown parameter, empty range, invalid value, ...)."""


def _clean_float(v: float) -> float:
    """Round to 12 significant digits so linspace values are stable keys (0.1*3 -> 0.3)."""
    return float(f"{float(v):.12g}")


def _is_whole(v: float) -> bool:
    return abs(v - round(v)) <= 1e-9 * max(1.0, abs(v))


def convert_value(name: str, raw) -> Any:
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
        if not _is_whole(v):
            raise SweepError(f"grid parameter {name!r}: value {raw!r} is not a whole number")
        return int(round(v))
    return _clean_float(v)


def _range_ends(name: str, text: str, parts: list) -> tuple[float, float, int]:
    """(start, stop, num) of a ``START:STOP:NUM[:spacing]`` range, checked."""
    bad = f"grid parameter {name!r}: malformed range {text!r}; "
    try:
        start, stop = float(parts[0]), float(parts[1])
    except ValueError:
        raise SweepError(bad + "START and STOP must be numbers") from None
    try:
        num_f = float(parts[2])
    except ValueError:
        raise SweepError(bad + "NUM must be a whole number") from None
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise SweepError(f"grid parameter {name!r}: range {text!r} has a non-finite end")
    if num_f != int(num_f):
        raise SweepError(f"grid parameter {name!r}: range {text!r}; NUM must be a whole number >= 1")
    num = int(num_f)
    if num < 1:
        raise SweepError(f"grid parameter {name!r}: empty range {text!r} (NUM = {num}); NUM must be >= 1")
    return start, stop, num


def _parse_range(name: str, text: str) -> list:
    parts = text.split(":")
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3].strip().lower() not in ("log", "lin")):
        raise SweepError(
            f"grid parameter {name!r}: malformed range {text!r}; expected START:STOP:NUM "
            "(or START:STOP:NUM:log for geometric spacing)"
        )
    start, stop, num = _range_ends(name, text, parts)
    if len(parts) == 4 and parts[3].strip().lower() == "log":
        if start <= 0 or stop <= 0:
            raise SweepError(f"grid parameter {name!r}: geometric range {text!r} needs START, STOP > 0")
        vals = np.geomspace(start, stop, num)
    else:
        vals = np.linspace(start, stop, num)
    if name in _INT_PARAMS:
        bad = [v for v in vals if not _is_whole(v)]
        if bad:
            raise SweepError(
                f"grid parameter {name!r}: range {text!r} gives non-integer values (e.g. {bad[0]:g}); "
                "choose NUM so that (STOP - START)/(NUM - 1) is a whole number"
            )
    return [convert_value(name, v) for v in vals]


def check_name(name: str) -> None:
    """Raise :class:`SweepError` unless ``name`` is in :data:`GRID_PARAMS` or a registered method's parameter."""
    if name not in GRID_PARAMS and name not in method_parameters():
        choices = (*GRID_PARAMS, *method_parameters())
        raise SweepError(f"unknown grid parameter {name!r}; choose from {', '.join(choices)}")


def check_values(name: str, values: list) -> list:
    """``values`` unchanged if non-empty and without repeats (else :class:`SweepError`)."""
    if len(values) == 0:
        raise SweepError(f"grid parameter {name!r}: empty list of values")
    seen = set()
    for v in values:
        if v in seen:
            raise SweepError(f"grid parameter {name!r}: value {v!r} appears twice")
        seen.add(v)
    return values


def parse_values(name: str, text: str) -> list:
    """Values of parameter ``name`` from ``V1,V2,...`` or ``START:STOP:NUM[:log]`` (typed, checked).

    String-valued parameters (model, loss, preprocess, init) only take lists (so
    ``clip:3,trim:7`` is two values).  Raises :class:`SweepError` naming the parameter.

    Examples
    --------
    >>> parse_values("alpha", "0.5:2:4")
    [0.5, 1.0, 1.5, 2.0]
    >>> parse_values("steps", "10,20")
    [10, 20]
    """
    text = str(text).strip()
    if text == "":
        raise SweepError(f"grid parameter {name!r}: no values given")
    if name not in _STR_PARAMS and "," not in text and ":" in text:
        return check_values(name, _parse_range(name, text))
    if name not in _STR_PARAMS and ":" in text:
        raise SweepError(
            f"grid parameter {name!r}: {text!r} mixes a list and a range; give one of V1,V2,... or START:STOP:NUM"
        )
    return check_values(name, [convert_value(name, v) for v in text.split(",")])


def parse_grid_item(item) -> tuple[str, list]:
    """Parse one ``NAME=V1,V2,...`` or ``NAME=START:STOP:NUM[:log]`` into ``(name, values)``.

    See :func:`parse_values`; ``-`` in the name reads as ``_``.  Raises :class:`SweepError`
    naming the parameter."""
    if not isinstance(item, str) or "=" not in item:
        raise SweepError(f"malformed grid {item!r}; expected NAME=V1,V2,... or NAME=START:STOP:NUM")
    name, _, text = item.partition("=")
    name = name.strip().replace("-", "_")
    check_name(name)
    return name, parse_values(name, text)


def values_from_config(name: str, raw) -> list:
    """Grid values from a TOML entry: a list, a "V1,V2" / "a:b:n" string, a {start,stop,num} table."""
    check_name(name)
    if isinstance(raw, dict):
        unknown = set(raw) - {"start", "stop", "num", "spacing"}
        if unknown or not {"start", "stop", "num"} <= set(raw):
            raise SweepError(
                f"grid parameter {name!r}: a range table needs keys start, stop, num "
                f"(optional spacing = 'lin' | 'log'); got {sorted(raw)}"
            )
        text = f"{raw['start']}:{raw['stop']}:{raw['num']}" + (f":{raw['spacing']}" if "spacing" in raw else "")
        if name in _STR_PARAMS:
            raise SweepError(f"grid parameter {name!r} takes a list of values, not a range")
        return _parse_range(name, text)
    if isinstance(raw, str):
        return parse_values(name, raw)
    if isinstance(raw, (list, tuple)):
        return check_values(name, [convert_value(name, v) for v in raw])
    return [convert_value(name, raw)]


def parse_grid(items: Iterable, base: Optional[dict] = None) -> dict[str, list]:
    """Parse repeated ``--grid`` items into an ordered ``{name: values}`` (duplicates refused)."""
    grid = dict(base or {})
    for it in items:
        name, values = parse_grid_item(it)
        if name in grid:
            raise SweepError(f"grid parameter {name!r} is given twice")
        grid[name] = values
    return grid


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
    grid = {}
    for name, raw in (cfg.get("grid") or {}).items():
        name = name.replace("-", "_")
        grid[name] = values_from_config(name, raw)
    out = {"grid": grid, "fixed": dict(cfg.get("problem") or {}), "settings": dict(cfg.get("settings") or {})}
    for k in ("outputs", "seed", "store", "workers", "scheduler"):
        if k in cfg:
            out[k] = cfg[k]
    return out
