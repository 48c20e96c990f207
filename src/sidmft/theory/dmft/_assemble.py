"""From the batches' outputs to one :class:`DMFTResult`: observables per batch, averaged kernels, status, message.

Observables per batch (docs/theory.md §2.6): m_t = c_t, q_t = C_x(t, t), cosine, error 1 + q - 2|m|, the
training loss E[l(y, r^t)] (sample side), the objective, the gradient norm (:func:`._method.grad_norm`) and the
test error from (m, q).  A batch that blew up is NaN from its blow-up step: sample-side averages from that step
on, kernel-derived observables (which use averages of earlier steps) from the next one.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ...algorithms import DEFAULT_ALGORITHM
from ...numerics import standard_error
from ...results import OBSERVABLES, Status
from ._input import BatchOutput, EngineInput, LinearStart
from ._method import grad_norm
from ._result import DMFTResult

__all__ = ["assemble", "empty_fields", "NO_MATCH"]

NO_MATCH = "the scores were not moment-matched (larger Monte-Carlo error; use fewer batches or more samples)"
_SAMPLE_SIDE = ("train_loss", "objective", "grad_norm")
#: a batch whose q_t exceeds this multiple of the other batches' median is diverging (a partial blow-up)
DIVERGE = 10.0
#: heavy tails: one Monte-Carlo path carrying more than this share of the sum over all paths of all batches of l
#: or |g|^2.  Measured at 8 x 5000 paths: <= 0.03 for GD on the intensity loss (alpha = 3, lam = eta = 0.1) at every
#: step, 0.05 at alpha = 2 (locally unstable samples exist there), and 0.2-0.5 from t ~ 10 on for Bernoulli SGD
#: (b = 0.5) on the intensity loss, whose sample averages keep growing with the number of paths.
SHARE_LIMIT = 0.1
#: the observables whose averages each tail record governs
_SHARE_OBS = {"tail_loss": ("train_loss", "objective"), "tail_g2": ("grad_norm",)}


def _mask_blowup(arrs, b, tb):
    """NaN from the blow-up step tb (see the module docstring); ``b`` a batch row, or None for 1-D arrays."""
    for k in list(arrs):
        base = k[:-3] if k.endswith("_se") else k
        start = tb if base in _SAMPLE_SIDE else tb + 1
        if b is None:
            arrs[k][start:] = np.nan
        else:
            arrs[k][b, start:] = np.nan


def diverging_batches(per: dict) -> dict:
    """{batch: first step} of the batches whose q_t exceeds DIVERGE times the median of the others (>= 3 batches;
    a run-away that has not reached the blow-up thresholds of the solver yet)."""
    q = per["q"]
    B = q.shape[0]
    if B < 3:
        return {}
    out = {}
    for b in range(B):
        others = np.delete(q, b, axis=0)
        with np.errstate(all="ignore"):
            med = np.nanmedian(others, axis=0)
            bad = np.flatnonzero(q[b] > DIVERGE * np.maximum(med, 1e-12))
        if bad.size:
            out[b] = int(bad[0])
    return out


def unreliable(outs: list[BatchOutput]) -> dict:
    """{observable: first step} whose average is dominated by one path: the largest single path carries more than
    :data:`SHARE_LIMIT` of the sum over all paths of all batches (light tails give ~ log(M)/M)."""
    found: dict = {}
    for key, names in _SHARE_OBS.items():
        rows = [getattr(o, key) for o in outs if getattr(o, key) is not None]
        if not rows:
            continue
        tails = np.stack(rows)  # (batches, 2, steps + 1)
        with np.errstate(all="ignore"):
            share = np.nanmax(tails[:, 0], axis=0) / np.nansum(tails[:, 1], axis=0)
        hit = np.flatnonzero(np.nan_to_num(share, nan=0.0) > SHARE_LIMIT)
        if hit.size:
            for name in names:
                found[name] = int(hit[0])
    return found


def per_batch(problem, method, outs: list[BatchOutput]) -> dict:
    """Observables of each batch, dict name -> (batches, steps + 1), NaN from its blow-up step."""
    n_steps = problem.steps
    per = {k: np.full((len(outs), n_steps + 1), np.nan) for k in OBSERVABLES}
    field = problem.field
    for b, o in enumerate(outs):
        m = np.abs(o.c[: n_steps + 1]) if field == "complex" else o.c[: n_steps + 1]
        q = np.diag(o.Cx)[: n_steps + 1]
        per["m"][b] = m
        per["q"][b] = q
        with np.errstate(invalid="ignore", divide="ignore"):
            per["cosine"][b] = m / np.sqrt(q)
        per["error"][b] = 1 + q - 2 * np.abs(m)
        per["train_loss"][b] = o.train
        per["objective"][b] = o.train + problem.lam * q / 2
        per["grad_norm"][b] = grad_norm(problem, method, o)
        if o.blowup_step is not None:
            _mask_blowup(per, b, o.blowup_step)
        ok = np.isfinite(per["m"][b]) & np.isfinite(per["q"][b])
        te = np.full(n_steps + 1, np.nan)
        if ok.any():
            te[ok] = _test_error(problem, per["m"][b][ok], np.maximum(per["q"][b][ok], 0.0))
        per["test_error"][b] = te
    return per


def _test_error(problem, m, q):
    if problem.field == "complex":
        return problem.model_obj.test_error(m, q, field="complex")
    return problem.model_obj.test_error(m, q)


def batch_kernels(outs: list[BatchOutput], n_steps: int, spectral: bool) -> dict:
    """Kernels averaged over batches, relabelled for users (see :class:`DMFTResult`)."""

    def avg(key, sl):
        return np.mean([sl(getattr(o, key)) for o in outs], axis=0)

    n = n_steps + 1
    nan = np.full(n, np.nan)
    kern = dict(
        C_x=avg("Cx", lambda a: a[:n, :n]),
        R_x=avg("Rx", lambda a: a[:n, 1 : n + 1]),
        Sigma=avg("Sig", lambda a: a[1 : n + 1, 1 : n + 1]),
        mu=avg("mu", lambda a: a),
    )
    if spectral:
        kern["R_g"] = avg("Rg", lambda a: np.concatenate([np.full((n, 1), np.nan), a[:, 2 : n + 1]], axis=1))
        kern.update(
            R_g_S=avg("Rg", lambda a: a[:, 1]),
            C_x_v=avg("Cv", lambda a: a[:n]),
            R_x_S=avg("Rx", lambda a: a[:n, 0]),
            Sigma_S=avg("Sig", lambda a: a[0, 1 : n + 1]),
        )
    else:
        kern.update(
            R_g=avg("Rg", lambda a: a[:, 1 : n + 1]),
            R_g_S=nan,
            C_x_v=nan.copy(),
            R_x_S=avg("Rx", lambda a: a[:n, 0]),
            Sigma_S=nan.copy(),
        )
    return kern


def _nanmax_rows(a):
    """Column-wise max ignoring NaN; NaN (without a warning) where a whole column is NaN (after a blow-up)."""
    out = np.full(a.shape[1:], np.nan)
    ok = ~np.all(np.isnan(a), axis=0)
    out[ok] = np.nanmax(a[:, ok], axis=0)
    return out


def empty_fields(problem, settings) -> dict:
    """The observables of a result where nothing was computed: NaN means and standard errors."""
    nan = np.full(problem.steps + 1, np.nan)
    obs = {}
    for k in OBSERVABLES:
        obs[k] = nan.copy()
        obs[k + "_se"] = nan.copy()
    return dict(obs=obs)


def _status_message(problem, inp: EngineInput, outs, settings, naive, maxr, diverging):
    """(status, message, blow-up step or None) of the assembled batches."""
    n_steps, batches, n_paths = problem.steps, settings.batches, settings.paths_per_batch
    blow_steps = [o.blowup_step for o in outs if o.blowup_step is not None] + list(diverging.values())
    if blow_steps:
        tb = int(min(blow_steps))
        n_blow = len([o for o in outs if o.blowup_step is not None]) + len(diverging)
        what = (
            f"diverging in {len(diverging)} batch(es) (q_t above {DIVERGE:g} x the other batches' median from step "
            f"{min(diverging.values())}) and "
            if diverging
            else ""
        )
        return (
            Status.BLOWUP,
            (
                f"heavy-tail blow-up (docs/theory.md §3): {what}Monte-Carlo moments exploded or diverged in {n_blow} "
                f"of {batches} batches, beginning at step {tb} (max |r| = {np.nanmax(maxr):.3g}); train loss, "
                f"objective and gradient norm from step {tb} on and m, q, ... from step {tb + 1} on are NaN. "
                "Reduce eta or use a loss with bounded l''."
            ),
            tb,
        )
    how = (
        "naive: spectral start treated as data independent, demonstration only, docs/theory.md §2.5"
        if naive
        else inp.mode + " init"
    )
    message = f"DMFT solved: {n_steps} steps, {batches} x {n_paths} paths ({how})"
    if problem.field == "complex":
        message += ", complex field"
    if problem.algorithm != DEFAULT_ALGORITHM:
        message += f", algorithm {problem.algorithm!r}"
    if inp.method.probe:
        message += " (grad_norm from a probe field, docs/theory.md §6.7)"
    if settings.scores == "lhs-orth" and n_paths <= 2 * (n_steps + 2):
        message += f"; note: {n_paths} paths per batch <= 2 (steps + 2): {NO_MATCH}"
    return Status.SUCCESS, message, None


def _notes(inp: EngineInput, flagged: dict, stab) -> str:
    """The warnings appended to a successful run's message (an uninformative start, heavy tails, instability)."""
    notes = []
    if isinstance(inp.start, LinearStart) and abs(inp.start.mu_L) < 1e-10:
        notes.append(
            f"the linear start carries no information: E[T(y) z] = {inp.start.mu_L:.1g} (an even link such as phase "
            "retrieval), so x^0 is uncorrelated with x* and m_t stays 0; use the spectral start"
        )
    if flagged:
        names = ", ".join(f"{k} (from t = {v})" for k, v in sorted(flagged.items(), key=lambda kv: kv[1]))
        notes.append(
            f"heavy tails: the averages of {names} are dominated by single Monte-Carlo paths, so they and their "
            "error bars are not reliable (they may keep changing with the number of paths); the kernel observables "
            "m, q, cosine, error and test error are not affected by this check"
        )
    if stab.warning is not None:
        notes.append(stab.warning)
    return "".join(f"; WARNING: {n}" for n in notes)


