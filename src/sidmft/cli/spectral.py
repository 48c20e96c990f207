"""``sidmft spectral``: d -> inf spectral initialisation (threshold, eigenvalues, overlap), docs/theory.md §1."""

from __future__ import annotations

import click
import numpy as np

from . import echo_json, exit_code, exit_for, problem_from_options, problem_options

__all__ = ["command", "parse_alpha"]


def parse_alpha(text) -> tuple[list, bool]:
    """Parse ``--alpha``: a number, a list ``"1,2,3"`` or a range ``"START:STOP:NUM[:log]"``.

    The same parser as a sweep grid (:func:`sidmft.sweep.parse_values`).  Returns (values, is_list)."""
    from ..sweep import SweepError, parse_values

    s = str(text).strip()
    try:
        values = parse_values("alpha", s)
    except SweepError as e:
        why = str(e).split(": ", 1)[-1]
        raise click.BadParameter(
            f"--alpha must be a number > 0, a list '1,2,3' or a range 'START:STOP:NUM'; got {text!r} ({why})"
        ) from None
    return values, ("," in s or ":" in s)


def _exit_status(results, is_list):
    """(status, message) deciding the exit status (README "Exit codes").

    A single alpha: its own status.  A list or range: below-threshold values are data (the
    curve is zero there), so the first value, in the order given, whose status is neither
    success nor below-threshold decides; success otherwise."""
    if not is_list:
        return results[0].status, results[0].message
    for r in results:
        if r.status.label not in ("success", "below-threshold"):
            return r.status, f"alpha = {r.alpha:g}: {r.message}"
    return "success", ""


def _row(res):
    return {
        "alpha": res.alpha,
        "alpha_c": res.alpha_c,
        "top_eigenvalue": res.top_eigenvalue,
        "bulk_edge": res.bulk_edge,
        "overlap": res.rho,
        "overlap_sq": res.rho_sq,
        "status": res.status.label,
        "message": res.message,
    }


def _simulate_points(problem, alphas, dim, seeds):
    """Finite-size rho^2 per alpha (mean, standard error over seeds) with the simulator."""
    from ..numerics import standard_error
    from ..simulator import generate_data, spectral_init

    means, ses = [], []
    for a in alphas:
        p = problem.replace(alpha=a, steps=0)
        vals = []
        for s in range(seeds):
            data = generate_data(p, dim, seed=s)
            v, info = spectral_init(data, p)
            if isinstance(info, dict) and "overlap" in info:
                rho = float(info["overlap"])
            elif hasattr(info, "overlap"):
                rho = float(info.overlap)
            else:
                xs = np.asarray(data.x_star, dtype=float)
                v = np.asarray(v, dtype=float)
                rho = abs(v @ xs) / (np.linalg.norm(v) * np.linalg.norm(xs))
            vals.append(rho * rho)
        vals = np.asarray(vals)
        means.append(vals.mean())
        ses.append(standard_error(vals) if len(vals) > 1 else 0.0)
    return np.asarray(means), np.asarray(ses)


@click.command("spectral")
@problem_options(alpha_type=str)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option(
    "--plot",
    "plot_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="Draw rho^2 against alpha (theory curve, threshold) into FILE.",
)
@click.option(
    "--simulate",
    "sim_dim",
    default=None,
    type=click.IntRange(min=10),
    help="With --plot: add finite-size simulated points at dimension DIM.",
)
@click.option(
    "--seeds", default=5, show_default=True, type=click.IntRange(min=1), help="Seeds per alpha for --simulate."
)
@click.option("--save", default=None, type=click.Path(dir_okay=False), help="Save the result (single alpha) as netCDF.")
def command(as_json, plot_file, sim_dim, seeds, save, **opts):
    """d -> inf spectral initialisation: threshold alpha_c, top eigenvalue, bulk edge, overlap rho.

    --alpha accepts a number, a list "1,2,3" or a range "START:STOP:NUM".

    \b
    Exit status: 0 success, 2 usage error, 6 below-threshold, 7 not-applicable,
    8 failed.  Over a list or range of alpha, below-threshold values are data
    (exit 0) and the first other non-success value decides.  --json, --plot and
    --save are written in every case (README: Exit codes).
    """
    from ..theory.spectral import spectral

    alphas, is_list = parse_alpha(opts["alpha"])
    if sim_dim is not None and plot_file is None:
        raise click.UsageError("--simulate needs --plot FILE")
    if save is not None and is_list:
        raise click.UsageError("--save takes a single --alpha")
    results = []
    for a in alphas:
        p = problem_from_options(opts, alpha=a)
        results.append(spectral(p))
    rows = [_row(r) for r in results]
    if plot_file is not None:
        sim = None
        if sim_dim is not None:
            try:
                sim = _simulate_points(results[0].problem, alphas, sim_dim, seeds)
            except ImportError as e:
                exit_for("failed", f"--simulate needs sidmft.simulator: {e}")
        from ..plot import plot_overlap

        plot_overlap(plot_file, results[0].problem, results, sim, sim_dim, seeds)
        click.echo(f"wrote {plot_file}", err=True)
    if save is not None:
        results[0].save(save)
        click.echo(f"wrote {save}", err=True)
    status, message = _exit_status(results, is_list)
    if as_json:
        if is_list:
            out = {k: [r[k] for r in rows] for k in rows[0]}
        else:
            out = dict(rows[0])
        out["exit_code"] = exit_code(status)
        echo_json(out)
        exit_for(status, message)
        return
    for r in rows:
        click.echo(
            f"alpha={r['alpha']:<8.4g} alpha_c={r['alpha_c']:<10.6g} lambda1={r['top_eigenvalue']:<11.6g} "
            f"bulk_edge={r['bulk_edge']:<11.6g} rho={r['overlap']:<9.6f} rho^2={r['overlap_sq']:<9.6f} "
            f"{r['status']}"
        )
    if is_list and any(r["status"] != "success" for r in rows):
        for r in rows:
            if r["status"] != "success":
                click.echo(f"alpha={r['alpha']:g}: {r['message']}", err=True)
    exit_for(status, message)
