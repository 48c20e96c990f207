"""The DMFT for complex signals (complex Wirtinger flow, docs/theory.md §7.2), from a data-independent start.

Independent sources:
* a complex gradient-descent simulation written here with numpy (rows a_i ~ CN(0, I/d), y = |a_i^H x*|^2,
  x^{t+1} = (1 - eta lam) x^t - (eta/alpha) A^H g^t with g = (|r|^2 - y) r), not the package's simulator;
* the two response estimators of the package against each other: pathwise Wirtinger derivatives (the pair
  dg/dr, dg/d r-bar chained per path) and complex Gaussian integration by parts (no derivative), which share
  no code beyond the forward pass.

Measured max |z| (every observable, t in {1, 2, 5, 10}, 8 DMFT batches of 5000 paths, seed 3, against 32
simulated seeds at d = 1000): 2.3; integration by parts against pathwise (seeds 1, 2): 1.4.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sidmft import OBSERVABLES, Problem, Status
from sidmft.theory.dmft import DMFTSettings, dmft

BASE = dict(field="complex", init="random", m0=0.5, q0=1.0, alpha=4.0, lam=0.2, eta=0.15)
TIMES = (1, 2, 5, 10)


def _simulate(d, alpha, lam, eta, steps, m0, q0, seeds, first=1000):
    """Per seed (m_t, q_t, training loss_t) of complex GD on the intensity loss (numpy, independent of sidmft)."""
    n = int(round(alpha * d))
    out = []
    for s in range(seeds):
        rng = np.random.default_rng(first + s)
        A = (rng.standard_normal((n, d)) + 1j * rng.standard_normal((n, d))) / math.sqrt(2 * d)
        xs = rng.standard_normal(d) + 1j * rng.standard_normal(d)
        xs *= math.sqrt(d) / np.linalg.norm(xs)
        y = np.abs(A @ xs) ** 2
        xi = rng.standard_normal(d) + 1j * rng.standard_normal(d)
        xi -= (np.vdot(xs, xi) / d) * xs
        xi *= math.sqrt(d) / np.linalg.norm(xi)
        x = m0 * xs + math.sqrt(q0 - m0 * m0) * xi
        rows = []
        for _ in range(steps + 1):
            r = A @ x
            g = (np.abs(r) ** 2 - y) * r
            rows.append(
                (abs(np.vdot(xs, x)) / d, np.vdot(x, x).real / d, float(np.mean(0.25 * (np.abs(r) ** 2 - y) ** 2)))
            )
            x = (1 - eta * lam) * x - (eta / alpha) * (A.conj().T @ g)
        out.append(rows)
    a = np.array(out)  # (seeds, steps + 1, 3)
    return a.mean(axis=0), a.std(axis=0, ddof=1) / math.sqrt(seeds)


@pytest.fixture(scope="module")
def pathwise():
    return dmft(
        Problem(**BASE, steps=10), settings=DMFTSettings(samples=8 * 5000, batches=8, responses="pathwise"), seed=3
    )


def test_against_an_independent_complex_simulation(pathwise):
    """m, q and the training loss at t in TIMES within 3 combined standard errors (32 seeds at d = 1000; the
    finite-size bias of the overlap is O(1/d), far below the standard errors ~2e-3)."""
    assert pathwise.status == Status.SUCCESS, pathwise.message
    assert pathwise.mean("m")[0] == pytest.approx(0.5, abs=1e-12) and pathwise.mean("q")[0] == pytest.approx(1.0)
    mean, se = _simulate(1000, 4.0, 0.2, 0.15, 10, 0.5, 1.0, seeds=32)
    bad = {}
    for j, k in enumerate(("m", "q", "train_loss")):
        for t in TIMES:
            z = (pathwise.mean(k)[t] - mean[t, j]) / math.hypot(pathwise.se(k)[t], se[t, j])
            if not abs(z) <= 3.0:
                bad[(k, t)] = round(z, 2)
    assert not bad, bad


def test_integration_by_parts_agrees_with_pathwise():
    """The two response estimators on independent paths: every observable at t in TIMES within 4 combined
    batch standard errors (complex integration by parts R_g = L^-T Re E[conj(xi) g] needs no derivative)."""
    p = Problem(**BASE, steps=10)
    a = dmft(p, settings=DMFTSettings(samples=8 * 4000, batches=8, responses="pathwise"), seed=1)
    b = dmft(p, settings=DMFTSettings(samples=8 * 4000, batches=8, responses="ibp"), seed=2)
    assert a.success and b.success
    for k in OBSERVABLES:
        diff = np.abs(a.mean(k)[list(TIMES)] - b.mean(k)[list(TIMES)])
        tol = 4.0 * np.hypot(a.se(k)[list(TIMES)], b.se(k)[list(TIMES)])
        assert np.all(diff <= tol), (k, diff, tol)


@pytest.mark.parametrize(
    "extra",
    [
        dict(algorithm="heavy-ball", beta=0.3),
        dict(algorithm="nesterov", beta=0.3),
        dict(algorithm="sgd", batch=0.5),
        dict(algorithm="langevin", temperature=0.01),
        dict(eta_schedule="step:0.5:3"),
        dict(loss="amplitude"),
    ],
    ids=["heavy-ball", "nesterov", "sgd", "langevin", "schedule", "amplitude"],
)
def test_every_method_and_loss_runs(extra):
    res = dmft(Problem(**{**BASE, **extra, "steps": 6}), samples=2 * 2000, batches=2, seed=0)
    assert res.success, res.message
    for k in OBSERVABLES:
        assert np.all(np.isfinite(res.mean(k))), k
    assert np.all(res.mean("q") >= 0) and np.all(np.abs(res.mean("cosine")) <= 1 + 1e-12)
    assert "complex field" in res.message


def test_amplitude_loss_takes_integration_by_parts():
    """The amplitude loss's l' jumps at r = 0: auto picks Gaussian integration by parts, as for real fields."""
    res = dmft(Problem(**{**BASE, "loss": "amplitude", "steps": 3}), samples=2 * 1000, batches=2)
    assert res.success and res.diagnostics["responses"] == "ibp"


def test_full_window_hybrid_is_the_pathwise_estimator():
    """Window = T: the hybrid estimator's exact window covers every column, so it must reproduce the pathwise
    estimator on the same paths up to rounding (float32 histories: 1e-6 of the scale)."""
    p = Problem(**BASE, steps=12)
    kw = dict(samples=2 * 2000, batches=2)
    a = dmft(p, settings=DMFTSettings(**kw, responses="pathwise"), seed=4)
    b = dmft(p, settings=DMFTSettings(**kw, responses="hybrid", window=12), seed=4)
    assert a.success and b.success and b.diagnostics["responses"] == "hybrid"
    for k in OBSERVABLES:
        scale = np.max(np.abs(a.per_batch[k]), initial=1.0)
        np.testing.assert_allclose(b.per_batch[k], a.per_batch[k], rtol=0, atol=1e-6 * scale, err_msg=k)


def test_long_horizon_reaches_the_complex_fixed_point():
    """Spectral start, intensity loss, alpha = 4, lam = 0.2, eta = 0.15, T = 200 with the hybrid estimator
    ("auto" from 100 steps for complex fields): every observable at T against the complex fixed point (§7.3)
    within 4 batch SEs plus the remaining distance rate^(T - 100) x |x_100 - x_fp| (rate 0.986 predicted),
    plus the O(1/M) bias allowance of m and q (5e-4, as for real fields) for the observables built from them.
    Measured |z| <= 1.4 (seed 3, 8 x 4000 paths)."""
    from sidmft.theory.fixed_point import fixed_point

    p = Problem(field="complex", alpha=4.0, lam=0.2, eta=0.15, steps=200)
    res = dmft(p, samples=8 * 4000, batches=8, seed=3)
    assert res.success and res.diagnostics["responses"] == "hybrid", res.message
    fp = fixed_point(p)
    assert fp.success and 0 < fp.rate < 1
    bias = dict(m=5e-4, q=5e-4, error=1.5e-3, cosine=8e-4, test_error=5e-3)
    for k in OBSERVABLES:
        ref = 0.0 if k == "grad_norm" else float(getattr(fp, k))
        tail = fp.rate ** (2 * 100 if k == "grad_norm" else 100) * max(abs(res.mean(k)[100] - ref), 1e-3)
        tol = 4.0 * res.se(k)[-1] + tail + bias.get(k, 0.0)
        assert abs(res.mean(k)[-1] - ref) <= tol, (k, res.mean(k)[-1], ref, tol)


def test_batches_on_dask_and_checkpoint_are_the_local_run(tmp_path):
    p = Problem(**BASE, steps=5)
    kw = dict(samples=2 * 1000, batches=2, seed=6, threads=1)
    local = dmft(p, **kw)
    remote = dmft(p, **kw, workers=2)
    ck = dmft(p, **kw, checkpoint=str(tmp_path / "ck"))
    again = dmft(p, **kw, checkpoint=str(tmp_path / "ck"))
    for other in (remote, ck, again):
        for k in OBSERVABLES:
            np.testing.assert_array_equal(other.per_batch[k], local.per_batch[k], err_msg=k)
