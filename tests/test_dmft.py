"""DMFT solver (docs/theory.md §2, §4): exact checks, Monte-Carlo error bars, blow-up, bad input.

Reference values come from independent computations: the docs/theory.md §5.3 reference m_1
(M = 2e5, 12 seeds), Marchenko-Pastur quadrature of linear GD, closed forms, and Gauss-Hermite
quadrature of the spectral sample-side law (§1.3).  Tolerances are 3-4 sigma of the measured
Monte-Carlo error (batch spread) plus the stated reference error.
Comparisons with finite-d simulation are in tests/test_dmft_sim.py.
"""

import json
import math

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss

from sidmft import OBSERVABLES, Problem, Status
from sidmft.theory.dmft import DMFTResult, DMFTSettings, dmft
from sidmft.theory.spectral import spectral

PR = Problem(alpha=3, lam=0.1, eta=0.1, steps=1)  # phase retrieval, intensity loss, T = 1 - 1/y


# ---------------------------------------------------------------------------------------------- helpers
def _mp_rule(alpha, n):
    """Nodes s and weights w of the Marchenko-Pastur law with ratio 1/alpha (Gauss-Chebyshev, 2nd kind)."""
    g = 1.0 / alpha
    a, b = (1 - math.sqrt(g)) ** 2, (1 + math.sqrt(g)) ** 2
    k = np.arange(1, n + 1)
    th = k * np.pi / (n + 1)
    s = (a + b) / 2 + (b - a) / 2 * np.cos(th)
    w = np.pi / (n + 1) * np.sin(th) ** 2 * ((b - a) / 2) ** 2 / (2 * np.pi * g * s)
    return s, w


def mp_linear_gd(alpha, eta, lam, m0, q0, steps, n=3000):
    """Exact d -> inf m_t, q_t of GD on L = |Ax - Ax*|^2/(2 alpha) + lam |x|^2/2 from a data-independent
    x0 = m0 x* + b0 xi: x^t = P_t(S) x0 + Q_t(S) x*, S = A^T A/alpha ~ Marchenko-Pastur(1/alpha),
    P_{t+1} = (1 - eta lam - eta s) P_t, Q_{t+1} = (1 - eta lam - eta s) Q_t + eta s;
    m_t = int (m0 P_t + Q_t) dMP, q_t = int (m0 P_t + Q_t)^2 + b0^2 P_t^2 dMP.  Gauss-Chebyshev (2nd kind)."""
    s, w = _mp_rule(alpha, n)
    assert abs(w.sum() - 1) < 1e-10 and alpha >= 1
    P, Q = np.ones(n), np.zeros(n)
    m, q = [], []
    for _ in range(steps + 1):
        f = m0 * P + Q
        m.append(w @ f)
        q.append(w @ f**2 + (q0 - m0**2) * (w @ P**2))
        P, Q = (1 - eta * lam - eta * s) * P, (1 - eta * lam - eta * s) * Q + eta * s
    return np.array(m), np.array(q)


def _within(x, ref, se, k=3.0, extra=0.0):
    return abs(x - ref) <= k * math.sqrt(se**2 + extra**2)


# ---------------------------------------------------------------------------------------------- (e) exact linear
LIN = Problem(model="linear", loss="square", init="random", m0=0.3, q0=1.0, alpha=2, eta=0.2, lam=0.1, steps=100)


def test_mp_reference_matches_theory_numbers():
    """docs/theory.md §2.7: m_t = 0.4340, 0.5246, 0.6702, 0.7631, 0.8514 at t = 1, 2, 5, 10, 100."""
    m, _ = mp_linear_gd(2, 0.2, 0.1, 0.3, 1.0, 100)
    assert np.allclose(m[[1, 2, 5, 10, 100]], [0.4340, 0.5246, 0.6702, 0.7631, 0.8514], atol=2.5e-4)


