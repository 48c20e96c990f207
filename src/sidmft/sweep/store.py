"""The sweep store: a directory with the spec, one file per finished point, a journal and a lock.

Layout::

    STORE/sweep.json          the sweep specification (grid, fixed parameters, outputs, seed)
    STORE/points/<key>.nc     one netCDF per finished point (parameters, seeds, version, timing)
    STORE/journal.jsonl       append-only log: one "point" line per computed point, "start"/"end"
    STORE/results.zarr        consolidated dataset (:mod:`.dataset`)
    STORE/.lock               held (``flock``) by the one process running a sweep on the store

Every file is written by the client through :func:`sidmft.io.atomic_write`, so a point is
finished iff its point file exists, whatever moment the writer was killed at.

Imports: :mod:`sidmft.io`, :mod:`.grid` (SweepError), :mod:`.spec`; xarray lazily.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path

from .._version import __version__
from ..io import atomic_write_text, save_dataset
from .grid import SweepError
from .spec import SweepSpec, canonical_json

__all__ = ["Store", "FORMAT", "FORMAT_VERSION", "open_store", "prepare_store", "raised_output", "timestamp"]

FORMAT = "sidmft-sweep"
FORMAT_VERSION = 1


def raised_output(attrs, prefix: str) -> bool:
    """True when output ``prefix`` of a point (its attributes ``attrs``) raised an exception."""
    flag = attrs.get(f"{prefix}_raised")
    if flag is None:  # a point file from before the flag: status failed meant an exception
        return attrs.get(f"{prefix}_status") == "failed"
    return int(flag) == 1


def timestamp() -> str:
    """Local time as ``YYYY-mm-ddTHH:MM:SS+zzzz`` (journal and metadata)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class Store:
    """The sweep directory (see the module docstring for the layout)."""

    def __init__(self, path):
        self.path = Path(path)
        self.spec_file = self.path / "sweep.json"
        self.points = self.path / "points"
        self.journal = self.path / "journal.jsonl"
        self.results = self.path / "results.zarr"

    def point_file(self, key: str) -> Path:
        return self.points / f"{key}.nc"

    def exists(self) -> bool:
        return self.spec_file.exists()

    def require(self) -> Store:
        """``self``; raises :class:`SweepError` if the directory is not a sweep store."""
        if not self.exists():
            raise SweepError(f"{str(self.path)!r} is not a sweep store (no sweep.json)")
        return self

    def read_spec(self) -> SweepSpec:
        with open(self.spec_file) as f:
            d = json.load(f)
        if d.get("format") != FORMAT:
            raise SweepError(f"{self.path} is not a sidmft sweep store (sweep.json has no format {FORMAT!r})")
        return SweepSpec.from_dict(d["spec"], check_outputs=False)

    def write_spec(self, spec: SweepSpec) -> None:
        self.points.mkdir(parents=True, exist_ok=True)
        d = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "spec": spec.to_dict(),
            "spec_hash": spec.spec_hash,
            "n_points": spec.n_points,
            "sidmft_version": __version__,
            "created": timestamp(),
        }
        atomic_write_text(self.spec_file, json.dumps(d, indent=1, default=str) + "\n")

    def write_point(self, key: str, ds) -> None:
        """Save a computed point (atomically: see :func:`sidmft.io.save_dataset`)."""
        save_dataset(ds, self.point_file(key))

    def finished_keys(self) -> set[str]:
        if not self.points.exists():
            return set()
        return {p.name[:-3] for p in self.points.iterdir() if p.name.endswith(".nc")}

    def failed_keys(self, keys) -> list[str]:
        """Those of ``keys`` whose point has an output that raised an exception (``<prefix>_raised`` = 1; in a
        point written before that flag existed, status ``failed``).  A status the output returned is data."""
        import xarray as xr

        bad = []
        for k in keys:
            with contextlib.suppress(OSError, ValueError):
                with xr.open_dataset(self.point_file(k), engine="h5netcdf") as ds:
                    if any(raised_output(ds.attrs, k2[: -len("_status")]) for k2 in ds.attrs if k2.endswith("_status")):
                        bad.append(k)
        return bad

    def clean_tmp(self) -> None:
        """Remove half-written files left by a killed run (never finished points)."""
        if self.points.exists():
            for p in self.points.iterdir():
                if ".tmp" in p.name:
                    with contextlib.suppress(OSError):
                        p.unlink()
        for p in self.path.glob("results.zarr.*"):
            shutil.rmtree(p, ignore_errors=True)

    def append_journal(self, record: dict) -> None:
        """Append one JSON line (synced to disk; a partial line left by a killed writer is closed)."""
        line = json.dumps(record, default=str, allow_nan=True)
        with open(self.journal, "a+b") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() > 0:  # a killed writer may have left a partial line
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    f.write(b"\n")
            f.write(line.encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())

    def read_journal(self) -> list[dict]:
        """All complete journal records (a partial last line is ignored)."""
        out: list[dict] = []
        if not self.journal.exists():
            return out
        with open(self.journal) as f:
            for line in f:
                with contextlib.suppress(json.JSONDecodeError):
                    out.append(json.loads(line))
        return out

    @contextlib.contextmanager
    def lock(self):
        """Exclusive lock on the store (released by the OS even if the process is killed).

        Raises :class:`SweepError` "in use by another running sweep" if another process holds it."""
        import fcntl

        f = open(self.path / ".lock", "w")
        try:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise SweepError(f"store {str(self.path)!r} is in use by another running sweep") from None
            f.write(str(os.getpid()))
            f.flush()
            yield
        finally:
            f.close()

    def is_foreign(self) -> bool:
        """A directory that exists, is not a sweep store and holds something besides our lock file."""
        return self.path.exists() and not self.exists() and any(p.name != ".lock" for p in self.path.iterdir())

    def clear(self) -> None:
        """Delete everything but the lock file (whose inode is what a concurrent sweep would lock)."""
        for p in self.path.iterdir():
            if p.name == ".lock":
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()


