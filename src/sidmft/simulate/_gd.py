"""Gradient descent with per-step observables (THEORY.md §0).

    x^{t+1} = x^t - eta grad L(x^t) = (1 - eta lam) x^t - (eta/alpha) A^T l'(y, A x^t),

observables at t = 0..steps (arrays of length steps + 1):
m = <x,x*>/d, q = ||x||^2/d, cosine = m/sqrt(q), error = 1 + q - 2|m|,
train_loss = (1/n) sum_i l(y_i, r_i), objective = train_loss + lam q/2,
grad_norm = ||grad L(x^t)||^2/d, test_error = model.test_error(m, q).

One pass over A per step: the fused kernel returns r = A x^t (for the training loss) and
A^T l'(y, r) (for the gradient) in one read of A.  The final step t = steps costs one more pass
(its loss and gradient norm).  Many (lam, eta) pairs on the same data run together in
:func:`run_gd_batch`: one read of A per step for all of them (batched fused kernel), or two GEMMs
per step (``method="gemm"``).

Divergence: a non-finite loss/gradient, or an objective above ``bound * max(|objective_0|, 1)``,
stops the run with ``Status.DIVERGED`` and a message naming the step; the remaining entries are
NaN and the status says why.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from threadpoolctl import threadpool_limits

from ..results import OBSERVABLES, Status
from ._kernels import (BatchWorkspace, Workspace, compile_scalar_grad, fused_apply, fused_apply_batch, numba_threads,
                       numpy_apply)

__all__ = ["run_gd", "run_gd_batch", "Trajectory", "DEFAULT_BOUND"]

#: divergence bound factor: objective > DEFAULT_BOUND * max(|objective_0|, 1)
DEFAULT_BOUND = 1e8


@dataclass
class Trajectory:
    """Output of :func:`run_gd` / :func:`run_gd_batch`.

    ``obs[name]`` has shape (steps+1,) for one run, (B, steps+1) for a batch.  ``status`` and
    ``message`` are the worst over the batch; ``statuses``/``messages`` per trajectory.
    """

    obs: dict
    status: Status = Status.SUCCESS
    message: str = ""
    statuses: list = field(default_factory=list)
    messages: list = field(default_factory=list)
    x: Optional[np.ndarray] = None
    passes: int = 0
    method: str = ""
    seconds: float = 0.0


def _divergence_message(t, reason, eta):
    return (f"GD diverged at step {t}: {reason}; the step size is too large for this problem -- "
            f"try a smaller eta (now eta = {eta:g}, e.g. eta = {eta / 2:g})")


def _fill_test_error(obs, model):
    m, q = obs["m"], obs["q"]
    te = np.full(m.shape, np.nan)
    ok = np.isfinite(m) & np.isfinite(q)
    if np.any(ok):
        te[ok] = model.test_error(m[ok], q[ok])
    obs["test_error"] = te


def _derived(obs):
    m, q = obs["m"], obs["q"]
    with np.errstate(invalid="ignore", divide="ignore"):
        obs["cosine"] = m / np.sqrt(q)
    obs["error"] = 1.0 + q - 2.0 * np.abs(m)


def run_gd(data, x0, problem, *, method: str = "auto", threads: Optional[int] = None, bound: float = DEFAULT_BOUND,
           callback: Optional[Callable[[int], None]] = None, lam: Optional[float] = None,
           eta: Optional[float] = None, steps: Optional[int] = None) -> Trajectory:
    """Run ``steps`` GD steps from ``x0`` on ``data`` and record every observable.

    Parameters
    ----------
    data : Data
    x0 : (d,) array
    problem : Problem
        loss, alpha, lam, eta, steps (``lam``/``eta``/``steps`` override them).
    method : {"auto", "fused", "numpy"}
        ``fused``: one read of A per step (numba kernel with ``loss.scalar_grad``); ``numpy``:
        two BLAS passes (reference).  ``auto``: fused when the loss has a compilable scalar_grad.
    threads : int, optional
        numba threads for the fused kernel (results do not depend on it).
    bound : float
        Divergence bound factor on the objective.
    callback : callable(t), optional
        Called after each step (progress bars).

    Returns
    -------
    Trajectory
    """
    if method not in ("auto", "fused", "numpy"):
        raise ValueError(f"method must be one of ['auto', 'fused', 'numpy']; got {method!r}")
    t_start = time.perf_counter()
    lam = problem.lam if lam is None else float(lam)
    eta = problem.eta if eta is None else float(eta)
    steps = problem.steps if steps is None else int(steps)
    loss, alpha = problem.loss_obj, problem.alpha
    A, y, xs = data.A, data.y, data.x_star
    n, d = A.shape
    dt = A.dtype
    x0 = np.asarray(x0, dtype=np.float64)
    if x0.shape != (d,):
        raise ValueError(f"x0 must have shape ({d},); got {x0.shape}")
    lp = compile_scalar_grad(loss) if method in ("auto", "fused") else None
    if method == "fused" and lp is None:
        raise ValueError(f"method='fused' needs a numba-compilable scalar_grad for loss {loss.name!r}")
    use_fused = lp is not None
    ws = Workspace(n, d, dt) if use_fused else None
    yd = y.astype(dt)
    obs = {k: np.full(steps + 1, np.nan) for k in OBSERVABLES}
    status, message = Status.SUCCESS, ""
    x = x0.astype(dt)
    obj_bound = None
    passes = 0
    with threadpool_limits(1), numba_threads(threads), np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps + 1):
            if use_fused:
                r, out = fused_apply(A, yd, x, lp, ws)
            else:
                r, out = numpy_apply(A, yd, x, loss.grad)
            passes += 1
            x64 = x.astype(np.float64, copy=False)
            grad = lam * x + out * (1.0 / alpha)
            g64 = grad.astype(np.float64, copy=False)
            m = float(x64 @ xs) / d
            q = float(x64 @ x64) / d
            tl = float(np.mean(loss.value(y, r.astype(np.float64, copy=False))))
            gn = float(g64 @ g64) / d
            obj = tl + 0.5 * lam * q
            if obj_bound is None and math.isfinite(obj):
                obj_bound = bound * max(abs(obj), 1.0)
            if not (math.isfinite(obj) and math.isfinite(gn) and math.isfinite(m)):
                status = Status.DIVERGED
                message = _divergence_message(t, "non-finite objective or gradient", eta)
                break
            obs["m"][t], obs["q"][t], obs["train_loss"][t] = m, q, tl
            obs["objective"][t], obs["grad_norm"][t] = obj, gn
            if obj > obj_bound:
                status = Status.DIVERGED
                message = _divergence_message(t, f"objective {obj:.3g} exceeds the bound {obj_bound:.3g} "
                                                 f"({bound:g} x max(|initial objective|, 1))", eta)
                break
            if t < steps:
                x = x - dt.type(eta) * grad
            if callback is not None:
                callback(t)
    _derived(obs)
    _fill_test_error(obs, problem.model_obj)
    return Trajectory(obs=obs, status=status, message=message, statuses=[status], messages=[message],
                      x=x.astype(np.float64), passes=passes, method="fused" if use_fused else "numpy",
                      seconds=time.perf_counter() - t_start)


def check_lams_etas(lams, etas):
    """Broadcast (lams, etas) to two flat float arrays of a common length B, validated."""
    lams, etas = np.broadcast_arrays(np.atleast_1d(np.asarray(lams, dtype=float)),
                                     np.atleast_1d(np.asarray(etas, dtype=float)))
    lams, etas = lams.ravel().copy(), etas.ravel().copy()
    if np.any(~np.isfinite(lams)) or np.any(lams < 0):
        raise ValueError(f"lams must be finite and >= 0; got {lams}")
    if np.any(~np.isfinite(etas)) or np.any(etas <= 0):
        raise ValueError(f"etas must be finite and > 0; got {etas}")
    return lams, etas


def run_gd_batch(data, x0, problem, lams, etas, *, method: str = "auto", threads: Optional[int] = None,
                 bound: float = DEFAULT_BOUND, blas_threads: int = 1,
                 callback: Optional[Callable[[int], None]] = None, steps: Optional[int] = None) -> Trajectory:
    """Advance B GD trajectories (lams[b], etas[b]) on the same data together.

    ``fused``: one read of A per step for all B trajectories (numba kernel: R = A X and
    A^T l'(y, R) in one pass over row blocks, register-blocked over rows and columns; about
    1.5-1.8x faster than the GEMM pair on one core, see benchmarks/README.md).  ``gemm``: two
    GEMMs per step, R = A X and (l'(y, R)^T A)^T.  Either way A is read once or twice per step for
    all B trajectories together instead of once per trajectory.

    Parameters
    ----------
    data : Data
    x0 : (d,) or (d, B) array
        Common start (e.g. the spectral x0) or one start per trajectory.
    problem : Problem
        loss, alpha, steps (``problem.lam``/``problem.eta`` are ignored).
    lams, etas : array_like
        Broadcast to a common length B.
    method : {"auto", "fused", "gemm"}
        ``auto``: fused when the loss has a compilable scalar_grad, else gemm.
    threads : int, optional
        numba threads for the fused kernel (results do not depend on it).
    bound : float
        Divergence bound factor (per trajectory).
    blas_threads : int
        BLAS threads for the GEMMs (threadpoolctl).

    Returns
    -------
    Trajectory with ``obs[name]`` of shape (B, steps+1) and per-trajectory statuses/messages.
    """
    if method not in ("auto", "fused", "gemm"):
        raise ValueError(f"method must be one of ['auto', 'fused', 'gemm']; got {method!r}")
    t_start = time.perf_counter()
    lams, etas = check_lams_etas(lams, etas)
    B = lams.size
    steps = problem.steps if steps is None else int(steps)
    loss, alpha = problem.loss_obj, problem.alpha
    A, y, xs = data.A, data.y, data.x_star
    n, d = A.shape
    dt = A.dtype
    x0 = np.asarray(x0, dtype=np.float64)
    if x0.shape == (d,):
        X = np.repeat(x0[:, None], B, axis=1).astype(dt)
    elif x0.shape == (d, B):
        X = np.array(x0, dtype=dt)
    else:
        raise ValueError(f"x0 must have shape ({d},) or ({d}, {B}); got {x0.shape}")
    obs = {k: np.full((B, steps + 1), np.nan) for k in OBSERVABLES}
    statuses = [Status.SUCCESS] * B
    messages = [""] * B
    active = np.arange(B)
    bounds = np.full(B, np.nan)
    yc = y[:, None]
    lp = compile_scalar_grad(loss) if method in ("auto", "fused") else None
    if method == "fused" and lp is None:
        raise ValueError(f"method='fused' needs a numba-compilable scalar_grad for loss {loss.name!r}")
    use_fused = lp is not None
    yd = y.astype(dt)
    ws = None
    passes = 0
    with threadpool_limits(blas_threads), numba_threads(threads), np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps + 1):
            if active.size == 0:
                break
            Xa = X if active.size == B else X[:, active]
            if use_fused:
                if ws is None or not ws.fits(n, d, Xa.shape[1], dt):
                    ws = BatchWorkspace(n, d, Xa.shape[1], dt)
                R, out_t = fused_apply_batch(A, yd, Xa, lp, ws)
                R64 = R.astype(np.float64, copy=False)
                out = out_t.T
                passes += 1
            else:
                R = (Xa.T @ A.T).T  # measured ~25% faster than A @ Xa for skinny Xa (OpenBLAS, 1 thread)
                R64 = R.astype(np.float64, copy=False)
                G = np.asarray(loss.grad(yc, R64), dtype=dt)
                out = (G.T @ A).T  # B x d product: faster than A.T @ G in OpenBLAS for skinny G
                passes += 2
            la = lams[active].astype(dt)
            grad = Xa * la + out * dt.type(1.0 / alpha)
            X64 = Xa.astype(np.float64, copy=False)
            g64 = grad.astype(np.float64, copy=False)
            m = (xs @ X64) / d
            q = np.einsum("ij,ij->j", X64, X64) / d
            tl = np.mean(loss.value(yc, R64), axis=0)
            gn = np.einsum("ij,ij->j", g64, g64) / d
            obj = tl + 0.5 * lams[active] * q
            first = np.isnan(bounds[active]) & np.isfinite(obj)
            bounds[active[first]] = bound * np.maximum(np.abs(obj[first]), 1.0)
            bad_nf = ~(np.isfinite(obj) & np.isfinite(gn) & np.isfinite(m))
            ok = ~bad_nf
            idx = active[ok]
            for k, v in (("m", m), ("q", q), ("train_loss", tl), ("objective", obj), ("grad_norm", gn)):
                obs[k][idx, t] = v[ok]
            bad_big = ok & (obj > bounds[active])
            for j in np.nonzero(bad_nf | bad_big)[0]:
                b = active[j]
                statuses[b] = Status.DIVERGED
                reason = ("non-finite objective or gradient" if bad_nf[j] else
                          f"objective {obj[j]:.3g} exceeds the bound {bounds[b]:.3g}")
                messages[b] = _divergence_message(t, reason, etas[b]) + f" (trajectory {b}: lam = {lams[b]:g})"
            keep = ~(bad_nf | bad_big)
            if t < steps:
                Xa = Xa - grad * etas[active].astype(dt)
                if active.size == B and np.all(keep):
                    X = Xa
                else:
                    X[:, active] = Xa
                    active = active[keep]
            if callback is not None:
                callback(t)
    _derived(obs)
    _fill_test_error(obs, problem.model_obj)
    worst = max(statuses, key=int)
    msgs = [m_ for m_ in messages if m_]
    message = "" if not msgs else f"{len(msgs)} of {B} trajectories diverged; first: {msgs[0]}"
    return Trajectory(obs=obs, status=worst, message=message, statuses=statuses, messages=messages,
                      x=X.astype(np.float64), passes=passes, method="batch-fused" if use_fused else "batch-gemm",
                      seconds=time.perf_counter() - t_start)