def test_linear_square_random_init_exact():
    """Linear model, square loss: g is linear in the Gaussians, so with moment-matched scores
    ('lhs-orth') every average is exact and the DMFT must reproduce the MP trajectory to rounding
    (1e-6 allows for the Cholesky truncation of degenerate directions at relative 1e-8)."""
    m, q = mp_linear_gd(2, 0.2, 0.1, 0.3, 1.0, 100)
    r = dmft(LIN, samples=2000, batches=2, seed=1, precision="float64")
    assert r.success, r.message
    assert np.max(np.abs(r.mean("m") - m)) < 1e-6
    assert np.max(np.abs(r.mean("q") - q)) < 1e-6
    assert np.allclose(r.mean("cosine"), m / np.sqrt(q), atol=1e-6)
    r32 = dmft(LIN, samples=2000, batches=2, seed=1)  # default float32 histories
    assert np.max(np.abs(r32.mean("m") - m)) < 1e-6 and np.max(np.abs(r32.mean("q") - q)) < 1e-6


def test_linear_square_iid_scores_within_mc_error():
    """Same with plain iid scores: agreement to the Monte-Carlo error (batch spread)."""
    m, q = mp_linear_gd(2, 0.2, 0.1, 0.3, 1.0, 30)
    r = dmft(LIN.replace(steps=30), samples=32000, batches=16, seed=2, scores="iid")
    for t in (1, 2, 5, 10, 30):
        assert r.se("m")[t] > 1e-4
        assert _within(r.mean("m")[t], m[t], r.se("m")[t], k=4), (t, r.mean("m")[t], m[t], r.se("m")[t])
        assert _within(r.mean("q")[t], q[t], r.se("q")[t], k=4), (t, r.mean("q")[t], q[t], r.se("q")[t])


def mp_linear_kernels(alpha, eta, lam, m0, q0, steps, n=3000):
    """Same Marchenko-Pastur quadrature for the other observables of linear GD (y = z, square loss):
    with e^t = x^t - x* = (f_t - 1) x* + b0 P_t xi, f_t = m0 P_t + Q_t,
    train_loss = |A e|^2/(2n) = int s [(f - 1)^2 + b0^2 P^2] dMP / 2,
    grad = S e + lam x  ->  grad_norm = int (s (f - 1) + lam f)^2 + b0^2 (s + lam)^2 P^2 dMP,
    C_x(t, t') = int f_t f_t' + b0^2 P_t P_t' dMP."""
    s, w = _mp_rule(alpha, n)
    b2 = q0 - m0**2
    P, Q = np.ones(n), np.zeros(n)
    F, Ps = [], []
    for _ in range(steps + 1):
        F.append(m0 * P + Q)
        Ps.append(P)
        P, Q = (1 - eta * lam - eta * s) * P, (1 - eta * lam - eta * s) * Q + eta * s
    F, Ps = np.array(F), np.array(Ps)
    train = (F - 1) ** 2 @ (w * s) / 2 + b2 * Ps**2 @ (w * s) / 2
    gn = (s * (F - 1) + lam * F) ** 2 @ w + b2 * ((s + lam) ** 2 * Ps**2) @ w
    C = (F * w) @ F.T + b2 * (Ps * w) @ Ps.T
    return train, gn, C


def test_linear_loss_gradient_norm_and_kernel_exact():
    """Linear model, square loss, moment-matched scores: train loss, objective, gradient norm and the whole
    two-time kernel C_x against the Marchenko-Pastur quadrature above (exact to the same 1e-6 as m, q)."""
    p = LIN.replace(steps=20)
    train, gn, C = mp_linear_kernels(2, 0.2, 0.1, 0.3, 1.0, 20)
    r = dmft(p, samples=2000, batches=2, seed=3, precision="float64")
    assert r.success, r.message
    q = np.diag(C)
    assert np.max(np.abs(r.mean("train_loss") - train)) < 1e-6
    assert np.max(np.abs(r.mean("objective") - (train + 0.1 * q / 2))) < 1e-6
    assert np.max(np.abs(r.mean("grad_norm") - gn)) < 1e-6
    assert np.max(np.abs(r.C_x - C)) < 1e-6


# ---------------------------------------------------------------------------------------------- (a) reference m1
def test_m1_reference_value():
    """docs/theory.md §5.3: m_1 = 0.8380 +- 0.0003 (alpha = 3, lam = eta = 0.1, PR, intensity, T = 1 - 1/y)."""
    r = dmft(PR, samples=200000, batches=20, seed=11)
    assert r.success
    assert 1e-4 < r.se("m")[1] < 2e-3
    assert _within(r.mean("m")[1], 0.8380, r.se("m")[1], k=3, extra=0.0003), (r.mean("m")[1], r.se("m")[1])