def assemble(problem, inp: EngineInput, outs: list[BatchOutput], settings, kernel: str, naive: bool) -> dict:
    """The fields of the :class:`DMFTResult` of the batches ``outs`` (status, message, per-batch observables,
    kernels, diagnostics)."""
    from ...stability import stability

    per = per_batch(problem, inp.method, outs)
    diverging = diverging_batches(per)
    for b, t0 in diverging.items():
        _mask_blowup(per, b, t0)
    obs = {}
    for k in OBSERVABLES:
        obs[k] = per[k].mean(axis=0)
        obs[k + "_se"] = standard_error(per[k], axis=0)
    maxr: Optional[np.ndarray] = _nanmax_rows(np.array([o.maxr for o in outs])) if outs else None
    flagged = unreliable(outs)
    stab = stability(problem, settings.paths_used, "Monte-Carlo paths")
    diagnostics = dict(
        min_schur=float(min(o.min_schur for o in outs)),
        max_abs_r=maxr,
        scores=settings.scores,
        kernel=kernel,
        naive=bool(naive),
        paths_per_batch=settings.paths_per_batch,
        responses=inp.responses,
        window=int(inp.window) if inp.responses == "hybrid" else 0,
        unreliable=flagged,
        diverging_batches=diverging,
        stability=stab.to_dict(),
    )
    status, message, tb = _status_message(problem, inp, outs, settings, naive, maxr, diverging)
    if tb is not None:
        _mask_blowup(obs, None, tb)
    else:
        message += _notes(inp, flagged, stab)
    return dict(
        status=status,
        message=message,
        per_batch=per,
        blowup_step=tb,
        diagnostics=diagnostics,
        obs=obs,
        **batch_kernels(outs, problem.steps, inp.mode == "spectral"),
    )


def make_result(problem, settings, seed, naive, timing, spectral_values, fields) -> DMFTResult:
    """The one :class:`DMFTResult`, built from the stage outputs (nothing is set after construction)."""
    return DMFTResult(
        problem=problem,
        seed=seed,
        timing=dict(timing),
        t=np.arange(problem.steps + 1),
        samples=settings.paths_used,
        batches=settings.batches,
        naive=naive,
        **spectral_values,
        **fields,
    )
