"""The declarative description of first-order methods (sidmft.algorithms) and its Problem fields."""

import math

import numpy as np
import pytest

from sidmft import Problem
from sidmft.algorithms import ALGORITHMS, Algorithm, StepSchedule, get_algorithm, register_algorithm
from sidmft.io import encode_attrs, problem_from_attrs
from sidmft.problem import ALGORITHM_FIELDS, PROBLEM_FIELDS


def _described_step(alg, beta, x, xprev, grad, eta, tau_noise=0.0):
    """x^{t+1} by the registry's (a, b, A, B): p = a x + b xprev, x' = A x + B xprev - eta grad(p)."""
    c = alg.coefficients(beta)
    p = c.a * x + c.b * xprev
    return c.A * x + c.B * xprev - eta * grad(p) + tau_noise


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.9])
def test_coefficients_match_the_contract_by_hand(beta):
    # a non-linear gradient map, so that the read point matters: grad(p) = M p + sin(p)
    rng = np.random.default_rng(0)
    M = rng.standard_normal((7, 7))
    x, xprev = rng.standard_normal(7), rng.standard_normal(7)

    def grad(p):
        return M @ p + np.sin(p)

    eta = 0.37
    contract = {
        "gd": x - eta * grad(x),
        "heavy-ball": x - eta * grad(x) + beta * (x - xprev),
        "nesterov": (x + beta * (x - xprev)) - eta * grad(x + beta * (x - xprev)),
    }
    for name, want in contract.items():
        got = _described_step(get_algorithm(name), beta if name != "gd" else None, x, xprev, grad, eta)
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13, err_msg=name)
    # sgd and langevin read and update like gd; they differ by the factor and the noise only
    for name in ("sgd", "langevin"):
        alg = get_algorithm(name)
        c = alg.coefficients(None)
        assert (c.a, c.b, c.A, c.B) == (1.0, 0.0, 1.0, 0.0)
    assert get_algorithm("sgd").factor == "bernoulli" and not get_algorithm("sgd").noise
    assert get_algorithm("langevin").noise and get_algorithm("langevin").factor == "one"
    # x^{-1} := x^0: at t = 0 every method reads at x^0 and takes a plain gradient step
    for name in ("heavy-ball", "nesterov"):
        got = _described_step(get_algorithm(name), beta, x, x, grad, eta)
        np.testing.assert_allclose(got, x - eta * grad(x), rtol=1e-13, atol=1e-13)


def test_registry():
    assert list(ALGORITHMS)[:5] == ["gd", "heavy-ball", "nesterov", "sgd", "langevin"]
    with pytest.raises(ValueError, match="algorithm must be one of"):
        get_algorithm("adam")
    with pytest.raises(ValueError, match="already registered"):
        register_algorithm(Algorithm("gd"))
    with pytest.raises(ValueError, match="factor must be one of"):
        Algorithm("x", factor="gaussian")
    with pytest.raises(ValueError, match="parameters must be among"):
        Algorithm("x", parameters=("momentum",))
    with pytest.raises(ValueError, match="parameters must include 'batch'"):
        Algorithm("x", factor="bernoulli")
    with pytest.raises(ValueError, match="parameters must include 'temperature'"):
        Algorithm("x", noise=True)


def test_schedules_closed_forms():
    eta, steps = 0.2, 9
    t = np.arange(steps)
    np.testing.assert_array_equal(StepSchedule.parse(None).etas(eta, steps), np.full(steps, eta))
    np.testing.assert_array_equal(StepSchedule.parse("constant").etas(eta, steps), np.full(steps, eta))
    np.testing.assert_allclose(
        StepSchedule.parse("step:0.5:4").etas(eta, steps), [0.2] * 4 + [0.1] * 4 + [0.05], rtol=1e-15
    )
    cos = [0.01 + 0.19 * 0.5 * (1 + math.cos(math.pi * k / steps)) for k in t]
    np.testing.assert_allclose(StepSchedule.parse("cosine:0.01").etas(eta, steps), cos, rtol=1e-14)
    lst = [0.3, 0.2, 0.1]
    for spec in (lst, tuple(lst), "[0.3, 0.2, 0.1]", "0.3,0.2,0.1"):
        sch = StepSchedule.parse(spec)
        assert sch.spec == (0.3, 0.2, 0.1)
        np.testing.assert_array_equal(sch.etas(eta, 3), lst)
    for spec in ("step:0.5:4", "cosine:0.01", (0.3, 0.2)):
        assert StepSchedule.parse(StepSchedule.parse(spec).spec).spec == StepSchedule.parse(spec).spec


