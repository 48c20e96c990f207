"""Helpers for the documentation build (imported by conf.py through sphinx-gallery)."""

import os
import tempfile
from pathlib import Path

#: where the gallery examples write their files during a docs build
SCRATCH = Path(os.environ.get("SIDMFT_DOCS_SCRATCH") or tempfile.mkdtemp(prefix="sidmft-docs-"))

#: options an example may declare, and the value the documentation build gives it (``{out}``: the
#: example's scratch directory, ``{stem}``: its file name without ``.py``)
OPTION_VALUES = (
    ("--output-dir", "{out}"),
    ("--output", "{out}/{stem}.png"),
    ("--store", "{out}/store"),
    ("--workers", "0"),
)


def example_args(source: str, out, stem: str) -> list:
    """The arguments of an example: ``--quick`` and, for each option of :data:`OPTION_VALUES` that the
    script declares (``add_argument("--output", ...)``), its scratch value."""
    args = ["--quick"]
    for opt, value in OPTION_VALUES:
        if f'"{opt}"' in source:
            args += [opt, value.format(out=out, stem=stem)]
    return args


def reset_argv(gallery_conf, script_vars):
    """``sys.argv[1:]`` for an example run by sphinx-gallery: its quick mode, files in a scratch dir."""
    path = Path(script_vars["src_file"])
    out = SCRATCH / path.stem
    out.mkdir(parents=True, exist_ok=True)
    return example_args(path.read_text(encoding="utf-8"), out, path.stem)


# ---------------------------------------------------------------------------------------------
# Docstrings are numpydoc with plain-text mathematics: |x| is an absolute value, never an rst
# substitution reference.  Escape such bars (outside ``literals``, `roles` and literal blocks)
# so that docutils does not report "Undefined substitution referenced".
import re  # noqa: E402

_CODE = re.compile(r"(``.*?``|`[^`]*`)")


#: labels of the theory page's sections (``theory-s2-4``), read from docs/theory.md
THEORY_LABELS = frozenset(
    re.findall(r"^\((theory-[\w-]+)\)=$", (Path(__file__).parent / "theory.md").read_text("utf-8"), re.M)
)
_THEORY_REF = re.compile(r"docs/theory\.md,?\s+§(\d)(?:\.(\d))?(?!\d)")
_EXIT_REF = re.compile(r"README:\s+Exit codes")


def _theory_link(m) -> str:
    label = "theory-s" + m.group(1) + (f"-{m.group(2)}" if m.group(2) else "")
    return f":ref:`{m.group(0)} <{label}>`" if label in THEORY_LABELS else m.group(0)


def link_references(text: str) -> str:
    """Plain-text references in docstrings and command help made links: ``docs/theory.md §2.4`` to the
    theory section (when it has a label) and ``README: Exit codes`` to the exit-code page."""
    text = _THEORY_REF.sub(_theory_link, text)
    return _EXIT_REF.sub(":doc:`Exit codes </guide/exit-codes>`", text)


def _escape_bars(line: str) -> str:
    parts = _CODE.split(line)
    return "".join(
        p if i % 2 else link_references(p.replace("\\|", "|").replace("|", "\\|")) for i, p in enumerate(parts)
    )


def escape_bars(lines: list) -> None:
    """Escape ``|`` in place in reST ``lines``, leaving literal blocks and code spans alone."""
    literal_indent = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if stripped and indent <= literal_indent:
                literal_indent = None
            else:
                continue
        if (
            stripped.startswith(("+-", "+=", ">>>", "..."))
            or stripped.startswith("|")
            and stripped.endswith("|")
            and stripped.count("|") > 2
        ):
            continue  # a grid table row, a doctest
        if stripped == "|" or stripped.startswith("| "):  # a line block (click's \b paragraphs)
            cut = line.index("|") + 1
            lines[i] = line[:cut] + _escape_bars(line[cut:])
        else:
            lines[i] = _escape_bars(line)
        if stripped.endswith("::") and not stripped.startswith(".. "):
            literal_indent = indent


#: module docstrings that are not valid reST yet: shown verbatim (a literal block) in the
#: API reference until they are rewritten
VERBATIM = {"sidmft.sweep", "sidmft.theory.dmft"}


_UNDERLINE = re.compile(r"([-=~^\"'`#*+])\1{2,}")


def _fix_underlines(lines: list) -> None:
    # a section title whose underline is shorter than the title (docutils warns)
    for i in range(1, len(lines)):
        u, title = lines[i].strip(), lines[i - 1].rstrip()
        if _UNDERLINE.fullmatch(u) and title.strip() and not _UNDERLINE.fullmatch(title.strip()):
            if len(u) < len(title):
                indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
                lines[i] = indent + u[0] * (len(title) - len(indent))


def process_docstring(app, what, name, obj, options, lines):
    if what == "module" and name in VERBATIM and lines:
        text = [ln for ln in lines]
        lines[:] = [text[0], "", "::", ""] + ["    " + ln for ln in text[1:]] + [""]
        return
    escape_bars(lines)
    _fix_underlines(lines)  # after escaping and linking, which lengthen titles


def process_click(app, ctx, lines):
    escape_bars(lines)


#: folders the build generates inside the source tree (autosummary stubs, sphinx-gallery pages): removed
#: when the build finishes, so a build leaves ``git status`` clean
GENERATED = ("api/generated", "auto_examples")


def remove_generated(app, exception) -> None:
    """``build-finished``: delete the generated folders of :data:`GENERATED` from the source tree."""
    import shutil

    src = Path(app.srcdir)
    for rel in GENERATED:
        shutil.rmtree(src / rel, ignore_errors=True)
        parent = (src / rel).parent
        while parent != src and parent.is_dir() and not any(parent.iterdir()):  # e.g. the emptied api/
            parent.rmdir()
            parent = parent.parent


def setup(app):
    import _sidmft_registry

    _sidmft_registry.setup(app)
    app.connect("build-finished", remove_generated, priority=900)  # after sphinx-gallery's own handlers
    if os.environ.get("SIDMFT_DOCS_RAW_DOCSTRINGS") == "1":  # show the docstrings' own reST problems
        return {"parallel_read_safe": True}
    app.connect("autodoc-process-docstring", process_docstring)
    for event in ("description", "usage", "options", "arguments", "envvars", "epilog", "commands"):
        try:
            app.connect(f"sphinx-click-process-{event}", process_click)
        except Exception:  # an older sphinx-click without this event
            pass
    return {"parallel_read_safe": True}
