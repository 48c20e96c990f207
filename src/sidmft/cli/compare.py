"""``sidmft compare``: DMFT and fixed point next to finite-size GD (figure, netCDF, table)."""

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
from ._sizes import echo_size_notes, size_notes


@click.command("compare")
@problem_options
@click.option("--dim", default=2000, show_default=True, type=int, help="Simulation dimension d.")
@click.option("--seeds", default=8, show_default=True, type=int, help="Simulation seeds.")
@click.option("--seed", default=0, show_default=True, type=int, help="Base seed (simulation and DMFT).")
@click.option("--samples", default=40000, show_default=True, type=int, help="DMFT Monte-Carlo paths M.")
@click.option("--batches", default=8, show_default=True, type=int, help="DMFT independent batches (error bars).")
@click.option("--no-fixed-point", is_flag=True, help="Skip the long-time fixed point.")
@click.option(
    "--t-floor",
    default=100.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Floor K of the simulation's spectral start, T -> max(T, -K); the theory uses the same T_K.",
)
@click.option("--workers", default=0, type=click.IntRange(min=0), metavar="N", help=_WORKERS_HELP)
@click.option("--scheduler", default=None, metavar="ADDR", help=_SCHEDULER_HELP)
@click.option(
    "--output-dir",
    default="sidmft-out",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where compare.png, compare.nc and table.txt are written.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def command(
    dim,
    seeds,
    seed,
    samples,
    batches,
    no_fixed_point,
    t_floor,
    workers,
    scheduler,
    output_dir,
    as_json,
    no_progress,
    **opts,
):
    """Theory (spectral + DMFT + fixed point) next to the simulated method on the same problem.

    Prints the deviation table: per observable, the step where theory and simulation differ
    most, in units z of the combined standard error, and the largest |z|.  z means little with
    fewer than 8 seeds or batches, or a small --dim: such runs print a note on stderr.

    \b
    Exit status: 0 success, 2 usage error, 3 diverged, 4 blowup,
    5 not-converged, 6 below-threshold, 7 not-applicable, 8 failed: the status
    of the first part that did not succeed, in the order spectral (spectral
    start only), DMFT, simulation.  The fixed point (the long-time asymptote
    drawn for reference) does not decide: when it fails it is not drawn and a
    warning is printed.  Files and --json are written in every case (README:
    Exit codes).
    """
    from ..comparison import compare

    problem = problem_from_options(opts)
    compile_note("compare")
    notes = size_notes(batches=batches, samples=samples, steps=problem.steps, seeds=seeds, dim=dim)
    echo_size_notes("compare", notes)
    try:
        res = compare(
            problem,
            dim=dim,
            seeds=seeds,
            seed=seed,
            samples=samples,
            batches=batches,
            fixed_point=not no_fixed_point,
            output_dir=output_dir,
            progress=not (no_progress or as_json),
            t_floor=t_floor,
            workers=workers,
            scheduler=scheduler,
        )
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    if as_json:
        d = res.to_dict()
        d.update(exit_code=exit_code(res.status))
        echo_json(d)
    else:
        click.echo(res.format_table())
        for k, v in res.files.items():
            click.echo(f"{k}: {v}")
        click.echo(f"status: {res.status.label} ({res.message}); {res.timing['total']:.1f} s")
    fp = res.fixed_point
    if fp is not None and not fp.success:
        msg = " ".join(str(fp.message).split())
        click.echo(
            f"sidmft compare: warning: fixed point {fp.status.label} (not drawn; exit status unchanged): {msg}",
            err=True,
        )
    exit_for(res.status, res.message)
