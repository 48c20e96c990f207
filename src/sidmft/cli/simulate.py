"""``sidmft simulate``: finite-size simulation of spectral-initialised GD."""

from __future__ import annotations

import click

from . import (
    _SCHEDULER_HELP,
    _WORKERS_HELP,
    compile_note,
    echo_json,
    exit_code,
    exit_for,
    problem_from_options,
    problem_options,
)


@click.command("simulate")
@problem_options
@click.option(
    "--dim", default=1000, show_default=True, type=click.IntRange(min=2), help="Dimension d (n = round(alpha d))."
)
@click.option("--seeds", default=4, show_default=True, type=click.IntRange(min=1), help="Number of seeds.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="First seed.")
@click.option("--dtype", default="float64", show_default=True, type=click.Choice(["float64", "float32"]))
@click.option(
    "--t-floor",
    default=100.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Spectral preprocessing floor K: T is replaced by max(T, -K) (see sidmft.simulator._spectral).",
)
@click.option(
    "--backend",
    default="numba",
    show_default=True,
    type=click.Choice(["numba", "numpy", "jax"]),
    help="GD backend: fused numba kernel, numpy (two BLAS passes), or JAX (pip install 'sidmft[jax]').",
)
@click.option(
    "--output",
    "-o",
    default=None,
    type=click.Path(dir_okay=False, writable=True),
    help="Write the result (netCDF .nc, or .zarr).",
)
@click.option("--workers", default=0, type=click.IntRange(min=0), metavar="N", help=_WORKERS_HELP)
@click.option("--scheduler", default=None, metavar="ADDR", help=_SCHEDULER_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
def command(dim, seeds, seed, dtype, t_floor, backend, workers, scheduler, output, as_json, no_progress, **opts):
    """Run the two-stage algorithm (start, then the chosen --algorithm) at finite size.

    Prints the status, the spectral overlap rho and top eigenvalue (means over seeds; spectral
    start), then the means over seeds of m, q, error and train_loss at the steps 0, 1, 2, 5,
    10, 20, 50, 100, ... and the last one.  --json and --output carry every observable (m, q,
    cosine, error, train_loss, objective, grad_norm, test_error) at every step with its
    standard error over seeds.

    \b
    Exit status: 0 success, 2 usage error, 3 diverged, 5 not-converged
    (eigensolver), 8 failed (a seed raised); --json and --output are written
    in every case (README: Exit codes).
    """
    from ..simulator import SpectralInitSettings, simulate

    problem = problem_from_options(opts)
    compile_note("simulate")
    try:
        res = simulate(
            problem,
            dim,
            seeds=seeds,
            seed=seed,
            dtype=dtype,
            progress=not no_progress,
            backend=backend,
            spectral=SpectralInitSettings(t_floor=t_floor),
            workers=workers,
            scheduler=scheduler,
        )
    except (ValueError, ImportError) as err:  # bad input or a missing optional backend, refused before any work
        raise click.UsageError(str(err)) from None
    if output:
        res.save(output)
    if as_json:
        d = res.summary()
        d["exit_code"] = exit_code(res.status)
        echo_json(d)
    else:
        rho = res.spectral_overlap
        click.echo(f"status: {res.status.label}  ({res.message})")
        if problem.init == "spectral":
            click.echo(f"spectral overlap rho = {rho.mean():.4f}   top eigenvalue = {res.top_eigenvalue.mean():.4f}")
        m, q, e, tl = res.mean("m"), res.mean("q"), res.mean("error"), res.mean("train_loss")
        click.echo(f"{'t':>6} {'m':>9} {'q':>9} {'error':>9} {'train_loss':>11}")
        idx = sorted(set([0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, problem.steps]) & set(range(problem.steps + 1)))
        for t in idx:
            click.echo(f"{t:>6} {m[t]:>9.5f} {q[t]:>9.5f} {e[t]:>9.5f} {tl[t]:>11.5g}")
        if output:
            click.echo(f"saved: {output}")
    exit_for(res.status, res.message)
