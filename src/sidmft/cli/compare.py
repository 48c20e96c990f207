"""``sidmft compare``: DMFT and fixed point next to finite-size GD (figure, netCDF, table)."""

from __future__ import annotations

import sys

import click

from . import echo_json, problem_from_options, problem_options


@click.command("compare")
@problem_options
@click.option("--dim", default=2000, show_default=True, type=int, help="Simulation dimension d.")
@click.option("--seeds", default=8, show_default=True, type=int, help="Simulation seeds.")
@click.option("--seed", default=0, show_default=True, type=int, help="Base seed (simulation and DMFT).")
@click.option("--samples", default=40000, show_default=True, type=int, help="DMFT Monte-Carlo paths M.")
@click.option("--batches", default=8, show_default=True, type=int, help="DMFT independent batches (error bars).")
@click.option("--no-fixed-point", is_flag=True, help="Skip the long-time fixed point.")
@click.option("--output-dir", default="sidmft-out", show_default=True, type=click.Path(file_okay=False),
              help="Where compare.png, compare.nc and table.txt are written.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def command(dim, seeds, seed, samples, batches, no_fixed_point, output_dir, as_json, no_progress, **opts):
    """Theory (spectral + DMFT + fixed point) next to simulated GD on the same problem."""
    from ..comparison import compare

    problem = problem_from_options(opts)
    try:
        res = compare(problem, dim=dim, seeds=seeds, seed=seed, samples=samples, batches=batches,
                      fixed_point=not no_fixed_point, output_dir=output_dir,
                      progress=not (no_progress or as_json))
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    if as_json:
        echo_json(dict(status=res.status.label, message=res.message, max_abs_z=res.max_abs_z,
                       table=res.table, files=res.files, timing=res.timing, problem=problem.to_dict(),
                       dim=dim, seeds=seeds))
    else:
        click.echo(res.format_table())
        for k, v in res.files.items():
            click.echo(f"{k}: {v}")
        click.echo(f"status: {res.status.label} ({res.message}); {res.timing['total']:.1f} s")
    if not res.success:
        sys.exit(1)
