"""Batched trajectories (run_gd_batch, simulate(lams=, etas=)) for every first-order method and
step schedule: trajectory b of a batch is run_gd with (lams[b], etas[b]) on the same data, with the
same sgd / Langevin draws (run_gd itself is checked against a numpy implementation of the contract
in test_simulate_algorithms.py)."""

import numpy as np
import pytest

from sidmft import OBSERVABLES, Problem, Status
from sidmft.simulator import generate_data, initial_point, run_gd, run_gd_batch, sgd_factor, simulate
from sidmft.simulator._kernels import compile_scalar_grad, fused_apply_batch

D, STEPS = 240, 6
CASES = {
    "gd-cosine": dict(algorithm="gd", eta_schedule="cosine:0.02"),
    "heavy-ball": dict(algorithm="heavy-ball", beta=0.6),
    "heavy-ball-step": dict(algorithm="heavy-ball", beta=0.5, eta_schedule="step:0.5:2"),
    "nesterov": dict(algorithm="nesterov", beta=0.6),
    "nesterov-list": dict(algorithm="nesterov", beta=0.3, eta_schedule=[0.1, 0.2, 0.05, 0.1, 0.15, 0.1]),
    "sgd": dict(algorithm="sgd", batch=0.3),
    "sgd-cosine": dict(algorithm="sgd", batch=0.5, eta_schedule="cosine:0.02"),
    "langevin": dict(algorithm="langevin", temperature=0.05),
    "langevin-step": dict(algorithm="langevin", temperature=0.02, eta_schedule="step:0.5:3"),
}
LAMS, ETAS = np.array([0.0, 0.1, 0.25]), np.array([0.05, 0.1, 0.2])


@pytest.fixture(scope="module")
def data():
    return generate_data(Problem(alpha=3.0), D, seed=7)


def _problem(case, **kw):
    return Problem(alpha=3.0, steps=STEPS, **CASES[case], **kw)


def _assert_same_as_single(batch, data, x0, problem, b, lam, eta):
    """Trajectory b of ``batch`` against run_gd at (lam, eta): the same arithmetic up to the
    summation order of A x and A^T g (relative rounding ~1e-15 per step, a few steps)."""
    one = run_gd(data, x0, problem, lam=lam, eta=eta)
    assert batch.statuses[b] == one.status == Status.SUCCESS
    for k in OBSERVABLES:
        np.testing.assert_allclose(batch.obs[k][b], one.obs[k], rtol=1e-11, atol=1e-13, err_msg=f"{k}, b = {b}")
    np.testing.assert_allclose(batch.x[:, b], one.x, rtol=1e-11, atol=1e-12 * np.abs(one.x).max())


@pytest.mark.parametrize("method", ["fused", "gemm"])
@pytest.mark.parametrize("case", list(CASES))
def test_batch_equals_run_gd_per_trajectory(data, case, method):
    p = _problem(case)
    x0, _ = initial_point(data, p)
    tb = run_gd_batch(data, x0, p, LAMS, ETAS, method=method)
    assert tb.status == Status.SUCCESS and tb.method == f"batch-{method}"
    # one read of A per step for the whole batch (gemm: two GEMMs), Nesterov included
    assert tb.passes == (STEPS + 1) * (1 if method == "fused" else 2)
    for b, (lam, eta) in enumerate(zip(LAMS, ETAS)):  # (an explicit list of eta_t ignores eta in both)
        _assert_same_as_single(tb, data, x0, p, b, lam, eta)


PER_TRAJECTORY = {
    "nesterov-list": dict(betas=[0.0, 0.3, 0.6]),
    "heavy-ball-step": dict(betas=[0.2, 0.5, 0.8]),
    "sgd-cosine": dict(batches=[0.2, 1.0, 0.5]),
    "langevin-step": dict(temperatures=[0.0, 0.02, 0.1]),
}
_FIELD = {"betas": "beta", "batches": "batch", "temperatures": "temperature"}


@pytest.mark.parametrize("method", ["fused", "gemm"])
@pytest.mark.parametrize("case", list(PER_TRAJECTORY))
def test_per_trajectory_beta_batch_temperature(data, case, method):
    """Trajectory b with its own beta / batch / temperature is run_gd on the problem with that value
    (sgd: the columns share the uniforms of the step, f_i = [U_i < batch_b] / batch_b)."""
    p = _problem(case)
    x0, _ = initial_point(data, p)
    ((key, values),) = PER_TRAJECTORY[case].items()
    tb = run_gd_batch(data, x0, p, LAMS, ETAS, method=method, **{key: values})
    assert tb.passes == (STEPS + 1) * (1 if method == "fused" else 2)
    for b, (lam, eta) in enumerate(zip(LAMS, ETAS)):
        _assert_same_as_single(tb, data, x0, p.replace(**{_FIELD[key]: values[b]}), b, lam, eta)


def test_per_trajectory_parameters_are_validated(data):
    gd, hb = _problem("gd-cosine"), _problem("heavy-ball")
    with pytest.raises(ValueError, match="betas needs an algorithm with a beta"):
        run_gd_batch(data, data.x_star, gd, [0.1], [0.1], betas=[0.5])
    with pytest.raises(ValueError, match=r"betas must be in \[0, 1\)"):
        run_gd_batch(data, data.x_star, hb, [0.1, 0.1], [0.1, 0.1], betas=[0.5, 1.0])
    with pytest.raises(ValueError, match="batches must broadcast"):
        run_gd_batch(data, data.x_star, _problem("sgd"), [0.1, 0.1], [0.1, 0.1], batches=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="temperatures must be >= 0"):
        run_gd_batch(data, data.x_star, _problem("langevin"), [0.1], [0.1], temperatures=[-1.0])


