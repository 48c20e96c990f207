"""The solver contract (docs/DEVELOPING.md, "Rules"): for every problem in the valid range,

* invalid input raises ``ValueError`` (or ``TypeError``) naming the parameter, before any work;
* otherwise the solver *returns*: no other exception escapes; the result has a :class:`Status`;
  a non-success result carries a non-empty message; a success has finite outputs.

Problems are drawn by Hypothesis (derandomised, see conftest.py) across every built-in model (noise 0
and > 0), loss, preprocessing, alpha in [0.2, 20], lam in [0, 2], eta in [1e-3, 5], both
initialisations and kappa (a number or "empirical"), with small sizes so the file stays fast.
Covered: ``spectral``, ``dmft``, ``simulate``, ``compare`` and one sweep point
(:func:`sidmft.sweep.compute_point`).  The fixed point has its own contract test
(tests/test_fixed_point.py); ``compare`` is drawn with and without it.

A message that reads like a caught exception ("unexpected KeyError: ...", "LinAlgError: ...") fails the
test too: it means an exception escaped a solver stage into a catch-all handler, whose cause is to be
fixed in that stage.

Also: a deterministic Lanczos (ARPACK) non-convergence in the simulator's spectral initialisation,
and ``kappa="empirical"`` (||x0||^2/d = mean(y) in simulation, E[y] in the theory).
"""

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sidmft import Problem, Status
from sidmft.comparison import compare
from sidmft.simulator import SpectralInitSettings, generate_data, simulate, spectral_init
from sidmft.theory.dmft import dmft
from sidmft.theory.spectral import spectral

MODELS = ("phase-retrieval", "linear", "relu", "logistic")
LOSSES = ("intensity", "amplitude", "square", "logistic")
PROBLEM_PARAMS = (
    "model",
    "noise",
    "loss",
    "preprocess",
    "alpha",
    "lam",
    "eta",
    "steps",
    "init",
    "kappa",
    "m0",
    "q0",
    "x0",
    "mm",
)

# messages that only come from a catch-all handler around a solver (an exception that escaped a stage)
_CAUGHT = re.compile(r"\bunexpected \w+|Traceback|\b\w+(Error|Exception): ")

SLOW = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]


def _preprocess():
    level = st.floats(-1.0, 10.0, allow_nan=False).map(lambda c: f"{c:.3g}")
    return st.one_of(
        st.sampled_from(["lal", "mm", "identity"]),
        st.tuples(st.sampled_from(["clip", "trim"]), level).map(lambda t: f"{t[0]}:{t[1]}"),
    )


@st.composite
def problem_kwargs(draw, max_steps=10):
    kw = dict(
        model=draw(st.sampled_from(MODELS)),
        noise=draw(st.one_of(st.just(0.0), st.floats(0.01, 1.5))),
        loss=draw(st.sampled_from(LOSSES)),
        preprocess=draw(_preprocess()),
        alpha=draw(st.floats(0.2, 20.0)),
        lam=draw(st.one_of(st.just(0.0), st.floats(0.0, 2.0))),
        eta=draw(st.floats(1e-3, 5.0)),
        steps=draw(st.integers(0, max_steps)),
        init=draw(st.sampled_from(["spectral", "random"])),
    )
    if kw["init"] == "spectral":
        kw["kappa"] = draw(st.one_of(st.just("empirical"), st.floats(0.1, 3.0)))
    else:
        q0 = draw(st.floats(0.05, 4.0))
        # slightly beyond |m0| <= sqrt(q0) too, to exercise the validation
        kw.update(q0=q0, m0=draw(st.floats(-1.05, 1.05)) * math.sqrt(q0))
    return kw


