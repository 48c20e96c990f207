"""Batched trajectories: B runs of one first-order method on the same data, one read of A per step.

Trajectory b has its own (lam_b, eta_b), optionally its own (beta_b, batch_b, tau_b), and follows
the method of :mod:`sidmft.algorithms` (``problem.algorithm``, ``eta_schedule``):

    p_b^t     = a x_b^t + b x_b^{t-1},
    x_b^{t+1} = A x_b^t + B x_b^{t-1} - eta_{b,t} (lam_b p_b^t + (1/alpha) A^T (f^t * l'(y, A p_b^t)))
                + sigma_{b,t} xi^t,

with (a, b, A, B) the coefficients at beta_b, eta_{b,t} the schedule started from eta_b and
sigma_{b,t} = sqrt(2 eta_{b,t} tau_b).  The random draws depend only on the data seed and t: the
uniforms U^t of (KEY_SGD, t) (f_i^t = [U_i^t < batch_b] / batch_b) and xi^t of (KEY_LANGEVIN, t), so
every trajectory uses the draws :func:`run_gd` uses: trajectory b equals ``run_gd`` on
``problem.replace(beta=beta_b, batch=batch_b, temperature=tau_b)`` with ``lam=lams[b], eta=etas[b]``
up to rounding.

One read of A per step for all B trajectories (batched fused kernel): gd, heavy-ball, langevin put
the B columns X^t through it; sgd adds A^T (f^t G) next to A^T G while the rows are in cache; Nesterov
puts the 2B columns [P^t, X^t] (gradients at the read points, observables at the iterates) through
it together.  ``method="gemm"``: two GEMMs per step instead.

Complex data (docs/theory.md §7): A^H and g = L'(y, |r|) r/|r|; B complex columns are 2B real columns of
the batched kernel (``simulator/_ckernels.py``); the same coefficients, complex Langevin noise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Optional

import numpy as np
from threadpoolctl import threadpool_limits

from ..numerics import numba_threads
from ..parameters import get_parameter
from ..results import OBSERVABLES, Status
from ._ckernels import cfused_apply_batch, real_dtype
from ._data import check_field, langevin_noise, sgd_factor
from ._gd import Trajectory, _check_method, _divergence_message, _finish, _measure_batch, _scalar_grad
from ._kernels import BatchWorkspace, fused_apply_batch
from ._settings import DEFAULT_BOUND

__all__ = ["run_gd_batch", "check_lams_etas", "batch_etas"]


def check_lams_etas(lams, etas):
    """Broadcast (lams, etas) to two flat float arrays of a common length B, validated."""
    lams, etas = np.broadcast_arrays(
        np.atleast_1d(np.asarray(lams, dtype=float)), np.atleast_1d(np.asarray(etas, dtype=float))
    )
    lams, etas = lams.ravel().copy(), etas.ravel().copy()
    for key, arr in (("lams", lams), ("etas", etas)):
        par = get_parameter(key[:-1])
        if not all(np.isfinite(x) and par.contains(float(x)) for x in arr):
            raise ValueError(f"{key} must be finite and {par.range_text}; got {arr}")
    return lams, etas


def batch_etas(problem, etas, steps: int) -> np.ndarray:
    """eta_{b,t} (B, steps): ``problem``'s step schedule started from each etas[b] (ValueError,
    naming eta_schedule, when the schedule does not fit one of them)."""
    return np.stack([problem.etas(float(e), steps) for e in etas]) if steps else np.zeros((len(etas), 0))


def _batch_start(x0, d, B, dt):
    if np.iscomplexobj(x0) and not np.iscomplexobj(np.empty(0, dt)):
        raise ValueError("x0 must be real for real data (field='real'); got a complex array")
    x0 = np.asarray(x0, dtype=np.complex128 if np.iscomplexobj(np.empty(0, dt)) else np.float64)
    if x0.shape == (d,):
        return np.repeat(x0[:, None], B, axis=1).astype(dt)
    if x0.shape == (d, B):
        return np.array(x0, dtype=dt)
    raise ValueError(f"x0 must have shape ({d},) or ({d}, {B}); got {x0.shape}")


class _BatchGuard:
    """The divergence test of :func:`run_gd` for B trajectories: records the active ones, returns
    those to keep."""

    def __init__(self, obs, lams, etas, bound):
        self.obs, self.lams, self.etas, self.bound = obs, lams, etas, bound
        B = lams.size
        self.limits = np.full(B, np.nan)
        self.statuses, self.messages = [Status.SUCCESS] * B, [""] * B

    def record(self, t, active, m, q, tl, gn):
        obj = tl + 0.5 * self.lams[active] * q
        first = np.isnan(self.limits[active]) & np.isfinite(obj)
        self.limits[active[first]] = self.bound * np.maximum(np.abs(obj[first]), 1.0)
        bad_nf = ~(np.isfinite(obj) & np.isfinite(gn) & np.isfinite(m))
        ok = ~bad_nf
        idx = active[ok]
        for k, v in (("m", m), ("q", q), ("train_loss", tl), ("objective", obj), ("grad_norm", gn)):
            self.obs[k][idx, t] = v[ok]
        bad_big = ok & (obj > self.limits[active])
        for j in np.nonzero(bad_nf | bad_big)[0]:
            b = active[j]
            self.statuses[b] = Status.DIVERGED
            reason = (
                "non-finite objective or gradient"
                if bad_nf[j]
                else f"objective {obj[j]:.3g} exceeds the bound {self.limits[b]:.3g}"
            )
            self.messages[b] = (
                _divergence_message(t, reason, self.etas[b]) + f" (trajectory {b}: lam = {self.lams[b]:g})"
            )
        return ~(bad_nf | bad_big)

    def summary(self):
        """(worst status, message naming how many trajectories diverged and the first reason)."""
        msgs = [m_ for m_ in self.messages if m_]
        message = "" if not msgs else f"{len(msgs)} of {len(self.messages)} trajectories diverged; first: {msgs[0]}"
        return max(self.statuses, key=int), message


class _Passes:
    """The reads of A of a batch: the fused kernel (one pass, reusable workspace) or two GEMMs."""

    def __init__(self, A, y, lp, loss):
        self.cplx = np.iscomplexobj(A)
        self.A, self.yd, self.yc, self.lp, self.loss = A, y.astype(real_dtype(A.dtype)), y[:, None], lp, loss
        self.ws: Optional[BatchWorkspace] = None
        self.count = 0

    def __call__(self, X, f):
        """(R64, Out, Outf): R = A X (float64 view), Out = A^T l'(y, R), Outf = A^T (f l'(y, R))
        (None without a factor f; f (n,) or one column per column of X), all (., columns of X).
        Complex A: R in complex128, A^H and g = L'(y, |R|) R/|R|."""
        A, dt = self.A, self.A.dtype
        if self.cplx:
            return self._complex(X, f)
        if self.lp is not None:
            n, d = A.shape
            if self.ws is None or not self.ws.fits(n, d, X.shape[1], dt):
                self.ws = BatchWorkspace(n, d, X.shape[1], dt)
            res = fused_apply_batch(A, self.yd, X, self.lp, self.ws, f)
            self.count += 1
            return res[0].astype(np.float64, copy=False), res[1].T, (res[2].T if f is not None else None)
        R = (X.T @ A.T).T  # measured ~25% faster than A @ X for skinny X (OpenBLAS, 1 thread)
        R64 = R.astype(np.float64, copy=False)
        G = np.asarray(self.loss.grad(self.yc, R64), dtype=dt)
        self.count += 2
        if f is None:
            return R64, (G.T @ A).T, None  # B x d product: faster than A.T @ G in OpenBLAS for skinny G
        B = G.shape[1]
        F = f.astype(dt) if f.ndim == 2 else f.astype(dt)[:, None]
        O = (np.concatenate([G, G * F], axis=1).T @ A).T
        return R64, O[:, :B], O[:, B:]

    def _complex(self, X, f):
        """:meth:`__call__` for complex A (fused: 2B real columns in one read; else two complex GEMMs)."""
        A, dt = self.A, self.A.dtype
        if self.lp is not None:
            n, d = A.shape
            B2, rdt = 2 * X.shape[1], real_dtype(dt)
            if self.ws is None or not self.ws.fits(n, 2 * d, B2, rdt):
                self.ws = BatchWorkspace(n, 2 * d, B2, rdt)
            res = cfused_apply_batch(A, self.yd, X, self.lp, self.ws, f)
            self.count += 1
            return res[0].astype(np.complex128), res[1].T, (res[2].T if f is not None else None)
        R64 = (A @ X).astype(np.complex128, copy=False)
        G = np.asarray(self.loss.complex_grad(self.yc, R64), dtype=dt)
        self.count += 2
        if f is not None:
            F = f.astype(real_dtype(dt)) if f.ndim == 2 else f.astype(real_dtype(dt))[:, None]
            G = np.concatenate([G, G * F], axis=1)
        O = (G.conj().T @ A).conj().T
        B = X.shape[1]
        return R64, O[:, :B], (O[:, B:] if f is not None else None)


