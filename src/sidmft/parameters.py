"""One table of parameters: every number a problem, a method or a run takes, with its range and labels.

A :class:`Parameter` is a declaration: name, type, allowed range, default, a one-line help text, the
symbol and the axis label.  The problem's validation (:class:`sidmft.Problem`), the command-line help,
the sweep axes and the figure labels all read this table, so a range is written once.  A first-order
method with a parameter of its own registers it here (:func:`register_parameter`) next to its
:class:`sidmft.Algorithm`.

This module imports nothing from sidmft (problem room, bottom layer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

__all__ = [
    "Parameter",
    "PARAMETERS",
    "register_parameter",
    "get_parameter",
    "check_parameter",
    "RUN_SETTINGS",
]


@dataclass(frozen=True)
class Parameter:
    """A named number with its allowed range.

    Parameters
    ----------
    name : str
        The keyword (``Problem`` field, method parameter or run setting).
    lo, hi : float, optional
        Bounds of the range (None: unbounded on that side).
    lo_open, hi_open : bool
        Whether the bound itself is excluded.
    integer : bool
        Whole numbers only.
    default : optional
        The value used when a method declares the parameter and it is not given (None: required).
    help : str
        One line for ``--help`` and the documentation.
    symbol : str
        LaTeX symbol (no dollars), e.g. ``\\beta``; the name when empty.
    label : str
        Axis label; ``"<help> $<symbol>$"`` when empty.
    """

    name: str
    lo: Optional[float] = None
    hi: Optional[float] = None
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False
    default: Any = None
    help: str = ""
    symbol: str = ""
    label: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"parameter name must be an identifier; got {self.name!r}")

    @property
    def range_text(self) -> str:
        """The allowed range in words: ``in [0, 1)``, ``> 0``, ``>= 0`` or ``any``."""
        if self.lo is not None and self.hi is not None:
            return f"in {'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}{')' if self.hi_open else ']'}"
        if self.lo is not None:
            return f"{'>' if self.lo_open else '>='} {self.lo:g}"
        if self.hi is not None:
            return f"{'<' if self.hi_open else '<='} {self.hi:g}"
        return "any finite number"

    @property
    def axis_label(self) -> str:
        """Label of a figure axis or a stored variable."""
        if self.label:
            return self.label
        sym = self.symbol or self.name
        return f"{self.help} ${sym}$" if self.help else f"${sym}$"

    def contains(self, v: float) -> bool:
        """True when the finite number ``v`` is in the range."""
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            return False
        if self.hi is not None and (v > self.hi or (self.hi_open and v == self.hi)):
            return False
        return True

    def check(self, value, name: Optional[str] = None):
        """``value`` converted (float, or int when ``integer``) if it is a finite number in the range, else
        ``ValueError`` naming the parameter (``name``, default its own) and the range."""
        name = name or self.name
        kind = "whole number" if self.integer else "number"
        try:
            if isinstance(value, bool):
                raise TypeError
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a {kind} {self.range_text}; got {value!r}") from None
        if not math.isfinite(v):
            raise ValueError(f"{name} must be finite ({self.range_text}); got {value!r}")
        if self.integer:
            if v != round(v):
                raise ValueError(f"{name} must be a whole number; got {value!r}")
            v = int(round(v))
        if not self.contains(v):
            raise ValueError(f"{name} must be {self.range_text}; got {value!r}")
        return v


PARAMETERS: dict[str, Parameter] = {}


def register_parameter(parameter, *, overwrite: bool = False, **fields) -> Parameter:
    """Add a parameter to the table: a :class:`Parameter`, or its name and the fields as keywords (``lo``,
    ``hi``, ``default``, ``help``, ``symbol``, ...); returns the declaration (ValueError if the name is taken by
    a different declaration, unless ``overwrite``)."""
    if isinstance(parameter, str):
        parameter = Parameter(parameter, **fields)
    elif fields:
        raise TypeError("register_parameter takes a Parameter or a name with keyword fields, not both")
    if not isinstance(parameter, Parameter):
        raise TypeError(f"parameter must be a Parameter; got {type(parameter).__name__}")
    old = PARAMETERS.get(parameter.name)
    if old is not None and old != parameter and not overwrite:
        raise ValueError(f"parameter {parameter.name!r} is already registered (pass overwrite=True)")
    PARAMETERS[parameter.name] = parameter
    return parameter


def get_parameter(name: str) -> Parameter:
    """The registered :class:`Parameter` ``name`` (ValueError naming the known ones otherwise)."""
    if name not in PARAMETERS:
        raise ValueError(f"parameter must be one of {sorted(PARAMETERS)}; got {name!r}")
    return PARAMETERS[name]


def check_parameter(name: str, value):
    """``PARAMETERS[name].check(value)``."""
    return get_parameter(name).check(value)


for _p in (
    # the problem
    Parameter(
        "alpha", 0, lo_open=True, help="sample ratio n/d", symbol=r"\alpha", label=r"sample ratio $\alpha = n/d$"
    ),
    Parameter("lam", 0, help="ridge penalty", symbol=r"\lambda", label=r"ridge penalty $\lambda$"),
    Parameter("eta", 0, lo_open=True, help="step size", symbol=r"\eta", label=r"step size $\eta$"),
    Parameter("noise", 0, help="noise level", symbol=r"\sigma", label=r"noise level $\sigma$"),
    Parameter("steps", 0, 10**7, integer=True, help="number of steps", symbol="T", label=r"number of GD steps $T$"),
    Parameter("kappa", 0, lo_open=True, help="norm of the start", symbol=r"\kappa", label=r"initial norm $\kappa$"),
    Parameter("m0", help="initial overlap", symbol="m_0", label=r"initial overlap $m_0$"),
    Parameter("q0", 0, lo_open=True, help="initial squared norm", symbol="q_0", label=r"initial squared norm $q_0$"),
    # the built-in methods' own parameters
    Parameter("beta", 0, 1, hi_open=True, help="momentum", symbol=r"\beta", label=r"momentum $\beta$"),
    Parameter("batch", 0, 1, lo_open=True, help="sample fraction", symbol="b", label=r"sample fraction $b$"),
    Parameter("temperature", 0, help="temperature", symbol=r"\tau", label=r"temperature $\tau$"),
    # run settings
    Parameter("dim", 2, integer=True, help="dimension", symbol="d", label=r"dimension $d$"),
    Parameter("seeds", 1, integer=True, help="number of seeds", label="number of seeds"),
    Parameter("samples", 50, integer=True, help="DMFT Monte-Carlo samples", label="DMFT Monte-Carlo samples"),
    Parameter("batches", 1, integer=True, help="DMFT batches", label="DMFT batches"),
):
    register_parameter(_p)

#: run settings (not part of the Problem) with their defaults
RUN_SETTINGS = {"dim": 1000, "seeds": 4, "samples": 20000, "batches": 4}
