"""Finite-size simulator: data, fused kernels, GD, batches, divergence, results, CLI."""

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

import sidmft
from sidmft import Problem, Status
from sidmft.losses import LOSSES, available_losses, register_loss
from sidmft.numerics import numba_threads
from sidmft.results import OBSERVABLES
from sidmft.simulator import SimulationResult, generate_data, run_gd, run_gd_batch, simulate, spectral_init
from sidmft.simulator._kernels import ROW_BLOCK, compile_scalar_grad, fused_apply, fused_apply_batch, numpy_apply

# n = 3 * 211 = 633: neither a multiple of the 8-row unroll nor of ROW_BLOCK
P = Problem(alpha=3.0, lam=0.1, eta=0.1, steps=8)
D = 211


# ------------------------------------------------------------------------------------------ data
def test_data_shapes_and_normalisation():
    data = generate_data(P, 400, seed=3)
    assert data.A.shape == (1200, 400) and data.A.flags.c_contiguous and data.A.dtype == np.float64
    assert np.linalg.norm(data.x_star) ** 2 == pytest.approx(400, rel=1e-12)
    # entries N(0, 1/d): mean of d * A^2 is 1 within a few standard errors (sd of chi2_1 = sqrt 2)
    v = float(np.mean(400 * data.A**2))
    assert abs(v - 1) < 5 * math.sqrt(2 / data.A.size)
    np.testing.assert_allclose(data.z, data.A @ data.x_star, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(data.y, data.z**2)


def test_data_independent_of_chunking_and_workers():
    ref = generate_data(P, D, seed=7, chunk_rows=None, workers=1)
    for chunk, workers in ((1, 1), (ROW_BLOCK, 3), (3 * ROW_BLOCK + 5, 2), (10**6, 4)):
        other = generate_data(P, D, seed=7, chunk_rows=chunk, workers=workers)
        np.testing.assert_array_equal(other.A, ref.A)
        np.testing.assert_array_equal(other.y, ref.y)
        np.testing.assert_array_equal(other.x_star, ref.x_star)
    assert not np.array_equal(generate_data(P, D, seed=8).A, ref.A)


def test_float32_is_rounded_float64():
    a64 = generate_data(P, D, seed=1)
    a32 = generate_data(P, D, seed=1, dtype="float32")
    assert a32.A.dtype == np.float32
    np.testing.assert_array_equal(a32.A, a64.A.astype(np.float32))
    np.testing.assert_array_equal(a32.x_star, a64.x_star)


@pytest.mark.parametrize(
    "kw, word",
    [
        (dict(dim=1), "dim"),
        (dict(dim=2.5), "dim"),
        (dict(dtype="float16"), "dtype"),
        (dict(seeds=0), "seeds"),
        (dict(seed=-1), "seed"),
        (dict(seeds=[1, 1]), "seeds"),
        (dict(lams=[-1.0]), "lams"),
        (dict(etas=[0.0]), "etas"),
        (dict(method="gpu"), "method"),
        (dict(backend="cuda"), "backend"),
        (dict(backend="numpy", method="fused"), "method"),
        (dict(bound=0.0), "bound"),
        (dict(threads=0), "threads"),
    ],
)
def test_bad_simulate_input_names_parameter(kw, word):
    args = dict(dim=50)
    args.update(kw)
    with pytest.raises(ValueError, match=word):
        simulate(P, **args)


# -------------------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("name", available_losses())
def test_fused_kernel_equals_numpy_path(name):
    loss = LOSSES[name]
    rng = np.random.default_rng(0)
    A = rng.standard_normal((1003, 97)) / math.sqrt(97)
    x = rng.standard_normal(97)
    y = np.sign(rng.standard_normal(1003)) if name == "logistic" else (A @ x) ** 2 + 0.1
    lp = compile_scalar_grad(loss)
    r1, o1 = fused_apply(A, y, x, lp)
    r2, o2 = numpy_apply(A, y, x, loss.grad)
    np.testing.assert_allclose(r1, r2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(o1, o2, rtol=1e-11, atol=1e-11 * np.abs(o2).max())
    # linear mode (spectral operator) and float32
    _, o1 = fused_apply(A, y, x)
    np.testing.assert_allclose(o1, A.T @ (y * (A @ x)), rtol=1e-11, atol=1e-11 * np.abs(o1).max())
    A32 = A.astype(np.float32)
    _, o32 = fused_apply(A32, y, x, lp)
    assert o32.dtype == np.float32
    np.testing.assert_allclose(o32, o2, rtol=0, atol=1e-4 * np.abs(o2).max())


@pytest.mark.parametrize("batch", [False, True])
def test_fused_kernels_independent_of_threads(batch):
    rng = np.random.default_rng(3 if batch else 1)
    A = rng.standard_normal(((9 if batch else 5) * ROW_BLOCK + (5 if batch else 3), 64))
    x, y = rng.standard_normal((64, 7) if batch else 64), rng.standard_normal(A.shape[0])
    lp = compile_scalar_grad(LOSSES["intensity"])
    apply = fused_apply_batch if batch else fused_apply
    with numba_threads(1):
        o1 = apply(A, y, x, lp)[1].copy()
    with numba_threads(2):
        o2 = apply(A, y, x, lp)[1].copy()
    np.testing.assert_array_equal(o1, o2)


@pytest.mark.parametrize("name", available_losses())
@pytest.mark.parametrize("B", [1, 5, 16])
def test_batched_fused_kernel_equals_numpy_path(name, B):
    # n = 1003: not a multiple of the 6-row block; B = 5 pads to 8 columns
    loss = LOSSES[name]
    rng = np.random.default_rng(2)
    A = rng.standard_normal((1003, 97)) / math.sqrt(97)
    X = rng.standard_normal((97, B))
    y = np.sign(rng.standard_normal(1003)) if name == "logistic" else (A @ X[:, 0]) ** 2 + 0.1
    lp = compile_scalar_grad(loss)
    R, Ot = fused_apply_batch(A, y, X, lp)
    assert R.shape == (1003, B) and Ot.shape == (B, 97)
    Rr = A @ X
    Or = A.T @ loss.grad(y[:, None], Rr)
    np.testing.assert_allclose(R, Rr, rtol=1e-12, atol=1e-12 * np.abs(Rr).max())
    np.testing.assert_allclose(Ot.T, Or, rtol=1e-10, atol=1e-11 * np.abs(Or).max())
    for b in range(B):  # column b = the single-trajectory kernel on X[:, b]
        r1, o1 = fused_apply(A, y, X[:, b], lp)
        np.testing.assert_allclose(R[:, b], r1, rtol=1e-12, atol=1e-12 * np.abs(r1).max())
        np.testing.assert_allclose(Ot[b], o1, rtol=1e-10, atol=1e-11 * np.abs(o1).max())
    _, Ot = fused_apply_batch(A, y, X)  # linear mode
    np.testing.assert_allclose(Ot.T, A.T @ (y[:, None] * Rr), rtol=1e-10, atol=1e-11 * np.abs(Ot).max())
    _, O32 = fused_apply_batch(A.astype(np.float32), y, X.astype(np.float32), lp)
    assert O32.dtype == np.float32
    np.testing.assert_allclose(O32.T, Or, rtol=0, atol=1e-4 * np.abs(Or).max())


# ------------------------------------------------------------------------------------------- GD
def test_gd_gradient_matches_finite_difference_of_objective():
    p = Problem(alpha=3.0, lam=0.3, eta=0.05, steps=1)
    data = generate_data(p, 60, seed=2)
    rng = np.random.default_rng(5)
    x0 = data.x_star + 0.5 * rng.standard_normal(60)
    tr = run_gd(data, x0, p)
    grad = (x0 - tr.x) / p.eta

    def L(x):  # docs/theory.md §0
        return np.sum(p.loss_obj.value(data.y, data.A @ x)) / p.alpha + 0.5 * p.lam * x @ x

    for _ in range(5):
        u = rng.standard_normal(60)
        h = 1e-5
        fd = (L(x0 + h * u) - L(x0 - h * u)) / (2 * h)
        assert grad @ u == pytest.approx(fd, rel=1e-6, abs=1e-8)
    assert tr.obs["objective"][0] == pytest.approx(L(x0) / 60, rel=1e-12)
    assert tr.obs["grad_norm"][0] == pytest.approx(grad @ grad / 60, rel=1e-10)
    assert tr.obs["m"][1] == pytest.approx(tr.x @ data.x_star / 60, rel=1e-12)


def test_gd_fused_equals_numpy_and_observables_consistent():
    data = generate_data(P, D, seed=4)
    v, _ = spectral_init(data, P)
    a = run_gd(data, v, P, method="fused")
    b = run_gd(data, v, P, method="numpy")
    assert a.method == "fused" and b.method == "numpy"
    for k in OBSERVABLES:
        np.testing.assert_allclose(a.obs[k], b.obs[k], rtol=1e-10)
    o, x, xs, d = a.obs, a.x, data.x_star, D
    # the last step's observables recomputed directly from the final iterate (docs/theory.md §0 definitions),
    # not from the simulator's bookkeeping
    r = data.A @ x
    grad = data.A.T @ P.loss_obj.grad(data.y, r) / P.alpha + P.lam * x
    direct = {
        "m": x @ xs / d,
        "q": x @ x / d,
        "cosine": x @ xs / (np.linalg.norm(x) * np.linalg.norm(xs)),
        "error": min(np.sum((x - xs) ** 2), np.sum((x + xs) ** 2)) / d,
        "train_loss": np.mean(P.loss_obj.value(data.y, r)),
        "objective": np.mean(P.loss_obj.value(data.y, r)) + P.lam * (x @ x) / (2 * d),
        "grad_norm": grad @ grad / d,
    }
    for k, val in direct.items():
        assert o[k][-1] == pytest.approx(val, rel=1e-9), k
    # phase retrieval: closed-form test error 3 - 2(q + 2 m^2) + 3 q^2 (docs/theory.md §0),
    # against the model's own quadrature
    np.testing.assert_allclose(o["test_error"], 3 - 2 * (o["q"] + 2 * o["m"] ** 2) + 3 * o["q"] ** 2, rtol=1e-9)


def test_float32_simulation_close_to_float64():
    """float32 data/iterates against float64 on the same data (A32 = rounded A64).  Error model: the float32
    Lanczos spectral init leaves an initial error of a few eps32 (2^-24 = 6e-8) times the eigenvector's
    conditioning, then GD is contractive for this problem, so the difference is largest at t = 0 and decays
    (measured at d = 1000 and 2000, seed 3: max relative difference 5 eps32 for m, q, 60 eps32 for grad_norm at
    t = 0, decaying by ~10x over 50 steps).  Tolerance 1000 eps32 = 6e-5 (relative to max(1, |x|)): a 17x margin
    for other BLAS/FMA paths, and still 30x below the seed-to-seed standard error at this d (~2e-3 for m)."""
    p = P.replace(steps=50)
    a = simulate(p, 1000, seeds=2, seed=3)
    b = simulate(p, 1000, seeds=2, seed=3, dtype="float32")
    assert a.success and b.success and b.dtype == "float32" and a.dtype == "float64"
    tol = 1000 * 2.0**-24
    for k in OBSERVABLES:
        diff = np.abs(b.per_seed[k] - a.per_seed[k]) / np.maximum(1.0, np.abs(a.per_seed[k]))
        assert np.max(diff) <= tol, (k, np.max(diff))
    assert np.max(np.abs(b.per_seed["m"] - a.per_seed["m"])) > 0  # really a float32 path
    assert np.max(np.abs(b.mean("m") - a.mean("m"))) < 0.05 * np.max(a.se("m"))
    np.testing.assert_allclose(b.spectral_overlap, a.spectral_overlap, rtol=0, atol=tol)


def test_loss_without_scalar_grad_uses_numpy_path():
    name = "test-sq-noscalar"
    if name not in LOSSES:
        register_loss(
            name,
            value=lambda y, r: 0.5 * (r - y) ** 2,
            grad=lambda y, r: r - y,
            hess=lambda y, r: np.ones(np.broadcast(y, r).shape),
        )
    p = P.replace(loss=name)
    q = P.replace(loss="square")
    data = generate_data(p, D, seed=0)
    x0 = data.x_star * 0.5
    a, b = run_gd(data, x0, p), run_gd(data, x0, q)
    assert a.method == "numpy" and b.method == "fused"
    np.testing.assert_allclose(a.obs["m"], b.obs["m"], rtol=1e-10)
    # the batch falls back to the GEMM path too
    ab = run_gd_batch(data, x0, p, [P.lam], [P.eta])
    assert ab.method == "batch-gemm"
    np.testing.assert_allclose(ab.obs["m"][0], a.obs["m"], rtol=1e-10)
    with pytest.raises(ValueError, match="fused"):
        run_gd_batch(data, x0, p, [P.lam], [P.eta], method="fused")


def test_same_seed_identical_including_chunks_and_threads():
    a = simulate(P, D, seeds=2, seed=5)
    b = simulate(P, D, seeds=[5, 6], chunk_rows=1, data_threads=3, threads=1)
    for k in OBSERVABLES:
        np.testing.assert_array_equal(a.per_seed[k], b.per_seed[k])
    np.testing.assert_array_equal(a.spectral_overlap, b.spectral_overlap)
    c = simulate(P, D, seeds=1, seed=6)
    np.testing.assert_array_equal(c.per_seed["m"][0], a.per_seed["m"][1])


def test_divergence_status_and_message():
    p = P.replace(eta=5.0, steps=30)
    res = simulate(p, D, seeds=1)
    assert res.status == Status.DIVERGED and not res.success
    assert "diverged at step" in res.message and "smaller eta" in res.message
    m = res.per_seed["m"][0]
    assert np.isnan(m[-1]) and np.isfinite(m[0])
    # batch: the diverging pair stops, the others are unaffected
    data = generate_data(P, D, seed=0)
    v, _ = spectral_init(data, P)
    tr = run_gd_batch(data, v, P, lams=[0.1, 0.1], etas=[0.1, 5.0])
    assert tr.statuses == [Status.SUCCESS, Status.DIVERGED] and tr.status == Status.DIVERGED
    assert "trajectory 1" in tr.messages[1]
    single = run_gd(data, v, P)
    np.testing.assert_allclose(tr.obs["m"][0], single.obs["m"], rtol=1e-10)


def test_batch_equals_one_at_a_time():
    data = generate_data(P, D, seed=9)
    v, _ = spectral_init(data, P)
    lams, etas = np.array([0.0, 0.1, 0.3]), np.array([0.05, 0.1, 0.2])
    tr = run_gd_batch(data, v, P, lams, etas)
    for b in range(3):
        one = run_gd(data, v, P, lam=lams[b], eta=etas[b])
        for k in OBSERVABLES:
            np.testing.assert_allclose(tr.obs[k][b], one.obs[k], rtol=1e-9, atol=1e-13)
    res = simulate(P, D, seeds=2, lams=lams, etas=etas)
    assert res.per_seed["m"].shape == (2, 3, P.steps + 1) and res.mean("m").shape == (3, P.steps + 1)


@pytest.mark.parametrize("B", [3, 16])
def test_batch_fused_equals_gemm_and_single(B):
    data = generate_data(P, D, seed=11)
    v, _ = spectral_init(data, P)
    lams, etas = np.linspace(0.0, 0.3, B), np.linspace(0.05, 0.2, B)
    f = run_gd_batch(data, v, P, lams, etas, method="fused", threads=2)
    g = run_gd_batch(data, v, P, lams, etas, method="gemm")
    assert f.method == "batch-fused" and g.method == "batch-gemm"
    assert run_gd_batch(data, v, P, lams[:1], etas[:1]).method == "batch-fused"  # auto
    assert f.passes == P.steps + 1 and g.passes == 2 * (P.steps + 1)
    np.testing.assert_allclose(f.x, g.x, rtol=1e-10, atol=1e-12 * np.abs(g.x).max())
    for k in OBSERVABLES:
        np.testing.assert_allclose(f.obs[k], g.obs[k], rtol=1e-10, atol=1e-13)
    for b in (0, B // 2, B - 1):
        one = run_gd(data, v, P, lam=lams[b], eta=etas[b])
        for k in OBSERVABLES:
            np.testing.assert_allclose(f.obs[k][b], one.obs[k], rtol=1e-10, atol=1e-13)
    with pytest.raises(ValueError, match="method"):
        run_gd_batch(data, v, P, lams, etas, method="bogus")


def test_random_and_given_init():
    p = P.replace(init="random", m0=0.3, q0=1.0, steps=0)
    res = simulate(p, D, seeds=1)
    assert res.per_seed["m"][0, 0] == pytest.approx(0.3, abs=1e-12)
    assert res.per_seed["q"][0, 0] == pytest.approx(1.0, abs=1e-12)
    assert np.isnan(res.spectral_overlap[0])
    x0 = np.ones(D)
    g = simulate(P.replace(init="given", x0=x0, steps=2), D)
    assert g.per_seed["q"][0, 0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="x0"):
        simulate(P.replace(init="given", x0=np.ones(5)), D)


def test_failed_seed_keeps_others(monkeypatch):
    import sidmft.simulator._seeds as S

    orig = S.generate_data

    def flaky(problem, dim, seed, *a, **k):
        if seed == 1:
            raise MemoryError("simulated out-of-memory")
        return orig(problem, dim, seed, *a, **k)

    monkeypatch.setattr(S, "generate_data", flaky)
    res = simulate(P, D, seeds=3)
    assert res.statuses == [Status.SUCCESS, Status.FAILED, Status.SUCCESS]
    assert res.status == Status.FAILED and "out-of-memory" in res.message
    assert np.all(np.isfinite(res.per_seed["m"][[0, 2]])) and np.all(np.isnan(res.per_seed["m"][1]))


# -------------------------------------------------------------------------------------- results
def test_result_api_and_round_trip(tmp_path):
    res = simulate(P, D, seeds=3, dtype="float32")
    assert isinstance(res, SimulationResult) and res.success
    assert res.t.tolist() == list(range(P.steps + 1))
    a = res.per_seed["m"]
    np.testing.assert_allclose(res.mean("m"), a.mean(0))
    np.testing.assert_allclose(res.se("m"), a.std(0, ddof=1) / math.sqrt(3))
    np.testing.assert_array_equal(res.per_replica("m"), a)
    assert res.replica_dim == "seed" and res.n_replicas == 3 and set(res.names) == set(OBSERVABLES)
    with pytest.raises(ValueError, match="name must be one of"):
        res.mean("overlap")
    ds = res.to_xarray()
    assert ds["m"].dims == ("seed", "t") and ds.attrs["dim"] == D and ds.attrs["dtype"] == "float32"
    path = res.save(tmp_path / "sim.nc")
    back = SimulationResult.load(path)
    for k in OBSERVABLES:
        np.testing.assert_array_equal(back.per_seed[k], res.per_seed[k])
    for k in res.spectral:
        np.testing.assert_array_equal(back.spectral[k], res.spectral[k])
    assert back.problem == res.problem and back.status == res.status and back.statuses == res.statuses
    assert back.dim == D and back.n == res.n and list(back.seeds) == list(res.seeds)
    assert back.timing.keys() == res.timing.keys()
    # batch round trip
    rb = simulate(P, D, seeds=1, lams=[0.0, 0.1], etas=0.1)
    bb = SimulationResult.from_xarray(rb.to_xarray())
    np.testing.assert_array_equal(bb.per_seed["q"], rb.per_seed["q"])
    np.testing.assert_array_equal(bb.lams, rb.lams)


def test_sidmft_simulate_is_callable_both_ways():
    import sidmft.simulator as mod

    r1 = sidmft.simulate(P.replace(steps=1), 50)
    r2 = mod.simulate(P.replace(steps=1), 50)
    np.testing.assert_array_equal(r1.per_seed["m"], r2.per_seed["m"])


# ------------------------------------------------------------------------------------------ CLI
def test_cli_json_keys():
    from sidmft.cli import main

    out = CliRunner().invoke(
        main, ["simulate", "--dim", "120", "--seeds", "2", "--steps", "3", "--json", "--no-progress"]
    )
    assert out.exit_code == 0, out.output
    obj = json.loads(out.stdout)
    for k in OBSERVABLES:
        assert len(obj[k]) == 4 and len(obj[f"{k}_se"]) == 4
    for k in ("t", "spectral_overlap", "top_eigenvalue", "status", "message", "alpha", "lam", "eta", "problem"):
        assert k in obj
    assert obj["status"] == "success"


@pytest.mark.parametrize(
    "args, word",
    [
        (["--dim", "1"], "--dim"),
        (["--seeds", "0"], "--seeds"),
        (["--dtype", "float16"], "--dtype"),
        (["--alpha", "-1"], "alpha"),
        (["--eta", "0"], "eta"),
    ],
)
def test_cli_bad_input_is_usage_error(args, word):
    from sidmft.cli import main

    out = CliRunner().invoke(main, ["simulate", "--no-progress"] + args)
    assert out.exit_code == 2 and word in out.output


def test_cli_output_file(tmp_path):
    from sidmft.cli import main

    f = tmp_path / "r.nc"
    out = CliRunner().invoke(
        main, ["simulate", "--dim", "80", "--seeds", "1", "--steps", "2", "--no-progress", "--output", str(f)]
    )
    assert out.exit_code == 0, out.output
    assert SimulationResult.load(f).per_seed["m"].shape == (1, 3)


def _assert_attrs_round_trip(ds, back):
    """Every attribute written (after the documented encoding: None -> "none", bool -> 0/1) reads back."""
    from sidmft.io import encode_attrs

    want = encode_attrs(ds.attrs)
    assert set(back.attrs) == set(want)
    for k, v in want.items():
        if k == "created":
            continue  # the creation time stamp of each to_xarray() call
        got = back.attrs[k]
        if isinstance(v, float) and math.isnan(v):
            assert math.isnan(got), k
        else:
            assert np.array_equal(np.asarray(got), np.asarray(v)), (k, got, v)


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
def test_simulation_result_file_round_trip(tmp_path, suffix):
    """zarr and netCDF: every observable per seed, its mean and standard error, the spectral fields, the
    statuses and messages, and every metadata attribute."""
    from sidmft.io import load

    res = simulate(P.replace(steps=4), D, seeds=3, seed=2)
    path = res.save(tmp_path / f"sim{suffix}")
    back = SimulationResult.load(path)
    for k in OBSERVABLES:
        np.testing.assert_array_equal(back.per_seed[k], res.per_seed[k])
        np.testing.assert_array_equal(back.mean(k), res.mean(k))
        np.testing.assert_array_equal(back.se(k), res.se(k))
    assert back.spectral.keys() == res.spectral.keys()
    for k in res.spectral:
        np.testing.assert_array_equal(back.spectral[k], res.spectral[k])
    np.testing.assert_array_equal(back.spectral_overlap, res.spectral_overlap)
    np.testing.assert_array_equal(back.top_eigenvalue, res.top_eigenvalue)
    assert back.problem == res.problem and back.status == res.status and back.statuses == res.statuses
    assert back.message == res.message and back.messages == res.messages and back.seed == res.seed
    assert back.dim == D and back.n == res.n and back.dtype == res.dtype and back.version == res.version
    assert list(back.seeds) == list(res.seeds) and np.array_equal(back.t, res.t)
    assert back.timing == pytest.approx(res.timing, rel=1e-15) and back.info.keys() == res.info.keys()
    _assert_attrs_round_trip(res.to_xarray(), load(path))
