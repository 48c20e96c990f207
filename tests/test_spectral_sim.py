"""Spectral theory (docs/theory.md §1.1-§1.3) against finite-size spectral initialisations.

Finite-size side: data from ``generate_data`` (float32 A, d = 1000) and the top eigenvector of
D = (1/alpha) sum T(y_i) a_i a_i^T by the simulator's matrix-free Lanczos (``spectral_init``, which
tests/test_simulate_spectral.py checks against dense ``eigh``); the moments of u = kappa A v are computed here.

Tolerance for a quantity X: |mean_seeds(X_d) - X_theory| <= 4 SE + FS, with SE the seed-to-seed standard error
of the mean (16 or 12 seeds; the deviations are 1.7 SE at most for the seeds used here) and FS = B max(1, |X|)/d
the finite-size (and Lanczos/floor) bias allowance, B = 4.  Justification of FS: for an outlier eigenpair the
seed-to-seed fluctuations are O(d^-1/2) and the bias of the mean is O(1/d).  Measured mean - theory on six nearby
problems (24 seeds at d = 1000, 12 at d = 2000; PR lal alpha = 2, clip:3 alpha = 3, noisy lal alpha = 3, noisy
trim:7 alpha = 4, relu lal alpha = 3, noisy relu clip:2 alpha = 6) is within 2.3 SE of zero at both sizes for
rho^2, E[u z], E[u^2] and (bounded T) lambda_1, with no resolvable trend between the sizes (largest: rho^2 of
noisy PR lal at alpha = 3, +0.005 +- 0.002 at d = 1000), so the bias at d = 1000 is below the statistical
resolution; B = 4 (0.004 at d = 1000) is a bias allowance of that size, not a fit.  The floor
T_K = max(T, -100) of the Lanczos path shifts rho^2 by <= 5e-4 for T = 1 - 1/y (simulate/_spectral.py, §1.1
quadrature), inside FS.

For T = 1 - 1/E[z^2|y] ('lal') of noiseless models T is unbounded below with E|T| = infinity: lambda_1 and
E[u^2 T] (= kappa^2 lambda_1) fluctuate strongly at finite d (docs/theory.md §5.8; measured E[u^2 T] at d = 1000:
sd ~ 25 over 24 seeds against a limit of 0.5; lambda_1 of the floored Lanczos operator is not that of D), so for
those cases only rho^2, E[u z] and E[u^2] are checked.
"""

import math
import warnings

import numpy as np
import pytest

from sidmft import Problem
from sidmft.simulator import generate_data, spectral_init
from sidmft.theory.spectral import sample_side_law, spectral

D_SIM = 1000
B_FS = 4.0


def _finite_size(p, d, seed):
    data = generate_data(p, d, seed, "float32")
    v, info = spectral_init(data, p)
    assert info.status.label == "success", info.message
    z = np.asarray(data.z, dtype=np.float64)
    u = p.kappa_value() * (data.A @ v.astype(np.float32)).astype(np.float64)
    return {
        "rho_sq": info.overlap**2,
        "top_eigenvalue": info.top_eigenvalue,
        "E_uz": np.mean(u * z),
        "E_u2": np.mean(u * u),
    }


OVERLAP = ("rho_sq", "E_uz", "E_u2")
# three models; alpha chosen so that rho^2 >= 0.34 (the seed-to-seed spread grows near the threshold).
# (problem, quantities checked, seeds).  E[u^2 T] = kappa^2 lambda_1 exactly on both sides (docs/theory.md §1.2),
# so only lambda_1 is checked.  Noisy relu with clip:2: rho^2 and E[u z] fluctuate by 12 % of rho^2 per seed at
# d = 1000 (sd 0.04; a few-percent check would need ~150 seeds), so only E[u^2] and lambda_1 are checked there;
# the relu overlap is checked with lal.
CASES = [
    (dict(model="phase-retrieval", preprocess="lal", alpha=2.0), OVERLAP, 16),
    (dict(model="phase-retrieval", preprocess="clip:3", alpha=6.0), OVERLAP + ("top_eigenvalue",), 16),
    (dict(model="phase-retrieval", noise=0.3, preprocess="trim:7", alpha=6.0), OVERLAP + ("top_eigenvalue",), 16),
    (dict(model="relu", preprocess="lal", alpha=4.0), OVERLAP, 12),
    (dict(model="relu", noise=0.3, preprocess="clip:2", alpha=8.0), ("E_u2", "top_eigenvalue"), 12),
]


@pytest.mark.parametrize(
    "kw, keys, seeds", CASES, ids=[f"{c[0]['model']}-{c[0].get('noise', 0)}-{c[0]['preprocess']}" for c in CASES]
)
def test_theory_matches_simulation(kw, keys, seeds):
    """Tolerances measured for these seeds (4 SE + FS, in % of the theory value): rho^2 3.6-5.0 %, E[u z]
    2.5-4.3 %, E[u^2] 1.3-4.8 %, lambda_1 2.5-3.4 %."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = Problem(**kw)
    r = spectral(p)
    assert r.passed
    mom = sample_side_law(r).moments()
    theory = {"rho_sq": r.rho_sq, "top_eigenvalue": r.top_eigenvalue, **mom}
    runs = [_finite_size(p, D_SIM, 1000 + s) for s in range(seeds)]
    for k in keys:
        x = np.array([run[k] for run in runs])
        se = x.std(ddof=1) / math.sqrt(x.size)
        tol = 4 * se + B_FS * max(1.0, abs(theory[k])) / D_SIM
        assert tol <= 0.06 * abs(theory[k]), (k, tol, theory[k])  # the check is a few-percent check
        assert abs(x.mean() - theory[k]) <= tol, (k, x.mean(), se, theory[k], tol)
