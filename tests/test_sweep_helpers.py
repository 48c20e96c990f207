"""Helpers for the sweep tests (no tests here).

``mc`` is a cheap *seeded* sweep output (``--outputs test_sweep_helpers:mc``): it draws
Gaussian numbers from the point's seed, so identical stored numbers across worker counts
prove the seeds derive from the point's parameters only.  ``SIDMFT_TEST_SLEEP`` (seconds)
slows every point so a test can kill a sweep mid-way.  It must be importable on the Dask
workers: LocalCluster workers inherit ``sys.path``; subprocesses get ``PYTHONPATH``.
"""

import os
import time

import numpy as np


def mc(problem, settings, seed):
    delay = float(os.environ.get("SIDMFT_TEST_SLEEP", "0") or 0)
    if delay:
        time.sleep(delay)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(problem.steps + 1)
    return {"mean": float(problem.alpha * z.mean() + problem.lam), "walk": np.cumsum(z)}


def boom(problem, settings, seed):
    """Raises for alpha > 2 while SIDMFT_TEST_BOOM is set (a failing corner of a grid)."""
    if os.environ.get("SIDMFT_TEST_BOOM") and problem.alpha > 2:
        raise RuntimeError("boom at alpha > 2")
    return {"x": 2.0 * problem.alpha}
