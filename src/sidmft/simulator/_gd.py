"""Gradient descent with per-step observables (docs/theory.md §0).

    x^{t+1} = x^t - eta grad L(x^t) = (1 - eta lam) x^t - (eta/alpha) A^T l'(y, A x^t),

observables at t = 0..steps (arrays of length steps + 1):
m = <x,x*>/d, q = ||x||^2/d, cosine = m/sqrt(q), error = 1 + q - 2|m|,
train_loss = (1/n) sum_i l(y_i, r_i), objective = train_loss + lam q/2,
grad_norm = ||grad L(x^t)||^2/d, test_error = model.test_error(m, q).

Complex data (docs/theory.md §7): x^{t+1} = (1 - eta lam) x^t - (eta/alpha) A^H g^t with
g = L'(y, |r|) r/|r|, and the phase-invariant observables m = |x*^H x|/d, q = ||x||^2/d,
train_loss = (1/n) sum_i L(y_i, |r_i|), grad_norm = ||lam x + (1/alpha) A^H g||^2/d (the real gradient on
(Re x, Im x) written as a complex vector), test_error = model.test_error(m, q, field="complex").

One pass over A per step: the fused kernel returns r = A x^t (for the training loss) and
A^T l'(y, r) (for the gradient) in one read of A.  The final step t = steps costs one more pass
(its loss and gradient norm).  Many (lam, eta) pairs on the same data run together in
:func:`~sidmft.simulator.run_gd_batch` (``simulator/_batch.py``): one read of A per step for all
of them (batched fused kernel), or two GEMMs per step (``method="gemm"``).

Divergence: a non-finite loss/gradient, or an objective above ``bound * max(|objective_0|, 1)``,
stops the run with ``Status.DIVERGED`` and a message naming the step; the remaining entries are
NaN and the status says why.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from threadpoolctl import threadpool_limits

from ..numerics import numba_threads
from ..results import OBSERVABLES, Result, Status
from ._data import check_field
from ._kernels import compile_scalar_grad
from ._settings import DEFAULT_BOUND
from ._steps import Applier, Scheme, check_jax_algorithm

__all__ = ["run_gd", "Trajectory", "DEFAULT_BOUND"]


@dataclass
class Trajectory(Result):
    """Output of :func:`run_gd` / :func:`~sidmft.simulator.run_gd_batch` (a :class:`~sidmft.results.Result`).

    ``obs[name]`` has shape (steps+1,) for one run, (B, steps+1) for a batch.  ``status`` and
    ``message`` are the worst over the batch; ``statuses``/``messages`` per trajectory.
    ``seconds`` is the wall time (also ``timing["total"]``), ``passes`` the reads of A.
    """

    obs: dict = field(default_factory=dict)
    statuses: list = field(default_factory=list)
    messages: list = field(default_factory=list)
    x: Optional[np.ndarray] = None
    passes: int = 0
    method: str = ""
    seconds: float = 0.0

    SCALARS = ("passes", "seconds")

    def to_dict(self) -> dict:
        """Plain dict: observables as lists, statuses as integer codes, ``problem`` as a dict."""
        return dict(
            obs={k: np.asarray(v).tolist() for k, v in self.obs.items()},
            status=int(self.status),
            message=self.message,
            statuses=[int(s) for s in self.statuses],
            messages=list(self.messages),
            passes=self.passes,
            method=self.method,
            seconds=self.seconds,
            seed=self.seed,
            version=self.version,
            problem=self.problem.to_dict(),
        )

    def to_xarray(self):
        """Observables over ``t`` (and ``trajectory`` for a batch) as a ``xarray.Dataset``."""
        import xarray as xr

        m = np.asarray(self.obs["m"])
        dims = ("t",) if m.ndim == 1 else ("trajectory", "t")
        ds = xr.Dataset({k: (dims, np.asarray(v)) for k, v in self.obs.items()}, coords={"t": np.arange(m.shape[-1])})
        if m.ndim == 2:
            ds["status_code"] = (("trajectory",), np.array([int(s) for s in self.statuses]))
        ds.attrs.update(self.metadata())
        ds.attrs.update(gd_method=self.method, passes=int(self.passes))
        return ds


def _divergence_message(t, reason, eta):
    return (
        f"GD diverged at step {t}: {reason}; the step size is too large for this problem -- "
        f"try a smaller eta (now eta = {eta:g}, e.g. eta = {eta / 2:g})"
    )


def _fill_test_error(obs, model, field="real"):
    m, q = obs["m"], obs["q"]
    te = np.full(m.shape, np.nan)
    ok = np.isfinite(m) & np.isfinite(q)
    if np.any(ok):
        te[ok] = model.test_error(m[ok], q[ok]) if field == "real" else model.test_error(m[ok], q[ok], field=field)
    obs["test_error"] = te


def _derived(obs):
    m, q = obs["m"], obs["q"]
    with np.errstate(invalid="ignore", divide="ignore"):
        obs["cosine"] = m / np.sqrt(q)
    obs["error"] = 1.0 + q - 2.0 * np.abs(m)


class _Guard:
    """Records one trajectory's step observables and tests divergence: a non-finite objective,
    gradient or overlap, or an objective above ``bound * max(|objective_0|, 1)`` (objective_0 =
    the first finite one)."""

    def __init__(self, obs, lam, eta, bound):
        self.obs, self.lam, self.eta, self.bound, self.limit = obs, lam, eta, bound, None

    def record(self, t, m, q, tl, gn):
        """Store step t; returns (Status.DIVERGED, message) to stop, else None."""
        obj = tl + 0.5 * self.lam * q
        if self.limit is None and math.isfinite(obj):
            self.limit = self.bound * max(abs(obj), 1.0)
        if not (math.isfinite(obj) and math.isfinite(gn) and math.isfinite(m)):
            return Status.DIVERGED, _divergence_message(t, "non-finite objective or gradient", self.eta)
        obs = self.obs
        obs["m"][t], obs["q"][t], obs["train_loss"][t] = m, q, tl
        obs["objective"][t], obs["grad_norm"][t] = obj, gn
        if obj > self.limit:
            return Status.DIVERGED, _divergence_message(
                t,
                f"objective {obj:.3g} exceeds the bound {self.limit:.3g} ({self.bound:g} x max(|initial "
                f"objective|, 1))",
                self.eta,
            )
        return None


def _finish(obs, problem, status, message, x, passes, method, t_start, **kw):
    """Derived observables, test error, and the Trajectory."""
    _derived(obs)
    _fill_test_error(obs, problem.model_obj, problem.field)
    sec = time.perf_counter() - t_start
    kw.setdefault("statuses", [status])
    kw.setdefault("messages", [message])
    return Trajectory(
        problem=problem,
        status=status,
        message=message,
        obs=obs,
        x=x.astype(np.complex128 if np.iscomplexobj(x) else np.float64),
        passes=passes,
        method=method,
        seconds=sec,
        timing={"total": sec},
        **kw,
    )


def _check_method(method, allowed):
    if method not in allowed:
        raise ValueError(f"method must be one of {list(allowed)}; got {method!r}")


def _scalar_grad(loss, method):
    """Compiled l' for the fused kernel, or None for the numpy path (``method="fused"`` insists)."""
    lp = compile_scalar_grad(loss) if method in ("auto", "fused") else None
    if method == "fused" and lp is None:
        raise ValueError(f"method='fused' needs a numba-compilable scalar_grad for loss {loss.name!r}")
    return lp


