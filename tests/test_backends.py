"""The JAX backend, ``simulate(..., backend="jax")``, agrees with the numba backend (skipped without jax)."""

import numpy as np
import pytest

import sidmft
from sidmft.losses import LOSSES, register_loss

jax = pytest.importorskip("jax")

# 30 contractive steps from the spectral start (d = 300, alpha = 3): both backends compute the same
# float64 iteration with different summation orders, so they differ by rounding only.
P = sidmft.Problem(alpha=3.0, steps=30)


@pytest.mark.parametrize("loss", ["intensity", "amplitude"])
def test_jax_backend_matches_numba_float64(loss):
    """float64: max |diff| <= 1e-12 in m and q over 30 steps (rounding: 30 steps x d-term sums of
    O(1) numbers give ~1e-14; the bound leaves two decades of margin and still catches any
    difference of formula).  The global jax_enable_x64 flag is left as it was."""
    p = P.replace(loss=loss)
    before = jax.config.jax_enable_x64
    got = sidmft.simulate(p, 300, seeds=2, seed=3, backend="jax")
    assert jax.config.jax_enable_x64 == before
    ref = sidmft.simulate(p, 300, seeds=2, seed=3, backend="numba")
    assert got.success and ref.success, (got.message, ref.message)
    assert got.info["gd_method"] == "jax" and ref.info["gd_method"] == "fused"
    for k in ("m", "q"):
        assert np.max(np.abs(got.per_seed[k] - ref.per_seed[k])) <= 1e-12, k
    for k in ("train_loss", "grad_norm", "objective", "error", "test_error"):
        np.testing.assert_allclose(got.per_seed[k], ref.per_seed[k], rtol=1e-10, atol=1e-12, err_msg=k)
    np.testing.assert_array_equal(got.spectral_overlap, ref.spectral_overlap)  # the same spectral stage


@pytest.mark.parametrize("loss", ["intensity", "amplitude"])
def test_jax_backend_float32_close_to_numba_float32(loss):
    """float32 on both backends (the same float32 data): each rounds every sum at 2^-24 = 6e-8
    relative with its own order, over 30 contractive steps.  Tolerance 1000 eps32 = 6e-5 relative to
    max(1, |value|): far above rounding, far below any finite-size effect (1/sqrt(d) = 0.06)."""
    p = P.replace(loss=loss)
    got = sidmft.simulate(p, 300, seeds=1, seed=3, dtype="float32", backend="jax")
    ref = sidmft.simulate(p, 300, seeds=1, seed=3, dtype="float32", backend="numba")
    assert got.success and ref.success
    for k in ("m", "q", "train_loss", "grad_norm"):
        diff = np.abs(got.per_seed[k] - ref.per_seed[k]) / np.maximum(1.0, np.abs(ref.per_seed[k]))
        assert np.max(diff) <= 1000 * 2.0**-24, (k, np.max(diff))


def test_jax_backend_divergence_is_a_status():
    p = P.replace(eta=20.0, steps=20)
    got = sidmft.simulate(p, 200, seeds=1, backend="jax")
    ref = sidmft.simulate(p, 200, seeds=1, backend="numba")
    assert got.status == ref.status == sidmft.Status.DIVERGED
    assert "diverged at step" in got.message


def test_jax_backend_uses_the_registry_loss():
    """A user loss registered with array_namespace=True runs on JAX (its own l', not a copy);
    one without it is refused before any work, with a message saying how to fix it."""

    def value(y, r, xp=np):
        return 0.5 * (r * r - y) ** 2 / (1.0 + xp.abs(y))

    def grad(y, r, xp=np):
        return 2.0 * (r * r - y) * r / (1.0 + xp.abs(y))

    try:
        register_loss(
            "test_xp_loss",
            value=value,
            grad=grad,
            hess=lambda y, r: (6 * r * r - 2 * y) / (1 + abs(y)),
            array_namespace=True,
        )
        register_loss(
            "test_np_loss",
            value=lambda y, r: (r - y) ** 2,
            grad=lambda y, r: 2 * (r - y),
            hess=lambda y, r: 2.0 + 0 * r,
        )
        p = P.replace(loss="test_xp_loss", steps=10, eta=0.05)
        got = sidmft.simulate(p, 200, seeds=1, backend="jax")
        ref = sidmft.simulate(p, 200, seeds=1, backend="numpy")
        assert got.success and ref.success
        assert np.max(np.abs(got.per_seed["m"] - ref.per_seed["m"])) <= 1e-12
        with pytest.raises(ValueError, match="array_namespace=True"):
            sidmft.simulate(P.replace(loss="test_np_loss"), 200, backend="jax")
    finally:
        LOSSES.pop("test_xp_loss", None)
        LOSSES.pop("test_np_loss", None)


def test_jax_backend_refuses_batches():
    with pytest.raises(ValueError, match="backend='jax'"):
        sidmft.simulate(P, 50, lams=[0.0, 0.1], backend="jax")
