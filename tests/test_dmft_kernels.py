"""The DMFT hot loops: generated numba kernels against the numpy reference, and the generator itself.

Tolerances are first-order floating-point error bounds: a sum of n terms computed in precision eps is
within n eps (sum of |terms|) of the exact value, so every comparison is scaled by the same quantity
computed on absolute values (``_abs_scale``), with n the longest chain of operations (see each test).
"""

import ast

import numpy as np
import pytest

from sidmft.theory.dmft import _kernels as K
from sidmft.theory.dmft import _kernels_gen as gen
from sidmft.theory.dmft._kernels_numpy import field_numpy, responses_numpy

EPS64 = np.finfo(np.float64).eps
EPS32 = np.finfo(np.float32).eps


def test_generated_module_up_to_date():
    """_dmft_lanes.py is exactly what the generator writes (regenerate: python -m sidmft.theory.dmft._kernels_gen)."""
    assert gen.lanes_path().read_text() == gen.generate_lanes_module()
    assert gen.main(["--check"]) == 0
    assert "GENERATED FILE" in gen.lanes_path().read_text().splitlines()[2]


def test_serial_twins_are_the_parallel_bodies():
    """Each _serial kernel is its parallel kernel with prange -> range and nogil instead of parallel."""
    src = gen.generate_lanes_module()
    funcs = {f.name: f for f in ast.parse(src).body if isinstance(f, ast.FunctionDef)}
    for name in gen.PARALLEL_NAMES:
        par, ser = funcs[name], funcs[name + "_serial"]
        par_text = ast.get_source_segment(src, par).replace(f"def {name}(", f"def {name}_serial(")
        assert "prange(" in par_text
        assert ast.get_source_segment(src, ser) == par_text.replace("prange(", "range(")
        assert ast.unparse(par.decorator_list[0]) == "njit(parallel=True, fastmath=True, cache=True)"
        assert ast.unparse(ser.decorator_list[0]) == "njit(nogil=True, fastmath=True, cache=True)"


def test_resolve_names_and_lanes():
    assert K.resolve("numpy") is K.NUMPY and K.resolve("numba") is K.NUMBA
    assert K.resolve("numba-serial") is K.NUMBA_SERIAL and K.resolve(K.NUMBA) is K.NUMBA
    with pytest.raises(ValueError, match="kernel must be one of"):
        K.resolve("cuda")
    assert K.NUMPY.lanes(np.float32) == 1
    assert K.NUMBA.lanes(np.float64) == gen.LANES_BY_DTYPE["f64"]
    assert K.NUMBA_SERIAL.lanes(np.float32) == gen.LANES_BY_DTYPE["f32"]


