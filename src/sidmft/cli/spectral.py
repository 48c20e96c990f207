"""``sidmft spectral``: d -> inf spectral initialisation (threshold, eigenvalues, overlap), THEORY.md §1."""

from __future__ import annotations

import math
import sys

import click
import numpy as np

from . import echo_json, problem_from_options, problem_options

__all__ = ["command", "parse_alpha"]


def parse_alpha(text) -> tuple[list, bool]:
    """Parse ``--alpha``: a number, a list ``"1,2,3"`` or a range ``"START:STOP:NUM"`` (linspace).

    Returns (values, is_list)."""
    s = str(text).strip()
    try:
        if ":" in s:
            parts = s.split(":")
            if len(parts) != 3:
                raise ValueError
            a, b, n = float(parts[0]), float(parts[1]), int(parts[2])
            if n < 1:
                raise ValueError
            return [float(v) for v in np.linspace(a, b, n)], True
        if "," in s:
            return [float(v) for v in s.split(",") if v.strip()], True
        return [float(s)], False
    except ValueError:
        raise click.BadParameter(f"--alpha must be a number > 0, a list '1,2,3' or a range 'START:STOP:NUM'; "
                                 f"got {text!r}") from None


def _row(res):
    return {"alpha": res.alpha, "alpha_c": res.alpha_c, "top_eigenvalue": res.top_eigenvalue,
            "bulk_edge": res.bulk_edge, "overlap": res.rho, "overlap_sq": res.rho_sq,
            "status": res.status.label, "message": res.message}


def _simulate_points(problem, alphas, dim, seeds):
    """Finite-size rho^2 per alpha (mean, standard error over seeds) with the simulator."""
    from ..simulate import generate_data, spectral_init

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
        ses.append(vals.std(ddof=1) / math.sqrt(len(vals)) if len(vals) > 1 else 0.0)
    return np.asarray(means), np.asarray(ses)


def plot_overlap(path, problem, results, sim=None, dim=None, seeds=None):
    """Draw rho^2 against alpha: the theory curve, the threshold, and optional simulated points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    al = np.array([r.alpha for r in results])
    r2 = np.array([r.rho_sq for r in results])
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ac = results[0].alpha_c
    ca, cr = al, r2
    if np.isfinite(ac) and al.min() < ac < al.max():  # put the kink at alpha_c on the curve
        ca, cr = np.append(al, ac), np.append(r2, 0.0)
        o = np.argsort(ca)
        ca, cr = ca[o], cr[o]
    ax.plot(ca, cr, "-", color="C0", lw=1.8, label=r"theory ($d\to\infty$)")
    if np.isfinite(ac):
        ax.axvline(ac, color="0.4", ls="--", lw=1, label=rf"$\alpha_c = {ac:.4g}$")
    if sim is not None:
        m, se = sim
        ax.errorbar(al, m, yerr=se, fmt="o", color="C1", ms=4, capsize=2,
                    label=f"simulation (d = {dim}, {seeds} seeds)")
    ax.set_xlabel(r"$\alpha = n/d$")
    ax.set_ylabel(r"$\rho^2 = \langle v, x^*\rangle^2 / (\|v\|^2 \|x^*\|^2)$")
    noise = f", noise {problem.noise:g}" if problem.noise else ""
    ax.set_title(f"{problem.model}{noise}, T = {results[0].T.name if results[0].T else problem.preprocess}",
                 fontsize=10)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


@click.command("spectral")
@problem_options(alpha_type=str)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--plot", "plot_file", default=None, type=click.Path(dir_okay=False),
              help="Draw rho^2 against alpha (theory curve, threshold) into FILE.")
@click.option("--simulate", "sim_dim", default=None, type=click.IntRange(min=10),
              help="With --plot: add finite-size simulated points at dimension DIM.")
@click.option("--seeds", default=5, show_default=True, type=click.IntRange(min=1),
              help="Seeds per alpha for --simulate.")
@click.option("--save", default=None, type=click.Path(dir_okay=False),
              help="Save the result (single alpha) as netCDF.")
def command(as_json, plot_file, sim_dim, seeds, save, **opts):
    """d -> inf spectral initialisation: threshold alpha_c, top eigenvalue, bulk edge, overlap rho.

    --alpha accepts a number, a list "1,2,3" or a range "START:STOP:NUM".
    """
    from ..theory.spectral import spectral

    alphas, is_list = parse_alpha(opts["alpha"])
    if sim_dim is not None and plot_file is None:
        raise click.UsageError("--simulate needs --plot FILE")
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
                raise click.ClickException(f"--simulate needs sidmft.simulate: {e}") from None
        plot_overlap(plot_file, results[0].problem, results, sim, sim_dim, seeds)
        click.echo(f"wrote {plot_file}", err=True)
    if save is not None:
        if is_list:
            raise click.UsageError("--save takes a single --alpha")
        results[0].save(save)
        click.echo(f"wrote {save}", err=True)
    if as_json:
        if is_list:
            out = {k: [r[k] for r in rows] for k in rows[0]}
        else:
            out = rows[0]
        echo_json(out)
        return
    for r in rows:
        click.echo(f"alpha={r['alpha']:<8.4g} alpha_c={r['alpha_c']:<10.6g} lambda1={r['top_eigenvalue']:<11.6g} "
                   f"bulk_edge={r['bulk_edge']:<11.6g} rho={r['overlap']:<9.6f} rho^2={r['overlap_sq']:<9.6f} "
                   f"{r['status']}")
    if any(r["status"] != "success" for r in rows):
        for r in rows:
            if r["status"] != "success":
                click.echo(f"alpha={r['alpha']:g}: {r['message']}", err=True)