def _make(kw) -> Problem:
    """The Problem, or (for an invalid combination) check the ValueError names a parameter and skip."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Problem(**kw)
    except ValueError as e:
        msg = str(e)
        assert any(p in msg for p in PROBLEM_PARAMS), f"ValueError does not name the parameter: {msg}"
        assume(False)


def _check_result(res, finite_when_success=()):
    assert isinstance(res.status, Status)
    assert isinstance(res.message, str)
    if not res.success:
        assert res.message.strip(), f"status {res.status.label} without a message"
    # a message that reads like a caught traceback means an exception escaped a solver stage
    assert not _CAUGHT.search(res.message), f"an exception escaped a solver stage: {res.message}"
    if res.success:
        for name, value in finite_when_success:
            assert np.all(np.isfinite(np.asarray(value, dtype=float))), f"success with non-finite {name}"


# ------------------------------------------------------------------------------------------- solvers
@settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=SLOW)
@given(problem_kwargs())
def test_spectral_theory_contract(kw):
    p = _make(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = spectral(p)
    _check_result(
        res,
        [
            ("rho", res.rho),
            ("top_eigenvalue", res.top_eigenvalue),
            ("alpha_c", res.alpha_c),
            ("l_star", res.l_star),
            ("R_S", res.R_S),
        ],
    )
    if res.success:
        assert 0 < res.rho <= 1 and res.passed


@settings(max_examples=160, derandomize=True, deadline=None, suppress_health_check=SLOW)
@given(problem_kwargs(), st.integers(0, 2**16), st.sampled_from([400, 600, 1000]))
def test_dmft_contract(kw, seed, samples):
    p = _make(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = dmft(p, samples=samples, batches=2, seed=seed)
    _check_result(
        res, [(k, res.mean(k)) for k in ("m", "q", "cosine", "error", "train_loss", "grad_norm", "test_error")]
    )
    assert res.mean("m").shape == (p.steps + 1,)
    if res.status == Status.BLOWUP:
        assert res.blowup_step is not None


@settings(max_examples=120, derandomize=True, deadline=None, suppress_health_check=SLOW)
@given(
    problem_kwargs(max_steps=15),
    st.integers(40, 120),
    st.integers(1, 2),
    st.integers(0, 2**16),
    st.sampled_from(["float64", "float32"]),
)
def test_simulate_contract(kw, dim, seeds, seed, dtype):
    p = _make(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = simulate(p, dim=dim, seeds=seeds, seed=seed, dtype=dtype)
    _check_result(
        res, [(k, res.per_seed[k]) for k in ("m", "q", "cosine", "error", "train_loss", "grad_norm", "test_error")]
    )
    assert res.per_seed["m"].shape == (seeds, p.steps + 1)
    assert len(res.statuses) == seeds and all(isinstance(s, Status) for s in res.statuses)
    if res.success and p.init == "spectral":
        assert np.all(np.isfinite(res.spectral_overlap))


@settings(max_examples=50, derandomize=True, deadline=None, suppress_health_check=SLOW)
@given(problem_kwargs(max_steps=5))
def test_compare_contract(kw):
    # without the fixed point (its own contract test covers it; some corners take ~100 s to report
    # NOT_CONVERGED); compare's handling of a failing fixed point is tested below
    p = _make(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = compare(p, dim=40, seeds=2, samples=400, batches=2, fixed_point=False)
    _check_result(res, [("dmft m", res.dmft.mean("m")), ("simulation m", res.simulation.per_seed["m"])])
    parts = [("spectral", res.spectral), ("dmft", res.dmft), ("simulation", res.simulation)]
    for name, part in parts:
        assert isinstance(part.status, Status)
        if not part.success:
            # the part's status is passed through in compare's message (and status, see compare)
            assert f"{name}: {part.status.label}" in res.message
            assert not res.success or (name == "spectral" and p.init != "spectral")


@pytest.mark.parametrize(
    "kw, status, part",
    [
        (dict(alpha=0.4, steps=3), Status.BELOW_THRESHOLD, "spectral"),  # lal/PR: alpha_c = 1/2
        (dict(alpha=3.0, eta=1.0, steps=8), Status.BLOWUP, "dmft"),
        (dict(alpha=3.0, preprocess="identity", steps=3), Status.NOT_APPLICABLE, "spectral"),  # sup T = inf
        (dict(alpha=3.0, model="logistic", loss="logistic", steps=3), Status.NOT_APPLICABLE, "spectral"),
    ],
)
def test_compare_passes_part_statuses_through(kw, status, part):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = compare(Problem(**kw), dim=40, seeds=2, samples=400, batches=2, fixed_point=False)
    assert res.status == status
    assert f"{part}: {status.label}" in res.message


@pytest.mark.parametrize("behaviour", ["raise", "not-converged"])
def test_compare_reports_a_failing_fixed_point(monkeypatch, behaviour):
    """The fixed point is an optional asymptote in compare: whatever it does, compare returns, keeps the
    other parts and names the fixed point's outcome in its message."""
    import sidmft.theory.fixed_point as fpmod
    from sidmft.results import Result

    def fake(problem, start=None, **kw):
        if behaviour == "raise":
            raise np.linalg.LinAlgError("singular Jacobian (injected)")
        return Result(problem=problem, status=Status.NOT_CONVERGED, message="iteration limit (injected)")

    monkeypatch.setattr(fpmod, "fixed_point", fake)
    res = compare(Problem(alpha=3.0, steps=3), dim=40, seeds=2, samples=400, batches=2, fixed_point=True)
    assert res.status == Status.SUCCESS and res.dmft.success and res.simulation.success
    assert "fixed point" in res.message and "injected" in res.message
    assert res.fixed_point.status == (Status.FAILED if behaviour == "raise" else Status.NOT_CONVERGED)


