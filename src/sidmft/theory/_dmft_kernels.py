"""Hot loops of the Monte-Carlo DMFT (THEORY.md §4.1 step 3): numpy reference and numba versions.

``field``               r^t = L_{j,:} xi + sum_{tau<t} R_x(t,tau) g^tau + R_x(t,S) g^S   (O(M t))
``responses_and_gram``  exact reverse-mode pathwise responses (O(M t^2)), Gram row and Stein term.

Reverse mode (per path): lambda_t = 1, lambda_tau = l''_tau sum_{s=tau+1..t} lambda_s R_x(s,tau)
for tau = t-1..0, so lambda_tau = d r^t / d g^tau * l''_tau = d r^t / d w^tau (for columns that
are their own input).  Then R_g(t,tau) = E[l''_t lambda_tau]; in spectral mode
d r^t / d w^S = lambda_0 kappa/(1 - R_S T) + dg^S/dw^S sum_{tau>=1} R_x(tau,S) lambda_tau.
This is the row t of (I - R_x diag(l''))^{-1}: exactly the forward-mode Jacobian of §4.1 3b,
computed without storing the T x M x T Jacobian.
"""

from __future__ import annotations

import numpy as np


# ------------------------------------------------------------------------------------ numpy reference
def field_numpy(Lrow, Xi, mem, G, s0, gS, t):
    j1 = Lrow.shape[0]
    r = Lrow @ Xi[:j1]
    if t > 0:
        r = r + mem @ G[:t]
    if gS is not None and s0 != 0.0:
        r = r + s0 * gS
    return r


def responses_numpy(t, H, G, Rx, z, gS, spec):
    M = H.shape[1]
    Lam = np.zeros((t + 1, M))
    Lam[t] = 1.0
    for tau in range(t - 1, -1, -1):
        Lam[tau] = H[tau] * (Rx[tau + 1 : t + 1, tau + 1] @ Lam[tau + 1 : t + 1])
    ht = H[t]
    resp = np.empty(t + 2)
    resp[: t + 1] = (Lam @ ht) / M
    if spec is not None:
        RxS, dgS, B0 = spec
        dS = B0 * Lam[0] + dgS * (RxS[1 : t + 1] @ Lam[1:])
        resp[t + 1] = np.mean(ht * dS)
    else:
        resp[t + 1] = 0.0
    g = G[t]
    gram = np.empty(t + 2)
    gram[: t + 1] = (G[: t + 1] @ g) / M
    gram[t + 1] = np.mean(g * gS) if gS is not None else 0.0
    gz = np.mean(g * z)
    return resp, gram, gz


# ------------------------------------------------------------------------------------ dispatch
def field(Lrow, Xi, mem, G, s0, gS, t, kernel="numpy"):
    return field_numpy(Lrow, Xi, mem, G, s0, gS, t)


def responses_and_gram(t, H, G, Rx, z, gS, spec, kernel="numpy"):
    return responses_numpy(t, H, G, Rx, z, gS, spec)
