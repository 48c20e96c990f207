"""One shared list of what the registries hold, for the tests that iterate them (optimistix's tests/helpers.py is
the model): every registered first-order method x loss x start, and a valid :class:`sidmft.Problem` for each.

The list is read from the registries, never written by hand: ``sidmft.algorithms.ALGORITHMS``,
``sidmft.losses.LOSSES``, ``sidmft.problem.INITS`` and ``sidmft.models.MODELS``.  :data:`CASES` is read once, at
import time (what the Hypothesis strategies of tests/test_contract.py sample from); :func:`cases` reads the
registries again, so a method or loss registered later (tests/test_contract.py registers a temporary one) is
in it with no test edit.

Rules, written down once:

* **Method parameters** come from their declarations in ``sidmft.parameters.PARAMETERS``: :func:`midpoint` is
  the middle of a range bounded on both sides (beta in [0, 1) -> 0.5, batch in (0, 1] -> 0.5); for a range
  bounded on one side only it is the parameter's declared default, else the bound moved ``SPAN / 2`` inside
  (temperature >= 0 -> 1).  :func:`parameter_strategy` draws anywhere in the declared range (an unbounded
  side cut at ``SPAN`` from the other bound), open ends excluded.
* **Compatible models** (:func:`compatible_models`): a loss in :data:`BINARY_LABEL_LOSSES` (its labels must be
  +-1, which no declaration of a :class:`~sidmft.losses.Loss` says, so it is data here) takes the binary models;
  otherwise a loss declared ``even`` (l(y, -r) = l(y, r): it sees x only up to sign) takes the even models
  (y depends on |z| only, ``Model.even``), and a loss that is not even takes the additive models that are not
  even (a sign-sensitive link).  Every model x loss pair is still a valid Problem; the fuzzing also draws
  incompatible pairs.
* **Starts**: every entry of ``INITS``; :data:`SIMULATION_ONLY_STARTS` (data: ``"given"`` needs the vector
  x0 of a finite d, so the d -> infinity theory refuses it with a ValueError naming ``init``) are run by the
  simulator only.  Start values: kappa = 1 (spectral, linear), (m0, q0) = (0.3, 1) (random), x0 = sqrt(q0) times
  a fixed +-1 pattern of length ``dim`` (given).
* **The problem's numbers**: :data:`BASE` (alpha = 3, lam = 0.1, eta = 0.1, 5 steps), where every built-in
  method is stable at the midpoints above.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np
from hypothesis import strategies as st

from sidmft import Problem
from sidmft.algorithms import ALGORITHMS
from sidmft.losses import LOSSES
from sidmft.models import MODELS, AdditiveModel, BinaryModel
from sidmft.parameters import PARAMETERS, Parameter
from sidmft.problem import INITS, PROBLEM_FIELDS

#: losses whose labels must be y in {-1, +1} (not declared by a Loss, so listed here)
BINARY_LABEL_LOSSES = frozenset({"logistic"})
#: starts of the finite-size simulator only (the theory raises ValueError naming init)
SIMULATION_ONLY_STARTS = frozenset({"given"})
#: width used for a parameter range that is unbounded on one side
SPAN = 2.0
#: the problem's numbers for :func:`make_problem` (stable for every built-in method at the midpoints)
BASE = dict(alpha=3.0, lam=0.1, eta=0.1, steps=5)
#: start values
KAPPA, M0, Q0 = 1.0, 0.3, 1.0


class Case(NamedTuple):
    """One (method, loss, start) triple."""

    method: str
    loss: str
    start: str

    @property
    def id(self) -> str:
        return f"{self.method}-{self.loss}-{self.start}"


def methods() -> list[str]:
    """The registered first-order methods (registration order)."""
    return list(ALGORITHMS)


def losses() -> list[str]:
    """The registered losses (registration order)."""
    return list(LOSSES)


def starts() -> list[str]:
    """The starts a Problem accepts."""
    return list(INITS)


def theory_starts() -> list[str]:
    """The starts of the d -> infinity theory (all but :data:`SIMULATION_ONLY_STARTS`)."""
    return [s for s in INITS if s not in SIMULATION_ONLY_STARTS]


def cases(start_filter=None) -> list[Case]:
    """Every registered method x loss x start, read from the registries now (``start_filter(start)`` keeps some)."""
    return [
        Case(m, loss, s)
        for m in methods()
        for loss in losses()
        for s in starts()
        if start_filter is None or start_filter(s)
    ]


#: the list at import time (the Hypothesis strategies sample from it)
CASES: list[Case] = cases()
#: the same for the theory (no simulation-only start)
THEORY_CASES: list[Case] = cases(lambda s: s not in SIMULATION_ONLY_STARTS)
#: every name a ValueError about a Problem may name: its fields and every registered parameter
PARAMETER_NAMES: tuple[str, ...] = tuple(sorted(set(PROBLEM_FIELDS) | set(PARAMETERS) | {"x0"}))


# ------------------------------------------------------------------------------------ parameter values
def midpoint(par: Parameter) -> float:
    """A value inside ``par``'s declared range (see the module docstring)."""
    if par.lo is not None and par.hi is not None:
        v = 0.5 * (par.lo + par.hi)
    elif par.default is not None:
        v = float(par.default)
    elif par.lo is not None:
        v = par.lo + SPAN / 2
    elif par.hi is not None:
        v = par.hi - SPAN / 2
    else:
        v = 0.0
    v = float(round(v)) if par.integer else float(v)
    assert par.contains(v), (par.name, v)
    return v


