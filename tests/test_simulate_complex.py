"""Simulator with complex signals (complex Wirtinger flow, docs/theory.md §7) against independent numpy code.

The reference below never calls the simulator's complex arithmetic: it runs real gradient descent on the 2d real
coordinates xi = (Re x, Im x), with r = A x written out in real and imaginary parts and the real gradient of
L(xi) = (1/alpha) sum_i L(y_i, |r_i|) + (lam/2)||xi||^2 derived by hand (and checked by finite differences).
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sidmft import Problem, Status
from sidmft.simulator import (
    SpectralInitSettings,
    _ckernels,
    generate_data,
    initial_point,
    run_gd,
    run_gd_batch,
    simulate,
    spectral_init,
)
from sidmft.simulator._ckernels import cfused_apply, cfused_apply_batch, numpy_capply
from sidmft.simulator._data import KEY_LANGEVIN, KEY_RANDOM_INIT, KEY_SGD, child_rng
from sidmft.simulator._kernels import compile_scalar_grad
from sidmft.simulator._spectral import spectral_weights

D, STEPS = 60, 5
EPS32 = float(np.finfo(np.float32).eps)
CASES = {
    "gd": dict(algorithm="gd"),
    "heavy-ball": dict(algorithm="heavy-ball", beta=0.6),
    "nesterov": dict(algorithm="nesterov", beta=0.5),
    "sgd": dict(algorithm="sgd", batch=0.4),
    "langevin": dict(algorithm="langevin", temperature=0.05),
}


def cproblem(**kw):
    base = dict(field="complex", alpha=4.0, lam=0.2, eta=0.15, steps=STEPS)
    base.update(kw)
    return Problem(**base)


# ------------------------------------------------------------------ the real-embedding reference
class Embedded:
    """Real GD on xi = (Re x, Im x) for the complex data ``data`` (A = Ar + i Ai stores the rows a_i^H)."""

    def __init__(self, data, problem):
        self.Ar, self.Ai = data.A.real.astype(float), data.A.imag.astype(float)
        self.y, self.p, self.loss = data.y, problem, problem.loss_obj
        self.xs = (data.x_star.real.copy(), data.x_star.imag.copy())

    def fields(self, xr, xi):
        return self.Ar @ xr - self.Ai @ xi, self.Ai @ xr + self.Ar @ xi

    def objective(self, xr, xi):
        rr, ri = self.fields(xr, xi)
        rho = np.hypot(rr, ri)
        return np.sum(self.loss.value(self.y, rho)) / self.p.alpha + 0.5 * self.p.lam * (xr @ xr + xi @ xi)

    def grad(self, xr, xi, f=1.0):
        """(r_re, r_im, gradient of the objective in xi_re, in xi_im), the sample terms weighted by f."""
        rr, ri = self.fields(xr, xi)
        rho = np.hypot(rr, ri)
        s = f * self.loss.grad(self.y, rho) / rho  # dl/d r_re = L'(rho) r_re / rho, likewise r_im
        dre, dim = s * rr, s * ri
        a, lam = self.p.alpha, self.p.lam
        return (
            rr,
            ri,
            lam * xr + (self.Ar.T @ dre + self.Ai.T @ dim) / a,
            lam * xi + (self.Ar.T @ dim - self.Ai.T @ dre) / a,
        )

    def observables(self, xr, xi):
        """m = |x*^H x|/d, q, training loss, gradient norm, by their definitions."""
        d = xr.size
        sr, si = self.xs
        m = math.hypot(sr @ xr + si @ xi, sr @ xi - si @ xr) / d
        rr, ri, gr, gi = self.grad(xr, xi)
        return m, (xr @ xr + xi @ xi) / d, np.mean(self.loss.value(self.y, np.hypot(rr, ri))), (gr @ gr + gi @ gi) / d


def reference_run(data, x0, problem, kw):
    """Every method on xi, written from its formula (docs/theory.md §6; x^{-1} = x^0)."""
    ref = Embedded(data, problem)
    n, d = data.A.shape
    eta, beta = problem.eta, kw.get("beta", 0.0)
    x, xp = (x0.real.copy(), x0.imag.copy()), (x0.real.copy(), x0.imag.copy())
    obs = []
    for t in range(problem.steps + 1):
        obs.append(ref.observables(*x))
        if t == problem.steps:
            break
        _, _, gr, gi = ref.grad(*x)
        alg = kw["algorithm"]
        if alg in ("gd", "langevin"):
            xn = (x[0] - eta * gr, x[1] - eta * gi)
        elif alg == "heavy-ball":
            xn = tuple(x[k] - eta * g + beta * (x[k] - xp[k]) for k, g in enumerate((gr, gi)))
        elif alg == "nesterov":
            pt = tuple(x[k] + beta * (x[k] - xp[k]) for k in range(2))
            _, _, pr, pi = ref.grad(*pt)
            xn = (pt[0] - eta * pr, pt[1] - eta * pi)
        else:  # sgd: the same per-sample selection as the real simulator
            b = kw["batch"]
            s = child_rng(data.seed, KEY_SGD, t).random(n) < b
            _, _, fr, fi = ref.grad(*x, f=s / b)
            xn = (x[0] - eta * fr, x[1] - eta * fi)
        if alg == "langevin":  # real Langevin on (Re x, Im x): each coordinate gets its own N(0, 1)
            g = child_rng(data.seed, KEY_LANGEVIN, t).standard_normal(2 * d)
            sig = math.sqrt(2 * eta * kw["temperature"])
            xn = (xn[0] + sig * g[0::2], xn[1] + sig * g[1::2])
        x, xp = xn, x
    return x[0] + 1j * x[1], {k: np.array(v) for k, v in zip(("m", "q", "train_loss", "grad_norm"), zip(*obs))}


@pytest.fixture(scope="module")
def data():
    return generate_data(cproblem(), D, seed=3)


def test_embedding_gradient_is_the_gradient_of_the_objective(data):
    """The reference's hand-derived gradient against central finite differences of its objective."""
    ref = Embedded(data, cproblem())
    rng = np.random.default_rng(0)
    xr, xi = rng.standard_normal(D), rng.standard_normal(D)
    _, _, gr, gi = ref.grad(xr, xi)
    h = 1e-6
    for k in (0, 7, D - 1):
        e = np.zeros(D)
        e[k] = h
        fd_r = (ref.objective(xr + e, xi) - ref.objective(xr - e, xi)) / (2 * h)
        fd_i = (ref.objective(xr, xi + e) - ref.objective(xr, xi - e)) / (2 * h)
        # central differences: O(h^2) truncation plus O(eps |L| / h) rounding, ~1e-8 here
        assert fd_r == pytest.approx(gr[k], abs=1e-6) and fd_i == pytest.approx(gi[k], abs=1e-6)


