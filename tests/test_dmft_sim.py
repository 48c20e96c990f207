"""DMFT against finite-size simulation (d = 2000), docs/theory.md §2.5-§2.6.

sigma combines the DMFT Monte-Carlo standard error (20 independent batches, so the heavy-tailed spread is
not underestimated as with 4, docs/theory.md §5.3) and the seed standard error of the simulation (d = 2000);
every observable at t in {1, 5, 10, 30} must be within 3 sigma.  Measured |z| at these seeds: <= 1.1 (PR),
<= 2.4 (relu).
"""

import math

import numpy as np
import pytest

from sidmft import OBSERVABLES, Problem, Status
from sidmft import simulator as sim_mod
from sidmft.theory.dmft import dmft

TIMES = (1, 5, 10, 30)


def _zscores(th, sim):
    out = {}
    for k in OBSERVABLES:
        for t in TIMES:
            se = math.hypot(th.se(k)[t], sim.se(k)[t])
            out[(k, t)] = (th.mean(k)[t] - sim.mean(k)[t]) / se
    return out


@pytest.fixture(scope="module")
def pr_runs():
    p = Problem(alpha=3, lam=0.1, eta=0.1, steps=30)  # PR, intensity loss, T = 1 - 1/y
    sim = sim_mod.simulate(p, 2000, seeds=16, seed=100)
    th = dmft(p, samples=100000, batches=20, seed=7)
    return p, sim, th


def test_phase_retrieval_intensity_vs_simulation(pr_runs):
    p, sim, th = pr_runs
    assert th.success and sim.status == Status.SUCCESS
    z = _zscores(th, sim)
    bad = {k: round(v, 2) for k, v in z.items() if not abs(v) <= 3}
    assert not bad, bad


def test_naive_dmft_disagrees_with_simulation(pr_runs):
    """§2.5: dropping the spectral-stage terms is measurably wrong: at t = 1 the naive m_1 (0.910) is many sigma
    from the simulation, the correct one (0.838) within 3 sigma."""
    p, sim, th = pr_runs
    naive = dmft(p.replace(steps=5), samples=100000, batches=20, seed=7, naive=True)
    for t in (1, 5):
        se_n = math.hypot(naive.se("m")[t], sim.se("m")[t])
        se_c = math.hypot(th.se("m")[t], sim.se("m")[t])
        m_n, m_s = naive.mean("m")[t], sim.mean("m")[t]
        assert abs(m_n - m_s) > 6 * se_n, (t, m_n, m_s, se_n)
        assert abs(th.mean("m")[t] - sim.mean("m")[t]) < 3 * se_c


def test_relu_square_loss_spectral_vs_simulation():
    """A second model/loss pair: ReLU link, square loss, T = lal (1 - 1/y^2 for y > 0, 0 at y = 0), eta = 0.3."""
    p = Problem(model="relu", loss="square", alpha=3, lam=0.1, eta=0.3, steps=30)
    sim = sim_mod.simulate(p, 2000, seeds=10, seed=100)
    th = dmft(p, samples=100000, batches=20, seed=7)
    assert th.success
    z = _zscores(th, sim)
    bad = {k: round(v, 2) for k, v in z.items() if not abs(v) <= 3}
    assert not bad, bad


def test_amplitude_loss_pathwise_refused_with_reason():
    """l' = r - sqrt(y) sign(r) jumps at r = 0; its delta in l'' is missed by pathwise responses (measured bias
    11 sigma at t = 30), so pathwise responses are refused unless forced; the default ("auto") uses Gaussian
    integration by parts for such losses (tests/test_dmft_ibp.py checks it against simulation)."""
    p = Problem(loss="amplitude", steps=5)
    r = dmft(p, samples=1000, batches=2, responses="pathwise")
    assert r.status == Status.NOT_APPLICABLE and "discontinuous" in r.message and np.all(np.isnan(r.mean("m")))
    forced = dmft(p, samples=1000, batches=2, responses="pathwise", allow_nonsmooth=True)
    assert forced.success and np.all(np.isfinite(forced.mean("m")))
    auto = dmft(p, samples=1000, batches=2)
    assert auto.success and auto.diagnostics["responses"] == "ibp"
