"""Suite-wide test settings.

Property-based tests are derandomised (Hypothesis draws the same examples on every run and every
machine), so a CI outcome never depends on a lucky or unlucky draw; no example database is written.

Skips.  A skipped test can hide a failure, so the session fails (exit status 1, with an "unexpected skips"
section) when a test or a test module is skipped for a reason that is not in :data:`ALLOWED_SKIPS`.  Each
allowed reason carries the condition under which it is legitimate: an optional extra (jax, the docs tools)
is allowed to be missing only when it really is not installed, so CI, which installs both, never skips
those tests.  The summary lists every skip with its reason (``-rfEs`` in pyproject's ``addopts``).
"""

from __future__ import annotations

import importlib.util
import re

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "sidmft",
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("sidmft")


def _import_every_sidmft_module() -> None:
    """Import every module of the package now, before any test draws.

    Hypothesis mixes into its draws the constants it finds in the source of the *local* modules imported so far
    (sidmft is installed editable, so its modules are local; test files are not scanned).  Which sidmft modules a
    run has imported when a property test starts depends on which tests ran before it, so the derandomised draws
    of one test changed with the selection: the contract fuzzing drew different problems alone and in the whole
    suite.  With every module imported up front the pool of constants, and so every draw, depends on the source
    tree only."""
    import pkgutil

    import sidmft

    for info in pkgutil.walk_packages(sidmft.__path__, "sidmft."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)


_import_every_sidmft_module()


def _missing(*modules: str) -> bool:
    """True when one of ``modules`` is not installed (a broken install is installed: its skip is unexpected)."""
    return any(importlib.util.find_spec(m) is None for m in modules)


#: (reason pattern, condition under which the skip is legitimate, why)
ALLOWED_SKIPS = (
    (
        re.compile(r"every docstring example of sidmft\.plot\.sweep is marked \+SKIP"),
        lambda: True,
        "its examples read a sweep store from disk; the functions themselves run in tests/test_plot_sweep.py",
    ),
    (re.compile(r"could not import 'jax'"), lambda: _missing("jax"), "the optional extra jax is not installed"),
    (
        re.compile(r"docs extra not installed"),
        lambda: _missing("sphinx", "numpydoc", "sphinx_gallery", "myst_parser", "sphinx_click", "furo"),
        "the docs extra is not installed",
    ),
)


@pytest.fixture(autouse=True, scope="module")
def _restore_registries():
    """Each test module starts from the registries the previous one found: a model, loss, method or parameter
    registered inside a module is removed when the module ends, so draws from the registries (the contract
    tests' Hypothesis strategies) do not depend on which modules ran before."""
    from sidmft.algorithms import ALGORITHMS
    from sidmft.losses import LOSSES
    from sidmft.models import MODELS
    from sidmft.parameters import PARAMETERS
    from sidmft.preprocess import PREPROCESSINGS

    registries = (ALGORITHMS, LOSSES, MODELS, PARAMETERS, PREPROCESSINGS)
    saved = [dict(r) for r in registries]
    yield
    for registry, before in zip(registries, saved):
        registry.clear()
        registry.update(before)


_unexpected: list[str] = []


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _record(report) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if not any(pattern.search(reason) and legit() for pattern, legit, _ in ALLOWED_SKIPS):
        _unexpected.append(f"{report.nodeid}: {reason}")


def pytest_runtest_logreport(report):
    _record(report)


def pytest_collectreport(report):
    _record(report)  # a module-level importorskip skips the whole module at collection


def pytest_sessionfinish(session, exitstatus):
    if _unexpected and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if _unexpected:
        terminalreporter.section("unexpected skips (the session fails)", sep="=", red=True)
        for line in _unexpected:
            terminalreporter.write_line(line)
        terminalreporter.write_line("A skip hides a failure unless its reason is in ALLOWED_SKIPS (tests/conftest.py).")