#: the historical per-trajectory keywords of :func:`run_gd_batch` -> method parameter
PER_TRAJECTORY = {"betas": "beta", "batches": "batch", "temperatures": "temperature"}


def batch_parameters(problem, B: int, params=None, **given) -> dict:
    """{name: (B,) float array} of the method's parameters per trajectory: ``params[name]`` or the keyword of
    :data:`PER_TRAJECTORY` (broadcast to B), else the problem's value.  ValueError naming the keyword when it is
    out of the parameter's range (:mod:`sidmft.parameters`), does not broadcast, or the method has no such
    parameter."""
    alg = problem.algorithm_obj
    values = problem.method_values
    wanted = {PER_TRAJECTORY[k]: (k, v) for k, v in given.items() if v is not None}
    for name, v in (params or {}).items():
        wanted[name] = (name, v)
    out = {}
    for name, (key, _) in wanted.items():
        if name not in alg.parameters:
            raise ValueError(
                f"{key} needs an algorithm with a {name}; algorithm {alg.name!r} has {list(alg.parameters)}"
            )
    for name in alg.parameters:
        key, v = wanted.get(name, (name, values[name]))
        try:
            arr = np.broadcast_to(np.asarray(v, dtype=float).ravel(), (B,)).copy()
        except ValueError:
            raise ValueError(f"{key} must broadcast to the {B} (lam, eta) pairs; got shape {np.shape(v)}") from None
        par = get_parameter(name)
        if not all(np.isfinite(x) and par.contains(float(x)) for x in arr):
            raise ValueError(f"{key} must be {par.range_text}; got {arr}")
        out[name] = arr
    return out


