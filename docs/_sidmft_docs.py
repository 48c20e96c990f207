"""Helpers for the documentation build (imported by conf.py through sphinx-gallery)."""

import os
import tempfile
from pathlib import Path

#: where the gallery examples write their files during a docs build
SCRATCH = Path(os.environ.get("SIDMFT_DOCS_SCRATCH") or tempfile.mkdtemp(prefix="sidmft-docs-"))

#: command-line arguments of each example in the gallery (``{out}`` is a scratch directory)
ARGS = {
    "rwf_phase_retrieval.py": ["--output-dir", "{out}/rwf"],
    "spectral_transition.py": ["--output", "{out}/spectral_transition.png"],
    "phase_diagram.py": ["--store", "{out}/phase_diagram", "--workers", "0"],
    "momentum_phase_retrieval.py": ["--output", "{out}/momentum_phase_retrieval.png"],
}


def reset_argv(gallery_conf, script_vars):
    """``sys.argv[1:]`` for an example run by sphinx-gallery: its quick mode, files in a scratch dir."""
    name = Path(script_vars["src_file"]).name
    out = SCRATCH / Path(name).stem
    out.mkdir(parents=True, exist_ok=True)
    return ["--quick"] + [a.format(out=out) for a in ARGS.get(name, [])]


# ---------------------------------------------------------------------------------------------
# Docstrings are numpydoc with plain-text mathematics: |x| is an absolute value, never an rst
# substitution reference.  Escape such bars (outside ``literals``, `roles` and literal blocks)
# so that docutils does not report "Undefined substitution referenced".
import re  # noqa: E402

_CODE = re.compile(r"(``.*?``|`[^`]*`)")


def _escape_bars(line: str) -> str:
    parts = _CODE.split(line)
    return "".join(p if i % 2 else p.replace("\\|", "|").replace("|", "\\|") for i, p in enumerate(parts))


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
    _fix_underlines(lines)
    if what == "module" and name in VERBATIM and lines:
        text = [ln for ln in lines]
        lines[:] = [text[0], "", "::", ""] + ["    " + ln for ln in text[1:]] + [""]
        return
    escape_bars(lines)


def process_click(app, ctx, lines):
    escape_bars(lines)


def setup(app):
    if os.environ.get("SIDMFT_DOCS_RAW_DOCSTRINGS") == "1":  # show the docstrings' own reST problems
        return {"parallel_read_safe": True}
    app.connect("autodoc-process-docstring", process_docstring)
    for event in ("description", "usage", "options", "arguments", "envvars", "epilog", "commands"):
        try:
            app.connect(f"sphinx-click-process-{event}", process_click)
        except Exception:  # an older sphinx-click without this event
            pass
    return {"parallel_read_safe": True}
