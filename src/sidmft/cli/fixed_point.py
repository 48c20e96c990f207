"""``sidmft fixed-point``: the long-time limit of GD and its predicted convergence rate (docs/theory.md §3)."""

from __future__ import annotations

import click

from . import echo_json, exit_code, exit_for, problem_from_options, problem_options


@click.command("fixed-point")
@problem_options
@click.option(
    "--root",
    type=click.Choice(["global", "same_sign"]),
    default="global",
    show_default=True,
    help="Root rule of the non-convex proximal map (identical for even losses).",
)
@click.option(
    "--start",
    nargs=3,
    type=float,
    default=None,
    metavar="M Q GAMMA",
    help="Starting point (m, q, gamma) for the solver.",
)
@click.option("--tol", type=float, default=1e-10, show_default=True, help="Success threshold on max |residual|.")
@click.option(
    "--n-mc",
    type=int,
    default=1_000_000,
    show_default=True,
    help="Monte-Carlo samples of the fixed-point law for h_min (0: skip the rate).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the result to a netCDF (.nc) or zarr (.zarr) file.",
)
def command(root, start, tol, n_mc, as_json, output, **opts):
    """Solve the static fixed-point equations (F1)-(F3): limit overlap, norm, error, loss, gamma,
    and the bulk-edge convergence rate 1 - eta h_min.

    \b
    Exit status: 0 success, 2 usage error, 5 not-converged (residual above
    --tol), 7 not-applicable (a method without fixed point), 8 failed,
    9 uninformative (no informative fixed point: a fact about the problem);
    --json and --output are written in every case (README: Exit codes).
    """
    from ..theory.fixed_point import FixedPointSettings, fixed_point

    problem = problem_from_options(opts)
    try:
        settings = FixedPointSettings(root=root, tol=tol, n_mc=n_mc)
        res = fixed_point(problem, start=tuple(start) if start else None, settings=settings)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    if output:
        res.save(output)
    if as_json:
        d = {k: getattr(res, k) for k in res.SCALARS}
        d.update(
            residuals=res.residuals,
            status=res.status.label,
            message=res.message,
            rate_note=res.rate_note,
            branch=res.branch,
            strategy=res.strategy,
            nit=res.nit,
            timing_s=res.timing.get("total"),
            problem=problem.to_dict(),
            exit_code=exit_code(res.status),
        )
        echo_json(d)
    else:
        click.echo(f"status      {res.status.label}: {res.message}")
        for k in res.SCALARS:
            click.echo(f"{k:<11} {getattr(res, k):.8g}")
        if res.rate_note:
            click.echo(f"rate note   {res.rate_note}")
        click.echo(f"time        {res.timing.get('total', float('nan')):.3f} s")
    exit_for(res.status, res.message)
