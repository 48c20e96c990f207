"""``sidmft sweep``: a Cartesian grid of problems computed on Dask, resumable."""

from __future__ import annotations

import click

from . import PROBLEM_FLAGS, _float_or_empirical, echo_json, exit_code, exit_for, problem_options

_EPILOG = """\b
Examples:
  sidmft sweep --grid alpha=0.5:4:8 --grid lam=0,0.1,0.3 --outputs spectral,dmft --store runs/al
  sidmft sweep --grid preprocess=lal,clip:3,trim:7 --grid alpha=0.25:3:12:log \\
               --outputs spectral,simulate --dim 500 --seeds 2 --store runs/pp --workers 2
  sidmft sweep --config sweep.toml --scheduler tcp://127.0.0.1:8786
  sidmft sweep --store runs/al --info          # progress of a store
Re-running the same command resumes: finished points are skipped.

\b
Exit status: 0 success, 2 usage error, 8 failed: an output raised an
exception at some point of the store (a bug; --retry-failed recomputes
those points) or a point could not be computed (worker lost).  A status an
output returned (below-threshold, diverged, blowup, failed, ...) is data
stored per point as a sidmft.Status value (not an exit code); it does not
change the exit status (README: Exit codes).
"""


@click.command("sweep", epilog=_EPILOG)
@problem_options
@click.option(
    "--grid",
    "grids",
    multiple=True,
    metavar="NAME=VALUES",
    help="Grid dimension: NAME=V1,V2,... or NAME=START:STOP:NUM[:log] over a problem flag "
    "(model, noise, loss, preprocess, alpha, lam, eta, steps, kappa, init, m0, q0) or a run "
    "setting (dim, seeds, samples, batches). Repeat for a Cartesian product.",
)
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML file with [grid], [problem], [settings], outputs, store, seed, workers.",
)
@click.option(
    "--outputs",
    default=None,
    metavar="LIST",
    help="What each point computes: comma-separated spectral, dmft, fixed-point, simulate "
    "(or module:function).  [default: spectral]",
)
@click.option(
    "--store", default=None, type=click.Path(file_okay=False), help="Sweep directory (created; re-running resumes)."
)
@click.option(
    "--workers",
    default=None,
    type=int,
    help="LocalCluster worker processes, 1 thread each (0: no Dask, in this process).  [default: 2]",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Use an existing Dask scheduler (e.g. tcp://127.0.0.1:8786) instead of a LocalCluster.",
)
@click.option("--dim", default=None, type=int, help="Simulation dimension d (output simulate).  [default: 1000]")
@click.option("--seeds", default=None, type=int, help="Simulation seeds per point (output simulate).  [default: 4]")
@click.option("--samples", default=None, type=int, help="DMFT Monte-Carlo samples (output dmft).  [default: 20000]")
@click.option("--batches", default=None, type=int, help="DMFT batches (output dmft).  [default: 4]")
@click.option(
    "--seed",
    default=None,
    type=int,
    help="Base seed; each point's seed derives from it and the point's parameters.  [default: 0]",
)
@click.option("--overwrite", is_flag=True, help="Delete an existing store first.")
@click.option("--retry-failed", is_flag=True, help="Recompute finished points where an output raised an error.")
@click.option("--max-points", default=None, type=int, help="Compute at most this many new points, then stop.")
@click.option("--dry-run", is_flag=True, help="Validate the grid and print the plan; compute nothing.")
@click.option("--info", is_flag=True, help="Print the progress of --store and exit.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.pass_context
def command(
    ctx,
    grids,
    config,
    outputs,
    store,
    workers,
    scheduler,
    dim,
    seeds,
    samples,
    batches,
    seed,
    overwrite,
    retry_failed,
    max_points,
    dry_run,
    info,
    progress,
    as_json,
    **opts,
):
    """Sweep a Cartesian grid of problems; each point computes the chosen outputs.

    Points run on dask.distributed (a LocalCluster by default, or --scheduler), stream into
    STORE as they finish, and a re-run of the same command skips finished points.  Open the
    results with ``sidmft.sweep.open_sweep(STORE)`` or draw them with ``sidmft plot STORE``."""
    from ..sweep import SweepError, load_config, run_sweep, sweep_info

    try:
        if info:
            if not store:
                raise SweepError("--info needs --store")
            res = sweep_info(store)
            echo_json(res) if as_json else click.echo("\n".join(f"{k}: {v}" for k, v in res.items()))
            return
        cfg = load_config(config) if config else {}
        spec = _spec_from_options(
            ctx, cfg, grids, outputs, seed, opts, dict(dim=dim, seeds=seeds, samples=samples, batches=batches)
        )
        store = store or cfg.get("store")
        if not store:
            raise SweepError("no store: give --store PATH (or store = ... in the config file)")
        workers = workers if workers is not None else int(cfg.get("workers", 2))
        scheduler = scheduler or cfg.get("scheduler")
        if workers < 0:
            raise SweepError(f"--workers must be >= 0; got {workers}")
        if max_points is not None and max_points < 0:
            raise SweepError(f"--max-points must be >= 0; got {max_points}")
    except (SweepError, click.BadParameter) as e:
        raise click.UsageError(str(e)) from None

    if dry_run:
        plan = _plan(spec, store, workers, scheduler)
        echo_json(plan) if as_json else click.echo("\n".join(f"{k}: {v}" for k, v in plan.items()))
        return
    try:
        res = run_sweep(
            spec,
            store,
            workers=workers,
            scheduler=scheduler,
            overwrite=overwrite,
            progress=progress,
            max_points=max_points,
            retry_failed=retry_failed,
        )
    except SweepError as e:
        raise click.UsageError(str(e)) from None
    _report(res, as_json)


def _plan(spec, store, workers, scheduler) -> dict:
    """What a run would do (``--dry-run``): the grid, outputs, settings and where it would run."""
    from ..sweep import RUN_SETTINGS

    return {
        "store": str(store),
        "dims": list(spec.dims),
        "shape": list(spec.shape),
        "n_points": spec.n_points,
        "outputs": list(spec.outputs),
        "grid": spec.to_dict()["grid"],
        "fixed": spec.fixed,
        "settings": {k: spec.settings[k] for k in RUN_SETTINGS},
        "seed": spec.seed,
        "workers": None if scheduler else workers,
        "scheduler": scheduler,
    }


def _spec_from_options(ctx, cfg: dict, grids, outputs, seed, opts: dict, run_settings: dict):
    """The SweepSpec of the command line over the config file (a flag given on the command line
    wins; a parameter may not be both fixed by a flag and in the grid)."""
    from ..sweep import SweepError, SweepSpec, parse_grid

    grid = parse_grid(grids, base=cfg.get("grid", {}))
    fixed = dict(cfg.get("fixed", {}))
    for k in PROBLEM_FLAGS:
        src = ctx.get_parameter_source(k)
        explicit = src is not None and src.name in ("COMMANDLINE", "ENVIRONMENT")
        if k in grid:
            if explicit:
                raise SweepError(f"parameter {k!r} is given both as a fixed flag (--{k}) and in the grid")
            fixed.pop(k, None)
            continue
        if explicit or k not in fixed:
            v = opts.get(k)
            if k == "kappa" and v is not None:
                v = _float_or_empirical(v)
            if v is not None:
                fixed[k] = v
    settings = dict(cfg.get("settings", {}))
    for k, v in run_settings.items():
        if v is not None:
            if k in grid:
                raise SweepError(f"run setting {k!r} is given both as --{k} and in the grid")
            settings[k] = v
    out = outputs if outputs is not None else cfg.get("outputs", "spectral")
    return SweepSpec(
        grid=grid, fixed=fixed, settings=settings, outputs=out, seed=seed if seed is not None else cfg.get("seed", 0)
    )


def _report(res: dict, as_json: bool) -> None:
    """Print the run summary and exit with its status (8 if an output raised or a point was lost)."""
    failed, returned = _store_statuses(res)
    status = "failed" if (failed or res["errors"]) else "success"
    parts = []
    if failed:
        shown = "; ".join(f"{f['output']} at {f['point']}" for f in failed[:3])
        more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
        parts.append(
            f"{len(failed)} output(s) raised an exception: {shown}{more}; "
            f"messages in the point files' <output>_message attributes"
        )
    if res["errors"]:
        parts.append(f"{len(res['errors'])} point(s) not computed: {res['errors'][0]}")
    message = "; ".join(parts) or f"{res['n_finished']} of {res['n_points']} points finished"
    res = dict(
        res,
        status=status,
        message=message,
        exit_code=exit_code(status),
        failed_points=failed,
        returned_statuses=returned,
    )
    if as_json:
        echo_json(res)
    else:
        click.echo(
            f"sweep: {res['n_finished']}/{res['n_points']} points finished "
            f"({res['computed']} computed now, {res['skipped']} already done) in {res['seconds']:.1f} s; "
            f"results in {res.get('results', res['store'])}",
            err=True,
        )
        if returned:
            counts = "; ".join(f"{o}: " + ", ".join(f"{n} {lab}" for lab, n in c.items()) for o, c in returned.items())
            click.echo(f"sweep: statuses stored as data (not errors; <output>_status): {counts}", err=True)
    for e in res["errors"]:
        click.echo(f"error: {e}", err=True)
    exit_for(status, message)


def _open_results(summary: dict):
    """The consolidated dataset of the store (rebuilt when the written one is stale)."""
    import xarray as xr

    from ..sweep import open_sweep

    if summary.get("results"):  # just consolidated: read it lazily
        try:
            ds = xr.open_zarr(summary["results"], consolidated=False)
            if int(ds.attrs.get("n_finished", -1)) == int(summary["n_finished"]):
                return ds
        except Exception:  # unreadable: rebuild below
            pass
    return open_sweep(summary["store"])


def _store_statuses(summary: dict) -> tuple[list[dict], dict]:
    """(points whose output raised, counts of the non-success statuses the outputs returned).

    An output raised where ``<output>_raised`` is 1 (in a point written before that flag existed:
    where its status is ``failed``); read from the consolidated ``results.zarr``, so a resumed sweep
    also reports the failures of earlier runs.  A status an output returned (``<output>_status``, a
    :class:`~sidmft.Status` code) is data: only counted, ``{output: {label: count}}``."""
    import numpy as np

    from ..results import Status

    ds = _open_results(summary)
    failed, returned = [], {}
    for name in ds.data_vars:
        if not name.endswith("_status"):
            continue
        out = name[: -len("_status")]
        st = ds[name].load()
        codes = np.asarray(st.values)
        raised = ds.get(out + "_raised")
        flag = np.full(codes.shape, -1) if raised is None else np.asarray(raised.load().values)
        bad = (flag == 1) | ((flag == -1) & (codes == int(Status.FAILED)))
        for idx in np.argwhere(bad):
            point = ", ".join(
                f"{d}={ds[d].values[i].item() if d in ds.coords else int(i)}" for d, i in zip(st.dims, idx)
            )
            failed.append({"output": out, "point": point})
        kept = codes[~bad & (codes > 0)]
        if kept.size:
            returned[out] = {Status(int(c)).label: int(np.sum(kept == c)) for c in np.unique(kept)}
    return failed, returned
