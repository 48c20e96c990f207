"""CLI `sidmft spectral`."""
import json

import pytest
from click.testing import CliRunner

from sidmft.cli import main


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
    d = json.loads(run("--alpha", "0.25:1:4", "--json").output)
    assert d["alpha"] == [0.25, 0.5, 0.75, 1.0]
    assert d["status"][:2] == ["below-threshold", "below-threshold"] and d["status"][3] == "success"


def test_failures_and_bad_input():
    d = json.loads(run("--preprocess", "identity", "--json").output)
    assert d["status"] == "not-applicable" and d["alpha_c"] is None
    r = run("--alpha", "1:2")
    assert r.exit_code != 0 and "START:STOP:NUM" in r.output
    r = run("--alpha", "-1")
    assert r.exit_code != 0 and "alpha" in r.output


def test_plot(tmp_path):
    f = tmp_path / "rho.png"
    r = run("--alpha", "0.5:4:8", "--plot", str(f))
    assert r.exit_code == 0, r.output
    assert f.stat().st_size > 1000


def test_plot_with_simulation(tmp_path):
    pytest.importorskip("sidmft.simulate", reason="simulator not available")
    try:
        from sidmft.simulate import generate_data, spectral_init  # noqa: F401
    except ImportError:
        pytest.skip("sidmft.simulate.generate_data/spectral_init not available yet")
    f = tmp_path / "rho_sim.png"
    r = run("--alpha", "2,4", "--preprocess", "clip:3", "--plot", str(f), "--simulate", "200", "--seeds", "2")
    assert r.exit_code == 0, r.output
    assert f.stat().st_size > 1000