@settings(max_examples=50, derandomize=True, deadline=None, suppress_health_check=SLOW)
@given(
    problem_kwargs(max_steps=5),
    st.sampled_from([["spectral"], ["dmft"], ["simulate"], ["spectral", "dmft", "simulate"]]),
)
def test_sweep_point_contract(kw, outputs):
    from sidmft.sweep import SweepError, SweepSpec, compute_point

    p = _make(kw)
    fixed = {k: v for k, v in p.to_dict().items() if v is not None and k != "alpha"}
    try:
        spec = SweepSpec(
            grid={"alpha": [p.alpha]},
            fixed=fixed,
            outputs=outputs,
            settings=dict(dim=40, seeds=2, samples=400, batches=2),
        )
    except SweepError as e:  # an invalid point is refused before any work, naming the parameter
        assert any(k in str(e) for k in PROBLEM_PARAMS)
        assume(False)
    ds = compute_point(spec.task((0,)))
    for o in outputs:
        label = ds.attrs[f"{o}_status"]
        message = ds.attrs[f"{o}_message"]
        assert label in {s.label for s in Status}
        if label != "success":
            assert message.strip()
        # compute_point records an exception raised inside an output as 'failed' with its type name
        assert not _CAUGHT.search(message), f"an exception escaped the {o} solver: {message}"


def test_invalid_settings_raise_before_work():
    p = Problem(steps=3)
    with pytest.raises(ValueError, match="samples"):
        dmft(p, samples=10, batches=2)
    with pytest.raises(ValueError, match="dim"):
        simulate(p, dim=1)
    with pytest.raises(ValueError, match="maxiter"):
        simulate(p, dim=50, spectral=SpectralInitSettings(maxiter=0))
    with pytest.raises(TypeError, match="spectral"):
        simulate(p, dim=50, spectral=dict(max_iter=5))
    with pytest.raises(ValueError, match="seeds"):
        compare(p, dim=40, seeds=1)
    with pytest.raises(ValueError, match="init"):
        compare(Problem(init="given", x0=np.ones(40), steps=2), dim=40, seeds=2)
    with pytest.raises(TypeError, match="problem"):
        spectral("phase-retrieval")