class _BatchScheme:
    """The method of ``problem`` over B columns: coefficients (a, b, A, B) per column (from its parameter
    values per column), eta_{b,t}, the sgd batch and the Langevin temperature per column."""

    def __init__(self, problem, etas, steps, params):
        alg = problem.algorithm_obj
        self.etas_bt, self.steps = batch_etas(problem, etas, steps), steps
        cols = [{k: float(v[j]) for k, v in params.items()} for j in range(etas.size)]
        coefs = [alg.coefficients(c) for c in cols]
        self.a, self.b, self.A, self.B = (np.array([getattr(c, k) for c in coefs]) for k in ("a", "b", "A", "B"))
        self.reads_iterate = bool(np.all((self.a == 1.0) & (self.b == 0.0)))
        self.one_step = bool(np.all((self.A == 1.0) & (self.B == 0.0)))
        self.two_step = not (self.reads_iterate and self.one_step)  # keeps x^{t-1}
        self.batch = params["batch"] if alg.factor == "bernoulli" else np.ones(etas.size)
        self.tau = params["temperature"] if alg.noise else np.zeros(etas.size)

    def read_point(self, t, Xa, Xpa, active):
        """P^t on the active columns, or None when P^t = X^t (as ``Scheme.read_point`` of run_gd)."""
        if self.reads_iterate or t >= self.steps or (t == 0 and np.all(self.a + self.b == 1.0)):
            return None
        dt = Xa.dtype
        return self.a[active].astype(dt) * Xa + self.b[active].astype(dt) * Xpa

    def factor(self, t, active, seed, n):
        """f^t: None (every factor 1), (n,) shared by the active columns or (n, columns)."""
        bs = self.batch[active]
        if t >= self.steps or np.all(bs == 1.0):
            return None
        if np.all(bs == bs[0]):
            return sgd_factor(seed, t, n, float(bs[0]))
        cols = {b_: (np.ones(n) if b_ == 1.0 else sgd_factor(seed, t, n, float(b_))) for b_ in np.unique(bs)}
        return np.stack([cols[b_] for b_ in bs], axis=1)

    def gradients(self, t, Xa, Xpa, active, lams, inv, passes, seed, n):
        """(R64, grad, step_grad): R = A X^t, grad = grad L(X^t) (full batch, the observables),
        step_grad = lam P^t + (1/alpha) A^T (f^t G(P^t)) (the update's); one read of A."""
        P = self.read_point(t, Xa, Xpa, active)
        f = self.factor(t, active, seed, n)
        B = Xa.shape[1]
        if P is not None and f is not None and f.ndim == 2:
            f = np.concatenate([f, f], axis=1)
        R64, out, outf = passes(Xa if P is None else np.concatenate([P, Xa], axis=1), f)
        grad = Xa * lams + out[:, -B:] * inv
        if P is None and f is None:
            return R64, grad, grad
        step = (outf if f is not None else out)[:, :B] * inv
        return R64[:, -B:], grad, (Xa if P is None else P) * lams + step

    def advance(self, t, Xa, Xpa, step, active, seed):
        """X^{t+1} on the active columns: X - eta_t step + (-B)(X - X^{t-1}) when A + B = 1 (else
        A X + B X^{t-1} - eta_t step), plus sigma_{b,t} xi^t for Langevin dynamics."""
        dt = Xa.dtype
        eta = self.etas_bt[active, t]
        Xn = Xa - step * eta.astype(dt)
        if not self.one_step:
            A_, B_ = self.A[active], self.B[active]
            if np.all(A_ + B_ == 1.0):
                Xn = Xn + (-B_).astype(dt) * (Xa - Xpa)
            else:
                Xn = A_.astype(dt) * Xa + B_.astype(dt) * Xpa - step * eta.astype(dt)
        tau = self.tau[active]
        if np.any(tau > 0):
            sigma = np.sqrt(2.0 * eta * tau).astype(dt)
            field = "complex" if np.iscomplexobj(Xa) else "real"
            Xn = Xn + langevin_noise(seed, t, Xa.shape[0], field).astype(dt)[:, None] * sigma
        return Xn


