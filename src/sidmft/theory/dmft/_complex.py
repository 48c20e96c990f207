"""The forward pass for complex signals (complex Wirtinger flow, docs/theory.md §7.2).

Everything of :class:`~sidmft.theory.dmft._core.BatchSolver` carries over with circular complex Gaussian
sample-side inputs: the parameter side (c, R_x, Sigma, the update of every first-order method) is real in the
limit and is the real code; only the sample side changes.

* Scores: xi = (X_re + i X_im)/sqrt(2) with (X_re, X_im) the 2(T+2) rows of the real scores, so the moment-matched
  scores give E[xi xi^H] = I and E[xi xi^T] = 0 exactly on the sample.  z = xi_0, y = f(|z|).
* Inputs X = L xi with the real Cholesky factor of K = E[X X^H] (E[w^p z-bar] = c_p, E[w^p w-bar^p'] = C_x(p,p')),
  fields r^t = w^t + R(t, S) g^S + sum_tau R(t, tau) g^tau with complex g = L'(y, |r|) r/|r| (the real field kernel
  on the real and the imaginary parts).
* Closure: Sigma(k, l) = alpha Re E[g^k conj g^l], mu_k = Re E[conj(z) g^k] - sum_p c_p R_g(k, p), and R_g(k, p) =
  E[d g^k / d w^p] either by complex integration by parts, R_g = Re K^-1 E[conj(X) g] = L^-T Re E[conj(xi) g]
  (no derivative, exact for any loss), or pathwise with the Wirtinger pair (dg/dr, dg/d r-bar)
  (:mod:`._complex_kernels`).  Imaginary parts of the Monte-Carlo averages are noise and are dropped.
* Langevin noise is real GD's on (Re x, Im x): sqrt(2 eta tau) (xi_re + i xi_im), so a noise column has E|.|^2 = 2.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import solve_triangular

from ._complex_kernels import complex_responses
from ._core import BatchSolver, normal_scores
from ._input import LinearStart, SpectralStart
from ._method import probe_grad_norm

__all__ = ["ComplexBatchSolver"]

_SQRT_HALF = math.sqrt(0.5)


class _Probe:
    """The hybrid estimator's tangent (docs/theory.md §4.3 carried to complex fields): per path the pair
    (X^s, Y^s) along random real directions v_s = +-1 plus the spectral source, X^s = v_s + source_s +
    sum_{tau<s} R(s, tau) P0^tau, Y^s = sum_{tau<s} R(s, tau) P1^tau, with (P0, P1)^tau = D_tau (X, Y)^tau; its
    probe mean against v_p gives the responses to the columns older than the window."""

    def __init__(self, rng, n_steps: int, M: int, spectral: bool):
        self.V = (rng.integers(0, 2, size=(n_steps + 1, M), dtype=np.int8) * 2 - 1).astype(np.float64)
        if spectral:
            self.V[0] = 0.0  # r^0 has no input of its own
        self.P0 = np.zeros((n_steps + 1, M), dtype=complex)
        self.P1 = np.zeros((n_steps + 1, M), dtype=complex)

    def tangent(self, t: int, mem: np.ndarray, source) -> tuple:
        X = self.V[t] + source + (mem @ self.P0[:t] if t else 0.0)
        Y = mem @ self.P1[:t] if t else np.zeros(self.V.shape[1], dtype=complex)
        return X, Y

    def record(self, t: int, a, b, X, Y) -> None:
        self.P0[t] = a * X + b * Y
        self.P1[t] = np.conj(b) * X + a * Y


class ComplexBatchSolver(BatchSolver):
    """:class:`BatchSolver` for ``field="complex"`` (see the module docstring); responses ``"ibp"``,
    ``"pathwise"`` or ``"hybrid"`` (the exact sweep over a window of the last ``window`` steps and a random-probe
    tangent for the older columns)."""

    def _draw(self, n_steps: int):
        n = n_steps + 2
        X = normal_scores(self.rng, 2 * n, self.n_paths, self.scores)
        Xr, Xim = X[:n] * _SQRT_HALF, X[n:] * _SQRT_HALF
        z = Xr[0] + 1j * Xim[0]
        y = np.asarray(self.inp.model.sample(np.abs(z), self.rng), dtype=float)
        return (Xr, Xim), z, y

    def _score_row(self, Xi, k):
        return Xi[0][k] + 1j * Xi[1][k]

    def _keep_scores(self, Xi):
        Xr, Xim = Xi
        if self.dtype != np.float64:
            Xr, Xim = Xr.astype(self.dtype), Xim.astype(self.dtype)
        self.Xr, self.Xim = Xr, Xim
        return Xi

    def _allocate(self, n_steps: int, z: np.ndarray) -> None:
        super()._allocate(n_steps, np.real(z))
        if self.method.noise:  # complex Langevin noise columns: E|xi|^2 = 2
            n = n_steps + 2
            self.Sig[n:, n:] *= 2.0
        self.zc = z
        self.Gi = np.zeros_like(self.G)  # self.G holds the real parts
        shape = (n_steps + 1, self.n_padded)
        self.A = np.zeros(shape, dtype=self.dtype)  # dg/dr (real) and dg/d r-bar (complex), per step and path
        self.Bre = np.zeros(shape, dtype=self.dtype)
        self.Bim = np.zeros(shape, dtype=self.dtype)
        self.gSi = None

    # ------------------------------------------------------------------ starts
    def _start_spectral(self, z, xi_S, y):
        st = self.inp.start
        assert isinstance(st, SpectralStart)
        rho, RS, kap = st.rho, st.R_S, st.kappa
        self.cv, self.Rv[0] = rho, RS
        self.c[0], self.Rx[0, 0] = kap * rho, kap * RS
        self.RT[0, 0] = self.Rx[0, 0]
        self.Cin[1], self.Rin[1] = rho, self.Rv
        self.Sig[0, 0] = st.Sigma_SS
        self.Lc[1, 0], self.Lc[1, 1] = rho, math.sqrt(max(1.0 - rho * rho, 0.0))
        wS = rho * z + self.Lc[1, 1] * xi_S
        t_y = np.asarray(st.preprocess(y), dtype=float)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            den = 1.0 - RS * t_y
            dgS = t_y / den
            ninf = ~np.isfinite(t_y)  # T = -inf (1 - 1/y at y = 0): the limits
            dgS[ninf] = -1.0 / RS
            u = np.where(ninf, 0.0, wS / np.where(ninf, 1.0, den))
            B0 = np.where(ninf, 0.0, kap / np.where(ninf, 1.0, den))
        gS = dgS * wS
        pad = np.zeros(self.n_padded - self.n_paths)
        self.gS, self.gSi = np.concatenate([gS.real, pad]), np.concatenate([gS.imag, pad])
        self.dgS, self.B0 = np.concatenate([dgS, pad]), np.concatenate([B0, pad])
        return kap * u

    def _start_linear(self, y):
        super()._start_linear(y)  # g^L = T(y) is real
        assert isinstance(self.inp.start, LinearStart)
        self.gSi = None

    # ------------------------------------------------------------------ one step
    def _field(self, t, Xi):
        j = t + 1
        self._add_chol_row(j)
        Lrow, mem = self.Lc[j, : j + 1], self.Rp[t, 1 : t + 1]
        s0 = self.Rp[t, 0] if self.gS is not None else 0.0
        Xr, Xim = Xi
        re = self.kernel.field(Lrow, Xr, mem, self.G, s0, self.gS, t)
        im = self.kernel.field(Lrow, Xim, mem, self.Gi, s0 if self.gSi is not None else 0.0, self.gSi, t)
        return re + 1j * im

    def _sample_side(self, t, y, r):
        loss, M = self.inp.loss, self.n_paths
        rx = r if self.method.reads_iterate else self._iterate_field(t, r)
        with np.errstate(all="ignore"):
            g = loss.complex_grad(y, r)
            lv = np.asarray(loss.complex_value(y, rx), dtype=float)
            if self.responses in ("pathwise", "hybrid"):
                a, b = loss.complex_derivatives(y, r)
            else:
                a = b = None
        if self.method.probe:  # full-batch gradient norm at x^t (§6.7), measured, never fed back
            with np.errstate(all="ignore"):
                phi = loss.complex_grad(y, rx)
            if np.all(np.isfinite(phi)):
                self.gradn[t] = probe_grad_norm(self, t, phi)
        if self.F is not None:  # per-sample factor (sgd)
            g = g * self.F[t]
            if a is not None:
                a, b = a * self.F[t], b * self.F[t]
        self.G[t, :M], self.Gi[t, :M] = g.real, g.imag
        if a is not None:
            self.A[t, :M], self.Bre[t, :M], self.Bim[t, :M] = a, b.real, b.imag
        self.train[t] = lv.mean()
        self.maxr[t] = np.max(np.abs(r))
        self._record_shares(t, g, lv)
        ok = np.isfinite(self.maxr[t]) and np.all(np.isfinite(g))
        if a is not None:
            ok = ok and bool(np.all(np.isfinite(a)) and np.all(np.isfinite(b)))
        return g if ok else None

    def _iterate_field(self, t, r):
        a, b = self.method.coef[:2]
        self.rx = r.copy() if t == 0 else (r - b * self.rx) / a
        return self.rx

    def _source(self, t: int):
        """The spectral source of the tangent at step t: d r^0/d w^S, then R(t, S) dg^S/dw^S (0 without)."""
        if not self.spectral:
            return 0.0
        M = self.n_paths
        assert self.B0 is not None and self.dgS is not None  # set with the spectral source
        return self.B0[:M] if t == 0 else self.Rp[t, 0] * self.dgS[:M]

    def _make_hybrid(self, n_steps: int):
        self.probe = _Probe(self.rng, n_steps, self.n_paths, self.spectral)
        return None  # the real estimator's state is not used

    def _hybrid(self, t, a, b):
        """resp (as the pathwise kernel's) by the exact window and the probe tangent for the older columns."""
        M, W = self.n_paths, self.inp.window
        t0 = max(t - W, 0)
        keep = np.empty((2, t - t0 + 1, M))
        resp = complex_responses(t, self.A, self.Bre, self.Bim, self.RpT, None, M, self.kernel.serial, t0, keep)
        nu0 = keep[0] + 1j * keep[1]
        X, Y = self.probe.tangent(t, self.Rp[t, 1 : t + 1], self._source(t))
        V = self.probe.V
        chi = a * X + b * Y - np.einsum("ij,ij->j", nu0, V[t0 : t + 1])
        psi = chi
        if self.spectral:
            resp[t + 1] = float(np.mean(chi.real))
            psi = chi - sum(nu0[k - t0] * self._source(k) for k in range(t0, t + 1))
        if t0:
            resp[:t0] = V[:t0] @ psi.real / M
        self.probe.record(t, a, b, X, Y)
        return resp

    def _closure(self, t, g, z):
        M, Rg = self.n_paths, self.Rg
        if self.responses == "hybrid":
            a = self.A[t, :M].astype(np.float64)
            b = self.Bre[t, :M].astype(np.float64) + 1j * self.Bim[t, :M].astype(np.float64)
            resp = self._hybrid(t, a, b)
            if self.spectral:
                Rg[t, 1] = resp[-1]
                Rg[t, 2 : t + 2] = resp[1 : t + 1]
            else:
                Rg[t, 1 : t + 2] = resp[: t + 1]
        elif self.responses == "pathwise":
            spec = (self.B0[:M], self.dgS[:M]) if self.spectral else None
            resp = complex_responses(t, self.A, self.Bre, self.Bim, self.RpT, spec, M, self.kernel.serial)
            if self.spectral:
                Rg[t, 1] = resp[-1]
                Rg[t, 2 : t + 2] = resp[1 : t + 1]
            else:
                Rg[t, 1 : t + 2] = resp[: t + 1]
        else:
            Rg[t, 1 : t + 2] = self.ibp_vector(g, slice(0, M), t + 2)[1:]
        self._close_row(t, self.z_mean(g, slice(0, M)), self.gram_vector(g, slice(0, M), t))

    # ------------------------------------------------------------------ averages over paths (real parts)
    def ibp_vector(self, phi, sel, n_inputs):
        """Re E[grad_X phi] = L^-T Re E[conj(xi) phi] over the first ``n_inputs`` inputs (paths ``sel``)."""
        M = self.n_paths
        pr, pi = np.ascontiguousarray(phi.real), np.ascontiguousarray(phi.imag)
        Xr, Xim = self.Xr[:n_inputs, :M][:, sel], self.Xim[:n_inputs, :M][:, sel]
        b = (Xr.astype(np.float64, copy=False) @ pr + Xim.astype(np.float64, copy=False) @ pi) / pr.shape[0]
        keep = np.flatnonzero(np.diag(self.Lc)[:n_inputs] > 0.0)
        v = np.zeros(n_inputs)
        if keep.size:
            Lk = self.Lc[np.ix_(keep, keep)]
            v[keep] = solve_triangular(Lk, b[keep], lower=True, trans="T", check_finite=False)
        return v

    def gram_vector(self, phi, sel, t):
        """Re E[phi conj(g^tau)] (tau = 0..t), then Re E[phi conj(g^S or g^L)] (paths ``sel``)."""
        M = self.n_paths
        pr, pi = np.ascontiguousarray(phi.real), np.ascontiguousarray(phi.imag)
        m = pr.shape[0]
        out = np.empty(t + 2)
        Gr = self.G[: t + 1, :M][:, sel].astype(np.float64, copy=False)
        Gi = self.Gi[: t + 1, :M][:, sel].astype(np.float64, copy=False)
        out[: t + 1] = (Gr @ pr + Gi @ pi) / m
        if self.gS is None:
            out[t + 1] = 0.0
        else:
            gi = 0.0 if self.gSi is None else float(self.gSi[:M][sel] @ pi)
            out[t + 1] = (float(self.gS[:M][sel] @ pr) + gi) / m
        return out

    def z_mean(self, phi, sel):
        """Re E[conj(z) phi] (paths ``sel``)."""
        zz = self.zc[sel]
        return float(math.fsum(zz.real * phi.real + zz.imag * phi.imag)) / phi.shape[0]
