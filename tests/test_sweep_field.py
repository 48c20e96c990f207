"""Sweeps over the number field and over a registered method's own parameter (issue 18, issue 17).

References: the spectral theory of each point computed directly (sidmft.spectral), and the closed form
alpha_c = 1 of the complex noiseless phase retrieval with T = 1 - 1/y (alpha_c = 1/2 for real signals)."""

from __future__ import annotations

import numpy as np
import pytest

from sidmft import Problem, spectral
from sidmft.sweep import SweepError, SweepSpec, open_sweep, run_sweep


def test_sweep_over_field(tmp_path):
    spec = SweepSpec(grid={"field": ["real", "complex"], "alpha": [2.0, 4.0]}, outputs=("spectral",))
    run_sweep(spec, tmp_path / "f", workers=0, progress=False)
    ds = open_sweep(tmp_path / "f")
    assert list(ds["field"].values) == ["real", "complex"]
    for field in ("real", "complex"):
        sel = ds.sel(field=field)
        assert float(sel["spectral_alpha_c"].values[0]) == pytest.approx(0.5 if field == "real" else 1.0, abs=1e-6)
        for a in (2.0, 4.0):
            ref = spectral(Problem(field=field, alpha=a))
            assert float(sel.sel(alpha=a)["spectral_rho"].values) == pytest.approx(ref.rho, abs=1e-12)


def test_grid_over_a_registered_method_parameter():
    import sidmft
    from sidmft.algorithms import ALGORITHMS
    from sidmft.parameters import PARAMETERS

    sidmft.register_parameter("delta_sweep_test", lo=0.0, hi=1.0, hi_open=True, help="look-ahead")
    sidmft.register_algorithm(
        "lookahead-sweep-test",
        read=(sidmft.Linear(1.0, delta_sweep_test=1.0), sidmft.Linear(0.0, delta_sweep_test=-1.0)),
        parameters=("delta_sweep_test",),
    )
    try:
        spec = SweepSpec(
            grid={"delta_sweep_test": [0.0, 0.2]}, fixed={"algorithm": "lookahead-sweep-test"}, outputs=("spectral",)
        )
        assert [spec.problem((i,)).method_values["delta_sweep_test"] for i in range(2)] == [0.0, 0.2]
        with pytest.raises(SweepError, match="unknown grid parameter"):
            SweepSpec(grid={"no_such_parameter": [1.0]}, outputs=("spectral",))
    finally:
        ALGORITHMS.pop("lookahead-sweep-test", None)
        PARAMETERS.pop("delta_sweep_test", None)
    assert np.isfinite(spectral(Problem()).rho)