# ---------------------------------------------------------------------------------------------- (d) t = 0 exact
def _zw_rule(rho):
    """Quadrature for (z, w) ~ N(0, [[1, rho], [rho, 1]]): w = rho z + sqrt(1 - rho^2) e, composite
    Gauss-Legendre in z on [-14, 14] (the factor z^2/((1 - R_S) z^2 + R_S) has poles at +-0.43i, too close to
    the real axis for Gauss-Hermite), Gauss-Hermite in e (the integrands are polynomials in e)."""
    from numpy.polynomial.legendre import leggauss

    xg, wg = leggauss(40)
    edges = np.linspace(-14, 14, 141)
    z = np.concatenate([(a + b) / 2 + (b - a) / 2 * xg for a, b in zip(edges[:-1], edges[1:])])
    wz = (
        np.concatenate([(b - a) / 2 * wg for a, b in zip(edges[:-1], edges[1:])])
        * np.exp(-(z**2) / 2)
        / math.sqrt(2 * math.pi)
    )
    xe, we = hermegauss(30)
    we = we / math.sqrt(2 * math.pi)
    Z, E = z[:, None], xe[None, :]
    return Z, rho * Z + math.sqrt(1 - rho**2) * E, wz[:, None] * we[None, :]


def _r0_law_expectations(sp, kappa):
    """E over the §1.3 law: u = w/(1 - R_S T(z^2)) with T = 1 - 1/y, r0 = kappa u.
    Returns E[l(y, r0)] (intensity loss) and alpha E[(T u)^2]."""
    z, w, W = _zw_rule(sp.rho)
    RS = sp.R_S
    u = w * z**2 / ((1 - RS) * z**2 + RS)  # 1/(1 - R_S (1 - 1/z^2)) without the pole
    Tu = w * (z**2 - 1) / ((1 - RS) * z**2 + RS)
    r0 = kappa * u
    return float(np.sum(W * 0.25 * (r0**2 - z**2) ** 2)), float(3 * np.sum(W * Tu**2))


@pytest.mark.parametrize("kappa", [1.0, 0.8])
def test_t0_reproduces_spectral_theory(kappa):
    p = PR.replace(kappa=kappa, steps=2)
    sp = spectral(p, threshold=False)
    r = dmft(p, samples=40000, batches=8, seed=5)
    assert np.isnan(r.R_g[0, 0])  # no separate w^0 in spectral mode
    L0, SigSS = _r0_law_expectations(sp, kappa)
    L_t, L_se = r.mean("train_loss"), r.se("train_loss")
    assert _within(L_t[0], L0, L_se[0], k=4), (L_t[0], L0, L_se[0])
    assert r.se("train_loss")[0] < 0.05 * L0  # heavy-tailed: l ~ r^4
    # the closed form Sigma(S,S) = (1 - rho^2)/R_S^2 used by the solver equals alpha E[(T u)^2] (§1.2, §2.4)
    assert SigSS == pytest.approx(r.Sigma_SS, rel=1e-9)


# ---------------------------------------------------------------------------------------------- (f) naive
def test_naive_is_gaussian_start_and_differs():
    """Naive DMFT (§2.5) = random init with m0 = kappa rho, q0 = kappa^2.  For PR/intensity with q0 = 1 = E[y],
    E[g^0 z] = E[r^3 z] - E[z^3 r] = 3 m0 - 3 m0 = 0 for Gaussian r, so m_1 = (1 - eta lam) kappa rho exactly
    (the original notes quote 0.911; the exact value is 0.9103).  The correct DMFT gives 0.838: 70 sigma apart."""
    sp = spectral(PR, threshold=False)
    rn = dmft(PR, samples=40000, batches=8, seed=3, naive=True)
    rc = dmft(PR, samples=40000, batches=8, seed=3)
    assert rn.naive and "naive" in rn.message
    assert _within(rn.mean("m")[1], 0.99 * sp.rho, rn.se("m")[1], k=4), (rn.mean("m")[1], rn.se("m")[1])
    assert abs(rn.mean("m")[1] - rc.mean("m")[1]) > 20 * math.hypot(rn.se("m")[1], rc.se("m")[1])
    with pytest.raises(ValueError, match="naive"):
        dmft(LIN, samples=200, batches=1, naive=True)


