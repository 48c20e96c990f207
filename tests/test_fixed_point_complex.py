"""Fixed point for complex signals (docs/theory.md §7.3): circular complex (z, w), radial prox, the holomorphic
response Gamma = E[1 - dr/dw]/gamma with dr/dw = (rho_hat/|w| + d rho_hat/d|w|)/2.

Independent checks written here: a Monte-Carlo evaluation of (F1)-(F3) with its own prox (bisection) and a
derivative-free response (complex Stein: Gamma = E[xi-bar g]/s), the exact-recovery gamma by scipy quad over
Exp(1), and the 4·10^4-sample Monte-Carlo estimate quoted in docs/theory.md §7.3.
"""

import math
import warnings

import numpy as np
import pytest
from scipy import integrate
from scipy.optimize import brentq

from sidmft import Problem, Status
from sidmft.theory.fixed_point import FixedPointLaw, fixed_point
from sidmft.theory.fixed_point._law_complex import ComplexFixedPointLaw, law_for


def P(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Problem(field="complex", **kw)


@pytest.fixture(scope="module")
def fp4():
    """Intensity loss, noiseless phase retrieval, alpha = 4, lam = 0.2 (docs/theory.md §7.3)."""
    return fixed_point(P(alpha=4.0, lam=0.2, eta=0.15), n_mc=0)


def test_reference_point(fp4):
    assert fp4.status == Status.SUCCESS, fp4.message
    assert fp4.residual < 1e-12
    # docs/theory.md §7.3: m = 0.8273, q = 0.7440, gamma = 0.530 from 4·10^4 Monte-Carlo samples + fsolve (its
    # error is ~1e-3 on q: 3 digits); complex GD at d = 1000: m = 0.8285 +- 0.0040, q = 0.7447 +- 0.0049
    assert fp4.m == pytest.approx(0.8273, abs=2e-4)
    assert fp4.q == pytest.approx(0.7440, abs=1.5e-3)
    assert fp4.gamma == pytest.approx(0.530, abs=1e-3)
    # lam q + Re E[g-bar r] = 0 follows from (F1)-(F3) by Stein's lemma in the plane (no jump term)
    assert abs(fp4.checks["x_stationarity"]) < 1e-10 and "jump_term" not in fp4.checks
    assert abs(fp4.checks["F2_response_form"]) < 1e-10
    # test error of phase retrieval, (z, r) circular: 2 - 2(q + m^2) + 2q^2
    assert fp4.test_error == pytest.approx(2 - 2 * (fp4.q + fp4.m**2) + 2 * fp4.q**2, abs=1e-10)
    assert isinstance(fp4.law, ComplexFixedPointLaw)


def test_quadrature_accuracy(fp4):
    fine = fixed_point(fp4.problem, n_mc=0, quad=dict(nz=120, nxi=24), tol=1e-12)
    for k in ("m", "q", "gamma"):
        assert getattr(fine, k) == pytest.approx(getattr(fp4, k), abs=1e-10)


def _prox_radial(y, t, gamma, iters=80):
    """Positive root of gamma rho^3 + (1 - gamma y) rho = t (t >= 0) by bisection: it is unique on rho > 0."""
    lo, hi = np.zeros_like(t), t + np.sqrt(np.maximum(y, 0.0)) + 1.0
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        f = gamma * mid**3 + (1 - gamma * y) * mid - t
        lo, hi = np.where(f < 0, mid, lo), np.where(f < 0, hi, mid)
    return 0.5 * (lo + hi)


def _mc_terms(m, q, gamma, n, seed):
    """Per-sample terms of (F1)-(F3) under the complex law, plain Monte Carlo."""
    rng = np.random.default_rng(np.random.SeedSequence([19, seed]))
    z = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) / math.sqrt(2)
    xi = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) / math.sqrt(2)
    s = math.sqrt(q - m * m)
    w = m * z + s * xi
    y = np.abs(z) ** 2
    t = np.abs(w)
    rho = _prox_radial(y, t, gamma)
    r = rho * w / t
    g = (w - r) / gamma
    kr = 3 * rho**2 - y
    return dict(
        gz=(g * np.conj(z)).real,
        g2=np.abs(g) ** 2,
        stein=(np.conj(xi) * g).real / s,  # Gamma = E[dg/dw] = E[xi-bar g]/s (complex Stein, no derivative)
        deriv=0.5 * kr / (1 + gamma * kr) + 0.5 * (1 - rho / t) / gamma,
        radial_only=kr / (1 + gamma * kr),
        stein_im=(np.conj(xi) * g).imag / s,
    )