# ------------------------------------------------------------------ kernels
@pytest.mark.parametrize("loss", ["intensity", "amplitude"])
def test_fused_kernels_equal_the_numpy_reference(loss):
    rng = np.random.default_rng(1)
    n, d = 1100, 130  # n not a multiple of the 4-row groups or the 256-row blocks
    A = ((rng.standard_normal((n, 2 * d))) / math.sqrt(2 * d)).view(np.complex128)
    y, f = rng.exponential(size=n), rng.random(n)
    X = (rng.standard_normal((d, 3)) + 1j * rng.standard_normal((d, 3))) * 0.8
    L = Problem(field="complex", loss=loss).loss_obj
    lp = compile_scalar_grad(L)
    r, out, outf = cfused_apply(A, y, X[:, 0], lp, factor=f)
    r0, out0, outf0 = numpy_capply(A, y, X[:, 0], L.complex_grad, factor=f)
    scale = np.abs(out0).max()
    # complex128: the same sums in another order, ~n eps relative
    np.testing.assert_allclose(r, r0, rtol=0, atol=1e-12 * np.abs(r0).max())
    np.testing.assert_allclose(out, out0, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(outf, outf0, rtol=0, atol=1e-12 * np.abs(outf0).max())
    _, lin = cfused_apply(A, y, X[:, 0], None)  # the spectral operator: g = y r
    np.testing.assert_allclose(lin, numpy_capply(A, y, X[:, 0])[1], rtol=0, atol=1e-12 * np.abs(lin).max())
    R, Out, Outf = cfused_apply_batch(A, y, X, lp, factor=np.stack([f, 1 - f, f], axis=1))
    for b, fb in enumerate((f, 1 - f, f)):
        rb, ob, obf = numpy_capply(A, y, X[:, b], L.complex_grad, factor=fb)
        np.testing.assert_allclose(R[:, b], rb, rtol=0, atol=1e-12 * np.abs(rb).max())
        np.testing.assert_allclose(Out[b], ob, rtol=0, atol=1e-12 * np.abs(ob).max())
        np.testing.assert_allclose(Outf[b], obf, rtol=0, atol=1e-12 * np.abs(obf).max())
    # complex64: against the reference in complex128 on the same rounded inputs.  Deterministic rounding
    # bound: r carries (2d) eps32 |A||x|, g (intensity: cubic in r) 3x that, and the sum over n rows n eps32;
    # so |error_j| <= 3 (n + 2d) eps32 S_j with S_j = sum_i |A_ij| |g_i|.
    A32, y32, x32 = A.astype(np.complex64), y.astype(np.float32), X[:, 0].astype(np.complex64)
    r32, out32 = cfused_apply(A32, y32, x32, lp)
    assert out32.dtype == np.complex64
    r0, out0 = numpy_capply(A32.astype(np.complex128), y32.astype(float), x32.astype(np.complex128), L.complex_grad)
    S = np.abs(A32.astype(np.complex128)).T @ np.abs(L.complex_grad(y32.astype(float), r0))
    assert np.all(np.abs(out32 - out0) <= 3 * (n + 2 * d) * EPS32 * S)
    assert np.abs(out32 - out0).max() > 0  # float32 arithmetic really happened


@pytest.mark.parametrize("layout", [(8, 64), (4, 32)], ids=["8 rows, 64-byte vectors", "4 rows, 32-byte vectors"])
def test_pipelined_kernel_layouts_and_edges(layout, monkeypatch):
    """Both layouts of the pipelined kernel (this machine picks one from its vector width; the other is what an
    AVX2 machine runs) against numpy, at sizes where the vector loop is empty, where rows are left over in a
    short last group, and with columns past the last full vector."""
    kernel = _ckernels._make_kernel(*layout)
    monkeypatch.setattr(_ckernels, "_cfused_kernel", kernel)
    L = Problem(field="complex", loss="intensity").loss_obj
    lp = compile_scalar_grad(L)
    rng = np.random.default_rng(7)
    for n, d in ((5, 1), (7, 3), (300, 4), (513, 21), (260, 64)):
        A = (rng.standard_normal((n, 2 * d)) / math.sqrt(2 * d)).view(np.complex128)
        y, f = rng.exponential(size=n), rng.random(n)
        x = (rng.standard_normal(d) + 1j * rng.standard_normal(d)) * 0.8
        r, out, outf = cfused_apply(A, y, x, lp, factor=f)
        r0, out0, outf0 = numpy_capply(A, y, x, L.complex_grad, factor=f)
        for got, ref in ((r, r0), (out, out0), (outf, outf0)):  # the same sums in another order
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * np.abs(ref).max(), err_msg=f"n={n}, d={d}")
        A32, y32, x32 = A.astype(np.complex64), y.astype(np.float32), x.astype(np.complex64)
        r32, out32 = cfused_apply(A32, y32, x32, lp)
        r0, out0 = numpy_capply(A32.astype(np.complex128), y32.astype(float), x32.astype(np.complex128), L.complex_grad)
        S = np.abs(A32.astype(np.complex128)).T @ np.abs(L.complex_grad(y32.astype(float), r0))
        assert np.all(np.abs(out32 - out0) <= 3 * (n + 2 * d) * EPS32 * S), f"n={n}, d={d}"  # bound as above


