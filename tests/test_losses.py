"""Every registered loss: l', l'' against central finite differences away from the jumps the loss declares
(l' against its declared antiderivative: ``value``, or the ``potential`` of a surrogate gradient);
scalar_grad (and its numba compilation used by the fused GD kernel) against the vectorised grad."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidmft.losses import LOSSES, available_losses
from sidmft.simulator._kernels import compile_scalar_grad

LOSS_NAMES = available_losses()


def _labels(name):
    if name == "logistic":
        return st.sampled_from([-1.0, 1.0])
    return st.floats(-5.0, 10.0, allow_nan=False)


def _fd(f, y, r, h):
    return (f(y, r + h) - f(y, r - h)) / (2 * h)


@pytest.mark.parametrize("name", LOSS_NAMES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_grad_hess_match_central_differences(name, data):
    loss = LOSSES[name]
    y = data.draw(_labels(name))
    r = data.draw(st.floats(-4.0, 4.0, allow_nan=False))
    h = 1e-5 * max(1.0, abs(r))
    ya = np.array([y])
    jumps = [float(j[0]) for j in loss.jump_points(ya)]  # the declared jumps of l': stay clear of them
    while any(abs(r - j) < 1e-3 + 2 * h for j in jumps):
        r += 0.37
    ra = np.array([r])
    g = float(loss.grad(ya, ra)[0])
    g_fd = float(_fd(loss.antiderivative, ya, ra, h)[0])
    # central differences: error O(h^2 l''') + O(eps |l| / h)
    scale = 1.0 + abs(float(loss.value(ya, ra)[0])) + abs(g)
    assert g == pytest.approx(g_fd, abs=1e-6 * scale)
    hs = float(loss.hess(ya, ra)[0])
    h_fd = float(_fd(loss.grad, ya, ra, h)[0])
    assert hs == pytest.approx(h_fd, abs=1e-5 * (1.0 + abs(g) + abs(hs)))


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_scalar_grad_and_compiled_match_vectorised(name):
    loss = LOSSES[name]
    if loss.scalar_grad is None:
        pytest.skip("no scalar_grad")
    rng = np.random.default_rng(0)
    r = rng.standard_normal(200) * 2
    y = np.sign(rng.standard_normal(200)) if name == "logistic" else rng.standard_normal(200) ** 2 - 0.2
    ref = loss.grad(y, r)
    s = np.array([loss.scalar_grad(a, b) for a, b in zip(y, r)])
    np.testing.assert_allclose(s, ref, rtol=1e-13, atol=1e-14)
    cf = compile_scalar_grad(loss)
    assert cf is not None
    c = np.array([cf.ctypes(a, b) for a, b in zip(y, r)])
    np.testing.assert_allclose(c, ref, rtol=1e-13, atol=1e-14)


def test_logistic_is_stable_for_large_margins():
    loss = LOSSES["logistic"]
    y = np.array([1.0, -1.0, 1.0])
    r = np.array([800.0, 800.0, -800.0])
    assert np.all(np.isfinite(loss.value(y, r))) and np.all(np.isfinite(loss.grad(y, r)))
    assert loss.scalar_grad(1.0, -800.0) == pytest.approx(-1.0)
    assert math.isfinite(loss.scalar_grad(-1.0, 800.0))


@pytest.mark.parametrize("name", [n for n in LOSS_NAMES if LOSSES[n].array_namespace])
def test_array_namespace_losses_agree_under_jax_numpy(name):
    """value/grad evaluated with xp=jax.numpy (the JAX backend of the simulator) against the numpy
    evaluation, float64 (scoped enable_x64): the same formulas up to rounding (logistic's grad uses
    exp(-logaddexp(0, yr)) instead of scipy's expit), so a relative 1e-13 tolerance (~500 eps)."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    loss = LOSSES[name]
    rng = np.random.default_rng(0)
    r = rng.uniform(-30.0, 30.0, 400)  # |y r| up to ~300: the logistic tails (no overflow allowed)
    y = np.sign(rng.standard_normal(400)) if name == "logistic" else rng.uniform(-1.0, 10.0, 400)
    np.testing.assert_array_equal(loss.grad(y, r, xp=np), loss.grad(y, r))
    with jax.enable_x64(True):
        for f in (loss.value, loss.grad):
            got = np.asarray(f(jnp.asarray(y), jnp.asarray(r), xp=jnp))
            ref = f(y, r)
            np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-300)


def test_losses_without_array_namespace_are_refused_for_jax():
    from sidmft.losses import Loss

    loss = Loss("plain", lambda y, r: r, lambda y, r: r, lambda y, r: r)
    with pytest.raises(ValueError, match="array_namespace=True"):
        loss.check_array_namespace("jax")
    LOSSES["square"].check_array_namespace("jax")  # built-in: no error
