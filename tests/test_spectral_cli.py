"""CLI `sidmft spectral`."""

import json

from click.testing import CliRunner

from sidmft.cli import EXIT_CODES, main


def run(*args):
    r = CliRunner().invoke(main, ["spectral", *args])
    return r


def test_json_single():
    r = run("--alpha", "2", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    for k in ("alpha_c", "top_eigenvalue", "bulk_edge", "overlap", "overlap_sq", "status", "alpha", "message"):
        assert k in d
    assert abs(d["overlap_sq"] - 0.6389) < 1e-4 and abs(d["alpha_c"] - 0.5) < 1e-9 and d["status"] == "success"
    assert abs(d["overlap"] ** 2 - d["overlap_sq"]) < 1e-14


def test_json_list_and_range():
    d = json.loads(run("--alpha", "1,2,3", "--preprocess", "clip:3", "--json").output)
    assert [round(v, 4) for v in d["overlap_sq"]] == [0.0534, 0.2544, 0.3849]
    r = run("--alpha", "0.25:1:4", "--json")
    assert r.exit_code == 0, r.output  # below-threshold values of a range are data
    d = json.loads(r.stdout)
    assert d["alpha"] == [0.25, 0.5, 0.75, 1.0]
    assert d["status"][:2] == ["below-threshold", "below-threshold"] and d["status"][3] == "success"


def test_single_alpha_below_threshold_exits_6():
    r = run("--alpha", "0.25", "--json")
    assert r.exit_code == EXIT_CODES["below-threshold"] == 6
    d = json.loads(r.stdout)
    assert d["status"] == "below-threshold" and d["overlap_sq"] == 0.0
    assert "below-threshold (exit 6)" in r.stderr


def test_failures_and_bad_input():
    r = run("--preprocess", "identity", "--json")
    assert r.exit_code == EXIT_CODES["not-applicable"] == 7
    d = json.loads(r.stdout)
    assert d["status"] == "not-applicable" and d["alpha_c"] is None
    assert "not-applicable (exit 7)" in r.stderr and "sup T = inf" in r.stderr
    r = run("--alpha", "1:2")
    assert r.exit_code == 2 and "START:STOP:NUM" in r.output
    r = run("--alpha", "-1")
    assert r.exit_code == 2 and "alpha" in r.output


def test_plot(tmp_path):
    f = tmp_path / "rho.png"
    r = run("--alpha", "0.5:4:8", "--plot", str(f))
    assert r.exit_code == 0, r.output
    assert f.stat().st_size > 1000


def test_plot_with_simulation(tmp_path):
    f = tmp_path / "rho_sim.png"
    r = run("--alpha", "2,4", "--preprocess", "clip:3", "--plot", str(f), "--simulate", "200", "--seeds", "2")
    assert r.exit_code == 0, r.output
    assert f.stat().st_size > 1000