def test_one_start_per_trajectory(data):
    p = _problem("nesterov")
    x0s = np.stack([data.x_star * s for s in (0.3, 0.6, 0.9)], axis=1)
    tb = run_gd_batch(data, x0s, p, [0.1] * 3, [0.1] * 3)
    for b in range(3):
        _assert_same_as_single(tb, data, x0s[:, b], p, b, 0.1, 0.1)


@pytest.mark.parametrize("case", ["nesterov", "sgd", "langevin", "heavy-ball-step"])
def test_blow_up_of_one_trajectory_does_not_stop_the_others(data, case):
    p = _problem(case).replace(steps=12)
    x0, _ = initial_point(data, p)
    lams, etas = [0.1, 0.1, 0.2], [0.1, 8.0, 0.05]
    tb = run_gd_batch(data, x0, p, lams, etas)
    assert tb.statuses[1] == Status.DIVERGED and tb.status == Status.DIVERGED
    assert "trajectory 1" in tb.messages[1] and "1 of 3 trajectories diverged" in tb.message
    assert np.isnan(tb.obs["m"][1, -1]) and np.isfinite(tb.obs["m"][1, 0])
    single = run_gd(data, x0, p, lam=lams[1], eta=etas[1])
    assert single.status == Status.DIVERGED  # the same step as the batch's
    np.testing.assert_array_equal(np.isnan(tb.obs["m"][1]), np.isnan(single.obs["m"]))
    for b in (0, 2):
        _assert_same_as_single(tb, data, x0, p, b, lams[b], etas[b])


@pytest.mark.parametrize("case", ["nesterov", "sgd", "sgd-per-column", "langevin"])
def test_batch_independent_of_threads(data, case):
    p = _problem(case.removesuffix("-per-column"))
    x0, _ = initial_point(data, p)
    lams, etas = np.linspace(0.0, 0.3, 5), np.linspace(0.05, 0.2, 5)
    kw = dict(batches=[0.1, 0.3, 0.5, 0.7, 1.0]) if case == "sgd-per-column" else {}
    one = run_gd_batch(data, x0, p, lams, etas, method="fused", threads=1, **kw)
    two = run_gd_batch(data, x0, p, lams, etas, method="fused", threads=2, **kw)
    np.testing.assert_array_equal(one.x, two.x)
    for k in OBSERVABLES:
        np.testing.assert_array_equal(one.obs[k], two.obs[k], err_msg=k)


@pytest.mark.parametrize("case", ["nesterov", "sgd-cosine", "langevin"])
def test_simulate_batches_every_method(case):
    p = _problem(case, lam=0.1, eta=0.1)
    lams, etas = [0.0, 0.2], [0.1, 0.15]
    res = simulate(p, D, seeds=[3, 4], lams=lams, etas=etas)
    assert res.status == Status.SUCCESS and res.per_seed["m"].shape == (2, 2, STEPS + 1)
    for b, (lam, eta) in enumerate(zip(lams, etas)):
        one = simulate(p.replace(lam=lam, eta=eta), D, seeds=[3, 4])
        for k in OBSERVABLES:
            np.testing.assert_allclose(res.per_seed[k][:, b], one.per_seed[k], rtol=1e-11, atol=1e-13, err_msg=k)


def test_schedule_that_does_not_fit_an_eta_is_refused(data):
    p = _problem("gd-cosine")  # ETA_MIN = 0.02 must be <= every eta
    with pytest.raises(ValueError, match="eta_schedule cosine ETA_MIN"):
        run_gd_batch(data, data.x_star, p, [0.1, 0.1], [0.1, 0.01])
    with pytest.raises(ValueError, match="eta_schedule cosine ETA_MIN"):
        simulate(p, D, lams=[0.1], etas=[0.01])


def test_factor_weighted_batch_kernel_matches_numpy(data):
    """A^T (f l'(y, A X)) of the batched kernel against numpy, B not a multiple of the column block."""
    A, y = data.A, data.y
    lp = compile_scalar_grad(Problem().loss_obj)
    grad = Problem().loss_obj.grad
    X = np.stack([data.x_star * s for s in (0.2, 0.5, 0.8, -0.4, 1.0)], axis=1)
    f = sgd_factor(7, 2, A.shape[0], 0.4)
    R, Ot, Oft = fused_apply_batch(A, y, X, lp, factor=f)
    G = grad(y[:, None], A @ X)
    np.testing.assert_allclose(R, A @ X, rtol=1e-12, atol=1e-12)
    scale = np.abs(A).T @ np.abs(G)  # the size of the sums: rounding is relative to it
    np.testing.assert_allclose(Ot.T, A.T @ G, rtol=0, atol=1e-13 * scale.max())
    np.testing.assert_allclose(Oft.T, A.T @ (f[:, None] * G), rtol=0, atol=1e-13 * scale.max() / 0.4)
    F = np.stack([sgd_factor(7, 2, A.shape[0], b) for b in (0.1, 0.4, 1.0, 0.4, 0.7)], axis=1)  # one per column
    _, _, Oft = fused_apply_batch(A, y, X, lp, factor=F)
    np.testing.assert_allclose(Oft.T, A.T @ (F * G), rtol=0, atol=1e-13 * scale.max() / 0.1)
