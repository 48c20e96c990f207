"""Spectral initialisation: top eigenvector of D = (1/alpha) A^T diag(T(y)) A (docs/theory.md §0, §1).

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

Justification (docs/theory.md §1.1 with T_K): the overlap rho^2 depends on T only through
E[T/(l - T)], E[T^2/(l - T)^2] and their z^2-weighted versions.  For T <= -K these integrands
are within O(l/K) of their T -> -inf limits and the event {T < -K} has probability
O(K^{-1/2}) (T ~ -1/z^2 near z = 0), so rho^2(K) - rho^2 = O(K^{-3/2}).  Quadrature of §1.1 for
lal/phase retrieval gives |rho^2(100) - rho^2| = 5e-5, 2.2e-4, 5e-4 at alpha = 2, 3, 4
(rho^2 = 0.63888, 0.84541, 0.92449), well below the seed-to-seed spread of rho^2 at d = 2000
(sd 0.004-0.015) and far below 1/sqrt(d).  The spectrum then spans O(K) instead of O(10^7), and
Lanczos needs 60-90 operator applications instead of thousands (bounded-below T such as mm,
clip, trim: ~22).  Smaller K is cheaper (passes ~ sqrt(K)) but biased: K = 30 costs
Delta rho^2 = -0.005 at alpha = 4, comparable to the finite-size spread, so we do not use it.
``tests/test_simulate_spectral.py`` and ``benchmarks/bench_simulate.py`` check this against the
exact (unclipped, dense) eigenvector on the same data.  Pass ``t_floor=None`` for the exact matrix.

Complex data (docs/theory.md §7)
--------------------------------
D = (1/alpha) A^H diag(T_K(y)) A is Hermitian; its matvec is the complex fused kernel
(``simulator/_ckernels.py``).  Lanczos runs on the complex Hermitian ``LinearOperator`` (``eigsh``, which
hands complex operators to ARPACK's complex driver) or, with ``complex_eigsh="embedded"``, on the real
symmetric 2d x 2d embedding (interleaved (Re, Im) coordinates; every eigenvalue doubled, v and i v).
v is normalised to ||v||^2 = d with its phase fixed so that x*^H v is real and > 0; the overlap is
rho = |x*^H v|/(||v|| ||x*||).  The two Lanczos forms produce the same tridiagonal matrix (the Lanczos
coefficients of a Hermitian operator are real) and take the same number of passes (benchmarks/README.md),
so the Hermitian one is the default.  For noiseless phase retrieval with T = 1 - 1/y the floor acts on
{y < 1/(K+1)}, of probability ~1/K (|z|^2 is exponential); quadrature of docs/theory.md §7.1 with T_K
(benchmarks/complex_spectral_reference.py) gives rho^2(100) - rho^2 = -9e-7, -7.8e-6, -2.3e-5 at
alpha = 2, 4, 6, falling like K^{-3}: the default K = 100 serves complex data too.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, LinearOperator, eigsh
from threadpoolctl import threadpool_limits

from ..numerics import numba_threads
from ..results import Result, Status
from ._ckernels import CWorkspace, cfused_apply, numpy_capply
from ._data import KEY_LANCZOS, check_field, child_rng
from ._kernels import Workspace, fused_apply, numpy_apply
from ._settings import DEFAULT_DENSE_FALLBACK, DEFAULT_T_FLOOR, DEFAULT_WARM_FLOOR, SpectralInitSettings

__all__ = [
    "spectral_init",
    "SpectralInfo",
    "SpectralInitSettings",
    "spectral_weights",
    "DEFAULT_T_FLOOR",
    "DEFAULT_WARM_FLOOR",
    "DEFAULT_DENSE_FALLBACK",
]

_NAN = float("nan")


@dataclass
class SpectralInfo(Result):
    """Diagnostics of :func:`spectral_init` (a :class:`~sidmft.results.Result`).

    ``overlap`` is rho = |<v,x*>|/(||v|| ||x*||); ``raw_overlap`` the signed value before the
    sign fix, ``sign`` the factor applied (+1 or -1).  Complex data: rho = |x*^H v|/(||v|| ||x*||), the
    phase is removed (not a sign), so ``raw_overlap`` = rho and ``sign`` = +1.  ``passes`` counts operator applications
    (each one read of A), including the one for the residual ||D v - lambda_1 v||/||v||.
    ``seconds`` is the wall time (also ``timing["total"]``); ``seed`` the data seed.
    """

    top_eigenvalue: float = _NAN
    second_eigenvalue: float = _NAN
    overlap: float = _NAN
    overlap_sq: float = _NAN
    raw_overlap: float = _NAN
    sign: int = 1
    passes: int = 0
    residual: float = _NAN
    method: str = ""
    t_floor: float = DEFAULT_T_FLOOR
    n_floored: int = 0
    tol: float = _NAN
    seconds: float = 0.0

    SCALARS = (
        "top_eigenvalue",
        "second_eigenvalue",
        "overlap",
        "overlap_sq",
        "raw_overlap",
        "sign",
        "passes",
        "residual",
        "t_floor",
        "n_floored",
        "tol",
        "seconds",
    )

    def to_dict(self) -> dict:
        """Plain dict of the diagnostics (``status`` as its integer code, ``problem`` as a dict)."""
        d = {k: getattr(self, k) for k in self.SCALARS}
        d.update(
            method=self.method,
            status=int(self.status),
            message=self.message,
            seed=self.seed,
            version=self.version,
            problem=self.problem.to_dict(),
        )
        return d

    def to_xarray(self):
        """Scalar diagnostics as a ``xarray.Dataset`` (attributes: :meth:`metadata`)."""
        import xarray as xr

        ds = xr.Dataset({k: ((), float(getattr(self, k))) for k in self.SCALARS})
        ds.attrs.update(self.metadata())
        ds.attrs["spectral_method"] = self.method
        return ds


def spectral_weights(y, problem, t_floor=DEFAULT_T_FLOOR):
    """w = T_K(y)/alpha (float64) and the number of floored entries."""
    T = np.asarray(problem.T(np.asarray(y, dtype=np.float64)), dtype=np.float64)
    if np.any(np.isnan(T)) or np.any(T == np.inf):
        raise ValueError(
            f"preprocess {problem.T.name!r} gives NaN or +inf on the data; it must be finite "
            "(or -inf, which the floor t_floor handles)"
        )
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


class _SolveFailed(Exception):
    """No usable eigenvector: :func:`spectral_init` returns NaN and status FAILED with this message."""

    def __init__(self, method, message):
        super().__init__(message)
        self.method = method


class _Operator:
    """x -> A^T (w * (A x)) (= D x for w = T_K(y)/alpha), counting applications (passes over A).

    Complex A: x -> A^H (w * (A x)) on complex vectors, or with ``embedded`` on the real interleaved
    (Re, Im) coordinates of R^{2d} (the real symmetric embedding)."""

    def __init__(self, data, fused, embedded=False):
        self.A, self.fused, self.count = data.A, fused, 0
        self.cplx = data.field == "complex"
        self.embedded = self.cplx and embedded
        ws_cls = CWorkspace if self.cplx else Workspace
        self.ws = ws_cls(data.n, data.d, data.A.dtype) if fused else None

    def matvec(self, wv):
        wA = wv.astype(self.A.real.dtype)
        kernel, reference = (cfused_apply, numpy_capply) if self.cplx else (fused_apply, numpy_apply)
        wide = np.complex128 if self.cplx else np.float64

        def apply(x):
            x = np.asarray(x).ravel()
            if self.embedded and not np.iscomplexobj(x):
                return apply(np.ascontiguousarray(x, dtype=np.float64).view(np.complex128)).view(np.float64)
            self.count += 1
            if self.fused:
                _, out = kernel(self.A, wA, x, None, self.ws)
            else:
                _, out = reference(self.A, wA, x)
            return np.asarray(out, dtype=wide)

        return apply

    def linop(self, apply):
        d = self.A.shape[1]
        if self.embedded:
            return LinearOperator((2 * d, 2 * d), matvec=lambda x: apply(x.ravel()), dtype=np.float64)
        return LinearOperator((d, d), matvec=apply, dtype=np.complex128 if self.cplx else np.float64)

    def start(self, seed):
        """The Lanczos start vector of the stream KEY_LANCZOS: standard_normal(d), or (complex data)
        standard_normal(2d) read as complex (or kept as the real embedding's vector)."""
        d = self.A.shape[1]
        g = child_rng(seed, KEY_LANCZOS).standard_normal(2 * d if self.cplx else d)
        return g if (self.embedded or not self.cplx) else g.view(np.complex128)

    def vector(self, v):
        """An eigenvector of :meth:`linop` as a vector of C^d (complex data) or R^d."""
        return np.ascontiguousarray(v).view(np.complex128) if self.embedded else v


def _dense(A, w):
    """(D, lambda_1, lambda_2, v) by dense ``eigh`` of D = A^T diag(w) A (complex: A^H diag(w) A)."""
    Af = A.astype(np.complex128 if np.iscomplexobj(A) else np.float64, copy=False)
    Dm = Af.conj().T @ (w[:, None] * Af)
    ev, V = np.linalg.eigh(Dm)
    return Dm, float(ev[-1]), (float(ev[-2]) if Dm.shape[0] > 1 else _NAN), V[:, -1].copy()


def _warm_start(op, w, floor, v0):
    """Loose top eigenvector (tol 0.1, ncv 10) of the operator with the stiffer floor -floor (weights w/alpha)."""
    d = v0.size
    try:
        _, vw = eigsh(
            op.linop(op.matvec(np.maximum(w, -floor))), k=1, which="LA", tol=0.1, ncv=min(d, 10), v0=v0, maxiter=200
        )
        return vw[:, 0]
    except ArpackNoConvergence:
        return v0


def _second_eigenvalue(apply, lam1, v, v0, s, ncv, maxiter):
    """Top eigenvalue of D deflated by v (the bulk edge; slow: it is not an isolated eigenvalue)."""
    vn = v / np.linalg.norm(v)
    shift = lam1 - min(0.0, lam1) + 1.0

    def apply_defl(x):
        x = x.ravel()
        return apply(x) - shift * np.vdot(vn, x) * vn

    d = v.size
    opd = LinearOperator((d, d), matvec=apply_defl, dtype=v.dtype)
    try:
        return float(
            eigsh(opd, k=1, which="LA", tol=s.tol, ncv=ncv, v0=v0, maxiter=maxiter, return_eigenvectors=False)[0]
        )
    except (ArpackNoConvergence, ArpackError):
        return _NAN


def _lanczos(data, problem, s, w, op):
    """(D or None, lambda_1, lambda_2, v, method, status, message) by Lanczos, with the dense fallback."""
    d = data.d
    ncv = min(int(s.ncv), d) if s.ncv is not None else min(d, 20)
    mi = s.maxiter if s.maxiter is not None else 1000
    v0 = op.start(data.seed)
    K = float("inf") if s.t_floor is None else float(s.t_floor)
    if s.warm_floor is not None and float(s.warm_floor) < K and np.min(w) * problem.alpha < -float(s.warm_floor):
        v0 = _warm_start(op, w, float(s.warm_floor) / problem.alpha, v0)
    apply = op.matvec(w)
    status, message = Status.SUCCESS, ""
    try:
        evals, evecs = eigsh(op.linop(apply), k=1, which="LA", tol=s.tol, ncv=ncv, v0=v0, maxiter=mi)
    except ArpackNoConvergence as e:
        if e.eigenvectors is None or e.eigenvectors.shape[1] == 0:
            why = (
                f"Lanczos (eigsh) found no eigenvector after {op.count} operator applications "
                f"(tol={s.tol:g}, maxiter={mi}, ncv={ncv})"
            )
            if d > s.dense_fallback:
                raise _SolveFailed(
                    "lanczos", why + f"; no dense fallback (d = {d} > dense_fallback = {s.dense_fallback})"
                ) from None
            try:
                D, lam1, lam2, v = _dense(data.A, w)
            except np.linalg.LinAlgError as e2:
                raise _SolveFailed("lanczos", why + f"; the dense eigh fallback failed too ({e2})") from None
            why += "; used the dense eigh fallback (exact eigenvector)"
            return D, lam1, lam2, v, "dense-fallback", status, why
        evals, evecs = e.eigenvalues, e.eigenvectors
        status = Status.NOT_CONVERGED
        message = f"Lanczos did not converge to tol={s.tol:g} after {op.count} operator applications"
    except ArpackError as e:
        raise _SolveFailed("lanczos", f"Lanczos (ARPACK) error: {e}") from None
    lam1, v = float(np.real(evals[0])), evecs[:, 0].copy()
    v, v0 = op.vector(v), op.vector(v0)  # the deflated solve runs on C^d (the embedding doubles lambda_1)
    lam2 = _second_eigenvalue(apply, lam1, v, v0, s, ncv, mi) if s.second else _NAN
    return None, lam1, lam2, v, "lanczos", status, message


def spectral_init(data, problem, settings: Optional[SpectralInitSettings] = None, **options):
    """Top eigenvector of D = (1/alpha) A^T diag(T_K(y)) A, normalised ||v||^2 = d, <v,x*> >= 0.

    Parameters
    ----------
    data : Data
    problem : Problem
        Supplies T (``problem.T``) and alpha.
    settings : SpectralInitSettings, optional
        Eigensolver settings (method, tol, t_floor, warm start, dense fallback, ...; see
        :class:`SpectralInitSettings`).  A dict of the same names is accepted too.
    **options
        Any field of :class:`SpectralInitSettings` (overrides ``settings``), e.g.
        ``spectral_init(data, p, method="dense", t_floor=None)``.

    Returns
    -------
    v : (d,) float64 array
    info : SpectralInfo
        ``status``: SUCCESS; NOT_CONVERGED (Lanczos stopped at ``maxiter`` with an eigenvector
        short of ``tol``); FAILED (no eigenvector, or a non-finite one; v is NaN).
    """
    s = SpectralInitSettings.coerce(settings, **options)
    check_field(data, problem)
    t0 = time.perf_counter()
    w, nfl = spectral_weights(data.y, problem, s.t_floor)
    op = _Operator(data, s.fused, embedded=s.complex_eigsh == "embedded")
    use_dense = s.method == "dense" or (s.method == "auto" and data.d <= s.dense_max)
    status, message, method = Status.SUCCESS, "", "dense" if use_dense else "lanczos"
    info = dict(
        problem=problem,
        seed=data.seed,
        t_floor=float("inf") if s.t_floor is None else float(s.t_floor),
        n_floored=int(nfl),
        tol=float(s.tol),
    )
    try:
        with threadpool_limits(1), numba_threads(s.threads):
            if use_dense:
                try:
                    D, lam1, lam2, v = _dense(data.A, w)
                except np.linalg.LinAlgError as e:
                    raise _SolveFailed("dense", f"dense eigh of D failed ({e})") from None
            else:
                D, lam1, lam2, v, method, status, message = _lanczos(data, problem, s, w, op)
            v, raw, sign, res = _normalise(data, lam1, v, D, op.matvec(w) if D is None else None, method)
    except _SolveFailed as e:
        sec = time.perf_counter() - t0
        return np.full(data.d, np.nan), SpectralInfo(
            **info,
            status=Status.FAILED,
            message=str(e),
            passes=op.count,
            method=e.method,
            seconds=sec,
            timing={"total": sec},
        )
    rho = abs(raw)
    sec = time.perf_counter() - t0
    return v, SpectralInfo(
        **info,
        status=status,
        message=message,
        top_eigenvalue=lam1,
        second_eigenvalue=lam2,
        overlap=rho,
        overlap_sq=rho * rho,
        raw_overlap=raw,
        sign=sign,
        passes=op.count,
        residual=res,
        method=method,
        seconds=sec,
        timing={"total": sec},
    )


def _normalise(data, lam1, v, D, apply, method):
    """Scale v to ||v||^2 = d with <v, x*> >= 0; (v, signed overlap before the fix, sign, residual).
    Complex data: x*^H v real >= 0 (the phase removed); the 'signed' overlap is then rho, the sign +1."""
    d = data.d
    nv = float(np.linalg.norm(v))
    if not (np.isfinite(lam1) and np.isfinite(nv) and nv > 0):
        raise _SolveFailed(
            method, f"the eigensolver returned a non-finite eigenpair (lambda_1 = {lam1:g}, ||v|| = {nv:g})"
        )
    v *= math.sqrt(d) / nv
    xs = data.x_star
    if np.iscomplexobj(v):
        c = np.vdot(xs, v)  # x*^H v
        if abs(c) > 0:
            v *= np.conj(c) / abs(c)
        raw, sign = abs(c) / (math.sqrt(d) * np.linalg.norm(xs)), 1
    else:
        raw = float(v @ xs) / (math.sqrt(d) * np.linalg.norm(xs))
        sign = -1 if raw < 0 else 1
        v *= sign
    # residual (one more pass; for the dense path computed from D)
    Dv = D @ v if D is not None else apply(v)
    return v, raw, sign, float(np.linalg.norm(Dv - lam1 * v) / np.linalg.norm(v))