def _loop(data, problem, scheme, X, lams, guard, passes, steps, callback):
    """The steps of :func:`run_gd_batch` (a trajectory stops when ``guard`` says so); returns X."""
    B, dt, loss = X.shape[1], X.dtype, problem.loss_obj
    Xprev = X.copy() if scheme.two_step else None  # x^{-1} = x^0
    active, inv, yc = np.arange(B), dt.type(1.0 / problem.alpha), data.y[:, None]
    for t in range(steps + 1):
        if active.size == 0:
            break
        Xa = X if active.size == B else X[:, active]
        Xpa = None if Xprev is None else (Xprev if active.size == B else Xprev[:, active])
        lam_a = lams[active].astype(dt)
        R64, grad, step = scheme.gradients(t, Xa, Xpa, active, lam_a, inv, passes, data.seed, data.n)
        keep = guard.record(t, active, *_measure_batch(Xa, grad, R64, data.x_star, yc, loss))
        if t < steps:
            Xa_next = scheme.advance(t, Xa, Xpa, step, active, data.seed)
            if Xprev is not None:
                Xprev[:, active] = Xa
            if active.size == B and np.all(keep):
                X = Xa_next
            else:
                X[:, active] = Xa_next
                active = active[keep]
        if callback is not None:
            callback(t)
    return X


