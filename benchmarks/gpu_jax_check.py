"""GPU check of the optional JAX backend (``simulate(..., backend="jax")``); run on a machine with a GPU.

    PYTHONPATH=src python benchmarks/gpu_jax_check.py [--out FILE.json] [--dim 16000]

1. Correctness: ``sidmft.simulate(p, 1000, backend="jax")`` against ``backend="numba"`` on the same
   seed (same data and spectral start), float64 (scoped enable_x64): max |difference| of m_t, q_t,
   training loss and gradient norm over 30 steps.
2. Speed: d = --dim, alpha = 4, float32, A drawn on the device; one GD step (A x, then A^T g)
   against one read of A (jnp.sum(A)), medians of repeated timings in the same run, and the
   effective memory bandwidth.  Prints a table and writes JSON.
"""

import argparse
import json

import numpy as np
from bench_simulate import med  # same folder (the script's directory is on sys.path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None)
    ap.add_argument("--dim", type=int, default=16000)
    ap.add_argument("--steps", type=int, default=50)
    args = ap.parse_args()
    import jax
    import jax.numpy as jnp

    import sidmft

    out = {"devices": [str(d) for d in jax.devices()], "jax": jax.__version__}
    # 1. correctness against the numba backend (the reference)
    p = sidmft.Problem(steps=30)
    ref = sidmft.simulate(p, 1000, backend="numba")
    got = sidmft.simulate(p, 1000, backend="jax")
    out["status"] = [ref.status.label, got.status.label]
    out["max_abs_diff"] = {
        k: float(np.max(np.abs(got.per_seed[k] - ref.per_seed[k]))) for k in ("m", "q", "train_loss", "grad_norm")
    }
    # 2. speed at large d, float32, data generated on the device
    d, alpha = args.dim, 4.0
    n = int(alpha * d)
    key = jax.random.PRNGKey(0)
    A = jax.random.normal(key, (n, d), dtype=jnp.float32) / float(np.sqrt(d))
    xs = jnp.ones(d, dtype=jnp.float32)
    y = (A @ xs) ** 2
    x = xs + 0.3 * jax.random.normal(jax.random.PRNGKey(1), (d,), dtype=jnp.float32)
    loss = sidmft.losses.get_loss("intensity")  # l' from the registry, evaluated with jax.numpy
    read = jax.jit(lambda A: jnp.sum(A))
    read(A).block_until_ready()
    t_read = med(lambda: read(A).block_until_ready(), 7)

    @jax.jit
    def steps(x, A, y):  # A, y as arguments: closed-over arrays would be baked in as constants
        def body(x, _):
            r = A @ x
            return x - 0.1 * (A.T @ loss.grad(y, r, xp=jnp) / alpha + 0.1 * x), None

        return jax.lax.scan(body, x, None, length=args.steps)[0]

    steps(x, A, y).block_until_ready()
    t_step = med(lambda: steps(x, A, y).block_until_ready(), 5) / args.steps
    gbytes = A.size * 4 / 1e9
    out.update(
        dim=d,
        n=n,
        A_GB=gbytes,
        read_s=t_read,
        step_s=t_step,
        step_over_read=t_step / t_read,
        read_bandwidth_TBs=gbytes / t_read / 1e3,
        step_bandwidth_TBs=2 * gbytes / t_step / 1e3,
    )
    print(f"devices: {out['devices']}")
    print(
        "correctness vs numba backend (float64, d=1000, 30 steps): max |diff| "
        + ", ".join(f"{k}={v:.1e}" for k, v in out["max_abs_diff"].items())
    )
    print(f"{'d':>7}{'n':>8}{'A (GB)':>8}{'read A (ms)':>13}{'GD step (ms)':>14}{'step/read':>11}{'read TB/s':>11}")
    print(
        f"{d:>7}{n:>8}{gbytes:>8.2f}{1e3 * t_read:>13.3f}{1e3 * t_step:>14.3f}{t_step / t_read:>11.2f}"
        f"{out['read_bandwidth_TBs']:>11.2f}"
    )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
