"""Notebook friendliness: every Result renders an HTML summary; plots draw into given axes."""

import html
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import sidmft
from sidmft import Problem, Result, Status
from sidmft.plot import plot_comparison

P = Problem(steps=5)


@pytest.fixture(scope="module")
def comparison():
    # small sizes: only the rendering is under test here, not the agreement (see test_compare.py)
    return sidmft.compare(P, dim=120, seeds=2, samples=2000, batches=2, fixed_point=False)


def _cells(text):
    return [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", text)]


def test_trajectory_results_show_values_with_standard_errors(comparison):
    for res in (comparison.dmft, comparison.simulation):
        out = res._repr_html_()
        assert type(res).__name__ in out and "success" in out and html.escape(res.message) in out
        cells = _cells(out)
        cols, rows = res.trajectory_rows()
        assert cols == ["t", "m", "q", "error", "train_loss"]
        assert [r[0] for r in rows] == [str(t) for t in range(6)]  # steps 0..5: all shown
        # every row of the table is in the HTML, and each value is the result's own number +- its se
        m, m_se = res.mean("m"), res.se("m")
        for t, row in enumerate(rows):
            assert all(c in cells for c in row)
            val, se = row[1].split(" ± ")
            assert float(val) == pytest.approx(m[t], rel=1e-5)
            assert float(se) == pytest.approx(m_se[t], rel=0.05, abs=1e-12)


def test_long_trajectory_is_thinned_to_a_few_rows():
    th = sidmft.dmft(P.replace(steps=40), samples=1000, batches=2)
    cols, rows = th.trajectory_rows(n_rows=6)
    ts = [int(r[0]) for r in rows]
    assert ts[:2] == [0, 1] and ts[-1] == 40 and len(ts) <= 7 and ts == sorted(set(ts))


def test_scalar_results_and_failure_status():
    sp = sidmft.spectral(P)
    out = sp._repr_html_()
    names = dict(sp.summary_rows())
    assert float(names["alpha_c"]) == pytest.approx(sp.alpha_c, rel=1e-5)
    assert float(names["rho"]) == pytest.approx(sp.rho, rel=1e-5)
    assert "<th>alpha_c</th>" in out and sp.trajectory_rows() is None
    below = sidmft.spectral(P.replace(alpha=0.3))
    assert below.status == Status.BELOW_THRESHOLD
    out = below._repr_html_()
    assert "below-threshold" in out and "#b42318" in out  # red, not the success green
    fp = sidmft.fixed_point(P, n_mc=0)
    assert float(dict(fp.summary_rows())["m"]) == pytest.approx(fp.m, rel=1e-5)


def test_composite_result_lists_parts_and_table(comparison):
    out = comparison._repr_html_()
    cells = _cells(out)
    for part in ("SpectralTheoryResult: success", "DMFTResult: success", "SimulationResult: success"):
        assert part in cells
    assert [r["name"] for r in comparison.table] == [c for c in cells if c in {r["name"] for r in comparison.table}]


def test_base_result_and_escaping():
    r = Result(P, status=Status.FAILED, message="<script>x</script>")
    out = r._repr_html_()
    assert "<script>" not in out and "&lt;script&gt;" in out and "failed" in out
    assert r.trajectory_rows() is None and r.summary_rows() == []


def test_plot_comparison_draws_into_given_axes(comparison, tmp_path):
    fig, axes = plt.subplots(1, 5, figsize=(16, 3))
    out = plot_comparison(comparison, ax=axes[1:], path=tmp_path / "row.png")
    assert out is fig and (tmp_path / "row.png").stat().st_size > 10_000
    assert not axes[0].lines and not axes[0].collections  # untouched
    for a in axes[1:]:
        assert a.lines and a.collections  # DMFT line + band, GD points
    np.testing.assert_allclose(axes[1].lines[0].get_ydata(), comparison.dmft.mean("m")[:6])
    assert plt.fignum_exists(fig.number)  # the caller's figure stays open
    with pytest.raises(ValueError, match="ax"):
        plot_comparison(comparison, ax=axes[:2])
    plt.close("all")
