"""Optional JAX backend agrees with the numpy reference path (skipped without jax)."""
import numpy as np
import pytest

import sidmft
from sidmft.simulate import generate_data, initial_point, run_gd

jax = pytest.importorskip("jax")


@pytest.mark.parametrize("loss", ["intensity", "amplitude"])
def test_jax_gd_matches_numpy(loss):
    from sidmft.backends.jax_gd import gd_jax

    p = sidmft.Problem(loss=loss, steps=15)
    data = generate_data(p, 300, seed=3)
    x0, _ = initial_point(data, p)
    ref = run_gd(data, x0, p, method="numpy")
    got = gd_jax(data.A, data.y, x0, data.x_star, loss=p.loss, alpha=p.alpha, lam=p.lam, eta=p.eta,
                 steps=p.steps, dtype="float64")
    for k in ("m", "q", "train_loss", "grad_norm"):
        np.testing.assert_allclose(got[k], ref.obs[k], rtol=1e-10, atol=1e-12)


def test_jax_backend_rejects_unknown_loss():
    from sidmft.backends.jax_gd import gd_jax

    with pytest.raises(ValueError, match="loss"):
        gd_jax(np.eye(2), np.ones(2), np.ones(2), np.ones(2), loss="huber", alpha=1, lam=0, eta=0.1, steps=1)