# ------------------------------------------------------------------------ Lanczos non-convergence
def test_lanczos_no_convergence_is_a_status():
    """ARPACK stopped after one restart at tol 1e-12 returns no converged eigenvector (deterministic:
    fixed data and start vector).  Without the dense fallback the seed is FAILED with a message and
    GD is not run; with it (default for d <= 4000) the exact dense eigenvector is used."""
    p = Problem(alpha=3.0, steps=3)
    forced = dict(method="lanczos", maxiter=1, tol=1e-12)
    data = generate_data(p, 400, seed=0)
    v, info = spectral_init(data, p, dense_fallback=0, **forced)
    assert info.status == Status.FAILED
    assert "Lanczos" in info.message and "maxiter=1" in info.message
    assert np.all(np.isnan(v))

    res = simulate(p, dim=400, seeds=2, spectral=SpectralInitSettings(**forced, dense_fallback=0))
    assert res.status == Status.FAILED and res.statuses == [Status.FAILED, Status.FAILED]
    assert "Lanczos" in res.message and "GD not run" in res.message
    assert np.all(np.isnan(res.per_seed["m"])) and np.all(np.isnan(res.spectral_overlap))

    # default: dense eigh fallback, the same vector as method="dense" on the same data
    vf, fb = spectral_init(data, p, **forced)
    vd, dense = spectral_init(data, p, method="dense")
    assert fb.status == Status.SUCCESS and fb.method == "dense-fallback"
    assert "Lanczos" in fb.message and "fallback" in fb.message
    assert fb.overlap == pytest.approx(dense.overlap, abs=1e-10)
    assert abs(vf @ vd) / 400 == pytest.approx(1.0, abs=1e-10)
    res = simulate(p, dim=400, seeds=1, spectral=SpectralInitSettings(**forced))
    assert res.success and res.info["spectral_method"] == "dense-fallback"


# ------------------------------------------------------------------------------ kappa = "empirical"
def test_kappa_empirical_simulation_uses_mean_y():
    """x0 = sqrt(mean y) v with ||v||^2 = d, so q_0 = ||x0||^2/d = mean(y) on the seed's data."""
    p = Problem(model="phase-retrieval", alpha=2.0, kappa="empirical", steps=0)
    dim, seeds = 300, 4
    res = simulate(p, dim=dim, seeds=seeds, seed=5)
    assert res.success
    my = np.array([np.mean(generate_data(p, dim, seed=5 + k).y) for k in range(seeds)])
    np.testing.assert_allclose(res.per_seed["q"][:, 0], my, rtol=1e-10)
    # phase retrieval: y = z^2, E[y] = 1, sd(mean y) = sqrt(2/n), n = alpha d = 600; 5 sd per seed
    n = 2 * dim
    assert np.all(np.abs(my - 1.0) < 5 * math.sqrt(2.0 / n))


