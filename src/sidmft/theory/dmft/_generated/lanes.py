"""Numba kernels of the Monte-Carlo DMFT.

GENERATED FILE -- do not edit by hand.  Edit sidmft/theory/dmft/_kernels_gen.py, then regenerate with::

    python -m sidmft.theory.dmft._kernels_gen

See sidmft.theory.dmft._kernels_gen for the layout and sidmft.theory.dmft._kernels for the algorithm.
"""

import numpy as np
from numba import njit, prange

LANES_BY_DTYPE = {"f64": 16, "f32": 32}
TAU_BLOCK = 4
NCHUNK = 32


@njit(fastmath=True, inline="always", cache=True)
def micro_f64(RT, lam, k0, s_lo, s_hi, acc):
    """acc[i, l] = sum over s_lo <= s < s_hi of RT[k0 + i, s] lam[s, l]  (4 x 16 register block)."""
    a0_0 = 0.0
    a0_1 = 0.0
    a0_2 = 0.0
    a0_3 = 0.0
    a0_4 = 0.0
    a0_5 = 0.0
    a0_6 = 0.0
    a0_7 = 0.0
    a0_8 = 0.0
    a0_9 = 0.0
    a0_10 = 0.0
    a0_11 = 0.0
    a0_12 = 0.0
    a0_13 = 0.0
    a0_14 = 0.0
    a0_15 = 0.0
    a1_0 = 0.0
    a1_1 = 0.0
    a1_2 = 0.0
    a1_3 = 0.0
    a1_4 = 0.0
    a1_5 = 0.0
    a1_6 = 0.0
    a1_7 = 0.0
    a1_8 = 0.0
    a1_9 = 0.0
    a1_10 = 0.0
    a1_11 = 0.0
    a1_12 = 0.0
    a1_13 = 0.0
    a1_14 = 0.0
    a1_15 = 0.0
    a2_0 = 0.0
    a2_1 = 0.0
    a2_2 = 0.0
    a2_3 = 0.0
    a2_4 = 0.0
    a2_5 = 0.0
    a2_6 = 0.0
    a2_7 = 0.0
    a2_8 = 0.0
    a2_9 = 0.0
    a2_10 = 0.0
    a2_11 = 0.0
    a2_12 = 0.0
    a2_13 = 0.0
    a2_14 = 0.0
    a2_15 = 0.0
    a3_0 = 0.0
    a3_1 = 0.0
    a3_2 = 0.0
    a3_3 = 0.0
    a3_4 = 0.0
    a3_5 = 0.0
    a3_6 = 0.0
    a3_7 = 0.0
    a3_8 = 0.0
    a3_9 = 0.0
    a3_10 = 0.0
    a3_11 = 0.0
    a3_12 = 0.0
    a3_13 = 0.0
    a3_14 = 0.0
    a3_15 = 0.0
    for s in range(s_lo, s_hi):
        r0 = RT[k0 + 0, s]
        r1 = RT[k0 + 1, s]
        r2 = RT[k0 + 2, s]
        r3 = RT[k0 + 3, s]
        x0 = lam[s * 16 + 0]
        x1 = lam[s * 16 + 1]
        x2 = lam[s * 16 + 2]
        x3 = lam[s * 16 + 3]
        x4 = lam[s * 16 + 4]
        x5 = lam[s * 16 + 5]
        x6 = lam[s * 16 + 6]
        x7 = lam[s * 16 + 7]
        x8 = lam[s * 16 + 8]
        x9 = lam[s * 16 + 9]
        x10 = lam[s * 16 + 10]
        x11 = lam[s * 16 + 11]
        x12 = lam[s * 16 + 12]
        x13 = lam[s * 16 + 13]
        x14 = lam[s * 16 + 14]
        x15 = lam[s * 16 + 15]
        a0_0 += r0 * x0
        a0_1 += r0 * x1
        a0_2 += r0 * x2
        a0_3 += r0 * x3
        a0_4 += r0 * x4
        a0_5 += r0 * x5
        a0_6 += r0 * x6
        a0_7 += r0 * x7
        a0_8 += r0 * x8
        a0_9 += r0 * x9
        a0_10 += r0 * x10
        a0_11 += r0 * x11
        a0_12 += r0 * x12
        a0_13 += r0 * x13
        a0_14 += r0 * x14
        a0_15 += r0 * x15
        a1_0 += r1 * x0
        a1_1 += r1 * x1
        a1_2 += r1 * x2
        a1_3 += r1 * x3
        a1_4 += r1 * x4
        a1_5 += r1 * x5
        a1_6 += r1 * x6
        a1_7 += r1 * x7
        a1_8 += r1 * x8
        a1_9 += r1 * x9
        a1_10 += r1 * x10
        a1_11 += r1 * x11
        a1_12 += r1 * x12
        a1_13 += r1 * x13
        a1_14 += r1 * x14
        a1_15 += r1 * x15
        a2_0 += r2 * x0
        a2_1 += r2 * x1
        a2_2 += r2 * x2
        a2_3 += r2 * x3
        a2_4 += r2 * x4
        a2_5 += r2 * x5
        a2_6 += r2 * x6
        a2_7 += r2 * x7
        a2_8 += r2 * x8
        a2_9 += r2 * x9
        a2_10 += r2 * x10
        a2_11 += r2 * x11
        a2_12 += r2 * x12
        a2_13 += r2 * x13
        a2_14 += r2 * x14
        a2_15 += r2 * x15
        a3_0 += r3 * x0
        a3_1 += r3 * x1
        a3_2 += r3 * x2
        a3_3 += r3 * x3
        a3_4 += r3 * x4
        a3_5 += r3 * x5
        a3_6 += r3 * x6
        a3_7 += r3 * x7
        a3_8 += r3 * x8
        a3_9 += r3 * x9
        a3_10 += r3 * x10
        a3_11 += r3 * x11
        a3_12 += r3 * x12
        a3_13 += r3 * x13
        a3_14 += r3 * x14
        a3_15 += r3 * x15
    acc[0] = a0_0
    acc[1] = a0_1
    acc[2] = a0_2
    acc[3] = a0_3
    acc[4] = a0_4
    acc[5] = a0_5
    acc[6] = a0_6
    acc[7] = a0_7
    acc[8] = a0_8
    acc[9] = a0_9
    acc[10] = a0_10
    acc[11] = a0_11
    acc[12] = a0_12
    acc[13] = a0_13
    acc[14] = a0_14
    acc[15] = a0_15
    acc[16] = a1_0
    acc[17] = a1_1
    acc[18] = a1_2
    acc[19] = a1_3
    acc[20] = a1_4
    acc[21] = a1_5
    acc[22] = a1_6
    acc[23] = a1_7
    acc[24] = a1_8
    acc[25] = a1_9
    acc[26] = a1_10
    acc[27] = a1_11
    acc[28] = a1_12
    acc[29] = a1_13
    acc[30] = a1_14
    acc[31] = a1_15
    acc[32] = a2_0
    acc[33] = a2_1
    acc[34] = a2_2
    acc[35] = a2_3
    acc[36] = a2_4
    acc[37] = a2_5
    acc[38] = a2_6
    acc[39] = a2_7
    acc[40] = a2_8
    acc[41] = a2_9
    acc[42] = a2_10
    acc[43] = a2_11
    acc[44] = a2_12
    acc[45] = a2_13
    acc[46] = a2_14
    acc[47] = a2_15
    acc[48] = a3_0
    acc[49] = a3_1
    acc[50] = a3_2
    acc[51] = a3_3
    acc[52] = a3_4
    acc[53] = a3_5
    acc[54] = a3_6
    acc[55] = a3_7
    acc[56] = a3_8
    acc[57] = a3_9
    acc[58] = a3_10
    acc[59] = a3_11
    acc[60] = a3_12
    acc[61] = a3_13
    acc[62] = a3_14
    acc[63] = a3_15


@njit(fastmath=True, inline="always", cache=True)
def tri_row_f64(RT, lam, H, i0, tau, top, acc, i):
    """lam[tau, l] = H[tau, i0 + l] (acc[i, l] + sum over tau < s < top of RT[tau + 1, s] lam[s, l])."""
    a0 = acc[i * 16 + 0]
    a1 = acc[i * 16 + 1]
    a2 = acc[i * 16 + 2]
    a3 = acc[i * 16 + 3]
    a4 = acc[i * 16 + 4]
    a5 = acc[i * 16 + 5]
    a6 = acc[i * 16 + 6]
    a7 = acc[i * 16 + 7]
    a8 = acc[i * 16 + 8]
    a9 = acc[i * 16 + 9]
    a10 = acc[i * 16 + 10]
    a11 = acc[i * 16 + 11]
    a12 = acc[i * 16 + 12]
    a13 = acc[i * 16 + 13]
    a14 = acc[i * 16 + 14]
    a15 = acc[i * 16 + 15]
    for s in range(tau + 1, top):
        r = RT[tau + 1, s]
        a0 += r * lam[s * 16 + 0]
        a1 += r * lam[s * 16 + 1]
        a2 += r * lam[s * 16 + 2]
        a3 += r * lam[s * 16 + 3]
        a4 += r * lam[s * 16 + 4]
        a5 += r * lam[s * 16 + 5]
        a6 += r * lam[s * 16 + 6]
        a7 += r * lam[s * 16 + 7]
        a8 += r * lam[s * 16 + 8]
        a9 += r * lam[s * 16 + 9]
        a10 += r * lam[s * 16 + 10]
        a11 += r * lam[s * 16 + 11]
        a12 += r * lam[s * 16 + 12]
        a13 += r * lam[s * 16 + 13]
        a14 += r * lam[s * 16 + 14]
        a15 += r * lam[s * 16 + 15]
    lam[tau * 16 + 0] = H[tau, i0 + 0] * a0
    lam[tau * 16 + 1] = H[tau, i0 + 1] * a1
    lam[tau * 16 + 2] = H[tau, i0 + 2] * a2
    lam[tau * 16 + 3] = H[tau, i0 + 3] * a3
    lam[tau * 16 + 4] = H[tau, i0 + 4] * a4
    lam[tau * 16 + 5] = H[tau, i0 + 5] * a5
    lam[tau * 16 + 6] = H[tau, i0 + 6] * a6
    lam[tau * 16 + 7] = H[tau, i0 + 7] * a7
    lam[tau * 16 + 8] = H[tau, i0 + 8] * a8
    lam[tau * 16 + 9] = H[tau, i0 + 9] * a9
    lam[tau * 16 + 10] = H[tau, i0 + 10] * a10
    lam[tau * 16 + 11] = H[tau, i0 + 11] * a11
    lam[tau * 16 + 12] = H[tau, i0 + 12] * a12
    lam[tau * 16 + 13] = H[tau, i0 + 13] * a13
    lam[tau * 16 + 14] = H[tau, i0 + 14] * a14
    lam[tau * 16 + 15] = H[tau, i0 + 15] * a15