def _overrides(problem, lam, eta, steps):
    """(lam, eta, steps) of ``problem`` unless given."""
    return (
        problem.lam if lam is None else float(lam),
        problem.eta if eta is None else float(eta),
        problem.steps if steps is None else int(steps),
    )


def _measure(x, grad, r, xs, y, loss):
    """(m, q, train_loss, grad_norm) of one iterate, accumulated in float64 (complex: complex128, with
    m = |x*^H x|/d and the loss of |r|)."""
    d = x.size
    if np.iscomplexobj(x):
        x64, g64 = x.astype(np.complex128, copy=False), grad.astype(np.complex128, copy=False)
        tl = float(np.mean(loss.complex_value(y, r.astype(np.complex128, copy=False))))
        return abs(np.vdot(xs, x64)) / d, np.vdot(x64, x64).real / d, tl, np.vdot(g64, g64).real / d
    x64 = x.astype(np.float64, copy=False)
    g64 = grad.astype(np.float64, copy=False)
    tl = float(np.mean(loss.value(y, r.astype(np.float64, copy=False))))
    return float(x64 @ xs) / d, float(x64 @ x64) / d, tl, float(g64 @ g64) / d


def _measure_batch(Xa, grad, R64, xs, yc, loss):
    """Per-column (m, q, train_loss, grad_norm) of a batch of iterates, in float64 (complex: complex128,
    m = |x*^H x|/d, the loss of |r|)."""
    d = Xa.shape[0]
    if np.iscomplexobj(Xa):
        X64, g64 = Xa.astype(np.complex128, copy=False), grad.astype(np.complex128, copy=False)
        q = np.einsum("ij,ij->j", X64.conj(), X64).real / d
        gn = np.einsum("ij,ij->j", g64.conj(), g64).real / d
        return np.abs(xs.conj() @ X64) / d, q, np.mean(loss.complex_value(yc, R64), axis=0), gn
    X64 = Xa.astype(np.float64, copy=False)
    g64 = grad.astype(np.float64, copy=False)
    q, gn = np.einsum("ij,ij->j", X64, X64) / d, np.einsum("ij,ij->j", g64, g64) / d
    return (xs @ X64) / d, q, np.mean(loss.value(yc, R64), axis=0), gn


