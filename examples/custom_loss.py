"""A loss of your own whose derivative jumps: declare where, and the DMFT handles it
=================================================================================

A robust amplitude loss that ignores samples whose residual is large -- a "trimmed" amplitude loss -- is
declared outside the package, with the places where its derivative jumps, and compared with finite-size runs::

    python examples/custom_loss.py [--quick] [--output-dir DIR]

With ``e = |r| - sqrt(y)`` and a cut ``c``::

    l(y, r) = min(e^2, c^2) / 2,      g = dl/dr = e sign(r) 1{|e| < c},

so g jumps at r = 0 (by 2 sqrt(y) when sqrt(y) < c) and where ``|e| = c``, i.e. at ``|r| = sqrt(y) +- c`` (the
inner one only when sqrt(y) > c).  Pathwise derivatives along a Monte-Carlo path never see such jumps (l'' has a delta
there), so the DMFT must take its responses by Gaussian integration by parts, which needs no derivative
(docs/theory.md §6.8).  The declaration says where g jumps (``jumps=``); the DMFT reads it and switches to
integration by parts by itself.  The script prints ``largest |z| = ...`` for the DMFT against the simulation.

Registrations are per process: on a Dask cluster put them in a module that every worker imports.
"""

import argparse
import math

import numpy as np

import sidmft

CUT = 1.0  # the cut c


def value(y, r):
    e = np.abs(r) - np.sqrt(np.maximum(y, 0.0))
    return 0.5 * np.minimum(e * e, CUT * CUT)


def grad(y, r):
    e = np.abs(r) - np.sqrt(np.maximum(y, 0.0))
    return np.where(np.abs(e) < CUT, e * np.sign(r), 0.0)


def hess(y, r):  # dg/dr away from the jumps
    e = np.abs(r) - np.sqrt(np.maximum(y, 0.0))
    return (np.abs(e) < CUT).astype(float)


def scalar_grad(y, r):  # the same g for two floats, math only: compiled into the simulator's fused kernel
    s = math.sqrt(y) if y > 0.0 else 0.0
    e = abs(r) - s
    if abs(e) >= CUT or r == 0.0:
        return 0.0
    return e if r > 0.0 else -e


def jumps(y):  # where g(y, .) jumps: r = 0 and |r| = sqrt(y) +- c (arrays broadcast to y; extra points are harmless)
    s = np.sqrt(np.maximum(np.asarray(y, dtype=float), 0.0))
    return (np.zeros_like(s), s + CUT, -(s + CUT), s - CUT, CUT - s)


sidmft.register_loss(
    "trimmed-amplitude",
    value=value,
    grad=grad,
    hess=hess,
    scalar_grad=scalar_grad,
    jumps=jumps,
    even=True,
    bounded_hessian=True,
    title="trimmed amplitude",
    description="min((|r| - sqrt(y))^2, c^2)/2: residuals beyond c are ignored",
    overwrite=True,
)


def main():
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--output-dir", default="sidmft-out/custom_loss", help="compare.png, compare.nc, table.txt")
    args = ap.parse_args()
    dim, seeds, samples, batches = (1000, 8, 40000, 8) if args.quick else (4000, 16, 160000, 16)
    problem = sidmft.Problem(
        model="phase-retrieval", loss="trimmed-amplitude", preprocess="lal", alpha=3.0, lam=0.1, eta=0.1, steps=30
    )
    res = sidmft.compare(
        problem, dim=dim, seeds=seeds, samples=samples, batches=batches, output_dir=args.output_dir, progress=False
    )
    print(f"DMFT responses: {res.dmft.diagnostics.get('responses')} (the loss declares jumps)")
    print(res.format_table())
    print(f"largest |z| = {res.max_abs_z:.2f}   (DMFT against simulation at d = {dim}, {seeds} seeds)")
    print(f"files: {', '.join(str(v) for v in res.files.values())}")
    return 0 if np.isfinite(res.max_abs_z) else 1


if __name__ == "__main__":
    if main():  # exit non-zero only on failure (sphinx-gallery runs this file as __main__)
        raise SystemExit(1)