# ---------------------------------------------------------------------------------------------- (g) blow-up
def test_blowup_detected_and_reported():
    """docs/theory.md §5.4: T = min(y, 3) at alpha = 3, eta = 0.1 blows up (the initial fields are inflated by up to
    l*/(l* - tau) and samples beyond |r| ~ sqrt(2 alpha/eta) escape the cubic map); eta = 0.02 is fine."""
    p = Problem(preprocess="clip:3", alpha=3, lam=0.1, eta=0.1, steps=30)
    r = dmft(p, samples=20000, batches=4, seed=0)
    assert r.status == Status.BLOWUP and not r.success
    tb = r.blowup_step
    assert tb is not None and 0 <= tb < 30
    assert "blow-up" in r.message and str(tb) in r.message
    assert np.all(np.isfinite(r.mean("m")[: tb + 1])) and np.all(np.isnan(r.mean("m")[tb + 1 :]))
    assert np.all(np.isnan(r.mean("train_loss")[tb:]))
    assert r.to_xarray().attrs["blowup_step"] == tb
    ok = dmft(p.replace(eta=0.02), samples=20000, batches=4, seed=0)
    assert ok.success and ok.blowup_step is None and np.all(np.isfinite(ok.mean("m")))


# ---------------------------------------------------------------------------------------------- threshold
def test_below_threshold_status():
    r = dmft(PR.replace(alpha=0.4, steps=5), samples=1000, batches=2)
    assert r.status == Status.BELOW_THRESHOLD
    assert "threshold" in r.message and np.all(np.isnan(r.mean("m")))


# ---------------------------------------------------------------------------------------------- numerics
def test_numba_matches_numpy_reference():
    """The numba kernels (register-blocked reverse sweep, path padding) agree with the plain numpy
    recursion to rounding; also for a noisy relu model with a random start (covers the non-spectral path)."""
    for p in (
        PR.replace(steps=25),
        Problem(model="relu", noise=0.1, loss="square", init="random", m0=0.2, q0=0.5, steps=20),
    ):
        a = dmft(p, samples=1003, batches=1, seed=4, kernel="numba", precision="float64")
        b = dmft(p, samples=1003, batches=1, seed=4, kernel="numpy", precision="float64")
        for k in ("m", "q", "train_loss", "grad_norm"):
            assert np.allclose(a.mean(k), b.mean(k), rtol=1e-7, atol=1e-12), k
        assert np.allclose(a.R_g[:, 1:], b.R_g[:, 1:], rtol=1e-8, atol=1e-10)


def test_float32_histories_close_to_float64():
    p = PR.replace(steps=40)
    a = dmft(p, samples=8000, batches=2, seed=6, precision="float64")
    b = dmft(p, samples=8000, batches=2, seed=6, precision="float32")
    assert np.max(np.abs(a.mean("m") - b.mean("m"))) < 1e-5
    assert np.max(np.abs(a.mean("q") - b.mean("q"))) < 1e-5
    assert np.max(np.abs(a.mean("m") - b.mean("m"))) < 0.05 * np.max(a.se("m")[1:])


def test_batches_independent_of_layout_and_threads():
    """Batch b always uses SeedSequence(seed, spawn_key=(b,)): with the same paths per batch, the first batches
    of a 2- and a 3-batch run coincide bit for bit; the thread count (path-parallel kernels with 1 thread versus
    batch-parallel single-threaded kernels) changes only the rounding (different FMA contraction)."""
    p = PR.replace(steps=8)
    a = dmft(p, samples=2000, batches=2, seed=9, threads=2)
    b = dmft(p, samples=3000, batches=3, seed=9, threads=2)
    a1 = dmft(p, samples=2000, batches=2, seed=9, threads=1)
    for k in OBSERVABLES:
        assert np.array_equal(a.per_batch[k], b.per_batch[k][:2], equal_nan=True), k
        assert np.allclose(a.per_batch[k], a1.per_batch[k], rtol=1e-10, atol=1e-13), k
    c = dmft(p, samples=2000, batches=2, seed=10)
    assert not np.allclose(c.mean("m")[1:], a.mean("m")[1:])