@njit(fastmath=True, inline="always", cache=True)
def full_row_f64(RT, lam, H, i0, tau, t):
    """lam[tau, l] = H[tau, i0 + l] sum over tau < s <= t of RT[tau + 1, s] lam[s, l]."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    a4 = 0.0
    a5 = 0.0
    a6 = 0.0
    a7 = 0.0
    a8 = 0.0
    a9 = 0.0
    a10 = 0.0
    a11 = 0.0
    a12 = 0.0
    a13 = 0.0
    a14 = 0.0
    a15 = 0.0
    for s in range(tau + 1, t + 1):
        r = RT[tau + 1, s]
        a0 += r * lam[s * 16 + 0]
        a1 += r * lam[s * 16 + 1]
        a2 += r * lam[s * 16 + 2]
        a3 += r * lam[s * 16 + 3]
        a4 += r * lam[s * 16 + 4]
        a5 += r * lam[s * 16 + 5]
        a6 += r * lam[s * 16 + 6]
        a7 += r * lam[s * 16 + 7]
        a8 += r * lam[s * 16 + 8]
        a9 += r * lam[s * 16 + 9]
        a10 += r * lam[s * 16 + 10]
        a11 += r * lam[s * 16 + 11]
        a12 += r * lam[s * 16 + 12]
        a13 += r * lam[s * 16 + 13]
        a14 += r * lam[s * 16 + 14]
        a15 += r * lam[s * 16 + 15]
    lam[tau * 16 + 0] = H[tau, i0 + 0] * a0
    lam[tau * 16 + 1] = H[tau, i0 + 1] * a1
    lam[tau * 16 + 2] = H[tau, i0 + 2] * a2
    lam[tau * 16 + 3] = H[tau, i0 + 3] * a3
    lam[tau * 16 + 4] = H[tau, i0 + 4] * a4
    lam[tau * 16 + 5] = H[tau, i0 + 5] * a5
    lam[tau * 16 + 6] = H[tau, i0 + 6] * a6
    lam[tau * 16 + 7] = H[tau, i0 + 7] * a7
    lam[tau * 16 + 8] = H[tau, i0 + 8] * a8
    lam[tau * 16 + 9] = H[tau, i0 + 9] * a9
    lam[tau * 16 + 10] = H[tau, i0 + 10] * a10
    lam[tau * 16 + 11] = H[tau, i0 + 11] * a11
    lam[tau * 16 + 12] = H[tau, i0 + 12] * a12
    lam[tau * 16 + 13] = H[tau, i0 + 13] * a13
    lam[tau * 16 + 14] = H[tau, i0 + 14] * a14
    lam[tau * 16 + 15] = H[tau, i0 + 15] * a15


@njit(fastmath=True, inline="always", cache=True)
def accumulate_f64(t, lam, H, G, i0, pr, pg):
    """pr[tau, l] += H[t, i0 + l] lam[tau, l];  pg[tau, l] += G[t, i0 + l] G[tau, i0 + l]  (float64)."""
    h0 = np.float64(H[t, i0 + 0])
    g0 = np.float64(G[t, i0 + 0])
    h1 = np.float64(H[t, i0 + 1])
    g1 = np.float64(G[t, i0 + 1])
    h2 = np.float64(H[t, i0 + 2])
    g2 = np.float64(G[t, i0 + 2])
    h3 = np.float64(H[t, i0 + 3])
    g3 = np.float64(G[t, i0 + 3])
    h4 = np.float64(H[t, i0 + 4])
    g4 = np.float64(G[t, i0 + 4])
    h5 = np.float64(H[t, i0 + 5])
    g5 = np.float64(G[t, i0 + 5])
    h6 = np.float64(H[t, i0 + 6])
    g6 = np.float64(G[t, i0 + 6])
    h7 = np.float64(H[t, i0 + 7])
    g7 = np.float64(G[t, i0 + 7])
    h8 = np.float64(H[t, i0 + 8])
    g8 = np.float64(G[t, i0 + 8])
    h9 = np.float64(H[t, i0 + 9])
    g9 = np.float64(G[t, i0 + 9])
    h10 = np.float64(H[t, i0 + 10])
    g10 = np.float64(G[t, i0 + 10])
    h11 = np.float64(H[t, i0 + 11])
    g11 = np.float64(G[t, i0 + 11])
    h12 = np.float64(H[t, i0 + 12])
    g12 = np.float64(G[t, i0 + 12])
    h13 = np.float64(H[t, i0 + 13])
    g13 = np.float64(G[t, i0 + 13])
    h14 = np.float64(H[t, i0 + 14])
    g14 = np.float64(G[t, i0 + 14])
    h15 = np.float64(H[t, i0 + 15])
    g15 = np.float64(G[t, i0 + 15])
    for tau in range(t + 1):
        pr[tau * 16 + 0] += h0 * lam[tau * 16 + 0]
        pg[tau * 16 + 0] += g0 * G[tau, i0 + 0]
        pr[tau * 16 + 1] += h1 * lam[tau * 16 + 1]
        pg[tau * 16 + 1] += g1 * G[tau, i0 + 1]
        pr[tau * 16 + 2] += h2 * lam[tau * 16 + 2]
        pg[tau * 16 + 2] += g2 * G[tau, i0 + 2]
        pr[tau * 16 + 3] += h3 * lam[tau * 16 + 3]
        pg[tau * 16 + 3] += g3 * G[tau, i0 + 3]
        pr[tau * 16 + 4] += h4 * lam[tau * 16 + 4]
        pg[tau * 16 + 4] += g4 * G[tau, i0 + 4]
        pr[tau * 16 + 5] += h5 * lam[tau * 16 + 5]
        pg[tau * 16 + 5] += g5 * G[tau, i0 + 5]
        pr[tau * 16 + 6] += h6 * lam[tau * 16 + 6]
        pg[tau * 16 + 6] += g6 * G[tau, i0 + 6]
        pr[tau * 16 + 7] += h7 * lam[tau * 16 + 7]
        pg[tau * 16 + 7] += g7 * G[tau, i0 + 7]
        pr[tau * 16 + 8] += h8 * lam[tau * 16 + 8]
        pg[tau * 16 + 8] += g8 * G[tau, i0 + 8]
        pr[tau * 16 + 9] += h9 * lam[tau * 16 + 9]
        pg[tau * 16 + 9] += g9 * G[tau, i0 + 9]
        pr[tau * 16 + 10] += h10 * lam[tau * 16 + 10]
        pg[tau * 16 + 10] += g10 * G[tau, i0 + 10]
        pr[tau * 16 + 11] += h11 * lam[tau * 16 + 11]
        pg[tau * 16 + 11] += g11 * G[tau, i0 + 11]
        pr[tau * 16 + 12] += h12 * lam[tau * 16 + 12]
        pg[tau * 16 + 12] += g12 * G[tau, i0 + 12]
        pr[tau * 16 + 13] += h13 * lam[tau * 16 + 13]
        pg[tau * 16 + 13] += g13 * G[tau, i0 + 13]
        pr[tau * 16 + 14] += h14 * lam[tau * 16 + 14]
        pg[tau * 16 + 14] += g14 * G[tau, i0 + 14]
        pr[tau * 16 + 15] += h15 * lam[tau * 16 + 15]
        pg[tau * 16 + 15] += g15 * G[tau, i0 + 15]


@njit(fastmath=True, inline="always", cache=True)
def spec_dot_f64(t, lam, RS, out):
    """out[l] = sum over 1 <= tau <= t of RS[tau] lam[tau, l]  (float64)."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    a4 = 0.0
    a5 = 0.0
    a6 = 0.0
    a7 = 0.0
    a8 = 0.0
    a9 = 0.0
    a10 = 0.0
    a11 = 0.0
    a12 = 0.0
    a13 = 0.0
    a14 = 0.0
    a15 = 0.0
    for tau in range(1, t + 1):
        r = RS[tau]
        a0 += r * lam[tau * 16 + 0]
        a1 += r * lam[tau * 16 + 1]
        a2 += r * lam[tau * 16 + 2]
        a3 += r * lam[tau * 16 + 3]
        a4 += r * lam[tau * 16 + 4]
        a5 += r * lam[tau * 16 + 5]
        a6 += r * lam[tau * 16 + 6]
        a7 += r * lam[tau * 16 + 7]
        a8 += r * lam[tau * 16 + 8]
        a9 += r * lam[tau * 16 + 9]
        a10 += r * lam[tau * 16 + 10]
        a11 += r * lam[tau * 16 + 11]
        a12 += r * lam[tau * 16 + 12]
        a13 += r * lam[tau * 16 + 13]
        a14 += r * lam[tau * 16 + 14]
        a15 += r * lam[tau * 16 + 15]
    out[0] = a0
    out[1] = a1
    out[2] = a2
    out[3] = a3
    out[4] = a4
    out[5] = a5
    out[6] = a6
    out[7] = a7
    out[8] = a8
    out[9] = a9
    out[10] = a10
    out[11] = a11
    out[12] = a12
    out[13] = a13
    out[14] = a14
    out[15] = a15


@njit(parallel=True, fastmath=True, cache=True)
def responses_f64(t, H, G, RT, spec, RS, dgS, B0, gS, z, out_r, out_g):
    """Reverse sweep + Gram row for all paths in blocks of 16 lanes (sums in float64).

    out_r[tau] += sum_i h_t lambda_tau (tau = 0..t); out_r[t+1] += sum_i h_t dr^t/dw^S (spectral);
    out_g[tau] += sum_i g_t g_tau; out_g[t+1] += sum_i g_t g^S; out_g[t+2] += sum_i g_t z.
    Paths after the last full block of 16 are left to the caller."""
    M = H.shape[1]
    nblk = M // 16
    per = (nblk + 32 - 1) // 32
    n = t + 1
    part_r = np.zeros((32, n * 16))
    part_g = np.zeros((32, n * 16))
    part_x = np.zeros((32, 3))
    for c in prange(32):
        lam = np.zeros(n * 16, dtype=H.dtype)
        acc = np.zeros(4 * 16, dtype=H.dtype)
        sd = np.zeros(16)
        pr = part_r[c]
        pg = part_g[c]
        for blk in range(c * per, min((c + 1) * per, nblk)):
            i0 = blk * 16
            for l in range(16):
                lam[t * 16 + l] = 1.0
            top = t
            while top >= 4:
                tb = top - 4
                micro_f64(RT, lam, tb + 1, top, t + 1, acc)
                for i in range(4 - 1, -1, -1):
                    tri_row_f64(RT, lam, H, i0, tb + i, top, acc, i)
                top = tb
            for tau in range(top - 1, -1, -1):
                full_row_f64(RT, lam, H, i0, tau, t)
            accumulate_f64(t, lam, H, G, i0, pr, pg)
            sx = 0.0
            sz = 0.0
            if spec:
                spec_dot_f64(t, lam, RS, sd)
                for l in range(16):
                    i = i0 + l
                    sx += H[t, i] * (B0[i] * lam[l] + dgS[i] * sd[l])
                    sz += G[t, i] * gS[i]
            part_x[c, 0] += sx
            part_x[c, 1] += sz
            s3 = 0.0
            for l in range(16):
                s3 += G[t, i0 + l] * z[i0 + l]
            part_x[c, 2] += s3
    for c in range(32):
        for tau in range(n):
            sr = 0.0
            sg = 0.0
            for l in range(16):
                sr += part_r[c, tau * 16 + l]
                sg += part_g[c, tau * 16 + l]
            out_r[tau] += sr
            out_g[tau] += sg
        out_r[n] += part_x[c, 0]
        out_g[n] += part_x[c, 1]
        out_g[n + 1] += part_x[c, 2]


