"""Exact linear-model curves: the DMFT against closed forms from the Marchenko-Pastur law (tests/REFERENCES.md).

Linear teacher y = z, square loss, ridge lam, random start (m0, q0 = 1), a_i ~ N(0, I/d), n = alpha d.  The
objective L(x) = (1/alpha) sum_i (<a_i, x> - y_i)^2/2 + lam |x|^2/2 has the Hessian H = S + lam with
S = A^T A / alpha = (1/n) sum_i (sqrt(d) a_i)(sqrt(d) a_i)^T, a sample covariance of n standard Gaussians in d
dimensions: its spectrum tends to the Marchenko-Pastur law mu_MP of ratio 1/alpha (density
sqrt((b - s)(s - a))/(2 pi s/alpha) on [a, b] = [(1 -+ alpha^-1/2)^2], plus an atom 1 - alpha at s = 0 when
alpha < 1).  Since y = A x*, grad L(x) = H (x - x_inf) with x_inf = H^-1 S x*, and every method here moves the
error e = x - x_inf on each eigenvalue h = s + lam by its residual polynomial, e^t = P_t(h) e^0 (x^-1 = x^0):

    GD          P_t = (1 - eta h)^t
    heavy-ball  x' = x - eta h x + beta (x - x_prev)                 (P_-1 = P_0 = 1)
    Nesterov    p = x + beta (x - x_prev), x' = p - eta h p

x* and the start's independent part are isotropic with respect to the eigenvectors of S, so with g(s) = s/(s+lam)

    m_t = m_inf + int P_t(s + lam) (m0 - g(s)) dmu_MP(s),   m_inf = int g dmu_MP  (int dmu_MP = 1),
    q_t = int [(q0 - m0^2) P_t^2 + (g + P_t (m0 - g))^2] dmu_MP.

Mini-batch SGD with the unbiased factor s_i/b: E[s_i/b] = 1 and the gradient is linear in x, so the mean iterate
follows GD exactly, and m (linear in x, self-averaging) is GD's m_t for every b; q is not (selection noise).

The integrals are computed here by scipy.integrate.quad_vec of the MP density in the angle s = c + r cos(theta)
(a smooth integrand, relative accuracy 1e-12), independent of the DMFT and of sidmft's quadrature; the
quadrature is checked on the MP moments (1, 1, 1 + 1/alpha) and the residual polynomials against the scalar
iterations written out above.

Tolerances.  Default settings (normal scores "lhs-orth"): the moment-matched scores make every Gaussian average
of this linear problem exact on the sample, so the DMFT's batch spread is at the rounding level and its own SE is
no error bar; what is left is the O(1/M) bias of the moment matching (normal_scores) and float32 storage (<= 1e-7,
DMFTSettings): required |dev| <= 4 SE + 1/M_batch and <= 2e-3 at every t <= 100, for m and q (measured: m within
1.3e-9, q within 3e-6).  With plain Monte-Carlo scores ("iid") the SE is an honest error bar: m within 4 SE at
every t <= 100 (measured max |z| 0.46; r.m.s. 1.1-1.3 over 12 seeds).  SGD b = 0.3 (its Bernoulli factors
are plain Monte Carlo under any scores): m within 4 SE of GD's exact m at every t <= 100, 16 batches (measured
max |z| 3.4, at t = 44).  Measured tables:
docs/validation.md, "Exact curves of the linear model" (``python tests/test_dmft_linear_exact.py`` prints them).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from sidmft import Problem, Status
from sidmft.theory.dmft import dmft

ALPHA, LAM, ETA, BETA, BATCH, M0, Q0, STEPS = 2.0, 0.1, 0.3, 0.5, 0.3, 0.3, 1.0, 100
TIMES = (1, 2, 3, 5, 10, 20, 50, 100)
#: name -> (method, alpha, eta): eta (s_max + lam) = 0.90 (alpha = 2) and 0.89 (alpha = 0.5), inside every method's
#: stability region (GD 2, heavy-ball 2 (1 + beta) = 3, Nesterov 2 (1 + beta)/(1 + 2 beta) = 1.5)
CASES = {
    "gd": ("gd", ALPHA, ETA),
    "heavy-ball": ("heavy-ball", ALPHA, ETA),
    "nesterov": ("nesterov", ALPHA, ETA),
    "gd-alpha-0.5": ("gd", 0.5, 0.15),  # alpha < 1: the atom 1 - alpha of mu_MP at s = 0
}
DEFAULT_RUN = dict(samples=16000, batches=8, seed=1)  # 2000 paths per batch
IID_RUN = dict(samples=16000, batches=8, seed=2, scores="iid")
SGD_RUN = dict(samples=32000, batches=16, seed=3)


# ------------------------------------------------------------------------------- closed forms
def mp_integral(f, alpha: float):
    """int f dmu_MP for the Marchenko-Pastur law of ratio 1/alpha (variance 1), atom at 0 included; ``f`` may
    return an array (adaptive scipy.integrate.quad_vec, max-norm tolerance 1e-13 absolute, 1e-12 relative)."""
    g = 1.0 / alpha
    a, b = (1 - math.sqrt(g)) ** 2, (1 + math.sqrt(g)) ** 2
    c, r = (a + b) / 2, (b - a) / 2

    def integrand(th):
        s = c + r * math.cos(th)
        return np.asarray(f(s), dtype=float) * (r * math.sin(th)) ** 2 / (2 * math.pi * g * s)

    val, _ = integrate.quad_vec(integrand, 0.0, math.pi, epsabs=1e-13, epsrel=1e-12, norm="max", limit=2000)
    return val + max(0.0, 1.0 - alpha) * np.asarray(f(0.0), dtype=float)


def residual_polynomials(method: str, h: float, eta: float, steps: int, beta: float = BETA) -> np.ndarray:
    """P_0..P_steps at the eigenvalue h: the method's scalar iteration on f(x) = h x^2/2 from x^0 = x^-1 = 1."""
    x_prev, x, out = 1.0, 1.0, [1.0]
    for _ in range(steps):
        if method == "gd":
            new = x - eta * h * x
        elif method == "heavy-ball":
            new = x - eta * h * x + beta * (x - x_prev)
        elif method == "nesterov":
            p = x + beta * (x - x_prev)
            new = p - eta * h * p
        else:
            raise ValueError(method)
        x_prev, x = x, new
        out.append(x)
    return np.array(out)


