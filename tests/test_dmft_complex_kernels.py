"""The complex reverse sweep (``theory/dmft/_complex_kernels.py``) against an independent forward-mode computation.

Reference: per path, the forward recursion of docs/theory.md §7.2 written in numpy here.  For an input entering
r^p directly, X^p = 1, Y^p = 0 and for s > p

    X^s = sum_{p <= tau < s} R(s, tau) (a_tau X^tau + b_tau Y^tau),
    Y^s = sum_{p <= tau < s} R(s, tau) (conj(b_tau) X^tau + a_tau Y^tau),

and the response of g^t is a_t X^t + b_t Y^t; for the spectral input the sources are B0 at tau = 0 and
R(tau, S) dgS at tau >= 1.  The kernel runs the adjoint (reverse) recursion, blocked four rows at a time; the two
must agree to rounding on random inputs, for every t (block boundaries and partial blocks included), with a
window t0 and with the hybrid estimator's per-path probe part.
"""

from __future__ import annotations

import numpy as np
import pytest

from sidmft.numerics import numba_threads
from sidmft.theory.dmft._complex_kernels import complex_responses, memory_sum


def _inputs(T, M, dtype, seed=0):
    """Random histories of M paths, padded with zero paths to a multiple of the 16 lanes (as the solver pads)."""
    rng = np.random.default_rng(seed)
    Mp = -(-M // 16) * 16
    A, Br, Bi = (np.zeros((T + 1, Mp), dtype) for _ in range(3))
    A[:, :M] = 0.4 * rng.standard_normal((T + 1, M))
    Br[:, :M] = 0.3 * rng.standard_normal((T + 1, M))
    Bi[:, :M] = 0.3 * rng.standard_normal((T + 1, M))
    RT = 0.25 * rng.standard_normal((T + 2, T + 2))  # RT[tau + 1, s] = R(s, tau); row 0: R(s, S)
    B0, dgS = np.zeros(Mp), np.zeros(Mp)
    B0[:M], dgS[:M] = rng.standard_normal(M), rng.standard_normal(M)
    return A, Br, Bi, RT, B0, dgS


def _forward(t, A, Br, Bi, RT, src):
    """Per-path a_t X^t + b_t Y^t for the source ``src`` (t + 1, M): X^tau += src_tau (complex arrays)."""
    M = src.shape[1]
    a = A[:, :M].astype(np.float64)
    b = Br[:, :M].astype(np.float64) + 1j * Bi[:, :M].astype(np.float64)
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
        src = np.vstack([B0[None, :M], RT[0, 1 : t + 1, None] * dgS[None, :M]])
        ref = _forward(t, A, Br, Bi, RT, src).real.mean()
        assert got[t + 1] == pytest.approx(ref, rel=1e-11, abs=1e-13), (t, "S")


@pytest.mark.parametrize("spectral", [False, True], ids=["no-source", "spectral"])
def test_window_and_probe_part(spectral):
    """With a window t0 the sweep is exact for tau >= t0; the hybrid estimator's probe part per path is
    chi = Re(a_t X + b_t Y) - sum_{tau >= t0} Re(nu_tau[0]) v_tau for the given tangent pair (X, Y), with a spectral
    seed out[t + 1] = E[chi] and psi = chi - sum_{tau >= t0} Re(nu_tau[0]) source_tau (else psi = chi)."""
    T, M, t, t0 = 13, 40, 13, 6
    Mp = 48  # padded path count (A has Mp columns; the probe arrays Mp columns per block)
    A, Br, Bi, RT, B0, dgS = _inputs(T, M, np.float64, seed=1)
    rng = np.random.default_rng(5)
    V = np.zeros((T + 1, 2 * Mp), dtype=np.int8)
    V[:, :M] = rng.integers(0, 2, size=(T + 1, M)) * 2 - 1
    tan = np.zeros(4 * Mp)
    for k in range(4):
        tan[k * Mp : k * Mp + M] = rng.standard_normal(M)
    psi = np.zeros(2 * Mp)
    spec = (B0, dgS) if spectral else None
    got = complex_responses(t, A, Br, Bi, RT, spec, M, t0=t0, probe=(V, tan, psi))
    assert np.all(got[:t0] == 0)
    chi = A[t, :M] * tan[:M] + Br[t, :M] * tan[2 * Mp : 2 * Mp + M] - Bi[t, :M] * tan[3 * Mp : 3 * Mp + M]
    source = np.vstack([B0[None, :M], RT[0, 1 : t + 1, None] * dgS[None, :M]])
    part = np.zeros(M)
    for p in range(t0, t + 1):
        src = np.zeros((t + 1, M))
        src[p] = 1.0
        nu = _forward(t, A, Br, Bi, RT, src).real
        assert got[p] == pytest.approx(nu.mean(), rel=1e-11, abs=1e-13)
        chi = chi - nu * V[p, :M]
        part += nu * source[p]
    if spectral:
        assert got[t + 1] == pytest.approx(chi.mean(), rel=1e-11, abs=1e-13)
        chi = chi - part
    else:
        assert got[t + 1] == 0
    np.testing.assert_allclose(psi[:M], chi, rtol=1e-11, atol=1e-13)
    assert np.all(psi[M:] == 0)


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


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_memory_sum_against_numpy(dtype):
    """The tangent's memory sum sum_{tau < t} R(t, tau) P1^tau (the hybrid estimator's Y), against numpy (float32
    histories: float32 partial sums of eight rows, so 1e-5 relative)."""
    rng = np.random.default_rng(7)
    t, cols = 29, 4096 + 96  # two chunks of the field kernel, the second partial
    P = rng.standard_normal((t + 3, cols)).astype(dtype)
    mem = rng.standard_normal(t)
    out = np.full(cols, np.nan)
    memory_sum(mem, P, t, False, out)
    ref = mem @ P[:t].astype(np.float64)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, ref, rtol=tol, atol=tol * np.abs(ref).max())
