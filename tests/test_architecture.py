"""The layout contract of docs/DEVELOPING.md, checked on the source tree.

* **Rooms.**  Every module of ``src/sidmft`` belongs to one room; rooms, bottom to top:

  0. ``numerics``, ``_version``, ``_settings`` (the keywords-or-settings rule);
  1. the problem room: ``parameters``, ``schedules``, ``algorithms``, ``losses``, ``models``, ``preprocess``,
     ``quadrature`` (the deterministic quadrature of the model's law, below ``Problem``), ``problem`` (the
     declarations);
  2. ``results``, ``io``, ``labels``, ``_dask``, ``stability`` (the per-sample stability diagnostic that the
     simulator and the theory both read);
  3. ``simulator``, ``theory``, ``backends``;
  4. ``plot`` (figures of results: the studies call them, they never import a study);
  5. ``comparison``, ``sweep``;
  6. ``cli``, ``__main__`` and the package ``__init__`` (the top).

  A module imports its own room and lower rooms only, except that ``theory`` and ``simulator`` never import each
  other, and that ``plot`` may read a sweep store through ``sidmft.sweep`` (lazily: a figure of a store on
  disk).  A new module outside every room fails the test until it is placed.
* **No import circle** among modules.
* No hand-written module is longer than 500 lines and no hand-written function longer than 80
  lines (docstring included); generated modules say so in their first lines and are exempt.
* No module in ``src/`` other than the declarations (``algorithms.py``, ``losses/``) names a built-in method or
  loss in a string constant (docstrings excluded): the rest of the library asks the declarations.
* No file in the repository points outside it (the theory is the project's own docs/theory.md).

The import graph.  An edge a -> b for every ``import``/``from ... import`` in a's source, wherever it is (module
level, inside a function: lazy imports count, inside ``if TYPE_CHECKING``), and for every string constant naming
a module (``"sidmft.theory.dmft:dmft"``, imported by ``importlib`` at run time).  ``from P import n`` is an edge
to the module ``P.n`` when that is a module, else to ``P`` itself.  Parent packages: importing ``sidmft.a.b``
runs ``sidmft/__init__`` and ``sidmft/a/__init__`` first, but that implicit step is *not* an edge: a package
``__init__`` that re-exports its submodules (an edge package -> submodule) is therefore not a circle with them.
A submodule that explicitly imports its own package (``from . import name`` with ``name`` defined in the
``__init__``, ``import sidmft``) has an edge to the package ``__init__``, and that is a circle whenever the
``__init__`` imports the submodule: it works only by the order of the statements in the ``__init__``.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "sidmft"


def _modules():
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def _dotted(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@cache
def _module_names() -> frozenset[str]:
    return frozenset(_dotted(p) for p in _modules())


def _resolve(name: str) -> str:
    """The longest existing module that ``name`` (a dotted module, or module.attribute) starts with."""
    parts = name.split(".")
    while parts and ".".join(parts) not in _module_names():
        parts.pop()
    return ".".join(parts)


_MODULE_STRING = re.compile(r"^sidmft(\.\w+)+(:\w+)?$")


def _docstring_nodes(tree) -> set[int]:
    """ids of the Constant nodes that are docstrings (module, class, function)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str):
                    out.add(id(body[0].value))
    return out


