"""Numpy reference of the hot loops of the Monte-Carlo DMFT (docs/theory.md §4.1 step 3).

Plain, vectorised-over-paths versions of the two kernels described in
:mod:`sidmft.theory.dmft._kernels`; the numba kernels (:mod:`sidmft.theory.dmft._generated.lanes`) must agree
with them to rounding (``tests/test_dmft_kernels.py``).
"""

from __future__ import annotations

import numpy as np


def field_numpy(Lrow, Xi, mem, G, s0, gS, t):
    """r^t = Lrow . Xi[:len(Lrow)] + mem . G[:t] + s0 g^S for all paths."""
    j1 = Lrow.shape[0]
    r = Lrow @ Xi[:j1]
    if t > 0:
        r = r + mem @ G[:t]
    if gS is not None and s0 != 0.0:
        r = r + s0 * gS
    return r


def responses_numpy(t, H, G, Rx, z, gS, spec, M=None):
    """Explicit backward recursion over tau, vectorised over paths; means over the first M paths' sums.

    Returns ``(resp, gram, gz)`` as :func:`sidmft.theory.dmft._kernels.responses_and_gram`."""
    M = H.shape[1] if M is None else M
    H = H.astype(np.float64, copy=False)
    G = G.astype(np.float64, copy=False)
    Lam = np.zeros((t + 1, H.shape[1]))
    Lam[t] = 1.0
    for tau in range(t - 1, -1, -1):
        Lam[tau] = H[tau] * (Rx[tau + 1 : t + 1, tau + 1] @ Lam[tau + 1 : t + 1])
    ht = H[t]
    resp = np.empty(t + 2)
    resp[: t + 1] = Lam @ ht
    if spec is not None:
        RxS, dgS, B0 = spec
        dS = B0 * Lam[0] + dgS * (RxS[1 : t + 1] @ Lam[1:])
        resp[t + 1] = np.sum(ht * dS)
    else:
        resp[t + 1] = 0.0
    g = G[t]
    gram = np.empty(t + 2)
    gram[: t + 1] = G[: t + 1] @ g
    gram[t + 1] = np.sum(g * gS) if gS is not None else 0.0
    gz = np.sum(g * z)
    return resp / M, gram / M, gz / M
