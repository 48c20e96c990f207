"""Simulator: heavy-ball, Nesterov, SGD, Langevin, step schedules and the linear start against a
plain numpy implementation of the contract written here (same random draws, same data)."""

import math

import numpy as np
import pytest
from click.testing import CliRunner

from sidmft import Problem
from sidmft.simulator import generate_data, initial_point, run_gd, run_gd_batch, simulate
from sidmft.simulator._data import KEY_LANGEVIN, KEY_SGD, child_rng

D, STEPS = 200, 6
CASES = {
    "gd": dict(algorithm="gd"),
    "heavy-ball": dict(algorithm="heavy-ball", beta=0.6),
    "nesterov": dict(algorithm="nesterov", beta=0.6),
    "sgd": dict(algorithm="sgd", batch=0.3),
    "langevin": dict(algorithm="langevin", temperature=0.05),
    "heavy-ball-step": dict(algorithm="heavy-ball", beta=0.5, eta_schedule="step:0.5:2"),
    "nesterov-list": dict(algorithm="nesterov", beta=0.3, eta_schedule=[0.1, 0.2, 0.05, 0.1, 0.15, 0.1]),
    "sgd-cosine": dict(algorithm="sgd", batch=0.5, eta_schedule="cosine:0.02"),
}


def _etas(kw, eta):
    """eta_t written out from the schedule's definition (module docstring of sidmft.algorithms)."""
    spec = kw.get("eta_schedule")
    t = np.arange(STEPS)
    if spec is None:
        return np.full(STEPS, eta)
    if spec == "step:0.5:2":
        return eta * 0.5 ** (t // 2)
    if spec == "cosine:0.02":
        return 0.02 + (eta - 0.02) * 0.5 * (1 + np.cos(np.pi * t / STEPS))
    return np.asarray(spec, dtype=float)


def _reference(data, x0, problem, kw):
    """The contract of issue 11, step by step in numpy: observables at x^t, x^{-1} = x^0."""
    A, y, xs, loss = data.A, data.y, data.x_star, problem.loss_obj
    n, d = A.shape
    alpha, lam, beta = problem.alpha, problem.lam, kw.get("beta", 0.0)

    def grad(x, f=1.0):
        r = A @ x
        return r, lam * x + A.T @ (f * loss.grad(y, r)) / alpha

    etas = _etas(kw, problem.eta)
    x, xprev, obs = x0.copy(), x0.copy(), {k: [] for k in ("m", "q", "train_loss", "grad_norm")}
    for t in range(STEPS + 1):
        r, g = grad(x)
        for k, v in zip(obs, (x @ xs / d, x @ x / d, np.mean(loss.value(y, r)), g @ g / d)):
            obs[k].append(v)
        if t == STEPS:
            break
        eta, alg = etas[t], kw["algorithm"]
        if alg == "gd":
            xn = x - eta * g
        elif alg == "heavy-ball":
            xn = x - eta * g + beta * (x - xprev)
        elif alg == "nesterov":
            p = x + beta * (x - xprev)
            xn = p - eta * grad(p)[1]
        elif alg == "sgd":
            b = kw["batch"]
            s = child_rng(data.seed, KEY_SGD, t).random(n) < b
            xn = x - eta * grad(x, s / b)[1]
        else:
            xi = child_rng(data.seed, KEY_LANGEVIN, t).standard_normal(d)
            xn = x - eta * g + math.sqrt(2 * eta * kw["temperature"]) * xi
        x, xprev = xn, x
    return x, {k: np.array(v) for k, v in obs.items()}


@pytest.fixture(scope="module")
def data():
    return generate_data(Problem(alpha=3.0), D, seed=5)


@pytest.mark.parametrize("method", ["fused", "numpy"])
@pytest.mark.parametrize("case", list(CASES))
def test_each_algorithm_matches_the_contract(data, case, method):
    kw = CASES[case]
    problem = Problem(alpha=3.0, lam=0.1, eta=0.1, steps=STEPS, **kw)
    x0, _ = initial_point(data, problem)
    traj = run_gd(data, x0, problem, method=method)
    x_ref, obs_ref = _reference(data, x0, problem, kw)
    assert traj.status == 0
    # the same arithmetic up to summation order: relative differences ~1e-15 per step
    np.testing.assert_allclose(traj.x, x_ref, rtol=1e-12, atol=1e-12 * np.abs(x_ref).max())
    for k, v in obs_ref.items():
        np.testing.assert_allclose(traj.obs[k], v, rtol=1e-12, atol=1e-14, err_msg=k)
    assert traj.passes == STEPS + 1  # one read of A per step (nesterov: p^t and x^t together)


def test_sgd_full_batch_and_zero_temperature_are_gd(data):
    gd = Problem(alpha=3.0, steps=STEPS)
    x0, _ = initial_point(data, gd)
    ref = run_gd(data, x0, gd)
    for other in (gd.replace(algorithm="sgd", batch=1.0), gd.replace(algorithm="langevin", temperature=0.0)):
        traj = run_gd(data, x0, other)
        np.testing.assert_array_equal(traj.x, ref.x)
        np.testing.assert_array_equal(traj.obs["m"], ref.obs["m"])


@pytest.mark.parametrize("case", ["nesterov", "sgd", "langevin"])
def test_independent_of_chunking_and_threads(case):
    p = Problem(alpha=3.0, steps=4, **CASES[case])
    ref = simulate(p, 300, seeds=[2], chunk_rows=None, threads=1)
    for chunk, threads in ((256, 2), (1000, 1)):
        other = simulate(p, 300, seeds=[2], chunk_rows=chunk, threads=threads, data_threads=2)
        for k in ("m", "q", "train_loss", "grad_norm"):
            np.testing.assert_array_equal(other.per_seed[k], ref.per_seed[k], err_msg=k)


def test_linear_init():
    p = Problem(model="relu", loss="square", alpha=2.0, kappa=0.7, init="linear", steps=2)
    data = generate_data(p, D, seed=1)
    x0, info = initial_point(data, p)
    u = data.A.T @ data.y  # T = identity by default for the linear start
    np.testing.assert_allclose(x0, 0.7 * math.sqrt(D) * u / np.linalg.norm(u), rtol=1e-12)
    assert info is None
    pm = p.replace(preprocess="clip:1")
    u = data.A.T @ np.minimum(data.y, 1.0)  # clip:C is min(y, C) (sidmft.preprocess)
    np.testing.assert_allclose(initial_point(data, pm)[0], 0.7 * math.sqrt(D) * u / np.linalg.norm(u), rtol=1e-12)
    res = simulate(p, D, seeds=[1])
    assert res.status == 0 and res.per_seed["q"][0, 0] == pytest.approx(0.49, rel=1e-12)


def test_batch_heavy_ball_matches_single_runs(data):
    p = Problem(alpha=3.0, steps=STEPS, algorithm="heavy-ball", beta=0.5)
    x0, _ = initial_point(data, p)
    lams, etas = [0.0, 0.1, 0.2], [0.05, 0.1, 0.1]
    for method in ("fused", "gemm"):
        batch = run_gd_batch(data, x0, p, lams, etas, method=method)
        for b, (lam, eta) in enumerate(zip(lams, etas)):
            one = run_gd(data, x0, p, lam=lam, eta=eta)
            np.testing.assert_allclose(batch.obs["m"][b], one.obs["m"], rtol=1e-12)
            np.testing.assert_allclose(batch.x[:, b], one.x, rtol=1e-12, atol=1e-12 * np.abs(one.x).max())


@pytest.mark.parametrize(
    "kw", [dict(algorithm="nesterov", beta=0.5), dict(algorithm="sgd", batch=0.5), dict(eta_schedule="step:0.5:2")]
)
def test_jax_is_refused_beyond_constant_step_gd(kw):
    # batches run every method (tests/test_simulate_batch_algorithms.py); the JAX loop only plain GD
    p = Problem(alpha=3.0, steps=STEPS, **kw)
    with pytest.raises(ValueError, match="backend='jax' runs plain GD"):
        simulate(p, D, backend="jax")


def test_cli_flags():
    from sidmft.cli import main

    runner = CliRunner()
    args = ["simulate", "--dim", "100", "--steps", "3", "--json", "--no-progress"]
    ok = runner.invoke(main, args + ["--algorithm", "heavy-ball", "--beta", "0.5", "--eta-schedule", "step:0.5:2"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(main, args + ["--algorithm", "heavy-ball", "--beta", "1.5"])
    assert bad.exit_code == 2 and "beta must be in [0, 1)" in bad.output
    lin = runner.invoke(main, args + ["--init", "linear", "--model", "relu", "--loss", "square"])
    assert lin.exit_code == 0, lin.output


def test_sgd_factor_is_unbiased_and_streams_are_per_step():
    from sidmft.simulator import langevin_noise, sgd_factor

    n, b = 200_000, 0.3
    f = sgd_factor(4, 7, n, b)
    assert set(np.unique(f)) <= {0.0, 1 / b}
    # E f = 1, sd of f = sqrt((1 - b)/b): 5 standard errors
    assert abs(f.mean() - 1) < 5 * math.sqrt((1 - b) / b / n)
    assert not np.array_equal(f, sgd_factor(4, 8, n, b))
    np.testing.assert_array_equal(langevin_noise(4, 3, 50), child_rng(4, KEY_LANGEVIN, 3).standard_normal(50))
