"""Dynamical mean-field theory (DMFT) of gradient descent from the spectral initialisation.

The d -> infinity trajectory of GD (THEORY.md §0) is described by two coupled effective
processes (THEORY.md §2):

* parameter side (one coordinate, linear, solved in closed form, §2.2)::

      x^{t+1} = (1 - eta lam) x^t - (eta/alpha) zeta^t
                - eta [R_g(t,S) v + sum_{s=1}^t R_g(t,s) x^s] - eta mu_t x*,
      v = R_S (zeta^S + alpha mu_S x*),   x^0 = kappa v,   zeta ~ N(0, Sigma),
  so x^p = c_p x* + sum_k R_x(p,k) zeta^k and C_x = c c^T + R_x Sigma R_x^T;

* sample side (one sample, non-linear, Monte Carlo, §2.3)::

      (z, w^S, w^1..w^T) Gaussian with Cov(z, w^p) = c_p, Cov(w^p, w^p') = C_x(p,p'),
      u = w^S/(1 - R_S T(y)),  g^S = T(y) u,  r^0 = kappa u,
      r^t = w^t + R_x(t,S) g^S + sum_{tau<t} R_x(t,tau) g^tau,   g^t = l'(y, r^t);

* closure (§2.4): R_g(t,p) = E[d g^t/d w^p] (exact pathwise, reverse mode),
  mu_t = E[g^t z] - sum_p c_p R_g(t,p) (Stein), Sigma(k,l) = alpha E[g^k g^l],
  with the spectral stage (R_S = 1/l*, rho, Sigma(S,S) = (1 - rho^2)/R_S^2) from
  :func:`sidmft.theory.spectral.spectral` (§1.2).

With ``problem.init == "random"`` the standard DMFT of §2.7 is solved instead
(x^0 = m0 x* + sqrt(q0 - m0^2) xi with xi independent of the data; no S index).

The system is causal, so a single forward pass over t = 0..T solves it up to Monte-Carlo
error (§4.1).  Implementation notes: :mod:`sidmft.theory._dmft_core` (forward pass) and
:mod:`sidmft.theory._dmft_kernels` (numba kernels).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..problem import Problem
from ..results import OBSERVABLES, Result, Status, Timer
from ._dmft_core import SCORES, BatchSolver

__all__ = ["dmft", "DMFTResult"]

_KERNELS = ("auto", "numba", "numpy")


@dataclass
class DMFTResult(Result):
    """Result of :func:`dmft`.

    Attributes
    ----------
    t : ndarray (T+1,)
        Steps 0..T.
    m, q, cosine, error, train_loss, objective, grad_norm, test_error : ndarray (T+1,)
        Observables of THEORY.md §2.6 (names :data:`sidmft.results.OBSERVABLES`), the average of
        the ``batches`` independent solves.
    <name>_se : ndarray (T+1,)
        Monte-Carlo standard error: standard deviation over batches / sqrt(batches)
        (NaN if ``batches == 1``).
    per_batch : dict name -> ndarray (batches, T+1)
        The observables of each independent batch.
    C_x, R_x, R_g, Sigma : ndarray (T+1, T+1)
        Kernels averaged over batches.  ``C_x[t, s] = <x^t, x^s>/d``; ``R_x[t, s] = d x^t / d h^s``
        (response of the iterate to the field zeta^s); ``R_g[t, s] = E[d g^t / d w^s]``;
        ``Sigma[t, s] = alpha E[g^t g^s]``.  In spectral mode there is no separate input w^0
        (r^0 = kappa u), so ``R_g[:, 0]`` is NaN and the spectral stage is in the ``*_S`` arrays.
    mu : ndarray (T+1,)
        Stein term mu_t (§2.4).
    C_x_v, R_x_S, R_g_S, Sigma_S : ndarray (T+1,)
        Spectral-stage row/column: C_x(t, v), R_x(t, S), R_g(t, S), Sigma(S, t).  In random mode
        ``R_x_S`` holds b_t, the coefficient of the data-independent direction xi (§2.7), and the
        others are NaN.
    Sigma_SS : float
        Sigma(S, S) = (1 - rho^2)/R_S^2 (closed form), NaN in random mode.
    spectral_overlap, top_eigenvalue, R_S : float
        rho, lambda_1 and R_S = 1/l* from the spectral theory (NaN in random mode).
    samples, batches : int
        Total Monte-Carlo paths and number of independent batches (samples/batches paths each).
    blowup_step : int or None
        First step of a heavy-tail blow-up (THEORY.md §3), else None.  Observables from this
        step on are NaN; the status is ``Status.BLOWUP``.
    diagnostics : dict
        ``min_schur`` (smallest relative Schur complement met in the incremental Cholesky, before
        clipping; ~0 or slightly negative values mean a degenerate direction), ``max_abs_r``
        (per step, max over paths and batches of |r^t|), ``scores``, ``kernel``, ``naive``.
    """

    t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    samples: int = 0
    batches: int = 0
    naive: bool = False
    per_batch: dict = field(default_factory=dict)
    C_x: Optional[np.ndarray] = None
    R_x: Optional[np.ndarray] = None
    R_g: Optional[np.ndarray] = None
    Sigma: Optional[np.ndarray] = None
    mu: Optional[np.ndarray] = None
    C_x_v: Optional[np.ndarray] = None
    R_x_S: Optional[np.ndarray] = None
    R_g_S: Optional[np.ndarray] = None
    Sigma_S: Optional[np.ndarray] = None
    Sigma_SS: float = math.nan
    spectral_overlap: float = math.nan
    top_eigenvalue: float = math.nan
    R_S: float = math.nan
    blowup_step: Optional[int] = None
    diagnostics: dict = field(default_factory=dict)
    obs: dict = field(default_factory=dict, repr=False)

    def __getattr__(self, name):
        obs = self.__dict__.get("obs", {})
        if name in obs:
            return obs[name]
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def observables(self) -> dict:
        """Dict name -> array for every observable and its ``_se``."""
        return dict(self.obs)

    def to_dict(self) -> dict:
        """JSON-friendly summary (keys as ``sidmft simulate --json``)."""
        d = {"t": self.t}
        for k in OBSERVABLES:
            d[k] = self.obs[k]
            d[k + "_se"] = self.obs[k + "_se"]
        d.update(status=self.status.label, message=self.message, spectral_overlap=self.spectral_overlap,
                 top_eigenvalue=self.top_eigenvalue, samples=self.samples, batches=self.batches,
                 seed=self.seed, blowup_step=self.blowup_step, timing=dict(self.timing))
        return d

    def to_xarray(self):
        """xarray Dataset: observables and ``_se`` on ``t``, kernels on ``(t, t2)``,
        per-batch observables on ``(batch, t)``; attributes from :meth:`Result.metadata`."""
        import xarray as xr

        t = self.t
        data = {}
        for k in OBSERVABLES:
            data[k] = ("t", self.obs[k])
            data[k + "_se"] = ("t", self.obs[k + "_se"])
            if k in self.per_batch:
                data[k + "_batch"] = (("batch", "t"), self.per_batch[k])
        for k in ("C_x", "R_x", "R_g", "Sigma"):
            v = getattr(self, k)
            if v is not None:
                data[k] = (("t", "t2"), v)
        for k in ("mu", "C_x_v", "R_x_S", "R_g_S", "Sigma_S"):
            v = getattr(self, k)
            if v is not None:
                data[k] = ("t", v)
        if "max_abs_r" in self.diagnostics:
            data["max_abs_r"] = ("t", np.asarray(self.diagnostics["max_abs_r"], dtype=float))
        coords = {"t": t, "t2": t.copy(), "batch": np.arange(self.batches)}
        ds = xr.Dataset(data, coords=coords)
        ds.attrs.update(self.metadata())
        ds.attrs.update(samples=int(self.samples), batches=int(self.batches), naive=int(self.naive),
                        spectral_overlap=float(self.spectral_overlap), top_eigenvalue=float(self.top_eigenvalue),
                        R_S=float(self.R_S), Sigma_SS=float(self.Sigma_SS),
                        blowup_step=-1 if self.blowup_step is None else int(self.blowup_step),
                        min_schur=float(self.diagnostics.get("min_schur", math.nan)),
                        scores=str(self.diagnostics.get("scores", "")),
                        kernel=str(self.diagnostics.get("kernel", "")))
        return ds


def _grad_jump_at_zero(problem) -> float:
    """Largest |l'(y, 0+) - l'(y, 0-)| over labels y drawn at 64 quantiles of z (0 for smooth losses)."""
    from scipy.special import ndtri

    z = ndtri((np.arange(64) + 0.5) / 64)
    y = np.asarray(problem.model_obj.sample(z, np.random.default_rng(0)), dtype=float)
    loss = problem.loss_obj
    with np.errstate(all="ignore"):
        d = np.asarray(loss.grad(y, np.full_like(y, 1e-12)) - loss.grad(y, np.full_like(y, -1e-12)), dtype=float)
    d = d[np.isfinite(d)]
    return float(np.max(np.abs(d))) if d.size else 0.0


class _numba_threads:
    """Temporarily set numba's thread count (restored afterwards); no-op for None."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        if self.n is not None:
            import numba

            self.old = numba.get_num_threads()
            numba.set_num_threads(max(1, min(int(self.n), numba.config.NUMBA_NUM_THREADS)))

    def __exit__(self, *exc):
        if self.n is not None:
            import numba

            numba.set_num_threads(self.old)
        return False


