"""One Monte-Carlo DMFT solve (THEORY.md §2, §2.7, §4): the causal forward pass for one batch.

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
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri

from . import _dmft_kernels as K

# explosion thresholds of the blow-up detector (see DMFTResult docstring)
_Q_MAX = 1e8          # ||x^t||^2/d
_SIG_MAX = 1e30       # alpha E[g^2]
SCHUR_TOL = 1e-8    # relative Schur complement treated as 0 (degenerate input)
_GROWTH = 1.1         # back-tracking: max|r| growing by > 10 % per step marks the escape


SCORES = ("lhs-orth", "lhs", "iid")


def normal_scores(rng: np.random.Generator, n: int, M: int, scores: str = "lhs-orth") -> np.ndarray:
    """Standard normal scores Xi, shape (n, M), one row per Gaussian input (§4.1 step 2).

    ``iid``       plain N(0,1) draws.
    ``lhs``       Latin hypercube per row: Phi^{-1}((pi_j(i) + U_ij)/M) with an independent random
                  permutation pi_j, so each row hits every one of the M equiprobable strata once.
    ``lhs-orth``  LHS, then symmetric moment matching Xi <- (Xi Xi^T/M)^{-1/2} Xi, so the empirical
                  second moments of the scores are exactly the identity: the sampled (z, w) then have
                  exactly the covariance C of §2.3, and every average of a function linear in the
                  Gaussians (Gram rows, Stein terms) has no MC error.  The change to each row is
                  O(M^{-1/2}), so the stratification is kept to that order; the bias is O(1/M).
    """
    if scores not in SCORES:
        raise ValueError(f"scores must be one of {list(SCORES)}; got {scores!r}")
    if scores == "iid":
        return rng.standard_normal((n, M))
    out = np.empty((n, M))
    for j in range(n):
        u = (rng.permutation(M) + rng.random(M)) / M
        out[j] = ndtri(u)
    if scores == "lhs-orth" and M > 2 * n:
        S = (out @ out.T) / M
        ev, V = np.linalg.eigh(S)
        W = (V / np.sqrt(ev)) @ V.T
        out = W @ out
    return out


class BatchSolver:
    """Forward pass of the DMFT for one batch of M paths (see module docstring for indices)."""

    def __init__(self, ctx: dict, M: int, rng: np.random.Generator, kernel: str = "numba",
                 scores: str = "lhs-orth", callback=None, threads=None, precision: str = "float64"):
        self.ctx = ctx
        self.M = int(M)
        self.rng = rng
        self.kernel = kernel
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
        cj, Rj = self.Cin[j], self.Rin[j]
        b = np.empty(j + 1)
        b[0] = cj
        b[1:] = self.Cin[1 : j + 1] * cj + self.Rin[1 : j + 1] @ (self.Sig @ Rj)
        schur = K.chol_row(self.Lc, b, j, SCHUR_TOL)
        self.min_schur = min(self.min_schur, schur)

    # ----------------------------------------------------------------------------- main
    def run(self) -> dict:
        ctx = self.ctx
        T, M = ctx["steps"], self.M
        alpha, eta, lam = ctx["alpha"], ctx["eta"], ctx["lam"]
        loss, model = ctx["loss"], ctx["model"]
        self.spectral = spectral = ctx["mode"] == "spectral"
        n = T + 2
        rng = self.rng
        Xi = normal_scores(rng, n, M, self.scores)
        z = Xi[0].copy()
        y = np.asarray(model.sample(z, rng), dtype=float)
        fdt = self.dtype

        self.c = c = np.zeros(T + 2)
        self.Rx = Rx = np.zeros((T + 2, n))
        RT = np.zeros((n, T + 2), dtype=fdt)   # RT[k, s] = Rx[s, k] (contiguous, history dtype)
        self.Cin = Cin = np.zeros(n)           # c of the iterate whose input is Gaussian column j
        self.Rin = Rin = np.zeros((n, n))      # its R_x row
        self.Sig = Sig = np.zeros((n, n))
        self.Lc = Lc = np.zeros((n, n))
        self.min_schur = math.inf
        self.cv, self.Rv = 0.0, np.zeros(n)
        Rg = np.zeros((T + 1, n))
        mu = np.zeros(T + 1)
        train = np.full(T + 1, np.nan)
        maxr = np.full(T + 1, np.nan)
        Mp = M
        if self.kernel.startswith("numba"):   # pad the path axis to whole SIMD blocks (zero paths add nothing)
            Lb = K.LANES_BY_DTYPE["f32" if fdt == np.float32 else "f64"]
            Mp = -(-M // Lb) * Lb
        G = np.zeros((T + 1, Mp), dtype=fdt)
        H = np.zeros((T + 1, Mp), dtype=fdt)
        zp = np.zeros(Mp)
        zp[:M] = z
        Lc[0, 0] = 1.0
        gS = None
        if spectral:
            rho, RS, kap = ctx["rho"], ctx["R_S"], ctx["kappa"]
            self.cv, self.Rv[0] = rho, RS
            c[0], Rx[0, 0] = kap * rho, kap * RS
            RT[0, 0] = Rx[0, 0]
            Cin[1], Rin[1] = rho, self.Rv
            Sig[0, 0] = ctx["Sigma_SS"]
            Lc[1, 0], Lc[1, 1] = rho, math.sqrt(max(1.0 - rho * rho, 0.0))
            wS = rho * z + Lc[1, 1] * Xi[1]
            Ty = np.asarray(ctx["T"](y), dtype=float)
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                den = 1.0 - RS * Ty
                u = wS / den
                dgS = Ty / den
                ninf = ~np.isfinite(Ty)        # T = -inf (e.g. 1 - 1/y at y = 0): limits
                u[ninf] = 0.0
                dgS[ninf] = -1.0 / RS
                gS = dgS * wS
            B0 = kap / np.where(ninf, np.inf, den)   # d r^0 / d w^S = kappa/(1 - R_S T)
            B0[ninf] = 0.0
            gS, dgS, B0 = (np.concatenate([a, np.zeros(Mp - M)]) for a in (gS, dgS, B0))
        else:
            c[0], Rx[0, 0] = ctx["m0"], math.sqrt(max(ctx["q0"] - ctx["m0"] ** 2, 0.0))
            RT[0, 0] = Rx[0, 0]
            Cin[1], Rin[1] = c[0], Rx[0]
            Sig[0, 0] = 1.0
        blow = None
        if fdt != np.float64:
            Xi = Xi.astype(fdt)
        for t in range(T + 1):
            j = t + 1
            if spectral and t == 0:
                r = kap * u
            else:
                self._add_chol_row(j)
                mem_coef = Rx[t, 1 : t + 1]
                s0 = Rx[t, 0] if spectral else 0.0
                r = K.field(Lc[j, : j + 1], Xi, mem_coef, G, s0, gS, t, self.kernel)
            with np.errstate(all="ignore"):
                g = np.asarray(loss.grad(y, r), dtype=float)
                h = np.asarray(loss.hess(y, r), dtype=float)
                lv = np.asarray(loss.value(y, r), dtype=float)
            G[t, :M], H[t, :M] = g, h
            train[t] = lv.mean()
            maxr[t] = np.max(np.abs(r))
            if not (np.isfinite(maxr[t]) and np.all(np.isfinite(g)) and np.all(np.isfinite(h))):
                blow = t
                break
            # --- responses (§2.4, reverse mode), Gram row, Stein
            lamS = None
            if spectral:
                lamS = (Rx[: t + 1, 0].copy(), dgS, B0)
            resp, gram, _ = K.responses_and_gram(t, H, G, Rx, RT, zp, gS, lamS, M, self.kernel)
            gz = float(g @ z) / M            # Stein term E[g^t z] (same value for every kernel variant)
            # resp[tau] = E[h_t lambda_tau] (tau = 0..t), resp_S = E[h_t d r^t/d w^S]
            if spectral:
                Rg[t, 1] = resp[-1]
                Rg[t, 2 : t + 2] = resp[1 : t + 1]
            else:
                Rg[t, 1 : t + 2] = resp[: t + 1]
            cin = Cin[1 : t + 2]
            mu[t] = gz - cin @ Rg[t, 1 : t + 2]
            Sig[t + 1, 1 : t + 2] = alpha * gram[: t + 1]
            Sig[1 : t + 2, t + 1] = Sig[t + 1, 1 : t + 2]
            if spectral:
                Sig[t + 1, 0] = Sig[0, t + 1] = alpha * gram[-1]
            # --- parameter side (§2.2 / §2.7), closed form
            c[t + 1] = (1 - eta * lam) * c[t] - eta * (Rg[t, 1 : t + 2] @ cin) - eta * mu[t]
            Rx[t + 1] = (1 - eta * lam) * Rx[t] - eta * (Rg[t, 1 : t + 2] @ Rin[1 : t + 2])
            Rx[t + 1, t + 1] -= eta / alpha
            RT[:, t + 1] = Rx[t + 1]
            if t + 2 < n:
                Cin[t + 2], Rin[t + 2] = c[t + 1], Rx[t + 1]
            q_next = c[t + 1] ** 2 + Rx[t + 1] @ Sig @ Rx[t + 1]
            if (not np.isfinite(q_next) or q_next > _Q_MAX or not np.isfinite(Sig[t + 1, t + 1])
                    or Sig[t + 1, t + 1] > _SIG_MAX):
                blow = t
                break
            if self.callback is not None:
                self.callback(t)
        if blow is not None:
            tb = blow
            mr = np.where(np.isfinite(maxr), maxr, np.inf)
            while tb > 0 and mr[tb] > _GROWTH * mr[tb - 1]:
                tb -= 1
            blow = tb
        Cx = c[:, None] * c[None, :] + Rx @ Sig @ Rx.T
        Cv = self.cv * c + Rx @ Sig @ self.Rv
        return dict(c=c, Rx=Rx, Sig=Sig, Rg=Rg, mu=mu, Cx=Cx, Cv=Cv, train=train, maxr=maxr,
                    blowup_step=blow, min_schur=self.min_schur)