def run_gd_batch(
    data,
    x0,
    problem,
    lams,
    etas,
    *,
    method: str = "auto",
    blas_threads: int = 1,
    threads: Optional[int] = None,
    bound: float = DEFAULT_BOUND,
    callback: Optional[Callable[[int], None]] = None,
    steps: Optional[int] = None,
    betas=None,
    batches=None,
    temperatures=None,
    params=None,
) -> Trajectory:
    """Advance B trajectories (lams[b], etas[b]) of ``problem.algorithm`` on the same data together.

    Every method of :mod:`sidmft.algorithms` with its step schedule (eta_{b,t} from etas[b]);
    trajectory b equals ``run_gd(data, x0, problem, lam=lams[b], eta=etas[b])`` up to rounding
    (the same sgd/Langevin draws; with ``betas``/``batches``/``temperatures``, on the problem with
    that trajectory's parameters).  ``fused``: one read of A per step for all B trajectories (numba
    kernel; Nesterov 2B columns, sgd a second accumulator; see benchmarks/README.md); ``gemm``: two
    GEMMs per step.  A diverging trajectory stops; the others go on.

    Parameters
    ----------
    data : Data
    x0 : (d,) or (d, B) array
        Common start (e.g. the spectral x0) or one start per trajectory.
    problem : Problem
        loss, alpha, steps, algorithm and its parameters (shared); ``problem.lam``/``problem.eta``
        are ignored.
    lams, etas : array_like
        Broadcast to a common length B (etas: the base step of the schedule).
    method : {"auto", "fused", "gemm"}
        ``auto``: fused when the loss has a compilable scalar_grad, else gemm.
    threads, bound, callback, steps :
        As in :func:`run_gd` (bound per trajectory).
    blas_threads : int
        BLAS threads for the GEMMs (threadpoolctl).
    betas, batches, temperatures : array_like, optional
        Per-trajectory beta in [0, 1), sgd batch fraction in (0, 1], Langevin temperature >= 0
        (broadcast to B; only for a method with that parameter); default: the problem's.
    params : dict name -> array_like, optional
        Per-trajectory values of any of the method's parameters (same rules).

    Returns
    -------
    Trajectory with ``obs[name]`` of shape (B, steps+1) and per-trajectory statuses/messages.
    """
    _check_method(method, ("auto", "fused", "gemm"))
    t_start = time.perf_counter()
    check_field(data, problem)
    lams, etas = check_lams_etas(lams, etas)
    B, steps = lams.size, problem.steps if steps is None else int(steps)
    params = batch_parameters(problem, B, params, betas=betas, batches=batches, temperatures=temperatures)
    scheme = _BatchScheme(problem, etas, steps, params)
    X = _batch_start(x0, data.d, B, data.A.dtype)
    obs = {k: np.full((B, steps + 1), np.nan) for k in OBSERVABLES}
    guard = _BatchGuard(obs, lams, etas, bound)
    passes = _Passes(data.A, data.y, _scalar_grad(problem.loss_obj, method), problem.loss_obj)
    with threadpool_limits(blas_threads), numba_threads(threads), np.errstate(over="ignore", invalid="ignore"):
        X = _loop(data, problem, scheme, X, lams, guard, passes, steps, callback)
    worst, message = guard.summary()
    kw = dict(statuses=guard.statuses, messages=guard.messages, seed=data.seed)
    kind = "fused" if passes.lp is not None else "gemm"
    return _finish(obs, problem, worst, message, X, passes.count, f"batch-{kind}", t_start, **kw)