@njit(nogil=True, fastmath=True, cache=True)
def responses_f64_serial(t, H, G, RT, spec, RS, dgS, B0, gS, z, out_r, out_g):
    """Reverse sweep + Gram row for all paths in blocks of 16 lanes (sums in float64).

    out_r[tau] += sum_i h_t lambda_tau (tau = 0..t); out_r[t+1] += sum_i h_t dr^t/dw^S (spectral);
    out_g[tau] += sum_i g_t g_tau; out_g[t+1] += sum_i g_t g^S; out_g[t+2] += sum_i g_t z.
    Paths after the last full block of 16 are left to the caller."""
    M = H.shape[1]
    nblk = M // 16
    per = (nblk + 32 - 1) // 32
    n = t + 1
    part_r = np.zeros((32, n * 16))
    part_g = np.zeros((32, n * 16))
    part_x = np.zeros((32, 3))
    for c in range(32):
        lam = np.zeros(n * 16, dtype=H.dtype)
        acc = np.zeros(4 * 16, dtype=H.dtype)
        sd = np.zeros(16)
        pr = part_r[c]
        pg = part_g[c]
        for blk in range(c * per, min((c + 1) * per, nblk)):
            i0 = blk * 16
            for l in range(16):
                lam[t * 16 + l] = 1.0
            top = t
            while top >= 4:
                tb = top - 4
                micro_f64(RT, lam, tb + 1, top, t + 1, acc)
                for i in range(4 - 1, -1, -1):
                    tri_row_f64(RT, lam, H, i0, tb + i, top, acc, i)
                top = tb
            for tau in range(top - 1, -1, -1):
                full_row_f64(RT, lam, H, i0, tau, t)
            accumulate_f64(t, lam, H, G, i0, pr, pg)
            sx = 0.0
            sz = 0.0
            if spec:
                spec_dot_f64(t, lam, RS, sd)
                for l in range(16):
                    i = i0 + l
                    sx += H[t, i] * (B0[i] * lam[l] + dgS[i] * sd[l])
                    sz += G[t, i] * gS[i]
            part_x[c, 0] += sx
            part_x[c, 1] += sz
            s3 = 0.0
            for l in range(16):
                s3 += G[t, i0 + l] * z[i0 + l]
            part_x[c, 2] += s3
    for c in range(32):
        for tau in range(n):
            sr = 0.0
            sg = 0.0
            for l in range(16):
                sr += part_r[c, tau * 16 + l]
                sg += part_g[c, tau * 16 + l]
            out_r[tau] += sr
            out_g[tau] += sg
        out_r[n] += part_x[c, 0]
        out_g[n] += part_x[c, 1]
        out_g[n + 1] += part_x[c, 2]


@njit(fastmath=True, inline="always", cache=True)
def micro_f32(RT, lam, k0, s_lo, s_hi, acc):
    """acc[i, l] = sum over s_lo <= s < s_hi of RT[k0 + i, s] lam[s, l]  (4 x 32 register block)."""
    a0_0 = np.float32(0.0)
    a0_1 = np.float32(0.0)
    a0_2 = np.float32(0.0)
    a0_3 = np.float32(0.0)
    a0_4 = np.float32(0.0)
    a0_5 = np.float32(0.0)
    a0_6 = np.float32(0.0)
    a0_7 = np.float32(0.0)
    a0_8 = np.float32(0.0)
    a0_9 = np.float32(0.0)
    a0_10 = np.float32(0.0)
    a0_11 = np.float32(0.0)
    a0_12 = np.float32(0.0)
    a0_13 = np.float32(0.0)
    a0_14 = np.float32(0.0)
    a0_15 = np.float32(0.0)
    a0_16 = np.float32(0.0)
    a0_17 = np.float32(0.0)
    a0_18 = np.float32(0.0)
    a0_19 = np.float32(0.0)
    a0_20 = np.float32(0.0)
    a0_21 = np.float32(0.0)
    a0_22 = np.float32(0.0)
    a0_23 = np.float32(0.0)
    a0_24 = np.float32(0.0)
    a0_25 = np.float32(0.0)
    a0_26 = np.float32(0.0)
    a0_27 = np.float32(0.0)
    a0_28 = np.float32(0.0)
    a0_29 = np.float32(0.0)
    a0_30 = np.float32(0.0)
    a0_31 = np.float32(0.0)
    a1_0 = np.float32(0.0)
    a1_1 = np.float32(0.0)
    a1_2 = np.float32(0.0)
    a1_3 = np.float32(0.0)
    a1_4 = np.float32(0.0)
    a1_5 = np.float32(0.0)
    a1_6 = np.float32(0.0)
    a1_7 = np.float32(0.0)
    a1_8 = np.float32(0.0)
    a1_9 = np.float32(0.0)
    a1_10 = np.float32(0.0)
    a1_11 = np.float32(0.0)
    a1_12 = np.float32(0.0)
    a1_13 = np.float32(0.0)
    a1_14 = np.float32(0.0)
    a1_15 = np.float32(0.0)
    a1_16 = np.float32(0.0)
    a1_17 = np.float32(0.0)
    a1_18 = np.float32(0.0)
    a1_19 = np.float32(0.0)
    a1_20 = np.float32(0.0)
    a1_21 = np.float32(0.0)
    a1_22 = np.float32(0.0)
    a1_23 = np.float32(0.0)
    a1_24 = np.float32(0.0)
    a1_25 = np.float32(0.0)
    a1_26 = np.float32(0.0)
    a1_27 = np.float32(0.0)
    a1_28 = np.float32(0.0)
    a1_29 = np.float32(0.0)
    a1_30 = np.float32(0.0)
    a1_31 = np.float32(0.0)
    a2_0 = np.float32(0.0)
    a2_1 = np.float32(0.0)
    a2_2 = np.float32(0.0)
    a2_3 = np.float32(0.0)
    a2_4 = np.float32(0.0)
    a2_5 = np.float32(0.0)
    a2_6 = np.float32(0.0)
    a2_7 = np.float32(0.0)
    a2_8 = np.float32(0.0)
    a2_9 = np.float32(0.0)
    a2_10 = np.float32(0.0)
    a2_11 = np.float32(0.0)
    a2_12 = np.float32(0.0)
    a2_13 = np.float32(0.0)
    a2_14 = np.float32(0.0)
    a2_15 = np.float32(0.0)
    a2_16 = np.float32(0.0)
    a2_17 = np.float32(0.0)
    a2_18 = np.float32(0.0)
    a2_19 = np.float32(0.0)
    a2_20 = np.float32(0.0)
    a2_21 = np.float32(0.0)
    a2_22 = np.float32(0.0)
    a2_23 = np.float32(0.0)
    a2_24 = np.float32(0.0)
    a2_25 = np.float32(0.0)
    a2_26 = np.float32(0.0)
    a2_27 = np.float32(0.0)
    a2_28 = np.float32(0.0)
    a2_29 = np.float32(0.0)
    a2_30 = np.float32(0.0)
    a2_31 = np.float32(0.0)
    a3_0 = np.float32(0.0)
    a3_1 = np.float32(0.0)
    a3_2 = np.float32(0.0)
    a3_3 = np.float32(0.0)
    a3_4 = np.float32(0.0)
    a3_5 = np.float32(0.0)
    a3_6 = np.float32(0.0)
    a3_7 = np.float32(0.0)
    a3_8 = np.float32(0.0)
    a3_9 = np.float32(0.0)
    a3_10 = np.float32(0.0)
    a3_11 = np.float32(0.0)
    a3_12 = np.float32(0.0)
    a3_13 = np.float32(0.0)
    a3_14 = np.float32(0.0)
    a3_15 = np.float32(0.0)
    a3_16 = np.float32(0.0)
    a3_17 = np.float32(0.0)
    a3_18 = np.float32(0.0)
    a3_19 = np.float32(0.0)
    a3_20 = np.float32(0.0)
    a3_21 = np.float32(0.0)
    a3_22 = np.float32(0.0)
    a3_23 = np.float32(0.0)
    a3_24 = np.float32(0.0)
    a3_25 = np.float32(0.0)
    a3_26 = np.float32(0.0)
    a3_27 = np.float32(0.0)
    a3_28 = np.float32(0.0)
    a3_29 = np.float32(0.0)
    a3_30 = np.float32(0.0)
    a3_31 = np.float32(0.0)
    for s in range(s_lo, s_hi):
        r0 = RT[k0 + 0, s]
        r1 = RT[k0 + 1, s]
        r2 = RT[k0 + 2, s]
        r3 = RT[k0 + 3, s]
        x0 = lam[s * 32 + 0]
        x1 = lam[s * 32 + 1]
        x2 = lam[s * 32 + 2]
        x3 = lam[s * 32 + 3]
        x4 = lam[s * 32 + 4]
        x5 = lam[s * 32 + 5]
        x6 = lam[s * 32 + 6]
        x7 = lam[s * 32 + 7]
        x8 = lam[s * 32 + 8]
        x9 = lam[s * 32 + 9]
        x10 = lam[s * 32 + 10]
        x11 = lam[s * 32 + 11]
        x12 = lam[s * 32 + 12]
        x13 = lam[s * 32 + 13]
        x14 = lam[s * 32 + 14]
        x15 = lam[s * 32 + 15]
        x16 = lam[s * 32 + 16]
        x17 = lam[s * 32 + 17]
        x18 = lam[s * 32 + 18]
        x19 = lam[s * 32 + 19]
        x20 = lam[s * 32 + 20]
        x21 = lam[s * 32 + 21]
        x22 = lam[s * 32 + 22]
        x23 = lam[s * 32 + 23]
        x24 = lam[s * 32 + 24]
        x25 = lam[s * 32 + 25]
        x26 = lam[s * 32 + 26]
        x27 = lam[s * 32 + 27]
        x28 = lam[s * 32 + 28]
        x29 = lam[s * 32 + 29]
        x30 = lam[s * 32 + 30]
        x31 = lam[s * 32 + 31]
        a0_0 += r0 * x0
        a0_1 += r0 * x1
        a0_2 += r0 * x2
        a0_3 += r0 * x3
        a0_4 += r0 * x4
        a0_5 += r0 * x5
        a0_6 += r0 * x6
        a0_7 += r0 * x7
        a0_8 += r0 * x8
        a0_9 += r0 * x9
        a0_10 += r0 * x10
        a0_11 += r0 * x11
        a0_12 += r0 * x12
        a0_13 += r0 * x13
        a0_14 += r0 * x14
        a0_15 += r0 * x15
        a0_16 += r0 * x16
        a0_17 += r0 * x17
        a0_18 += r0 * x18
        a0_19 += r0 * x19
        a0_20 += r0 * x20
        a0_21 += r0 * x21
        a0_22 += r0 * x22
        a0_23 += r0 * x23
        a0_24 += r0 * x24
        a0_25 += r0 * x25
        a0_26 += r0 * x26
        a0_27 += r0 * x27
        a0_28 += r0 * x28
        a0_29 += r0 * x29
        a0_30 += r0 * x30
        a0_31 += r0 * x31
        a1_0 += r1 * x0
        a1_1 += r1 * x1
        a1_2 += r1 * x2
        a1_3 += r1 * x3
        a1_4 += r1 * x4
        a1_5 += r1 * x5
        a1_6 += r1 * x6
        a1_7 += r1 * x7
        a1_8 += r1 * x8
        a1_9 += r1 * x9
        a1_10 += r1 * x10
        a1_11 += r1 * x11
        a1_12 += r1 * x12
        a1_13 += r1 * x13
        a1_14 += r1 * x14
        a1_15 += r1 * x15
        a1_16 += r1 * x16
        a1_17 += r1 * x17
        a1_18 += r1 * x18
        a1_19 += r1 * x19
        a1_20 += r1 * x20
        a1_21 += r1 * x21
        a1_22 += r1 * x22
        a1_23 += r1 * x23
        a1_24 += r1 * x24
        a1_25 += r1 * x25
        a1_26 += r1 * x26
        a1_27 += r1 * x27
        a1_28 += r1 * x28
        a1_29 += r1 * x29
        a1_30 += r1 * x30
        a1_31 += r1 * x31
        a2_0 += r2 * x0
        a2_1 += r2 * x1
        a2_2 += r2 * x2
        a2_3 += r2 * x3
        a2_4 += r2 * x4
        a2_5 += r2 * x5
        a2_6 += r2 * x6
        a2_7 += r2 * x7
        a2_8 += r2 * x8
        a2_9 += r2 * x9
        a2_10 += r2 * x10
        a2_11 += r2 * x11
        a2_12 += r2 * x12
        a2_13 += r2 * x13
        a2_14 += r2 * x14
        a2_15 += r2 * x15
        a2_16 += r2 * x16
        a2_17 += r2 * x17
        a2_18 += r2 * x18
        a2_19 += r2 * x19
        a2_20 += r2 * x20
        a2_21 += r2 * x21
        a2_22 += r2 * x22
        a2_23 += r2 * x23
        a2_24 += r2 * x24
        a2_25 += r2 * x25
        a2_26 += r2 * x26
        a2_27 += r2 * x27
        a2_28 += r2 * x28
        a2_29 += r2 * x29
        a2_30 += r2 * x30
        a2_31 += r2 * x31
        a3_0 += r3 * x0
        a3_1 += r3 * x1
        a3_2 += r3 * x2
        a3_3 += r3 * x3
        a3_4 += r3 * x4
        a3_5 += r3 * x5
        a3_6 += r3 * x6
        a3_7 += r3 * x7
        a3_8 += r3 * x8
        a3_9 += r3 * x9
        a3_10 += r3 * x10
        a3_11 += r3 * x11
        a3_12 += r3 * x12
        a3_13 += r3 * x13
        a3_14 += r3 * x14
        a3_15 += r3 * x15
        a3_16 += r3 * x16
        a3_17 += r3 * x17
        a3_18 += r3 * x18
        a3_19 += r3 * x19
        a3_20 += r3 * x20
        a3_21 += r3 * x21
        a3_22 += r3 * x22
        a3_23 += r3 * x23
        a3_24 += r3 * x24
        a3_25 += r3 * x25
        a3_26 += r3 * x26
        a3_27 += r3 * x27
        a3_28 += r3 * x28
        a3_29 += r3 * x29
        a3_30 += r3 * x30
        a3_31 += r3 * x31
    acc[0] = a0_0
    acc[1] = a0_1
    acc[2] = a0_2
    acc[3] = a0_3
    acc[4] = a0_4
    acc[5] = a0_5
    acc[6] = a0_6
    acc[7] = a0_7
    acc[8] = a0_8
    acc[9] = a0_9
    acc[10] = a0_10
    acc[11] = a0_11
    acc[12] = a0_12
    acc[13] = a0_13
    acc[14] = a0_14
    acc[15] = a0_15
    acc[16] = a0_16
    acc[17] = a0_17
    acc[18] = a0_18
    acc[19] = a0_19
    acc[20] = a0_20
    acc[21] = a0_21
    acc[22] = a0_22
    acc[23] = a0_23
    acc[24] = a0_24
    acc[25] = a0_25
    acc[26] = a0_26
    acc[27] = a0_27
    acc[28] = a0_28
    acc[29] = a0_29
    acc[30] = a0_30
    acc[31] = a0_31
    acc[32] = a1_0
    acc[33] = a1_1
    acc[34] = a1_2
    acc[35] = a1_3
    acc[36] = a1_4
    acc[37] = a1_5
    acc[38] = a1_6
    acc[39] = a1_7
    acc[40] = a1_8
    acc[41] = a1_9
    acc[42] = a1_10
    acc[43] = a1_11
    acc[44] = a1_12
    acc[45] = a1_13
    acc[46] = a1_14
    acc[47] = a1_15
    acc[48] = a1_16
    acc[49] = a1_17
    acc[50] = a1_18
    acc[51] = a1_19
    acc[52] = a1_20
    acc[53] = a1_21
    acc[54] = a1_22
    acc[55] = a1_23
    acc[56] = a1_24
    acc[57] = a1_25
    acc[58] = a1_26
    acc[59] = a1_27
    acc[60] = a1_28
    acc[61] = a1_29
    acc[62] = a1_30
    acc[63] = a1_31
    acc[64] = a2_0
    acc[65] = a2_1
    acc[66] = a2_2
    acc[67] = a2_3
    acc[68] = a2_4
    acc[69] = a2_5
    acc[70] = a2_6
    acc[71] = a2_7
    acc[72] = a2_8
    acc[73] = a2_9
    acc[74] = a2_10
    acc[75] = a2_11
    acc[76] = a2_12
    acc[77] = a2_13
    acc[78] = a2_14
    acc[79] = a2_15
    acc[80] = a2_16
    acc[81] = a2_17
    acc[82] = a2_18
    acc[83] = a2_19
    acc[84] = a2_20
    acc[85] = a2_21
    acc[86] = a2_22
    acc[87] = a2_23
    acc[88] = a2_24
    acc[89] = a2_25
    acc[90] = a2_26
    acc[91] = a2_27
    acc[92] = a2_28
    acc[93] = a2_29
    acc[94] = a2_30
    acc[95] = a2_31
    acc[96] = a3_0
    acc[97] = a3_1
    acc[98] = a3_2
    acc[99] = a3_3
    acc[100] = a3_4
    acc[101] = a3_5
    acc[102] = a3_6
    acc[103] = a3_7
    acc[104] = a3_8
    acc[105] = a3_9
    acc[106] = a3_10
    acc[107] = a3_11
    acc[108] = a3_12
    acc[109] = a3_13
    acc[110] = a3_14
    acc[111] = a3_15
    acc[112] = a3_16
    acc[113] = a3_17
    acc[114] = a3_18
    acc[115] = a3_19
    acc[116] = a3_20
    acc[117] = a3_21
    acc[118] = a3_22
    acc[119] = a3_23
    acc[120] = a3_24
    acc[121] = a3_25
    acc[122] = a3_26
    acc[123] = a3_27
    acc[124] = a3_28
    acc[125] = a3_29
    acc[126] = a3_30
    acc[127] = a3_31


