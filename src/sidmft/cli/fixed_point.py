"""``sidmft fixed-point``: the long-time limit of GD and its predicted convergence rate (THEORY.md §3)."""

from __future__ import annotations

import click

from . import echo_json, problem_from_options, problem_options

JSON_KEYS = ("m", "q", "cosine", "error", "train_loss", "objective", "test_error", "gamma", "Gamma", "h_min",
             "rate", "residual")


@click.command("fixed-point")
@problem_options
@click.option("--root", type=click.Choice(["global", "same_sign"]), default="global", show_default=True,
              help="Root rule of the non-convex proximal map (identical for even losses).")
@click.option("--start", nargs=3, type=float, default=None, metavar="M Q GAMMA",
              help="Starting point (m, q, gamma) for the solver.")
@click.option("--tol", type=float, default=1e-10, show_default=True, help="Success threshold on max |residual|.")
@click.option("--n-mc", type=int, default=1_000_000, show_default=True,
              help="Monte-Carlo samples of the fixed-point law for h_min (0: skip the rate).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the result to a netCDF (.nc) or zarr (.zarr) file.")
def command(root, start, tol, n_mc, as_json, output, **opts):
    """Solve the static fixed-point equations (F1)-(F3): limit overlap, norm, error, loss, gamma,
    and the bulk-edge convergence rate 1 - eta h_min."""
    from ..theory.fixed_point import fixed_point

    problem = problem_from_options(opts)
    try:
        res = fixed_point(problem, start=tuple(start) if start else None, root=root, tol=tol, n_mc=n_mc)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    if output:
        res.save(output)
    if as_json:
        d = {k: getattr(res, k) for k in JSON_KEYS}
        d.update(residuals=res.residuals, status=res.status.label, message=res.message, rate_note=res.rate_note,
                 branch=res.branch, strategy=res.strategy, nit=res.nit, timing_s=res.timing.get("total"),
                 problem=problem.to_dict())
        echo_json(d)
    else:
        click.echo(f"status      {res.status.label}: {res.message}")
        for k in JSON_KEYS:
            click.echo(f"{k:<11} {getattr(res, k):.8g}")
        if res.rate_note:
            click.echo(f"rate note   {res.rate_note}")
        click.echo(f"time        {res.timing.get('total', float('nan')):.3f} s")
    if not res.success:
        raise SystemExit(1)