def exact_curves(method: str, alpha: float, eta: float, lam: float = LAM, m0: float = M0, q0: float = Q0):
    """(m_t, q_t), t = 0..STEPS, of the module docstring."""

    def integrand(s):
        g = s / (s + lam)
        P = residual_polynomials(method, s + lam, eta, STEPS)
        return np.concatenate([g + P * (m0 - g), (q0 - m0 * m0) * P**2 + (g + P * (m0 - g)) ** 2])

    mq = mp_integral(integrand, alpha)
    return mq[: STEPS + 1], mq[STEPS + 1 :]


def problem(method: str, alpha: float, eta: float, **method_params) -> Problem:
    return Problem(
        model="linear", loss="square", init="random", m0=M0, q0=Q0, alpha=alpha, lam=LAM, eta=eta, steps=STEPS,
        algorithm=method, **method_params,
    )  # fmt: skip


def _problem(name: str) -> Problem:
    method, alpha, eta = CASES[name]
    return problem(method, alpha, eta, **({"beta": BETA} if method != "gd" else {}))


@pytest.fixture(scope="module")
def exact():
    return {name: exact_curves(*CASES[name]) for name in CASES}


# ------------------------------------------------------------------------------- the closed forms themselves
@pytest.mark.parametrize("alpha", [2.0, 0.5])
def test_mp_quadrature_moments(alpha):
    """int dmu = 1, int s dmu = 1, int s^2 dmu = 1 + 1/alpha (MP moments of ratio 1/alpha), atom included."""
    for k, want in ((0, 1.0), (1, 1.0), (2, 1.0 + 1.0 / alpha)):
        assert float(mp_integral(lambda s, k=k: s**k, alpha)) == pytest.approx(want, abs=1e-11)