def method_params(method: str, pick=midpoint) -> dict:
    """{parameter: value} of ``method``'s declared parameters, each from ``pick(Parameter)``."""
    return {name: pick(PARAMETERS[name]) for name in ALGORITHMS[method].parameters}


def parameter_strategy(par: Parameter):
    """Hypothesis strategy of values in ``par``'s declared range (open ends excluded)."""
    lo = par.lo if par.lo is not None else (par.hi - SPAN if par.hi is not None else -SPAN / 2)
    hi = par.hi if par.hi is not None else lo + SPAN
    if par.integer:
        return st.integers(math.ceil(lo + par.lo_open), math.floor(hi - par.hi_open))
    return st.floats(
        lo,
        hi,
        exclude_min=par.lo_open and par.lo is not None,
        exclude_max=par.hi_open and par.hi is not None,
        allow_nan=False,
    )


def method_params_strategy(method: str):
    """Hypothesis strategy of ``{parameter: value}`` for ``method``, each value in its declared range."""
    alg = ALGORITHMS[method]
    return st.fixed_dictionaries({name: parameter_strategy(PARAMETERS[name]) for name in alg.parameters})


# ------------------------------------------------------------------------------------ models
def compatible_models(loss: str) -> list[str]:
    """The registered models whose labels suit ``loss`` (the rule of the module docstring); never empty."""
    decl = LOSSES[loss]
    if loss in BINARY_LABEL_LOSSES:
        out = [n for n, m in MODELS.items() if isinstance(m, BinaryModel)]
    elif decl.even:
        out = [n for n, m in MODELS.items() if m.even]
    else:
        out = [n for n, m in MODELS.items() if isinstance(m, AdditiveModel) and not m.even]
    assert out, f"no registered model suits loss {loss!r}: extend the rule in tests/helpers.py"
    return out


def start_kwargs(start: str, dim: Optional[int] = None) -> dict:
    """The Problem fields of ``start`` with the values of the module docstring (``dim`` for ``"given"``)."""
    if start in ("spectral", "linear"):
        return dict(init=start, kappa=KAPPA)
    if start == "random":
        return dict(init=start, m0=M0, q0=Q0)
    if start == "given":
        if dim is None:
            raise ValueError("the start 'given' needs dim (the length of x0)")
        pattern = np.where(np.arange(dim) % 3 == 0, -1.0, 1.0)
        return dict(init=start, x0=math.sqrt(Q0) * pattern)
    raise AssertionError(f"start {start!r} is in INITS but not in tests/helpers.py: add its values to start_kwargs")


def make_problem(case: Case, *, model: Optional[str] = None, dim: Optional[int] = None, **fields) -> Problem:
    """A valid Problem for ``case``: the first compatible model (or ``model``), the method's parameters at
    their midpoints, the start's values and :data:`BASE`; ``fields`` override any of them."""
    kw = dict(BASE)
    kw.update(model=model or compatible_models(case.loss)[0], loss=case.loss, algorithm=case.method)
    params = method_params(case.method)
    if params:
        kw["params"] = params
    kw.update(start_kwargs(case.start, dim))
    kw.update(fields)
    return Problem(**kw)
