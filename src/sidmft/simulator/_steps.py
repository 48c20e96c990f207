"""One step of a first-order method of :mod:`sidmft.algorithms` on finite data.

At step t, with x^{-1} := x^0 (the module docstring of :mod:`sidmft.algorithms`),

    p^t     = a x^t + b x^{t-1},
    x^{t+1} = A x^t + B x^{t-1} - eta_t (lam p^t + (1/alpha) A^T (f^t * l'(y, A p^t))) + sigma_t xi^t.

Costs: one read of A per step for every method.  sgd: the fused kernel adds the factor-weighted
sum A^T (f g) to the full A^T g while the rows are in cache; nesterov: the read point p^t differs
from x^t (where the observables are measured), and both go through the batched kernel together.  The
observables (train_loss, grad_norm = ||grad L(x^t)||^2/d) are always full-batch at x^t.

Random draws: f^t and xi^t come from the streams (KEY_SGD, t) and (KEY_LANGEVIN, t) of the data
seed (:func:`sgd_factor`, :func:`langevin_noise`), so they do not depend on chunking or threads.

Complex data (docs/theory.md §7): the same recursion with the same (real) coefficients, A^T replaced by
A^H and l'(y, r) by g = L'(y, |r|) r/|r| (the kernels of ``simulator/_ckernels.py``): real GD on
(Re x, Im x); the Langevin noise is complex (xi_re + i xi_im, each N(0, I_d), see :func:`langevin_noise`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..algorithms import StepCoefficients
from ._ckernels import CWorkspace, cfused_apply, cfused_apply_batch, numpy_capply, real_dtype
from ._data import langevin_noise, sgd_factor
from ._kernels import BatchWorkspace, Workspace, fused_apply, fused_apply_batch, numpy_apply

__all__ = ["Applier", "Scheme", "check_jax_algorithm"]


class Applier:
    """Gradient passes over A: the fused kernels when ``lp`` (compiled l') is given, else numpy.

    ``apply(p, f)``: (A p, A^T l'(y, A p)) and, with a factor f, also A^T (f l'(y, A p)), one read
    of A.  ``pair(p, x)``: (A x, A^T l'(y, A p), A^T l'(y, A x)), both points in one read of A (the
    batched kernel on the two columns; numpy: one GEMM each way).  Complex A: A^H and
    g = L'(y, |r|) r/|r| instead (``simulator/_ckernels.py``; numpy: ``loss.complex_grad``).
    """

    def __init__(self, A, y, lp, loss):
        self.cplx = np.iscomplexobj(A)
        self.A, self.yd, self.lp, self.loss = A, np.asarray(y).astype(real_dtype(A.dtype)), lp, loss
        n, d = A.shape
        self.ws: Optional[object] = None
        self.bws: Optional[BatchWorkspace] = None
        if lp is not None and self.cplx:
            self.ws = CWorkspace(n, d, A.dtype)
            self.bws = BatchWorkspace(n, 2 * d, 4, real_dtype(A.dtype))
        elif lp is not None:
            self.ws, self.bws = Workspace(n, d, A.dtype), BatchWorkspace(n, d, 2, A.dtype)

    def __call__(self, p, f):
        if self.cplx:
            if self.lp is not None:
                return cfused_apply(self.A, self.yd, p, self.lp, self.ws, f)
            return numpy_capply(self.A, self.yd, p, self.loss.complex_grad, f)
        if self.lp is not None:
            return fused_apply(self.A, self.yd, p, self.lp, self.ws, f)
        return numpy_apply(self.A, self.yd, p, self.loss.grad, f)

    def pair(self, p, x):
        X = np.stack([p, x], axis=1)
        if self.lp is not None:
            batch = cfused_apply_batch if self.cplx else fused_apply_batch
            R, out_t = batch(self.A, self.yd, X, self.lp, self.bws)
            return R[:, 1], out_t[0], out_t[1]
        R = self.A @ X
        if self.cplx:
            G = np.asarray(self.loss.complex_grad(self.yd[:, None], R), dtype=self.A.dtype)
            out = (G.conj().T @ self.A).conj().T
        else:
            G = np.asarray(self.loss.grad(self.yd[:, None], R), dtype=self.A.dtype)
            out = self.A.T @ G
        return R[:, 1], out[:, 0], out[:, 1]


@dataclass(frozen=True)
class Scheme:
    """A problem's method resolved for one run: coefficients, eta_t, batch fraction, temperature."""

    name: str
    coef: StepCoefficients
    etas: np.ndarray
    batch: Optional[float] = None
    temperature: float = 0.0

    @classmethod
    def of(cls, problem, eta: float, steps: int) -> Scheme:
        """The scheme of ``problem`` with base step ``eta`` and ``steps`` steps."""
        alg, values = problem.algorithm_obj, problem.method_values
        batch = values["batch"] if alg.factor == "bernoulli" and values["batch"] < 1.0 else None
        tau = float(values["temperature"]) if alg.noise else 0.0
        return cls(alg.name, alg.coefficients(values), problem.etas(eta, steps), batch, tau)

    def read_point(self, t: int, x: np.ndarray, xprev: Optional[np.ndarray]) -> np.ndarray:
        """p^t (``x`` itself when p^t = x^t: a = 1, b = 0, at t = 0 when a + b = 1, or at the last t)."""
        c = self.coef
        if c.reads_iterate or t >= self.etas.size or (xprev is None and c.a + c.b == 1.0):
            return x
        dt = x.dtype.type
        return dt(c.a) * x + dt(c.b) * (x if xprev is None else xprev)

    def factor(self, t: int, seed: int, n: int) -> Optional[np.ndarray]:
        """f^t of sgd (None when every factor is 1, and at the last t where no step is taken)."""
        if self.batch is None or t >= self.etas.size:
            return None
        return sgd_factor(seed, t, n, self.batch)

    def gradients(self, t, x, xprev, apply: Applier, lam: float, alpha: float, seed: int, n: int):
        """(r, grad, step_grad, passes): r = A x^t and grad = grad L(x^t) (full batch, for the
        observables), step_grad = lam p^t + (1/alpha) A^T (f^t g^t) (the update's), reads of A.

        ``apply`` is an :class:`Applier`.
        """
        dt = x.dtype.type
        inv = 1.0 / alpha
        p = self.read_point(t, x, xprev)
        f = self.factor(t, seed, n)
        if p is x:
            res = apply(x, f)
            grad = lam * x + res[1] * inv
            return res[0], grad, (grad if f is None else dt(lam) * x + res[2] * dt(inv)), 1
        if f is None:  # p^t and x^t in one read of A
            r, out_p, out = apply.pair(p, x)
            return r, lam * x + out * inv, dt(lam) * p + out_p * dt(inv), 1
        res = apply(p, f)
        step_grad = dt(lam) * p + res[2] * dt(inv)
        r, out = apply(x, None)
        return r, lam * x + out * inv, step_grad, 2

    def advance(self, t, x, xprev, step_grad, seed: int) -> np.ndarray:
        """x^{t+1} from x^t, x^{t-1} (None at t = 0: x^{-1} = x^0) and the update's gradient."""
        dt = x.dtype.type
        c, eta = self.coef, float(self.etas[t])
        if c.one_step:
            xn = x - dt(eta) * step_grad
        elif xprev is None and c.A + c.B == 1.0:
            xn = x - dt(eta) * step_grad
        else:
            xn = dt(c.A) * x + dt(c.B) * (x if xprev is None else xprev) - dt(eta) * step_grad
        if self.temperature > 0:
            sigma = math.sqrt(2.0 * eta * self.temperature)
            field = "complex" if np.iscomplexobj(x) else "real"
            xn = xn + dt(sigma) * langevin_noise(seed, t, x.size, field).astype(x.dtype)
        return xn


def check_jax_algorithm(problem) -> None:
    """ValueError unless ``problem`` is plain GD at a constant step on real data (all the JAX loop runs)."""
    if problem.field != "real":
        raise ValueError(
            f"backend='jax' runs real signals only; field={problem.field!r} needs backend='numba' or 'numpy'"
        )
    alg = problem.algorithm_obj
    plain = alg.coefficients(problem.method_values).gradient_descent and alg.factor == "one" and not alg.noise
    if not plain or problem.eta_schedule is not None:
        raise ValueError(
            f"backend='jax' runs plain GD at a constant step; algorithm={problem.algorithm!r} with "
            f"eta_schedule={problem.eta_schedule!r} needs backend='numba' or 'numpy'"
        )