def _n_threads(threads):
    if threads is not None:
        return int(threads)
    try:
        import numba

        return int(numba.config.NUMBA_NUM_THREADS)
    except ImportError:  # pragma: no cover
        return 1


def _empty_result(problem, status, message, seed, samples, batches, naive, extra=None):
    T = problem.steps
    nan = np.full(T + 1, np.nan)
    obs = {}
    for k in OBSERVABLES:
        obs[k] = nan.copy()
        obs[k + "_se"] = nan.copy()
    res = DMFTResult(problem=problem, status=status, message=message, seed=seed, t=np.arange(T + 1),
                     samples=samples, batches=batches, naive=naive, obs=obs)
    for k, v in (extra or {}).items():
        setattr(res, k, v)
    return res


def _check_args(problem, samples, batches, seed, kernel, scores, precision, threads=None):
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a sidmft.Problem; got {type(problem).__name__}")
    if problem.init not in ("spectral", "random"):
        raise ValueError(f"init must be 'spectral' or 'random' for the DMFT (init='given' is simulation only); "
                         f"got {problem.init!r}")
    for name, v in (("samples", samples), ("batches", batches)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) and not (isinstance(v, float) and v.is_integer()):
            raise ValueError(f"{name} must be a whole number; got {v!r}")
    samples, batches = int(samples), int(batches)
    if batches < 1:
        raise ValueError(f"batches must be >= 1; got {batches}")
    if samples < 1 or samples // batches < 50:
        raise ValueError(f"samples must be >= 50 * batches (at least 50 paths per batch); got samples={samples}, "
                         f"batches={batches}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}")
    if kernel not in _KERNELS:
        raise ValueError(f"kernel must be one of {list(_KERNELS)}; got {kernel!r}")
    if scores not in SCORES:
        raise ValueError(f"scores must be one of {list(SCORES)}; got {scores!r}")
    if precision not in ("float64", "float32"):
        raise ValueError(f"precision must be 'float64' or 'float32'; got {precision!r}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer))
                                or threads < 1):
        raise ValueError(f"threads must be an integer >= 1 or None; got {threads!r}")
    return samples, batches