@pytest.mark.parametrize(
    "spec, match",
    [
        ("step:0:3", "FACTOR"),
        ("step:0.5:0", "EVERY"),
        ("cosine:-1", "ETA_MIN"),
        ("sometimes", "eta_schedule must be"),
        ([0.1, -0.1], "entries"),
        ([0.1, float("nan")], "entries"),
    ],
)
def test_schedule_errors(spec, match):
    with pytest.raises(ValueError, match=match):
        StepSchedule.parse(spec)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(algorithm="heavy-ball", beta=1.0), r"beta must be in \[0, 1\)"),
        (dict(algorithm="nesterov", beta=-0.1), r"beta must be in \[0, 1\)"),
        (dict(algorithm="heavy-ball"), "needs beta"),
        (dict(algorithm="sgd", batch=0.0), r"batch must be in \(0, 1\]"),
        (dict(algorithm="sgd", batch=1.5), r"batch must be in \(0, 1\]"),
        (dict(algorithm="sgd"), "needs batch"),
        (dict(algorithm="langevin", temperature=-1e-3), "temperature must be >= 0"),
        (dict(beta=0.5), "beta is only used by algorithm heavy-ball or nesterov"),
        (dict(algorithm="sgd", batch=0.5, temperature=1.0), "temperature is only used"),
        (dict(algorithm="adam"), "algorithm must be one of"),
        (dict(eta_schedule=[0.1] * 3, steps=4), "one step size per step"),
        (dict(eta_schedule="cosine:0.5", eta=0.1), "ETA_MIN must be <= eta"),
    ],
)
def test_problem_validation_names_the_parameter(kw, match):
    with pytest.raises(ValueError, match=match):
        Problem(**kw)


def test_problem_defaults_unchanged_and_round_trip():
    p = Problem()
    assert (p.algorithm, p.beta, p.batch, p.temperature, p.eta_schedule) == ("gd", None, None, None, None)
    assert p.preprocess == "lal" and p == Problem(preprocess="lal")
    assert Problem(init="linear", model="relu", loss="square").preprocess == "identity"
    assert Problem(init="linear", model="relu", loss="square", preprocess="mm").preprocess == "mm"
    problems = [
        p,
        Problem(algorithm="heavy-ball", beta=0.5, eta_schedule="step:0.5:10"),
        Problem(algorithm="nesterov", beta=0.25, steps=3, eta_schedule=[0.1, 0.05, 0.02]),
        Problem(algorithm="sgd", batch=0.25, eta_schedule="cosine:0.01"),
        Problem(algorithm="langevin", temperature=0.01, init="linear", model="relu", loss="square"),
    ]
    for q in problems:
        back = problem_from_attrs(encode_attrs({"problem": q.to_dict()}))
        assert back == q and hash(back) == hash(q)
        assert Problem.from_dict(q.to_dict()) == q
    np.testing.assert_array_equal(problems[2].etas(), [0.1, 0.05, 0.02])
    # a plain-GD description is the one of before (sweep point seeds hash it)
    assert set(p.to_dict()) == set(PROBLEM_FIELDS) - set(ALGORITHM_FIELDS)
    assert problems[1].to_dict()["algorithm"] == "heavy-ball" and problems[1].to_dict()["beta"] == 0.5
    assert "batch" not in problems[1].to_dict()


def test_dmft_runs_every_method_and_refuses_a_given_start():
    """The DMFT reads the same Algorithm description (tests/test_dmft_algorithms.py checks it against
    simulation); a given x0 has no d -> inf description and is refused up front."""
    from sidmft.theory.dmft import dmft

    for q in (
        Problem(algorithm="heavy-ball", beta=0.5, steps=3),
        Problem(algorithm="sgd", batch=0.5, steps=3),
        Problem(eta_schedule="step:0.5:1", steps=3),
        Problem(init="linear", model="relu", loss="square", steps=3),
    ):
        res = dmft(q, samples=2000, batches=2)
        assert res.success and np.all(np.isfinite(res.mean("m"))), res.message
    with pytest.raises(ValueError, match="init must be"):
        dmft(Problem(init="given", x0=np.ones(10), steps=3))