def test_kappa_empirical_with_nonpositive_sample_mean_is_a_status():
    """E[y] = 1/sqrt(2 pi) > 0 for relu, but with noise 1.5 and n = 10 labels the sample mean is often
    <= 0: that seed is FAILED with a message (no start vector), the other seeds are kept."""
    p = Problem(model="relu", noise=1.5, alpha=0.25, preprocess="clip:3", kappa="empirical", steps=2)
    means = {s: float(np.mean(generate_data(p, 40, seed=s).y)) for s in range(20)}
    bad = min(s for s, m in means.items() if m <= 0)
    good = min(s for s, m in means.items() if m > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = simulate(p, dim=40, seeds=[bad, good])
    assert res.statuses[0] == Status.FAILED and res.statuses[1] != Status.FAILED
    assert res.status == Status.FAILED and "mean(y)" in res.message
    assert np.all(np.isnan(res.per_seed["m"][0])) and np.all(np.isfinite(res.per_seed["m"][1]))


def test_kappa_empirical_theory_uses_expected_y():
    """Theory: kappa = sqrt(E[y]).  Closed forms: E[z^2] = 1 (phase retrieval, additive noise of mean 0
    included) and E[max(z, 0)] = 1/sqrt(2 pi) (relu)."""
    pr = Problem(model="phase-retrieval", noise=0.3, alpha=3.0, kappa="empirical", steps=2)
    assert pr.kappa_value() == pytest.approx(1.0, abs=1e-9)
    sp = spectral(pr)
    assert sp.success and sp.kappa == pytest.approx(1.0, abs=1e-9)
    relu = Problem(model="relu", alpha=3.0, kappa="empirical", preprocess="clip:3", steps=2)
    assert relu.kappa_value() ** 2 == pytest.approx(1.0 / math.sqrt(2.0 * math.pi), rel=1e-9)
    # the DMFT starts at q_0 = kappa^2 (||v||^2 = d): exact, no Monte-Carlo error
    th = dmft(Problem(model="phase-retrieval", alpha=3.0, kappa="empirical", steps=2), samples=400, batches=2)
    assert th.success and th.mean("q")[0] == pytest.approx(1.0, rel=1e-9)
    # E[y] = 0 (linear, logistic labels +-1): refused when the problem is built, naming kappa
    for model in ("linear", "logistic"):
        with pytest.raises(ValueError, match="kappa"):
            Problem(model=model, kappa="empirical")
    # kappa is unused by init="random": no check there
    Problem(model="linear", kappa="empirical", init="random", m0=0.1, q0=1.0)


# ----------------------------------------------------------------- regressions found by the draws above
@pytest.mark.parametrize(
    "sigma, alpha",
    [
        (1.3699349173991553, 0.7795702578349487),
        (1.1808206940635733, 5.888397765727591),
        (0.25356643340512186, 0.8150951650549992),
    ],
)
def test_lal_threshold_noisy_linear_closed_form(sigma, alpha):
    """These draws made brentq raise ("f(a) and f(b) must have different signs"): for T = 'lal' the
    margin G vanishes at l = sup T up to rounding.  Closed form: y = z + sigma eps gives
    E[z^2|y] - 1 = (w^2 - 1)/(1 + sigma^2), w = y/sqrt(1 + sigma^2) ~ N(0, 1), and
    alpha_c = 1/E[(E[z^2|y] - 1)^2] = (1 + sigma^2)^2 / 2."""
    res = spectral(Problem(model="linear", noise=sigma, preprocess="lal", alpha=alpha))
    assert res.status in (Status.SUCCESS, Status.BELOW_THRESHOLD)
    assert res.alpha_c == pytest.approx((1 + sigma**2) ** 2 / 2, rel=1e-9)
    assert (res.status == Status.SUCCESS) == (alpha > res.alpha_c)


def test_negative_sup_T_is_not_applicable():
    """clip:C with C < 0 has sup T = C < 0 (was reported FAILED: 'exceeds its declared sup' from a
    relative slack that shrinks the bound when it is negative)."""
    res = spectral(Problem(model="linear", noise=0.5, preprocess="clip:-0.5", alpha=3.0))
    assert res.status == Status.NOT_APPLICABLE and "sup T" in res.message


def test_dmft_numerical_failure_in_a_stage_is_a_status(monkeypatch):
    """A failure inside the forward pass (here an injected LinAlgError) is returned as FAILED with the
    reason, not raised; the observables are NaN."""
    import sidmft.theory.dmft as dmod

    def boom(self):
        raise np.linalg.LinAlgError("Cholesky factor not positive definite (injected)")

    monkeypatch.setattr(dmod.BatchSolver, "run", boom)
    res = dmft(Problem(alpha=3.0, steps=3), samples=400, batches=2)
    assert res.status == Status.FAILED and "injected" in res.message
    assert np.all(np.isnan(res.mean("m"))) and res.mean("m").shape == (4,)
