"""Contract of :func:`sidmft.theory.fixed_point.fixed_point` (property-based).

Over every registered model and loss (the shared lists of tests/helpers.py; the method is GD: the fixed point
of the others is the same stationary point or none, tests/test_fixed_point.py), every preprocessing, alpha in
[0.2, 20], lam in [0, 2], eta in [1e-3, 5] and starts from sensible to absurd (q <= m^2, huge m, tiny or huge gamma):

* invalid input (a start that is not (m, q[, gamma]) of finite numbers with gamma > 0) raises
  ValueError or TypeError, and only invalid input does;
* otherwise the call returns a FixedPointResult whose ``status`` is a Status, whose ``message``
  is a non-empty string when it is not a success, and a success has finite m, q >= m^2, gamma > 0
  and max |residual| <= tol.

A reduced quadrature and n_mc in {0, 2000} keep it fast; the examples are derandomised.
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helpers import losses
from sidmft import Problem, Status
from sidmft.models import MODELS as MODEL_REGISTRY
from sidmft.theory.fixed_point import FixedPointResult, fixed_point

#: every registered model and loss (the shared lists of tests/helpers.py)
MODELS = tuple(sorted(MODEL_REGISTRY))
LOSSES = tuple(losses())
PREPROCESS = ("lal", "mm", "clip:3", "trim:3", "identity")
QUAD = dict(nz=12, nxi=4, n_noise=6)
TOL = 1e-10

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
absurd = st.one_of(finite, st.sampled_from([0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300, 1.0, 0.5]))
gammas = st.one_of(st.floats(min_value=1e-12, max_value=1e12), st.sampled_from([1e-300, 1e300, 0.0, -1.0]))
bad_values = st.sampled_from([float("nan"), float("inf"), -float("inf"), "x", None])

valid_starts = st.one_of(
    st.none(),
    st.tuples(absurd, absurd),
    st.tuples(absurd, absurd, gammas.filter(lambda g: g > 0)),
    st.tuples(st.floats(-1.5, 1.5), st.floats(0.0, 3.0), st.floats(1e-3, 10.0)),
    # near-degenerate: q = m^2 exactly or slightly below
    st.builds(lambda m, d, g: (m, m * m - d, g), st.floats(-2, 2), st.floats(0, 1e-3), st.floats(1e-6, 1e6)),
)
invalid_starts = st.one_of(
    st.tuples(absurd, bad_values),
    st.tuples(bad_values, absurd, gammas),
    st.tuples(absurd, absurd, st.sampled_from([0.0, -1.0, -1e300])),
    st.tuples(absurd, absurd, absurd, absurd),
    st.tuples(absurd),
    st.just(()),
)
# three valid draws for one invalid (one_of picks its branches uniformly)
starts = st.one_of(valid_starts, valid_starts, valid_starts, invalid_starts)


def _valid_start(start):
    if start is None:
        return True
    if len(start) not in (2, 3):
        return False
    if not all(isinstance(v, float) and math.isfinite(v) for v in start):
        return False
    return len(start) == 2 or start[2] > 0


@st.composite
def problems(draw):
    model = draw(st.sampled_from(MODELS))
    noisy = draw(st.booleans())
    noise = draw(st.floats(0.05, 1.0)) if noisy else 0.0
    kw = dict(
        model=model,
        noise=noise,
        loss=draw(st.sampled_from(LOSSES)),
        preprocess=draw(st.sampled_from(PREPROCESS)),
        alpha=draw(st.floats(0.2, 20.0)),
        lam=draw(st.one_of(st.floats(0.0, 2.0), st.floats(0.0, 2.0), st.just(0.0))),
        eta=draw(st.floats(1e-3, 5.0)),
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Problem(**kw)
    except ValueError:  # combinations the Problem refuses at construction
        assume(False)


@settings(
    derandomize=True,
    deadline=None,
    max_examples=50,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(problem=problems(), start=starts, n_mc=st.sampled_from([0, 2000]), continuation=st.booleans())
def test_fixed_point_contract(problem, start, n_mc, continuation):
    valid = _valid_start(start)
    try:
        r = fixed_point(problem, start=start, quad=QUAD, n_mc=n_mc, tol=TOL, maxiter=40, continuation=continuation)
    except (ValueError, TypeError) as e:
        assert not valid, f"valid input raised {type(e).__name__}: {e}"
        assert str(e)
        return
    assert valid, f"invalid start {start!r} was accepted"
    assert isinstance(r, FixedPointResult)
    assert isinstance(r.status, Status)
    assert isinstance(r.message, str)
    if not r.success:
        assert r.message.strip(), r
        return
    assert all(math.isfinite(v) for v in (r.m, r.q, r.gamma)), r
    assert r.gamma > 0 and r.q >= r.m * r.m - 1e-12
    assert r.residual <= TOL
    assert max(abs(v) for v in r.residuals.values()) <= TOL
    if n_mc == 0:
        assert math.isnan(r.rate) and r.rate_note


@pytest.fixture(scope="module")
def _base():
    cache = {}

    def get(alpha):
        if alpha not in cache:
            cache[alpha] = fixed_point(Problem(alpha=alpha, lam=0.1), quad=QUAD, n_mc=0)
        return cache[alpha]

    return get


@pytest.mark.parametrize(
    "start",
    [(0.3, 0.2, 5.0), (0.01, 5.0, 50.0), (0.99, 0.9801, 1e-6), (1e300, 1e300), (-1e300, -1e300, 1e-300), (0.0, 0.0)],
)
@pytest.mark.parametrize("alpha", [2.0, 3.0, 6.0])
def test_absurd_starts_phase_retrieval(alpha, start, _base):
    """Phase retrieval from absurd starts: the informative solution, the same as from the default start."""
    p = Problem(alpha=alpha, lam=0.1)
    base = _base(alpha)
    r = fixed_point(p, start=start, quad=QUAD, n_mc=0)
    assert base.success and r.success, r.message
    assert np.allclose([r.m, r.q, r.gamma], [base.m, base.q, base.gamma], rtol=0, atol=1e-8)
