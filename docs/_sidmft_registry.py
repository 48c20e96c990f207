"""The ``sidmft-registry`` directive: tables of what is registered, made from the registries at build time.

In a MyST page::

    ```{sidmft-registry} algorithms
    ```

renders the registered methods (``algorithms``), losses (``losses``), models (``models``), preprocessings
(``preprocessings``) or the parameter table (``parameters``) as a table.  Nothing is written to the source
tree and nothing is copied by hand, so the lists cannot go stale: a method, loss or parameter registered in
the package appears on the next build.  The registries are read when the extension is set up, before
sphinx-gallery runs the examples (which register their own declarations in the same process).
"""

from __future__ import annotations

import re

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList

KINDS = ("algorithms", "losses", "models", "preprocessings", "parameters")


def _rst(text) -> str:
    """Plain text with the reST markup characters escaped."""
    return re.sub(r"([\\*`|_])", r"\\\1", str(text))


def _code(text) -> str:
    return f"``{text}``"


#: the registries as the package declares them, copied when the extension is set up: sphinx-gallery then
#: runs the examples in the same process, and the registrations they make must not appear in the lists
_SNAPSHOT: dict = {}


def snapshot() -> None:
    """Copy the registries (at import of sidmft: the built-in declarations)."""
    from sidmft.algorithms import ALGORITHMS
    from sidmft.losses import LOSSES
    from sidmft.models import MODELS
    from sidmft.parameters import PARAMETERS
    from sidmft.preprocess import PREPROCESSINGS

    _SNAPSHOT.update(
        algorithms=dict(ALGORITHMS),
        losses=dict(LOSSES),
        models=dict(MODELS),
        preprocessings=dict(PREPROCESSINGS),
        parameters=dict(PARAMETERS),
    )


def _registry(kind: str) -> dict:
    if not _SNAPSHOT:
        snapshot()
    return _SNAPSHOT[kind]


def _table(header: list, rows: list, widths: list) -> list:
    lines = [".. list-table::", "   :header-rows: 1", f"   :widths: {' '.join(map(str, widths))}", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return lines


def _parameter_cell(name: str) -> str:
    from sidmft.parameters import get_parameter

    p = get_parameter(name)
    default = "" if p.default is None else f", default {p.default:g}"
    return f"{_code(name)} ({_rst(p.range_text)}{default})"


def algorithms() -> list:
    rows = []
    for a in _registry("algorithms").values():
        params = ", ".join(_parameter_cell(p) for p in a.parameters) or "none"
        fixed = "none (a stationary law only)" if a.no_fixed_point else "the stationary point of L"
        read = f"a = {_linear(a.read[0])}, b = {_linear(a.read[1])}"
        update = f"A = {_linear(a.update[0])}, B = {_linear(a.update[1])}"
        extra = (["per-sample factor s/b, s ~ Bernoulli(b)"] if a.factor == "bernoulli" else []) + (
            ["noise sqrt(2 eta tau) N(0, I)"] if a.noise else []
        )
        form = "; ".join([read, update, *extra])
        rows.append([_code(a.name), _rst(a.description or a.title), params, _rst(form), fixed])
    header = ["name", "method", "parameters", "coefficients", "fixed point"]
    return _table(header, rows, [12, 32, 22, 24, 10])


def _linear(c) -> str:
    from sidmft.algorithms import Linear

    f = Linear.of(c)
    parts = [f"{f.const:g}"] if f.const or not f.terms else []
    for k, w in f.terms:
        sign = "-" if w < 0 else "+"
        mag = "" if abs(w) == 1 else f"{abs(w):g} "
        parts.append(f"{sign} {mag}{k}" if parts else f"{'-' if w < 0 else ''}{mag}{k}")
    return " ".join(parts)


def losses() -> list:
    losses = _registry("losses")
    rows = []
    for name in sorted(losses):
        loss = losses[name]
        if loss.has_jumps is None:
            jumps = "not declared"
        elif not loss.has_jumps:
            jumps = "no"
        elif callable(loss.jumps):
            jumps = "yes (label-dependent points)"
        else:
            jumps = "at r = " + ", ".join(f"{j:g}" for j in loss.jumps)
        rows.append(
            [
                _code(name),
                _rst(loss.description or loss.title),
                jumps,
                "yes" if loss.convex else "no",
                "yes" if loss.even else "no",
                "closed form" if loss.prox else "Newton",
                "yes" if loss.scalar_grad else "no",
            ]
        )
    header = ["name", "l(y, r)", "g jumps", "convex", "even", "prox", "fused kernel"]
    return _table(header, rows, [16, 40, 12, 7, 6, 9, 9])


def models() -> list:
    from sidmft.models import AdditiveModel

    models = _registry("models")
    rows = []
    for name in sorted(models):
        m = models[name]
        kind = "additive: y = g(z) + noise eps" if isinstance(m, AdditiveModel) else "binary: y = +-1"
        rows.append([_code(name), _rst(getattr(m, "description", "") or ""), _rst(kind), "yes" if m.even else "no"])
    return _table(["name", "link", "family", "even (y depends on abs(z))"], rows, [16, 40, 30, 14])


def preprocessings() -> list:
    import sidmft.preprocess as pp

    described: dict = {}
    last = None
    for line in (pp.__doc__ or "").splitlines():
        m = re.match(r"``(\w+)(:C)?``\s+(.*)", line.strip())
        if m:
            last = m.group(1)
            described[last] = (last + (m.group(2) or ""), m.group(3).strip())
        elif last and line.startswith(" " * 20) and line.strip():  # the entry's continuation line
            spec, text = described[last]
            described[last] = (spec, f"{text} {line.strip()}")
        else:
            last = None
    rows = []
    for name in sorted(_registry("preprocessings")):
        spec, text = described.get(name, (name, ""))
        rows.append([_code(spec), _rst(" ".join(text.split())) or "(registered; no description)"])
    return _table(["spec", "T(y)"], rows, [14, 86])


def parameters() -> list:
    from sidmft.parameters import RUN_SETTINGS

    rows = []
    for name, p in _registry("parameters").items():
        users = [a.name for a in _registry("algorithms").values() if name in a.parameters]
        if users:
            role = "method: " + ", ".join(users)
        elif name in RUN_SETTINGS:
            role = f"run setting (Python and sweep default {RUN_SETTINGS[name]})"
        else:
            role = "problem"
        sym = f":math:`{p.symbol}`" if p.symbol else ""
        default = "" if p.default is None else f"{p.default:g}"
        rows.append([_code(name), sym, _rst(p.range_text), default, role, _rst(p.help)])
    return _table(["name", "symbol", "range", "default", "used by", "meaning"], rows, [12, 8, 16, 8, 22, 34])


class RegistryDirective(Directive):
    """``.. sidmft-registry:: KIND``: a table of the registered KIND (see the module docstring)."""

    required_arguments = 1
    has_content = False

    def run(self):
        kind = self.arguments[0].strip()
        if kind not in KINDS:
            raise self.error(f"sidmft-registry: kind must be one of {', '.join(KINDS)}; got {kind!r}")
        lines = globals()[kind]()
        if "myst" in type(self.state).__module__:  # a Markdown page parses nested content as Markdown
            lines = ["```{eval-rst}", *lines, "```"]
        container = nodes.container(classes=["sidmft-registry", f"sidmft-registry-{kind}"])
        self.state.nested_parse(StringList(lines, source=f"<sidmft-registry {kind}>"), self.content_offset, container)
        return [container]


def setup(app):
    snapshot()
    app.add_directive("sidmft-registry", RegistryDirective)
