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
def _git_status():
    """``git status --porcelain`` of the checkout (untracked files listed one by one), or None without git."""
    try:
        r = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return set(r.stdout.splitlines()) if r.returncode == 0 else None


_STATUS: dict = {}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    missing = [m for m in DOCS_DEPS if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"docs extra not installed ({', '.join(missing)}): pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("docs") / "html"
    env = dict(os.environ, SIDMFT_DOCS_SCRATCH=str(out.parent / "scratch"), MPLBACKEND="Agg")
    # the documented command (README, docs/index.md), fresh environment (-E), warnings are errors
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html", str(ROOT / "docs"), str(out)]
    _STATUS["before"] = _git_status()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT, env=env)
    _STATUS["after"] = _git_status()
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
        "cite",
        "guide/algorithms",
        "guide/sizes",
        "guide/extending",
        "guide/cluster",
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
    for ex in ("rwf_phase_retrieval", "spectral_transition", "phase_diagram", "custom_model"):
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


# ----------------------------------------------------------------------------------- a clean build
def test_build_leaves_the_source_tree_clean(site):
    """The build writes nothing into the checkout: the autosummary stubs and the gallery pages it
    generates in docs/ are removed when it finishes, and no other file appears or changes."""
    for rel in ("api/generated", "auto_examples", "api"):
        assert not (ROOT / "docs" / rel).exists(), rel
    before, after = _STATUS.get("before"), _STATUS.get("after")
    if before is None or after is None:
        pytest.skip("not a git checkout (or no git): the status cannot be compared")
    assert after == before, f"the docs build changed the checkout: {sorted(after ^ before)}"


# ----------------------------------------------------------------------------------- the topic pages
def _plain(path):
    return " ".join(re.sub(r"<[^>]+>", " ", _text(path)).split())


@pytest.mark.parametrize(
    "page, title, terms",
    [
        (
            "guide/algorithms",
            "Algorithms and starts",
            "--algorithm|--beta|--batch|--temperature|--param|--eta-schedule|--init|step:FACTOR:EVERY|cosine:ETA_MIN|"
            "linear|random|Truncated Amplitude Flow|pseudo-huber-amplitude",
        ),
        (
            "guide/sizes",
            "Choosing sizes and reading z",
            "--batches|--seeds|--samples|--dim|2000 paths per batch|2(T+2)|15 seeds|heavy|note",
        ),
        (
            "guide/extending",
            "Extending sidmft",
            "register_model|register_loss|register_preprocessing|register_algorithm|register_parameter|scalar_grad|"
            "jumps|convex|even|prox|potential|import time|--preload|__main__|custom_method.py|custom_loss.py",
        ),
        (
            "guide/cluster",
            "Running on a Dask cluster",
            "dask scheduler|dask worker|--scheduler|--preload|same|client writes|--config|[grid]|[settings]|[problem]|"
            "--checkpoint",
        ),
        (
            "cite",
            "How to cite",
            "CITATION.cff|2509.23527|Lu and Li|Mondelli and Montanari|Luo, Alghamdi and Lu|Celentano, Cheng and "
            "Montanari|Gerbelot|El Karoui|Thrampoulidis|Candès|Wang, Giannakis and Eldar",
        ),
    ],
)
def test_topic_pages_have_content(site, page, title, terms):
    text = _plain(site / f"{page}.html")
    assert title in text, title
    body = text.split(title, 1)[1]
    assert len(body) > 3000, (page, len(body))  # real content, not a stub
    for term in terms.split("|"):
        assert term in body, (page, term)


_DECLARED = """
import json
from sidmft.algorithms import ALGORITHMS
from sidmft.losses import LOSSES
from sidmft.models import MODELS
from sidmft.parameters import PARAMETERS
from sidmft.preprocess import PREPROCESSINGS
print(json.dumps({"names": [sorted(r) for r in (ALGORITHMS, LOSSES, MODELS, PREPROCESSINGS, PARAMETERS)],
                  "ranges": {k: p.range_text for k, p in PARAMETERS.items()}}))
"""


def test_registry_lists_are_generated_and_complete(site):
    """The lists on "Algorithms and starts" come from the registries: every method, loss, model,
    preprocessing and parameter the package declares is there, with each parameter's range; the
    declarations the gallery examples make in the build process are not."""
    import json

    # the package's own declarations, in a fresh process (other tests may have registered their own here)
    r = subprocess.run([sys.executable, "-c", _DECLARED], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    declared = json.loads(r.stdout)
    html = _text(site / "guide" / "algorithms.html")
    text = _plain(site / "guide" / "algorithms.html")
    assert html.count("sidmft-registry") >= 5
    for names in declared["names"]:
        for name in names:
            assert f'<span class="pre">{name}' in html, name
    for name, rng in declared["ranges"].items():
        assert f"{name} " in text and rng.replace(">", "&gt;") in html, name
    if os.environ.get("SIDMFT_DOCS_GALLERY", "1") != "0":  # examples/custom_model.py ran in the build
        assert "cubic" not in text and "cube-root" not in text


def test_front_page_says_what_is_proven_and_derived(site):
    text = _plain(site / "index.html")
    assert "What is proven, what is derived, and how it is checked" in text
    assert "published results" in text and "not proven" in text and "derived" in text
    assert "exact" not in text.split("Where to start")[0]


def test_structure_links_and_wording(site):
    theory = _text(site / "theory.html")
    assert theory.index("§4.2 Tolerances") < theory.index("§4.3 Long horizons")  # sections in order
    assert "Planned" not in theory and "`rho_sq`" not in theory and ">rho_sq<" in theory
    dmft = _text(site / "guide" / "dmft.html")
    assert 'href="../theory.html#theory-s4-3"' in dmft and 'href="../theory.html#theory-s6-8"' in dmft
    assert 'href="sizes.html' in dmft and 'href="sizes.html' in _text(site / "guide" / "compare.html")
    assert 'href="guide/sizes.html' in _text(site / "getting-started.html")
    # the command help rendered on the pages links the exit-code page and the theory sections
    assert 'href="exit-codes.html' in dmft and 'href="../theory.html#theory-s2-5"' in dmft
    for page in ("changelog", "benchmarks", "index", "guide/index", "getting-started", "guide/exit-codes"):
        text = _plain(site / f"{page}.html")
        for internal in (r"\bissues? \d", "the review", r"\blent "):
            assert not re.search(internal, text), (page, internal)


def test_help_texts_are_current():
    from sidmft.cli import main

    h = " ".join(CliRunner().invoke(main, ["dmft", "--help"]).output.split())
    assert "simulation only" not in h and "simulation-only" not in h
    assert "linear" in h and "spectral, random or linear start" in h
    loss_help = " ".join(CliRunner().invoke(main, ["simulate", "--help"]).output.split())
    assert "truncated- amplitude" in loss_help or "truncated-amplitude" in loss_help
