"""The DMFT of the first-order methods (docs/theory.md §6.1-§6.5, §6.7): one engine for all of them.

Independent sources:
* the finite-size simulation ``tests/data/dmft_algorithms_reference.json`` (benchmarks/algorithms_reference.py,
  whose docstring has the table of points): every method and schedule -- heavy-ball, Nesterov, SGD, Langevin,
  GD with a step, a cosine and an explicit-list schedule, heavy-ball with a step schedule, GD and SGD from the
  linear start (§6.6, logistic labels and loss) -- at two points p1, p2 (different alpha, lam, eta and method
  parameter; disjoint seeds), d = 2000, >= 32 seeds, spectral floor K = 1000.  Every observable at t in
  {1, 5, 10, 30} must agree within 3 combined standard errors (simulation seed spread and DMFT batch spread,
  16 batches of 5000 paths, DMFT seed 11; the finite-size bias at d = 2000 is O(1/d), below both), except
  where the solver itself flags an average as heavy-tailed (``res.unreliable``; only SGD on the intensity loss
  at p1: grad_norm from t = 17) and one known failure (the same average at t = 10, z = -3.6, flagged only from
  t = 17 at this seed: KNOWN_FAILURES).  Measured max |z| over the compared (observable, t), DMFT seed 11:

    heavy-ball          p1 1.68 (q, t = 1)              p2 1.89 (grad_norm, t = 30)
    nesterov            p1 0.89 (train_loss, t = 30)    p2 1.83 (q, t = 1)
    sgd                 p1 2.78 (objective, t = 30)     p2 2.16 (q, t = 30)
    langevin            p1 2.65 (train_loss, t = 30)    p2 1.14 (q, t = 30)
    gd-step-schedule    p1 1.11 (m, t = 1)              p2 2.00 (grad_norm, t = 10)
    gd-cosine-schedule  p1 1.76 (error, t = 1)          p2 2.79 (test_error, t = 30)
    gd-list-schedule    p1 1.50 (cosine, t = 30)        p2 2.35 (train_loss, t = 10)
    heavy-ball-step     p1 1.22 (grad_norm, t = 5)      p2 1.78 (m, t = 30)
    gd-linear-init      p1 1.21 (q, t = 30)             p2 1.64 (m, t = 5)
    sgd-logistic        p1 1.92 (q, t = 1)              p2 1.57 (grad_norm, t = 30)

  Each entry records its provenance (version, settings, seeds, seconds); two stored seeds are re-simulated to
  1e-10 (relative);
* the closed-form overlap of the linear start (§6.6), rho_lin = E[Tz]/sqrt(E[Tz]^2 + E[T^2]/alpha), with
  E[Tz] = E[z tanh z] for logistic labels at noise 0.5 and T(y) = y (Gauss-Hermite quadrature in the test);
* exact identities: heavy-ball at beta = 0, SGD at batch = 1 and Langevin at temperature = 0 are GD, so
  their DMFT must be GD's bit for bit (same paths, same arithmetic); the probe-field gradient norm
  (§6.7) of GD equals (C(t,t) - 2 C(t,t+1) + C(t+1,t+1))/eta^2 to rounding when the responses are the
  integration-by-parts ones (then R_phi = R_g(t, .) on the same paths);
* fabricated per-batch data for the heavy-tail and run-away detectors of the solver
  (``_assemble.unreliable``, ``_assemble.diverging_batches``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import pathlib
from types import SimpleNamespace

import numpy as np
import pytest

import sidmft
from sidmft import OBSERVABLES, Problem, Status
from sidmft.simulator import SpectralInitSettings
from sidmft.theory.dmft import _assemble, dmft
from sidmft.theory.dmft import _core as _dmft_core
from sidmft.theory.dmft import _method as _dmft_params
from sidmft.theory.dmft import _solve as dmft_module

REF = pathlib.Path(__file__).parent / "data" / "dmft_algorithms_reference.json"
BASE = dict(loss="intensity", preprocess="lal", alpha=3.0, lam=0.1, eta=0.1, steps=30)
#: logistic labels at noise 0.3 (the linear-start cases at p2)
CASE_LOGISTIC = dict(init="linear", model="logistic", noise=0.3, loss="logistic", preprocess="identity", alpha=3.0)
N_SIGMA = 3.0
DMFT_SEED = 11
#: every stored case: a method or schedule at its two points (benchmarks/algorithms_reference.py)
CASES = [
    f"{m}/{p}"
    for m in (
        "heavy-ball",
        "nesterov",
        "sgd",
        "langevin",
        "gd-step-schedule",
        "gd-cosine-schedule",
        "gd-list-schedule",
        "heavy-ball-step",
        "gd-linear-init",
        "sgd-logistic",
    )
    for p in ("p1", "p2")
]


@pytest.mark.parametrize(
    "special",
    [
        dict(algorithm="heavy-ball", beta=0.0),
        dict(algorithm="sgd", batch=1.0),
        dict(algorithm="langevin", temperature=0.0),
    ],
    ids=["heavy-ball-beta0", "sgd-batch1", "langevin-tau0"],
)
def test_special_cases_are_gd_bitwise(special):
    kw = dict(BASE, steps=8)
    gd = dmft(Problem(**kw), samples=1200, batches=2, seed=4)
    other = dmft(Problem(**kw, **special), samples=1200, batches=2, seed=4)
    assert gd.status == other.status == Status.SUCCESS
    for k in OBSERVABLES:
        np.testing.assert_array_equal(other.per_batch[k], gd.per_batch[k], err_msg=k)
    for k in ("C_x", "R_x", "R_g", "Sigma", "mu"):
        np.testing.assert_array_equal(getattr(other, k), getattr(gd, k), err_msg=k)


def test_probe_gradient_norm_is_gd_formula(monkeypatch):
    """§6.7 on GD: the probe phi = l'(y, r^t) is g^t itself, so with IBP responses its response row is
    R_g(t, .) and the probe formula must reproduce the C_x formula up to rounding."""
    problem = Problem(**dict(BASE, steps=10))
    kw = dict(samples=3000, batches=2, seed=2, precision="float64", responses="ibp")
    ref = dmft(problem, **kw)
    orig = dmft_module.method_steps

    def forced(p):
        return dataclasses.replace(orig(p), force_probe=True)

    monkeypatch.setattr(dmft_module, "method_steps", forced)
    plain = functools.partial(_dmft_params.probe_grad_norm, crossfit=False)  # the formula on all paths
    monkeypatch.setattr(_dmft_core, "probe_grad_norm", plain)
    probed = dmft(problem, **kw)
    np.testing.assert_allclose(probed.per_batch["grad_norm"], ref.per_batch["grad_norm"], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(probed.per_batch["m"], ref.per_batch["m"])


#: DMFT settings of the comparison with simulation: 16 batches (an SE estimate good to ~18 %) of 5000 paths
DMFT_KW = dict(samples=80000, batches=16, seed=DMFT_SEED)
#: the observables the solver flags as heavy-tailed (``res.unreliable``, {observable: first step}) per case, at
#: DMFT_KW; every other case must be flagged nowhere.  SGD (b = 0.5) on the intensity loss at p1: the factor
#: 1/b = 2 makes samples with z^2 > alpha/(2 eta) = 15 locally unstable (sidmft.stability: about 8.6 of the
#: 80000 paths and 0.65 of a seed's n = 6000 samples), and single paths dominate the gradient-norm average from
#: t = 17 on at DMFT seed 11 (from t = 9, 5, 10 at seeds 0, 1, 2: test_sgd_intensity_flags_over_seeds)
EXPECTED_UNRELIABLE = {"sgd/p1": {"grad_norm": 17}}
#: the comparisons the solver flags, each with its measured outcome at 3 SE: True passes, False fails (then a
#: strict expected failure).  grad_norm at t = 30: DMFT 0.0047 +- 0.0006 against 0.0152 +- 0.0026 simulated
FLAGGED_OUTCOME = {("sgd/p1", "grad_norm", 30): False}
#: comparisons that fail at 3 SE and that the solver does not flag, each with the reason (measured, reported as
#: defects of the package).  Each is a strict expected failure of "flagged, or within 3 SE": a fix, or the solver
#: flagging it, turns it into an error to be moved out of this table.
KNOWN_FAILURES = {
    # the same heavy tails as t = 30, which the detector (one path > 10 % of the sum) flags only from t = 17 at
    # this DMFT seed: DMFT 0.0216 +- 0.0014 against 0.0335 +- 0.0030 simulated, z = -3.6
    ("sgd/p1", "grad_norm", 10): "heavy-tailed average the solver does not flag at this seed",
}


@functools.cache
def _reference() -> dict:
    return json.loads(REF.read_text())


@functools.cache
def _dmft_of(case: str):
    return dmft(Problem(**_reference()["cases"][case]["problem"]), **DMFT_KW)


def _z_scores(case: str) -> dict:
    """{(observable, t): (DMFT - simulation) / combined SE} at the stored times."""
    entry, res, idx = _reference()["cases"][case], _dmft_of(case), _reference()["times"]
    z = {}
    for k in OBSERVABLES:
        sim_m, sim_se = np.array(entry["observables"][k]["mean"]), np.array(entry["observables"][k]["se"])
        d_m, d_se = res.mean(k)[idx], res.se(k)[idx]
        for t, v in zip(idx, (d_m - sim_m) / np.sqrt(sim_se**2 + d_se**2)):
            z[(k, t)] = float(v)
    return z


def _flagged(case: str, k: str, t: int) -> bool:
    return t >= _dmft_of(case).unreliable.get(k, 10**9)


def _case_names() -> list:
    return list(_reference()["cases"])


def test_reference_provenance_and_independent_points():
    """Every method and schedule has two entries, p1 and p2, at different (alpha, lam, eta, parameter); no two
    entries share a seed (each an independent draw); each records the version, the simulator settings, the seeds
    (>= 32) and its cost."""
    cases = _reference()["cases"]
    methods = {n.split("/")[0] for n in cases}
    assert len(methods) == 10 and set(cases) == {f"{m}/{p}" for m in methods for p in ("p1", "p2")}
    for m in methods:
        p1, p2 = cases[f"{m}/p1"], cases[f"{m}/p2"]
        assert p1["problem"] != p2["problem"] and p1["problem"]["alpha"] != p2["problem"]["alpha"], m
    for name, e in cases.items():
        s = e["settings"]
        assert set(s) == {"dim", "seeds", "first_seed", "dtype", "t_floor", "backend"}, name
        assert e["seed_list"] == list(range(s["first_seed"], s["first_seed"] + s["seeds"])), name
        assert s["seeds"] >= 32 and s["dim"] == 2000 and s["t_floor"] == 1000.0, name
        assert e["sidmft_version"] and e["seconds"] > 0, name
    seeds = [s for e in cases.values() for s in e["seed_list"]]
    assert len(seeds) == len(set(seeds))


@pytest.mark.parametrize("case", ["heavy-ball-step/p1", "sgd-logistic/p2"])
def test_simulator_reproduces_a_stored_seed(case):
    """The simulator, run again on the first stored seed with the stored settings, gives the stored trajectory of
    every observable to 1e-10: a change of the simulator cannot leave the reference silently stale."""
    entry = _reference()["cases"][case]
    s = entry["settings"]
    sim = sidmft.simulate(
        Problem(**entry["problem"]),
        s["dim"],
        seeds=[s["first_seed"]],
        dtype=s["dtype"],
        backend=s["backend"],
        spectral=SpectralInitSettings(t_floor=s["t_floor"]),
    )
    assert sim.success, sim.message
    for k in OBSERVABLES:
        np.testing.assert_allclose(sim.per_seed[k][0], entry["first_seed_values"][k], rtol=1e-10, atol=0, err_msg=k)


@pytest.mark.parametrize("case", CASES)
def test_dmft_matches_simulation(case):
    """Every observable at every stored time within 3 combined SE, except where the solver flags the average as
    heavy-tailed (``res.unreliable``); which observables are flagged is itself checked."""
    res = _dmft_of(case)
    assert res.status == Status.SUCCESS, res.message
    assert res.unreliable == EXPECTED_UNRELIABLE.get(case, {}), (case, res.unreliable)
    z = _z_scores(case)
    assert all(np.isfinite(v) for v in z.values()), (case, z)
    compared = {kt: v for kt, v in z.items() if not _flagged(case, *kt) and (case, *kt) not in KNOWN_FAILURES}
    bad = {kt: v for kt, v in compared.items() if abs(v) > N_SIGMA}
    assert not bad, (case, bad)
    kernel_obs = ("m", "q", "cosine", "error")  # never excluded (the kernels converge in the number of paths)
    assert all(((k, t) in compared) for k in kernel_obs for t in _reference()["times"]), case


def test_sgd_intensity_heavy_tails_are_flagged_by_the_solver():
    """SGD (b = 0.5) on the intensity loss: the solver itself names the heavy-tailed averages, in
    ``res.unreliable`` and as a WARNING in the message, and still reports m and q (which agree with the
    simulation at every t: ``test_dmft_matches_simulation``)."""
    res = _dmft_of("sgd/p1")
    assert res.status == Status.SUCCESS
    assert "grad_norm" in res.unreliable and res.unreliable["grad_norm"] <= 30
    assert "WARNING: heavy tails" in res.message and "grad_norm" in res.message
    assert "WARNING: stability" in res.message  # about 8.6 locally unstable paths (sidmft.stability)
    flagged = {
        (case, k, t) for case in CASES for k in OBSERVABLES for t in _reference()["times"] if _flagged(case, k, t)
    }
    assert flagged == set(FLAGGED_OUTCOME)


def _excluded_params():
    out = []
    for (case, k, t), passes in sorted(FLAGGED_OUTCOME.items()):
        marks = () if passes else pytest.mark.xfail(strict=True, reason="heavy-tailed average, flagged by the solver")
        out.append(pytest.param(case, k, t, True, marks=marks, id=f"flagged-{case}-{k}-t{t}"))
    for (case, k, t), reason in sorted(KNOWN_FAILURES.items()):
        mark = pytest.mark.xfail(strict=True, reason=reason)
        out.append(pytest.param(case, k, t, False, marks=mark, id=f"known-{case}-{k}-t{t}"))
    return out


@pytest.mark.parametrize("case,k,t,flagged", _excluded_params())
def test_excluded_comparison(case, k, t, flagged):
    """Each comparison left out of ``test_dmft_matches_simulation``, run anyway.  Flagged by the solver: it passes
    at 3 SE, or it is a strict expected failure.  A known failure: "flagged, or within 3 SE" is a strict expected
    failure, so a fix of the defect, or the solver flagging it, is noticed."""
    if flagged:
        assert _flagged(case, k, t)
        assert abs(_z_scores(case)[(k, t)]) <= N_SIGMA
    else:
        assert _flagged(case, k, t) or abs(_z_scores(case)[(k, t)]) <= N_SIGMA


def test_sgd_intensity_flags_over_seeds():
    """The heavy-tail flag of SGD (b = 0.5) on the intensity loss is not an accident of one DMFT seed: at seeds
    0, 1, 2 the solver flags grad_norm from t <= 10 (measured: 9, 5, 10), and m, q are never flagged."""
    problem = Problem(**_reference()["cases"]["sgd/p1"]["problem"])
    for seed in (0, 1, 2):
        res = dmft(problem, **dict(DMFT_KW, seed=seed))
        assert res.status == Status.SUCCESS, (seed, res.message)
        assert res.unreliable.get("grad_norm", 99) <= 10, (seed, res.unreliable)
        assert set(res.unreliable) <= {"train_loss", "objective", "grad_norm"}, (seed, res.unreliable)


def _tails(values):
    """A tail record (2, steps + 1) per batch from per-path values (batches, paths, steps + 1): (max, sum)."""
    return [np.stack([v.max(axis=0), v.sum(axis=0)]) for v in values]


def test_unreliable_fires_on_one_dominant_path_only():
    rng = np.random.default_rng(0)
    light = rng.exponential(size=(4, 2000, 11))  # max/sum ~ log(8000)/8000 ~ 1e-3
    outs = [SimpleNamespace(tail_loss=tl, tail_g2=tg) for tl, tg in zip(_tails(light), _tails(light**2))]
    assert _assemble.unreliable(outs) == {}
    heavy = light.copy()
    heavy[2, 17, 6:] = 1e4  # one path of batch 2 carries ~ 1e4 / (8000 + 1e4) of the sum from step 6
    outs = [SimpleNamespace(tail_loss=tl, tail_g2=tg) for tl, tg in zip(_tails(heavy), _tails(light**2))]
    assert _assemble.unreliable(outs) == {"train_loss": 6, "objective": 6}
    outs = [SimpleNamespace(tail_loss=tl, tail_g2=tg) for tl, tg in zip(_tails(light), _tails(heavy**2))]
    assert _assemble.unreliable(outs) == {"grad_norm": 6}


def test_diverging_batch_detected_and_reported_as_blowup():
    rng = np.random.default_rng(1)
    q = 0.9 + 0.01 * rng.standard_normal((8, 31))
    assert _assemble.diverging_batches({"q": q}) == {}
    q[5, 12:] = 0.9 * 3.0 ** np.arange(1, 20)  # 2.7 at step 12, 8.1, above 10 x median 0.9 from step 14
    assert _assemble.diverging_batches({"q": q}) == {5: 14}
    problem = Problem(**dict(BASE, steps=30))
    settings = SimpleNamespace(batches=8, paths_per_batch=5000)
    outs = [SimpleNamespace(blowup_step=None)] * 8
    status, message, tb = _assemble._status_message(problem, None, outs, settings, False, np.ones(31), {5: 14})
    assert status == Status.BLOWUP and tb == 14 and "diverging in 1 batch" in message


def test_schedule_changes_the_trajectory_after_the_first_decay():
    """With "step:0.5:10" the first 10 steps are GD's (same paths: bitwise), later ones differ."""
    kw = dict(BASE, steps=14)
    gd = dmft(Problem(**kw), samples=1200, batches=2, seed=4)
    sch = dmft(Problem(**kw, eta_schedule="step:0.5:10"), samples=1200, batches=2, seed=4)
    np.testing.assert_array_equal(sch.per_batch["m"][:, :11], gd.per_batch["m"][:, :11])
    assert np.all(sch.per_batch["m"][:, 12:] != gd.per_batch["m"][:, 12:])