@njit(fastmath=True, inline="always", cache=True)
def tri_row_f32(RT, lam, H, i0, tau, top, acc, i):
    """lam[tau, l] = H[tau, i0 + l] (acc[i, l] + sum over tau < s < top of RT[tau + 1, s] lam[s, l])."""
    a0 = acc[i * 32 + 0]
    a1 = acc[i * 32 + 1]
    a2 = acc[i * 32 + 2]
    a3 = acc[i * 32 + 3]
    a4 = acc[i * 32 + 4]
    a5 = acc[i * 32 + 5]
    a6 = acc[i * 32 + 6]
    a7 = acc[i * 32 + 7]
    a8 = acc[i * 32 + 8]
    a9 = acc[i * 32 + 9]
    a10 = acc[i * 32 + 10]
    a11 = acc[i * 32 + 11]
    a12 = acc[i * 32 + 12]
    a13 = acc[i * 32 + 13]
    a14 = acc[i * 32 + 14]
    a15 = acc[i * 32 + 15]
    a16 = acc[i * 32 + 16]
    a17 = acc[i * 32 + 17]
    a18 = acc[i * 32 + 18]
    a19 = acc[i * 32 + 19]
    a20 = acc[i * 32 + 20]
    a21 = acc[i * 32 + 21]
    a22 = acc[i * 32 + 22]
    a23 = acc[i * 32 + 23]
    a24 = acc[i * 32 + 24]
    a25 = acc[i * 32 + 25]
    a26 = acc[i * 32 + 26]
    a27 = acc[i * 32 + 27]
    a28 = acc[i * 32 + 28]
    a29 = acc[i * 32 + 29]
    a30 = acc[i * 32 + 30]
    a31 = acc[i * 32 + 31]
    for s in range(tau + 1, top):
        r = RT[tau + 1, s]
        a0 += r * lam[s * 32 + 0]
        a1 += r * lam[s * 32 + 1]
        a2 += r * lam[s * 32 + 2]
        a3 += r * lam[s * 32 + 3]
        a4 += r * lam[s * 32 + 4]
        a5 += r * lam[s * 32 + 5]
        a6 += r * lam[s * 32 + 6]
        a7 += r * lam[s * 32 + 7]
        a8 += r * lam[s * 32 + 8]
        a9 += r * lam[s * 32 + 9]
        a10 += r * lam[s * 32 + 10]
        a11 += r * lam[s * 32 + 11]
        a12 += r * lam[s * 32 + 12]
        a13 += r * lam[s * 32 + 13]
        a14 += r * lam[s * 32 + 14]
        a15 += r * lam[s * 32 + 15]
        a16 += r * lam[s * 32 + 16]
        a17 += r * lam[s * 32 + 17]
        a18 += r * lam[s * 32 + 18]
        a19 += r * lam[s * 32 + 19]
        a20 += r * lam[s * 32 + 20]
        a21 += r * lam[s * 32 + 21]
        a22 += r * lam[s * 32 + 22]
        a23 += r * lam[s * 32 + 23]
        a24 += r * lam[s * 32 + 24]
        a25 += r * lam[s * 32 + 25]
        a26 += r * lam[s * 32 + 26]
        a27 += r * lam[s * 32 + 27]
        a28 += r * lam[s * 32 + 28]
        a29 += r * lam[s * 32 + 29]
        a30 += r * lam[s * 32 + 30]
        a31 += r * lam[s * 32 + 31]
    lam[tau * 32 + 0] = H[tau, i0 + 0] * a0
    lam[tau * 32 + 1] = H[tau, i0 + 1] * a1
    lam[tau * 32 + 2] = H[tau, i0 + 2] * a2
    lam[tau * 32 + 3] = H[tau, i0 + 3] * a3
    lam[tau * 32 + 4] = H[tau, i0 + 4] * a4
    lam[tau * 32 + 5] = H[tau, i0 + 5] * a5
    lam[tau * 32 + 6] = H[tau, i0 + 6] * a6
    lam[tau * 32 + 7] = H[tau, i0 + 7] * a7
    lam[tau * 32 + 8] = H[tau, i0 + 8] * a8
    lam[tau * 32 + 9] = H[tau, i0 + 9] * a9
    lam[tau * 32 + 10] = H[tau, i0 + 10] * a10
    lam[tau * 32 + 11] = H[tau, i0 + 11] * a11
    lam[tau * 32 + 12] = H[tau, i0 + 12] * a12
    lam[tau * 32 + 13] = H[tau, i0 + 13] * a13
    lam[tau * 32 + 14] = H[tau, i0 + 14] * a14
    lam[tau * 32 + 15] = H[tau, i0 + 15] * a15
    lam[tau * 32 + 16] = H[tau, i0 + 16] * a16
    lam[tau * 32 + 17] = H[tau, i0 + 17] * a17
    lam[tau * 32 + 18] = H[tau, i0 + 18] * a18
    lam[tau * 32 + 19] = H[tau, i0 + 19] * a19
    lam[tau * 32 + 20] = H[tau, i0 + 20] * a20
    lam[tau * 32 + 21] = H[tau, i0 + 21] * a21
    lam[tau * 32 + 22] = H[tau, i0 + 22] * a22
    lam[tau * 32 + 23] = H[tau, i0 + 23] * a23
    lam[tau * 32 + 24] = H[tau, i0 + 24] * a24
    lam[tau * 32 + 25] = H[tau, i0 + 25] * a25
    lam[tau * 32 + 26] = H[tau, i0 + 26] * a26
    lam[tau * 32 + 27] = H[tau, i0 + 27] * a27
    lam[tau * 32 + 28] = H[tau, i0 + 28] * a28
    lam[tau * 32 + 29] = H[tau, i0 + 29] * a29
    lam[tau * 32 + 30] = H[tau, i0 + 30] * a30
    lam[tau * 32 + 31] = H[tau, i0 + 31] * a31


