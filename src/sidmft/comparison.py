"""Theory next to experiment: one problem, the d -> infinity prediction and finite-size GD.

:func:`compare` runs, on the same :class:`~sidmft.Problem`,

* the spectral theory (:func:`sidmft.theory.spectral.spectral`),
* the DMFT trajectory with Monte-Carlo error bars (:func:`sidmft.theory.dmft.dmft`),
* the long-time fixed point (:func:`sidmft.theory.fixed_point.fixed_point`), and
* the simulator over several seeds (:func:`sidmft.simulator.simulate`),

and returns a :class:`ComparisonResult` with a table of deviations in units of the combined
standard error z = (theory - simulation) / sqrt(se_theory^2 + se_sim^2), a figure and a netCDF
file.  The simulation standard error is the seed-to-seed spread at dimension ``dim`` (it contains
the finite-size fluctuation); the theory standard error is the Monte-Carlo error of the DMFT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .problem import Problem
from .results import OBSERVABLES, Result, Status, Timer

__all__ = ["compare", "ComparisonResult", "deviation_table"]

#: observables shown in the deviation table and the figure
TABLE_OBSERVABLES = ("m", "q", "cosine", "error", "train_loss", "grad_norm", "test_error")


def deviation_table(theory, sim, names=TABLE_OBSERVABLES, t_min: int = 0) -> list[dict]:
    """Largest deviation per observable in units of the combined standard error.

    Parameters
    ----------
    theory, sim : TrajectoryResult
        The DMFT and the simulation (``mean(name)``, ``se(name)``).
    names : observables to compare
    t_min : first step compared

    Returns
    -------
    list of dict with keys ``name``, ``t`` (where the largest |z| occurs), ``theory``,
    ``theory_se``, ``sim``, ``sim_se``, ``z`` (signed), ``max_abs_z``.
    """
    rows = []
    for name in names:
        th = np.asarray(theory.mean(name), dtype=float)
        th_se = np.asarray(theory.se(name), dtype=float)
        sm = np.asarray(sim.mean(name), dtype=float)
        sm_se = np.asarray(sim.se(name), dtype=float)
        n = min(th.size, sm.size)
        sl = slice(t_min, n)
        # floating-point floor: quantities that are exact on both sides (q_0 = kappa^2) have
        # zero standard error; a 1e-9 relative floor keeps rounding from showing up as z = inf
        se = np.sqrt(th_se[sl] ** 2 + sm_se[sl] ** 2 + (1e-9 * np.abs(th[sl])) ** 2)
        diff = th[sl] - sm[sl]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se > 0, diff / se, np.where(diff == 0, 0.0, np.inf))
        ok = np.isfinite(th[sl]) & np.isfinite(sm[sl])
        if not ok.any():
            rows.append(
                dict(
                    name=name,
                    t=-1,
                    theory=np.nan,
                    theory_se=np.nan,
                    sim=np.nan,
                    sim_se=np.nan,
                    z=np.nan,
                    max_abs_z=np.nan,
                )
            )
            continue
        za = np.where(ok, np.abs(z), -1.0)
        i = int(np.argmax(za))
        rows.append(
            dict(
                name=name,
                t=int(t_min + i),
                theory=float(th[sl][i]),
                theory_se=float(th_se[sl][i]),
                sim=float(sm[sl][i]),
                sim_se=float(sm_se[sl][i]),
                z=float(z[i]),
                max_abs_z=float(za[i]),
            )
        )
    return rows


@dataclass
class ComparisonResult(Result):
    """Theory and simulation of one problem, side by side.

    Attributes
    ----------
    spectral, dmft, fixed_point, simulation : the four underlying results
        (``fixed_point`` is ``None`` if it was not requested).
    table : list of dict -- :func:`deviation_table` rows (plus the spectral overlap row)
    dim : int -- simulation dimension
    t_floor : float or None -- the floor K of the simulation's spectral start (the theory uses the same T_K)
    floor_bias : float -- rho(T) - rho(T_K), how much the unfloored theory's overlap differs
    files : dict -- paths written (``figure``, ``netcdf``) when an output directory was given
    """

    spectral: Any = None
    dmft: Any = None
    fixed_point: Any = None
    simulation: Any = None
    table: list = field(default_factory=list)
    dim: int = 0
    files: dict = field(default_factory=dict)
    t_floor: Optional[float] = None
    floor_bias: float = 0.0

    @property
    def max_abs_z(self) -> float:
        vals = [r["max_abs_z"] for r in self.table if np.isfinite(r["max_abs_z"])]
        return max(vals) if vals else float("nan")

    def to_dict(self) -> dict:
        """Common fields, the deviation table, ``max_abs_z``, the files written and each part's status."""
        d = super().to_dict()
        parts = (
            ("spectral", self.spectral),
            ("dmft", self.dmft),
            ("fixed_point", self.fixed_point),
            ("simulation", self.simulation),
        )
        d.update(
            max_abs_z=self.max_abs_z,
            table=list(self.table),
            files=dict(self.files),
            dim=int(self.dim),
            seeds=None if self.simulation is None else int(len(self.simulation.seeds)),
            parts={k: (None if r is None else dict(status=r.status.label, message=r.message)) for k, r in parts},
        )
        return d

    def summary_extra(self) -> list:
        """The largest |z| of the deviation table."""
        from .results import _fmt

        return [("max_abs_z", _fmt(self.max_abs_z))]

    def html_table(self):
        """The deviation table (name, t, theory, its se, simulation, its se, z) for the notebook summary."""
        from .results import _fmt

        if not self.table:
            return None
        cols = [c for c in ("name", "t", "theory", "theory_se", "sim", "sim_se", "z") if c in self.table[0]]
        rows = [[str(r[c]) if c in ("name", "t") else _fmt(r[c], 4) for c in cols] for r in self.table]
        return cols, rows

    def format_table(self) -> str:
        """Plain-text table of the largest deviation per observable."""
        head = f"{'observable':<18}{'t':>5}{'theory':>12}{'± se':>10}{'simulation':>12}{'± se':>10}{'z':>8}"
        lines = [head, "-" * len(head)]
        for r in self.table:
            lines.append(
                f"{r['name']:<18}{r['t']:>5}{r['theory']:>12.6g}{r['theory_se']:>10.2g}"
                f"{r['sim']:>12.6g}{r['sim_se']:>10.2g}{r['z']:>8.2f}"
            )
        lines.append(
            f"largest |z| = {self.max_abs_z:.2f}  (z = deviation / combined standard error; "
            f"simulation d = {self.dim}, {len(self.simulation.seeds)} seeds)"
        )
        return "\n".join(lines)

    def to_xarray(self):
        import xarray as xr

        th = self.dmft.to_xarray()
        sim = self.simulation.to_xarray()
        ds = xr.Dataset()
        n = min(th.sizes["t"], sim.sizes["t"])
        t = np.arange(n)
        for name in OBSERVABLES:
            ds[f"theory_{name}"] = ("t", np.asarray(self.dmft.mean(name))[:n])
            ds[f"theory_{name}_se"] = ("t", np.asarray(self.dmft.se(name))[:n])
            ds[f"sim_{name}"] = ("t", np.asarray(self.simulation.mean(name))[:n])
            ds[f"sim_{name}_se"] = ("t", np.asarray(self.simulation.se(name))[:n])
            ds[f"sim_{name}_per_seed"] = (("seed", "t"), np.asarray(self.simulation.per_replica(name))[:, :n])
        ds = ds.assign_coords(t=t, seed=np.asarray(self.simulation.seeds))
        ds["table_z"] = ("observable", [r["z"] for r in self.table])
        ds["table_t"] = ("observable", [r["t"] for r in self.table])
        ds = ds.assign_coords(observable=[r["name"] for r in self.table])
        attrs = self.metadata()
        attrs.update(
            dim=self.dim,
            max_abs_z=self.max_abs_z,
            dmft_samples=int(self.dmft.samples),
            dmft_batches=int(self.dmft.batches),
            dmft_status=self.dmft.status.label,
            simulation_status=self.simulation.status.label,
            t_floor=float("nan") if self.t_floor is None else float(self.t_floor),
            floor_bias_rho=float(self.floor_bias),
            theory_preprocess=str(self.dmft.problem.preprocess),
        )
        sp = self.spectral
        attrs.update(
            spectral_overlap_theory=float(sp.rho),
            spectral_overlap_sq_theory=float(sp.rho_sq),
            spectral_top_eigenvalue_theory=float(sp.top_eigenvalue),
            spectral_alpha_c=float(sp.alpha_c),
            spectral_overlap_sim=float(np.mean(self.simulation.spectral_overlap)),
            spectral_overlap_sim_se=_se(self.simulation.spectral_overlap),
        )
        if self.fixed_point is not None:
            fp = self.fixed_point
            attrs.update(
                fixed_point_status=fp.status.label,
                **{
                    f"fixed_point_{k}": float(getattr(fp, k))
                    for k in ("m", "q", "cosine", "error", "train_loss", "gamma", "h_min", "rate", "residual")
                },
            )
        ds.attrs = attrs
        return ds