@cache
def _imports_of(path: Path) -> dict[str, int]:
    """{imported sidmft module: first line} for ``path`` (the edges of the module docstring)."""
    tree = ast.parse(path.read_text())
    pkg = _dotted(path).split(".")
    if path.name != "__init__.py":
        pkg = pkg[:-1]
    docs = _docstring_nodes(tree)
    out: dict[str, int] = {}

    def add(name, line):
        mod = _resolve(name)
        if mod:
            out.setdefault(mod, line)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "sidmft":
                    add(a.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(pkg[: len(pkg) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != "sidmft":
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                add(sub if sub in _module_names() else base, node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            if _MODULE_STRING.match(node.value):
                add(node.value.split(":")[0], node.lineno)
    out.pop(_dotted(path), None)
    return out


def _imports(path: Path) -> set[str]:
    """Absolute names of every sidmft module imported by ``path`` (lazy imports inside functions included)."""
    return set(_imports_of(path))


def _graph() -> dict[str, dict[str, int]]:
    return {_dotted(p): _imports_of(p) for p in _modules()}


def _is_generated(path: Path) -> bool:
    head = "\n".join(path.read_text().splitlines()[:6])
    return "GENERATED" in head


# ---------------------------------------------------------------------------------------------- rooms
#: rooms, bottom to top: a module may import its own room and the rooms below
ROOMS = (
    ("numerics", "_version", "_settings"),
    ("parameters", "schedules", "algorithms", "losses", "models", "preprocess", "quadrature", "problem"),
    ("results", "io", "labels", "_dask", "stability"),
    ("simulator", "theory", "backends"),
    ("plot",),
    ("comparison", "sweep"),
    ("cli", "__main__", ""),  # "": the package __init__
)
#: (importer, imported) pairs that the levels allow but the layout forbids
FORBIDDEN = {
    ("theory", "simulator"): "theory and simulator never import each other",
    ("simulator", "theory"): "theory and simulator never import each other",
}
#: (importer, imported) pairs above the importer's room that the layout allows
ALLOWED_UP = {("plot", "sweep"): "a figure of a sweep store on disk opens it with sidmft.sweep.open_sweep"}


def _part(module: str) -> str:
    """The top-level part of ``sidmft.<part>...`` ("" for the package itself)."""
    return module.split(".")[1] if "." in module else ""


def _level(module: str):
    part = _part(module)
    for i, room in enumerate(ROOMS):
        if part in room:
            return i
    return None


def test_every_module_is_in_a_room():
    lost = sorted(m for m in _module_names() if _level(m) is None)
    assert not lost, f"modules in no room (add them to ROOMS in tests/test_architecture.py): {lost}"


def _layer_violations() -> list[str]:
    bad = []
    for path in _modules():
        name = _dotted(path)
        mine = _level(name)
        for imp, line in sorted(_imports_of(path).items()):
            theirs = _level(imp)
            why = FORBIDDEN.get((_part(name), _part(imp)))
            up = mine is not None and theirs is not None and theirs > mine
            if why is None and up and (_part(name), _part(imp)) not in ALLOWED_UP:
                why = f"upward: room {mine} imports room {theirs}"
            if why:
                bad.append(f"{path.relative_to(ROOT)}:{line} {name} imports {imp} ({why})")
    return bad


def test_no_upward_or_forbidden_import():
    bad = _layer_violations()
    assert not bad, "\n".join(bad)


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v):  # recursion depth <= number of modules (~100)
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def test_no_import_circle():
    graph = _graph()
    lines = []
    for comp in _cycles(graph):
        edges = [f"{a} -> {b} (line {graph[a][b]})" for a in comp for b in sorted(graph[a]) if b in comp]
        lines.append("circle: " + ", ".join(edges))
    assert not lines, "\n".join(lines)


def test_cycle_and_layer_detection_work():
    """The detectors on a toy graph: a circle through a package, and a package re-exporting its submodule."""
    toy = {"p": {"p.a": 1}, "p.a": {"p.b": 1}, "p.b": {"p.a": 2}, "q": {"q.x": 1}, "q.x": {}}
    assert _cycles(toy) == [["p.a", "p.b"]]
    assert _cycles({"p": {"p.a": 1}, "p.a": {"p": 1}}) == [["p", "p.a"]]
    assert _level("sidmft") == len(ROOMS) - 1 and _level("sidmft.theory.dmft._core") == 3
    assert _level("sidmft.numerics.stats") == 0 and _level("sidmft.losses._builtin") == 1
    assert _resolve("sidmft.theory.dmft.dmft") == "sidmft.theory.dmft"


# ------------------------------------------------------------------------------------ names of built-ins
from sidmft.algorithms import ALGORITHMS  # noqa: E402  (the registries hold the built-ins at import time)
from sidmft.losses import LOSSES  # noqa: E402
from sidmft.models import MODELS  # noqa: E402

BUILTIN_NAMES = tuple(sorted(set(ALGORITHMS) | set(LOSSES), key=len, reverse=True))
_NAME = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, BUILTIN_NAMES)) + r")(?![\w-])")
#: the declarations: (path relative to src/sidmft, the names it may spell).  A model that shares a loss's name
#: (``logistic``) is declared in models.py.
DECLARATIONS = (("algorithms.py", set(ALGORITHMS)), ("losses/", set(LOSSES)), ("models.py", set(MODELS)))


def _named_builtins() -> list[str]:
    """file:line of every string constant (docstrings excluded, f-string parts included) outside the
    declarations that contains the name of a built-in method or loss as a word (hyphens part of the word)."""
    hits = []
    for path in _modules():
        rel = path.relative_to(SRC).as_posix()
        allowed = set().union(*(names for decl, names in DECLARATIONS if rel == decl or rel.startswith(decl)))
        tree = ast.parse(path.read_text())
        docs = _docstring_nodes(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                named = sorted(set(_NAME.findall(node.value)) - allowed)
                if named:
                    hits.append(f"{path.relative_to(ROOT)}:{node.lineno} names {named}: {node.value[:70]!r}")
    return hits


def test_no_module_outside_the_declarations_names_a_builtin_method_or_loss():
    assert {"gd", "heavy-ball", "intensity", "amplitude"} <= set(BUILTIN_NAMES)
    hits = _named_builtins()
    assert not hits, "ask the declarations (problem.algorithm_obj, problem.loss_obj, ...) instead:\n" + "\n".join(hits)


def test_module_and_function_sizes():
    too_long = []
    for path in _modules():
        if _is_generated(path):
            continue
        text = path.read_text()
        n = len(text.splitlines())
        if n > 500:
            too_long.append(f"{path.relative_to(ROOT)}: {n} lines (module limit 500)")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = node.lineno  # the def line: decorators (click options) are not the body
                length = node.end_lineno - first + 1
                if length > 80:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length} lines (limit 80)")
    assert not too_long, "\n".join(too_long)


def test_no_file_points_outside_the_repository():
    pattern_a, pattern_b = "THEORY" + ".md", "../" + "shared"
    hits = []
    for sub in ("src", "tests", "docs", "examples", "benchmarks"):
        for path in (ROOT / sub).rglob("*"):
            if path.suffix not in {".py", ".md", ".rst", ".txt", ".toml", ".cfg", ".yaml", ".yml"}:
                continue
            if any(part.startswith(("_build", "auto_examples", "generated")) for part in path.parts):
                continue
            text = path.read_text(errors="replace")
            if pattern_a in text or pattern_b in text:
                hits.append(str(path.relative_to(ROOT)))
    for name in ("README.md", "pyproject.toml", "CITATION.cff"):
        text = (ROOT / name).read_text()
        if pattern_a in text or pattern_b in text:
            hits.append(name)
    assert not hits, hits
