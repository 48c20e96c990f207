"""Gradient descent on an accelerator with JAX (optional backend; ``pip install sidmft[jax]``).

Runs the same iteration as the numpy/numba simulator (THEORY.md §0),

    x^{t+1} = (1 - eta lam) x^t - (eta/alpha) A^T l'(y, A x^t),

as a ``jax.lax.scan`` over steps on the device that holds ``A`` (a GPU when JAX sees one),
recording m_t, q_t, the training loss and the gradient norm per step.  Only the built-in
losses are supported (their derivatives are written with ``jax.numpy``).  The numpy path is the
reference: :func:`gd_jax` is tested against it where JAX is installed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gd_jax", "JAX_LOSSES"]


def _jax_losses():
    import jax.numpy as jnp
    from jax.nn import sigmoid

    return {
        "intensity": (lambda y, r: 0.25 * (r * r - y) ** 2, lambda y, r: (r * r - y) * r),
        "amplitude": (lambda y, r: 0.5 * (jnp.abs(r) - jnp.sqrt(jnp.maximum(y, 0.0))) ** 2,
                      lambda y, r: r - jnp.sqrt(jnp.maximum(y, 0.0)) * jnp.sign(r)),
        "square": (lambda y, r: 0.5 * (r - y) ** 2, lambda y, r: r - y),
        "logistic": (lambda y, r: jnp.logaddexp(0.0, -y * r), lambda y, r: -y * sigmoid(-y * r)),
    }


JAX_LOSSES = ("intensity", "amplitude", "square", "logistic")


def gd_jax(A, y, x0, x_star, *, loss: str, alpha: float, lam: float, eta: float, steps: int,
           dtype="float32"):
    """Run ``steps`` GD steps with JAX; returns a dict of numpy arrays over t = 0..steps.

    Parameters
    ----------
    A : (n, d) array, rows a_i ~ N(0, I_d/d)
    y, x0, x_star : arrays of length n, d, d
    loss : name of a built-in loss (``intensity``, ``amplitude``, ``square``, ``logistic``)
    alpha, lam, eta, steps : as in :class:`sidmft.Problem`
    dtype : ``"float32"`` (default on GPUs) or ``"float64"`` (needs ``jax_enable_x64``)

    Returns
    -------
    dict with ``m``, ``q``, ``train_loss``, ``grad_norm`` (length steps+1; the gradient norm at
    the last iterate is evaluated too) and ``x`` (final iterate).
    """
    import jax
    import jax.numpy as jnp

    if loss not in JAX_LOSSES:
        raise ValueError(f"loss must be one of {list(JAX_LOSSES)} for the jax backend; got {loss!r}")
    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    value, grad = _jax_losses()[loss]
    dt = jnp.dtype(dtype)
    A = jnp.asarray(A, dtype=dt)
    y = jnp.asarray(y, dtype=dt)
    xs = jnp.asarray(x_star, dtype=dt)
    d = A.shape[1]

    def obs_and_grad(x, A, y, xs):
        r = A @ x
        g = A.T @ grad(y, r) / alpha + lam * x
        return (jnp.stack([x @ xs / d, x @ x / d, jnp.mean(value(y, r)), g @ g / d]), g)

    # A, y, x* are arguments (not closed over): closed-over arrays become compile-time constants
    @jax.jit
    def run(x0, A, y, xs):
        def step(x, _):
            o, g = obs_and_grad(x, A, y, xs)
            return x - eta * g, o

        xT, obs = jax.lax.scan(step, x0, None, length=steps)
        oT, _ = obs_and_grad(xT, A, y, xs)
        return xT, jnp.concatenate([obs, oT[None]], axis=0)

    xT, obs = run(jnp.asarray(x0, dtype=dt), A, y, xs)
    obs = np.asarray(obs, dtype=np.float64)
    return dict(m=obs[:, 0], q=obs[:, 1], train_loss=obs[:, 2], grad_norm=obs[:, 3], x=np.asarray(xT))
