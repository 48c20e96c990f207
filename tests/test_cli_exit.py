"""Exit codes of the command line: 0 only on success, one documented code per status.

Each non-zero code is produced from the command line on a small problem whose status follows
from the theory or from the input (not from a tuned number), and the test checks that the
JSON and the files are still written and that stderr carries one line with the status label
and the result's message.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sidmft.cli import EXIT_CODES, exit_code, main
from sidmft.results import Status

README = Path(__file__).resolve().parents[1] / "README.md"
COMMANDS = ("simulate", "spectral", "dmft", "fixed-point", "compare", "sweep", "plot")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def check_nonzero(r, label, *, json_out=True):
    """Exit code of ``label``, the stderr line, and (json_out) the JSON on stdout."""
    code = EXIT_CODES[label]
    assert r.exit_code == code, (r.exit_code, r.stdout, r.stderr, r.exception)
    last = [ln for ln in r.stderr.splitlines() if ln.startswith("sidmft ")][-1]
    assert f": {label} (exit {code}): " in last
    d = None
    if json_out:
        d = json.loads(r.stdout)
        assert d["exit_code"] == code
        st = d["status"]
        if isinstance(st, str):
            assert st == label
            assert " ".join(str(d["message"]).split())[:60] in last
    return d


# ----------------------------------------------------------------------------- the table itself
def test_table_is_complete_and_distinct():
    assert set(EXIT_CODES) == {s.label for s in Status} | {"usage-error", "internal-error"}
    assert len(set(EXIT_CODES.values())) == len(EXIT_CODES)
    assert EXIT_CODES["success"] == 0 and EXIT_CODES["internal-error"] == 1 and EXIT_CODES["usage-error"] == 2
    for s in Status:
        assert exit_code(s) == exit_code(s.label) == EXIT_CODES[s.label]
    with pytest.raises(ValueError, match="status must be one of"):
        exit_code("bogus")


def test_readme_and_help_agree_with_table():
    text = README.read_text()
    heads = re.findall(r"^## (.+)$", text, flags=re.M)
    assert heads[heads.index("Command line") + 1] == "Exit codes"
    sec = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = dict(
        (lab.strip("` ").replace(" ", "-"), int(c))
        for c, lab in re.findall(r"^\| (\d) \| ([^|]+?) \|", sec, flags=re.M)
    )
    assert rows == EXIT_CODES
    for cmd in COMMANDS:
        r = run(cmd, "--help")
        assert r.exit_code == 0
        h = " ".join(r.stdout.split())
        assert "Exit status" in h, cmd
        para = r.stdout.split("Exit status", 1)[1].split("\n\n", 1)[0]
        assert max(len(ln) for ln in para.splitlines()) <= 80, cmd  # not rewrapped mid-label
        pairs = re.findall(
            r"\b(\d) (success|usage error|[a-z]+(?:-[a-z]+)+|diverged|blowup|failed)\b",
            h.split("Exit status", 1)[1].split("Options:", 1)[0],
        )
        assert len(pairs) >= 3, (cmd, pairs)
        assert ("0", "success") in pairs and ("2", "usage error") in pairs, cmd
        for c, lab in pairs:
            assert EXIT_CODES[lab.replace(" ", "-")] == int(c), (cmd, c, lab)


# ----------------------------------------------------------------------------- 0 and 2
def test_success_exits_0(tmp_path):
    f = tmp_path / "sim.nc"
    r = run("simulate", "--dim", 100, "--seeds", 1, "--steps", 5, "--no-progress", "--json", "--output", f)
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["status"] == "success" and d["exit_code"] == 0 and f.exists()
    assert not [ln for ln in r.stderr.splitlines() if ln.startswith("sidmft ")]
    r = run("spectral", "--alpha", 2, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["exit_code"] == 0


@pytest.mark.parametrize(
    "args",
    [
        ("simulate", "--dim", 1),
        ("dmft", "--alpha", -1),
        ("fixed-point", "--lam", -1),
        ("spectral", "--alpha", "1:2"),
        ("spectral", "--alpha", "1,2", "--save", "x.nc"),
        ("sweep", "--grid", "alpha=1,2"),  # no store
        ("compare", "--seeds", 1),
    ],
)
def test_usage_error_exits_2(args):
    r = run(*args)
    assert r.exit_code == EXIT_CODES["usage-error"], (r.output, r.exception)


def test_plot_usage_and_write_failure(tmp_path):
    store = tmp_path / "sw"
    assert run("sweep", "--grid", "alpha=1,2", "--workers", 0, "--store", store, "--no-progress").exit_code == 0
    assert run("plot", store).exit_code == 2  # no --var
    assert run("plot", store, "--var", "nope", "--x", "alpha").exit_code == 2
    assert (
        run("plot", store, "--var", "spectral_rho_sq", "--x", "alpha", "--output", tmp_path / "a.notaformat").exit_code
        == 2
    )
    out = tmp_path / "ok.png"
    r = run("plot", store, "--var", "spectral_rho_sq", "--x", "alpha", "--output", out)
    assert r.exit_code == 0 and out.stat().st_size > 0
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    r = run("plot", store, "--var", "spectral_rho_sq", "--x", "alpha", "--output", blocker / "x.png")
    check_nonzero(r, "failed", json_out=False)


# ----------------------------------------------------------------------------- 3 .. 8
def test_simulate_diverged_exits_3(tmp_path):
    # eta = 60 is far beyond the stability bound 2 / (largest Hessian eigenvalue) of the intensity loss
    f = tmp_path / "div.nc"
    r = run(
        "simulate", "--eta", 60, "--dim", 200, "--seeds", 1, "--steps", 20, "--no-progress", "--json", "--output", f
    )
    check_nonzero(r, "diverged")
    assert f.stat().st_size > 0


def test_simulate_diverged_real_process():
    """The exit code reaches the shell (a real process, not CliRunner)."""
    cmd = [
        sys.executable,
        "-c",
        "from sidmft.cli import main; main()",
        "simulate",
        "--eta",
        "60",
        "--dim",
        "100",
        "--seeds",
        "1",
        "--steps",
        "5",
        "--no-progress",
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == EXIT_CODES["diverged"], p.stderr
    assert "diverged (exit 3)" in p.stderr.strip().splitlines()[-1]


def test_dmft_blowup_exits_4(tmp_path):
    f = tmp_path / "blow.nc"
    r = run(
        "dmft", "--eta", 2, "--steps", 30, "--samples", 2000, "--batches", 2, "--no-progress", "--json", "--output", f
    )
    d = check_nonzero(r, "blowup")
    assert d["blowup_step"] is not None and f.stat().st_size > 0


def test_fixed_point_not_converged_exits_5(tmp_path):
    # a tolerance far below double precision cannot be met: max |residual| >= ~1e-17 for O(1) unknowns
    f = tmp_path / "fp.nc"
    r = run("fixed-point", "--tol", 1e-30, "--n-mc", 0, "--json", "--output", f)
    d = check_nonzero(r, "not-converged")
    assert d["residual"] > 1e-30 and f.stat().st_size > 0


def test_below_threshold_exits_6(tmp_path):
    # default preprocessing T = 1 - 1/y for noiseless phase retrieval has alpha_c = 1/2 (docs/theory.md §1)
    f = tmp_path / "bt.nc"
    r = run("dmft", "--alpha", 0.3, "--samples", 1000, "--batches", 2, "--no-progress", "--json", "--output", f)
    check_nonzero(r, "below-threshold")
    assert f.stat().st_size > 0
    r = run("spectral", "--alpha", 0.3, "--json")
    check_nonzero(r, "below-threshold")
    r = run("spectral", "--alpha", 0.3)  # text mode: same code
    assert r.exit_code == EXIT_CODES["below-threshold"]
    # over a range, values below the threshold are data
    png = tmp_path / "rho.png"
    r = run("spectral", "--alpha", "0.25:1:4", "--json", "--plot", png)
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["status"][:2] == ["below-threshold", "below-threshold"] and d["exit_code"] == 0
    assert png.stat().st_size > 0


def test_not_applicable_exits_7(tmp_path):
    # identity preprocessing: sup T = inf, outside the spectral theory (sup T < inf)
    f = tmp_path / "sp.nc"
    r = run("spectral", "--preprocess", "identity", "--json", "--save", f)
    check_nonzero(r, "not-applicable")
    assert f.stat().st_size > 0
    # a list where one value is not applicable: that value decides
    r = run("spectral", "--preprocess", "identity", "--alpha", "1,2", "--json")
    check_nonzero(r, "not-applicable")
    # amplitude loss with pathwise responses forced: l' jumps at r = 0, outside the pathwise DMFT
    r = run(
        "dmft",
        "--loss",
        "amplitude",
        "--responses",
        "pathwise",
        "--samples",
        1000,
        "--batches",
        2,
        "--no-progress",
        "--json",
    )
    check_nonzero(r, "not-applicable")


def test_fixed_point_without_solution_exits_9(tmp_path):
    # noiseless linear model, square loss, lam = 0, alpha = 1/2 < 1: no exact-recovery solution exists (a fact about
    # the problem, status "uninformative", not a failure of the solver)
    f = tmp_path / "fp.nc"
    r = run(
        "fixed-point",
        "--model",
        "linear",
        "--loss",
        "square",
        "--alpha",
        0.5,
        "--lam",
        0,
        "--preprocess",
        "clip:3",
        "--n-mc",
        0,
        "--json",
        "--output",
        f,
    )
    check_nonzero(r, "uninformative")
    assert f.stat().st_size > 0


def test_sweep_failed_point_exits_8_and_below_threshold_is_data(tmp_path):
    store = tmp_path / "sw"
    r = run("sweep", "--grid", "alpha=0.3,2", "--workers", 0, "--store", store, "--no-progress", "--json")
    assert r.exit_code == 0, r.stderr  # alpha = 0.3 is below threshold: data
    d = json.loads(r.stdout)
    assert d["status"] == "success" and d["failed_points"] == []
    # an output that raises: math.sqrt(problem, settings, seed) is a TypeError at every point
    store2 = tmp_path / "sw2"
    r = run(
        "sweep",
        "--grid",
        "alpha=0.3,2",
        "--outputs",
        "spectral,math:sqrt",
        "--workers",
        0,
        "--store",
        store2,
        "--no-progress",
        "--json",
    )
    d = check_nonzero(r, "failed")
    assert d["status"] == "failed" and len(d["failed_points"]) == 2
    assert {p["output"] for p in d["failed_points"]} == {"sqrt"}
    assert len(list((store2 / "points").glob("*.nc"))) == 2
    # resuming computes nothing new but the store still holds the failures
    r = run(
        "sweep",
        "--grid",
        "alpha=0.3,2",
        "--outputs",
        "spectral,math:sqrt",
        "--workers",
        0,
        "--store",
        store2,
        "--no-progress",
    )
    assert r.exit_code == EXIT_CODES["failed"]


def test_sweep_returned_status_is_data_and_exits_0(tmp_path):
    """A status an output *returns* is data: the fixed point's ``failed`` (no informative solution at
    alpha = 1, lam = 0: the exact-recovery branch needs alpha > 1) is stored per point with
    ``<output>_raised = 0``, the sweep exits 0 and --retry-failed does not recompute it.  Only an
    exception exits 8 (test above)."""
    from sidmft.sweep import open_sweep

    store = tmp_path / "fp"
    args = ("sweep", "--grid", "alpha=1,2", "--grid", "lam=0", "--outputs", "fixed-point", "--workers", 0)
    r = run(*args, "--store", store, "--no-progress", "--json")
    assert r.exit_code == 0, (r.stdout, r.stderr)
    d = json.loads(r.stdout)
    assert d["status"] == "success" and d["exit_code"] == 0 and d["failed_points"] == []
    assert d["returned_statuses"] == {"fixed_point": {"uninformative": 1}}
    ds = open_sweep(store)
    assert ds["fixed_point_status"].values.ravel().tolist() == [int(Status.UNINFORMATIVE), int(Status.SUCCESS)]
    assert ds["fixed_point_raised"].values.ravel().tolist() == [0, 0]
    r = run(*args, "--store", store, "--no-progress", "--retry-failed", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["computed"] == 0, r.stdout


# ----------------------------------------------------------------------------- compare
CMP = ("compare", "--dim", 100, "--seeds", 2, "--samples", 1000, "--batches", 2, "--steps", 10, "--no-progress")


def test_compare_success_and_blowup(tmp_path):
    r = run(*CMP, "--no-fixed-point", "--output-dir", tmp_path / "ok", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["exit_code"] == 0
    out = tmp_path / "bl"
    r = run(*CMP, "--eta", 2, "--no-fixed-point", "--output-dir", out, "--json")
    d = check_nonzero(r, "blowup")  # DMFT comes before the (diverged) simulation
    assert d["parts"]["dmft"]["status"] == "blowup" and d["parts"]["simulation"]["status"] == "diverged"
    for name in ("compare.png", "compare.nc", "table.txt"):
        assert (out / name).stat().st_size > 0


def test_compare_fixed_point_does_not_decide(tmp_path, monkeypatch):
    import sidmft.theory.fixed_point as fpm

    real = fpm.fixed_point

    def not_converged(*a, **k):
        res = real(*a, **k)
        res.status, res.message = Status.NOT_CONVERGED, "forced by the test"
        return res

    monkeypatch.setattr(fpm, "fixed_point", not_converged)
    r = run(*CMP, "--output-dir", tmp_path / "fp", "--json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["parts"]["fixed_point"]["status"] == "not-converged"
    assert "warning: fixed point not-converged" in r.stderr


# ----------------------------------------------------------------------------- 1
def test_uncaught_exception_exits_1(monkeypatch):
    import sidmft.theory.spectral as spm

    def boom(*a, **k):
        raise RuntimeError("a bug")

    monkeypatch.setattr(spm, "spectral", boom)
    r = run("spectral", "--alpha", 2)
    assert r.exit_code == EXIT_CODES["internal-error"] and isinstance(r.exception, RuntimeError)
