"""DMFT batches on Dask (``dmft(..., workers=N | scheduler=ADDR)``, ``sidmft dmft --workers/--scheduler``).

The batches are independent full solves seeded by SeedSequence spawn keys, and the Dask workers run
the kernel variant the local run uses for the same arguments (batch-parallel single-threaded kernels for
``threads >= 2`` with ``batches >= 2``, path-parallel ones otherwise), so a run on Dask must give the local run's
numbers bit for bit.  Every comparison here is exact (the reference is the local run of the same code path,
computed in this process) except one: the hybrid responses, whose float32 fast-math sums may round differently in
each process's numba build, are compared to 1e-6 relative (the reason is measured in the test).  Every cluster
is bounded in time and torn down.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from sidmft import OBSERVABLES, Problem, Status
from sidmft.cli import main
from sidmft.theory.dmft import dmft

PR = Problem(alpha=3, lam=0.1, eta=0.1, steps=10)  # phase retrieval, spectral start
RANDOM = Problem(alpha=3, lam=0.1, eta=0.1, steps=10, init="random", m0=0.3, q0=1.0)
RUN = dict(samples=8 * 500, batches=8, seed=3)
KERNELS = ("C_x", "R_x", "R_g", "Sigma", "mu", "C_x_v", "R_x_S", "R_g_S", "Sigma_S")
DASK = os.path.join(os.path.dirname(sys.executable), "dask")


def _assert_identical(a, b):
    assert a.status == b.status == Status.SUCCESS, (a.message, b.message)
    assert a.message == b.message
    for k in OBSERVABLES:
        np.testing.assert_array_equal(a.per_batch[k], b.per_batch[k], err_msg=k)
        np.testing.assert_array_equal(a.mean(k), b.mean(k), err_msg=k)
        np.testing.assert_array_equal(a.se(k), b.se(k), err_msg=k)
    for k in KERNELS:
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k), err_msg=k)
    assert a.diagnostics["min_schur"] == b.diagnostics["min_schur"]
    np.testing.assert_array_equal(a.diagnostics["max_abs_r"], b.diagnostics["max_abs_r"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kill(proc):
    """End ``proc`` and its process group: SIGTERM, then SIGKILL after 10 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
            return


@contextlib.contextmanager
def loopback_cluster(tmp_path, n_workers: int, timeout: float = 60.0):
    """``dask scheduler`` and ``dask worker`` (``n_workers`` single-thread processes) started as
    subprocesses on 127.0.0.1 (free ports); yields the scheduler address once every worker has joined
    (at most ``timeout`` s each wait); both are killed on exit, whatever happened."""
    from distributed import Client

    exe = DASK if os.path.exists(DASK) else "dask"
    sched_file = tmp_path / "scheduler.json"
    with contextlib.ExitStack() as stack:

        def start(*args):
            p = subprocess.Popen(
                [exe, *args], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            stack.callback(_kill, p)

        start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(sched_file))
        deadline = time.time() + timeout
        while time.time() < deadline and not sched_file.exists():
            time.sleep(0.1)
        assert sched_file.exists(), "dask scheduler did not start"
        time.sleep(0.2)  # let the scheduler finish writing the file
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        start(
            "worker", address, "--nthreads", "1", "--nworkers", str(n_workers), "--host", "127.0.0.1", "--no-dashboard"
        )
        with Client(address, timeout=30, set_as_default=False) as c:
            c.wait_for_workers(n_workers, timeout=timeout)
        yield address


# ------------------------------------------------------------------------------- LocalCluster
def test_eight_batches_on_a_two_worker_local_cluster_equal_the_local_run(monkeypatch):
    import sidmft.theory.dmft._run as dd

    real, seen = dd.client, []

    @contextlib.contextmanager
    def spy(*a, **kw):  # the batches really go to a 2-process cluster
        with real(*a, **kw) as c:
            c.wait_for_workers(2, timeout=60)
            seen.append(sorted(w["nthreads"] for w in c.scheduler_info()["workers"].values()))
            yield c

    monkeypatch.setattr(dd, "client", spy)
    local = dmft(PR, **RUN)
    on_dask = dmft(PR, **RUN, workers=2)
    assert seen == [[1, 1]]
    _assert_identical(on_dask, local)


