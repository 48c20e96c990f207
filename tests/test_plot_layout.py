"""The pure layout step of sweep figures (sidmft.plot.layout): what is drawn where, without drawing.

Small synthetic sweep datasets are built here, so every expected value below is the data put in
(or a closed form: cell edges are midpoints, geometric midpoints on a log axis).
"""

import json
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from sidmft.plot import PlotError, sweep_layout
from sidmft.plot.layout import cell_edges, is_geometric
from sidmft.results import Status

ALPHA = np.array([0.5, 1.0, 2.0, 4.0])  # geometric
LAM = np.array([0.0, 0.1, 0.3])  # neither geometric nor arithmetic
PRE = np.array(["lal", "clip:3"])


def _sweep(alpha_c=None, t=False):
    """A sweep-shaped dataset over (alpha, lam, preprocess): value = alpha + 10 lam + 100 [clip:3]."""
    a, lam, p = np.meshgrid(ALPHA, LAM, np.arange(2), indexing="ij")
    val = a + 10 * lam + 100 * p
    coords = {"alpha": ALPHA, "lam": LAM, "preprocess": PRE}
    dims = ("alpha", "lam", "preprocess")
    ds = xr.Dataset(
        {
            "dmft_error": (dims, val, {"long_name": "final error (DMFT)"}),
            "dmft_error_se": (dims, 0.01 * val),
            "dmft_status": (dims, np.zeros(val.shape, dtype=int)),
        },
        coords=coords,
        attrs={"fixed": json.dumps({"model": "phase-retrieval", "steps": 4})},
    )
    if t:
        traj = np.repeat(val[..., None], 5, axis=-1) * np.arange(1, 6)  # value * (t + 1)
        traj[0, 0, 0, 3:] = np.nan  # a trajectory that stopped after t = 2
        ds["dmft_error_t"] = (dims + ("t",), traj)
        ds = ds.assign_coords(t=np.arange(5))
    if alpha_c is not None:
        ds["alpha_c"] = ("preprocess", np.asarray(alpha_c, dtype=float))
    return ds


def test_heatmap_panels_axes_and_colour_limits():
    ds = _sweep()
    lay = sweep_layout(ds, "dmft_error", "alpha", "lam")
    assert lay.kind == "heatmap" and (lay.x.name, lay.y.name, lay.col) == ("alpha", "lam", "preprocess")
    assert lay.ncols == 2 and [p.title for p in lay.panels] == ["preprocess = lal", "preprocess = clip:3"]
    expected = ds["dmft_error"].isel(preprocess=1).transpose("lam", "alpha").values
    np.testing.assert_array_equal(lay.panels[1].z, expected)
    vals = ds["dmft_error"].values
    assert (lay.vmin, lay.vmax) == (vals.min(), vals.max())  # one colour scale over all panels
    assert "alpha" in lay.x.label and "lambda" in lay.ylabel and lay.clabel == "final error (DMFT)"
    assert lay.x.log and not lay.y.log  # alpha is a geometric grid
    assert lay.x.edges.shape == (5,) and lay.y.edges.shape == (4,)
    lay = sweep_layout(ds, "dmft_error", "alpha", "lam", vmin=-1, vmax=2, logx=False, select={"preprocess": "lal"})
    assert (lay.vmin, lay.vmax) == (-1, 2) and not lay.x.log and lay.ncols == 1 and lay.col is None
    assert "phase-retrieval" in lay.title and "steps = 4" in lay.title and "preprocess = lal" in lay.title


def test_cell_edges_and_geometric_grids():
    np.testing.assert_allclose(cell_edges([0.0, 1.0, 3.0], log=False), [-0.5, 0.5, 2.0, 4.0])
    s = np.sqrt(2.0)  # geometric midpoints of 1, 2, 4 and the mirrored outer edges
    np.testing.assert_allclose(cell_edges([1.0, 2.0, 4.0], log=True), [1 / s, s, 2 * s, 4 * s])
    assert is_geometric(ALPHA) and not is_geometric(LAM) and not is_geometric([1.0, 2.0, 3.0])
    assert not is_geometric([1.0, 2.0])  # too short to tell


def test_line_plot_lines_errors_and_default_roles():
    ds = _sweep()
    lay = sweep_layout(ds, "dmft_error", "alpha", select={"preprocess": "clip:3"})
    assert lay.kind == "line" and lay.hue == "lam" and lay.col is None and lay.y is None
    (panel,) = lay.panels
    assert [ln.label for ln in panel.lines] == [r"$\lambda = 0$", r"$\lambda = 0.1$", r"$\lambda = 0.3$"]
    line = panel.lines[2]
    want = ds["dmft_error"].sel(preprocess="clip:3").isel(lam=2).values
    np.testing.assert_array_equal(line.y, want)
    np.testing.assert_allclose(line.err, 2 * 0.01 * want)  # error bars are 2 standard errors
    assert lay.has_se and "2$ s.e." in lay.ylabel and lay.legend_title.startswith("ridge penalty")
    assert not lay.dense  # four points: markers with error bars
    assert all(ln.status is None for ln in panel.lines) and panel.status_label is None