def dmft(problem: Problem, samples: int = 20000, batches: int = 4, seed: int = 0, naive: bool = False,
         progress: bool = False, scores: str = "lhs-orth", kernel: str = "auto", precision: str = "float32",
         threads: Optional[int] = None, allow_nonsmooth: bool = False) -> DMFTResult:
    """Monte-Carlo DMFT of GD (THEORY.md §2, §4) for ``problem.steps`` steps.

    Solves the causal system of §2.2-§2.4 (spectral init) or §2.7 (``init="random"``) by one
    forward pass: at step t the Cholesky factor of the Gaussian inputs is extended by one row
    (negative Schur complements clipped to 0, relative Schur complements below 1e-8 treated as a
    degenerate direction, one step of iterative refinement), r^t is formed with the memory terms,
    R_g(t, .) is computed exactly per path by reverse mode (row t of (I - R_x diag(l''))^{-1}),
    mu_t by Stein's lemma, Sigma(t, .) from the Gram row, and the parameter side is advanced in
    closed form.

    Monte-Carlo error.  The ``samples`` paths are split into ``batches`` *independent full
    solves* of samples/batches paths each; batch b uses the stream
    ``SeedSequence(seed, spawn_key=(b,))``, so its result does not depend on the number of batches or on
    how they are scheduled (bit-identical for a given thread mode; the path-parallel and batch-parallel
    kernels differ by rounding, ~1e-13).  Reported observables are the batch means and ``*_se`` the
    standard deviation over batches / sqrt(batches).  Why independent solves rather than one pooled
    solve with batch means: the kernels are self-consistent averages, so in a pooled solve the
    batch means of one trajectory share the same (random) kernels and their spread misses the
    kernel noise, which dominates (it is fed back through the memory terms).  Independent solves
    give an honest spread; their price is the O(1/(samples/batches)) bias of a smaller solve,
    measured to be far below the MC error at >= 2000 paths per batch.  The heavy-tailed averages
    of §5.3 make a few-batch standard error itself noisy: use >= 10 batches for tight tests.
    Kernels are the batch averages (the identities C_x = c c^T + R_x Sigma R_x^T hold per batch).

    Variance reduction (``scores``): ``"lhs-orth"`` (default) Latin-hypercube normal scores per
    column, then exact moment matching of their second moments (see
    :func:`sidmft.theory._dmft_core.normal_scores`); ``"lhs"``; ``"iid"``.  Measured (PR, intensity
    loss, T = 1 - 1/y, alpha = 3, eta = lam = 0.1; spread of 40 independent batches of 5000 paths):
    variance of m_t reduced against iid by 2.7, 6.0, 9.5, 19 at t = 1, 5, 10, 30 (LHS alone: 1.4, 2.1,
    3.0, 4.8); of q_t by 3.2-14; of the training loss and gradient norm by ~2-3.  For the linear model
    with square loss every average is exact.

    Parameters
    ----------
    problem : Problem
        ``init`` must be ``"spectral"`` or ``"random"``.
    samples : int
        Total number of Monte-Carlo paths M (>= 50 per batch).
    batches : int
        Number of independent solves B.
    seed : int
        Root seed (>= 0).
    naive : bool
        Demonstration only (THEORY.md §2.5): treat the spectral start as data independent, i.e. run
        the random-init DMFT with m0 = kappa rho, q0 = kappa^2.  This is wrong.
    progress : bool
        tqdm progress bar on stderr.
    scores : {"lhs-orth", "lhs", "iid"}
    kernel : {"auto", "numba", "numpy"}
        Hot loops: numba (default) or the plain numpy reference (slow; for checking).
    precision : {"float32", "float64"}
        Storage of the per-path histories (normal scores, g^t, l''^t) and arithmetic of the reverse
        sweep; every average is accumulated in float64 and the parameter side is float64.  float32
        (default) is ~2x faster (T = 200, M = 2e4: 1.1-1.4 s against 2.3-2.6 s on 2 cores); its effect
        on the observables was measured at <= 1e-7 (PR, T = 40; linear model, T = 100), four orders of
        magnitude below the Monte-Carlo error.
    allow_nonsmooth : bool
        Solve even if l'(y, .) jumps at r = 0 (e.g. the amplitude loss).  The pathwise responses
        R_g = E[l'' dr/dw] then miss the delta l'' contains, and the result is biased (see Returns).
    threads : int, optional
        Threads (default: numba's thread count).  With >= 2 batches the batches run concurrently, one
        single-threaded solve per thread (no per-step synchronisation, robust on busy machines);
        with one batch the kernels are path-parallel.  Results depend on ``threads`` only at the rounding
        level (~1e-13).

    Returns
    -------
    DMFTResult
        ``status``: SUCCESS; BLOWUP (heavy-tail instability, §3: some paths escape, the moments
        explode; observables from ``blowup_step`` on are NaN); BELOW_THRESHOLD (no spectral outlier,
        §5.6: the spectral seed is undefined); NOT_APPLICABLE (sup T = inf, or l' jumps at r = 0 and
        ``allow_nonsmooth`` is False: nothing computed).
    """
    samples, batches = _check_args(problem, samples, batches, seed, kernel, scores, precision, threads)
    seed = int(seed)
    jump = _grad_jump_at_zero(problem)
    if jump > 1e-8 and not allow_nonsmooth:
        return _empty_result(
            problem, Status.NOT_APPLICABLE,
            f"loss {problem.loss!r} has l'(y, r) discontinuous at r = 0 (jump up to {jump:.3g}): l'' then contains "
            "a delta that pathwise responses miss, and the DMFT is biased (measured for the amplitude loss, PR, "
            "alpha = 3, eta = lam = 0.1: m_30 = 0.876 against 0.865 +- 0.001 from simulation at d = 2000). "
            "Pass allow_nonsmooth=True to compute it anyway.", seed, samples, batches, naive)
    if kernel == "auto":
        kernel = "numba" if os.environ.get("SIDMFT_DMFT_KERNEL", "numba") != "numpy" else "numpy"
    M_b = samples // batches
    T = problem.steps
    timing = {}
    with Timer() as total:
        ctx = dict(steps=T, alpha=problem.alpha, eta=problem.eta, lam=problem.lam, loss=problem.loss_obj,
                   model=problem.model_obj)
        extra = {}
        if problem.init == "spectral":
            from .spectral import spectral

            sp = spectral(problem, threshold=False)
            extra = dict(spectral_overlap=float(sp.rho), top_eigenvalue=float(sp.top_eigenvalue),
                         R_S=float(sp.R_S))
            if sp.status != Status.SUCCESS or not sp.passed:
                sp = spectral(problem)   # again with the threshold alpha_c, for the message
                st = sp.status if sp.status != Status.SUCCESS else Status.BELOW_THRESHOLD
                msg = (f"spectral initialisation has no outlier ({sp.message}); the DMFT seed is undefined "
                       "below the threshold (THEORY.md §5.6), nothing computed")
                return _empty_result(problem, st, msg, seed, M_b * batches, batches, naive, extra)
            kap = problem.kappa_value()
            if naive:
                ctx.update(mode="random", m0=kap * sp.rho, q0=kap * kap)
            else:
                ctx.update(mode="spectral", rho=float(sp.rho), R_S=float(sp.R_S), kappa=kap,
                           Sigma_SS=(1.0 - sp.rho ** 2) / sp.R_S ** 2, T=problem.T)
                extra["Sigma_SS"] = ctx["Sigma_SS"]
        else:
            if naive:
                raise ValueError("naive=True only makes sense with init='spectral'")
            ctx.update(mode="random", m0=problem.m0, q0=problem.q0)

        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=batches * (T + 1), desc="dmft", unit="step", leave=False)
        cb = (lambda t: bar.update(1)) if bar is not None else None
        nthreads = _n_threads(threads)
        # batch-parallel (one GIL-free single-threaded solve per thread, no per-step synchronisation) when
        # there are >= 2 batches; otherwise the kernels run path-parallel.  Both use the same fixed chunking
        # (same summation order); they differ only by FMA contraction, i.e. at the rounding level (~1e-13).
        batch_parallel = kernel == "numba" and nthreads > 1 and batches > 1
        kern = "numba-serial" if batch_parallel else kernel

        def solve(b):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,)))
            return BatchSolver(ctx, M_b, rng, kernel=kern, scores=scores, callback=cb, precision=precision,
                               threads=threads).run()

        try:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(1), _numba_threads(threads if kern == "numba" else None):
                if kern.startswith("numba"):
                    from ._dmft_kernels import warmup

                    warmup(precision, serial=batch_parallel)
                if batch_parallel:
                    from concurrent.futures import ThreadPoolExecutor

                    with ThreadPoolExecutor(max_workers=min(nthreads, batches)) as ex:
                        outs = list(ex.map(solve, range(batches)))
                else:
                    outs = [solve(b) for b in range(batches)]
        finally:
            if bar is not None:
                bar.close()
        with Timer() as tpost:
            res = _assemble(problem, ctx, outs, seed, M_b, batches, naive, scores, kernel, extra)
        timing["observables"] = tpost.seconds
    timing["total"] = total.seconds
    res.timing = timing
    return res