@pytest.mark.parametrize("alpha", [2.0, 6.0])
def test_linear_start_overlap_closed_form(alpha):
    x, w = np.polynomial.hermite_e.hermegauss(80)
    e_tz = float(np.sum(w * x * np.tanh(x)) / np.sqrt(2 * np.pi))  # E[z tanh z] = E[T z], T(y) = y = +-1
    rho = e_tz / np.sqrt(e_tz**2 + 1.0 / alpha)  # E[T^2] = 1
    p = Problem(init="linear", model="logistic", noise=0.5, loss="logistic", alpha=alpha, lam=0.1, eta=0.1, steps=2)
    res = dmft(p, samples=4000, batches=2, seed=5)
    assert res.status == Status.SUCCESS, res.message
    assert abs(res.mean("q")[0] - 1.0) < 1e-12  # q_0 = kappa^2 exactly
    # the start is built from E[Tz], E[T^2] by the package's own (Gauss-Legendre) quadrature: no MC error
    np.testing.assert_allclose(res.per_batch["cosine"][:, 0], rho, rtol=1e-8)


@pytest.mark.parametrize(
    "method",
    [
        dict(algorithm="nesterov", beta=0.3),
        dict(algorithm="sgd", batch=0.5),
        dict(algorithm="langevin", temperature=0.01),
    ],
    ids=["nesterov", "sgd", "langevin"],
)
def test_numpy_and_numba_kernels_agree(method):
    """The numpy reference and the numba kernels run the same engine: equal to rounding (float64)."""
    p = Problem(**dict(BASE, steps=10), **method)
    kw = dict(samples=1200, batches=2, seed=6, precision="float64")
    a, b = dmft(p, kernel="numpy", **kw), dmft(p, kernel="numba", **kw)
    assert a.status == b.status == Status.SUCCESS
    for k in OBSERVABLES:
        # Nesterov's gradient norm comes from the probe field (§6.7): a triangular solve with the inputs'
        # Cholesky factor, whose condition grows as the iterates converge; it amplifies the kernels' different
        # summation orders to a relative 2.6e-8 (worst of seeds 0-5, measured), the rest stays below 1e-10
        rtol = 1e-6 if (k == "grad_norm" and method["algorithm"] == "nesterov") else 1e-9
        np.testing.assert_allclose(a.per_batch[k], b.per_batch[k], rtol=rtol, atol=1e-12, err_msg=k)