def _se(x) -> float:
    from .numerics import standard_error

    return float(standard_error(np.asarray(x, dtype=float).ravel()))


def compare(
    problem: Optional[Problem] = None,
    *,
    dim: int = 2000,
    seeds: int = 8,
    seed: int = 0,
    samples: int = 40000,
    batches: int = 8,
    fixed_point: bool = True,
    output_dir=None,
    progress: bool = False,
    figure_format: str = "png",
    t_floor: Optional[float] = 100.0,
    workers: int = 0,
    scheduler: Optional[str] = None,
) -> ComparisonResult:
    """Run theory and simulation on one problem and compare them.

    Parameters
    ----------
    problem : Problem, default ``Problem()`` (phase retrieval, intensity loss, T = 1 - 1/y,
        alpha = 3, lam = 0.1, eta = 0.1, 50 steps)
    dim : int
        Simulation dimension d (n = alpha d).
    seeds : int
        Number of simulation seeds (``seed, seed+1, ...``).
    seed : int
        Base seed for the simulation and the DMFT Monte Carlo.
    samples, batches : int
        DMFT Monte-Carlo paths and independent batches (error bars).
    fixed_point : bool
        Also solve the long-time fixed point (drawn as a dashed asymptote).
    output_dir : path, optional
        If given, write ``compare.png`` (figure), ``compare.nc`` (both trajectories, the
        table and all parameters) and ``table.txt``.
    progress : bool
        Progress bars on stderr.
    t_floor : float > 0 or None
        The floor K of the simulation's spectral start (T replaced by T_K = max(T, -K) where T is unbounded
        below, ``SpectralInitSettings.t_floor``; None: the exact T).  The theory then solves the problem with the
        same T_K (preprocess ``"<T>|floor:K"``), so the comparison carries no floor bias; the unfloored theory's
        overlap differs by ``floor_bias`` (e.g. 1.2e-4 at alpha = 3, 6.0e-4 at alpha = 6 for T = 1 - 1/y).
    workers, scheduler : int (>= 0), str, optional
        Run the simulated seeds and the DMFT batches as Dask tasks (a LocalCluster of ``workers`` processes or
        the scheduler ``tcp://HOST:PORT``): the numbers of a local run.

    Returns
    -------
    ComparisonResult

    Examples
    --------
    A small run (the defaults, d = 2000 and 8 seeds, are the ones to trust; see the guide on choosing sizes):

    >>> from sidmft import Problem, compare
    >>> res = compare(Problem(steps=5), dim=300, seeds=2, samples=2000, batches=2, fixed_point=False)
    >>> res.dmft.success and res.simulation.success, len(res.table) > 0
    (True, True)
    """
    problem = Problem() if problem is None else problem
    dmft_settings = _check_compare_args(problem, dim, seeds, output_dir, figure_format, samples, batches)
    theory, floor_bias = _theory_problem(problem, t_floor)
    where = dict(workers=workers, scheduler=scheduler)
    sp, th, fp, sim, timing = _run_parts(
        problem, theory, dim, seeds, seed, dmft_settings, fixed_point, progress, dict(where, t_floor=t_floor)
    )
    table = deviation_table(th, sim)
    if problem.init == "spectral":
        table.insert(0, _spectral_row(sp, sim))
    status, message = _comparison_status(problem, sp, th, sim, fp)
    message += _notes(theory, floor_bias, th, sim)
    parts = dict(spectral=sp, dmft=th, fixed_point=fp, simulation=sim, table=table, dim=int(dim))
    parts.update(t_floor=t_floor, floor_bias=floor_bias)
    res = ComparisonResult(problem=problem, status=status, seed=seed, timing=timing, message=message, **parts)
    if output_dir is not None:
        _write_outputs(res, Path(output_dir), figure_format)
    return res