@njit(fastmath=True, inline="always", cache=True)
def full_row_f32(RT, lam, H, i0, tau, t):
    """lam[tau, l] = H[tau, i0 + l] sum over tau < s <= t of RT[tau + 1, s] lam[s, l]."""
    a0 = np.float32(0.0)
    a1 = np.float32(0.0)
    a2 = np.float32(0.0)
    a3 = np.float32(0.0)
    a4 = np.float32(0.0)
    a5 = np.float32(0.0)
    a6 = np.float32(0.0)
    a7 = np.float32(0.0)
    a8 = np.float32(0.0)
    a9 = np.float32(0.0)
    a10 = np.float32(0.0)
    a11 = np.float32(0.0)
    a12 = np.float32(0.0)
    a13 = np.float32(0.0)
    a14 = np.float32(0.0)
    a15 = np.float32(0.0)
    a16 = np.float32(0.0)
    a17 = np.float32(0.0)
    a18 = np.float32(0.0)
    a19 = np.float32(0.0)
    a20 = np.float32(0.0)
    a21 = np.float32(0.0)
    a22 = np.float32(0.0)
    a23 = np.float32(0.0)
    a24 = np.float32(0.0)
    a25 = np.float32(0.0)
    a26 = np.float32(0.0)
    a27 = np.float32(0.0)
    a28 = np.float32(0.0)
    a29 = np.float32(0.0)
    a30 = np.float32(0.0)
    a31 = np.float32(0.0)
    for s in range(tau + 1, t + 1):
        r = RT[tau + 1, s]
        a0 += r * lam[s * 32 + 0]
        a1 += r * lam[s * 32 + 1]
        a2 += r * lam[s * 32 + 2]
        a3 += r * lam[s * 32 + 3]
        a4 += r * lam[s * 32 + 4]
        a5 += r * lam[s * 32 + 5]
        a6 += r * lam[s * 32 + 6]
        a7 += r * lam[s * 32 + 7]
        a8 += r * lam[s * 32 + 8]
        a9 += r * lam[s * 32 + 9]
        a10 += r * lam[s * 32 + 10]
        a11 += r * lam[s * 32 + 11]
        a12 += r * lam[s * 32 + 12]
        a13 += r * lam[s * 32 + 13]
        a14 += r * lam[s * 32 + 14]
        a15 += r * lam[s * 32 + 15]
        a16 += r * lam[s * 32 + 16]
        a17 += r * lam[s * 32 + 17]
        a18 += r * lam[s * 32 + 18]
        a19 += r * lam[s * 32 + 19]
        a20 += r * lam[s * 32 + 20]
        a21 += r * lam[s * 32 + 21]
        a22 += r * lam[s * 32 + 22]
        a23 += r * lam[s * 32 + 23]
        a24 += r * lam[s * 32 + 24]
        a25 += r * lam[s * 32 + 25]
        a26 += r * lam[s * 32 + 26]
        a27 += r * lam[s * 32 + 27]
        a28 += r * lam[s * 32 + 28]
        a29 += r * lam[s * 32 + 29]
        a30 += r * lam[s * 32 + 30]
        a31 += r * lam[s * 32 + 31]
    lam[tau * 32 + 0] = H[tau, i0 + 0] * a0
    lam[tau * 32 + 1] = H[tau, i0 + 1] * a1
    lam[tau * 32 + 2] = H[tau, i0 + 2] * a2
    lam[tau * 32 + 3] = H[tau, i0 + 3] * a3
    lam[tau * 32 + 4] = H[tau, i0 + 4] * a4
    lam[tau * 32 + 5] = H[tau, i0 + 5] * a5
    lam[tau * 32 + 6] = H[tau, i0 + 6] * a6
    lam[tau * 32 + 7] = H[tau, i0 + 7] * a7
    lam[tau * 32 + 8] = H[tau, i0 + 8] * a8
    lam[tau * 32 + 9] = H[tau, i0 + 9] * a9
    lam[tau * 32 + 10] = H[tau, i0 + 10] * a10
    lam[tau * 32 + 11] = H[tau, i0 + 11] * a11
    lam[tau * 32 + 12] = H[tau, i0 + 12] * a12
    lam[tau * 32 + 13] = H[tau, i0 + 13] * a13
    lam[tau * 32 + 14] = H[tau, i0 + 14] * a14
    lam[tau * 32 + 15] = H[tau, i0 + 15] * a15
    lam[tau * 32 + 16] = H[tau, i0 + 16] * a16
    lam[tau * 32 + 17] = H[tau, i0 + 17] * a17
    lam[tau * 32 + 18] = H[tau, i0 + 18] * a18
    lam[tau * 32 + 19] = H[tau, i0 + 19] * a19
    lam[tau * 32 + 20] = H[tau, i0 + 20] * a20
    lam[tau * 32 + 21] = H[tau, i0 + 21] * a21
    lam[tau * 32 + 22] = H[tau, i0 + 22] * a22
    lam[tau * 32 + 23] = H[tau, i0 + 23] * a23
    lam[tau * 32 + 24] = H[tau, i0 + 24] * a24
    lam[tau * 32 + 25] = H[tau, i0 + 25] * a25
    lam[tau * 32 + 26] = H[tau, i0 + 26] * a26
    lam[tau * 32 + 27] = H[tau, i0 + 27] * a27
    lam[tau * 32 + 28] = H[tau, i0 + 28] * a28
    lam[tau * 32 + 29] = H[tau, i0 + 29] * a29
    lam[tau * 32 + 30] = H[tau, i0 + 30] * a30
    lam[tau * 32 + 31] = H[tau, i0 + 31] * a31


@njit(fastmath=True, inline="always", cache=True)
def accumulate_f32(t, lam, H, G, i0, pr, pg):
    """pr[tau, l] += H[t, i0 + l] lam[tau, l];  pg[tau, l] += G[t, i0 + l] G[tau, i0 + l]  (float64)."""
    h0 = np.float64(H[t, i0 + 0])
    g0 = np.float64(G[t, i0 + 0])
    h1 = np.float64(H[t, i0 + 1])
    g1 = np.float64(G[t, i0 + 1])
    h2 = np.float64(H[t, i0 + 2])
    g2 = np.float64(G[t, i0 + 2])
    h3 = np.float64(H[t, i0 + 3])
    g3 = np.float64(G[t, i0 + 3])
    h4 = np.float64(H[t, i0 + 4])
    g4 = np.float64(G[t, i0 + 4])
    h5 = np.float64(H[t, i0 + 5])
    g5 = np.float64(G[t, i0 + 5])
    h6 = np.float64(H[t, i0 + 6])
    g6 = np.float64(G[t, i0 + 6])
    h7 = np.float64(H[t, i0 + 7])
    g7 = np.float64(G[t, i0 + 7])
    h8 = np.float64(H[t, i0 + 8])
    g8 = np.float64(G[t, i0 + 8])
    h9 = np.float64(H[t, i0 + 9])
    g9 = np.float64(G[t, i0 + 9])
    h10 = np.float64(H[t, i0 + 10])
    g10 = np.float64(G[t, i0 + 10])
    h11 = np.float64(H[t, i0 + 11])
    g11 = np.float64(G[t, i0 + 11])
    h12 = np.float64(H[t, i0 + 12])
    g12 = np.float64(G[t, i0 + 12])
    h13 = np.float64(H[t, i0 + 13])
    g13 = np.float64(G[t, i0 + 13])
    h14 = np.float64(H[t, i0 + 14])
    g14 = np.float64(G[t, i0 + 14])
    h15 = np.float64(H[t, i0 + 15])
    g15 = np.float64(G[t, i0 + 15])
    h16 = np.float64(H[t, i0 + 16])
    g16 = np.float64(G[t, i0 + 16])
    h17 = np.float64(H[t, i0 + 17])
    g17 = np.float64(G[t, i0 + 17])
    h18 = np.float64(H[t, i0 + 18])
    g18 = np.float64(G[t, i0 + 18])
    h19 = np.float64(H[t, i0 + 19])
    g19 = np.float64(G[t, i0 + 19])
    h20 = np.float64(H[t, i0 + 20])
    g20 = np.float64(G[t, i0 + 20])
    h21 = np.float64(H[t, i0 + 21])
    g21 = np.float64(G[t, i0 + 21])
    h22 = np.float64(H[t, i0 + 22])
    g22 = np.float64(G[t, i0 + 22])
    h23 = np.float64(H[t, i0 + 23])
    g23 = np.float64(G[t, i0 + 23])
    h24 = np.float64(H[t, i0 + 24])
    g24 = np.float64(G[t, i0 + 24])
    h25 = np.float64(H[t, i0 + 25])
    g25 = np.float64(G[t, i0 + 25])
    h26 = np.float64(H[t, i0 + 26])
    g26 = np.float64(G[t, i0 + 26])
    h27 = np.float64(H[t, i0 + 27])
    g27 = np.float64(G[t, i0 + 27])
    h28 = np.float64(H[t, i0 + 28])
    g28 = np.float64(G[t, i0 + 28])
    h29 = np.float64(H[t, i0 + 29])
    g29 = np.float64(G[t, i0 + 29])
    h30 = np.float64(H[t, i0 + 30])
    g30 = np.float64(G[t, i0 + 30])
    h31 = np.float64(H[t, i0 + 31])
    g31 = np.float64(G[t, i0 + 31])
    for tau in range(t + 1):
        pr[tau * 32 + 0] += h0 * lam[tau * 32 + 0]
        pg[tau * 32 + 0] += g0 * G[tau, i0 + 0]
        pr[tau * 32 + 1] += h1 * lam[tau * 32 + 1]
        pg[tau * 32 + 1] += g1 * G[tau, i0 + 1]
        pr[tau * 32 + 2] += h2 * lam[tau * 32 + 2]
        pg[tau * 32 + 2] += g2 * G[tau, i0 + 2]
        pr[tau * 32 + 3] += h3 * lam[tau * 32 + 3]
        pg[tau * 32 + 3] += g3 * G[tau, i0 + 3]
        pr[tau * 32 + 4] += h4 * lam[tau * 32 + 4]
        pg[tau * 32 + 4] += g4 * G[tau, i0 + 4]
        pr[tau * 32 + 5] += h5 * lam[tau * 32 + 5]
        pg[tau * 32 + 5] += g5 * G[tau, i0 + 5]
        pr[tau * 32 + 6] += h6 * lam[tau * 32 + 6]
        pg[tau * 32 + 6] += g6 * G[tau, i0 + 6]
        pr[tau * 32 + 7] += h7 * lam[tau * 32 + 7]
        pg[tau * 32 + 7] += g7 * G[tau, i0 + 7]
        pr[tau * 32 + 8] += h8 * lam[tau * 32 + 8]
        pg[tau * 32 + 8] += g8 * G[tau, i0 + 8]
        pr[tau * 32 + 9] += h9 * lam[tau * 32 + 9]
        pg[tau * 32 + 9] += g9 * G[tau, i0 + 9]
        pr[tau * 32 + 10] += h10 * lam[tau * 32 + 10]
        pg[tau * 32 + 10] += g10 * G[tau, i0 + 10]
        pr[tau * 32 + 11] += h11 * lam[tau * 32 + 11]
        pg[tau * 32 + 11] += g11 * G[tau, i0 + 11]
        pr[tau * 32 + 12] += h12 * lam[tau * 32 + 12]
        pg[tau * 32 + 12] += g12 * G[tau, i0 + 12]
        pr[tau * 32 + 13] += h13 * lam[tau * 32 + 13]
        pg[tau * 32 + 13] += g13 * G[tau, i0 + 13]
        pr[tau * 32 + 14] += h14 * lam[tau * 32 + 14]
        pg[tau * 32 + 14] += g14 * G[tau, i0 + 14]
        pr[tau * 32 + 15] += h15 * lam[tau * 32 + 15]
        pg[tau * 32 + 15] += g15 * G[tau, i0 + 15]
        pr[tau * 32 + 16] += h16 * lam[tau * 32 + 16]
        pg[tau * 32 + 16] += g16 * G[tau, i0 + 16]
        pr[tau * 32 + 17] += h17 * lam[tau * 32 + 17]
        pg[tau * 32 + 17] += g17 * G[tau, i0 + 17]
        pr[tau * 32 + 18] += h18 * lam[tau * 32 + 18]
        pg[tau * 32 + 18] += g18 * G[tau, i0 + 18]
        pr[tau * 32 + 19] += h19 * lam[tau * 32 + 19]
        pg[tau * 32 + 19] += g19 * G[tau, i0 + 19]
        pr[tau * 32 + 20] += h20 * lam[tau * 32 + 20]
        pg[tau * 32 + 20] += g20 * G[tau, i0 + 20]
        pr[tau * 32 + 21] += h21 * lam[tau * 32 + 21]
        pg[tau * 32 + 21] += g21 * G[tau, i0 + 21]
        pr[tau * 32 + 22] += h22 * lam[tau * 32 + 22]
        pg[tau * 32 + 22] += g22 * G[tau, i0 + 22]
        pr[tau * 32 + 23] += h23 * lam[tau * 32 + 23]
        pg[tau * 32 + 23] += g23 * G[tau, i0 + 23]
        pr[tau * 32 + 24] += h24 * lam[tau * 32 + 24]
        pg[tau * 32 + 24] += g24 * G[tau, i0 + 24]
        pr[tau * 32 + 25] += h25 * lam[tau * 32 + 25]
        pg[tau * 32 + 25] += g25 * G[tau, i0 + 25]
        pr[tau * 32 + 26] += h26 * lam[tau * 32 + 26]
        pg[tau * 32 + 26] += g26 * G[tau, i0 + 26]
        pr[tau * 32 + 27] += h27 * lam[tau * 32 + 27]
        pg[tau * 32 + 27] += g27 * G[tau, i0 + 27]
        pr[tau * 32 + 28] += h28 * lam[tau * 32 + 28]
        pg[tau * 32 + 28] += g28 * G[tau, i0 + 28]
        pr[tau * 32 + 29] += h29 * lam[tau * 32 + 29]
        pg[tau * 32 + 29] += g29 * G[tau, i0 + 29]
        pr[tau * 32 + 30] += h30 * lam[tau * 32 + 30]
        pg[tau * 32 + 30] += g30 * G[tau, i0 + 30]
        pr[tau * 32 + 31] += h31 * lam[tau * 32 + 31]
        pg[tau * 32 + 31] += g31 * G[tau, i0 + 31]


