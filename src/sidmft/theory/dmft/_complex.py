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

from ._complex_kernels import complex_responses, memory_sum
from ._core import BatchSolver, normal_scores
from ._hybrid import _fields_par, _fields_ser, _rows
from ._input import LinearStart, SpectralStart
from ._method import probe_grad_norm

__all__ = ["ComplexBatchSolver"]

_SQRT_HALF = math.sqrt(0.5)


class _Probe:
    """The hybrid estimator's tangent (docs/theory.md §4.3 carried to complex fields): per path the pair
    (X^s, Y^s) along random real directions v_s = +-1 plus the spectral source, X^s = v_s + source_s +
    sum_{tau<s} R(s, tau) P0^tau, Y^s = sum_{tau<s} R(s, tau) P1^tau, with (P0, P1)^tau = D_tau (X, Y)^tau; its
    probe mean against v_p gives the responses to the columns older than the window.

    Stored as real rows of two blocks (Re | Im, Mp columns each), so that the field of the real parts and the
    imaginary parts and the tangent X run in the real estimator's one-pass field kernel."""

    def __init__(self, rng, n_steps: int, M: int, Mp: int, dtype, spectral: bool, B0):
        self.V = np.zeros((n_steps + 1, 2 * Mp), dtype=np.int8)  # the imaginary block stays 0
        self.V[:, :M] = rng.integers(0, 2, size=(n_steps + 1, M), dtype=np.int8) * 2 - 1
        if spectral:
            self.V[0] = 0  # r^0 has no input of its own
        self.P0 = np.zeros((n_steps + 1, 2 * Mp), dtype=dtype)
        self.P1 = np.zeros((n_steps + 1, 2 * Mp), dtype=dtype)
        self.tan = np.zeros(4 * Mp)  # Re X, Im X, Re Y, Im Y at the current step
        if spectral:
            self.tan[:M] = B0[:M]  # X^0 = d r^0 / d w^S
        self.psi = np.zeros(2 * Mp)
        self.M, self.Mp = M, Mp

    def record(self, t: int, a, br, bi) -> None:
        """(P0, P1)^t = D_t (X, Y)^t (a, br, bi: the path's dg/dr and dg/d r-bar at step t)."""
        M, Mp, tan = self.M, self.Mp, self.tan
        xr, xi, yr, yi = tan[:M], tan[Mp : Mp + M], tan[2 * Mp : 2 * Mp + M], tan[3 * Mp : 3 * Mp + M]
        self.P0[t, :M] = a * xr + br * yr - bi * yi
        self.P0[t, Mp : Mp + M] = a * xi + br * yi + bi * yr
        self.P1[t, :M] = br * xr + bi * xi + a * yr
        self.P1[t, Mp : Mp + M] = br * xi - bi * xr + a * yi


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
        """The scores in the history dtype as one real array of two blocks (Re | Im, n_padded columns each), so
        that one call of the real field kernel gives both parts of the field; Xr, Xim are views."""
        M, Mp = self.n_paths, self.n_padded
        Xs = np.zeros((Xi[0].shape[0], 2 * Mp), dtype=self.dtype)
        Xs[:, :M], Xs[:, Mp : Mp + M] = Xi
        self.Xr, self.Xim = Xs[:, :M], Xs[:, Mp : Mp + M]
        return Xs

    def _allocate(self, n_steps: int, z: np.ndarray) -> None:
        super()._allocate(n_steps, np.real(z))
        if self.method.noise:  # complex Langevin noise columns: E|xi|^2 = 2
            n = n_steps + 2
            self.Sig[n:, n:] *= 2.0
        self.zc = z
        M, Mp = self.n_paths, self.n_padded
        # g as one real array of two blocks (Re | Im); self.G and self.Gi are views
        self.Gs = np.zeros((n_steps + 1, 2 * Mp), dtype=self.dtype)
        self.G, self.Gi = self.Gs[:, :Mp], self.Gs[:, Mp:]
        self.zs = np.zeros(2 * Mp)
        self.zs[:M], self.zs[Mp : Mp + M] = z.real, z.imag
        self.gSs: np.ndarray | None = None  # g^S (or g^L) in the two blocks
        self.dgSs: np.ndarray | None = None  # the tangent's spectral source d g^S / d w^S (real: first block)
        self.nopsi = np.zeros(2 * Mp)
        self.probe: _Probe | None = None  # the hybrid estimator's state (made after the start)
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
        M, Mp = self.n_paths, self.n_padded
        self.gSs, self.dgSs = np.zeros(2 * Mp), np.zeros(2 * Mp)
        self.gSs[:M], self.gSs[Mp : Mp + M], self.dgSs[:M] = gS.real, gS.imag, dgS
        self.gS, self.gSi = self.gSs[:Mp], self.gSs[Mp:]
        self.dgS, self.B0 = self.dgSs[:Mp], np.concatenate([B0, np.zeros(Mp - M)])
        return kap * u

    def _start_linear(self, y):
        super()._start_linear(y)  # g^L = T(y) is real
        assert isinstance(self.inp.start, LinearStart) and self.gS is not None
        self.gSs = np.concatenate([self.gS, np.zeros(self.n_padded)])
        self.gS, self.gSi = self.gSs[: self.n_padded], None

    # ------------------------------------------------------------------ one step
    def _field(self, t, Xs):
        """r^t for all paths: the real field kernel on the two blocks (Re | Im) at once; with the hybrid estimator
        the same pass carries the tangent X (then Y = the memory sum of P1)."""
        j = t + 1
        self._add_chol_row(j)
        Lrow, mem = self.Lc[j, : j + 1], self.Rp[t, 1 : t + 1]
        s0 = self.Rp[t, 0] if self.gS is not None else 0.0
        M, Mp = self.n_paths, self.n_padded
        if self.probe is None:
            rs = self.kernel.field(Lrow, Xs, mem, self.Gs, s0, self.gSs, t)
            return rs[:M] + 1j * rs[Mp : Mp + M]
        pr, serial = self.probe, self.kernel.serial
        rs = np.empty(2 * Mp)
        lidx = np.flatnonzero(Lrow)  # degenerate inputs have exactly zero coefficients
        lrow = np.ascontiguousarray(Lrow[lidx], dtype=np.float64)
        mem = np.ascontiguousarray(mem, dtype=np.float64)
        dummy = np.zeros(1)
        gS = self.gSs if self.gSs is not None else dummy
        dgS = self.dgSs if self.dgSs is not None and self.spectral else dummy
        f = _fields_ser if serial else _fields_par
        past = np.arange(t)
        f(
            t,
            lrow,
            lidx,
            Xs,
            mem,
            past,
            self.Gs,
            float(s0),
            gS,
            pr.P0,
            pr.V,
            dgS,
            self.spectral,
            self.gSs is not None,
            self.dtype == np.float32,
            rs,
            pr.tan[: 2 * Mp],
        )
        memory_sum(mem, pr.P1, t, serial, pr.tan[2 * Mp :])
        return rs[:M] + 1j * rs[Mp : Mp + M]

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

    def _make_hybrid(self, n_steps: int):
        self.probe = _Probe(self.rng, n_steps, self.n_paths, self.n_padded, self.dtype, self.spectral, self.B0)
        return None  # the real estimator's state is not used

    def _rows(self, t, t0, V, psi):
        """(old, gram): sums over paths of v_k psi (k < t0), then the Gram row Re E[g^t conj g^k] (k <= t), E[g^t
        conj g^S] and Re E[conj(z) g^t] -- the real estimator's row kernel on the two blocks (fixed order)."""
        old, gram = np.zeros(t + 2), np.zeros(t + 3)
        has_gs = self.gSs is not None
        gS = self.gSs if has_gs else np.zeros(1)
        _rows(t, t0, self.Gs, V, psi, gS, self.zs, has_gs, old, gram)
        return old, gram

    def _responses(self, t):
        """Row t of R_g's columns by the chosen estimator: resp[tau] (tau = 0..t; the input entering r^tau) and
        resp[t + 1] (the spectral column); also the Gram sums (:meth:`_rows`)."""
        M, serial = self.n_paths, self.kernel.serial
        spec = (self.B0, self.dgS) if self.spectral else None
        if self.probe is None:
            resp = complex_responses(t, self.A, self.Bre, self.Bim, self.RpT, spec, M, serial)
            return resp, self._rows(t, 0, np.zeros((1, 1), dtype=np.int8), self.nopsi)[1]
        pr = self.probe
        t0 = max(t - self.inp.window, 0)
        resp = complex_responses(t, self.A, self.Bre, self.Bim, self.RpT, spec, M, serial, t0, (pr.V, pr.tan, pr.psi))
        old, gram = self._rows(t, t0, pr.V, pr.psi)
        resp[:t0] = old[:t0] / M
        a = self.A[t, :M].astype(np.float64)
        pr.record(t, a, self.Bre[t, :M].astype(np.float64), self.Bim[t, :M].astype(np.float64))
        return resp, gram

    def _closure(self, t, g, z):
        M, Rg = self.n_paths, self.Rg
        if self.responses == "ibp":
            Rg[t, 1 : t + 2] = self.ibp_vector(g, slice(0, M), t + 2)[1:]
            gram = self._rows(t, 0, np.zeros((1, 1), dtype=np.int8), self.nopsi)[1]
        else:
            resp, gram = self._responses(t)
            if self.spectral:
                Rg[t, 1] = resp[-1]
                Rg[t, 2 : t + 2] = resp[1 : t + 1]
            else:
                Rg[t, 1 : t + 2] = resp[: t + 1]
        self._close_row(t, gram[t + 2] / M, gram[: t + 2] / M)

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
