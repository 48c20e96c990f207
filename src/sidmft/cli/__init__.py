"""Command-line interface: one entry point ``sidmft`` with subcommands.

Every subcommand that describes a problem takes the same problem flags
(:func:`problem_options`), so ``sidmft simulate``, ``sidmft spectral``, ``sidmft dmft``,
``sidmft fixed-point`` and ``sidmft compare`` can be pointed at the same problem by
changing only the subcommand name.  ``--json`` prints one JSON object on stdout; progress
bars and messages go to stderr.

Exit status (one table, :data:`EXIT_CODES`, used by every subcommand through
:func:`exit_for`): 0 only when the command's status is ``success``; a computation that ended
in another status still writes its JSON and files, prints one line ``sidmft CMD: LABEL (exit
N): MESSAGE`` on stderr and exits with that status's own code; 2 is a usage error (click);
1 is an uncaught Python exception (a bug).
"""

from __future__ import annotations

import importlib
import json
import sys

import click

from .._version import __version__
from ..io import to_jsonable

__all__ = ["main", "problem_options", "problem_from_options", "echo_json", "EXIT_CODES", "exit_code", "exit_for"]

#: Exit status of every ``sidmft`` command, keyed by status label (:attr:`sidmft.Status.label`),
#: plus ``usage-error`` (click's own code 2) and ``internal-error`` (an uncaught Python
#: exception, i.e. a bug).  Documented in README.md, section "Exit codes".
EXIT_CODES = {
    "success": 0,
    "internal-error": 1,
    "usage-error": 2,
    "diverged": 3,
    "blowup": 4,
    "not-converged": 5,
    "below-threshold": 6,
    "not-applicable": 7,
    "failed": 8,
}


def exit_code(status) -> int:
    """Exit status for ``status`` (a :class:`~sidmft.Status` or its label, see :data:`EXIT_CODES`)."""
    label = getattr(status, "label", status)
    try:
        return EXIT_CODES[str(label)]
    except KeyError:
        raise ValueError(f"status must be one of {', '.join(EXIT_CODES)}; got {status!r}") from None


def exit_for(status, message: str = "") -> None:
    """End the running command with the exit status of ``status``; return if it is success.

    Call it *after* the JSON and the files have been written.  A non-success status prints
    one line ``sidmft CMD: LABEL (exit N): MESSAGE`` on stderr, then exits with N."""
    code = exit_code(status)
    if code == 0:
        return
    label = str(getattr(status, "label", status))
    ctx = click.get_current_context(silent=True)
    name = f"sidmft {ctx.command.name}" if ctx is not None and ctx.command.name else "sidmft"
    text = " ".join(str(message or "").split())  # one line
    click.echo(f"{name}: {label} (exit {code}){': ' + text if text else ''}", err=True)
    sys.exit(code)


def _float_or_empirical(value):
    if value == "empirical":
        return value
    try:
        return float(value)
    except ValueError:
        raise click.BadParameter("must be a number > 0 or 'empirical'") from None


_BASE_FLAGS = (
    "model",
    "noise",
    "loss",
    "preprocess",
    "alpha",
    "lam",
    "eta",
    "steps",
    "kappa",
    "init",
    "m0",
    "q0",
    "field",
)
#: flags of the first-order method; left out of the Problem (its defaults) when not given
_ALGORITHM_FLAGS = ("algorithm", "beta", "batch", "temperature", "eta_schedule", "params")
PROBLEM_FLAGS = _BASE_FLAGS + _ALGORITHM_FLAGS


def _help(name: str, extra: str = "") -> str:
    """The help text of a number flag, from the parameter table (:mod:`sidmft.parameters`)."""
    from ..parameters import get_parameter

    par = get_parameter(name)
    return f"{par.help[:1].upper()}{par.help[1:]} ({par.range_text}){extra}."


def _choices_help(what: str, names) -> str:
    return f"{what}: {', '.join(names)} (registered names)."


def _method_help(name: str) -> str:
    """Help of a method parameter's flag: its range and the registered methods that use it."""
    from ..algorithms import ALGORITHMS

    users = [a.name for a in ALGORITHMS.values() if name in a.parameters]
    return _help(name, "; " + ", ".join(users) if users else "")


def _algorithm_help() -> str:
    from ..algorithms import ALGORITHMS, DEFAULT_ALGORITHM

    parts = [f"{a.name}" + (f" ({', '.join(a.parameters)})" if a.parameters else "") for a in ALGORITHMS.values()]
    return "First-order method: " + ", ".join(parts) + f" [default: {DEFAULT_ALGORITHM}]."


def _parse_params(values) -> dict:
    out = {}
    for item in values or ():
        name, sep, v = str(item).partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"--param must be NAME=VALUE; got {item!r}")
        try:
            out[name.strip()] = float(v)
        except ValueError:
            raise click.BadParameter(f"--param {name.strip()}: value {v!r} is not a number") from None
    return out


