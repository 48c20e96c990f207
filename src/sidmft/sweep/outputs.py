"""What a sweep point can compute: the built-in outputs and user functions ``module:function``.

Each :class:`Output` maps ``(problem, settings, seed)`` to ``(data, result)``: ``data`` holds
scalars and 1-D arrays over ``t`` (stored as ``<prefix>_<name>``), ``result`` any object whose
``status`` / ``message`` are recorded.  The solvers are imported when an output runs, so this
module (and a store reader) needs none of them.

Imports: numpy, :mod:`sidmft.results`, :mod:`sidmft.numerics`, :mod:`.grid`; the solvers
lazily.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..numerics import standard_error
from ..results import OBSERVABLES
from .grid import RUN_SETTINGS, SweepError

__all__ = ["Output", "OUTPUTS", "resolve_outputs"]


@dataclass(frozen=True)
class Output:
    """One thing a sweep point can compute.

    ``func(problem, settings, seed) -> (data, result)``: ``data`` maps a variable name
    (without prefix) to a scalar or a 1-D array over ``t``; ``result`` is any object whose
    ``status`` / ``message`` are recorded (or None).
    """

    name: str
    prefix: str
    func: Optional[Callable]
    settings: tuple = ()
    module: Optional[str] = None  # "module:function" that must exist for the output to be available
    uses_seed: bool = False


def _get(obj, name, default=np.nan):
    """Attribute ``name`` of a result (a missing one becomes NaN; rename here in one line)."""
    v = getattr(obj, name, default)
    return default if v is None else v


def _final(arr) -> float:
    a = np.asarray(arr, dtype=float).ravel()
    return float(a[-1]) if a.size else float("nan")


def _summary_spectral(problem, settings, seed):
    from ..theory.spectral import spectral

    res = spectral(problem)
    data = {k: float(_get(res, k)) for k in ("alpha_c", "rho", "rho_sq", "l_star", "top_eigenvalue", "bulk_edge")}
    data["passed"] = np.int8(bool(_get(res, "passed", False)))
    return data, res


def _trajectory_summary(res, mean: Callable, se: Callable) -> dict:
    data: dict = {}
    for obs in OBSERVABLES:
        try:
            m = np.asarray(mean(obs), dtype=float)
        except (AttributeError, KeyError, ValueError):
            continue
        try:
            s = np.asarray(se(obs), dtype=float)
        except (AttributeError, KeyError, ValueError):
            s = np.full_like(m, np.nan)
        data[obs] = _final(m)
        data[f"{obs}_se"] = _final(s)
        data[f"{obs}_t"] = m
        data[f"{obs}_se_t"] = s
    return data


def _summary_dmft(problem, settings, seed):
    from ..theory.dmft import dmft

    res = dmft(problem, samples=int(settings["samples"]), batches=int(settings["batches"]), seed=seed)
    data = _trajectory_summary(res, res.mean, res.se)
    b = res.blowup_step
    data["blowup_step"] = float(b) if b is not None else np.nan
    return data, res


def _summary_fixed_point(problem, settings, seed):
    from ..theory.fixed_point import fixed_point

    res = fixed_point(problem)
    names = ("m", "q", "cosine", "error", "train_loss", "gamma", "h_min", "rate", "residual")
    return {k: float(_get(res, k)) for k in names}, res


def _mean_se(x) -> tuple[float, float]:
    x = np.asarray(x, dtype=float).ravel()
    if x.size == 0:
        return float("nan"), float("nan")
    return float(np.mean(x)), standard_error(x)


def _summary_simulate(problem, settings, seed):
    from ..simulator import simulate

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
    "fixed-point": Output(
        "fixed-point", "fixed_point", _summary_fixed_point, (), "sidmft.theory.fixed_point:fixed_point"
    ),
    "simulate": Output("simulate", "simulate", _summary_simulate, ("dim", "seeds"), "sidmft.simulator:simulate", True),
}


def _custom_output(spec: str, check: bool = True) -> Output:
    mod, _, fn = spec.partition(":")
    if not check:  # reading a store: the function need not be importable here
        return Output(spec, fn, None, tuple(RUN_SETTINGS), None, True)
    try:
        func = getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError) as e:
        raise SweepError(f"output {spec!r}: cannot import {fn!r} from module {mod!r} ({e})") from None

    def call(problem, settings, seed, _func=func):
        out = _func(problem, dict(settings), seed)
        return out if isinstance(out, tuple) else (out, None)

    return Output(spec, fn, call, tuple(RUN_SETTINGS), None, True)


def _check_available(o: Output) -> None:
    """Raise :class:`SweepError` if the solver behind a built-in output cannot be imported."""
    mod, _, attr = (o.module or "").partition(":")
    try:
        if not hasattr(importlib.import_module(mod), attr):
            raise SweepError(f"output {o.name!r} is not available: {mod} has no {attr!r}")
    except ModuleNotFoundError as e:
        raise SweepError(f"output {o.name!r} is not available: module {mod} is missing ({e})") from None
    except SweepError:
        raise
    except Exception as e:  # broken install: say so before any work
        raise SweepError(
            f"output {o.name!r} is not available: importing {mod} failed ({type(e).__name__}: {e})"
        ) from None


def resolve_outputs(names, check: bool = True) -> list[Output]:
    """Outputs by name (``spectral, dmft, fixed-point, simulate`` or ``module:function``).

    Refuses unknown names and (``check=True``) outputs whose module is not installed, before
    any work.  ``check=False`` only resolves names (to read a store)."""
    if isinstance(names, str):
        names = names.split(",")
    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise SweepError(
            f"no outputs chosen; --outputs takes a comma-separated list of {', '.join(OUTPUTS)} (or module:function)"
        )
    outs = []
    for n in names:
        key = n.replace("_", "-") if n.replace("_", "-") in OUTPUTS else n
        if key in OUTPUTS:
            if check:
                _check_available(OUTPUTS[key])
            outs.append(OUTPUTS[key])
        elif ":" in n:
            outs.append(_custom_output(n, check))
        else:
            raise SweepError(f"unknown output {n!r}; choose from {', '.join(OUTPUTS)} (or module:function)")
    if len({o.name for o in outs}) != len(outs):
        raise SweepError(f"output listed twice in {','.join(names)}")
    return outs