def _inputs(t, M, dtype, spectral, seed):
    """Random histories of t + 1 steps for M real paths, zero-padded to the numba lane count."""
    rng = np.random.default_rng(seed)
    Mp = -(-M // K.NUMBA.lanes(dtype)) * K.NUMBA.lanes(dtype)
    n = t + 2
    H = np.zeros((t + 1, Mp), dtype=dtype)
    G = np.zeros((t + 1, Mp), dtype=dtype)
    H[:, :M] = rng.uniform(-0.5, 2.0, (t + 1, M))
    G[:, :M] = rng.standard_normal((t + 1, M))
    Rx = rng.standard_normal((t + 2, n)) / np.sqrt(t + 1)
    RT = np.ascontiguousarray(Rx.T, dtype=dtype)
    Rx = RT.T.astype(np.float64)  # the numpy reference sees the same (rounded) memory coefficients
    z = np.zeros(Mp)
    z[:M] = rng.standard_normal(M)
    gS = spec = None
    if spectral:
        gS, dgS, B0 = (np.concatenate([rng.standard_normal(M), np.zeros(Mp - M)]) for _ in range(3))
        spec = (Rx[: t + 1, 0].copy(), dgS, B0)
    return H, G, Rx, RT, z, gS, spec


def _abs_scale(t, H, G, Rx, z, gS, spec, M):
    """The reference computed on absolute values: bounds every partial sum of the real computation."""
    aspec = None if spec is None else tuple(np.abs(a) for a in spec)
    agS = None if gS is None else np.abs(gS)
    return responses_numpy(t, np.abs(H), np.abs(G), np.abs(Rx), np.abs(z), agS, aspec, M)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("spectral", [False, True])
@pytest.mark.parametrize("t", [0, 3, 4, 9, 14])
def test_responses_numba_matches_numpy(dtype, spectral, t):
    """Reverse sweep (all block/remainder paths of the micro-kernel: t < 4, t = 4, t = 9, 14) and Gram row.

    lambda is computed in the history dtype with chains of at most (t + 2)^2 operations; the path sums
    are float64 over M terms: |numba - numpy| <= ((t + 2)^2 eps_dtype + M eps64) * (|.|-scale)."""
    M = 37
    H, G, Rx, RT, z, gS, spec = _inputs(t, M, dtype, spectral, seed=100 + t)
    ref = responses_numpy(
        t,
        H[:, :M],
        G[:, :M],
        Rx,
        z[:M],
        None if gS is None else gS[:M],
        None if spec is None else (spec[0], spec[1][:M], spec[2][:M]),
        M,
    )
    scale = _abs_scale(t, H, G, Rx, z, gS, spec, M)
    eps = EPS32 if dtype == np.float32 else EPS64
    bound = (t + 2) ** 2 * eps + M * EPS64
    for kern in (K.NUMBA, K.NUMBA_SERIAL):
        got = kern.responses_and_gram(t, H, G, Rx, RT, z, gS, spec, M)
        for a, b, s in zip(got, ref, scale):
            assert np.all(np.abs(np.asarray(a) - b) <= bound * np.asarray(s) + 1e-300)
    par = K.NUMBA.responses_and_gram(t, H, G, Rx, RT, z, gS, spec, M)
    ser = K.NUMBA_SERIAL.responses_and_gram(t, H, G, Rx, RT, z, gS, spec, M)
    for a, b, s in zip(par, ser, scale):  # same chunking: only FMA contraction may differ
        assert np.all(np.abs(np.asarray(a) - b) <= bound * np.asarray(s) + 1e-300)


def test_responses_numba_requires_padding():
    H = np.zeros((2, K.NUMBA.lanes(np.float64) + 1))
    with pytest.raises(ValueError, match="padded"):
        K.NUMBA.responses_and_gram(1, H, H, np.zeros((3, 3)), np.zeros((3, 3)), np.zeros(H.shape[1]), None, None, 5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("s0", [0.0, 0.7])
def test_field_numba_matches_numpy(dtype, s0):
    """r = L . Xi + mem . G + s0 g^S: float64 sums of nj + t + 1 terms, |numba - numpy| <= (nj + t + 1) eps64 scale
    (the inputs are exactly representable in float64 for both, so the dtype only sets the input values)."""
    rng = np.random.default_rng(7)
    t, M = 6, 1100  # M > 512: several path chunks
    nj = t + 2
    Xi = rng.standard_normal((t + 3, M)).astype(dtype)
    G = rng.standard_normal((t + 1, M)).astype(dtype)
    Lrow, mem, gS = rng.standard_normal(nj), rng.standard_normal(t), rng.standard_normal(M)
    Lrow[2] = 0.0  # skipped coefficient
    ref = field_numpy(Lrow, Xi, mem, G, s0, gS, t)
    scale = field_numpy(np.abs(Lrow), np.abs(Xi), np.abs(mem), np.abs(G), abs(s0), np.abs(gS), t)
    for kern in (K.NUMBA, K.NUMBA_SERIAL):
        got = kern.field(Lrow, Xi, mem, G, s0, gS, t)
        assert np.all(np.abs(got - ref) <= (nj + t + 1) * EPS64 * scale)
    assert np.array_equal(K.NUMPY.field(Lrow, Xi, mem, G, s0, gS, t), ref)
    assert np.array_equal(K.field(Lrow, Xi, mem, G, s0, gS, t, "numba"), K.NUMBA.field(Lrow, Xi, mem, G, s0, gS, t))


def test_chol_row_matches_numpy_cholesky():
    """Row by row, the incremental factor equals numpy's Cholesky factor of a well-conditioned matrix."""
    rng = np.random.default_rng(3)
    A = rng.standard_normal((6, 6))
    C = A @ A.T + 6 * np.eye(6)
    L = np.zeros((6, 6))
    L[0, 0] = np.sqrt(C[0, 0])
    for j in range(1, 6):
        K.chol_row(L, C[j, : j + 1], j, 1e-8)
    np.testing.assert_allclose(L, np.linalg.cholesky(C), rtol=0, atol=1e-13 * np.sqrt(np.max(np.diag(C))))
