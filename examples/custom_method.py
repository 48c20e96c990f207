"""A first-order method of your own: declare it once, every solver runs it
========================================================================

A method that sidmft does not ship -- gradient read at a look-ahead point, with momentum -- is declared in a
few lines, outside the package, and then simulated, solved by the DMFT, by the fixed point and by the rate
prediction with no change to sidmft itself::

    python examples/custom_method.py [--quick] [--output-dir DIR]

The method (two parameters, beta and delta, both in [0, 1))::

    p^t     = x^t + delta (x^t - x^{t-1})                  read point:  a = 1 + delta, b = -delta
    x^{t+1} = x^t + beta (x^t - x^{t-1}) - eta grad L(p^t)  update:      A = 1 + beta,  B = -beta

delta = beta is Nesterov's method, delta = 0 heavy ball.  The declaration gives each coefficient as a linear
form in the parameters (:class:`sidmft.Linear`); from it the simulator and the DMFT take the iteration, the
fixed point takes its limit (the stationary point of L, as for every method without noise) and the rate takes
the characteristic polynomial z^2 - (A - eta h a) z - (B - eta h b) of the linearised recursion, maximised over
the Hessian's bulk [h_min, h_max].  The script prints ``largest |z| = ...`` for the DMFT against finite-size
runs, and the predicted against the measured per-step contraction (the measured one fitted on the tail of the
simulated gradient norm, with the t^-1.5 edge prefactor, docs/theory.md §3).

Registrations are per process: put them in a module that every process imports (on a Dask cluster, every
worker) -- here they run at import time of this script.
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import numpy as np

import sidmft

# ----------------------------------------------------------------------------- the declaration
sidmft.register_parameter(
    "delta", lo=0.0, hi=1.0, hi_open=True, help="look-ahead", symbol=r"\delta", label=r"look-ahead $\delta$"
)
LOOKAHEAD = sidmft.register_algorithm(
    "lookahead-momentum",
    read=(sidmft.Linear(1.0, delta=1.0), sidmft.Linear(0.0, delta=-1.0)),
    update=(sidmft.Linear(1.0, beta=1.0), sidmft.Linear(0.0, beta=-1.0)),
    parameters=("beta", "delta"),
    title="look-ahead momentum",
    description="momentum beta with the gradient read at x + delta (x - x_prev)",
    overwrite=True,
)


def main():
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--output-dir", default="sidmft-out/custom_method", help="compare.png, compare.nc, table.txt")
    args = ap.parse_args()
    dim, seeds, samples, batches = (1000, 8, 40000, 8) if args.quick else (4000, 16, 160000, 16)
    long_dim, long_seeds = (400, 3) if args.quick else (600, 8)

    problem = sidmft.Problem(
        model="phase-retrieval",
        loss="intensity",
        preprocess="lal",
        alpha=6.0,
        lam=0.1,
        eta=0.1,
        steps=30,
        algorithm="lookahead-momentum",
        beta=0.3,
        params={"delta": 0.15},
    )
    co = LOOKAHEAD.coefficients(problem.method_values)
    print(f"method: {LOOKAHEAD.label(problem.method_values, latex=False)}; (a, b, A, B) = {co.a, co.b, co.A, co.B}")

    # theory next to simulation (spectral stage, DMFT with error bars, finite-size runs, fixed point)
    res = sidmft.compare(
        problem, dim=dim, seeds=seeds, samples=samples, batches=batches, output_dir=args.output_dir, progress=False
    )
    print(res.format_table())
    print(f"largest |z| = {res.max_abs_z:.2f}   (DMFT against simulation at d = {dim}, {seeds} seeds)")

    # the fixed point and the rate: predicted bulk contraction against the tail of the simulated gradient norm
    fp = sidmft.fixed_point(problem)
    print(
        f"fixed point: {fp.status.label}; m = {fp.m:.4f}, q = {fp.q:.4f}; bulk [h_min, h_max] = "
        f"[{fp.h_min:.4f}, {fp.h_max:.4f}]; predicted rate {fp.rate:.5f}"
    )
    from sidmft.theory.rate import compare_rate

    long = sidmft.simulate(problem.replace(steps=220), dim=long_dim, seeds=long_seeds, seed=100)
    cmp = compare_rate(long, fp, nsigma=4)
    print(
        f"contraction per step: predicted {cmp.predicted:.5f}, measured {cmp.measured:.5f} +- {cmp.measured_se:.1g} "
        f"(window {cmp.window}, d = {long_dim}, {long_seeds} seeds): {'agree' if cmp.agree else 'differ'}"
    )
    print(f"files: {', '.join(str(v) for v in res.files.values())}")
    return 0 if np.isfinite(res.max_abs_z) else 1


if __name__ == "__main__":
    if main():  # exit non-zero only on failure (sphinx-gallery runs this file as __main__)
        raise SystemExit(1)
