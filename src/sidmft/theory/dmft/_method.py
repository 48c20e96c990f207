"""The first-order method on the parameter side of the DMFT (docs/theory.md §6.1).

Every registered :class:`sidmft.algorithms.Algorithm` is one linear two-step recursion
(read point p^t = a x^t + b x^{t-1}, update x^{t+1} = A x^t + B x^{t-1} - eta_t (lam p^t +
(1/alpha) A^T g^t) + sigma_t xi^t).  The DMFT represents each iterate by coefficient rows
(c for x*, R for the Gaussian fields zeta and, for Langevin dynamics, the noises xi) and applies
the update coefficient-wise with (1/alpha) A^T g^k -> (1/alpha) zeta^k + sum_t' R_g(k,t') p^t' +
mu_k x*.  The method resolved for a run is :class:`sidmft.theory.dmft._input.MethodSteps`; this module computes the
full-batch gradient norm from the coefficients (:func:`grad_norm_rows`) or a probe field
(:func:`probe_grad_norm`) and the linear start's stage (:func:`linear_stage`).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["grad_norm", "grad_norm_rows", "unsupported", "bernoulli_factors", "probe_grad_norm", "linear_stage"]


def unsupported(problem) -> Optional[str]:
    """Why the DMFT cannot treat ``problem``'s method (None when it can)."""
    co = problem.algorithm_obj.coefficients(problem.method_values)
    if abs(co.a + co.b - 1.0) > 1e-12:
        return f"the read point needs a + b = 1 (p^0 = x^0); {problem.algorithm!r} has a + b = {co.a + co.b:g}"
    return None


def grad_norm(problem, method, out) -> np.ndarray:
    """||grad L(x^t)||^2/d, t = 0..steps, of one batch's output ``out`` (a BatchOutput): the probe field (§6.7)
    when the method needs one; for GD at a constant step (heavy-ball at beta = 0, SGD at batch = 1, Langevin at
    temperature = 0 included) (C(t,t) - 2 C(t,t+1) + C(t+1,t+1))/eta^2; else :func:`grad_norm_rows`."""
    n_steps = problem.steps
    if method.probe:
        return np.asarray(out.grad_norm, dtype=float)
    if method.simple and not method.noise and method.batch is None and problem.eta_schedule is None:
        Cx = out.Cx
        dC = np.array([Cx[t, t] - 2 * Cx[t, t + 1] + Cx[t + 1, t + 1] for t in range(n_steps + 1)])
        return dC / problem.eta**2
    return grad_norm_rows(method, out.c, out.Rx, out.Sig, n_steps)


def grad_norm_rows(method, c: np.ndarray, Rx: np.ndarray, Sig: np.ndarray, n_steps: int) -> np.ndarray:
    """||grad L(x^t)||^2/d for t = 0..steps from the coefficients, or NaN where the update does not
    reveal the full-batch gradient at x^t (a read point other than x^t, or a per-sample factor: the
    forward pass then measures it with a probe field, :func:`probe_grad_norm`).

    With p^t = x^t and f = 1: eta_t grad L(x^t) = A x^t + B x^{t-1} + sigma_t xi^t - x^{t+1}, so its
    coefficient row is D = A X_t + B X_{t-1} - X_{t+1} plus sigma_t on the column of xi^t, and
    ||grad||^2/d = (D_c^2 + D_R Sigma D_R^T)/eta_t^2 (the xi^t term cancels exactly)."""
    out = np.full(n_steps + 1, np.nan)
    if method.probe:
        return out
    _, _, A, B = method.coef
    n0 = n_steps + 2  # first noise column
    for t in range(n_steps + 1):
        tm = max(t - 1, 0)
        dc = A * c[t] + B * c[tm] - c[t + 1]
        dR = A * Rx[t] + B * Rx[tm] - Rx[t + 1]
        if method.noise:
            dR[n0 + t] += method.sigmas[t]
        eta = method.etas[t]
        out[t] = (dc * dc + dR @ Sig @ dR) / (eta * eta)
    return out


def bernoulli_factors(rng: np.random.Generator, batch: float, n_steps: int, n_paths: int) -> np.ndarray:
    """f^t = s/b with s ~ Bernoulli(b), shape (steps + 1, n_paths), one draw per path and step."""
    s = rng.random((n_steps + 1, n_paths)) < batch
    return s.astype(np.float64) / batch