def _check_same_sweep(store: Store, spec: SweepSpec) -> None:
    old = store.read_spec()
    if old.spec_hash != spec.spec_hash:
        a, b = old.to_dict(), spec.to_dict()
        diff = [k for k in a if canonical_json(a[k]) != canonical_json(b[k])]
        raise SweepError(
            f"store {str(store.path)!r} holds a different sweep ({', '.join(diff)} differ); "
            "re-run with the same grid/outputs/parameters to resume, or use another "
            "--store (or --overwrite)"
        )


@contextlib.contextmanager
def open_store(path, spec: SweepSpec, overwrite: bool = False):
    """Lock the store, then create it for ``spec`` (deleting its contents first with ``overwrite``) or
    check that an existing one holds the same sweep; yields the :class:`Store` while the lock is held.

    The lock is taken *before* anything is deleted, so ``overwrite`` can never delete the store of a
    running sweep (it raises :class:`SweepError` "in use" instead).  A directory that exists and is
    not a sweep store is refused without writing to it (unless ``overwrite``)."""
    store = Store(path)
    if store.path.exists() and not store.path.is_dir():
        raise SweepError(f"store {str(store.path)!r} exists and is not a directory; choose another --store")
    if store.is_foreign() and not overwrite:
        raise SweepError(
            f"store {str(store.path)!r} exists and is not a sweep store; "
            "choose another --store (or --overwrite to replace it)"
        )
    store.path.mkdir(parents=True, exist_ok=True)
    with store.lock():
        if overwrite:
            store.clear()
        if store.exists():
            _check_same_sweep(store, spec)
        else:
            store.write_spec(spec)
        store.clean_tmp()
        yield store


def prepare_store(path, spec: SweepSpec, overwrite: bool = False) -> Store:
    """Create the store for ``spec`` or check that an existing one holds the same sweep.

    Takes the store lock for the preparation (see :func:`open_store`); raises :class:`SweepError`
    if another sweep holds it.  :func:`~sidmft.sweep.run_sweep` keeps the lock for the whole run."""
    with open_store(path, spec, overwrite=overwrite) as store:
        return store
