"""Gradient descent on an accelerator with JAX (optional backend; ``pip install sidmft[jax]``).

Reached as ``sidmft.simulate(problem, dim, backend="jax")``.  Runs the same iteration as the
numba/numpy simulator (docs/theory.md §0),

    x^{t+1} = (1 - eta lam) x^t - (eta/alpha) A^T l'(y, A x^t),

as a ``jax.lax.scan`` over steps on the device that holds ``A`` (a GPU when JAX sees one),
recording m_t, q_t, the training loss and the gradient norm per step.  l and l' come from the
loss registry (:mod:`sidmft.losses`), evaluated with ``xp=jax.numpy``: losses registered with
``array_namespace=True`` (all built-in ones) are supported, others are refused with a message.

float64 runs inside JAX's scoped ``jax.enable_x64(True)`` context: the global ``jax_enable_x64``
setting is left as it was.
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..losses import get_loss

__all__ = ["gd_jax", "require_jax"]


def require_jax():
    """Import and return ``jax``; ``ImportError`` naming the backend and the install extra if missing."""
    try:
        import jax
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "backend='jax' needs JAX, which is not installed: pip install 'sidmft[jax]' "
            f"(or use backend='numba'); import failed with: {e}"
        ) from None
    return jax


def gd_jax(A, y, x0, x_star, *, loss, alpha: float, lam: float, eta: float, steps: int, dtype="float32"):
    """Run ``steps`` GD steps with JAX; returns a dict of numpy arrays over t = 0..steps.

    Parameters
    ----------
    A : (n, d) array, rows a_i ~ N(0, I_d/d)
    y, x0, x_star : arrays of length n, d, d
    loss : str or Loss
        A registered loss with ``array_namespace=True`` (ValueError otherwise).  Real arrays only: complex
        ``A``, ``x0`` or ``x_star`` raise ValueError (complex signals run on the numba/numpy backends).
    alpha, lam, eta, steps : as in :class:`sidmft.Problem`
    dtype : ``"float32"`` (default on GPUs) or ``"float64"`` (run under a scoped ``enable_x64``)

    Returns
    -------
    dict with ``m``, ``q``, ``train_loss``, ``grad_norm`` (length steps+1; the gradient norm at
    the last iterate is evaluated too) and ``x`` (final iterate, in ``dtype``).
    """
    if any(np.iscomplexobj(v) for v in (A, x0, x_star)) or np.dtype(dtype).kind == "c":
        raise ValueError(
            "backend='jax' runs real signals only (field='real'); complex data (field='complex', complex "
            "Wirtinger flow) need backend='numba' or 'numpy'"
        )
    loss = get_loss(loss)
    loss.check_array_namespace("jax")
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise ValueError(f"dtype must be 'float32' or 'float64'; got {dtype!r}")
    jax = require_jax()
    x64 = np.dtype(dtype) == np.float64
    with jax.enable_x64(True) if x64 else contextlib.nullcontext():
        xT, obs = _scan(jax, A, y, x0, x_star, loss, float(alpha), float(lam), float(eta), int(steps), dtype)
        obs = np.asarray(obs, dtype=np.float64)
        xT = np.asarray(xT)
    return dict(m=obs[:, 0], q=obs[:, 1], train_loss=obs[:, 2], grad_norm=obs[:, 3], x=xT)


def _scan(jax, A, y, x0, x_star, loss, alpha, lam, eta, steps, dtype):
    import jax.numpy as jnp

    dt = jnp.dtype(dtype)
    A = jnp.asarray(A, dtype=dt)
    y = jnp.asarray(y, dtype=dt)
    xs = jnp.asarray(x_star, dtype=dt)
    d = A.shape[1]

    def obs_and_grad(x, A, y, xs):
        r = A @ x
        g = A.T @ loss.grad(y, r, xp=jnp) / alpha + lam * x
        return jnp.stack([x @ xs / d, x @ x / d, jnp.mean(loss.value(y, r, xp=jnp)), g @ g / d]), g

    # A, y, x* are arguments (not closed over): closed-over arrays become compile-time constants
    @jax.jit
    def run(x0, A, y, xs):
        def step(x, _):
            o, g = obs_and_grad(x, A, y, xs)
            return x - eta * g, o

        xT, obs = jax.lax.scan(step, x0, None, length=steps)
        oT, _ = obs_and_grad(xT, A, y, xs)
        return xT, jnp.concatenate([obs, oT[None]], axis=0)

    return run(jnp.asarray(x0, dtype=dt), A, y, xs)