def test_trajectories_reduce_to_their_last_finite_value():
    ds = _sweep(t=True)
    lay = sweep_layout(ds, "dmft_error_t", "alpha", "lam", select={"preprocess": "lal"})
    final = ds["dmft_error"].sel(preprocess="lal").transpose("lam", "alpha").values * 5
    final[0, 0] = ds["dmft_error"].values[0, 0, 0] * 3  # stopped at t = 2
    np.testing.assert_allclose(lay.panels[0].z, final)
    lay = sweep_layout(ds, "dmft_error_t", "t", hue="alpha", select={"preprocess": "lal", "lam": 0.1})
    assert lay.dense and lay.x.name == "t" and lay.x.integer and len(lay.panels[0].lines) == 4


def test_threshold_is_read_from_the_sweep_per_panel():
    ds = _sweep(alpha_c=[0.5, 0.8009])
    lay = sweep_layout(ds, "dmft_error", "alpha", "lam")  # panels over preprocess
    for panel, ac in zip(lay.panels, (0.5, 0.8009)):
        np.testing.assert_array_equal(panel.threshold, np.full(len(LAM), ac))  # one value per lam cell
    lay = sweep_layout(ds, "dmft_error", "lam", "alpha", select={"preprocess": "clip:3"})  # alpha on y
    np.testing.assert_array_equal(lay.panels[0].threshold, np.full(len(LAM), 0.8009))
    lay = sweep_layout(ds, "dmft_error", "alpha", hue="preprocess", select={"lam": 0.1})
    (panel,) = lay.panels
    assert panel.threshold is None and panel.threshold_per_line  # the lines differ: one dashed line each
    assert [ln.threshold for ln in panel.lines] == [0.5, 0.8009]
    lay = sweep_layout(_sweep(alpha_c=[0.5, 0.5]), "dmft_error", "alpha", hue="preprocess", select={"lam": 0.1})
    (panel,) = lay.panels
    assert list(panel.threshold) == [0.5] and not panel.threshold_per_line
    assert all(np.isnan(ln.threshold) for ln in panel.lines)
    lay = sweep_layout(ds, "dmft_error", "alpha", "lam", threshold=False)
    assert all(p.threshold is None for p in lay.panels)
    lay = sweep_layout(ds, "dmft_error", "lam", hue="alpha", select={"preprocess": "lal"})  # alpha not on x
    assert lay.panels[0].threshold is None and all(np.isnan(ln.threshold) for ln in lay.panels[0].lines)


def test_no_stored_threshold_draws_none_and_runs_no_theory(monkeypatch):
    import sidmft.theory.spectral as sp

    def refuse(*args, **kwargs):
        raise AssertionError("plotting must not run the theory")

    monkeypatch.setattr(sp, "spectral_threshold", refuse)
    monkeypatch.setattr(sp, "spectral", refuse)
    for ds in (_sweep(), _sweep(alpha_c=[np.nan, np.nan])):
        lay = sweep_layout(ds, "dmft_error", "alpha", "lam")
        assert all(p.threshold is None for p in lay.panels)
        lay = sweep_layout(ds, "dmft_error", "alpha", hue="preprocess", select={"lam": 0})
        assert lay.panels[0].threshold is None and not lay.panels[0].threshold_per_line


def test_status_codes_mark_points():
    ds = _sweep()
    codes = ds["dmft_status"].values.copy()
    codes[1, 2, 0] = int(Status.DIVERGED)
    codes[3, 0, 0] = int(Status.FAILED)
    ds["dmft_status"] = (ds["dmft_status"].dims, codes)
    lay = sweep_layout(ds, "dmft_error", "alpha", "lam", select={"preprocess": "lal"})
    panel = lay.panels[0]
    np.testing.assert_array_equal(np.argwhere(panel.status > 0), [[0, 3], [2, 1]])  # (lam, alpha) indices
    assert panel.status_label == "status: diverged, failed"
    lay = sweep_layout(ds, "dmft_error", "alpha", hue="lam", select={"preprocess": "lal"})
    lines = lay.panels[0].lines
    assert lines[1].status is None
    np.testing.assert_array_equal(lines[2].status, [0, 1, 0, 0])
    assert lay.panels[0].status_label == "status: diverged, failed"


def test_bad_requests_raise_plot_error():
    ds = _sweep()
    with pytest.raises(PlotError, match="no variable 'nope'"):
        sweep_layout(ds, "nope")
    with pytest.raises(PlotError, match="'dim' is not a dimension"):
        sweep_layout(ds, "dmft_error", "dim")
    with pytest.raises(PlotError, match="no such grid value"):
        sweep_layout(ds, "dmft_error", "alpha", select={"lam": 0.7})
    with pytest.raises(PlotError, match="malformed --select"):
        sweep_layout(ds, "dmft_error", "alpha", select=["lam"])
    with pytest.raises(PlotError, match="kind must be"):
        sweep_layout(ds, "dmft_error", "alpha", kind="bars")
    with pytest.raises(PlotError, match="needs two grid parameters"):
        sweep_layout(ds, "dmft_error", "alpha", kind="heatmap", select={"lam": 0, "preprocess": "lal"})
    with pytest.raises(PlotError, match="fix alpha with --select"):
        sweep_layout(ds.expand_dims(eta=[0.1, 0.2]), "dmft_error", "lam", "preprocess", col="eta")
    with pytest.raises(PlotError, match="panels"):
        sweep_layout(ds, "dmft_error", "alpha", "lam", max_panels=1)


def test_layout_needs_no_matplotlib():
    code = "import sys, sidmft.plot, sidmft.plot.layout; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