# ------------------------------------------------------------------ data
def test_data_law_and_reproducibility():
    p = cproblem()
    ref = generate_data(p, 300, seed=4)
    assert ref.A.dtype == np.complex128 and ref.field == "complex" and ref.z.dtype == np.complex128
    for kw in (dict(chunk_rows=256, workers=1), dict(chunk_rows=1000, workers=2), dict(workers=3)):
        other = generate_data(p, 300, seed=4, **kw)
        np.testing.assert_array_equal(other.A, ref.A)
        np.testing.assert_array_equal(other.y, ref.y)
    # dtype float32 with field complex is complex64: the complex128 data rounded
    for name in ("float32", "complex64"):
        low = generate_data(p, 300, seed=4, dtype=name)
        assert low.A.dtype == np.complex64
        np.testing.assert_array_equal(low.A, ref.A.astype(np.complex64))
    assert generate_data(p, 300, seed=4, dtype="float64").A.dtype == np.complex128
    n, d = ref.A.shape
    # ||x*||^2 = d, z = A x*, y = |z|^2 (noiseless phase retrieval)
    assert np.vdot(ref.x_star, ref.x_star).real == pytest.approx(d, rel=1e-12)
    np.testing.assert_allclose(ref.z, ref.A @ ref.x_star, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ref.y, np.abs(ref.z) ** 2, rtol=1e-12)
    # CN(0, I/d) entries: E|A_ij|^2 = 1/d, E A_ij^2 = 0 (circular); n d = 360000 entries, 5 standard errors
    nd = n * d
    assert np.mean(np.abs(ref.A) ** 2) * d == pytest.approx(1.0, abs=5 / math.sqrt(nd))
    assert abs(np.mean(ref.A**2)) * d < 5 * math.sqrt(1 / nd)
    # z ~ CN(0, 1): |z|^2 ~ Exp(1) (mean 1, sd 1) over n = 1200 samples, 5 standard errors
    assert np.mean(ref.y) == pytest.approx(1.0, abs=5 / math.sqrt(n))


