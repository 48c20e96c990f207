"""Simulator settings objects, GD backends and the Result family of the simulator's parts (issue 10)."""

import sys

import numpy as np
import pytest

from sidmft import Problem
from sidmft.results import Result
from sidmft.simulator import (
    GDSettings,
    SpectralInfo,
    SpectralInitSettings,
    Trajectory,
    generate_data,
    run_gd,
    run_gd_batch,
    simulate,
    spectral_init,
)

P = Problem(alpha=3.0, lam=0.1, eta=0.1, steps=8)
D = 211


def test_settings_objects_validate_once_and_name_the_parameter():
    for kw, word in [
        (dict(t_floor=0.0), "t_floor"),
        (dict(tol=1.0), "tol"),
        (dict(maxiter=0), "maxiter"),
        (dict(method="qr"), "method"),
        (dict(ncv=2), "ncv"),
        (dict(warm_floor=-1.0), "warm_floor"),
        (dict(dense_fallback=-1), "dense_fallback"),
        (dict(second="yes"), "second"),
    ]:
        with pytest.raises(ValueError, match=word):
            SpectralInitSettings(**kw)
    with pytest.raises(ValueError, match="unknown spectral option"):
        SpectralInitSettings.coerce({"max_iter": 5})
    with pytest.raises(TypeError, match="SpectralInitSettings"):
        simulate(P, 50, spectral={"t_floor": 30.0})
    s = SpectralInitSettings(t_floor=None, tol=1e-6)
    with pytest.raises(AttributeError):
        s.tol = 0.1  # frozen
    assert SpectralInitSettings.coerce({"t_floor": None, "tol": 1e-6}) == s
    assert GDSettings(backend="numpy").kernel == "numpy" and GDSettings().kernel == "auto"


def test_spectral_settings_object_equals_options_dict():
    """spectral=SpectralInitSettings(...) is the same run as spectral_init's keyword overrides."""
    a = simulate(P, D, seeds=2, spectral=SpectralInitSettings(t_floor=30.0, method="lanczos"))
    b = simulate(P, D, seeds=2, spectral=SpectralInitSettings.coerce(None, t_floor=30.0, method="lanczos"))
    c = simulate(P, D, seeds=2)
    for k in ("m", "q", "train_loss"):
        np.testing.assert_array_equal(a.per_seed[k], b.per_seed[k])
    np.testing.assert_array_equal(a.spectral_overlap, b.spectral_overlap)
    assert a.info["t_floor"] == 30.0 and c.info["t_floor"] == 100.0
    data = generate_data(P, D, seed=0)
    v1, i1 = spectral_init(data, P, SpectralInitSettings(method="dense"))
    v2, i2 = spectral_init(data, P, method="dense")
    np.testing.assert_array_equal(v1, v2)
    assert i1.top_eigenvalue == i2.top_eigenvalue


def test_numpy_backend_is_the_numpy_method():
    a = simulate(P, D, seeds=1, backend="numpy")
    b = simulate(P, D, seeds=1, method="numpy")
    assert a.info["gd_method"] == "numpy"
    np.testing.assert_array_equal(a.per_seed["m"], b.per_seed["m"])


def test_jax_backend_missing_jax_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)  # "import jax" now raises ImportError
    with pytest.raises(ImportError, match=r"sidmft\[jax\]"):
        simulate(P, 50, backend="jax")


def test_spectral_info_and_trajectory_are_results():
    data = generate_data(P, D, seed=4)
    v, info = spectral_init(data, P)
    assert isinstance(info, SpectralInfo) and isinstance(info, Result) and info.success
    assert info.problem == P and info.seed == 4 and info.timing["total"] == info.seconds
    d = info.to_dict()
    assert d["status"] == 0 and d["overlap"] == info.overlap and d["problem"] == P.to_dict()
    ds = info.to_xarray()
    assert float(ds["top_eigenvalue"]) == info.top_eigenvalue and ds.attrs["kind"] == "SpectralInfo"
    tr = run_gd(data, v, P)
    assert isinstance(tr, Trajectory) and isinstance(tr, Result) and tr.success and tr.problem == P
    ds = tr.to_xarray()
    np.testing.assert_array_equal(ds["m"].values, tr.obs["m"])
    assert ds["m"].dims == ("t",) and tr.to_dict()["obs"]["q"] == tr.obs["q"].tolist()
    tb = run_gd_batch(data, v, P, [0.0, 0.1], [0.1, 0.1])
    ds = tb.to_xarray()
    assert ds["q"].dims == ("trajectory", "t") and ds["status_code"].values.tolist() == [0, 0]