# ------------------------------------------------------------------ separately started scheduler
def test_separately_started_scheduler_on_loopback(tmp_path):
    with loopback_cluster(tmp_path, n_workers=2) as address:
        # both kernel variants: path-parallel (threads=1; one batch with 2 local threads against 1 on the worker)
        # and batch-parallel single-threaded (threads=2)
        one = dict(samples=2000, batches=1, seed=3, threads=2)
        _assert_identical(dmft(PR, **one, scheduler=address), dmft(PR, **one))
        _assert_identical(dmft(PR, **RUN, threads=1, scheduler=address, progress=True), dmft(PR, **RUN, threads=1))
        _assert_identical(dmft(RANDOM, **RUN, threads=2, scheduler=address), dmft(RANDOM, **RUN, threads=2))
        # the hybrid responses (window 4 over 10 steps: the probe part is used), batch- and path-parallel: equal
        # to the rounding of its float32 fast-math sums.  Each process compiles them or loads numba's cache, and
        # two builds can round differently (measured: 1 ulp in a kernel entry, at most 1.1e-7 relative on m
        # before the row sums left prange, docs/theory.md §4.3); 1e-6 is four orders below the Monte-Carlo error.
        hy = dict(RUN, responses="hybrid", window=4)
        for threads in (2, 1):
            a, b = dmft(PR, **hy, threads=threads, scheduler=address), dmft(PR, **hy, threads=threads)
            assert a.status == b.status == Status.SUCCESS
            for k in (*OBSERVABLES, *KERNELS):
                x, y = (a.per_batch[k], b.per_batch[k]) if k in OBSERVABLES else (getattr(a, k), getattr(b, k))
                np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-9, err_msg=k)
        # batches saved as they arrive from the workers; a local rerun loads all of them
        ck = tmp_path / "ck"
        on_dask = dmft(PR, **RUN, threads=2, scheduler=address, checkpoint=str(ck))
        assert len(list(ck.glob("batch-*.npz"))) == RUN["batches"]
        _assert_identical(dmft(PR, **RUN, threads=2, checkpoint=str(ck)), on_dask)
        # the command line, written to a file and read back
        out = tmp_path / "r.nc"
        args = ["dmft", "--steps", "10", "-M", "4000", "-B", "8", "--seed", "3", "--scheduler", address]
        r = CliRunner().invoke(main, [*args, "--no-progress", "--output", str(out)])
        assert r.exit_code == 0, r.output
        from sidmft.results import Result

        back = Result.load(out)
        ref = dmft(back.problem, **RUN)
        for k in OBSERVABLES:
            np.testing.assert_array_equal(back.mean(k), ref.mean(k), err_msg=k)
            np.testing.assert_array_equal(back.se(k), ref.se(k), err_msg=k)


def test_unreachable_scheduler_is_a_failed_status(monkeypatch):
    import sidmft.theory.dmft._run as dd

    monkeypatch.setattr(dd, "CONNECT_TIMEOUT", 2.0)
    t0 = time.perf_counter()
    res = dmft(PR.replace(steps=2), samples=200, batches=2, scheduler=f"tcp://127.0.0.1:{_free_port()}")
    assert res.status == Status.FAILED and "scheduler tcp://127.0.0.1:" in res.message, res.message
    assert np.all(np.isnan(res.mean("m")))
    assert time.perf_counter() - t0 < 60  # bounded by the connection timeout, not a hang


# ----------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kw, word",
    [
        (dict(workers=-1), "workers"),
        (dict(workers=1.5), "workers"),
        (dict(workers=True), "workers"),
        (dict(scheduler=8786), "scheduler"),
        (dict(scheduler=""), "scheduler"),
        (dict(scheduler="no address"), "scheduler"),
        (dict(workers=2, scheduler="tcp://127.0.0.1:8786"), "workers"),
    ],
)
def test_bad_execution_arguments_name_the_parameter(kw, word):
    with pytest.raises(ValueError, match=word):
        dmft(PR, samples=200, batches=2, **kw)


# ----------------------------------------------------------------------------------- command line
def test_cli_flags_reach_dmft(monkeypatch):
    import sidmft.theory.dmft as dmod

    real, seen = dmod.dmft, []

    def spy(problem, **kw):
        seen.append((kw.pop("workers"), kw.pop("scheduler")))
        return real(problem, **kw)

    monkeypatch.setattr(dmod, "dmft", spy)
    base = ["dmft", "--steps", "2", "-M", "200", "-B", "2", "--no-progress", "--json"]
    for extra, want in [
        ([], (0, None)),
        (["--workers", "3"], (3, None)),
        (["--scheduler", "tcp://h:1"], (0, "tcp://h:1")),
    ]:
        r = CliRunner().invoke(main, [*base, *extra])
        assert r.exit_code == 0, r.output
        assert seen[-1] == want


@pytest.mark.parametrize(
    "extra, word",
    [
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "mutually exclusive"),
        (["--workers", "-1"], "workers"),
        (["--scheduler", "nowhere"], "scheduler"),
    ],
)
def test_cli_bad_execution_flags_are_usage_errors(extra, word):
    r = CliRunner().invoke(main, ["dmft", "--steps", "2", "-M", "200", "-B", "2", "--no-progress", *extra])
    assert r.exit_code == 2 and word in r.output, r.output