_SAMPLE_SIDE = ("train_loss", "objective", "grad_norm")


def _mask_blowup(arrs, b, tb):
    """NaN from the blow-up step tb: sample-side averages (train loss, objective, gradient norm)
    from tb on, kernel-derived observables (m, q, ...), which use averages of steps < t, from tb + 1."""
    for k in list(arrs):
        base = k[:-3] if k.endswith("_se") else k
        start = tb if base in _SAMPLE_SIDE else tb + 1
        if b is None:
            arrs[k][start:] = np.nan
        else:
            arrs[k][b, start:] = np.nan


def _assemble(problem, ctx, outs, seed, M_b, batches, naive, scores, kernel, extra):
    T = problem.steps
    eta, lam = problem.eta, problem.lam
    spectral = ctx["mode"] == "spectral"
    model = problem.model_obj
    per = {k: np.full((batches, T + 1), np.nan) for k in OBSERVABLES}
    blow_steps = [o["blowup_step"] for o in outs if o["blowup_step"] is not None]
    for b, o in enumerate(outs):
        c, Cx = o["c"], o["Cx"]
        q = np.diag(Cx)
        m = c[: T + 1]
        qq = q[: T + 1]
        per["m"][b] = m
        per["q"][b] = qq
        with np.errstate(invalid="ignore", divide="ignore"):
            per["cosine"][b] = m / np.sqrt(qq)
        per["error"][b] = 1 + qq - 2 * np.abs(m)
        per["train_loss"][b] = o["train"]
        per["objective"][b] = o["train"] + lam * qq / 2
        dC = np.array([Cx[t, t] - 2 * Cx[t, t + 1] + Cx[t + 1, t + 1] for t in range(T + 1)])
        per["grad_norm"][b] = dC / eta ** 2
        tb = o["blowup_step"]
        if tb is not None:
            _mask_blowup(per, b, tb)
        ok = np.isfinite(per["m"][b]) & np.isfinite(per["q"][b])
        te = np.full(T + 1, np.nan)
        if ok.any():
            te[ok] = model.test_error(per["m"][b][ok], np.maximum(per["q"][b][ok], 0.0))
        per["test_error"][b] = te
    obs = {}
    for k in OBSERVABLES:
        obs[k] = per[k].mean(axis=0)
        obs[k + "_se"] = (per[k].std(axis=0, ddof=1) / math.sqrt(batches)) if batches > 1 else np.full(T + 1, np.nan)

    def avg(key, sl):
        return np.mean([sl(o[key]) for o in outs], axis=0)

    n = T + 1
    C_x = avg("Cx", lambda a: a[:n, :n])
    R_x = avg("Rx", lambda a: a[:n, 1 : n + 1])
    Sigma = avg("Sig", lambda a: a[1 : n + 1, 1 : n + 1])
    mu = avg("mu", lambda a: a)
    if spectral:
        R_g = avg("Rg", lambda a: np.concatenate([np.full((n, 1), np.nan), a[:, 2 : n + 1]], axis=1))
        R_g_S = avg("Rg", lambda a: a[:, 1])
        C_x_v = avg("Cv", lambda a: a[:n])
        R_x_S = avg("Rx", lambda a: a[:n, 0])
        Sigma_S = avg("Sig", lambda a: a[0, 1 : n + 1])
    else:
        R_g = avg("Rg", lambda a: a[:, 1 : n + 1])
        R_g_S = np.full(n, np.nan)
        C_x_v = np.full(n, np.nan)
        R_x_S = avg("Rx", lambda a: a[:n, 0])
        Sigma_S = np.full(n, np.nan)
    maxr = np.nanmax(np.array([o["maxr"] for o in outs]), axis=0) if outs else None
    diagnostics = dict(min_schur=float(min(o["min_schur"] for o in outs)), max_abs_r=maxr, scores=scores,
                       kernel=kernel, naive=bool(naive), paths_per_batch=M_b)
    if blow_steps:
        tb = int(min(blow_steps))
        _mask_blowup(obs, None, tb)
        status = Status.BLOWUP
        message = (f"heavy-tail blow-up (THEORY.md §3): Monte-Carlo moments exploded in {len(blow_steps)} of "
                   f"{batches} batches, beginning at step {tb} (max |r| = {np.nanmax(maxr):.3g}); train loss, "
                   f"objective and gradient norm from step {tb} on and m, q, ... from step {tb + 1} on are NaN. "
                   "Reduce eta or use a loss with bounded l''.")
    else:
        tb = None
        status = Status.SUCCESS
        how = ("naive: spectral start treated as data independent, demonstration only, THEORY.md §2.5"
               if naive else ctx["mode"] + " init")
        message = f"DMFT solved: {T} steps, {batches} x {M_b} paths ({how})"
    res = DMFTResult(problem=problem, status=status, message=message, seed=seed, t=np.arange(T + 1),
                     samples=M_b * batches, batches=batches, naive=naive, per_batch=per, C_x=C_x, R_x=R_x,
                     R_g=R_g, Sigma=Sigma, mu=mu, C_x_v=C_x_v, R_x_S=R_x_S, R_g_S=R_g_S, Sigma_S=Sigma_S,
                     blowup_step=tb, diagnostics=diagnostics, obs=obs)
    for k, v in extra.items():
        setattr(res, k, v)
    return res
