"""Spectral initialisation: top eigenvector of D = (1/alpha) A^T diag(T(y)) A (THEORY.md §0, §1).

The eigenvector is computed matrix-free by implicitly restarted Lanczos (``scipy.sparse.linalg.
eigsh`` on a ``LinearOperator``, ``which='LA'``) whose matvec is the fused one-read kernel
x -> A^T (w * (A x)), w = T_K(y)/alpha.  Small problems (d <= ``dense_max``) may use dense
``eigh``.

Preprocessing floor (the remedy for T unbounded below)
------------------------------------------------------
For T(y) = 1 - 1/y (``lal``, noiseless phase retrieval) T ~ -1/z^2 reaches about -10^7 at
n ~ 10^4, so the spectrum of D spans [-10^6, 1/alpha] while the outlier sits O(0.1) above the
bulk edge: Lanczos needs ~sqrt(spread/gap) iterations and barely moves.  We replace T by

    T_K(y) = max(T(y), -K),   K = ``t_floor`` (default 100).

Justification (THEORY.md §1.1 with T_K): the overlap rho^2 depends on T only through
E[T/(l - T)], E[T^2/(l - T)^2] and their z^2-weighted versions.  For T <= -K these integrands
are within O(l/K) of their T -> -inf limits and the event {T < -K} has probability
O(K^{-1/2}) (T ~ -1/z^2 near z = 0), so rho^2(K) - rho^2 = O(K^{-3/2}).  Quadrature of §1.1 for
lal/phase retrieval gives |rho^2(100) - rho^2| = 5e-5, 2.2e-4, 5e-4 at alpha = 2, 3, 4
(rho^2 = 0.63888, 0.84541, 0.92449), well below the seed-to-seed spread of rho^2 at d = 2000
(sd 0.004-0.015) and far below 1/sqrt(d).  The spectrum then spans O(K) instead of O(10^7), and
Lanczos needs 60-90 operator applications instead of thousands (bounded-below T such as mm,
clip, trim: ~22).  Smaller K is cheaper (passes ~ sqrt(K)) but biased: K = 30 costs
Delta rho^2 = -0.005 at alpha = 4, comparable to the finite-size spread, so we do not use it.  ``tests/test_simulate_spectral.py`` and
``benchmarks/bench_simulate.py`` check this against the exact (unclipped, dense) eigenvector on
the same data.  Pass ``t_floor=None`` for the exact matrix.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh
from threadpoolctl import threadpool_limits

from ..results import Status
from ._data import KEY_LANCZOS, child_rng
from ._kernels import Workspace, fused_apply, numba_threads, numpy_apply

__all__ = ["spectral_init", "SpectralInfo", "spectral_weights", "DEFAULT_T_FLOOR"]

#: default K in T_K = max(T, -K); see the module docstring
DEFAULT_T_FLOOR = 100.0
#: floor of the cheap warm-start solve (see ``spectral_init``)
DEFAULT_WARM_FLOOR = 3.0


@dataclass
class SpectralInfo:
    """Diagnostics of :func:`spectral_init`.

    ``overlap`` is rho = |<v,x*>|/(||v|| ||x*||); ``raw_overlap`` the signed value before the
    sign fix, ``sign`` the factor applied (+1 or -1).  ``passes`` counts operator applications
    (each one read of A), including the one for the residual ||D v - lambda_1 v||/||v||.
    """

    top_eigenvalue: float
    second_eigenvalue: float
    overlap: float
    overlap_sq: float
    raw_overlap: float
    sign: int
    passes: int
    residual: float
    method: str
    t_floor: float
    n_floored: int
    tol: float
    seconds: float
    status: Status = Status.SUCCESS
    message: str = ""

    def to_dict(self):
        d = asdict(self)
        d["status"] = int(self.status)
        return d


def spectral_weights(y, problem, t_floor=DEFAULT_T_FLOOR):
    """w = T_K(y)/alpha (float64) and the number of floored entries."""
    T = np.asarray(problem.T(np.asarray(y, dtype=np.float64)), dtype=np.float64)
    if np.any(np.isnan(T)) or np.any(T == np.inf):
        raise ValueError(f"preprocess {problem.T.name!r} gives NaN or +inf on the data; it must be finite "
                         "(or -inf, which the floor t_floor handles)")
    nfl = 0
    if t_floor is not None:
        K = float(t_floor)
        if not K > 0:
            raise ValueError(f"t_floor must be > 0 or None; got {t_floor!r}")
        nfl = int(np.count_nonzero(T < -K))
        T = np.maximum(T, -K)
    elif not np.all(np.isfinite(T)):
        raise ValueError(f"preprocess {problem.T.name!r} is -inf on some labels; use a finite t_floor")
    return T / problem.alpha, nfl


def spectral_init(data, problem, *, method: str = "auto", tol: float = 1e-2, t_floor: Optional[float] = DEFAULT_T_FLOOR,
                  ncv: Optional[int] = None, maxiter: Optional[int] = None, dense_max: int = 300,
                  fused: bool = True, threads: Optional[int] = None, second: bool = False,
                  warm_floor: Optional[float] = DEFAULT_WARM_FLOOR):
    """Top eigenvector of D = (1/alpha) A^T diag(T_K(y)) A, normalised ||v||^2 = d, <v,x*> >= 0.

    Parameters
    ----------
    data : Data
    problem : Problem
        Supplies T (``problem.T``) and alpha.
    method : {"auto", "lanczos", "dense"}
        ``auto``: dense ``eigh`` for d <= ``dense_max``, else matrix-free Lanczos.
    tol : float
        ARPACK relative residual tolerance ||D v - theta v|| <= tol |theta|.  The default 1e-2 is
        loose on purpose: rho^2 moves by <~ 2e-4 against tol = 1e-10 (benchmark and tests) -- far
        below the finite-size spread -- at about half the passes.  (With a floored T the residual is dominated by tiny components along
        the O(K) negative eigenvectors, so it over-states the eigenvector error.)
    t_floor : float or None
        K of the floor T_K = max(T, -K) (module docstring); None for the exact T.
    ncv : int, optional
        Lanczos basis size (default 20).
    warm_floor : float or None
        When T goes below -warm_floor, first solve loosely (tol 0.1, ncv 10) with T floored at
        -warm_floor (spectral spread O(warm_floor), a few passes) and start the real solve from that
        vector: about 35% fewer passes for ``lal`` (benchmark).  None disables it.
    fused : bool
        Use the fused numba kernel (else two BLAS passes per application).
    threads : int, optional
        numba threads for the kernel (result independent of it).
    second : bool
        Also compute the second eigenvalue (bulk edge) on the Lanczos path by a deflated solve.
        Off by default: the bulk edge is not an isolated eigenvalue, so this costs several times
        the top eigenpair.  The dense path always returns it; otherwise it is NaN.

    Returns
    -------
    v : (d,) float64 array
    info : SpectralInfo
    """
    if method not in ("auto", "lanczos", "dense"):
        raise ValueError(f"method must be one of ['auto', 'lanczos', 'dense']; got {method!r}")
    t0 = time.perf_counter()
    A, d = data.A, data.d
    w, nfl = spectral_weights(data.y, problem, t_floor)
    K = float("inf") if t_floor is None else float(t_floor)
    use_dense = method == "dense" or (method == "auto" and d <= dense_max)
    status, message = Status.SUCCESS, ""
    ws = Workspace(data.n, d, A.dtype) if fused else None
    count = [0]

    def make_apply(wv):
        wA = wv.astype(A.dtype)

        def apply(x):
            count[0] += 1
            if fused:
                _, out = fused_apply(A, wA, x, None, ws)
            else:
                _, out = numpy_apply(A, wA, x)
            return np.asarray(out, dtype=np.float64)

        return apply

    apply = make_apply(w)

    with threadpool_limits(1), numba_threads(threads):
        if use_dense:
            Af = A.astype(np.float64, copy=False)
            D = Af.T @ (w[:, None] * Af)
            evals, evecs = np.linalg.eigh(D)
            lam1, lam2 = float(evals[-1]), float(evals[-2]) if d > 1 else float("nan")
            v = evecs[:, -1].copy()
            method_used = "dense"
        else:
            ncv_ = int(ncv) if ncv is not None else min(d, 20)
            v0 = child_rng(data.seed, KEY_LANCZOS).standard_normal(d)
            if warm_floor is not None and float(warm_floor) < K and np.min(w) * problem.alpha < -float(warm_floor):
                # warm start: the same operator with the stiffer floor K_w (spread O(K_w), cheap), loose
                opw = LinearOperator((d, d), matvec=make_apply(np.maximum(w, -float(warm_floor) / problem.alpha)),
                                     dtype=np.float64)
                try:
                    _, vw = eigsh(opw, k=1, which="LA", tol=0.1, ncv=min(d, 10), v0=v0, maxiter=200)
                    v0 = vw[:, 0]
                except ArpackNoConvergence:
                    pass
            op = LinearOperator((d, d), matvec=apply, dtype=np.float64)
            mi = maxiter if maxiter is not None else 1000
            try:
                evals, evecs = eigsh(op, k=1, which="LA", tol=tol, ncv=ncv_, v0=v0, maxiter=mi)
            except ArpackNoConvergence as e:
                if e.eigenvectors is None or e.eigenvectors.shape[1] == 0:
                    raise RuntimeError(f"Lanczos (eigsh) found no eigenvector after {count[0]} operator "
                                       f"applications (tol={tol:g}, maxiter={mi})") from None
                evals, evecs = e.eigenvalues, e.eigenvectors
                status = Status.NOT_CONVERGED
                message = f"Lanczos did not converge to tol={tol:g} after {count[0]} operator applications"
            lam1 = float(evals[0])
            v = evecs[:, 0].copy()
            lam2 = float("nan")
            if second:
                # bulk edge: top eigenvalue of D deflated by v (slow: the bulk edge is not isolated)
                vn = v / np.linalg.norm(v)
                shift = lam1 - min(0.0, lam1) + 1.0

                def apply_defl(x):
                    return apply(x) - shift * (vn @ x) * vn

                opd = LinearOperator((d, d), matvec=apply_defl, dtype=np.float64)
                try:
                    ev2 = eigsh(opd, k=1, which="LA", tol=tol, ncv=ncv_, v0=v0, maxiter=mi,
                                return_eigenvectors=False)
                    lam2 = float(ev2[0])
                except ArpackNoConvergence:
                    pass
            method_used = "lanczos"
        v *= math.sqrt(d) / np.linalg.norm(v)
        xs = data.x_star
        raw = float(v @ xs) / (math.sqrt(d) * np.linalg.norm(xs))
        sign = -1 if raw < 0 else 1
        v *= sign
        # residual (one more pass; for the dense path computed from D)
        Dv = D @ v if use_dense else apply(v)
        res = float(np.linalg.norm(Dv - lam1 * v) / np.linalg.norm(v))
    rho = abs(raw)
    info = SpectralInfo(top_eigenvalue=lam1, second_eigenvalue=lam2, overlap=rho, overlap_sq=rho * rho,
                        raw_overlap=raw, sign=sign, passes=count[0], residual=res, method=method_used,
                        t_floor=float("inf") if t_floor is None else float(t_floor), n_floored=nfl,
                        tol=float(tol), seconds=time.perf_counter() - t0, status=status, message=message)
    return v, info
