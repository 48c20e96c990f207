"""``sidmft plot``: phase diagrams (heat maps, line plots) from a sweep store."""

from __future__ import annotations

from pathlib import Path

import click

from . import exit_for

_EPILOG = """\b
Examples:
  sidmft plot runs/al --var dmft_error --x alpha --y lam            # heat map, alpha_c overlaid
  sidmft plot runs/pp --var spectral_rho_sq --x alpha               # one line per preprocessing
  sidmft plot runs/al --var simulate_cosine --x alpha --select lam=0.1 --output cos.pdf
  sidmft plot runs/al --var dmft_error_t --x t --hue alpha --select lam=0
  sidmft plot runs/al --list                                         # variables in the store
"""


def _check_format(path: str) -> None:
    """Refuse an image extension matplotlib cannot write (a usage error, before drawing)."""
    from matplotlib.backend_bases import FigureCanvasBase

    ext = Path(path).suffix.lstrip(".").lower()
    formats = FigureCanvasBase.get_supported_filetypes()
    if ext not in formats:
        raise click.UsageError(
            f"--output {path!r}: unknown image format {ext!r}; use one of {', '.join(sorted(formats))}"
        )


@click.command("plot", epilog=_EPILOG)
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option("--var", "var", default=None, help="Stored variable to draw (see --list).")
@click.option("--x", "x", default=None, help="Grid parameter on the x axis.")
@click.option("--y", "y", default=None, help="Grid parameter on the y axis (-> heat map).")
@click.option("--hue", default=None, help="Grid parameter drawn as separate lines (line plot).")
@click.option("--col", default=None, help="Grid parameter drawn as separate panels.")
@click.option(
    "--select",
    "select",
    multiple=True,
    metavar="NAME=VALUE",
    help="Fix a grid parameter (nearest grid value); repeatable.",
)
@click.option("--kind", type=click.Choice(["auto", "heatmap", "line"]), default="auto", show_default=True)
@click.option(
    "--threshold/--no-threshold",
    default=True,
    show_default=True,
    help="Overlay the spectral threshold alpha_c stored in the sweep when alpha is an axis.",
)
@click.option("--cmap", default="viridis", show_default=True, help="Colour map of heat maps.")
@click.option("--vmin", type=float, default=None)
@click.option("--vmax", type=float, default=None)
@click.option("--logx/--linx", default=None, help="x scale (default: log for geometric grids).")
@click.option("--logy/--liny", default=None, help="y scale (default: log for geometric grids).")
@click.option("--title", default=None, help="Figure title (default: the fixed parameters).")
@click.option(
    "--output",
    "-o",
    default=None,
    type=click.Path(dir_okay=False),
    help="Image file (.png, .pdf, .svg).  [default: STORE/plot_VAR.png]",
)
@click.option("--dpi", default=200, show_default=True, type=int)
@click.option("--list", "list_vars", is_flag=True, help="List the plottable variables and exit.")
def command(
    store, var, x, y, hue, col, select, kind, threshold, cmap, vmin, vmax, logx, logy, title, output, dpi, list_vars
):
    """Draw a phase diagram of VAR from the sweep in STORE.

    Two grid parameters give a heat map (with a colour bar), one gives a line plot (the next
    free parameter as lines, error bars = 2 standard errors when stored).  Further
    parameters become panels (--col) or are fixed with --select.  The spectral threshold
    alpha_c stored in the sweep is drawn as a dashed curve when alpha is an axis.

    \b
    Exit status: 0 success (figure written), 2 usage error (bad store, variable,
    axes or image format), 8 failed (the figure could not be written)."""
    from ..plot import PlotError, plot_sweep, plot_variables
    from ..sweep import SweepError, open_sweep

    try:
        ds = open_sweep(store)
    except SweepError as e:
        raise click.UsageError(str(e)) from None
    if list_vars:
        for name in plot_variables(ds):
            click.echo(f"{name:32s} {ds[name].attrs.get('long_name', '')}  dims={','.join(ds[name].dims)}")
        return
    if var is None:
        raise click.UsageError("missing --var; available: " + ", ".join(plot_variables(ds)))
    out = output or str(Path(store) / f"plot_{var}{'_' + x if x else ''}{'_' + y if y else ''}.png")
    _check_format(out)
    try:
        plot_sweep(
            ds,
            var,
            x,
            y,
            hue=hue,
            col=col,
            select=list(select),
            kind=kind,
            threshold=threshold,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            logx=logx,
            logy=logy,
            title=title,
            output=out,
            dpi=dpi,
        )
    except PlotError as e:
        raise click.UsageError(str(e)) from None
    except OSError as e:  # cannot write the image (missing directory, permissions, disk full)
        exit_for("failed", f"cannot write {out}: {type(e).__name__}: {e}")
    click.echo(out)