def run_gd(
    data,
    x0,
    problem,
    *,
    method: str = "auto",
    threads: Optional[int] = None,
    bound: float = DEFAULT_BOUND,
    callback: Optional[Callable[[int], None]] = None,
    lam: Optional[float] = None,
    eta: Optional[float] = None,
    steps: Optional[int] = None,
    backend: str = "numba",
) -> Trajectory:
    """Run ``steps`` steps of ``problem.algorithm`` from ``x0`` on ``data`` and record every observable.

    Method and step sizes eta_t (``eta_schedule`` based on ``eta``) are those of ``problem``
    (:mod:`sidmft.algorithms`); observables are full-batch at x^t.  Random draws come from the
    streams of ``data.seed`` (``sgd_factor``, ``langevin_noise`` in ``simulator/_data.py``).

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
        Called after each step (progress bars; not called by the jax backend).
    backend : {"numba", "numpy", "jax"}
        ``numpy`` is ``method="numpy"``; ``jax`` runs :func:`sidmft.backends.jax_gd.gd_jax` in A's dtype.

    Returns
    -------
    Trajectory
    """
    _check_method(method, ("auto", "fused", "numpy"))
    t_start = time.perf_counter()
    lam, eta, steps = _overrides(problem, lam, eta, steps)
    loss, alpha, d = problem.loss_obj, problem.alpha, data.d
    check_field(data, problem)
    x0 = _start_vector(x0, data)
    if x0.shape != (d,):
        raise ValueError(f"x0 must have shape ({d},); got {x0.shape}")
    scheme = Scheme.of(problem, eta, steps)
    obs = {k: np.full(steps + 1, np.nan) for k in OBSERVABLES}
    guard = _Guard(obs, lam, float(scheme.etas[0]) if steps else eta, bound)
    if backend == "jax":
        check_jax_algorithm(problem)
        return _run_gd_jax(data, x0, problem, guard, steps, t_start)
    lp = _scalar_grad(loss, "numpy" if backend == "numpy" else method)
    A, y, xs, dt = data.A, data.y, data.x_star, data.A.dtype
    apply = Applier(A, y, lp, loss)
    status, message, passes = Status.SUCCESS, "", 0
    x, xprev = x0.astype(dt), None
    with threadpool_limits(1), numba_threads(threads), np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps + 1):
            r, grad, step_grad, k = scheme.gradients(t, x, xprev, apply, lam, alpha, data.seed, data.n)
            passes += k
            stop = guard.record(t, *_measure(x, grad, r, xs, y, loss))
            if stop is not None:
                status, message = stop
                break
            if t < steps:
                x, xprev = scheme.advance(t, x, xprev, step_grad, data.seed), x
            if callback is not None:
                callback(t)
    return _finish(
        obs, problem, status, message, x, passes, "fused" if lp is not None else "numpy", t_start, seed=data.seed
    )


def _start_vector(x0, data) -> np.ndarray:
    """x0 as float64 (real data) or complex128 (complex data); ValueError for a complex x0 on real data."""
    if data.field == "complex":
        return np.asarray(x0, dtype=np.complex128)
    if np.iscomplexobj(x0):
        raise ValueError("x0 must be real for real data (field='real'); got a complex vector")
    return np.asarray(x0, dtype=np.float64)


def _run_gd_jax(data, x0, problem, guard, steps, t_start):
    """The JAX loop (all steps at once), then the same recording/divergence test as :func:`run_gd`."""
    from ..backends.jax_gd import gd_jax

    out = gd_jax(
        data.A,
        data.y,
        x0,
        data.x_star,
        loss=problem.loss_obj,
        alpha=problem.alpha,
        lam=guard.lam,
        eta=guard.eta,
        steps=steps,
        dtype=data.A.dtype.name,
    )
    status, message = Status.SUCCESS, ""
    for t in range(steps + 1):
        stop = guard.record(
            t, float(out["m"][t]), float(out["q"][t]), float(out["train_loss"][t]), float(out["grad_norm"][t])
        )
        if stop is not None:
            status, message = stop
            break
    return _finish(guard.obs, problem, status, message, out["x"], steps + 1, "jax", t_start, seed=data.seed)