def test_bad_dtypes_and_fields_are_refused():
    with pytest.raises(ValueError, match="complex dtypes need field='complex'"):
        generate_data(Problem(), 20, dtype="complex128")
    with pytest.raises(ValueError, match="dtype must be one of"):
        generate_data(cproblem(), 20, dtype="int32")
    real = generate_data(Problem(), 20, seed=0)
    with pytest.raises(ValueError, match="problem.field is 'complex'"):
        run_gd(real, np.ones(20), cproblem())
    with pytest.raises(ValueError, match="problem.field is 'complex'"):
        spectral_init(real, cproblem())
    with pytest.raises(ValueError, match="x0 must be real"):
        run_gd(real, np.ones(20) * 1j, Problem())


# ------------------------------------------------------------------ gradient descent and every method
@pytest.mark.parametrize("method", ["fused", "numpy"])
@pytest.mark.parametrize("case", list(CASES))
def test_each_method_is_real_gd_on_the_embedding(data, case, method):
    kw = CASES[case]
    p = cproblem(**kw)
    x0, info = initial_point(data, p)
    assert info.status == Status.SUCCESS
    traj = run_gd(data, x0, p, method=method)
    x_ref, obs_ref = reference_run(data, x0, p, kw)
    assert traj.status == Status.SUCCESS and traj.x.dtype == np.complex128
    np.testing.assert_allclose(traj.x, x_ref, rtol=0, atol=1e-12 * np.abs(x_ref).max())
    for k, v in obs_ref.items():
        np.testing.assert_allclose(traj.obs[k], v, rtol=1e-11, atol=1e-14, err_msg=k)
    m, q = obs_ref["m"], obs_ref["q"]
    np.testing.assert_allclose(traj.obs["cosine"], m / np.sqrt(q), rtol=1e-11)
    np.testing.assert_allclose(traj.obs["error"], 1 + q - 2 * m, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(traj.obs["objective"], obs_ref["train_loss"] + 0.1 * q, rtol=1e-11)
    # noiseless complex phase retrieval: E[(|z|^2 - |<a,x>|^2)^2] = 2 - 2(q + m^2) + 2q^2 (E|z|^4 = 2)
    np.testing.assert_allclose(traj.obs["test_error"], 2 - 2 * (q + m**2) + 2 * q**2, rtol=1e-10)
    assert traj.passes == STEPS + 1


@pytest.mark.parametrize("case", list(CASES))
def test_batch_trajectories_equal_single_runs(data, case):
    p = cproblem(**CASES[case])
    x0, _ = initial_point(data, p)
    lams, etas = [0.0, 0.2, 0.1], [0.1, 0.15, 0.05]
    for method in ("fused", "gemm"):
        batch = run_gd_batch(data, x0, p, lams, etas, method=method)
        assert batch.status == Status.SUCCESS
        for b, (lam, eta) in enumerate(zip(lams, etas)):
            one = run_gd(data, x0, p, lam=lam, eta=eta)
            for k in ("m", "q", "train_loss", "grad_norm", "test_error"):
                np.testing.assert_allclose(batch.obs[k][b], one.obs[k], rtol=1e-11, atol=1e-14, err_msg=k)
            np.testing.assert_allclose(batch.x[:, b], one.x, rtol=0, atol=1e-12 * np.abs(one.x).max())


def test_independent_of_chunking_and_threads():
    for kw in (CASES["nesterov"], CASES["langevin"]):
        p = cproblem(**kw, steps=3)
        ref = simulate(p, 120, seeds=[2], threads=1)
        other = simulate(p, 120, seeds=[2], threads=2, chunk_rows=256, data_threads=2)
        for k in ("m", "q", "train_loss", "grad_norm"):
            np.testing.assert_array_equal(other.per_seed[k], ref.per_seed[k], err_msg=k)
        for k in ("spectral_overlap", "top_eigenvalue"):
            np.testing.assert_array_equal(other.spectral[k], ref.spectral[k], err_msg=k)


def test_random_and_linear_starts(data):
    p = cproblem(init="random", m0=0.3, q0=0.5)
    x0, _ = initial_point(data, p)
    xs = data.x_star
    assert np.vdot(xs, x0) / D == pytest.approx(0.3, abs=1e-12)  # real: x0 = m0 x* + (part orthogonal to x*)
    assert np.vdot(x0, x0).real / D == pytest.approx(0.5, rel=1e-12)
    xi = child_rng(data.seed, KEY_RANDOM_INIT).standard_normal(2 * D).view(np.complex128)
    perp = xi - np.vdot(xs, xi) / D * xs
    np.testing.assert_allclose(x0 - 0.3 * xs, math.sqrt(0.5 - 0.09) * math.sqrt(D) * perp / np.linalg.norm(perp))
    lin = cproblem(init="linear", kappa=0.7)
    x0, _ = initial_point(data, lin)
    u = data.A.conj().T @ data.y  # u = A^H T(y), T = identity for the linear start
    np.testing.assert_allclose(x0, 0.7 * math.sqrt(D) * u / np.linalg.norm(u), rtol=1e-12)


def test_divergence_is_reported():
    res = simulate(cproblem(eta=40.0, steps=30), 80, seeds=2)
    assert res.status == Status.DIVERGED
    assert "diverged" in res.message and "smaller eta" in res.message
    assert np.isnan(res.per_seed["m"][:, -1]).all()


# ------------------------------------------------------------------ spectral start
@pytest.mark.parametrize("pre", ["lal", "mm"])
def test_lanczos_equals_dense_eigh_after_phase_alignment(pre):
    p = cproblem(alpha=3.0, preprocess=pre)
    data = generate_data(p, 150, seed=11)
    vd, di = spectral_init(data, p, method="dense")
    # the phase convention: x*^H v real and > 0, ||v||^2 = d
    c = np.vdot(data.x_star, vd)
    assert abs(c.imag) < 1e-10 * abs(c) and c.real > 0 and np.vdot(vd, vd).real == pytest.approx(150)
    assert di.overlap == pytest.approx(abs(c) / 150, rel=1e-12)
    w, _ = spectral_weights(data.y, p)
    Dm = data.A.conj().T @ (w[:, None] * data.A)
    np.testing.assert_allclose(Dm, Dm.conj().T, atol=1e-14)
    np.testing.assert_allclose(Dm @ vd, di.top_eigenvalue * vd, atol=1e-9)
    for solver in ("hermitian", "embedded"):
        for fused in (True, False):
            second = pre == "mm" and fused and solver == "hermitian"  # the deflated bulk-edge solve
            # one numba thread: ~220 tiny operator applications, where waking a second thread costs more
            vl, li = spectral_init(
                data, p, method="lanczos", tol=1e-10, fused=fused, complex_eigsh=solver, second=second, threads=1
            )
            assert li.status == Status.SUCCESS and li.method == "lanczos"
            assert li.top_eigenvalue == pytest.approx(di.top_eigenvalue, rel=1e-9)
            np.testing.assert_allclose(vl, vd, atol=1e-6)
            assert li.overlap == pytest.approx(di.overlap, abs=1e-9)
            if second:
                assert li.second_eigenvalue == pytest.approx(di.second_eigenvalue, rel=1e-6)


REF = Path(__file__).parent / "data" / "complex_spectral_overlaps.json"
#: docs/theory.md §7.1 (quadrature, rounded to 4 digits); reproduced by benchmarks/complex_spectral_reference.py
RHO2 = {"2.0": 0.3381, "4.0": 0.7345, "6.0": 0.8673}


def test_spectral_overlap_against_the_complex_quadrature():
    """rho^2 of noiseless complex PR, T = 1 - 1/y, at d = 2000 (stored per-seed overlaps, 16 seeds per alpha).

    Tolerance: 3 standard errors of the seed mean + 5e-5 (rounding of the reference) + the floor bias of
    T_K = max(T, -100) from quadrature (<= 2.3e-5 at alpha = 6, stored with the data)."""
    rec = json.loads(REF.read_text())
    assert rec["dim"] >= 2000 and rec["t_floor"] == 100.0
    for a, ref in RHO2.items():
        rho2 = np.asarray(rec["simulation"][a]["rho2"])
        assert rho2.size >= 8
        se = rho2.std(ddof=1) / math.sqrt(rho2.size)
        bias = abs(rec["quadrature"][a]["floor_bias"]["100.0"])
        assert bias < 5e-5
        assert abs(rho2.mean() - ref) <= 3 * se + 5e-5 + bias, (a, rho2.mean(), se)
        # the stored quadrature is the reference to its rounding
        assert rec["quadrature"][a]["rho2"] == pytest.approx(ref, abs=5e-5)
        # lambda_1 = 1/alpha above the threshold (docs/theory.md §7.1)
        assert rec["quadrature"][a]["lambda1"] == pytest.approx(1 / float(a), abs=1e-8)


def test_stored_overlaps_come_from_this_simulator():
    """One cheap live seed (alpha = 2, d = 2000) reproduces its stored overlap."""
    rec = json.loads(REF.read_text())
    p = cproblem(alpha=2.0, preprocess="lal", steps=0)
    res = simulate(p, rec["dim"], seeds=[0], spectral=SpectralInitSettings(t_floor=rec["t_floor"]))
    k = rec["simulation"]["2.0"]["seeds"].index(0)
    assert res.spectral["spectral_overlap_sq"][0] == pytest.approx(rec["simulation"]["2.0"]["rho2"][k], abs=1e-6)


# ------------------------------------------------------------------ test error, backends, CLI
def test_complex_test_error_is_the_closed_form():
    m, q = np.array([0.0, 0.3, 0.8, 0.95]), np.array([1.0, 0.4, 0.9, 1.3])
    closed = 2 - 2 * (q + m**2) + 2 * q**2
    pr = Problem(field="complex").model_obj
    np.testing.assert_allclose(pr.test_error(m, q, field="complex"), closed, rtol=1e-12)
    noisy = Problem(field="complex", noise=0.3).model_obj
    np.testing.assert_allclose(noisy.test_error(m, q, field="complex"), closed + 0.09, rtol=1e-12)
    with pytest.raises(ValueError, match="field must be one of"):
        pr.test_error(m, q, field="quaternion")


def test_jax_backend_refuses_complex():
    from sidmft.backends.jax_gd import gd_jax

    with pytest.raises(ValueError, match="complex"):
        simulate(cproblem(), 40, backend="jax")
    data = generate_data(cproblem(), 40, seed=0)
    with pytest.raises(ValueError, match="real signals only"):
        gd_jax(data.A, data.y, data.x_star, data.x_star, loss="intensity", alpha=4.0, lam=0.1, eta=0.1, steps=1)


def test_cli_field_complex():
    from sidmft.cli import main

    runner = CliRunner()
    args = ["simulate", "--field", "complex", "--dim", "80", "--steps", "3", "--seeds", "2", "--json", "--no-progress"]
    ok = runner.invoke(main, args + ["--alpha", "4"])
    assert ok.exit_code == 0, ok.output
    out = json.loads(ok.stdout)
    assert out["dtype"] == "complex128" and out["field"] == "complex"
    assert 0 < out["spectral_overlap"] <= 1 and len(out["m"]) == 4
    bad = runner.invoke(main, args + ["--backend", "jax"])
    assert bad.exit_code == 2 and "complex" in bad.output
