"""Every ``sidmft`` command shown in the README and the user guide runs as shown and exits as the page says.

The commands are taken from the code blocks (fenced and indented) of README.md, docs/getting-started.md and
docs/guide/*.md, and from the examples column of the README's command table.  A trailing comment
``# exit N`` states a non-zero exit code; without one the page promises 0.  The commands of one page run in
order in a fresh temporary directory (a later command may read what an earlier one wrote, as on the page),
in this process through click's test runner (the program of the ``sidmft`` executable, without paying
Python's start-up for each command).  A code block whose first line is a comment naming a file
(``# sweep.toml``) is written to that file first, and ``python FILE.py ...`` lines run such a file, so the
launcher and the TOML examples run as shown too.  Commands with placeholders (``HOST``, ``COMMAND``, ...)
are templates, not run; the long ones are listed in :data:`LONG` with the reason.

The README's custom-model example (Python) runs in a subprocess and must print the theory output the
README shows; the Python blocks of the "Extending sidmft" page run as one script.

The page "Choosing sizes and reading z" promises a note on stderr for runs too small for their z: tested
at the end (:func:`test_small_runs_print_a_note`).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from sidmft.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, ROOT / "docs" / "getting-started.md", *sorted((ROOT / "docs" / "guide").glob("*.md"))]
COMMANDS = set(main.commands)

#: commands shown but not run here, with the reason (each must still appear on a page: checked)
LONG = {
    "sidmft compare": "the main job, about a minute on 2 cores; tests/test_compare.py::test_default_compare_agrees "
    "runs it and checks its numbers",
    "sidmft dmft --alpha 2 --eta 0.07 --steps 1000 --samples 20000 --batches 8": "a thousand steps, about half a "
    "minute; the hybrid responses it uses are checked in tests/test_dmft_hybrid.py",
}
#: an upper-case word of 3+ letters marks a template (HOST, PORT, COMMAND, FILE, DIR, ADDR, NAME=VALUE)
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z_]{2,}\b")
FILE_COMMENT = re.compile(r"^#\s*([\w.-]+\.(?:toml|py))\b")
#: the module of registrations that the "Extending sidmft" page tells the reader to write
EXTENSION = "my_sidmft_ext.py"


@dataclass
class Step:
    """One thing a page shows: a command to run, a file to write or a Python script to run."""

    kind: str  # "sidmft", "python", "file"
    text: str
    expect: int = 0
    name: str = ""  # file name (kind "file")


# ----------------------------------------------------------------------------------------- extraction
def _blocks(text: str):
    """(language, lines) of every fenced and indented code block, in page order."""
    lines = text.splitlines()
    i, prev_blank = 0, True
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^(\s*)(```+|~~~+)\s*\{?([\w-]*)\}?", line)
        if fence:
            indent, mark, lang = fence.groups()
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(mark):
                j += 1
            yield lang, [ln[len(indent) :] if ln.startswith(indent) else ln for ln in lines[i + 1 : j]]
            i, prev_blank = j + 1, False
            continue
        if prev_blank and line.startswith("    ") and line.strip():
            j = i
            while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
                j += 1
            yield "", [ln.strip() for ln in lines[i:j] if ln.strip()]
            i, prev_blank = j, False
            continue
        prev_blank = not line.strip()
        i += 1


def _command(segment: str):
    """``(command, expected exit)`` of a ``sidmft ...`` segment, or None when it is not a command."""
    code = 0
    m = re.search(r"\s#\s*exit\s+(\d+)\s*$", segment)
    if m:
        code, segment = int(m.group(1)), segment[: m.start()]
    segment = re.sub(r"\s#.*$", "", segment).strip()
    words = segment.split()
    if len(words) < 2 or words[0] != "sidmft" or words[1] not in COMMANDS:
        return None
    return segment, code


def page_steps(path: Path) -> list:
    """The steps of a page, in order."""
    text = path.read_text(encoding="utf-8")
    steps: list = []
    written: set = set()
    unnamed: list = []  # the page's Python blocks that name no file
    for lang, lines in _blocks(text):
        named = FILE_COMMENT.match(lines[0]) if lines else None
        if named and lang in ("toml", "python"):
            steps.append(Step("file", "\n".join(lines) + "\n", name=named.group(1)))
            written.add(named.group(1))
            continue
        if lang == "python":
            unnamed.append("\n".join(lines))
        if EXTENSION in text and EXTENSION not in written and len(unnamed) > 1 and any("python " in ln for ln in lines):
            # the page says: its registrations (every Python block but the last) form my_sidmft_ext.py
            steps.append(Step("file", "\n".join(unnamed[:-1]) + "\n", name=EXTENSION))
            written.add(EXTENSION)
        for line in lines:
            line = line.removeprefix("$ ")
            for segment in line.split("&&"):
                segment = segment.strip()
                cmd = _command(segment)
                if cmd:
                    steps.append(Step("sidmft", cmd[0], cmd[1]))
                elif segment.startswith("python ") and len(segment.split()) > 1 and segment.split()[1] in written:
                    steps.append(Step("python", segment))
    if path == README:  # the examples column of the command table
        for row in re.findall(r"^\|.*\|$", text, flags=re.M):
            for span in re.findall(r"`(sidmft [^`]+)`", row):
                cmd = _command(span)
                if cmd and len(cmd[0].split()) > 2:
                    steps.append(Step("sidmft", cmd[0], cmd[1]))
    return steps


def readme_table_commands() -> list:
    text = README.read_text(encoding="utf-8")
    table = text.split("## Command line", 1)[1].split("\n## ", 1)[0]
    return [
        m for row in re.findall(r"^\|.*\|$", table, flags=re.M) for m in re.findall(r"`(sidmft [^`]+ --[^`]+)`", row)
    ]


def runnable(step: Step) -> bool:
    return step.kind != "sidmft" or (step.text not in LONG and not PLACEHOLDER.search(step.text))


# ----------------------------------------------------------------------------------------- running
_DONE: dict = {}  # command -> exit code, so a command shown on several pages runs once


def _run_python(text: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(cwd)]))
    return subprocess.run(
        [sys.executable, *shlex.split(text)[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def run_step(step: Step, cwd: Path) -> tuple[int, str]:
    """Run one step in ``cwd``; returns (exit code, output for the failure message)."""
    if step.kind == "file":
        (cwd / step.name).write_text(step.text, encoding="utf-8")
        return 0, ""
    if step.kind == "python":
        r = _run_python(step.text, cwd)
        return r.returncode, r.stdout[-2000:] + r.stderr[-3000:]
    if step.text in _DONE:
        return _DONE[step.text], "(ran on an earlier page)"
    r = CliRunner().invoke(main, shlex.split(step.text)[1:], catch_exceptions=True)
    detail = r.output[-3000:]
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        detail += f"\n{type(r.exception).__name__}: {r.exception}"
    _DONE[step.text] = r.exit_code
    return r.exit_code, detail


#: the pages that show a command to run (the others show only Python snippets and option tables)
RUN_PAGES = [p for p in PAGES if any(runnable(s) for s in page_steps(p))]


@pytest.mark.parametrize(
    "page", RUN_PAGES, ids=[p.name if p.parent.name != "guide" else f"guide/{p.name}" for p in RUN_PAGES]
)
def test_page_commands_run_as_shown(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    steps = [s for s in page_steps(page) if runnable(s)]
    for step in steps:
        t0 = time.perf_counter()
        code, detail = run_step(step, tmp_path)
        print(f"{time.perf_counter() - t0:6.1f} s  exit {code}  {step.kind}: {(step.name or step.text)[:100]}")
        assert code == step.expect, (
            f"{page.name}: `{step.text[:200]}` exited {code}, the page says {step.expect}\n{detail}"
        )


# ----------------------------------------------------------------------------------------- coverage
def test_required_commands_are_extracted_and_run():
    readme = [s.text for s in page_steps(README) if s.kind == "sidmft"]
    table = readme_table_commands()
    assert len(table) == 7, table  # one example per command
    for cmd in table:
        assert cmd in readme, cmd
        assert runnable(Step("sidmft", cmd)), f"README table command is not run: {cmd}"
    assert any(c.startswith("sidmft sweep --grid alpha=") for c in table)
    for cmd in LONG:  # every skipped command is still shown somewhere (the list cannot go stale)
        assert any(cmd == s.text for p in PAGES for s in page_steps(p)), cmd
    every = [s for p in PAGES for s in page_steps(p) if s.kind == "sidmft"]
    assert len(every) >= 30 and sum(runnable(s) for s in every) >= 25, len(every)


def _readme_custom_model():
    """The README's custom-model block and the output it says it prints."""
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n((?:(?!```).)*)```\n\nprints\n\n((?:    [^\n]*\n)+)", text, flags=re.S)
    code, shown = next((c, s) for c, s in blocks if "register_model" in c)
    return code, [ln.strip() for ln in shown.splitlines() if ln.strip()]


def _numbers(line: str) -> list:
    return [float(x) for x in re.findall(r"-?\d+\.\d+", line)]


def test_readme_custom_model_computes_the_theory_it_shows(tmp_path):
    code, shown = _readme_custom_model()
    (tmp_path / "custom_model.py").write_text(code, encoding="utf-8")
    r = _run_python("python custom_model.py", tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    out = [ln.strip() for ln in r.stdout.splitlines() if ln.strip()]
    assert len(out) == len(shown) == 2, out
    for got, want in zip(out, shown):
        # same words and statuses; numbers to the printed digits (quadrature: exact; DMFT: rounding of float32
        # sums between machines, far below the printed standard error 0.0006)
        assert re.sub(r"-?\d+\.\d+", "#", got) == re.sub(r"-?\d+\.\d+", "#", want), (got, want)
        assert _numbers(got) == pytest.approx(_numbers(want), abs=2e-3), (got, want)
    assert "below-threshold" not in r.stdout and "(success)" in out[0]


def test_extending_page_code_runs(tmp_path):
    page = ROOT / "docs" / "guide" / "extending.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)
    code = [b for b in blocks if not FILE_COMMENT.match(b)]
    (tmp_path / "extending.py").write_text("\n".join(code), encoding="utf-8")
    r = _run_python("python extending.py", tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "(success)" in r.stdout and "alpha_c = 0.816" in r.stdout, r.stdout


# ----------------------------------------------------------------------------------------- size notes
def test_small_runs_print_a_note(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from sidmft.cli._sizes import MIN_BATCHES, MIN_DIM, MIN_PATHS_PER_BATCH, MIN_SEEDS, size_notes

    assert size_notes(batches=8, samples=16000, steps=50, seeds=8, dim=2000) == []
    assert (
        size_notes(batches=MIN_BATCHES, samples=MIN_BATCHES * MIN_PATHS_PER_BATCH, seeds=MIN_SEEDS, dim=MIN_DIM) == []
    )
    notes = size_notes(batches=4, samples=4000, steps=600, seeds=2, dim=300)
    assert len(notes) == 5 and all(isinstance(n, str) and n for n in notes)  # batches, paths, matching, seeds, d
    assert "4 DMFT batches" in notes[0] and "41%" in notes[0]  # 1/sqrt(2 (B - 1)) = 0.41 at B = 4
    assert "2 simulation seeds" in notes[3] and "1 degree" in notes[3]

    runner = CliRunner()
    r = runner.invoke(main, ["dmft", "--steps", "2", "--samples", "400", "--batches", "2", "--no-progress", "--json"])
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("sidmft dmft: note:")]
    assert len(lines) == 2 and "2 DMFT batches" in lines[0] and "200 Monte-Carlo paths per batch" in lines[1]
    assert r.stdout.lstrip().startswith("{")  # the JSON on stdout is untouched
    r = runner.invoke(main, ["dmft", "--steps", "2", "--samples", "16000", "--no-progress", "--json"])
    assert r.exit_code == 0 and "note:" not in r.stderr, r.stderr  # the defaults follow the advice (8 batches)
    args = ["compare", "--dim", "100", "--seeds", "2", "--samples", "400", "--batches", "2", "--steps", "2"]
    r = runner.invoke(main, [*args, "--no-fixed-point", "--no-progress", "--output-dir", "cmp", "--json"])
    assert r.exit_code == 0, r.output
    notes = [ln for ln in r.stderr.splitlines() if ln.startswith("sidmft compare: note:")]
    assert len(notes) == 4, notes
    assert any("2 simulation seeds" in n for n in notes) and any("dimension 100" in n for n in notes)
