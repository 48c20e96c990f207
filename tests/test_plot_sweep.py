"""Phase diagrams from a sweep store (heat maps, line plots, the spectral threshold overlay)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from sidmft.cli import main  # noqa: E402
from sidmft.plot import PlotError, plot_sweep  # noqa: E402
from sidmft.sweep import SweepSpec, open_sweep, run_sweep  # noqa: E402

HELPER = "test_sweep_helpers:mc"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("plot") / "store"
    spec = SweepSpec(
        grid={"alpha": "0.3:3:5", "lam": [0.0, 0.1, 0.3], "preprocess": ["lal", "clip:3"]},
        fixed={"steps": 4},
        outputs=["spectral", HELPER],
        seed=1,
    )
    run_sweep(spec, path, workers=0, progress=False)
    return path


def _png(path):
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 300 and img.shape[1] > 400
    assert img[..., :3].std() > 0.05  # not blank
    return img


def test_cli_heatmap_png_with_threshold(store, tmp_path):
    out = tmp_path / "heat.png"
    r = CliRunner().invoke(
        main,
        [
            "plot",
            str(store),
            "--var",
            "spectral_rho_sq",
            "--x",
            "alpha",
            "--y",
            "lam",
            "--select",
            "preprocess=clip:3",
            "--output",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    _png(out)


def test_heatmap_axes_colourbar_and_threshold_curve(store):
    ds = open_sweep(store)
    fig = plot_sweep(ds, "spectral_rho_sq", "alpha", "lam", select={"preprocess": "lal"})
    ax = fig.axes[0]
    assert "alpha" in ax.get_xlabel() and "lambda" in ax.get_ylabel()
    assert any("rho" in a.get_ylabel() for a in fig.axes[1:])  # colour bar labelled
    curves = [ln for ln in ax.get_lines() if "spectral threshold" in str(ln.get_label())]
    assert curves
    # the dashed threshold sits at alpha_c = 1/2 for T = 1 - 1/y (docs/theory.md §1.4)
    np.testing.assert_allclose(np.unique(curves[0].get_xdata()), [0.5], atol=1e-6)
    plt.close(fig)


def test_line_plot_one_line_per_value_and_panels(store, tmp_path):
    fig = plot_sweep(
        store, "spectral_rho_sq", "alpha", hue="preprocess", select={"lam": 0.1}, output=tmp_path / "line.png"
    )
    lines = [ln for ln in fig.axes[0].get_lines() if str(ln.get_label()).startswith("preprocess")]
    assert len(lines) == 2
    thr = sorted(
        ln.get_xdata()[0] for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "--" and len(ln.get_xdata())
    )
    np.testing.assert_allclose(thr[0], 0.5, atol=1e-6)  # lal
    np.testing.assert_allclose(thr[1], 0.8009, atol=2e-3)  # clip:3 (docs/theory.md §1.4)
    _png(tmp_path / "line.png")
    plt.close(fig)
    fig = plot_sweep(store, "spectral_rho", "alpha", "lam", output=tmp_path / "facets.png")  # preprocess -> panels
    assert len([a for a in fig.axes if a.get_xlabel()]) == 2
    plt.close(fig)
    fig = plot_sweep(
        store, "mc_walk", "t", hue="alpha", select={"lam": 0, "preprocess": "lal"}, output=tmp_path / "traj.png"
    )  # a trajectory against t
    assert len(fig.axes[0].get_lines()) >= 5
    plt.close(fig)


def test_plot_errors(store):
    ds = open_sweep(store)
    with pytest.raises(PlotError, match="no variable"):
        plot_sweep(ds, "nope")
    with pytest.raises(PlotError, match="--select"):
        plot_sweep(ds, "spectral_rho", "alpha", hue="lam", col="preprocess", kind="line", select={}, max_panels=1)
    with pytest.raises(PlotError, match="no such grid value"):
        plot_sweep(ds, "spectral_rho", "alpha", select={"lam": 0.7})
    r = CliRunner().invoke(main, ["plot", str(store), "--var", "nope"])
    assert r.exit_code == 2 and "spectral_rho" in r.output
    r = CliRunner().invoke(main, ["plot", str(store), "--list"])
    assert r.exit_code == 0 and "spectral_alpha_c" in r.output


def test_plot_sweep_draws_into_given_axes(store, tmp_path):
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(14, 4))
    out = plot_sweep(store, "spectral_rho_sq", "alpha", "lam", select={"preprocess": "lal"}, ax=a)
    assert out is fig
    assert a.collections and "alpha" in a.get_xlabel()  # the heat map is in a
    assert not b.lines and not b.collections and not c.lines
    plot_sweep(
        store, "spectral_rho_sq", "alpha", hue="preprocess", select={"lam": 0.1}, ax=b, output=tmp_path / "composed.png"
    )
    assert len([ln for ln in b.get_lines() if str(ln.get_label()).startswith("preprocess")]) == 2
    assert not c.lines and not c.collections
    assert (tmp_path / "composed.png").stat().st_size > 10_000
    with pytest.raises(PlotError, match="ax"):  # 2 panels (preprocess) need 2 axes
        plot_sweep(store, "spectral_rho", "alpha", "lam", ax=c)
    fig2, axes2 = plt.subplots(1, 2)
    plot_sweep(store, "spectral_rho", "alpha", "lam", ax=axes2)
    assert all(ax.collections for ax in axes2)
    plt.close("all")


def test_threshold_comes_from_the_stored_alpha_c(store):
    ds = open_sweep(store).drop_vars(["alpha_c", "spectral_alpha_c"], errors="ignore")
    fig = plot_sweep(ds, "spectral_rho_sq", "alpha", "lam", select={"preprocess": "lal"})  # nothing stored
    assert not [ln for ln in fig.axes[0].get_lines() if "spectral threshold" in str(ln.get_label())]
    plt.close(fig)
    stored = ds.assign(alpha_c=("preprocess", [1.7, 2.2]))  # values put in, read back from the figure
    fig = plot_sweep(stored, "spectral_rho_sq", "alpha", "lam", select={"preprocess": "clip:3"})
    curves = [ln for ln in fig.axes[0].get_lines() if "spectral threshold" in str(ln.get_label())]
    np.testing.assert_allclose(np.unique(curves[0].get_xdata()), [2.2])
    plt.close(fig)
    fig = plot_sweep(stored, "spectral_rho_sq", "alpha", hue="preprocess", select={"lam": 0.1})
    dashed = sorted(
        ln.get_xdata()[0] for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "--" and len(ln.get_xdata())
    )
    np.testing.assert_allclose(dashed, [1.7, 2.2])
    plt.close(fig)


def test_titles_of_new_and_composed_figures(store):
    fig = plot_sweep(store, "spectral_rho", "alpha", "lam")  # two panels (preprocess): a figure title
    assert "model" in fig.get_suptitle() and [a.get_title() for a in fig.axes[:2]] == [
        "preprocess = lal",
        "preprocess = clip:3",
    ]
    plt.close(fig)
    fig, a = plt.subplots()
    plot_sweep(store, "spectral_rho", "alpha", "lam", select={"preprocess": "lal"}, ax=a)  # composed: axes title
    assert not fig.get_suptitle() and "preprocess = lal" in a.get_title()
    plt.close(fig)