def test_variance_reduction_lhs_orth():
    """Spread of m_t over 6 independent batches: moment-matched LHS ('lhs-orth') vs iid scores."""
    p = PR.replace(steps=10)
    sd = {}
    for sc in ("iid", "lhs-orth"):
        r = dmft(p, samples=6 * 3000, batches=6, seed=21, scores=sc)
        sd[sc] = r.per_batch["m"][:, [5, 10]].std(axis=0, ddof=1)
    assert np.all(sd["lhs-orth"] < sd["iid"])


# ---------------------------------------------------------------------------------------------- outputs
def test_result_object_and_file(tmp_path):
    p = PR.replace(steps=6)
    r = dmft(p, samples=1000, batches=2, seed=0)
    assert isinstance(r, DMFTResult) and r.success and r.samples == 1000 and r.batches == 2
    assert np.array_equal(r.t, np.arange(7))
    for k in OBSERVABLES:
        assert r.mean(k).shape == (7,) and r.se(k).shape == (7,)
    pm, pq = r.per_batch["m"], r.per_batch["q"]  # PR, sigma = 0 (docs/theory.md §0)
    assert np.allclose(r.per_batch["test_error"], 3 - 2 * (pq + 2 * pm**2) + 3 * pq**2, atol=1e-9)
    assert np.allclose(r.mean("test_error"), r.per_batch["test_error"].mean(axis=0))
    for k in ("C_x", "R_x", "R_g", "Sigma"):
        assert getattr(r, k).shape == (7, 7)
    assert r.diagnostics["min_schur"] > -1e-8
    ds = r.to_xarray()
    assert ds.attrs["samples"] == 1000 and ds.attrs["batches"] == 2 and ds.attrs["problem_alpha"] == 3.0
    assert set(ds["C_x"].dims) == {"t", "t2"}
    path = r.save(tmp_path / "d.nc")
    from sidmft.io import load, problem_from_attrs

    back = load(path)
    assert np.allclose(back["m"].values, r.mean("m")) and problem_from_attrs(back.attrs) == p


