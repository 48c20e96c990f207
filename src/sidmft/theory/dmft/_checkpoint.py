"""Checkpoints of DMFT batches: an interrupted long run keeps its finished batches.

``dmft(..., checkpoint=DIR)`` (``sidmft dmft --checkpoint DIR``) writes each finished batch to
``DIR/batch-0000.npz``, ... (atomically: a reader never sees half a file) and, when run again with the
same problem, settings, seed and package version, loads the batches it finds instead of solving them.
Batch b always uses the stream ``SeedSequence(seed, spawn_key=(b,))``, so a resumed run gives the numbers
of an uninterrupted one.  Every file carries the run's key (a hash of the problem, the settings, the
seed, ``naive`` and the version); a directory holding another run's batches is refused before any work,
naming the ``checkpoint`` parameter.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Optional

import numpy as np

from ..._version import __version__
from ...io import atomic_write
from ._input import BatchOutput

__all__ = ["Checkpoint", "run_key"]


def run_key(problem, settings, seed: int, naive: bool) -> str:
    """The identity of a run: sha256 of its problem, settings, seed, ``naive`` and the package version."""
    d = dict(
        problem=problem.to_dict(),
        settings=dataclasses.asdict(settings),
        seed=int(seed),
        naive=bool(naive),
        version=__version__,
    )
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()


class Checkpoint:
    """The batch files of one run in ``directory`` (created if missing)."""

    def __init__(self, directory, key: str):
        self.dir, self.key = Path(directory), str(key)
        if self.dir.exists() and not self.dir.is_dir():
            raise ValueError(f"checkpoint must be a directory; {str(self.dir)!r} is a file")
        try:  # a directory the batches cannot be written to is refused now, not after the first batch
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ValueError(f"checkpoint directory {str(self.dir)!r} cannot be created: {e}") from None
        if not os.access(self.dir, os.W_OK):
            raise ValueError(f"checkpoint directory {str(self.dir)!r} is not writable")
        for f in sorted(self.dir.glob("batch-*.npz")):
            if self._key_of(f) != self.key:
                raise ValueError(
                    f"checkpoint directory {str(self.dir)!r} holds batches of another run ({f.name}: the problem, "
                    "the Monte-Carlo settings, the seed or the sidmft version differ); use another directory or "
                    "delete it"
                )

    def _path(self, b: int) -> Path:
        return self.dir / f"batch-{int(b):04d}.npz"

    @staticmethod
    def _key_of(f: Path) -> Optional[str]:
        try:
            with np.load(f, allow_pickle=False) as z:
                return str(z["key"])
        except (OSError, ValueError, KeyError):
            return None  # unreadable: treated as another run's

    def load(self, b: int) -> Optional[BatchOutput]:
        """The output of batch ``b`` if its file exists (None otherwise)."""
        f = self._path(b)
        if not f.exists():
            return None
        with np.load(f, allow_pickle=False) as z:
            return BatchOutput.from_arrays(z)

    def save(self, b: int, out: BatchOutput) -> None:
        """Write the output of batch ``b`` (atomically; its own encoding, :meth:`BatchOutput.arrays`)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        arrays = out.arrays()
        arrays["key"] = np.array(self.key)

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)

        atomic_write(self._path(b), write)