def _check_compare_args(problem, dim, seeds, output_dir, figure_format, samples, batches):
    """Validate every argument of :func:`compare` before any work; returns the DMFT settings."""
    from .theory.dmft import DMFTSettings

    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a sidmft.Problem; got {type(problem).__name__}")
    if problem.init not in ("spectral", "random", "linear"):
        raise ValueError(
            "init must be 'spectral', 'random' or 'linear' for compare (the theory has no init='given'); "
            f"got {problem.init!r}"
        )
    for name, v, lo, why in (("dim", dim, 10, ""), ("seeds", seeds, 2, " (standard errors need two)")):
        try:
            ok = not isinstance(v, bool) and int(v) == v and v >= lo
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise ValueError(f"{name} must be a whole number >= {lo}{why}; got {v!r}")
    settings = DMFTSettings(samples=samples, batches=batches)
    if output_dir is not None:
        from matplotlib.backend_bases import FigureCanvasBase

        formats = sorted(FigureCanvasBase.get_supported_filetypes())
        if figure_format not in formats:
            raise ValueError(f"figure_format must be one of {formats}; got {figure_format!r}")
    return settings


def _theory_problem(problem, t_floor):
    """(the problem the theory solves, the floor bias of the overlap rho(T) - rho(T_K)): with the simulation's
    floored T_K when its spectral start floors T (a spectral start with T going below -K), else the problem."""
    from .preprocess import FLOOR_SEP, floored

    if t_floor is None or problem.init != "spectral" or FLOOR_SEP in str(problem.preprocess):
        return problem, 0.0
    T = problem.T
    if floored(T, t_floor).breakpoints == tuple(sorted(set(T.breakpoints))):  # T never reaches -K
        return problem, 0.0
    from .theory.spectral import spectral

    theory = problem.replace(preprocess=f"{problem.preprocess}{FLOOR_SEP}{float(t_floor):g}")
    a, b = spectral(problem, threshold=False), spectral(theory, threshold=False)
    bias = float(a.rho - b.rho) if a.success and b.success else float("nan")
    return theory, bias