@njit(fastmath=True, inline="always", cache=True)
def spec_dot_f32(t, lam, RS, out):
    """out[l] = sum over 1 <= tau <= t of RS[tau] lam[tau, l]  (float64)."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    a4 = 0.0
    a5 = 0.0
    a6 = 0.0
    a7 = 0.0
    a8 = 0.0
    a9 = 0.0
    a10 = 0.0
    a11 = 0.0
    a12 = 0.0
    a13 = 0.0
    a14 = 0.0
    a15 = 0.0
    a16 = 0.0
    a17 = 0.0
    a18 = 0.0
    a19 = 0.0
    a20 = 0.0
    a21 = 0.0
    a22 = 0.0
    a23 = 0.0
    a24 = 0.0
    a25 = 0.0
    a26 = 0.0
    a27 = 0.0
    a28 = 0.0
    a29 = 0.0
    a30 = 0.0
    a31 = 0.0
    for tau in range(1, t + 1):
        r = RS[tau]
        a0 += r * lam[tau * 32 + 0]
        a1 += r * lam[tau * 32 + 1]
        a2 += r * lam[tau * 32 + 2]
        a3 += r * lam[tau * 32 + 3]
        a4 += r * lam[tau * 32 + 4]
        a5 += r * lam[tau * 32 + 5]
        a6 += r * lam[tau * 32 + 6]
        a7 += r * lam[tau * 32 + 7]
        a8 += r * lam[tau * 32 + 8]
        a9 += r * lam[tau * 32 + 9]
        a10 += r * lam[tau * 32 + 10]
        a11 += r * lam[tau * 32 + 11]
        a12 += r * lam[tau * 32 + 12]
        a13 += r * lam[tau * 32 + 13]
        a14 += r * lam[tau * 32 + 14]
        a15 += r * lam[tau * 32 + 15]
        a16 += r * lam[tau * 32 + 16]
        a17 += r * lam[tau * 32 + 17]
        a18 += r * lam[tau * 32 + 18]
        a19 += r * lam[tau * 32 + 19]
        a20 += r * lam[tau * 32 + 20]
        a21 += r * lam[tau * 32 + 21]
        a22 += r * lam[tau * 32 + 22]
        a23 += r * lam[tau * 32 + 23]
        a24 += r * lam[tau * 32 + 24]
        a25 += r * lam[tau * 32 + 25]
        a26 += r * lam[tau * 32 + 26]
        a27 += r * lam[tau * 32 + 27]
        a28 += r * lam[tau * 32 + 28]
        a29 += r * lam[tau * 32 + 29]
        a30 += r * lam[tau * 32 + 30]
        a31 += r * lam[tau * 32 + 31]
    out[0] = a0
    out[1] = a1
    out[2] = a2
    out[3] = a3
    out[4] = a4
    out[5] = a5
    out[6] = a6
    out[7] = a7
    out[8] = a8
    out[9] = a9
    out[10] = a10
    out[11] = a11
    out[12] = a12
    out[13] = a13
    out[14] = a14
    out[15] = a15
    out[16] = a16
    out[17] = a17
    out[18] = a18
    out[19] = a19
    out[20] = a20
    out[21] = a21
    out[22] = a22
    out[23] = a23
    out[24] = a24
    out[25] = a25
    out[26] = a26
    out[27] = a27
    out[28] = a28
    out[29] = a29
    out[30] = a30
    out[31] = a31


@njit(parallel=True, fastmath=True, cache=True)
def responses_f32(t, H, G, RT, spec, RS, dgS, B0, gS, z, out_r, out_g):
    """Reverse sweep + Gram row for all paths in blocks of 32 lanes (sums in float64).

    out_r[tau] += sum_i h_t lambda_tau (tau = 0..t); out_r[t+1] += sum_i h_t dr^t/dw^S (spectral);
    out_g[tau] += sum_i g_t g_tau; out_g[t+1] += sum_i g_t g^S; out_g[t+2] += sum_i g_t z.
    Paths after the last full block of 32 are left to the caller."""
    M = H.shape[1]
    nblk = M // 32
    per = (nblk + 32 - 1) // 32
    n = t + 1
    part_r = np.zeros((32, n * 32))
    part_g = np.zeros((32, n * 32))
    part_x = np.zeros((32, 3))
    for c in prange(32):
        lam = np.zeros(n * 32, dtype=H.dtype)
        acc = np.zeros(4 * 32, dtype=H.dtype)
        sd = np.zeros(32)
        pr = part_r[c]
        pg = part_g[c]
        for blk in range(c * per, min((c + 1) * per, nblk)):
            i0 = blk * 32
            for l in range(32):
                lam[t * 32 + l] = 1.0
            top = t
            while top >= 4:
                tb = top - 4
                micro_f32(RT, lam, tb + 1, top, t + 1, acc)
                for i in range(4 - 1, -1, -1):
                    tri_row_f32(RT, lam, H, i0, tb + i, top, acc, i)
                top = tb
            for tau in range(top - 1, -1, -1):
                full_row_f32(RT, lam, H, i0, tau, t)
            accumulate_f32(t, lam, H, G, i0, pr, pg)
            sx = 0.0
            sz = 0.0
            if spec:
                spec_dot_f32(t, lam, RS, sd)
                for l in range(32):
                    i = i0 + l
                    sx += H[t, i] * (B0[i] * lam[l] + dgS[i] * sd[l])
                    sz += G[t, i] * gS[i]
            part_x[c, 0] += sx
            part_x[c, 1] += sz
            s3 = 0.0
            for l in range(32):
                s3 += G[t, i0 + l] * z[i0 + l]
            part_x[c, 2] += s3
    for c in range(32):
        for tau in range(n):
            sr = 0.0
            sg = 0.0
            for l in range(32):
                sr += part_r[c, tau * 32 + l]
                sg += part_g[c, tau * 32 + l]
            out_r[tau] += sr
            out_g[tau] += sg
        out_r[n] += part_x[c, 0]
        out_g[n] += part_x[c, 1]
        out_g[n + 1] += part_x[c, 2]


@njit(nogil=True, fastmath=True, cache=True)
def responses_f32_serial(t, H, G, RT, spec, RS, dgS, B0, gS, z, out_r, out_g):
    """Reverse sweep + Gram row for all paths in blocks of 32 lanes (sums in float64).

    out_r[tau] += sum_i h_t lambda_tau (tau = 0..t); out_r[t+1] += sum_i h_t dr^t/dw^S (spectral);
    out_g[tau] += sum_i g_t g_tau; out_g[t+1] += sum_i g_t g^S; out_g[t+2] += sum_i g_t z.
    Paths after the last full block of 32 are left to the caller."""
    M = H.shape[1]
    nblk = M // 32
    per = (nblk + 32 - 1) // 32
    n = t + 1
    part_r = np.zeros((32, n * 32))
    part_g = np.zeros((32, n * 32))
    part_x = np.zeros((32, 3))
    for c in range(32):
        lam = np.zeros(n * 32, dtype=H.dtype)
        acc = np.zeros(4 * 32, dtype=H.dtype)
        sd = np.zeros(32)
        pr = part_r[c]
        pg = part_g[c]
        for blk in range(c * per, min((c + 1) * per, nblk)):
            i0 = blk * 32
            for l in range(32):
                lam[t * 32 + l] = 1.0
            top = t
            while top >= 4:
                tb = top - 4
                micro_f32(RT, lam, tb + 1, top, t + 1, acc)
                for i in range(4 - 1, -1, -1):
                    tri_row_f32(RT, lam, H, i0, tb + i, top, acc, i)
                top = tb
            for tau in range(top - 1, -1, -1):
                full_row_f32(RT, lam, H, i0, tau, t)
            accumulate_f32(t, lam, H, G, i0, pr, pg)
            sx = 0.0
            sz = 0.0
            if spec:
                spec_dot_f32(t, lam, RS, sd)
                for l in range(32):
                    i = i0 + l
                    sx += H[t, i] * (B0[i] * lam[l] + dgS[i] * sd[l])
                    sz += G[t, i] * gS[i]
            part_x[c, 0] += sx
            part_x[c, 1] += sz
            s3 = 0.0
            for l in range(32):
                s3 += G[t, i0 + l] * z[i0 + l]
            part_x[c, 2] += s3
    for c in range(32):
        for tau in range(n):
            sr = 0.0
            sg = 0.0
            for l in range(32):
                sr += part_r[c, tau * 32 + l]
                sg += part_g[c, tau * 32 + l]
            out_r[tau] += sr
            out_g[tau] += sg
        out_r[n] += part_x[c, 0]
        out_g[n] += part_x[c, 1]
        out_g[n + 1] += part_x[c, 2]


@njit(fastmath=True, inline="always", cache=True)
def complex_row_f64(RT, N, acc, A, Br, Bi, tau, lo, top, full, l0):
    """N[c, tau * L + l] = component c of nu_tau = (X0, X1) D_tau on the lanes l0..l0 + L (see the generator)."""
    if full:
        p0_0 = acc[0, (tau - lo) * 16 + 0]
        p0_1 = acc[0, (tau - lo) * 16 + 1]
        p0_2 = acc[0, (tau - lo) * 16 + 2]
        p0_3 = acc[0, (tau - lo) * 16 + 3]
        p0_4 = acc[0, (tau - lo) * 16 + 4]
        p0_5 = acc[0, (tau - lo) * 16 + 5]
        p0_6 = acc[0, (tau - lo) * 16 + 6]
        p0_7 = acc[0, (tau - lo) * 16 + 7]
        p0_8 = acc[0, (tau - lo) * 16 + 8]
        p0_9 = acc[0, (tau - lo) * 16 + 9]
        p0_10 = acc[0, (tau - lo) * 16 + 10]
        p0_11 = acc[0, (tau - lo) * 16 + 11]
        p0_12 = acc[0, (tau - lo) * 16 + 12]
        p0_13 = acc[0, (tau - lo) * 16 + 13]
        p0_14 = acc[0, (tau - lo) * 16 + 14]
        p0_15 = acc[0, (tau - lo) * 16 + 15]
        p1_0 = acc[1, (tau - lo) * 16 + 0]
        p1_1 = acc[1, (tau - lo) * 16 + 1]
        p1_2 = acc[1, (tau - lo) * 16 + 2]
        p1_3 = acc[1, (tau - lo) * 16 + 3]
        p1_4 = acc[1, (tau - lo) * 16 + 4]
        p1_5 = acc[1, (tau - lo) * 16 + 5]
        p1_6 = acc[1, (tau - lo) * 16 + 6]
        p1_7 = acc[1, (tau - lo) * 16 + 7]
        p1_8 = acc[1, (tau - lo) * 16 + 8]
        p1_9 = acc[1, (tau - lo) * 16 + 9]
        p1_10 = acc[1, (tau - lo) * 16 + 10]
        p1_11 = acc[1, (tau - lo) * 16 + 11]
        p1_12 = acc[1, (tau - lo) * 16 + 12]
        p1_13 = acc[1, (tau - lo) * 16 + 13]
        p1_14 = acc[1, (tau - lo) * 16 + 14]
        p1_15 = acc[1, (tau - lo) * 16 + 15]
        p2_0 = acc[2, (tau - lo) * 16 + 0]
        p2_1 = acc[2, (tau - lo) * 16 + 1]
        p2_2 = acc[2, (tau - lo) * 16 + 2]
        p2_3 = acc[2, (tau - lo) * 16 + 3]
        p2_4 = acc[2, (tau - lo) * 16 + 4]
        p2_5 = acc[2, (tau - lo) * 16 + 5]
        p2_6 = acc[2, (tau - lo) * 16 + 6]
        p2_7 = acc[2, (tau - lo) * 16 + 7]
        p2_8 = acc[2, (tau - lo) * 16 + 8]
        p2_9 = acc[2, (tau - lo) * 16 + 9]
        p2_10 = acc[2, (tau - lo) * 16 + 10]
        p2_11 = acc[2, (tau - lo) * 16 + 11]
        p2_12 = acc[2, (tau - lo) * 16 + 12]
        p2_13 = acc[2, (tau - lo) * 16 + 13]
        p2_14 = acc[2, (tau - lo) * 16 + 14]
        p2_15 = acc[2, (tau - lo) * 16 + 15]
        p3_0 = acc[3, (tau - lo) * 16 + 0]
        p3_1 = acc[3, (tau - lo) * 16 + 1]
        p3_2 = acc[3, (tau - lo) * 16 + 2]
        p3_3 = acc[3, (tau - lo) * 16 + 3]
        p3_4 = acc[3, (tau - lo) * 16 + 4]
        p3_5 = acc[3, (tau - lo) * 16 + 5]
        p3_6 = acc[3, (tau - lo) * 16 + 6]
        p3_7 = acc[3, (tau - lo) * 16 + 7]
        p3_8 = acc[3, (tau - lo) * 16 + 8]
        p3_9 = acc[3, (tau - lo) * 16 + 9]
        p3_10 = acc[3, (tau - lo) * 16 + 10]
        p3_11 = acc[3, (tau - lo) * 16 + 11]
        p3_12 = acc[3, (tau - lo) * 16 + 12]
        p3_13 = acc[3, (tau - lo) * 16 + 13]
        p3_14 = acc[3, (tau - lo) * 16 + 14]
        p3_15 = acc[3, (tau - lo) * 16 + 15]
    else:
        p0_0 = 0.0
        p0_1 = 0.0
        p0_2 = 0.0
        p0_3 = 0.0
        p0_4 = 0.0
        p0_5 = 0.0
        p0_6 = 0.0
        p0_7 = 0.0
        p0_8 = 0.0
        p0_9 = 0.0
        p0_10 = 0.0
        p0_11 = 0.0
        p0_12 = 0.0
        p0_13 = 0.0
        p0_14 = 0.0
        p0_15 = 0.0
        p1_0 = 0.0
        p1_1 = 0.0
        p1_2 = 0.0
        p1_3 = 0.0
        p1_4 = 0.0
        p1_5 = 0.0
        p1_6 = 0.0
        p1_7 = 0.0
        p1_8 = 0.0
        p1_9 = 0.0
        p1_10 = 0.0
        p1_11 = 0.0
        p1_12 = 0.0
        p1_13 = 0.0
        p1_14 = 0.0
        p1_15 = 0.0
        p2_0 = 0.0
        p2_1 = 0.0
        p2_2 = 0.0
        p2_3 = 0.0
        p2_4 = 0.0
        p2_5 = 0.0
        p2_6 = 0.0
        p2_7 = 0.0
        p2_8 = 0.0
        p2_9 = 0.0
        p2_10 = 0.0
        p2_11 = 0.0
        p2_12 = 0.0
        p2_13 = 0.0
        p2_14 = 0.0
        p2_15 = 0.0
        p3_0 = 0.0
        p3_1 = 0.0
        p3_2 = 0.0
        p3_3 = 0.0
        p3_4 = 0.0
        p3_5 = 0.0
        p3_6 = 0.0
        p3_7 = 0.0
        p3_8 = 0.0
        p3_9 = 0.0
        p3_10 = 0.0
        p3_11 = 0.0
        p3_12 = 0.0
        p3_13 = 0.0
        p3_14 = 0.0
        p3_15 = 0.0
    for s in range(tau + 1, top + 1):
        r = RT[tau + 1, s]
        p0_0 += r * N[0, s * 16 + 0]
        p0_1 += r * N[0, s * 16 + 1]
        p0_2 += r * N[0, s * 16 + 2]
        p0_3 += r * N[0, s * 16 + 3]
        p0_4 += r * N[0, s * 16 + 4]
        p0_5 += r * N[0, s * 16 + 5]
        p0_6 += r * N[0, s * 16 + 6]
        p0_7 += r * N[0, s * 16 + 7]
        p0_8 += r * N[0, s * 16 + 8]
        p0_9 += r * N[0, s * 16 + 9]
        p0_10 += r * N[0, s * 16 + 10]
        p0_11 += r * N[0, s * 16 + 11]
        p0_12 += r * N[0, s * 16 + 12]
        p0_13 += r * N[0, s * 16 + 13]
        p0_14 += r * N[0, s * 16 + 14]
        p0_15 += r * N[0, s * 16 + 15]
        p1_0 += r * N[1, s * 16 + 0]
        p1_1 += r * N[1, s * 16 + 1]
        p1_2 += r * N[1, s * 16 + 2]
        p1_3 += r * N[1, s * 16 + 3]
        p1_4 += r * N[1, s * 16 + 4]
        p1_5 += r * N[1, s * 16 + 5]
        p1_6 += r * N[1, s * 16 + 6]
        p1_7 += r * N[1, s * 16 + 7]
        p1_8 += r * N[1, s * 16 + 8]
        p1_9 += r * N[1, s * 16 + 9]
        p1_10 += r * N[1, s * 16 + 10]
        p1_11 += r * N[1, s * 16 + 11]
        p1_12 += r * N[1, s * 16 + 12]
        p1_13 += r * N[1, s * 16 + 13]
        p1_14 += r * N[1, s * 16 + 14]
        p1_15 += r * N[1, s * 16 + 15]
        p2_0 += r * N[2, s * 16 + 0]
        p2_1 += r * N[2, s * 16 + 1]
        p2_2 += r * N[2, s * 16 + 2]
        p2_3 += r * N[2, s * 16 + 3]
        p2_4 += r * N[2, s * 16 + 4]
        p2_5 += r * N[2, s * 16 + 5]
        p2_6 += r * N[2, s * 16 + 6]
        p2_7 += r * N[2, s * 16 + 7]
        p2_8 += r * N[2, s * 16 + 8]
        p2_9 += r * N[2, s * 16 + 9]
        p2_10 += r * N[2, s * 16 + 10]
        p2_11 += r * N[2, s * 16 + 11]
        p2_12 += r * N[2, s * 16 + 12]
        p2_13 += r * N[2, s * 16 + 13]
        p2_14 += r * N[2, s * 16 + 14]
        p2_15 += r * N[2, s * 16 + 15]
        p3_0 += r * N[3, s * 16 + 0]
        p3_1 += r * N[3, s * 16 + 1]
        p3_2 += r * N[3, s * 16 + 2]
        p3_3 += r * N[3, s * 16 + 3]
        p3_4 += r * N[3, s * 16 + 4]
        p3_5 += r * N[3, s * 16 + 5]
        p3_6 += r * N[3, s * 16 + 6]
        p3_7 += r * N[3, s * 16 + 7]
        p3_8 += r * N[3, s * 16 + 8]
        p3_9 += r * N[3, s * 16 + 9]
        p3_10 += r * N[3, s * 16 + 10]
        p3_11 += r * N[3, s * 16 + 11]
        p3_12 += r * N[3, s * 16 + 12]
        p3_13 += r * N[3, s * 16 + 13]
        p3_14 += r * N[3, s * 16 + 14]
        p3_15 += r * N[3, s * 16 + 15]
    a0 = np.float64(A[tau, l0 + 0])
    br0 = np.float64(Br[tau, l0 + 0])
    bi0 = np.float64(Bi[tau, l0 + 0])
    a1 = np.float64(A[tau, l0 + 1])
    br1 = np.float64(Br[tau, l0 + 1])
    bi1 = np.float64(Bi[tau, l0 + 1])
    a2 = np.float64(A[tau, l0 + 2])
    br2 = np.float64(Br[tau, l0 + 2])
    bi2 = np.float64(Bi[tau, l0 + 2])
    a3 = np.float64(A[tau, l0 + 3])
    br3 = np.float64(Br[tau, l0 + 3])
    bi3 = np.float64(Bi[tau, l0 + 3])
    a4 = np.float64(A[tau, l0 + 4])
    br4 = np.float64(Br[tau, l0 + 4])
    bi4 = np.float64(Bi[tau, l0 + 4])
    a5 = np.float64(A[tau, l0 + 5])
    br5 = np.float64(Br[tau, l0 + 5])
    bi5 = np.float64(Bi[tau, l0 + 5])
    a6 = np.float64(A[tau, l0 + 6])
    br6 = np.float64(Br[tau, l0 + 6])
    bi6 = np.float64(Bi[tau, l0 + 6])
    a7 = np.float64(A[tau, l0 + 7])
    br7 = np.float64(Br[tau, l0 + 7])
    bi7 = np.float64(Bi[tau, l0 + 7])
    a8 = np.float64(A[tau, l0 + 8])
    br8 = np.float64(Br[tau, l0 + 8])
    bi8 = np.float64(Bi[tau, l0 + 8])
    a9 = np.float64(A[tau, l0 + 9])
    br9 = np.float64(Br[tau, l0 + 9])
    bi9 = np.float64(Bi[tau, l0 + 9])
    a10 = np.float64(A[tau, l0 + 10])
    br10 = np.float64(Br[tau, l0 + 10])
    bi10 = np.float64(Bi[tau, l0 + 10])
    a11 = np.float64(A[tau, l0 + 11])
    br11 = np.float64(Br[tau, l0 + 11])
    bi11 = np.float64(Bi[tau, l0 + 11])
    a12 = np.float64(A[tau, l0 + 12])
    br12 = np.float64(Br[tau, l0 + 12])
    bi12 = np.float64(Bi[tau, l0 + 12])
    a13 = np.float64(A[tau, l0 + 13])
    br13 = np.float64(Br[tau, l0 + 13])
    bi13 = np.float64(Bi[tau, l0 + 13])
    a14 = np.float64(A[tau, l0 + 14])
    br14 = np.float64(Br[tau, l0 + 14])
    bi14 = np.float64(Bi[tau, l0 + 14])
    a15 = np.float64(A[tau, l0 + 15])
    br15 = np.float64(Br[tau, l0 + 15])
    bi15 = np.float64(Bi[tau, l0 + 15])
    b = tau * 16
    N[0, b + 0] = a0 * p0_0 + br0 * p2_0 + bi0 * p3_0
    N[0, b + 1] = a1 * p0_1 + br1 * p2_1 + bi1 * p3_1
    N[0, b + 2] = a2 * p0_2 + br2 * p2_2 + bi2 * p3_2
    N[0, b + 3] = a3 * p0_3 + br3 * p2_3 + bi3 * p3_3
    N[0, b + 4] = a4 * p0_4 + br4 * p2_4 + bi4 * p3_4
    N[0, b + 5] = a5 * p0_5 + br5 * p2_5 + bi5 * p3_5
    N[0, b + 6] = a6 * p0_6 + br6 * p2_6 + bi6 * p3_6
    N[0, b + 7] = a7 * p0_7 + br7 * p2_7 + bi7 * p3_7
    N[0, b + 8] = a8 * p0_8 + br8 * p2_8 + bi8 * p3_8
    N[0, b + 9] = a9 * p0_9 + br9 * p2_9 + bi9 * p3_9
    N[0, b + 10] = a10 * p0_10 + br10 * p2_10 + bi10 * p3_10
    N[0, b + 11] = a11 * p0_11 + br11 * p2_11 + bi11 * p3_11
    N[0, b + 12] = a12 * p0_12 + br12 * p2_12 + bi12 * p3_12
    N[0, b + 13] = a13 * p0_13 + br13 * p2_13 + bi13 * p3_13
    N[0, b + 14] = a14 * p0_14 + br14 * p2_14 + bi14 * p3_14
    N[0, b + 15] = a15 * p0_15 + br15 * p2_15 + bi15 * p3_15
    N[1, b + 0] = a0 * p1_0 + br0 * p3_0 - bi0 * p2_0
    N[1, b + 1] = a1 * p1_1 + br1 * p3_1 - bi1 * p2_1
    N[1, b + 2] = a2 * p1_2 + br2 * p3_2 - bi2 * p2_2
    N[1, b + 3] = a3 * p1_3 + br3 * p3_3 - bi3 * p2_3
    N[1, b + 4] = a4 * p1_4 + br4 * p3_4 - bi4 * p2_4
    N[1, b + 5] = a5 * p1_5 + br5 * p3_5 - bi5 * p2_5
    N[1, b + 6] = a6 * p1_6 + br6 * p3_6 - bi6 * p2_6
    N[1, b + 7] = a7 * p1_7 + br7 * p3_7 - bi7 * p2_7
    N[1, b + 8] = a8 * p1_8 + br8 * p3_8 - bi8 * p2_8
    N[1, b + 9] = a9 * p1_9 + br9 * p3_9 - bi9 * p2_9
    N[1, b + 10] = a10 * p1_10 + br10 * p3_10 - bi10 * p2_10
    N[1, b + 11] = a11 * p1_11 + br11 * p3_11 - bi11 * p2_11
    N[1, b + 12] = a12 * p1_12 + br12 * p3_12 - bi12 * p2_12
    N[1, b + 13] = a13 * p1_13 + br13 * p3_13 - bi13 * p2_13
    N[1, b + 14] = a14 * p1_14 + br14 * p3_14 - bi14 * p2_14
    N[1, b + 15] = a15 * p1_15 + br15 * p3_15 - bi15 * p2_15
    N[2, b + 0] = br0 * p0_0 - bi0 * p1_0 + a0 * p2_0
    N[2, b + 1] = br1 * p0_1 - bi1 * p1_1 + a1 * p2_1
    N[2, b + 2] = br2 * p0_2 - bi2 * p1_2 + a2 * p2_2
    N[2, b + 3] = br3 * p0_3 - bi3 * p1_3 + a3 * p2_3
    N[2, b + 4] = br4 * p0_4 - bi4 * p1_4 + a4 * p2_4
    N[2, b + 5] = br5 * p0_5 - bi5 * p1_5 + a5 * p2_5
    N[2, b + 6] = br6 * p0_6 - bi6 * p1_6 + a6 * p2_6
    N[2, b + 7] = br7 * p0_7 - bi7 * p1_7 + a7 * p2_7
    N[2, b + 8] = br8 * p0_8 - bi8 * p1_8 + a8 * p2_8
    N[2, b + 9] = br9 * p0_9 - bi9 * p1_9 + a9 * p2_9
    N[2, b + 10] = br10 * p0_10 - bi10 * p1_10 + a10 * p2_10
    N[2, b + 11] = br11 * p0_11 - bi11 * p1_11 + a11 * p2_11
    N[2, b + 12] = br12 * p0_12 - bi12 * p1_12 + a12 * p2_12
    N[2, b + 13] = br13 * p0_13 - bi13 * p1_13 + a13 * p2_13
    N[2, b + 14] = br14 * p0_14 - bi14 * p1_14 + a14 * p2_14
    N[2, b + 15] = br15 * p0_15 - bi15 * p1_15 + a15 * p2_15
    N[3, b + 0] = br0 * p1_0 + bi0 * p0_0 + a0 * p3_0
    N[3, b + 1] = br1 * p1_1 + bi1 * p0_1 + a1 * p3_1
    N[3, b + 2] = br2 * p1_2 + bi2 * p0_2 + a2 * p3_2
    N[3, b + 3] = br3 * p1_3 + bi3 * p0_3 + a3 * p3_3
    N[3, b + 4] = br4 * p1_4 + bi4 * p0_4 + a4 * p3_4
    N[3, b + 5] = br5 * p1_5 + bi5 * p0_5 + a5 * p3_5
    N[3, b + 6] = br6 * p1_6 + bi6 * p0_6 + a6 * p3_6
    N[3, b + 7] = br7 * p1_7 + bi7 * p0_7 + a7 * p3_7
    N[3, b + 8] = br8 * p1_8 + bi8 * p0_8 + a8 * p3_8
    N[3, b + 9] = br9 * p1_9 + bi9 * p0_9 + a9 * p3_9
    N[3, b + 10] = br10 * p1_10 + bi10 * p0_10 + a10 * p3_10
    N[3, b + 11] = br11 * p1_11 + bi11 * p0_11 + a11 * p3_11
    N[3, b + 12] = br12 * p1_12 + bi12 * p0_12 + a12 * p3_12
    N[3, b + 13] = br13 * p1_13 + bi13 * p0_13 + a13 * p3_13
    N[3, b + 14] = br14 * p1_14 + bi14 * p0_14 + a14 * p3_14
    N[3, b + 15] = br15 * p1_15 + bi15 * p0_15 + a15 * p3_15


@njit(parallel=True, fastmath=True, cache=True)
def field(Lrow, Xi, mem, G, s0, gS, t, spec, r):
    """r = Lrow . Xi[:len(Lrow)] + mem . G[:t] + s0 gS, in chunks of 512 paths (float64 sums)."""
    M = Xi.shape[1]
    nj = Lrow.shape[0]
    CH = 512
    nch = (M + CH - 1) // CH
    for c in prange(nch):
        a = c * CH
        b = min(M, a + CH)
        for i in range(a, b):
            r[i] = 0.0
        for k in range(nj):
            ck = Lrow[k]
            if ck != 0.0:
                for i in range(a, b):
                    r[i] += ck * Xi[k, i]
        for k in range(t):
            ck = mem[k]
            if ck != 0.0:
                for i in range(a, b):
                    r[i] += ck * G[k, i]
        if spec and s0 != 0.0:
            for i in range(a, b):
                r[i] += s0 * gS[i]


@njit(nogil=True, fastmath=True, cache=True)
def field_serial(Lrow, Xi, mem, G, s0, gS, t, spec, r):
    """r = Lrow . Xi[:len(Lrow)] + mem . G[:t] + s0 gS, in chunks of 512 paths (float64 sums)."""
    M = Xi.shape[1]
    nj = Lrow.shape[0]
    CH = 512
    nch = (M + CH - 1) // CH
    for c in range(nch):
        a = c * CH
        b = min(M, a + CH)
        for i in range(a, b):
            r[i] = 0.0
        for k in range(nj):
            ck = Lrow[k]
            if ck != 0.0:
                for i in range(a, b):
                    r[i] += ck * Xi[k, i]
        for k in range(t):
            ck = mem[k]
            if ck != 0.0:
                for i in range(a, b):
                    r[i] += ck * G[k, i]
        if spec and s0 != 0.0:
            for i in range(a, b):
                r[i] += s0 * gS[i]
