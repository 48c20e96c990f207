"""Predicted linear rate of heavy-ball and Nesterov near the limit (issue 11).

The bulk [h_min, h_max] of the Hessian at the limit (both edges from the Silverstein equation,
docs/theory.md §3) and the largest root of the linearised 2x2 recursion over it, checked against
closed forms (Marchenko-Pastur edges, Polyak's optimal heavy-ball rate) and against finite-size runs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from sidmft import Problem
from sidmft.theory.fixed_point import FixedPointResult, fixed_point
from sidmft.theory.rate import compare_rate, momentum_rate, predict_rate, upper_edge


def _ridge(alpha, lam, eta, algorithm="gd", beta=None):
    kw = {} if algorithm == "gd" else dict(algorithm=algorithm, beta=beta)
    prob = Problem(model="linear", loss="square", alpha=alpha, lam=lam, eta=eta, **kw)
    return prob, fixed_point(prob, n_mc=20_000)  # l'' = 1 exactly: the sample size does not matter


def _radius(h, eta, beta, algorithm):
    """Largest |root| of the companion polynomial, by numpy.roots (independent of the code's formula)."""
    if algorithm == "heavy-ball":
        coef = [1.0, -(1 + beta - eta * h), beta]
    else:
        coef = [1.0, -(1 + beta) * (1 - eta * h), beta * (1 - eta * h)]
    return max(abs(z) for z in np.roots(coef))


# ------------------------------------------------------------------------------ edges
@pytest.mark.parametrize("alpha", [2.0, 4.0])
def test_mp_edges_square_loss(alpha):
    """Square loss, linear model: l'' = 1, H = lam + MP(1/alpha), edges lam + (1 -+ alpha^-1/2)^2."""
    lam = 0.1
    _, fp = _ridge(alpha, lam, 0.1, "heavy-ball", 0.3)
    assert fp.success, fp.message
    assert fp.h_min == pytest.approx(lam + (1 - alpha**-0.5) ** 2, abs=1e-9)
    assert fp.h_max == pytest.approx(lam + (1 + alpha**-0.5) ** 2, abs=1e-9)
    h, m = upper_edge(np.ones(7), alpha, lam)
    assert h == pytest.approx(lam + (1 + alpha**-0.5) ** 2, abs=1e-10) and -alpha < m < 0


def test_upper_edge_vs_largest_eigenvalue():
    """Two-point l'' in {0.5, 2}: h_max against lambda_max of H = A^T diag(l'') A / alpha + lam at d = 500
    (3 seeds).  Tolerance: the Tracy-Widom scale of the top eigenvalue, ~0.4 h_max d^(-2/3) for MP at this
    alpha; mean offset 1.2 scale + 4 sd (1.3 scale) / sqrt(3) -> 4.2 scale = 1.7 h_max d^(-2/3)."""
    alpha, lam, d = 4.0, 0.1, 500
    n = int(alpha * d)
    lpp = np.where(np.arange(n) % 2 == 0, 0.5, 2.0)
    h_max = upper_edge(lpp, alpha, lam)[0]
    tops = []
    with threadpool_limits(1):
        for s in range(3):
            A = np.random.default_rng(s).standard_normal((n, d)) / math.sqrt(d)
            tops.append(np.linalg.eigvalsh((A.T * lpp) @ A / alpha)[-1] + lam)
    assert abs(np.mean(tops) - h_max) <= 1.7 * h_max * d ** (-2 / 3)


# ------------------------------------------------------------------------------ the rate from the edges
@pytest.mark.parametrize("algorithm", ["heavy-ball", "nesterov"])
def test_beta_zero_is_gd(algorithm):
    """beta = 0: both methods are GD, rate 1 - eta h_min (when the lower edge decides)."""
    _, gd = _ridge(4.0, 0.05, 0.1)
    pr = predict_rate(np.ones(100), 1.0, 4.0, 0.05, 0.1, algorithm=algorithm, beta=0.0)
    assert pr.rate == pytest.approx(gd.rate, abs=1e-12)
    assert gd.rate == pytest.approx(1 - 0.1 * (0.05 + 0.25), abs=1e-12)  # MP lower edge 0.05 + (1 - 1/2)^2
    # a large step: |1 - eta h_max| = 0.84 > 1 - eta h_min = 0.76, the upper edge decides (noted)
    pr = predict_rate(np.ones(100), 1.0, 4.0, 0.05, 0.8, algorithm=algorithm, beta=0.0)
    assert pr.rate == pytest.approx(abs(1 - 0.8 * 2.3), abs=1e-9) and "upper edge decides" in pr.note


def test_momentum_rate_polyak_optimum():
    """Polyak's tuning eta = 4/(sqrt(L) + sqrt(mu))^2, beta = ((sqrt k - 1)/(sqrt k + 1))^2 gives the rate
    sqrt(beta) = (sqrt k - 1)/(sqrt k + 1) over [mu, L] (k = L/mu)."""
    mu, L = 0.3, 2.3
    k = L / mu
    eta = 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2
    beta = ((math.sqrt(k) - 1) / (math.sqrt(k) + 1)) ** 2
    rate, _ = momentum_rate(mu, L, eta, beta, "heavy-ball")
    assert rate == pytest.approx(math.sqrt(beta), abs=1e-6)


@pytest.mark.parametrize("algorithm", ["heavy-ball", "nesterov"])
@pytest.mark.parametrize("beta", [0.3, 0.6, 0.9])
def test_momentum_rate_vs_numpy_roots(algorithm, beta):
    hs = np.linspace(0.3, 2.3, 801)
    ref = max(_radius(h, 0.1, beta, algorithm) for h in hs)
    assert momentum_rate(0.3, 2.3, 0.1, beta, algorithm)[0] == pytest.approx(ref, abs=1e-6)


def test_bad_input_and_notes():
    with pytest.raises(ValueError, match="algorithm"):
        predict_rate(np.ones(10), 1.0, 4.0, 0.1, 0.1, algorithm="sgd")
    with pytest.raises(ValueError, match="beta"):
        predict_rate(np.ones(10), 1.0, 4.0, 0.1, 0.1, algorithm="nesterov", beta=1.0)
    # unbounded l'' (phase retrieval, intensity loss): h_max from n_mc samples, noted
    fp = fixed_point(Problem(alpha=3, lam=0.1, eta=0.01, algorithm="nesterov", beta=0.5), n_mc=100_000)
    assert np.isfinite(fp.h_max) and fp.h_max > fp.h_min and "grows with the sample size" in fp.rate_note
    # step schedules: no prediction
    fs = fixed_point(Problem(model="linear", loss="square", alpha=4, lam=0.1, eta=0.1, eta_schedule="cosine:0.01"))
    assert math.isnan(fs.rate) and "not implemented" in fs.rate_note


def test_h_max_round_trip():
    _, fp = _ridge(4.0, 0.1, 0.1, "nesterov", 0.6)
    back = FixedPointResult.from_xarray(fp.to_xarray())
    assert back.h_max == fp.h_max and back.rate == fp.rate and "h_max" in fp.to_dict()


# ------------------------------------------------------------------------------ finite-size runs
def _run(algorithm, beta, alpha, lam, eta, d, seed, steps):
    """Ridge regression (linear model, square loss, noise 0.3) from a random start; G_t = ||grad L(x^t)||^2/d."""
    rng = np.random.default_rng(seed)
    n = int(round(alpha * d))
    A = rng.standard_normal((n, d)) / math.sqrt(d)
    xs = rng.standard_normal(d)
    y = A @ xs + 0.3 * rng.standard_normal(n)

    def grad(v):
        return lam * v + A.T @ (A @ v - y) / alpha

    x = rng.standard_normal(d)
    xp = x.copy()
    G, M = np.empty(steps + 1), np.empty(steps + 1)
    for t in range(steps + 1):
        gx = grad(x)
        G[t], M[t] = gx @ gx / d, x @ xs / d
        if algorithm == "heavy-ball":
            x, xp = x - eta * gx + beta * (x - xp), x
        else:
            p = x + beta * (x - xp)
            x, xp = p - eta * grad(p), x
    return G, M


@pytest.mark.parametrize(
    "algorithm, beta, steps",
    [("heavy-ball", 0.3, 450), ("heavy-ball", 0.6, 260), ("nesterov", 0.3, 450), ("nesterov", 0.6, 260)],
)
def test_rate_vs_simulation(algorithm, beta, steps):
    """Predicted bulk rate against the tail fit of G_t (t^-1.5 edge prefactor) at d = 600, 3 seeds.

    Tolerance: 4 se over seeds + window drift (compare_rate) + |d rho/d h| at h_min times the finite-size
    shift of the lower edge 0.25 d^(-2/3) (Tracy-Widom scale of lambda_min for MP at alpha = 4 is
    ~0.2 d^(-2/3), mean offset 1.2 of it).  d rho/d h is from numpy.roots by a central difference."""
    alpha, lam, eta, d, seeds = 4.0, 0.05, 0.1, 600, 3
    prob, fp = _ridge(alpha, lam, eta, algorithm, beta)
    assert fp.success and np.isfinite(fp.rate), fp.rate_note
    with threadpool_limits(1):
        runs = [_run(algorithm, beta, alpha, lam, eta, d, s, steps) for s in range(seeds)]
    from sidmft.simulator import SimulationResult

    sim = SimulationResult(
        prob,
        t=np.arange(steps + 1),
        seeds=np.arange(seeds),
        per_seed={"grad_norm": np.array([r[0] for r in runs]), "m": np.array([r[1] for r in runs])},
    )
    dh = 1e-5
    slope = abs(_radius(fp.h_min + dh, eta, beta, algorithm) - _radius(fp.h_min - dh, eta, beta, algorithm)) / (2 * dh)
    cmp = compare_rate(sim, fp, nsigma=4, tol=slope * 0.25 * d ** (-2 / 3))
    assert cmp.success and cmp.agree, cmp.message
    assert cmp.predicted == pytest.approx(_radius(fp.h_min, eta, beta, algorithm), abs=1e-9)  # lower edge decides


@pytest.mark.parametrize("algorithm", ["heavy-ball", "nesterov"])
def test_rate_vs_simulation_phase_retrieval(algorithm):
    """Phase retrieval (intensity loss, unbounded l''; alpha = 6, lam = 0.1, eta = 0.1, beta = 0.5): the bulk
    rate against the simulator at d = 600, 3 seeds, same tolerance as above (4 se + drift + |d rho/d h| *
    0.25 d^(-2/3), the edge shift measured for GD in tests/test_rate.py).  eta h_max ~ 1.2 here: the lower
    edge decides, whatever the growth of h_max with n_mc."""
    from sidmft import simulate

    d, eta, beta = 600, 0.1, 0.5
    prob = Problem(alpha=6.0, lam=0.1, eta=eta, algorithm=algorithm, beta=beta, steps=220, preprocess="lal")
    fp = fixed_point(prob)
    assert fp.success and np.isfinite(fp.rate), fp.rate_note
    sim = simulate(prob, dim=d, seeds=3, seed=100, threads=1)
    dh = 1e-5
    slope = abs(_radius(fp.h_min + dh, eta, beta, algorithm) - _radius(fp.h_min - dh, eta, beta, algorithm)) / (2 * dh)
    cmp = compare_rate(sim, fp, nsigma=4, tol=slope * 0.25 * d ** (-2 / 3))
    assert cmp.success and cmp.agree, cmp.message
