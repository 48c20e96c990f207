"""The probe-field gradient norm (docs/theory.md §6.7) of a method that reads another point than its iterate.

Near convergence ||grad L(x^t)||^2/d is a small difference of O(1) Monte-Carlo averages, so any O(1/M) bias of
the estimate dominates it.  The estimator takes the step's own g^t as control variate, so its bias must not
depend on the number of paths M: the same problem solved with 2000 and with 20000 paths per batch must agree
within the combined batch standard errors.  (The cross-fitted plug-in estimate, measured on this problem, moves
by -0.25 (1/2000 - 1/20000) = -1.1e-4 between the two, ten times the norm itself at t = 30.)

Independent source: the estimate at two path counts (the O(1/M) term is the quantity under test); the value
itself is compared with simulation in tests/test_dmft_algorithms.py (Nesterov, every observable, t <= 30).
Measured (seed 3): |z| = 0.01, 0.16, 0.33 at t = 10, 20, 30.
"""

from __future__ import annotations

import math

import pytest

from sidmft import Problem
from sidmft.theory.dmft import dmft

N_SIGMA = 4.0


@pytest.mark.parametrize("algorithm", ["nesterov"])
def test_probe_gradient_norm_has_no_path_count_bias(algorithm):
    p = Problem(alpha=6.0, lam=0.1, eta=0.1, steps=30, algorithm=algorithm, beta=0.3)
    small = dmft(p, samples=8 * 2000, batches=8, seed=3)
    large = dmft(p, samples=4 * 20000, batches=4, seed=3)
    assert small.success and large.success
    for t in (10, 20, 30):
        a, b = small.mean("grad_norm")[t], large.mean("grad_norm")[t]
        se = math.hypot(small.se("grad_norm")[t], large.se("grad_norm")[t])
        assert a > 0 and b > 0, (t, a, b)
        assert abs(a - b) <= N_SIGMA * se, (t, a, b, se)
