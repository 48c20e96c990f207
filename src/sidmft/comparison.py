"""Theory next to experiment: one problem, the d -> infinity prediction and finite-size GD.

:func:`compare` runs, on the same :class:`~sidmft.Problem`,

* the spectral theory (:func:`sidmft.theory.spectral.spectral`),
* the DMFT trajectory with Monte-Carlo error bars (:func:`sidmft.theory.dmft.dmft`),
* the long-time fixed point (:func:`sidmft.theory.fixed_point.fixed_point`), and
* the simulator over several seeds (:func:`sidmft.simulate.simulate`),

and returns a :class:`ComparisonResult` with a table of deviations in units of the combined
standard error z = (theory - simulation) / sqrt(se_theory^2 + se_sim^2), a figure and a netCDF
file.  The simulation standard error is the seed-to-seed spread at dimension ``dim`` (it contains
the finite-size fluctuation); the theory standard error is the Monte-Carlo error of the DMFT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

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
    theory : object with ``t`` and arrays ``<name>``, ``<name>_se``
    sim : SimulationResult (``mean(name)``, ``se(name)``)
    names : observables to compare
    t_min : first step compared

    Returns
    -------
    list of dict with keys ``name``, ``t`` (where the largest |z| occurs), ``theory``,
    ``theory_se``, ``sim``, ``sim_se``, ``z`` (signed), ``max_abs_z``.
    """
    rows = []
    for name in names:
        th = np.asarray(getattr(theory, name), dtype=float)
        th_se = np.asarray(getattr(theory, f"{name}_se"), dtype=float)
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
            rows.append(dict(name=name, t=-1, theory=np.nan, theory_se=np.nan, sim=np.nan, sim_se=np.nan,
                             z=np.nan, max_abs_z=np.nan))
            continue
        za = np.where(ok, np.abs(z), -1.0)
        i = int(np.argmax(za))
        rows.append(dict(name=name, t=int(t_min + i), theory=float(th[sl][i]), theory_se=float(th_se[sl][i]),
                         sim=float(sm[sl][i]), sim_se=float(sm_se[sl][i]), z=float(z[i]),
                         max_abs_z=float(za[i])))
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
    files : dict -- paths written (``figure``, ``netcdf``) when an output directory was given
    """

    spectral: object = None
    dmft: object = None
    fixed_point: object = None
    simulation: object = None
    table: list = field(default_factory=list)
    dim: int = 0
    files: dict = field(default_factory=dict)

    @property
    def max_abs_z(self) -> float:
        vals = [r["max_abs_z"] for r in self.table if np.isfinite(r["max_abs_z"])]
        return max(vals) if vals else float("nan")

    def format_table(self) -> str:
        """Plain-text table of the largest deviation per observable."""
        head = f"{'observable':<18}{'t':>5}{'theory':>12}{'± se':>10}{'simulation':>12}{'± se':>10}{'z':>8}"
        lines = [head, "-" * len(head)]
        for r in self.table:
            lines.append(f"{r['name']:<18}{r['t']:>5}{r['theory']:>12.6g}{r['theory_se']:>10.2g}"
                         f"{r['sim']:>12.6g}{r['sim_se']:>10.2g}{r['z']:>8.2f}")
        lines.append(f"largest |z| = {self.max_abs_z:.2f}  (z = deviation / combined standard error; "
                     f"simulation d = {self.dim}, {len(self.simulation.seeds)} seeds)")
        return "\n".join(lines)

    def to_xarray(self):
        import xarray as xr

        th = self.dmft.to_xarray()
        sim = self.simulation.to_xarray()
        ds = xr.Dataset()
        n = min(th.sizes["t"], sim.sizes["t"])
        t = np.arange(n)
        for name in OBSERVABLES:
            ds[f"theory_{name}"] = ("t", np.asarray(getattr(self.dmft, name))[:n])
            ds[f"theory_{name}_se"] = ("t", np.asarray(getattr(self.dmft, f"{name}_se"))[:n])
            ds[f"sim_{name}"] = ("t", np.asarray(self.simulation.mean(name))[:n])
            ds[f"sim_{name}_se"] = ("t", np.asarray(self.simulation.se(name))[:n])
            ds[f"sim_{name}_per_seed"] = (("seed", "t"), np.asarray(self.simulation.per_seed[name])[:, :n])
        ds = ds.assign_coords(t=t, seed=np.asarray(self.simulation.seeds))
        ds["table_z"] = ("observable", [r["z"] for r in self.table])
        ds["table_t"] = ("observable", [r["t"] for r in self.table])
        ds = ds.assign_coords(observable=[r["name"] for r in self.table])
        attrs = self.metadata()
        attrs.update(dim=self.dim, max_abs_z=self.max_abs_z,
                     dmft_samples=getattr(self.dmft, "samples", -1), dmft_batches=getattr(self.dmft, "batches", -1),
                     dmft_status=self.dmft.status.label, simulation_status=self.simulation.status.label)
        sp = self.spectral
        attrs.update(spectral_overlap_theory=float(sp.rho), spectral_overlap_sq_theory=float(sp.rho_sq),
                     spectral_top_eigenvalue_theory=float(sp.top_eigenvalue), spectral_alpha_c=float(sp.alpha_c),
                     spectral_overlap_sim=float(np.mean(self.simulation.spectral_overlap)),
                     spectral_overlap_sim_se=_se(self.simulation.spectral_overlap))
        if self.fixed_point is not None:
            fp = self.fixed_point
            attrs.update(fixed_point_status=fp.status.label,
                         **{f"fixed_point_{k}": float(getattr(fp, k)) for k in
                            ("m", "q", "cosine", "error", "train_loss", "gamma", "h_min", "rate", "residual")})
        ds.attrs = attrs
        return ds


def _se(x) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.std(x, ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")


def compare(problem: Optional[Problem] = None, *, dim: int = 2000, seeds: int = 8, seed: int = 0,
            samples: int = 40000, batches: int = 8, fixed_point: bool = True,
            output_dir=None, progress: bool = False, figure_format: str = "png") -> ComparisonResult:
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

    Returns
    -------
    ComparisonResult
    """
    from .simulate import simulate
    from .theory.dmft import dmft
    from .theory.spectral import spectral

    problem = Problem() if problem is None else problem
    if int(dim) != dim or dim < 10:
        raise ValueError(f"dim must be a whole number >= 10; got {dim!r}")
    if int(seeds) != seeds or seeds < 2:
        raise ValueError(f"seeds must be a whole number >= 2 (standard errors need two); got {seeds!r}")
    timing = {}
    with Timer() as tt:
        with Timer() as t_sp:
            sp = spectral(problem)
        timing["spectral"] = t_sp.seconds
        with Timer() as t_d:
            th = dmft(problem, samples=samples, batches=batches, seed=seed, progress=progress)
        timing["dmft"] = t_d.seconds
        fp = None
        if fixed_point:
            from .theory.fixed_point import fixed_point as solve_fp

            with Timer() as t_f:
                fp = solve_fp(problem, start=th if th.success else None)
            timing["fixed_point"] = t_f.seconds
        with Timer() as t_s:
            sim = simulate(problem, dim=dim, seeds=seeds, seed=seed, progress=progress)
        timing["simulate"] = t_s.seconds
    timing["total"] = tt.seconds

    table = deviation_table(th, sim)
    rho_sim = np.asarray(sim.spectral_overlap, dtype=float)
    table.insert(0, dict(name="spectral_overlap", t=0, theory=float(sp.rho), theory_se=0.0,
                         sim=float(rho_sim.mean()), sim_se=_se(rho_sim),
                         z=(float(sp.rho) - float(rho_sim.mean())) / _se(rho_sim) if _se(rho_sim) > 0 else np.nan,
                         max_abs_z=abs((float(sp.rho) - float(rho_sim.mean())) / _se(rho_sim))
                         if _se(rho_sim) > 0 else np.nan))
    statuses = [th.status, sim.status] + ([] if fp is None else [])
    status = Status.SUCCESS
    msgs = []
    for part, res in (("spectral", sp), ("dmft", th), ("simulation", sim), ("fixed point", fp)):
        if res is not None and not res.success:
            msgs.append(f"{part}: {res.status.label}: {res.message}")
            if part != "fixed point" and status == Status.SUCCESS:
                status = res.status
    res = ComparisonResult(problem=problem, status=status, seed=seed, timing=timing,
                           message="; ".join(msgs) if msgs else "theory and simulation computed",
                           spectral=sp, dmft=th, fixed_point=fp, simulation=sim, table=table, dim=int(dim))
    if output_dir is not None:
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        from ._plot_compare import plot_comparison

        fig_path = out / f"compare.{figure_format}"
        plot_comparison(res, fig_path)
        res.files["figure"] = str(fig_path)
        res.files["netcdf"] = res.save(out / "compare.nc")
        (out / "table.txt").write_text(res.format_table() + "\n")
        res.files["table"] = str(out / "table.txt")
    return res