def _notes(theory, floor_bias, th, sim) -> str:
    """The floor used by the theory, and the warnings of the parts (stability, heavy tails)."""
    from .preprocess import FLOOR_SEP

    notes = []
    if FLOOR_SEP in str(theory.preprocess):
        notes.append(
            f"the theory uses the simulation's floored T ({theory.preprocess}; the unfloored overlap rho is higher by "
            f"{floor_bias:.2g})"
        )
    for part, r in (("dmft", th), ("simulation", sim)):
        for w in str(r.message).split("; WARNING: ")[1:]:
            notes.append(f"{part}: {w}")
    return "".join(f"; {n}" for n in notes)


def _dask(where: dict) -> dict:
    return {k: where[k] for k in ("workers", "scheduler")}


def _run_parts(problem, theory, dim, seeds, seed, dmft_settings, with_fixed_point, progress, where):
    """Spectral theory, DMFT, fixed point (optional) and simulation, each timed (the theory parts on ``theory``,
    the problem with the simulation's floored T when it has one)."""
    from .simulator import SpectralInitSettings, simulate
    from .theory.dmft import dmft
    from .theory.spectral import spectral

    timing = {}
    with Timer() as tt:
        with Timer() as t_sp:
            sp = spectral(theory)
        timing["spectral"] = t_sp.seconds
        with Timer() as t_d:
            th = dmft(theory, seed=seed, progress=progress, settings=dmft_settings, **_dask(where))
        timing["dmft"] = t_d.seconds
        fp: Optional[Result] = None
        if with_fixed_point:
            with Timer() as t_f:
                fp = _fixed_point_part(problem, th)
            timing["fixed_point"] = t_f.seconds
        spec = SpectralInitSettings(t_floor=where["t_floor"])
        with Timer() as t_s:
            sim = simulate(problem, dim=dim, seeds=seeds, seed=seed, progress=progress, spectral=spec, **_dask(where))
        timing["simulate"] = t_s.seconds
    timing["total"] = tt.seconds
    return sp, th, fp, sim, timing