def test_cli_json(tmp_path):
    from click.testing import CliRunner

    from sidmft.cli import main

    out = tmp_path / "r.nc"
    res = CliRunner().invoke(
        main,
        [
            "dmft",
            "--steps",
            "3",
            "--samples",
            "1000",
            "--batches",
            "2",
            "--json",
            "--no-progress",
            "--output",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout.strip().splitlines()[-1])
    for k in OBSERVABLES:
        assert len(d[k]) == 4 and len(d[k + "_se"]) == 4
    # rho^2 = 0.8454 at alpha = 3 (docs/theory.md §1.4 table, rounded to 4 digits)
    assert d["status"] == "success" and d["spectral_overlap"] == pytest.approx(math.sqrt(0.8454), abs=5e-5)
    assert "top_eigenvalue" in d and out.exists()
    bad = CliRunner().invoke(main, ["dmft", "--samples", "10", "--no-progress"])
    assert bad.exit_code == 2 and "samples" in bad.output


# ---------------------------------------------------------------------------------------------- (h) bad input
@pytest.mark.parametrize(
    "kw, word",
    [
        (dict(samples=10), "samples"),
        (dict(samples=1000.5), "samples"),
        (dict(batches=0), "batches"),
        (dict(samples=1000, batches=30), "samples"),
        (dict(seed=-1), "seed"),
        (dict(kernel="cuda"), "kernel"),
        (dict(scores="sobol"), "scores"),
        (dict(precision="float16"), "precision"),
    ],
)
def test_bad_arguments(kw, word):
    with pytest.raises(ValueError, match=word):
        dmft(PR, **kw)


@pytest.mark.parametrize(
    "kw, word",
    [
        (dict(samples=10), "samples"),
        (dict(samples=True), "samples"),
        (dict(batches=0), "batches"),
        (dict(kernel="cuda"), "kernel"),
        (dict(scores="sobol"), "scores"),
        (dict(precision="float16"), "precision"),
        (dict(threads=0), "threads"),
        (dict(threads=1.5), "threads"),
    ],
)
def test_bad_settings(kw, word):
    with pytest.raises(ValueError, match=word):
        DMFTSettings(**kw)


def test_settings_object_is_the_keywords():
    """``settings=DMFTSettings(...)`` runs the same computation as the keywords (bit-identical), the
    settings are frozen, and giving both is refused."""
    import dataclasses

    p = PR.replace(steps=3)
    s = DMFTSettings(samples=601.0, batches=2, scores="lhs", precision="float64")
    assert (s.samples, s.paths_per_batch, s.paths_used) == (601, 300, 600) and isinstance(s.samples, int)
    a = dmft(p, seed=3, settings=s)
    b = dmft(p, samples=601, batches=2, scores="lhs", precision="float64", seed=3)
    for k in ("C_x", "R_x", "R_g", "Sigma", "mu"):
        assert np.array_equal(getattr(a, k), getattr(b, k), equal_nan=True), k
    assert a.per_batch["m"].tobytes() == b.per_batch["m"].tobytes() and (a.samples, a.batches) == (600, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.samples = 10
    with pytest.raises(ValueError, match="not both"):
        dmft(p, samples=600, settings=s)
    with pytest.raises(TypeError, match="DMFTSettings"):
        dmft(p, settings={"samples": 600})


def test_bad_problem():
    with pytest.raises(ValueError, match="init"):
        dmft(Problem(init="given", x0=np.ones(10)))
    with pytest.raises(TypeError, match="Problem"):
        dmft({"alpha": 3})


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
def test_result_file_round_trip(tmp_path, suffix):
    """zarr and netCDF: every observable and its _se, the per-batch values, every kernel (two-time and
    spectral-direction) and every metadata attribute read back unchanged."""
    from sidmft.io import encode_attrs, load, problem_from_attrs

    p = PR.replace(steps=5)
    r = dmft(p, samples=1000, batches=2, seed=1)
    path = r.save(tmp_path / f"d{suffix}")
    back = load(path)
    np.testing.assert_array_equal(back["t"].values, r.t)
    for k in OBSERVABLES:
        np.testing.assert_array_equal(back[k].values, r.mean(k))
        np.testing.assert_array_equal(back[k + "_se"].values, r.se(k))
        np.testing.assert_array_equal(back[k + "_batch"].values, r.per_batch[k])
    for k in ("C_x", "R_x", "R_g", "Sigma"):
        assert back[k].dims == ("t", "t2")
        np.testing.assert_array_equal(back[k].values, getattr(r, k))
    for k in ("mu", "C_x_v", "R_x_S", "R_g_S", "Sigma_S"):
        if getattr(r, k) is not None:
            np.testing.assert_array_equal(back[k].values, getattr(r, k))
    want = encode_attrs(r.to_xarray().attrs)
    assert set(back.attrs) == set(want)
    for k, v in want.items():
        if k == "created":
            continue  # the creation time stamp of each to_xarray() call
        got = back.attrs[k]
        assert (isinstance(v, float) and math.isnan(v) and math.isnan(got)) or np.array_equal(got, v), (k, got, v)
    assert problem_from_attrs(back.attrs) == p and back.attrs["status"] == "success"
    assert back.attrs["spectral_overlap"] == r.spectral_overlap and back.attrs["blowup_step"] == -1
    # and back into a result: Result.load picks the class recorded in the file
    from sidmft.results import Result

    again = Result.load(path)
    assert type(again) is DMFTResult and again.problem == p and again.status == r.status
    assert (again.samples, again.batches, again.seed, again.blowup_step) == (r.samples, r.batches, r.seed, None)
    assert again.spectral_overlap == r.spectral_overlap and again.replica_dim == "batch"
    for k in OBSERVABLES:
        np.testing.assert_array_equal(again.mean(k), r.mean(k))
        np.testing.assert_array_equal(again.se(k), r.se(k))
        np.testing.assert_array_equal(again.per_replica(k), r.per_replica(k))
    for k in ("C_x", "R_x", "R_g", "Sigma", "mu", "C_x_v", "R_x_S", "R_g_S", "Sigma_S"):
        if getattr(r, k) is not None:
            np.testing.assert_array_equal(getattr(again, k), getattr(r, k))
