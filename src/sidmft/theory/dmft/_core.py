"""One Monte-Carlo DMFT solve (docs/theory.md §2, §2.7, §4): the causal forward pass for one batch.

Index conventions (internal; :mod:`sidmft.theory.dmft` relabels them for users)
-----------------------------------------------------------------------------
* Noise index k = 0..T+1 of the parameter-side Gaussian fields zeta: k = 0 is zeta^S (spectral
  mode) or the data-independent direction xi of x^0 (random mode, variance 1, independent of the
  zeta^t); k = t + 1 is zeta^t, t = 0..T.  ``Sig`` is their covariance (§2.2: Sigma = alpha E[g g]).
* Iterates x^p, p = 0..T+1, are ``c[p] x* + Rx[p, :] . zeta`` (§2.2; random mode §2.7 with
  ``Rx[p, 0] = b_p``).  The spectral vector v is ``cv x* + Rv . zeta`` (v = R_S (zeta^S + alpha mu_S x*)).
* Gaussian sample-side inputs: column j = 0 is z; j = 1 is w^S (spectral) or w^0 (random);
  j = t + 1 is w^t for t >= 1.  Column j >= 1 is the input of the iterate ``pin(j)``: v or x^0 for
  j = 1, x^{j-1} otherwise.  ``Rg[t, j] = E[d g^t / d w_j]`` (§2.4).
* Other first-order methods (§6.1, :mod:`sidmft.theory.dmft._method`): the inputs belong to the read
  points p^t = a x^t + b x^{t-1} (rows ``Rp``, the memory of the fields; ``Rp is Rx`` when p^t = x^t),
  the update x^{t+1} = A x^t + B x^{t-1} - eta_t (lam p^t + ...) is applied to the rows; Langevin adds
  one column per step for the noise xi^t (``Sig`` block = identity) after the zeta columns; SGD multiplies
  g^t and l'' by the per-path factor f^t.  Linear start (§6.6): column 0 is zeta^L, ``gS`` = T(y).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ...numerics import lhs_normal_scores
from . import _kernels as K
from ._hybrid import HybridState
from ._ibp import gram_row, ibp_gradient
from ._input import BatchOutput, EngineInput, LinearStart, RandomStart, SpectralStart
from ._method import bernoulli_factors, probe_grad_norm

# explosion thresholds of the blow-up detector (see DMFTResult docstring)
_Q_MAX = 1e8  # ||x^t||^2/d
_SIG_MAX = 1e30  # alpha E[g^2]
SCHUR_TOL = 1e-8  # relative Schur complement treated as 0 (degenerate input)
_GROWTH = 1.1  # back-tracking: max|r| growing by > 10 % per step marks the escape


SCORES = ("lhs-orth", "lhs", "iid")


def normal_scores(rng: np.random.Generator, n: int, n_paths: int, scores: str = "lhs-orth") -> np.ndarray:
    """Standard normal scores Xi, shape (n, n_paths), one row per Gaussian input (§4.1 step 2).

    ``iid``       plain N(0,1) draws.
    ``lhs``       Latin hypercube per row (:func:`sidmft.numerics.lhs_normal_scores`):
                  Phi^{-1}((pi_j(i) + U_ij)/M) with an independent random permutation pi_j, so each
                  row hits every one of the M = n_paths equiprobable strata once.
    ``lhs-orth``  LHS, then symmetric moment matching Xi <- (Xi Xi^T/M)^{-1/2} Xi, so the empirical
                  second moments of the scores are exactly the identity: the sampled (z, w) then have
                  exactly the covariance C of §2.3, and every average of a function linear in the
                  Gaussians (Gram rows, Stein terms) has no MC error.  The change to each row is
                  O(M^{-1/2}), so the stratification is kept to that order; the bias is O(1/M).
    """
    if scores not in SCORES:
        raise ValueError(f"scores must be one of {list(SCORES)}; got {scores!r}")
    if scores == "iid":
        return rng.standard_normal((n, n_paths))
    out = lhs_normal_scores(rng, n, n_paths)
    if scores == "lhs-orth" and n_paths > 2 * n:
        S = (out @ out.T) / n_paths
        ev, V = np.linalg.eigh(S)
        W = (V / np.sqrt(ev)) @ V.T
        out = W @ out
    return out


class BatchSolver:
    """Forward pass of the DMFT for one batch of ``n_paths`` paths (see module docstring for indices).

    :meth:`run` is the loop over t = 0..steps; each step is :meth:`_field` (Gaussian part and memory
    terms of r^t), :meth:`_sample_side` (l', l'', l at r^t), :meth:`_closure` (responses, Gram row,
    Stein term: row t of R_g, mu, Sigma) and :meth:`_advance` (parameter side in closed form).

    ``responses``: ``"pathwise"`` (exact reverse mode, l'' along the path; needs l' continuous) or
    ``"ibp"`` (Gaussian integration by parts, :mod:`sidmft.theory.dmft._ibp`; exact for l' with jumps);
    default ``inp.responses``.
    """

    def __init__(
        self,
        inp: EngineInput,
        n_paths: int,
        rng: np.random.Generator,
        kernel="numba",
        scores: str = "lhs-orth",
        callback=None,
        precision: str = "float64",
        responses: Optional[str] = None,
    ):
        self.inp = inp
        self.method = inp.method
        self.responses = responses if responses is not None else inp.responses
        if self.responses not in ("pathwise", "ibp", "hybrid"):
            raise ValueError(f"responses must be 'pathwise', 'ibp' or 'hybrid'; got {self.responses!r}")
        self.n_paths = int(n_paths)
        self.rng = rng
        self.kernel = K.resolve(kernel)
        self.scores = scores
        self.callback = callback
        if precision not in ("float64", "float32"):
            raise ValueError(f"precision must be 'float64' or 'float32'; got {precision!r}")
        self.dtype = np.float32 if precision == "float32" else np.float64

    # ----------------------------------------------------------------------------- helpers
    def _add_chol_row(self, j):
        """Extend the Cholesky factor of Cov(z, w_1..w_j) by row j (§4.1 3a).

        Covariances Cov(w_i, w_j) = c_i c_j + R_i Sigma R_j^T of the inputs (§2.3).  Pivots that
        were set to 0 (degenerate directions) are skipped, i.e. the row is the minimum-norm
        least-squares solution; one step of iterative refinement; the relative Schur complement is
        recorded (``min_schur``) and values below SCHUR_TOL (including negative ones) are set to 0.
        """
        cj, w = self.Cin[j], self._width(j + 1)  # the rows R_1..R_j vanish beyond column j (causality)
        Rj = self.Rin[j, :w]
        b = np.empty(j + 1)
        b[0] = cj
        b[1:] = self.Cin[1 : j + 1] * cj + self.Rin[1 : j + 1, :w] @ (self.Sig[:w, :w] @ Rj)
        schur = K.chol_row(self.Lc, b, j, SCHUR_TOL)
        self.min_schur = min(self.min_schur, schur)

    def _width(self, k: int) -> int:
        """Columns that can be non-zero in a parameter-side row whose noise indices are < k: k, or all of
        them when injected noise (Langevin) adds columns after the zeta block."""
        return k if self.Sig.shape[0] == self.RT.shape[0] else self.Sig.shape[0]

    def _allocate(self, n_steps: int, z: np.ndarray) -> None:
        """Kernels, parameter-side state and per-path histories, all zero (n = steps + 2 noise indices)."""
        n = n_steps + 2
        w = n + (n_steps + 1 if self.method.noise else 0)  # zeta columns, then one xi column per step (Langevin)
        self.c = np.zeros(n_steps + 2)
        self.Rx = np.zeros((n_steps + 2, w))
        self.RT = np.zeros((n, n_steps + 2), dtype=self.dtype)  # RT[k, s] = Rx[s, k] (contiguous, history dtype)
        self.Cin = np.zeros(n)  # c of the read point whose input is Gaussian column j
        self.Rin = np.zeros((n, w))  # its R row
        self.Sig = np.zeros((w, w))
        self.Sig[n:, n:] = np.eye(w - n)  # the xi^t are independent N(0, I_d)
        if self.method.reads_iterate:
            self.Rp, self.RpT, self.cp = self.Rx, self.RT, self.c  # read point p^t = x^t
        else:
            self.Rp, self.RpT, self.cp = np.zeros_like(self.Rx), np.zeros_like(self.RT), np.zeros_like(self.c)
        self.Lc = np.zeros((n, n))
        self.Lc[0, 0] = 1.0
        self.min_schur = math.inf
        self.cv, self.Rv = 0.0, np.zeros(w)
        self.Rg = np.zeros((n_steps + 1, n))
        self.mu = np.zeros(n_steps + 1)
        self.train = np.full(n_steps + 1, np.nan)
        self.gradn = np.full(n_steps + 1, np.nan)
        self.phi: Optional[np.ndarray] = None  # the probe field of the current step (§6.7)
        self.maxr = np.full(n_steps + 1, np.nan)
        self.tail_g2 = np.full((2, n_steps + 1), np.nan)
        self.tail_loss = np.full((2, n_steps + 1), np.nan)
        # pad the path axis to whole SIMD blocks (zero paths add nothing)
        lanes = self.kernel.lanes(self.dtype)
        self.n_padded = -(-self.n_paths // lanes) * lanes
        self.G = np.zeros((n_steps + 1, self.n_padded), dtype=self.dtype)
        self.H = np.zeros((n_steps + 1, self.n_padded), dtype=self.dtype)
        self.zp = np.zeros(self.n_padded)
        self.zp[: self.n_paths] = z
        self.rx: np.ndarray = self.zp  # field at the iterate x^t (set at t = 0 when p^t != x^t)
        self.gS: Optional[np.ndarray] = None  # g^S, dg^S/dw^S, d r^0/d w^S (spectral mode, padded)
        self.dgS: Optional[np.ndarray] = None
        self.B0: Optional[np.ndarray] = None

    def _start_spectral(self, z: np.ndarray, xi_S: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Spectral seed (§1.2-§1.3): v = R_S (zeta^S + alpha mu_S x*), w^S, u = w^S/(1 - R_S T(y)),
        g^S = T(y) u and its derivatives; returns r^0 = kappa u."""
        st = self.inp.start
        assert isinstance(st, SpectralStart)
        rho, RS, kap = st.rho, st.R_S, st.kappa
        Lc, Rx = self.Lc, self.Rx
        self.cv, self.Rv[0] = rho, RS
        self.c[0], Rx[0, 0] = kap * rho, kap * RS
        self.RT[0, 0] = Rx[0, 0]
        self.Cin[1], self.Rin[1] = rho, self.Rv
        self.Sig[0, 0] = st.Sigma_SS
        Lc[1, 0], Lc[1, 1] = rho, math.sqrt(max(1.0 - rho * rho, 0.0))
        wS = rho * z + Lc[1, 1] * xi_S
        t_y = np.asarray(st.preprocess(y), dtype=float)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            den = 1.0 - RS * t_y
            u = wS / den
            dgS = t_y / den
            ninf = ~np.isfinite(t_y)  # T = -inf (e.g. 1 - 1/y at y = 0): limits
            u[ninf] = 0.0
            dgS[ninf] = -1.0 / RS
            gS = dgS * wS
        B0 = kap / np.where(ninf, np.inf, den)  # d r^0 / d w^S = kappa/(1 - R_S T)
        B0[ninf] = 0.0
        pad = np.zeros(self.n_padded - self.n_paths)
        self.gS, self.dgS, self.B0 = (np.concatenate([a, pad]) for a in (gS, dgS, B0))
        return kap * u

    def _start_random(self) -> None:
        """Data-independent start (§2.7): x^0 = m0 x* + sqrt(q0 - m0^2) xi."""
        st, c, Rx = self.inp.start, self.c, self.Rx
        assert isinstance(st, RandomStart)
        c[0], Rx[0, 0] = st.m0, math.sqrt(max(st.q0 - st.m0**2, 0.0))
        self.RT[0, 0] = Rx[0, 0]
        self.Cin[1], self.Rin[1] = c[0], Rx[0]
        self.Sig[0, 0] = 1.0

    def _start_linear(self, y: np.ndarray) -> None:
        """Linear start (§6.6): a stage L with g^L = T(y) (no response), mu_L = E[T z],
        Sigma(L,L) = alpha E[T^2], x^0 = (kappa/N_L)(zeta^L + alpha mu_L x*), N_L^2 = alpha E[T^2] +
        alpha^2 mu_L^2; column 0 is zeta^L, and g^L enters every field as R(t,L) T(y) (like g^S)."""
        st, c, Rx = self.inp.start, self.c, self.Rx
        assert isinstance(st, LinearStart)
        alpha, kap = self.inp.alpha, st.kappa
        t_y = np.asarray(st.preprocess(y), dtype=float)
        mu, e2 = st.mu_L, st.ET2_L  # by quadrature (:func:`._method.linear_stage`)
        n_l = math.sqrt(alpha * e2 + (alpha * mu) ** 2)
        c[0], Rx[0, 0] = kap * alpha * mu / n_l, kap / n_l
        self.RT[0, 0] = Rx[0, 0]
        self.Cin[1], self.Rin[1] = c[0], Rx[0]
        self.Sig[0, 0] = alpha * e2
        self.gS = np.concatenate([t_y, np.zeros(self.n_padded - self.n_paths)])

    # ----------------------------------------------------------------------------- one step
    def _field(self, t: int, Xi: np.ndarray) -> np.ndarray:
        """r^t = w^t + R_x(t,S) g^S + sum_{tau<t} R_x(t,tau) g^tau for all paths (§2.3)."""
        j = t + 1
        self._add_chol_row(j)
        s0 = self.Rp[t, 0] if self.gS is not None else 0.0  # g^S (spectral) or g^L = T(y) (linear)
        if self.hybrid is not None:  # the field and the tangent of the hybrid responses in one pass
            return self.hybrid.fields(t, self.Lc[j, : j + 1], Xi, self.Rp[t, 1 : t + 1], self.G, s0, self.gS, self.dgS)
        return self.kernel.field(self.Lc[j, : j + 1], Xi, self.Rp[t, 1 : t + 1], self.G, s0, self.gS, t)

    def _sample_side(self, t: int, y: np.ndarray, r: np.ndarray):
        """g^t = f^t l'(y, r^t) (float64) with f^t l'' and the full-batch loss l at the iterate x^t
        stored; None if a path escaped (non-finite)."""
        loss = self.inp.loss
        rx = r if self.method.reads_iterate else self._iterate_field(t, r)
        with np.errstate(all="ignore"):
            g = np.asarray(loss.grad(y, r), dtype=float)
            h = np.asarray(loss.hess(y, r), dtype=float)
            lv = np.asarray(loss.value(y, rx), dtype=float)
        self.phi = None
        if self.method.probe:  # full-batch gradient norm at x^t (§6.7): measured after the closure, never fed back
            with np.errstate(all="ignore"):
                phi = np.asarray(loss.grad(y, rx), dtype=float)
            self.phi = phi if np.all(np.isfinite(phi)) else None
        if self.F is not None:  # per-sample factor (sgd, §6.1): responses and Gram row include it
            g, h = g * self.F[t], h * self.F[t]
        self.G[t, : self.n_paths], self.H[t, : self.n_paths] = g, h
        self.train[t] = lv.mean()
        self.maxr[t] = np.max(np.abs(r))
        self._record_shares(t, g, lv)
        if not (np.isfinite(self.maxr[t]) and np.all(np.isfinite(g)) and np.all(np.isfinite(h))):
            return None
        return g

    def _record_shares(self, t: int, g: np.ndarray, lv: np.ndarray) -> None:
        """The largest single path and the sum of |g|^2 and of |l| at step t (heavy-tail diagnostic)."""
        with np.errstate(all="ignore"):
            for out, v in ((self.tail_g2, np.abs(g) ** 2), (self.tail_loss, np.abs(lv))):
                out[0, t], out[1, t] = float(v.max()), float(v.sum())

    def _iterate_field(self, t: int, r: np.ndarray) -> np.ndarray:
        """The field at x^t from the one at p^t = a x^t + b x^{t-1}: r_x^t = (r^t - b r_x^{t-1})/a (§6.3)."""
        a, b = self.method.coef[:2]
        self.rx = r.copy() if t == 0 else (r - b * self.rx) / a
        return self.rx

    def _closure(self, t: int, g: np.ndarray, z: np.ndarray) -> None:
        """Row t of R_g (reverse mode, or integration by parts), mu_t (Stein) and Sigma(t, .) (Gram row) (§2.4)."""
        Rg, n_paths, spectral = self.Rg, self.n_paths, self.spectral
        if self.responses == "ibp":
            # column j of Rg is input column j in both modes; g^t depends on inputs 0..t+1 (§6.8)
            Rg[t, 1 : t + 2] = ibp_gradient(self.Lc, self.Xi, g, t + 2)[1:]
            gram = gram_row(self.G, g, t, self.gS)
            self._close_row(t, math.fsum(g * z) / n_paths, gram)
            return
        Rp = self.Rp  # memory of the read points (R_x itself when p^t = x^t)
        if self.hybrid is not None:  # window + probe (O(M t) + O(M W^2), docs/theory.md §4.3)
            hy = self.hybrid
            resp, gram, _ = hy.responses(t, self.H, self.G, self.RpT, self.gS, self.zp, n_paths, self.dgS)
            hy.record(t, self.H[t])
        else:
            lamS = (Rp[: t + 1, 0].copy(), self.dgS, self.B0) if spectral else None
            resp, gram, _ = self.kernel.responses_and_gram(
                t, self.H, self.G, Rp, self.RpT, self.zp, self.gS, lamS, n_paths
            )
        if self.gS is not None and not spectral:  # linear start: E[g^t T(y)] (the kernels fill it only with S)
            gram = gram.copy()
            gram[t + 1] = float(g @ self.gS[:n_paths]) / n_paths
        gz = math.fsum(g * z) / n_paths  # Stein term E[g^t z], exactly rounded: no BLAS-path dependence
        # resp[tau] = E[h_t lambda_tau] (tau = 0..t), resp_S = E[h_t d r^t/d w^S]
        if spectral:
            Rg[t, 1] = resp[-1]
            Rg[t, 2 : t + 2] = resp[1 : t + 1]
        else:
            Rg[t, 1 : t + 2] = resp[: t + 1]
        self._close_row(t, gz, gram)

    def _close_row(self, t: int, gz: float, gram: np.ndarray) -> None:
        """mu_t by Stein from E[g^t z] and row t of R_g; Sigma(t, .) = alpha * Gram row (§2.4)."""
        Sig, alpha = self.Sig, self.inp.alpha
        self.mu[t] = gz - math.fsum(self.Cin[1 : t + 2] * self.Rg[t, 1 : t + 2])
        Sig[t + 1, 1 : t + 2] = alpha * gram[: t + 1]
        Sig[1 : t + 2, t + 1] = Sig[t + 1, 1 : t + 2]
        if self.gS is not None:  # Sigma(t, S) or Sigma(t, L)
            Sig[t + 1, 0] = Sig[0, t + 1] = alpha * gram[t + 1]

    def _advance(self, t: int) -> bool:
        """x^{t+1} in closed form (§2.2 / §2.7 / §6.1); False if ||x^{t+1}||^2 or Sigma(t,t) exploded."""
        c, Rx, Rg, Sig, meth = self.c, self.Rx, self.Rg, self.Sig, self.method
        alpha, eta, lam = self.inp.alpha, meth.etas[t], self.inp.lam
        cin, w = self.Cin[1 : t + 2], self._width(t + 2)  # x^{t+1} has noise indices <= t + 1
        if meth.simple:  # x^{t+1} = (1 - eta lam) x^t - eta (...): the GD form
            c[t + 1] = (1 - eta * lam) * c[t] - eta * (Rg[t, 1 : t + 2] @ cin) - eta * self.mu[t]
            Rx[t + 1, :w] = (1 - eta * lam) * Rx[t, :w] - eta * (Rg[t, 1 : t + 2] @ self.Rin[1 : t + 2, :w])
        else:
            _, _, A, B = meth.coef
            tm, j = max(t - 1, 0), t + 1  # x^{-1} = x^0; Cin/Rin[j] is the read point p^t
            c[t + 1] = (
                A * c[t] + B * c[tm] - eta * lam * self.Cin[j] - eta * (Rg[t, 1 : t + 2] @ cin) - eta * self.mu[t]
            )
            Rx[t + 1, :w] = (
                A * Rx[t, :w]
                + B * Rx[tm, :w]
                - eta * lam * self.Rin[j, :w]
                - eta * (Rg[t, 1 : t + 2] @ self.Rin[1 : t + 2, :w])
            )
        Rx[t + 1, t + 1] -= eta / alpha
        n = self.RT.shape[0]
        if meth.noise:
            Rx[t + 1, n + t] += meth.sigmas[t]
        self.RT[:, t + 1] = Rx[t + 1, :n]
        self._read_point(t + 1)
        q_next = c[t + 1] ** 2 + Rx[t + 1, :w] @ Sig[:w, :w] @ Rx[t + 1, :w]
        return not (
            not np.isfinite(q_next)
            or q_next > _Q_MAX
            or not np.isfinite(Sig[t + 1, t + 1])
            or Sig[t + 1, t + 1] > _SIG_MAX
        )

    def _read_point(self, s: int) -> None:
        """Row s of the read points p^s = a x^s + b x^{s-1} and the input column s + 1 it feeds."""
        if not self.method.reads_iterate:
            a, b = self.method.coef[:2]
            self.cp[s] = a * self.c[s] + b * self.c[s - 1]
            self.Rp[s] = a * self.Rx[s] + b * self.Rx[s - 1]
            self.RpT[:, s] = self.Rp[s, : self.RpT.shape[0]]
        if s + 1 < self.Cin.shape[0]:
            self.Cin[s + 1], self.Rin[s + 1] = self.cp[s], self.Rp[s]

    def _blowup_start(self, t: int) -> int:
        """Back-track from the step t where the moments exploded to where max|r| began to grow."""
        mr = np.where(np.isfinite(self.maxr), self.maxr, np.inf)
        while t > 0 and mr[t] > _GROWTH * mr[t - 1]:
            t -= 1
        return t

    # ----------------------------------------------------------------------------- main
    def _make_hybrid(self, n_steps: int):
        """The hybrid estimator's state (its random probe directions are drawn after every other random number,
        so switching estimator does not move the others)."""
        win = self.inp.window
        args = (n_steps, self.n_padded, self.n_paths, self.dtype, self.spectral, self.B0, win, self.kernel.serial)
        return HybridState(self.rng, *args)

    def _draw(self, n_steps: int):
        """(scores, z, y): normal scores (one row per Gaussian input, §4.1 step 2), the index z and the labels."""
        Xi = normal_scores(self.rng, n_steps + 2, self.n_paths, self.scores)
        z = Xi[0].copy()
        return Xi, z, np.asarray(self.inp.model.sample(z, self.rng), dtype=float)

    def _score_row(self, Xi, k: int) -> np.ndarray:
        """The scores of input k for every path."""
        return Xi[k]

    def _keep_scores(self, Xi):
        """Store the scores in the history dtype (read by the field kernel and integration by parts)."""
        self.Xi = Xi.astype(self.dtype) if self.dtype != np.float64 else Xi
        return self.Xi

    # ------------------------------------------------------------------ averages over paths (probe fields)
    def _probe(self, t: int, g: np.ndarray) -> float:
        """||grad L(x^t)||^2/d (§6.7): the probe with g^t as control variate; SGD's g^t carries the per-sample factor
        (phi - g^t does not vanish), so there the cross-fitted probe is used (module ``_method``)."""
        phi = self.phi
        assert phi is not None  # set by _sample_side
        if self.F is None:
            return probe_grad_norm(self, t, phi, g=g)
        return probe_grad_norm(self, t, phi)

    def ibp_vector(self, phi: np.ndarray, sel, n_inputs: int) -> np.ndarray:
        """E[grad_X phi] over the first ``n_inputs`` inputs, by integration by parts, on the paths ``sel``."""
        M = self.n_paths
        return ibp_gradient(self.Lc, self.Xi[:, :M][:, sel], phi, n_inputs)

    def gram_vector(self, phi: np.ndarray, sel, t: int) -> np.ndarray:
        """E[phi g^tau] (tau = 0..t), then E[phi g^S] (0 without), on the paths ``sel``."""
        M = self.n_paths
        return gram_row(self.G[:, :M][:, sel], phi, t, None if self.gS is None else self.gS[:M][sel])

    def z_mean(self, phi: np.ndarray, sel) -> float:
        """E[phi z] on the paths ``sel``."""
        return float(phi @ self.zp[: self.n_paths][sel]) / phi.shape[0]

    def run(self) -> BatchOutput:
        n_steps = self.inp.steps
        self.spectral = self.inp.mode == "spectral"
        Xi, z, y = self._draw(n_steps)
        batch = self.method.batch
        self.F = None if batch is None else bernoulli_factors(self.rng, batch, n_steps, self.n_paths)
        self._allocate(n_steps, z)
        r0 = None
        if self.spectral:
            r0 = self._start_spectral(z, self._score_row(Xi, 1), y)
        elif self.inp.mode == "linear":
            self._start_linear(y)
        else:
            self._start_random()
        if not self.method.reads_iterate:  # p^0 = x^0 (a + b = 1)
            self.cp[0], self.Rp[0] = self.c[0], self.Rx[0]
            self.RpT[:, 0] = self.Rx[0, : self.RpT.shape[0]]
        self.hybrid = self._make_hybrid(n_steps) if self.responses == "hybrid" else None
        Xi = self._keep_scores(Xi)
        blow = None
        for t in range(n_steps + 1):
            r = r0 if (r0 is not None and t == 0) else self._field(t, Xi)
            g = self._sample_side(t, y, r)
            if g is None:
                blow = t
                break
            self._closure(t, g, z)
            if self.phi is not None:
                self.gradn[t] = self._probe(t, g)
            if not self._advance(t):
                blow = t
                break
            if self.callback is not None:
                self.callback(t)
        if blow is not None:
            blow = self._blowup_start(blow)
        c, Rx, Sig = self.c, self.Rx, self.Sig
        Cx = c[:, None] * c[None, :] + Rx @ Sig @ Rx.T
        Cv = self.cv * c + Rx @ Sig @ self.Rv
        return BatchOutput(
            c=c,
            Rx=Rx,
            Sig=Sig,
            Rg=self.Rg,
            mu=self.mu,
            Cx=Cx,
            Cv=Cv,
            train=self.train,
            grad_norm=self.gradn,
            maxr=self.maxr,
            blowup_step=blow,
            min_schur=self.min_schur,
            tail_g2=self.tail_g2,
            tail_loss=self.tail_loss,
        )