def _fixed_point_part(problem, th) -> Result:
    from .theory.fixed_point import fixed_point as solve_fp

    try:
        return solve_fp(problem, start=th if th.success else None)
    except Exception as e:  # the problem is valid (checked above) and the fixed point is an
        # optional asymptote here: report what it raised, keep the other parts
        return Result(
            problem=problem, status=Status.FAILED, message=f"the fixed-point solver raised {type(e).__name__}: {e}"
        )


def _spectral_row(sp, sim) -> dict:
    """Table row of the spectral overlap: theory rho against the simulated overlaps at t = 0."""
    rho_sim = np.asarray(sim.spectral_overlap, dtype=float)
    se = _se(rho_sim)
    z = (float(sp.rho) - float(rho_sim.mean())) / se if se > 0 else np.nan
    return dict(
        name="spectral_overlap",
        t=0,
        theory=float(sp.rho),
        theory_se=0.0,
        sim=float(rho_sim.mean()),
        sim_se=se,
        z=z,
        max_abs_z=abs(z),
    )


def _comparison_status(problem, sp, th, sim, fp) -> tuple[Status, str]:
    """The first non-success among the parts that define the comparison (the spectral theory only for a
    spectral start; the fixed point is an optional asymptote), with every part's message."""
    status = Status.SUCCESS
    msgs = []
    for part, r in (("spectral", sp), ("dmft", th), ("simulation", sim), ("fixed point", fp)):
        if r is not None and not r.success:
            msgs.append(f"{part}: {r.status.label}: {r.message}")
            counts = part in ("dmft", "simulation") or (part == "spectral" and problem.init == "spectral")
            if counts and status == Status.SUCCESS:
                status = r.status
    return status, ("; ".join(msgs) if msgs else "theory and simulation computed")


def _write_outputs(res, out: Path, figure_format: str) -> None:
    """``compare.<fmt>`` (figure), ``compare.nc`` and ``table.txt`` in ``out``."""
    from .plot import plot_comparison

    out.mkdir(parents=True, exist_ok=True)
    fig_path = out / f"compare.{figure_format}"
    plot_comparison(res, fig_path)
    res.files["figure"] = str(fig_path)
    res.files["netcdf"] = res.save(out / "compare.nc")
    (out / "table.txt").write_text(res.format_table() + "\n")
    res.files["table"] = str(out / "table.txt")
