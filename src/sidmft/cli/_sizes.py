"""Notes on stderr when a run is too small for its error bars (and so its z) to mean much.

The thresholds are those of the documentation page "Choosing sizes and reading z": a standard error
from B batches (or S seeds) is itself uncertain by about 1/sqrt(2(B - 1)), and the sample-side averages of
the DMFT are heavy-tailed, so a spread over a few batches underestimates the true one (docs/theory.md §4.1);
z = (theory - simulation)/sqrt(se_theory^2 + se_simulation^2) is then far from N(0, 1).  A note never changes
the computation or the exit status.
"""

from __future__ import annotations

from typing import Optional

import click

__all__ = ["MIN_BATCHES", "MIN_SEEDS", "MIN_PATHS_PER_BATCH", "MIN_DIM", "size_notes", "echo_size_notes"]

#: fewer DMFT batches than this: the DMFT standard errors are rough (10 or more when they matter)
MIN_BATCHES = 8
#: fewer simulation seeds than this: the simulation's standard errors, and z, are rough
MIN_SEEDS = 8
#: fewer Monte-Carlo paths per batch than this: the O(batches/samples) bias of a small solve may show
MIN_PATHS_PER_BATCH = 2000
#: below this dimension the simulation's finite-size bias (order 1/sqrt(d)) can dominate z
MIN_DIM = 500


def size_notes(
    *,
    batches: Optional[int] = None,
    samples: Optional[int] = None,
    steps: Optional[int] = None,
    seeds: Optional[int] = None,
    dim: Optional[int] = None,
) -> list[str]:
    """One sentence per size below the documented minimum (empty when the run is large enough)."""
    notes = []
    if batches is not None and batches < MIN_BATCHES:
        notes.append(
            f"{batches} DMFT batches: their standard errors are rough (uncertain by about "
            f"{100 / (2 * max(batches - 1, 1)) ** 0.5:.0f}%, and heavy tails make them too small); use "
            f"--batches {MIN_BATCHES} or more (10 when the error bars matter)"
        )
    if batches and samples is not None:
        per = samples // batches
        if per < MIN_PATHS_PER_BATCH:
            notes.append(
                f"{per} Monte-Carlo paths per batch: below {MIN_PATHS_PER_BATCH} the bias of a small solve may "
                "not be negligible against the error bars; raise --samples"
            )
        if steps is not None and per <= 2 * (steps + 2):
            notes.append(
                f"{per} paths per batch for {steps} steps: the scores are not moment-matched (that needs more "
                f"than 2(T + 2) = {2 * (steps + 2)} paths per batch), so the Monte-Carlo error is larger"
            )
    if seeds is not None and seeds < MIN_SEEDS:
        notes.append(
            f"{seeds} simulation seeds: the seed-to-seed standard error has {max(seeds - 1, 0)} degree(s) of "
            f"freedom, so z is far from N(0, 1) and a large |z| means little; use --seeds {MIN_SEEDS} or more"
        )
    if dim is not None and dim < MIN_DIM:
        notes.append(
            f"dimension {dim}: the simulation's finite-size bias (order 1/sqrt(d) = {dim**-0.5:.2g}) can exceed "
            f"its standard error, so a large |z| may be finite size; use --dim {MIN_DIM} or more"
        )
    return notes


def echo_size_notes(command: str, notes: list[str]) -> None:
    """Print each note on stderr as ``sidmft COMMAND: note: ...`` with a pointer to the documentation."""
    for note in notes:
        click.echo(f"sidmft {command}: note: {note} (docs: Choosing sizes and reading z).", err=True)
