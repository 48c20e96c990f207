"""Problem specification: validation and registries."""

import numpy as np
import pytest

import sidmft
from sidmft import Problem


@pytest.mark.parametrize(
    "kw, word",
    [
        (dict(alpha=0), "alpha"),
        (dict(alpha=-1), "alpha"),
        (dict(eta=0), "eta"),
        (dict(lam=-0.1), "lam"),
        (dict(steps=-1), "steps"),
        (dict(steps=1.5), "steps"),
        (dict(noise=-1), "noise"),
        (dict(model="nope"), "model"),
        (dict(loss="nope"), "loss"),
        (dict(preprocess="nope"), "preprocess"),
        (dict(preprocess="trim"), "trim"),
        (dict(preprocess="clip:abc"), "clip"),
        (dict(preprocess="mm", alpha=0.9), "alpha"),
        (dict(init="warm"), "init"),
        (dict(kappa=0), "kappa"),
        (dict(kappa="big"), "kappa"),
        (dict(init="random"), "m0"),
        (dict(init="random", m0=2, q0=1), "m0"),
        (dict(init="random", m0=0.1, q0=0), "q0"),
        (dict(m0=0.1), "m0"),
        (dict(alpha=float("nan")), "alpha"),
    ],
)
def test_bad_input_names_parameter(kw, word):
    with pytest.raises(ValueError, match=word):
        Problem(**kw)


def test_unbounded_T_warns():
    with pytest.warns(UserWarning, match="unbounded above"):
        Problem(preprocess="identity")


def test_frozen_and_replace():
    p = Problem()
    from dataclasses import FrozenInstanceError

    with pytest.raises(FrozenInstanceError):
        p.alpha = 2.0
    q = p.replace(alpha=2.0)
    assert q.alpha == 2.0 and p.alpha == 3.0
    assert Problem.from_dict(p.to_dict()) == p


def test_lal_is_one_minus_inverse_y_for_noiseless_pr():
    p = Problem()
    y = np.array([0.3, 1.0, 4.0])
    np.testing.assert_allclose(p.T(y), 1 - 1 / y)


def test_lal_noisy_pr_against_direct_quadrature():
    # independent: E[z^2|y] by scipy.integrate.quad of the posterior
    from scipy.integrate import quad

    sig = 0.5
    p = Problem(noise=sig)
    for y in (-0.5, 0.2, 2.0):

        def post(z, y=y):
            return np.exp(-0.5 * z * z - 0.5 * ((y - z * z) / sig) ** 2)

        num = quad(lambda z, post=post: z * z * post(z), -12, 12, points=[0.0], limit=200)[0]
        den = quad(post, -12, 12, points=[0.0], limit=200)[0]
        assert p.T(np.array([y]))[0] == pytest.approx(1 - den / num, abs=1e-6)


def test_lal_logistic_is_zero_by_symmetry():
    p = Problem(model="logistic", noise=0.5, loss="logistic")
    np.testing.assert_allclose(p.T(np.array([-1.0, 1.0])), 0.0, atol=1e-10)


def test_test_error_closed_form_pr():
    mdl = sidmft.get_model("phase-retrieval", 0.3)
    for m, q in [(0.0, 1.0), (0.9, 0.85), (0.5, 2.0)]:
        assert mdl.test_error(m, q) == pytest.approx(3 - 2 * (q + 2 * m * m) + 3 * q * q + 0.09, rel=1e-10)


def test_user_registered_model_and_loss():
    sidmft.register_model("cubic-test", lambda z: z**3, overwrite=True)
    sidmft.register_loss(
        "quartic-test",
        value=lambda y, r: (r - y) ** 4,
        grad=lambda y, r: 4 * (r - y) ** 3,
        hess=lambda y, r: 12 * (r - y) ** 2,
        overwrite=True,
    )
    p = Problem(model="cubic-test", loss="quartic-test", preprocess="clip:2")
    assert p.model_obj.sample(np.array([2.0]), np.random.default_rng(0))[0] == 8.0
    with pytest.raises(ValueError, match="already registered"):
        sidmft.register_model("cubic-test", lambda z: z)
