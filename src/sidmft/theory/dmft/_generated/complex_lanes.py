"""Micro-kernel of the complex DMFT reverse sweep.

GENERATED FILE -- do not edit by hand.  Edit sidmft/theory/dmft/_complex_kernels_gen.py, then
regenerate with::

    python -m sidmft.theory.dmft._complex_kernels_gen
"""

from numba import njit

LANES = 16
WIDTH = 64


@njit(fastmath=True, inline="always", cache=True)
def micro(RT, nu, tau, t):
    """Sums over s = tau + 1..t of RT[tau + 1, s] nu[s * WIDTH + q], q = component * LANES + lane."""
    a0_0 = nu[0] * 0
    a0_1 = nu[0] * 0
    a0_2 = nu[0] * 0
    a0_3 = nu[0] * 0
    a0_4 = nu[0] * 0
    a0_5 = nu[0] * 0
    a0_6 = nu[0] * 0
    a0_7 = nu[0] * 0
    a0_8 = nu[0] * 0
    a0_9 = nu[0] * 0
    a0_10 = nu[0] * 0
    a0_11 = nu[0] * 0
    a0_12 = nu[0] * 0
    a0_13 = nu[0] * 0
    a0_14 = nu[0] * 0
    a0_15 = nu[0] * 0
    a1_0 = nu[0] * 0
    a1_1 = nu[0] * 0
    a1_2 = nu[0] * 0
    a1_3 = nu[0] * 0
    a1_4 = nu[0] * 0
    a1_5 = nu[0] * 0
    a1_6 = nu[0] * 0
    a1_7 = nu[0] * 0
    a1_8 = nu[0] * 0
    a1_9 = nu[0] * 0
    a1_10 = nu[0] * 0
    a1_11 = nu[0] * 0
    a1_12 = nu[0] * 0
    a1_13 = nu[0] * 0
    a1_14 = nu[0] * 0
    a1_15 = nu[0] * 0
    a2_0 = nu[0] * 0
    a2_1 = nu[0] * 0
    a2_2 = nu[0] * 0
    a2_3 = nu[0] * 0
    a2_4 = nu[0] * 0
    a2_5 = nu[0] * 0
    a2_6 = nu[0] * 0
    a2_7 = nu[0] * 0
    a2_8 = nu[0] * 0
    a2_9 = nu[0] * 0
    a2_10 = nu[0] * 0
    a2_11 = nu[0] * 0
    a2_12 = nu[0] * 0
    a2_13 = nu[0] * 0
    a2_14 = nu[0] * 0
    a2_15 = nu[0] * 0
    a3_0 = nu[0] * 0
    a3_1 = nu[0] * 0
    a3_2 = nu[0] * 0
    a3_3 = nu[0] * 0
    a3_4 = nu[0] * 0
    a3_5 = nu[0] * 0
    a3_6 = nu[0] * 0
    a3_7 = nu[0] * 0
    a3_8 = nu[0] * 0
    a3_9 = nu[0] * 0
    a3_10 = nu[0] * 0
    a3_11 = nu[0] * 0
    a3_12 = nu[0] * 0
    a3_13 = nu[0] * 0
    a3_14 = nu[0] * 0
    a3_15 = nu[0] * 0
    for s in range(tau + 1, t + 1):
        r = RT[tau + 1, s]
        b = s * 64
        a0_0 += r * nu[b + 0]
        a0_1 += r * nu[b + 1]
        a0_2 += r * nu[b + 2]
        a0_3 += r * nu[b + 3]
        a0_4 += r * nu[b + 4]
        a0_5 += r * nu[b + 5]
        a0_6 += r * nu[b + 6]
        a0_7 += r * nu[b + 7]
        a0_8 += r * nu[b + 8]
        a0_9 += r * nu[b + 9]
        a0_10 += r * nu[b + 10]
        a0_11 += r * nu[b + 11]
        a0_12 += r * nu[b + 12]
        a0_13 += r * nu[b + 13]
        a0_14 += r * nu[b + 14]
        a0_15 += r * nu[b + 15]
        a1_0 += r * nu[b + 16]
        a1_1 += r * nu[b + 17]
        a1_2 += r * nu[b + 18]
        a1_3 += r * nu[b + 19]
        a1_4 += r * nu[b + 20]
        a1_5 += r * nu[b + 21]
        a1_6 += r * nu[b + 22]
        a1_7 += r * nu[b + 23]
        a1_8 += r * nu[b + 24]
        a1_9 += r * nu[b + 25]
        a1_10 += r * nu[b + 26]
        a1_11 += r * nu[b + 27]
        a1_12 += r * nu[b + 28]
        a1_13 += r * nu[b + 29]
        a1_14 += r * nu[b + 30]
        a1_15 += r * nu[b + 31]
        a2_0 += r * nu[b + 32]
        a2_1 += r * nu[b + 33]
        a2_2 += r * nu[b + 34]
        a2_3 += r * nu[b + 35]
        a2_4 += r * nu[b + 36]
        a2_5 += r * nu[b + 37]
        a2_6 += r * nu[b + 38]
        a2_7 += r * nu[b + 39]
        a2_8 += r * nu[b + 40]
        a2_9 += r * nu[b + 41]
        a2_10 += r * nu[b + 42]
        a2_11 += r * nu[b + 43]
        a2_12 += r * nu[b + 44]
        a2_13 += r * nu[b + 45]
        a2_14 += r * nu[b + 46]
        a2_15 += r * nu[b + 47]
        a3_0 += r * nu[b + 48]
        a3_1 += r * nu[b + 49]
        a3_2 += r * nu[b + 50]
        a3_3 += r * nu[b + 51]
        a3_4 += r * nu[b + 52]
        a3_5 += r * nu[b + 53]
        a3_6 += r * nu[b + 54]
        a3_7 += r * nu[b + 55]
        a3_8 += r * nu[b + 56]
        a3_9 += r * nu[b + 57]
        a3_10 += r * nu[b + 58]
        a3_11 += r * nu[b + 59]
        a3_12 += r * nu[b + 60]
        a3_13 += r * nu[b + 61]
        a3_14 += r * nu[b + 62]
        a3_15 += r * nu[b + 63]
    return (
        a0_0,
        a0_1,
        a0_2,
        a0_3,
        a0_4,
        a0_5,
        a0_6,
        a0_7,
        a0_8,
        a0_9,
        a0_10,
        a0_11,
        a0_12,
        a0_13,
        a0_14,
        a0_15,
        a1_0,
        a1_1,
        a1_2,
        a1_3,
        a1_4,
        a1_5,
        a1_6,
        a1_7,
        a1_8,
        a1_9,
        a1_10,
        a1_11,
        a1_12,
        a1_13,
        a1_14,
        a1_15,
        a2_0,
        a2_1,
        a2_2,
        a2_3,
        a2_4,
        a2_5,
        a2_6,
        a2_7,
        a2_8,
        a2_9,
        a2_10,
        a2_11,
        a2_12,
        a2_13,
        a2_14,
        a2_15,
        a3_0,
        a3_1,
        a3_2,
        a3_3,
        a3_4,
        a3_5,
        a3_6,
        a3_7,
        a3_8,
        a3_9,
        a3_10,
        a3_11,
        a3_12,
        a3_13,
        a3_14,
        a3_15,
    )