def test_residual_polynomials_closed_forms():
    """GD: (1 - eta h)^t.  Heavy-ball and Nesterov: the 2-term recursions P_{t+1} = c1 P_t + c0 P_{t-1} with
    (c1, c0) = (1 + beta - eta h, -beta) and ((1 + beta)(1 - eta h), -beta (1 - eta h)), P_1 = 1 - eta h."""
    h, eta, T = 1.7, 0.3, 30
    np.testing.assert_allclose(residual_polynomials("gd", h, eta, T), (1 - eta * h) ** np.arange(T + 1), rtol=1e-12)
    for method, c1, c0 in (
        ("heavy-ball", 1 + BETA - eta * h, -BETA),
        ("nesterov", (1 + BETA) * (1 - eta * h), -BETA * (1 - eta * h)),
    ):
        P = [1.0, 1 - eta * h]
        for _ in range(T - 1):
            P.append(c1 * P[-1] + c0 * P[-2])
        np.testing.assert_allclose(residual_polynomials(method, h, eta, T), P, rtol=1e-10, atol=1e-14)


def test_fixed_point_limit(exact):
    """m_t and q_t tend to the ridge solution's int g dmu and int g^2 dmu (GD at t = 100 is within 1e-3)."""
    m, q = exact["gd"]
    g = lambda s: s / (s + LAM)
    assert m[-1] == pytest.approx(mp_integral(g, ALPHA), abs=1e-3)
    assert q[-1] == pytest.approx(mp_integral(lambda s: g(s) ** 2, ALPHA), abs=1e-3)


# ------------------------------------------------------------------------------- the DMFT against them
@pytest.mark.parametrize("name", list(CASES))
def test_dmft_meets_the_exact_curves(exact, name):
    """Default settings: m and q within 4 SE + 1/M_batch and within 2e-3 at every t <= 100 (module docstring)."""
    res = dmft(_problem(name), **DEFAULT_RUN)
    assert res.status == Status.SUCCESS, res.message
    per_batch = DEFAULT_RUN["samples"] // DEFAULT_RUN["batches"]
    for k, ref in zip(("m", "q"), exact[name]):
        dev = np.abs(res.mean(k) - ref)
        tol = np.minimum(4 * res.se(k) + 1.0 / per_batch, 2e-3)
        bad = {t: (float(dev[t]), float(res.se(k)[t])) for t in range(STEPS + 1) if not dev[t] <= tol[t]}
        assert not bad, (k, bad)


@pytest.mark.parametrize("name", list(CASES))
def test_dmft_with_plain_monte_carlo_scores_within_4_se(exact, name):
    """scores = "iid" (no moment matching: the SE is an honest Monte-Carlo error): m within 4 SE at every t."""
    res = dmft(_problem(name), **IID_RUN)
    assert res.status == Status.SUCCESS, res.message
    z = (res.mean("m") - exact[name][0])[1:] / res.se("m")[1:]
    assert np.all(np.abs(z) <= 4), {t + 1: round(float(v), 2) for t, v in enumerate(z) if abs(v) > 4}


def test_sgd_overlap_is_the_gd_curve(exact):
    """SGD, b = 0.3: m_t of GD within 4 SE (16 batches) at every t <= 100."""
    res = dmft(problem("sgd", ALPHA, ETA, batch=BATCH), **SGD_RUN)
    assert res.status == Status.SUCCESS, res.message
    z = (res.mean("m") - exact["gd"][0])[1:] / res.se("m")[1:]
    assert np.all(np.abs(z) <= 4), {t + 1: round(float(v), 2) for t, v in enumerate(z) if abs(v) > 4}


# ------------------------------------------------------------------------------- the table of docs/validation.md
def _rows():
    ex = {name: exact_curves(*CASES[name]) for name in CASES}
    for name in CASES:
        for label, run in (("default", DEFAULT_RUN), ("iid", IID_RUN)):
            res = dmft(_problem(name), **run)
            yield f"{name} ({label})", res.mean("m") - ex[name][0], res.se("m")
    res = dmft(problem("sgd", ALPHA, ETA, batch=BATCH), **SGD_RUN)
    yield "sgd b=0.3 (default)", res.mean("m") - ex["gd"][0], res.se("m")


def print_table():
    """|m_t - exact| / SE at TIMES, and the largest |deviation| over t <= 100, for every run of the tests."""
    print("| run | " + " | ".join(f"t={t}" for t in TIMES) + " | max abs dev (t <= 100) |")
    print("|---|" + "---|" * (len(TIMES) + 1))
    for label, dev, se in _rows():
        cells = [f"{abs(dev[t]) / se[t]:.2f}" for t in TIMES]
        print(f"| {label} | " + " | ".join(cells) + f" | {np.abs(dev).max():.1e} |")


if __name__ == "__main__":
    print_table()
