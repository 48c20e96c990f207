"""Spectral theory for complex signals (docs/theory.md §7.1): the §1.1 formulas with z ~ CN(0, 1).

References are computed here by an independent route: ``scipy.integrate.quad`` of the master formulas over the
Exp(1) law of |z|^2 (noiseless phase retrieval, T = 1 - 1/y), and a dense complex simulation in numpy.
"""

import math
import warnings

import numpy as np
import pytest
from scipy import integrate
from scipy.linalg import eigh
from scipy.optimize import brentq
from threadpoolctl import threadpool_limits

from sidmft import Problem, Status
from sidmft.quadrature import QuadSpec, joint_rule, moment_rule, radial_rule
from sidmft.theory.spectral import (
    parameter_side_law,
    sample_side_law,
    spectral,
    spectral_threshold,
)


def P(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Problem(field="complex", **kw)


# ------------------------------------------------------------------ independent master formulas (quad over Exp(1))
def _E(h):
    """E[h(e)], e = |z|^2 ~ Exp(1), by adaptive quadrature (split at 1, where T = 1 - 1/e crosses 0)."""
    f = lambda e: h(e) * math.exp(-e)  # noqa: E731
    return (
        integrate.quad(f, 0, 1, epsabs=1e-14, epsrel=1e-13)[0]
        + integrate.quad(f, 1, np.inf, epsabs=1e-14, epsrel=1e-13)[0]
    )


def _quad_reference(alpha):
    """(rho^2, lambda_1) for T = 1 - 1/y, y = |z|^2, written out: T/(l - T) = (e - 1)/((l - 1) e + 1)."""
    r = lambda e, l: (e - 1.0) / ((l - 1.0) * e + 1.0)  # noqa: E731
    psi = lambda l: l * (1 / alpha + _E(lambda e: r(e, l)))  # noqa: E731
    phi = lambda l: l * _E(lambda e: r(e, l) * e)  # noqa: E731
    dpsi = lambda l: 1 / alpha - _E(lambda e: r(e, l) ** 2)  # noqa: E731
    dphi = lambda l: -_E(lambda e: r(e, l) ** 2 * e)  # noqa: E731
    tau = 1.0
    lbar = tau if dpsi(tau + 1e-12) >= 0 else brentq(dpsi, tau + 1e-12, 50.0, xtol=1e-14)
    ls = brentq(lambda l: psi(max(l, lbar)) - phi(l), lbar + 1e-12, 100.0, xtol=1e-14)
    return dpsi(ls) / (dpsi(ls) - dphi(ls)), psi(ls)


THEORY_RHO2 = {1.05: 0.0168, 2.0: 0.3381, 4.0: 0.7345, 6.0: 0.8673}  # docs/theory.md §7.1 (4 digits)


@pytest.mark.parametrize("alpha", list(THEORY_RHO2))
def test_complex_lal_against_quad(alpha):
    res = spectral(P(alpha=alpha))
    assert res.status == Status.SUCCESS and res.field == "complex"
    r2, lam1 = _quad_reference(alpha)
    assert res.rho_sq == pytest.approx(r2, abs=1e-9)
    assert res.top_eigenvalue == pytest.approx(lam1, abs=1e-9)
    assert res.rho_sq == pytest.approx(THEORY_RHO2[alpha], abs=0.5e-4 + 1e-9)  # the table is rounded
    # lambda_1 = 1/alpha exactly (docs/theory.md §7.1), quadrature accuracy ~1e-10
    assert abs(res.top_eigenvalue - 1 / alpha) < 1e-10
    assert abs(lam1 - 1 / alpha) < 1e-9
    assert res.identity_residual < 1e-10


def test_complex_threshold_is_one():
    # closed form: for T = 1 - 1/y the transition sits where l_bar = sup T = 1, at alpha_c = 1/E[T^2/(1-T)^2]
    # = 1/E[(y - 1)^2] = 1/Var(Exp(1)) = 1 (real: 1/E[(z^2 - 1)^2] = 1/2)
    assert _E(lambda e: (e - 1) ** 2) == pytest.approx(1.0, abs=1e-12)
    assert abs(spectral(P(alpha=2.0)).alpha_c - 1.0) < 1e-6
    assert abs(spectral_threshold("phase-retrieval", "lal", field="complex") - 1.0) < 1e-6
    assert abs(spectral_threshold("phase-retrieval", "lal") - 0.5) < 1e-9  # the real one is unchanged
    below = spectral(P(alpha=0.99))
    assert below.status == Status.BELOW_THRESHOLD and below.rho == 0.0
    assert spectral(P(alpha=1.001)).rho_sq > 0


def test_complex_clip_against_quad():
    """A second preprocessing (T = min(y, 3), bounded kink at y = 3): rho^2 and lambda_1 against quad."""
    alpha = 3.0
    res = spectral(P(alpha=alpha, preprocess="clip:3"))
    T = lambda e: min(e, 3.0)  # noqa: E731
    pts = [3.0]
    E = lambda h: sum(  # noqa: E731
        integrate.quad(lambda e: h(e) * math.exp(-e), a, b, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
        for a, b in [(0, pts[0]), (pts[0], np.inf)]
    )
    psi = lambda l: l * (1 / alpha + E(lambda e: T(e) / (l - T(e))))  # noqa: E731
    phi = lambda l: l * E(lambda e: T(e) * e / (l - T(e)))  # noqa: E731
    dpsi = lambda l: 1 / alpha - E(lambda e: T(e) ** 2 / (l - T(e)) ** 2)  # noqa: E731
    lbar = brentq(dpsi, 3.0 + 1e-3, 100.0, xtol=1e-14)
    ls = brentq(lambda l: psi(max(l, lbar)) - phi(l), lbar, 200.0, xtol=1e-14)
    dphi = -E(lambda e: T(e) ** 2 * e / (ls - T(e)) ** 2)
    assert res.rho_sq == pytest.approx(dpsi(ls) / (dpsi(ls) - dphi), abs=1e-8)
    assert res.top_eigenvalue == pytest.approx(psi(ls), rel=1e-9)
    assert res.bulk_edge == pytest.approx(psi(lbar), rel=1e-9)


def test_radial_rule_moments():
    # E|z|^(2k) = k! for z ~ CN(0, 1)
    x, w = radial_rule()
    for k in range(5):
        assert w @ x ** (2 * k) == pytest.approx(math.factorial(k), rel=1e-13)
    mr = moment_rule(Problem(field="complex").model_obj, (), field="complex")
    assert np.all(mr.W[:, 1] == 0)
    assert mr.W[:, 2].sum() == pytest.approx(1.0, rel=1e-13)
    assert mr.W[:, 0] @ mr.y**2 == pytest.approx(2.0, rel=1e-12)  # E|z|^4 = 2
    jr = joint_rule(Problem(field="complex").model_obj, (), field="complex")
    assert np.all(jr.z >= 0)
    with pytest.raises(ValueError, match="field"):
        moment_rule(Problem().model_obj, (), field="quaternion")


def test_complex_noisy_moment_rule_against_quad():
    """Noisy phase retrieval y = |z|^2 + sigma eps: the label-density rule against quad of E[h(y) |z|^k]."""
    sig = 0.3
    mr = moment_rule(Problem(field="complex", noise=sig).model_obj, (0.0,), QuadSpec(), field="complex")
    h = lambda y: np.tanh(y - 1.0)  # noqa: E731
    # E[h(y) e^k] with y | e ~ N(e, sig^2): integrate over (e, eps) by nested quad
    for k in (0, 2):

        def inner(e):
            return integrate.quad(
                lambda t: np.tanh(e + sig * t - 1.0) * math.exp(-t * t / 2) / math.sqrt(2 * math.pi), -12, 12
            )[0]

        ref = integrate.quad(lambda e, k=k: inner(e) * e ** (k // 2) * math.exp(-e), 0, 40, epsabs=1e-12, limit=200)[0]
        assert mr.W[:, k] @ h(mr.y) == pytest.approx(ref, abs=2e-9)
    assert np.all(mr.W[:, 1] == 0)


# ------------------------------------------------------------------ the laws at initialisation (complex)
@pytest.fixture(scope="module")
def res4():
    return spectral(P(alpha=4.0))


def test_complex_sigma_identity_monte_carlo(res4):
    """Sigma(S, S) = alpha E|T u|^2 = (1 - rho^2)/R_S^2 (docs/theory.md §7.1) by Monte Carlo over the law."""
    law = sample_side_law(res4)
    assert law.field == "complex"
    n = 400_000
    z, u, y = law.sample(n, rng=np.random.default_rng(np.random.SeedSequence(71)))
    assert np.iscomplexobj(z) and np.iscomplexobj(u)
    T = res4.problem.T(y)
    v = 4.0 * np.abs(T * u) ** 2
    mc, se = v.mean(), v.std() / math.sqrt(n)
    ref = (1 - res4.rho_sq) / res4.R_S**2
    assert res4.Sigma_SS == pytest.approx(ref, rel=1e-10)
    assert abs(mc - ref) < 4 * se
    # E[u z-bar] and E|u|^2 from the exact-in-xi moments against the same samples
    mom = law.moments()
    for key, vals in (("E_uz", (u * np.conj(z)).real), ("E_u2", np.abs(u) ** 2)):
        assert abs(vals.mean() - mom[key]) < 4 * vals.std() / math.sqrt(n)
    assert abs((u * np.conj(z)).imag.mean()) < 4 * (u * np.conj(z)).imag.std() / math.sqrt(n)
    assert mom["E_u"] == 0.0
    # E[w z-bar] = rho by construction: w = u (1 - R_S T) with kappa = 1
    w = u * (1 - res4.R_S * np.where(np.isneginf(T), 0.0, T))
    w = np.where(np.isneginf(T), np.nan, w)
    ok = np.isfinite(w)
    assert abs((w[ok] * np.conj(z[ok])).real.mean() - res4.rho) < 4 / math.sqrt(ok.sum())


def test_complex_law_quadrature(res4):
    """expect() (radial rule x phase x 2-D Gauss-Hermite) against the moments (label-moment rule)."""
    law = sample_side_law(res4)
    law.n_xi = 12
    mom = law.moments()
    e_uz = law.expect(lambda z, u, y: (u * np.conj(z)).real)
    e_u2 = law.expect(lambda z, u, y: np.abs(u) ** 2)
    e_u = law.expect(lambda z, u, y: u)
    assert e_uz == pytest.approx(mom["E_uz"], rel=1e-9)
    assert e_u2 == pytest.approx(mom["E_u2"], rel=1e-9)
    assert abs(e_u) < 1e-12  # circular: E[u] = 0
    # parameter side: E[v x-bar] = rho, E|v|^2 = 1, E[v x] = 0
    pl = parameter_side_law(res4)
    pl.n = 8
    assert pl.field == "complex"
    assert pl.expect(lambda x, v: (v * np.conj(x)).real) == pytest.approx(res4.rho, rel=1e-12)
    assert pl.expect(lambda x, v: np.abs(v) ** 2) == pytest.approx(1.0, rel=1e-12)
    assert abs(pl.expect(lambda x, v: v * x)) < 1e-12


def test_complex_refused_for_non_even_model():
    with pytest.raises(ValueError, match="even"):
        spectral_threshold("linear", "identity", field="complex")


def test_complex_result_records_field(tmp_path, res4):
    assert res4.to_dict()["field"] == "complex"
    from sidmft.theory.spectral import SpectralTheoryResult

    back = SpectralTheoryResult.load(res4.save(tmp_path / "s.nc"))
    assert back.field == "complex"
    assert back.rho_sq == res4.rho_sq


# ------------------------------------------------------------------ finite-size complex simulation (numpy)
def _top_overlap(alpha, d, seed):
    """|x*^H v|^2/d^2 for the top eigenvector v of D = (1/alpha) A^H diag(1 - 1/y) A, y = |A x*|^2."""
    n = int(alpha * d)
    rng = np.random.default_rng(np.random.SeedSequence([2025, seed]))
    A = (rng.standard_normal((n, d)) + 1j * rng.standard_normal((n, d))) / math.sqrt(2 * d)
    xs = np.ones(d)  # ||x*||^2 = d (the law of A is unitarily invariant)
    y = np.abs(A @ xs) ** 2
    D = (A.conj().T * (1 - 1 / y)) @ A / alpha
    v = eigh(D, subset_by_index=[d - 1, d - 1])[1][:, 0]
    return abs(np.vdot(xs, v)) ** 2 / d


def test_complex_rho_against_dense_simulation():
    """rho^2 at alpha = 4 against the top eigenvector of the Hermitian D = (1/alpha) A^H diag(T) A, d = 400,
    16 seeds (dense eigh, top pair only).  Tolerance: 3 seed SE plus 0.01 for the O(1/sqrt(d)) finite-size
    shift (measured here: 0.726 +- 0.006 against 0.7345)."""
    alpha, d = 4.0, 400
    with threadpool_limits(1):
        vals = [_top_overlap(alpha, d, s) for s in range(16)]
    vals = np.array(vals)
    se = vals.std(ddof=1) / math.sqrt(len(vals))
    assert abs(vals.mean() - spectral(P(alpha=alpha)).rho_sq) < 3 * se + 0.01
