"""``sidmft dmft``: d -> inf trajectory of GD by the Monte-Carlo DMFT (docs/theory.md §2, §4)."""

from __future__ import annotations

import math

import click
import numpy as np

from . import compile_note, echo_json, exit_code, exit_for, problem_from_options, problem_options
from ._sizes import MIN_BATCHES, echo_size_notes, size_notes

__all__ = ["command"]


@click.command("dmft")
@problem_options
@click.option(
    "--samples",
    "-M",
    default=20000,
    show_default=True,
    type=int,
    help="Monte-Carlo paths in total (split over the batches).",
)
@click.option(
    "--batches",
    "-B",
    default=MIN_BATCHES,
    show_default=True,
    type=int,
    help="Independent solves; the standard errors are their spread / sqrt(B) (fewer than 8: a note on stderr).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Root seed (batch b uses spawn key (b,)).")
@click.option(
    "--precision",
    default="float32",
    show_default=True,
    type=click.Choice(["float32", "float64"]),
    help="Per-path histories and reverse sweep (averages are always float64); float64 is ~2x slower.",
)
@click.option(
    "--responses",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "pathwise", "ibp", "hybrid"]),
    help="Response estimator: exact pathwise derivatives (cost ~ T^3), the hybrid window + random-probe "
    "estimator of the same derivatives (cost ~ T^2, for long horizons), or Gaussian integration by parts "
    "(exact for losses whose l' jumps); auto picks integration by parts for such losses, "
    "else pathwise below 300 steps and hybrid from there.",
)
@click.option(
    "--window",
    default=32,
    show_default=True,
    type=int,
    help="Window of the hybrid estimator: exact pathwise responses over this many recent steps.",
)
@click.option(
    "--naive",
    is_flag=True,
    help="Demonstration only: treat the spectral start as data independent (docs/theory.md §2.5; wrong).",
)
@click.option(
    "--output",
    "-o",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write the result (observables, errors, kernels) to netCDF (.nc) or zarr (.zarr).",
)
@click.option(
    "--checkpoint",
    default=None,
    type=click.Path(file_okay=False),
    help="Keep each finished batch in this directory; rerunning the same command reuses them (an "
    "interrupted long run loses only its unfinished batches).",
)
@click.option(
    "--workers",
    default=None,
    type=int,
    metavar="N",
    help="Run the batches as Dask tasks on a LocalCluster of N single-thread processes (default: in this "
    "process).  Same numbers as a local run.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDR",
    help="Run the batches on a running Dask scheduler, e.g. tcp://127.0.0.1:8786 (not with --workers).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
def command(
    samples,
    batches,
    seed,
    precision,
    responses,
    window,
    naive,
    output,
    checkpoint,
    workers,
    scheduler,
    as_json,
    no_progress,
    **opts,
):
    """Solve the DMFT of the chosen method (--algorithm) from a spectral, random or linear start.

    Prints the status, the spectral overlap rho and top eigenvalue (spectral start), then a
    table of m, q, error, train_loss, grad_norm and test_error, each as mean ± Monte-Carlo
    standard error, at the steps 0, 1, 2, 5, 10, 20, 50, 100, ... and the last one; --json
    and --output carry every observable at every step.  The batches are independent solves:
    --workers N or --scheduler ADDR runs them on Dask, with the same numbers as a local run.

    \b
    Exit status: 0 success, 2 usage error, 4 blowup, 6 below-threshold,
    7 not-applicable, 8 failed; --json and --output are written in every case
    (README: Exit codes).
    """
    from ..theory.dmft import dmft

    if workers is not None and scheduler is not None:
        raise click.UsageError("--workers and --scheduler are mutually exclusive")
    problem = problem_from_options(opts)
    compile_note("dmft")
    echo_size_notes("dmft", size_notes(batches=batches, samples=samples, steps=problem.steps))
    try:
        res = dmft(
            problem,
            samples=samples,
            batches=batches,
            seed=seed,
            naive=naive,
            precision=precision,
            responses=responses,
            window=window,
            checkpoint=checkpoint,
            progress=not no_progress,
            workers=workers or 0,
            scheduler=scheduler,
        )
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    if output:
        path = res.save(output)
        click.echo(f"wrote {path}", err=True)
    if as_json:
        d = res.to_dict()
        d.update(naive=bool(naive), exit_code=exit_code(res.status))
        echo_json(d)
    else:
        click.echo(f"# {res.status.label}: {res.message}")
        if math.isfinite(res.spectral_overlap):
            click.echo(
                f"# spectral overlap rho = {res.spectral_overlap:.6f}, top eigenvalue = {res.top_eigenvalue:.6f}"
            )
        cols = ("m", "q", "error", "train_loss", "grad_norm", "test_error")
        n_steps = len(res.t) - 1
        rows = sorted(set([0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, n_steps]) & set(range(n_steps + 1)))
        if not np.any(np.isfinite(res.mean("m"))):  # nothing computed (below threshold, not applicable)
            rows = []
        if rows:
            click.echo("  t  " + "  ".join(f"{c:>22s}" for c in cols))
        for t in rows:
            cells = [f"{res.mean(c)[t]:12.6f} ± {res.se(c)[t]:7.1e}" for c in cols]
            click.echo(f"{t:4d} " + "  ".join(cells))
    exit_for(res.status, res.message)
