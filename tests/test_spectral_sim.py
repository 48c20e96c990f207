"""Spectral theory against an independent finite-size computation (dense eigh of D, fixed seeds).

Tolerance for a quantity X: |mean_seeds(X_d) - X_theory| <= 4 SE + b/sqrt(d), with SE the seed-to-seed
standard error of the mean and b/sqrt(d) a bound on the finite-size bias.  b = 0.6 (rho^2, moments of u;
b = 0.6*max(1, |lambda|) for eigenvalues) bounds the bias measured at d = 1000 (24 seeds) for nine
(model, T) pairs, which shrinks to within 2 SE at d = 4000 (8 seeds) -- see the report of issue 3.
"""
import math
import warnings

import numpy as np
import pytest
from scipy.linalg import eigh

from sidmft import Problem
from sidmft.theory.spectral import sample_side_law, spectral

D_SIM = 700
SEEDS = 4


def _reference(p, d, seed):
    """Independent finite-d computation: D = (1/alpha) sum T(y_i) a_i a_i^T, top eigenpair by dense eigh."""
    rng = np.random.default_rng([seed, d, 2024])
    n = int(round(p.alpha * d))
    A = rng.standard_normal((n, d)) / math.sqrt(d)
    xs = rng.standard_normal(d)
    xs *= math.sqrt(d) / np.linalg.norm(xs)
    z = A @ xs
    y = p.model_obj.sample(z, rng)
    t = p.T(y)
    D = (A.T * t) @ A / p.alpha
    vals, vecs = eigh(D, subset_by_index=[d - 1, d - 1])
    v = vecs[:, 0] * math.sqrt(d)
    v *= np.sign(v @ xs)
    u = p.kappa_value() * (A @ v)
    return {"rho_sq": (v @ xs / d) ** 2, "top_eigenvalue": vals[0], "E_uz": np.mean(u * z), "E_u2": np.mean(u * u),
            "E_u2T": np.mean(u * u * t)}


# three models, two preprocessings each; alpha well above each threshold
CASES = [
    (dict(model="phase-retrieval", preprocess="lal", alpha=2.0), False),
    (dict(model="phase-retrieval", preprocess="clip:3", alpha=3.0), True),
    (dict(model="phase-retrieval", noise=0.3, preprocess="lal", alpha=3.0), False),
    (dict(model="phase-retrieval", noise=0.3, preprocess="trim:7", alpha=4.0), True),
    (dict(model="relu", preprocess="lal", alpha=3.0), False),
    (dict(model="relu", noise=0.3, preprocess="clip:2", alpha=6.0), True),
]


@pytest.mark.parametrize("kw, bounded", CASES, ids=[f"{c[0].get('model')}-{c[0].get('noise', 0)}-{c[0]['preprocess']}"
                                                     for c in CASES])
def test_theory_matches_simulation(kw, bounded):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = Problem(**kw)
    r = spectral(p)
    assert r.passed
    mom = sample_side_law(r).moments()
    theory = {"rho_sq": r.rho_sq, "top_eigenvalue": r.top_eigenvalue, **mom}
    runs = [_reference(p, D_SIM, s) for s in range(SEEDS)]
    # lambda_1 (and E[u^2 T] = lambda_1) of T = 1 - 1/E[z^2|y] fluctuate strongly at finite d (THEORY §5.8):
    # compare them only for bounded T
    keys = ["rho_sq", "E_uz", "E_u2"] + (["top_eigenvalue", "E_u2T"] if bounded else [])
    for k in keys:
        x = np.array([run[k] for run in runs])
        se = x.std(ddof=1) / math.sqrt(x.size)
        scale = max(1.0, abs(theory[k])) if k in ("top_eigenvalue", "E_u2T") else 1.0
        tol = 4 * se + 0.6 * scale / math.sqrt(D_SIM)
        assert abs(x.mean() - theory[k]) <= tol, (k, x.mean(), se, theory[k])