def probe_grad_norm(solver, t: int, phi: np.ndarray, crossfit: bool = True, g: Optional[np.ndarray] = None) -> float:
    """||grad L(x^t)||^2/d from the probe phi = l'(y, r_x^t) (docs/theory.md §6.7), measured on the
    paths of ``solver`` (a BatchSolver at step t, inputs 0..t+1 in place) and never fed back.

    A^T phi has the cavity form zeta^phi + alpha sum_t' R_phi(t') p^t' + alpha mu_phi x*, with
    R_phi = E[d phi/d w] by integration by parts (exact for any phi), mu_phi by Stein,
    Var zeta^phi = alpha E[phi^2] and Cov(zeta^phi, zeta^k) = alpha E[phi g^k].  With
    B = sum_t' R_phi(t') p^t' + mu_phi x* + lam x^t = c_B x* + R_B (zeta, xi):
    ||grad||^2/d = E[phi^2]/alpha + 2 sum_k R_B(k) E[phi g^k] + c_B^2 + R_B Sigma R_B^T.

    ``g`` (the step's own g^t, with row t of R_g and mu_t already closed): the control variate of §6.7.  Then
    R_phi = R_g(t, .) + E[d(phi - g^t)/d w] and mu_phi = mu_t + (the Stein term of phi - g^t): the part of phi that
    the state already carries takes the state's own responses, and only the difference phi - g^t, which vanishes
    as x^t and the read point p^t meet, is integrated by parts.  For GD (phi = g^t) this is the formula of §2.6
    exactly; for a method that reads another point its Monte-Carlo bias is proportional to E[(phi - g^t)^2].

    Without ``g``: every factor by integration by parts; ``crossfit`` estimates each factor of the last three
    products on one half of the paths (even / odd) and multiplies the two independent halves (this removes the
    products' own O(1/M) bias, not that of the state they are built on).  The averages come from the solver
    (``ibp_vector``, ``gram_vector``, ``z_mean``), so the same formula serves real and complex fields (docs/theory.md
    §7.2: products then mean their real parts)."""
    M = phi.shape[0]
    lam, alpha = solver.inp.lam, solver.inp.alpha
    cin, rin = solver.Cin[1 : t + 2], solver.Rin[1 : t + 2]
    halves = []
    if g is not None:
        crossfit = False
    for h in (slice(0, M, 2), slice(1, M, 2)) if crossfit else (slice(0, M), slice(0, M)):
        ph = phi[h]
        if g is None:
            r_phi = solver.ibp_vector(ph, h, t + 2)[1:]
            mu = solver.z_mean(ph, h) - cin @ r_phi
        else:  # the control variate: the state's row t for g^t, integration by parts for phi - g^t only
            delta = ph - g[h]
            r_delta = solver.ibp_vector(delta, h, t + 2)[1:]
            r_phi = solver.Rg[t, 1 : t + 2] + r_delta
            mu = solver.mu[t] + solver.z_mean(delta, h) - cin @ r_delta
        cB = r_phi @ cin + mu + lam * solver.c[t]
        RB = r_phi @ rin + lam * solver.Rx[t]
        gram = solver.gram_vector(ph, h, t)
        cross = np.zeros(RB.shape[0])
        cross[1 : t + 2] = gram[: t + 1]
        if solver.gS is not None:  # zeta^S (spectral) or zeta^L (linear start)
            cross[0] = gram[t + 1]
        halves.append((cB, RB, cross))
    (cA, RA, xA), (cB_, RB_, xB) = halves
    quad = RA @ solver.Sig @ RB_
    return float(np.real(np.vdot(phi, phi))) / M / alpha + (RA @ xB + RB_ @ xA) + cA * cB_ + quad


def linear_stage(problem) -> tuple[float, float]:
    """(E[T z], E[T^2]) of the linear start's stage L (§6.6), by the deterministic quadrature of the law
    of (z, y) (exact to ~1e-10, so the start carries no Monte-Carlo error)."""
    from ...quadrature import joint_rule

    T = problem.T
    rule = joint_rule(problem.model_obj, getattr(T, "breakpoints", ()))
    with np.errstate(all="ignore"):
        mu, e2 = rule.expect(
            lambda z, y: np.stack([np.asarray(T(y), dtype=float) * z, np.asarray(T(y), dtype=float) ** 2])
        )
    return float(mu), float(e2)