def test_binary_test_error_against_one_dimensional_quadrature():
    """The test error of +-1 labels predicted by sign(r) is 4 P(y != sign r) = 4 E_z[P(y = 1 | z) Phi(-m z / s)
    + P(y = -1 | z) Phi(m z / s)], s = sqrt(q - m^2): a smooth one-dimensional integral (scipy ``quad`` here, at
    the (m, q) of the linear-start cases).  An earlier tensor Gauss-Hermite rule over the step sign(r) made the
    package's value a staircase in (m, q), 0.02-0.03 off here, and failed the comparison with simulation at 3 SE
    in four places."""
    from scipy import integrate, stats

    model = Problem(**CASE_LOGISTIC).model_obj
    for m, q in ((0.807, 1.073), (0.923, 1.348), (1.315, 2.537)):
        s = np.sqrt(q - m * m)

        def integrand(z, m=m, s=s):
            p1 = 1.0 / (1.0 + np.exp(-z / 0.3))
            return stats.norm.pdf(z) * (p1 * stats.norm.cdf(-m * z / s) + (1 - p1) * stats.norm.cdf(m * z / s))

        exact = 4 * integrate.quad(integrand, -12, 12, limit=200, epsabs=1e-12)[0]
        assert abs(float(model.test_error(m, q)) - exact) < 1e-10, (m, q, exact)
