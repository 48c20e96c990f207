"""Checkpoints of DMFT batches (``dmft(..., checkpoint=DIR)``, ``sidmft dmft --checkpoint DIR``).

The reference is the uninterrupted run of the same code in this process: batch b always uses the stream
SeedSequence(seed, spawn_key=(b,)), so a resumed run must equal it bit for bit.  (The Dask path saving
batches as they arrive is checked in ``test_dmft_dask.py``.)
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from sidmft import OBSERVABLES, Problem
from sidmft.cli import main
from sidmft.theory.dmft import dmft

BASE = dict(loss="intensity", preprocess="lal", alpha=3.0, lam=0.1, eta=0.1)


def test_checkpoint_keeps_finished_batches_and_refuses_another_run(tmp_path, monkeypatch):
    """An interrupted run keeps its finished batches: a rerun loads them, solves only the missing ones and
    gives the uninterrupted run's numbers bit for bit; another run's directory is refused before any work."""
    from sidmft.theory.dmft import _run as _dmft_run

    p = Problem(**BASE, steps=12)
    kw = dict(samples=4 * 400, batches=4, seed=5, threads=1)
    ref = dmft(p, **kw)
    ck = tmp_path / "ck"
    first = dmft(p, **kw, checkpoint=str(ck))
    files = sorted(f.name for f in ck.iterdir())
    assert files == [f"batch-{b:04d}.npz" for b in range(4)]
    (ck / "batch-0001.npz").unlink()  # as if interrupted before batch 1 finished
    solved = []
    real = _dmft_run.solve_batch
    monkeypatch.setattr(
        _dmft_run, "solve_batch", lambda inp, s, k, seed, b, cb=None: solved.append(b) or real(inp, s, k, seed, b, cb)
    )
    again = dmft(p, **kw, checkpoint=str(ck))
    assert solved == [1]
    for res in (first, again):
        for k in OBSERVABLES:
            np.testing.assert_array_equal(res.per_batch[k], ref.per_batch[k], err_msg=k)
    with pytest.raises(ValueError, match="checkpoint"):
        dmft(p.replace(eta=0.2), **kw, checkpoint=str(ck))
    assert solved == [1]


def test_checkpoint_flag_and_a_file_in_its_place(tmp_path):
    ck = tmp_path / "ck"
    args = ["dmft", "--steps", "5", "-M", "800", "-B", "2", "--seed", "1", "--no-progress", "--json"]
    r = CliRunner().invoke(main, [*args, "--checkpoint", str(ck)])
    assert r.exit_code == 0, r.output
    assert sorted(f.name for f in ck.iterdir()) == ["batch-0000.npz", "batch-0001.npz"]
    f = tmp_path / "plain-file"
    f.write_text("x")
    with pytest.raises(ValueError, match="checkpoint must be a directory"):
        dmft(Problem(**BASE, steps=5), samples=800, batches=2, checkpoint=str(f))
    with pytest.raises(ValueError, match="checkpoint directory .* cannot be created"):
        dmft(Problem(**BASE, steps=5), samples=800, batches=2, checkpoint=str(f / "below-a-file"))
