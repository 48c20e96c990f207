"""The layout contract of docs/DEVELOPING.md, checked on the source tree.

* The numerics (``sidmft.theory``, ``sidmft.simulator``) import nothing from the command line or
  from plotting, and theory and simulator never import each other.
* No hand-written module is longer than 500 lines and no hand-written function longer than 80
  lines (docstring included); generated modules say so in their first lines and are exempt.
* No file in the repository points outside it (the theory is the project's own docs/theory.md).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

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


def _imports(path: Path) -> set[str]:
    """Absolute names of every sidmft module imported by ``path`` (lazy imports inside functions included)."""
    tree = ast.parse(path.read_text())
    pkg = _dotted(path).split(".")
    if path.name != "__init__.py":
        pkg = pkg[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("sidmft"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("sidmft"):
                out.add(mod)
                out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def _is_generated(path: Path) -> bool:
    head = "\n".join(path.read_text().splitlines()[:6])
    return "GENERATED" in head


ROOMS = {
    "sidmft.theory": ("sidmft.cli", "sidmft.plot", "sidmft.simulator", "sidmft.sweep", "sidmft.comparison"),
    "sidmft.simulator": ("sidmft.cli", "sidmft.plot", "sidmft.theory", "sidmft.sweep", "sidmft.comparison"),
    "sidmft.numerics": ("sidmft.cli", "sidmft.plot", "sidmft.theory", "sidmft.simulator", "sidmft.sweep"),
}


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_numerics_do_not_import_interface_or_each_other(room):
    bad = []
    for path in _modules():
        name = _dotted(path)
        if not (name == room or name.startswith(room + ".")):
            continue
        for imp in _imports(path):
            if any(imp == f or imp.startswith(f + ".") for f in ROOMS[room]):
                bad.append(f"{name} imports {imp}")
    assert not bad, "\n".join(bad)


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