def test_residuals_by_monte_carlo(fp4):
    """(F1)-(F3) at the quadrature solution, evaluated by an independent Monte Carlo (8 batches of 2.5·10^5)."""
    m, q, gamma, alpha, lam = fp4.m, fp4.q, fp4.gamma, 4.0, 0.2
    batches = [_mc_terms(m, q, gamma, 250_000, b) for b in range(8)]

    def mean_se(key):
        v = np.array([b[key].mean() for b in batches])
        return v.mean(), v.std(ddof=1) / math.sqrt(len(v))

    gz, gz_se = mean_se("gz")
    g2, g2_se = mean_se("g2")
    st, st_se = mean_se("stein")
    de, de_se = mean_se("deriv")
    assert abs(lam * m + gz) < 5 * gz_se  # (F2)
    assert abs(q - m * m - alpha * gamma**2 * g2) < 5 * alpha * gamma**2 * g2_se  # (F3)
    assert abs(alpha * gamma * (lam + st) - 1) < 5 * alpha * gamma * st_se  # (F1), response by Stein
    assert abs(alpha * gamma * (lam + de) - 1) < 5 * alpha * gamma * de_se  # (F1), derivative formula
    assert abs(mean_se("stein_im")[0]) < 5 * mean_se("stein_im")[1]
    # the naive transcription of the real (F1) (radial derivative only) is rejected by far
    ro, ro_se = mean_se("radial_only")
    assert abs(alpha * gamma * (lam + ro) - 1) > 50 * alpha * gamma * ro_se
    # the quadrature's moments agree with the Monte Carlo ones
    law = fp4.law
    M = law.evaluate(m, math.sqrt(q - m * m), gamma)
    assert abs(M.Egz - gz) < 5 * gz_se and abs(M.Eg2 - g2) < 5 * g2_se and abs(M.Gamma - st) < 5 * st_se


def test_sample_of_the_law(fp4):
    smp = fp4.sample(200_000, seed=3)
    z, w, r, g, y = smp["z"], smp["w"], smp["r"], smp["g"], smp["y"]
    assert np.iscomplexobj(z) and np.iscomplexobj(r)
    n = z.size
    for v, ref in (((w * np.conj(z)).real, fp4.m), (np.abs(w) ** 2, fp4.q), (np.abs(z) ** 2, 1.0)):
        assert abs(v.mean() - ref) < 5 * v.std() / math.sqrt(n)
    # the prox: r + gamma g(y, r) = w with g = (|r|^2 - y) r, and r has the phase of w
    np.testing.assert_allclose(r + fp4.gamma * (np.abs(r) ** 2 - y) * r, w, atol=1e-9)
    np.testing.assert_allclose(g, (np.abs(r) ** 2 - y) * r, atol=1e-8)
    np.testing.assert_allclose(smp["kappa_r"], 3 * np.abs(r) ** 2 - y, atol=1e-10)
    np.testing.assert_allclose(smp["kappa_t"], np.abs(r) ** 2 - y, atol=1e-10)
    v = (g * np.conj(z)).real
    assert abs(v.mean() + 0.2 * fp4.m) < 5 * v.std() / math.sqrt(n)  # (F2) from the sample


@pytest.mark.parametrize("alpha", [3.0, 4.0])
def test_exact_recovery_branch(alpha):
    """lam = 0, noiseless: m = q = 1 and alpha gamma E[kappa_r/(1 + gamma kappa_r)]/2 = 1, kappa_r = 2|z|^2."""
    r = fixed_point(P(alpha=alpha, lam=0.0), n_mc=0)
    assert r.status == Status.SUCCESS and r.strategy == "exact" and r.m == 1.0 and r.q == 1.0

    def f1(gam):
        e = integrate.quad(lambda x: 2 * x / (1 + 2 * gam * x) * math.exp(-x), 0, np.inf, epsabs=1e-14)[0]
        return alpha * gam * 0.5 * e - 1

    assert r.gamma == pytest.approx(brentq(f1, 1e-3, 50, xtol=1e-15), rel=1e-9)


def test_other_losses_and_noise():
    amp = fixed_point(P(alpha=4.0, lam=0.2, loss="amplitude"), n_mc=0)
    assert amp.status == Status.SUCCESS and 0 < amp.m < 1
    assert abs(amp.checks["x_stationarity"]) < 1e-10
    fine = fixed_point(amp.problem, n_mc=0, quad=dict(nz=100, nxi=20), tol=1e-12)
    assert abs(fine.m - amp.m) < 1e-10 and abs(fine.q - amp.q) < 1e-10
    noisy = fixed_point(P(alpha=4.0, lam=0.2, noise=0.3), n_mc=0)
    assert noisy.status == Status.SUCCESS
    assert noisy.test_error == pytest.approx(2 - 2 * (noisy.q + noisy.m**2) + 2 * noisy.q**2 + 0.09, abs=1e-8)


def test_law_dispatch_and_statuses():
    assert type(law_for(Problem(alpha=4.0))) is FixedPointLaw
    assert type(law_for(P(alpha=4.0))) is ComplexFixedPointLaw
    sgd = fixed_point(P(alpha=4.0, algorithm="sgd", batch=0.5), n_mc=0)
    assert sgd.status == Status.NOT_APPLICABLE
    # forced stages reach the same point
    base = fixed_point(P(alpha=6.0, lam=0.1), n_mc=0)
    for strategy in ("anderson", "continuation"):
        r = fixed_point(P(alpha=6.0, lam=0.1), n_mc=0, strategy=strategy)
        assert r.status == Status.SUCCESS, (strategy, r.message)
        assert abs(r.m - base.m) < 1e-9 and abs(r.q - base.q) < 1e-9