def _option_list(alpha_type) -> list:
    """The click options of the problem flags (help texts from the registries and the parameter table)."""
    from ..losses import DEFAULT_LOSS, available_losses
    from ..models import DEFAULT_MODEL, available_models
    from ..preprocess import PREPROCESSINGS

    return [
        click.option(
            "--model",
            default=DEFAULT_MODEL,
            show_default=True,
            help=_choices_help("Model (link + noise)", available_models()),
        ),
        click.option(
            "--noise",
            default=0.0,
            show_default=True,
            type=float,
            help=_help("noise", "; temperature for binary models"),
        ),
        click.option(
            "--loss",
            default=DEFAULT_LOSS,
            show_default=True,
            help=_choices_help("Loss", available_losses()),
        ),
        click.option(
            "--preprocess",
            default=None,
            help=f"Preprocessing T: {', '.join(sorted(PREPROCESSINGS))} (clip:C, trim:C with a level) "
            "[default: lal; identity for --init linear].",
        ),
        click.option(
            "--alpha",
            default="3.0" if alpha_type is str else 3.0,
            show_default=True,
            type=alpha_type,
            help=_help("alpha"),
        ),
        click.option("--lam", default=0.1, show_default=True, type=float, help=_help("lam")),
        click.option(
            "--eta", default=0.1, show_default=True, type=float, help=_help("eta", "; the base step of a schedule")
        ),
        click.option("--steps", default=50, show_default=True, type=int, help=_help("steps")),
        click.option(
            "--kappa",
            default="1.0",
            show_default=True,
            help="Norm of the spectral or linear start (> 0), or 'empirical' (sqrt(mean y)).",
        ),
        click.option(
            "--init",
            default="spectral",
            show_default=True,
            type=click.Choice(["spectral", "random", "linear"]),
            help="Initialisation: spectral (top eigenvector of D), random (x0 independent of the data, with "
            "--m0, --q0) or linear (x0 along A^T T(y)); the simulator and the DMFT run all three.",
        ),
        click.option("--m0", default=None, type=float, help=_help("m0", "; init=random")),
        click.option("--q0", default=None, type=float, help=_help("q0", "; init=random")),
    ] + _method_options()


def _method_options() -> list:
    """The click options of the number field and the first-order method."""
    return [
        click.option(
            "--field",
            default="real",
            show_default=True,
            type=click.Choice(["real", "complex"]),
            help="Real or complex signal and design (complex Wirtinger flow; even models and losses).",
        ),
        click.option("--algorithm", default=None, help=_algorithm_help()),
        click.option("--beta", default=None, type=float, help=_method_help("beta")),
        click.option("--batch", default=None, type=float, help=_method_help("batch")),
        click.option("--temperature", default=None, type=float, help=_method_help("temperature")),
        click.option(
            "--param",
            "params",
            multiple=True,
            help="NAME=VALUE for a parameter of a registered method that has no flag of its own (repeatable).",
        ),
        click.option(
            "--eta-schedule",
            "eta_schedule",
            default=None,
            help="Step sizes: constant, step:FACTOR:EVERY, cosine:ETA_MIN or a list ETA0,ETA1,... (one per step).",
        ),
    ]


def problem_options(fn=None, *, alpha_type=float):
    """Decorator adding the shared problem flags (help texts from the registries and the parameter table).

    ``alpha_type`` lets a subcommand accept a list/range for ``--alpha`` (as a string)."""

    def deco(f):
        for o in reversed(_option_list(alpha_type)):
            f = o(f)
        return f

    return deco(fn) if fn is not None else deco


def problem_from_options(opts: dict, **override):
    """Build a validated :class:`~sidmft.Problem` from parsed CLI options.

    Validation errors become ``click.UsageError`` naming the parameter."""
    from ..problem import Problem

    d = {k: opts[k] for k in PROBLEM_FLAGS if k in opts and not (k in _ALGORITHM_FLAGS and opts[k] is None)}
    d.update(override)
    try:
        if "params" in d:
            d["params"] = _parse_params(d["params"]) or None
        d["kappa"] = _float_or_empirical(d.get("kappa", 1.0))
        return Problem(**d)
    except (ValueError, TypeError, click.BadParameter) as e:
        raise click.UsageError(str(e)) from None


def echo_json(obj) -> None:
    click.echo(json.dumps(to_jsonable(obj), allow_nan=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sidmft")
def main():
    """sidmft: spectral-initialised gradient descent for single index models --
    finite-size simulation and exact high-dimensional theory (spectral init, DMFT, fixed point)."""


# subcommand modules: each defines a click command named ``command``
_SUBCOMMANDS = ("simulate", "spectral", "dmft", "fixed_point", "compare", "sweep", "plot")
for _name in _SUBCOMMANDS:
    try:
        _mod = importlib.import_module(f".{_name}", __name__)
    except ModuleNotFoundError as _e:  # a subcommand not written yet
        if _e.name != f"{__name__}.{_name}":
            raise
        continue
    main.add_command(_mod.command)
