"""Documentation: the Sphinx site builds with warnings as errors and has every page; docstring
examples run; one version everywhere (package, metadata, ``sidmft --version``, results)."""

import doctest
import importlib
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import sidmft

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "sidmft"
COMMANDS = ("simulate", "spectral", "dmft", "fixed-point", "compare", "sweep", "plot")
DOCS_DEPS = ("sphinx", "numpydoc", "sphinx_gallery", "myst_parser", "sphinx_click", "furo")


# ----------------------------------------------------------------------------------- version
def test_one_version_everywhere():
    from sidmft.cli import main

    v = sidmft.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)*", v)
    assert importlib.metadata.version("sidmft") == v  # pyproject reads _version.py
    r = CliRunner().invoke(main, ["--version"])
    assert r.exit_code == 0 and v in r.output
    assert sidmft.Result(sidmft.Problem()).version == v
    out = subprocess.run([sys.executable, "-m", "sidmft", "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == f"sidmft, version {v}"
    out = subprocess.run([sys.executable, "-m", "sidmft", "nope"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Usage: sidmft" in out.stderr  # python -m sidmft is the CLI


# ----------------------------------------------------------------------------------- doctests
def _modules_with_examples():
    mods = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "__main__.py" or ">>>" not in path.read_text(encoding="utf-8"):
            continue
        rel = path.relative_to(SRC.parent).with_suffix("")
        mods.append(".".join(p for p in rel.parts if p != "__init__"))
    return mods


@pytest.mark.parametrize("name", _modules_with_examples())
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    if res.attempted == 0:
        pytest.skip(f"every docstring example of {name} is marked +SKIP (needs files or long runs)")
    assert res.failed == 0, (
        f"{res.failed} docstring example(s) failed in {name} (run: python -m pytest "
        f"--doctest-modules {SRC / name.split('.', 1)[1].replace('.', '/')}.py)"
    )


def test_results_module_has_examples():
    assert "sidmft.results" in _modules_with_examples()


# ----------------------------------------------------------------------------------- the site
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    missing = [m for m in DOCS_DEPS if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"docs extra not installed ({', '.join(missing)}): pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("docs") / "html"
    env = dict(os.environ, SIDMFT_DOCS_SCRATCH=str(out.parent / "scratch"), MPLBACKEND="Agg")
    # the documented command (README, docs/index.md), fresh environment (-E), warnings are errors
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html", str(ROOT / "docs"), str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT, env=env)
    assert r.returncode == 0, "docs build failed:\n" + (r.stdout + r.stderr)[-6000:]
    return out


def _text(path):
    assert path.exists(), f"missing page {path.name}"
    return path.read_text(encoding="utf-8")


def test_core_pages(site):
    index = _text(site / "index.html")
    for page in (
        "getting-started",
        "guide/index",
        "auto_examples/index",
        "theory",
        "validation",
        "api",
        "changelog",
        "benchmarks",
    ):
        assert f'href="{page}.html' in index, page
    assert len(_text(site / "theory.html")) > 5_000
    gs = _text(site / "getting-started.html")
    assert "sidmft compare" in gs and "largest |z|" in gs
    val = _text(site / "validation.html")
    assert "test_default_compare_agrees" in val and "0.8454" in val
    assert "bench_simulate.py" in _text(site / "benchmarks.html")


def test_a_page_per_command_with_its_full_option_list(site):
    from sidmft.cli import main

    for name in COMMANDS:
        page = _text(site / "guide" / f"{name}.html")
        assert f"sidmft {name}" in page
        for param in main.commands[name].params:  # sphinx-click rendered every option
            for opt in param.opts:
                if opt.startswith("-"):
                    assert opt in page, (name, opt)
        assert "exit-codes.html" in page
    codes = " ".join(re.sub(r"<[^>]+>", " ", _text(site / "guide" / "exit-codes.html")).split())
    for code, label in enumerate(
        [
            "success",
            "internal error",
            "usage error",
            "diverged",
            "blowup",
            "not-converged",
            "below-threshold",
            "not-applicable",
            "failed",
        ]
    ):
        assert f" {code} {label} " in codes, (code, label)


def test_gallery_pages_with_figures(site):
    gallery = _text(site / "auto_examples" / "index.html")
    executed = os.environ.get("SIDMFT_DOCS_GALLERY", "1") != "0"
    for ex in ("rwf_phase_retrieval", "spectral_transition", "phase_diagram"):
        assert f"{ex}.html" in gallery
        page = _text(site / "auto_examples" / f"{ex}.html")
        if executed:
            assert f"sphx_glr_{ex}_001.png" in page  # the figure it drew
            assert (site / "_images" / f"sphx_glr_{ex}_001.png").stat().st_size > 10_000


def test_api_reference(site):
    api = site / "api" / "generated"
    for obj in (
        "sidmft.Problem",
        "sidmft.Result",
        "sidmft.Status",
        "sidmft.simulator.simulate",
        "sidmft.simulator.SimulationResult",
        "sidmft.theory.spectral.spectral",
        "sidmft.theory.dmft.dmft",
        "sidmft.theory.dmft.DMFTResult",
        "sidmft.theory.fixed_point.fixed_point",
        "sidmft.comparison.compare",
        "sidmft.sweep.run_sweep",
        "sidmft.plot.plot_sweep",
        "sidmft.plot.plot_comparison",
        "sidmft.io.load",
        "sidmft",
    ):
        _text(api / f"{obj}.html")
    assert "_repr_html_" in _text(api / "sidmft.Result.html") or "Jupyter" in _text(api / "sidmft.Result.html")
