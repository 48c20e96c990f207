"""The complex reverse sweep (``theory/dmft/_complex_kernels.py``) against an independent forward-mode computation.

Reference: per path, the forward recursion of docs/theory.md §7.2 written in numpy here.  For an input entering
r^p directly, X^p = 1, Y^p = 0 and for s > p

    X^s = sum_{p <= tau < s} R(s, tau) (a_tau X^tau + b_tau Y^tau),
    Y^s = sum_{p <= tau < s} R(s, tau) (conj(b_tau) X^tau + a_tau Y^tau),

and the response of g^t is a_t X^t + b_t Y^t; for the spectral input the sources are B0 at tau = 0 and
R(tau, S) dgS at tau >= 1.  The kernel runs the adjoint (reverse) recursion, blocked four rows at a time; the two
must agree to rounding on random inputs, for every t (block boundaries and partial blocks included), with a
window t0 and with the per-path values the hybrid estimator keeps.
"""

from __future__ import annotations

import numpy as np
import pytest

from sidmft.numerics import numba_threads
from sidmft.theory.dmft._complex_kernels import complex_responses


def _inputs(T, M, dtype, seed=0):
    rng = np.random.default_rng(seed)
    A = (0.4 * rng.standard_normal((T + 1, M))).astype(dtype)
    Br = (0.3 * rng.standard_normal((T + 1, M))).astype(dtype)
    Bi = (0.3 * rng.standard_normal((T + 1, M))).astype(dtype)
    RT = 0.25 * rng.standard_normal((T + 2, T + 2))  # RT[tau + 1, s] = R(s, tau); row 0: R(s, S)
    B0, dgS = rng.standard_normal(M), rng.standard_normal(M)
    return A, Br, Bi, RT, B0, dgS


def _forward(t, A, Br, Bi, RT, src):
    """Per-path a_t X^t + b_t Y^t for the source ``src`` (t + 1, M): X^tau += src_tau (complex arrays)."""
    a = A.astype(np.float64)
    b = Br.astype(np.float64) + 1j * Bi.astype(np.float64)
    M = A.shape[1]
    X = np.zeros((t + 1, M), complex)
    Y = np.zeros((t + 1, M), complex)
    for s in range(t + 1):
        X[s] = src[s]
        for tau in range(s):
            R = RT[tau + 1, s]
            X[s] += R * (a[tau] * X[tau] + b[tau] * Y[tau])
            Y[s] += R * (np.conj(b[tau]) * X[tau] + a[tau] * Y[tau])
    return a[t] * X[t] + b[t] * Y[t]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_reverse_sweep_equals_forward_mode(dtype):
    T, M = 11, 37  # M not a multiple of the 16 lanes: a partial lane group
    A, Br, Bi, RT, B0, dgS = _inputs(T, M, dtype)
    for t in range(T + 1):  # t = 0..3: partial blocks only; t >= 5: full blocks of four rows and a partial one
        got = complex_responses(t, A, Br, Bi, RT, (B0, dgS), M)
        for p in range(t + 1):
            src = np.zeros((t + 1, M))
            src[p] = 1.0
            ref = _forward(t, A, Br, Bi, RT, src).real.mean()
            assert got[p] == pytest.approx(ref, rel=1e-11, abs=1e-13), (t, p)
        src = np.vstack([B0[None, :], RT[0, 1 : t + 1, None] * dgS[None, :]])
        ref = _forward(t, A, Br, Bi, RT, src).real.mean()
        assert got[t + 1] == pytest.approx(ref, rel=1e-11, abs=1e-13), (t, "S")


def test_window_and_kept_paths():
    T, M, t, t0 = 13, 40, 13, 6
    A, Br, Bi, RT, _, _ = _inputs(T, M, np.float64, seed=1)
    keep = np.zeros((2, t - t0 + 1, M))
    got = complex_responses(t, A, Br, Bi, RT, None, M, t0=t0, keep=keep)
    assert np.all(got[:t0] == 0) and got[t + 1] == 0
    for p in range(t0, t + 1):
        src = np.zeros((t + 1, M))
        src[p] = 1.0
        ref = _forward(t, A, Br, Bi, RT, src)
        np.testing.assert_allclose(keep[0, p - t0] + 1j * keep[1, p - t0], ref, rtol=1e-11, atol=1e-13)
        assert got[p] == pytest.approx(ref.real.mean(), rel=1e-11, abs=1e-13)


def test_independent_of_the_thread_count():
    """Fixed chunks of 512 paths, each with its own row of sums, added in chunk order: bitwise the same result on one
    thread and on two."""
    T, M = 20, 1500  # three chunks
    A, Br, Bi, RT, B0, dgS = _inputs(T, M, np.float32, seed=2)
    with numba_threads(1):
        one = complex_responses(T, A, Br, Bi, RT, (B0, dgS), M)
    with numba_threads(2):
        two = complex_responses(T, A, Br, Bi, RT, (B0, dgS), M)
    np.testing.assert_array_equal(one, two)
