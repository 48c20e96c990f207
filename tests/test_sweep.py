"""Parameter sweeps: grid parsing and validation, Dask execution, determinism, kill/resume,
an external scheduler on loopback, TOML configs."""

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from sidmft.cli import main
from sidmft.sweep import Store, SweepError, SweepSpec, open_sweep, parse_grid, parse_grid_item, run_sweep, sweep_info

TESTS = str(Path(__file__).parent)
HELPER = "test_sweep_helpers:mc"  # seeded, cheap; importable on workers (tests/ on sys.path)
SIDMFT = [sys.executable, "-c", "from sidmft.cli import main; main()"]


#: cheap outputs: the spectral theory (quadrature), a seeded helper, and the simulator at d = 200
OUTPUTS = ["spectral", HELPER, "simulate"]
SETTINGS = {"dim": 200, "seeds": 2}
FIXED = {"steps": 5, "eta": 0.1}
GRID12 = {"alpha": [1.0, 2.0, 3.0, 4.0], "lam": "0:0.2:3"}  # 12 points


def _env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = TESTS + os.pathsep + env.get("PYTHONPATH", "")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _numbers(ds):
    """The stored numbers of a sweep (wall-clock timing excluded, attributes excluded)."""
    return ds.drop_vars([v for v in ds.data_vars if v.endswith("_time_s")]).drop_attrs()


def _point_lines(store):
    return [r for r in Store(store).read_journal() if r.get("event") == "point"]


# ----------------------------------------------------------------------------------------- grid
def test_parse_grid_lists_ranges_and_types():
    assert parse_grid_item("alpha=1,2,3") == ("alpha", [1.0, 2.0, 3.0])
    assert parse_grid_item("lam=0:0.3:4") == ("lam", [0.0, 0.1, 0.2, 0.3])  # stable rounding
    assert parse_grid_item("steps=10:40:4") == ("steps", [10, 20, 30, 40])
    assert parse_grid_item("alpha=1:100:3:log") == ("alpha", [1.0, 10.0, 100.0])
    assert parse_grid_item("preprocess=lal,clip:3,trim:7") == ("preprocess", ["lal", "clip:3", "trim:7"])
    assert parse_grid_item("kappa=empirical,1") == ("kappa", ["empirical", 1.0])
    assert parse_grid_item("eta=0.2:0.2:1") == ("eta", [0.2])
    assert list(parse_grid(["alpha=1,2", "lam=0"])) == ["alpha", "lam"]


@pytest.mark.parametrize(
    "item, words",
    [
        ("nope=1,2", ["unknown grid parameter", "nope"]),
        ("alpha=1:2:0", ["alpha", "empty range"]),
        ("alpha=1:2:-3", ["alpha", "NUM must be >= 1"]),
        ("alpha=1:2", ["alpha", "malformed range"]),
        ("alpha=a:2:3", ["alpha", "malformed"]),
        ("alpha=1:2:2.5", ["alpha", "NUM"]),
        ("alpha=1:2:3,4", ["alpha", "mixes"]),
        ("alpha=", ["alpha", "no values"]),
        ("alpha=1,,2", ["alpha", "empty value"]),
        ("alpha=1,x", ["alpha", "not a number"]),
        ("alpha=1,1", ["alpha", "twice"]),
        ("steps=1.5,2", ["steps", "whole number"]),
        ("steps=0:10:4", ["steps", "non-integer"]),
        ("alpha=nan", ["alpha", "finite"]),
        ("alpha", ["malformed grid"]),
    ],
)
def test_bad_grid_items_name_the_parameter(item, words):
    with pytest.raises(SweepError) as e:
        parse_grid_item(item)
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize(
    "kw, words",
    [
        (dict(grid={"alpha": [-1.0, 2.0]}), ["alpha", "alpha=-1"]),
        (dict(grid={"alpha": [0.9, 2.0], "preprocess": ["mm"]}), ["alpha", "mm"]),
        (dict(grid={"m0": [0.5, 2.0]}, fixed={"init": "random", "q0": 1.0}), ["m0", "m0=2"]),
        (dict(grid={"dim": [100, 200]}, outputs="spectral"), ["dim", "simulate"]),
        (dict(grid={"alpha": [1.0]}, outputs="nope"), ["unknown output", "nope"]),
        (dict(grid={"alpha": [1.0]}, outputs="no_such_module:f"), ["no_such_module"]),
        (dict(grid={}), ["empty grid"]),
        (dict(grid={"alpha": [1.0]}, fixed={"bogus": 1}), ["bogus"]),
        (dict(grid={"alpha": [1.0]}, settings={"dimm": 3}), ["dimm"]),
        (dict(grid={"alpha": [1.0]}, seed=-1), ["seed"]),
    ],
)
def test_bad_specs_refused(kw, words):
    with pytest.raises(SweepError) as e:
        SweepSpec(**kw)
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize(
    "args, word",
    [
        (["--grid", "nope=1,2"], "nope"),
        (["--grid", "alpha=2:1:0"], "empty range"),
        (["--grid", "alpha=1,2", "--grid", "lam=-1,0"], "lam"),
        (["--grid", "alpha=1,2", "--alpha", "2"], "alpha"),
        (["--grid", "alpha=1,2", "--grid", "alpha=3"], "twice"),
        (["--grid", "alpha=1,2", "--outputs", "spectral,bogus"], "bogus"),
        (["--grid", "eta=0,0.1"], "eta"),
    ],
)
def test_cli_refuses_bad_grids_before_any_work(tmp_path, args, word):
    store = tmp_path / "s"
    r = CliRunner().invoke(main, ["sweep", "--store", str(store), "--workers", "0", *args])
    assert r.exit_code == 2, r.output
    assert word in r.output
    assert not store.exists()  # nothing was started


def test_point_seed_depends_only_on_the_point():
    a = SweepSpec(grid={"alpha": [1.0, 2.0]}, outputs=["spectral", HELPER], seed=3)
    b = SweepSpec(grid={"lam": [0.1], "alpha": [3.0, 2.0]}, outputs=[HELPER], seed=3)
    c = SweepSpec(grid={"alpha": [2.0]}, outputs=[HELPER], seed=4)
    s_a = a.task((1,))["seeds"][HELPER]
    assert s_a == b.task((0, 1))["seeds"][HELPER]  # same problem, other grid -> same seed
    assert s_a != a.task((0,))["seeds"][HELPER]  # other point -> other seed
    assert s_a != c.task((0,))["seeds"][HELPER]  # other base seed -> other seed


# ------------------------------------------------------------------------------ distributed runs
@pytest.fixture(scope="module")
def sweep_pair(tmp_path_factory):
    """The same 12-point sweep with 1 and with 2 LocalCluster workers."""
    root = tmp_path_factory.mktemp("sweeps")
    spec = SweepSpec(grid=GRID12, fixed=FIXED, settings=SETTINGS, outputs=OUTPUTS, seed=7)
    assert spec.n_points == 12
    res1 = run_sweep(spec, root / "w1", workers=1, progress=False)
    res2 = run_sweep(spec, root / "w2", workers=2, progress=False)
    return spec, root, res1, res2


def test_two_workers_identical_to_one(sweep_pair):
    spec, root, res1, res2 = sweep_pair
    assert res1["computed"] == res2["computed"] == 12 and not res1["errors"] and not res2["errors"]
    a, b = open_sweep(root / "w1"), open_sweep(root / "w2")
    assert a.sizes["alpha"] == 4 and a.sizes["lam"] == 3 and bool(a["finished"].all())
    xr.testing.assert_identical(_numbers(a), _numbers(b))
    # the points really went to two different workers
    assert len({r["worker"] for r in _point_lines(root / "w2")}) == 2
    # every output computed with SUCCESS where the theory says so
    assert int((a["spectral_status"] == 0).sum()) == 12
    assert "test_sweep_helpers:mc" in a.attrs["outputs"] and "mc_walk" in a and a.sizes["t"] == 6
    # numbers match an independent, direct computation of one point
    from sidmft import Problem
    from sidmft.theory.spectral import spectral

    ref = spectral(Problem(alpha=3.0, lam=0.1, **FIXED))
    np.testing.assert_allclose(a["spectral_rho_sq"].sel(alpha=3.0, lam=0.1), ref.rho_sq, rtol=1e-12)
    seed = spec.task((2, 1))["seeds"][HELPER]
    z = np.random.default_rng(seed).standard_normal(6)
    np.testing.assert_allclose(a["mc_walk"].sel(alpha=3.0, lam=0.1), np.cumsum(z))
    # point files are self-describing: parameters, seeds, version, timing
    key = spec.key((2, 1))
    with xr.open_dataset(root / "w1" / "points" / f"{key}.nc", engine="h5netcdf") as p:
        assert p.attrs["problem_alpha"] == 3.0 and p.attrs["problem_lam"] == 0.1
        assert p.attrs["mc_seed"] == seed and "sidmft_version" in p.attrs and p.attrs["timing_total_s"] >= 0


def test_rerun_skips_finished_points(sweep_pair):
    spec, root, _, _ = sweep_pair
    before = _point_lines(root / "w1")
    res = run_sweep(spec, root / "w1", workers=0, progress=False)
    assert res["computed"] == 0 and res["skipped"] == 12
    assert _point_lines(root / "w1") == before
    info = sweep_info(root / "w1")
    assert info["n_finished"] == 12 and info["recomputed"] == 0


def test_partial_resume_and_spec_mismatch(tmp_path):
    spec = SweepSpec(grid={"alpha": [1.0, 2.0, 3.0], "lam": [0.0, 0.1]}, outputs=["spectral", HELPER])
    r1 = run_sweep(spec, tmp_path / "s", workers=0, progress=False, max_points=4)
    assert r1["computed"] == 4 and r1["n_finished"] == 4
    part = open_sweep(tmp_path / "s")
    assert int(part["finished"].sum()) == 4 and np.isnan(part["spectral_rho"].values).sum() == 2
    r2 = run_sweep(spec, tmp_path / "s", workers=0, progress=False)
    assert r2["computed"] == 2 and r2["skipped"] == 4
    keys = [r["key"] for r in _point_lines(tmp_path / "s")]
    assert len(keys) == len(set(keys)) == 6
    full = run_sweep(spec, tmp_path / "ref", workers=0, progress=False)
    xr.testing.assert_identical(_numbers(open_sweep(tmp_path / "s")), _numbers(open_sweep(tmp_path / "ref")))
    other = SweepSpec(grid={"alpha": [1.0, 2.0]}, outputs=["spectral"])
    with pytest.raises(SweepError, match="different sweep"):
        run_sweep(other, tmp_path / "s", workers=0, progress=False)
    assert full["computed"] == 6


def test_toml_config(tmp_path):
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(f"""
outputs = ["spectral", "{HELPER}"]
store = "{(tmp_path / "store").as_posix()}"
seed = 5
[problem]
steps = 3
[grid]
alpha = [1.0, 2.0]
lam = {{start = 0.0, stop = 0.2, num = 3}}
""")
    r = CliRunner().invoke(main, ["sweep", "--config", str(cfg), "--dry-run", "--json"])
    assert r.exit_code == 0, r.output
    plan = json.loads(r.output)
    assert plan["n_points"] == 6 and plan["grid"]["lam"] == [0.0, 0.1, 0.2] and plan["fixed"]["steps"] == 3
    r = CliRunner().invoke(main, ["sweep", "--config", str(cfg), "--workers", "0", "--no-progress", "--json"])
    assert r.exit_code == 0, r.output
    ds = open_sweep(tmp_path / "store")
    assert ds.attrs["base_seed"] == 5 and ds.sizes["t"] == 4 and bool(ds["finished"].all())
    bad = tmp_path / "bad.toml"
    bad.write_text("[grid]\nalpha = {start = 1, stop = 2}\n")
    r = CliRunner().invoke(main, ["sweep", "--config", str(bad), "--store", str(tmp_path / "x")])
    assert r.exit_code == 2 and "alpha" in r.output


# ------------------------------------------------------------------------------------ kill/resume
def _sweep_cmd(store, workers):
    return [
        *SIDMFT,
        "sweep",
        "--grid",
        "alpha=1,2,3,4",
        "--grid",
        "lam=0:0.2:3",
        "--steps",
        "5",
        "--outputs",
        f"spectral,{HELPER}",
        "--seed",
        "7",
        "--store",
        str(store),
        "--workers",
        str(workers),
        "--no-progress",
        "--json",
    ]


def test_sigkill_mid_sweep_then_resume(tmp_path):
    store = tmp_path / "killed"
    proc = subprocess.Popen(
        _sweep_cmd(store, 1),
        env=_env(SIDMFT_TEST_SLEEP=0.5),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 90
        while time.time() < deadline and len(_point_lines(store)) < 3 and proc.poll() is None:
            time.sleep(0.05)
        n_at_kill = len(_point_lines(store))
        assert proc.poll() is None, "sweep finished before it could be killed"
        assert 3 <= n_at_kill < 12
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its LocalCluster, at once
        proc.wait(30)
    first = {r["key"] for r in _point_lines(store)}
    assert len(Store(store).finished_keys()) < 12
    r = subprocess.run(_sweep_cmd(store, 1), env=_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = _point_lines(store)
    keys = [x["key"] for x in lines]
    assert len(keys) == len(set(keys))  # nothing computed twice
    second = {x["key"] for x in lines if x["run"] != lines[0]["run"]}
    assert not (first & second)  # journaled points were skipped
    assert len(Store(store).finished_keys()) == 12
    assert not [p for p in (store / "points").iterdir() if ".tmp" in p.name]
    ref = tmp_path / "reference"
    run_sweep(
        SweepSpec(
            grid={"alpha": [1, 2, 3, 4], "lam": "0:0.2:3"}, fixed={"steps": 5}, outputs=["spectral", HELPER], seed=7
        ),
        ref,
        workers=0,
        progress=False,
    )
    xr.testing.assert_identical(_numbers(open_sweep(store)), _numbers(open_sweep(ref)))


# ------------------------------------------------------------------------- external scheduler
def test_external_scheduler_on_loopback(tmp_path):
    sched_file = tmp_path / "scheduler.json"
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [
                    "dask",
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(sched_file),
                ],
                env=_env(),
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        deadline = time.time() + 60
        while time.time() < deadline and not sched_file.exists():
            time.sleep(0.1)
        assert sched_file.exists(), "dask scheduler did not start"
        time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(
            subprocess.Popen(
                [
                    "dask",
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                ],
                env=_env(),
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        store = tmp_path / "ext"
        cmd = [
            *SIDMFT,
            "sweep",
            "--grid",
            "alpha=1,2,3",
            "--grid",
            "lam=0,0.1",
            "--steps",
            "5",
            "--outputs",
            f"spectral,{HELPER}",
            "--store",
            str(store),
            "--scheduler",
            address,
            "--no-progress",
            "--json",
        ]
        r = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["computed"] == 6
        workers = {x["worker"] for x in _point_lines(store)}
        assert len(workers) == 1 and next(iter(workers)).startswith("tcp://127.0.0.1:")
        ref = tmp_path / "ref"
        run_sweep(
            SweepSpec(grid={"alpha": [1, 2, 3], "lam": [0, 0.1]}, fixed={"steps": 5}, outputs=["spectral", HELPER]),
            ref,
            workers=0,
            progress=False,
        )
        xr.testing.assert_identical(_numbers(open_sweep(store)), _numbers(open_sweep(ref)))
    finally:
        for p in reversed(procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(10)


def test_failing_output_is_recorded_and_retried(tmp_path, monkeypatch):
    spec = SweepSpec(grid={"alpha": [1.0, 2.0, 3.0, 4.0]}, outputs=["spectral", "test_sweep_helpers:boom"])
    monkeypatch.setenv("SIDMFT_TEST_BOOM", "1")
    run_sweep(spec, tmp_path / "s", workers=0, progress=False)
    ds = open_sweep(tmp_path / "s")
    assert ds["boom_status"].values.tolist() == [0, 0, 6, 6]  # Status.FAILED, never silent
    assert np.isnan(ds["boom_x"].values[2:]).all() and (ds["spectral_status"] == 0).all()
    monkeypatch.delenv("SIDMFT_TEST_BOOM")
    assert run_sweep(spec, tmp_path / "s", workers=0, progress=False)["computed"] == 0
    assert run_sweep(spec, tmp_path / "s", workers=0, progress=False, retry_failed=True)["computed"] == 2
    np.testing.assert_array_equal(open_sweep(tmp_path / "s")["boom_x"], [2.0, 4.0, 6.0, 8.0])
    with Store(tmp_path / "s").lock():  # a second sweep on a busy store
        with pytest.raises(SweepError, match="in use"):
            run_sweep(spec, tmp_path / "s", workers=0, progress=False)


@pytest.mark.parametrize(
    "output, mod, attr",
    [
        ("fixed-point", "sidmft.theory.fixed_point", "fixed_point"),
        ("dmft", "sidmft.theory.dmft", "dmft"),
        ("simulate", "sidmft.simulator", "simulate"),
    ],
)
def test_output_summary_matches_a_direct_call(tmp_path, output, mod, attr):
    """The stored summary of each output is the final value of the direct API call (same seed)."""
    from sidmft import Problem

    spec = SweepSpec(
        grid={"alpha": [3.0]},
        fixed={"steps": 5, "lam": 0.1},
        settings={"dim": 200, "seeds": 2, "samples": 2000, "batches": 2},
        outputs=[output],
        seed=2,
    )
    run_sweep(spec, tmp_path / "s", workers=0, progress=False)
    ds = open_sweep(tmp_path / "s").isel(alpha=0)
    p, seed = Problem(alpha=3.0, steps=5, lam=0.1), spec.task((0,))["seeds"].get(output)
    fn = getattr(importlib.import_module(mod), attr)
    if output == "fixed-point":
        ref = fn(p)
        assert int(ds["fixed_point_status"]) == int(ref.status)
        for k in ("m", "q", "error", "rate"):
            np.testing.assert_allclose(ds[f"fixed_point_{k}"], getattr(ref, k), rtol=1e-10)
    elif output == "dmft":
        ref = fn(p, samples=2000, batches=2, seed=seed)
        assert int(ds["dmft_status"]) == int(ref.status)
        for k in ("m", "error", "train_loss"):
            np.testing.assert_allclose(ds[f"dmft_{k}_t"], ref.mean(k), rtol=1e-12)
            np.testing.assert_allclose(ds[f"dmft_{k}_se"], ref.se(k)[-1], rtol=1e-12)
    else:
        ref = fn(p, dim=200, seeds=2, seed=seed)
        assert int(ds["simulate_status"]) == int(ref.status)
        for k in ("m", "error", "train_loss"):
            np.testing.assert_allclose(ds[f"simulate_{k}_t"], ref.mean(k), rtol=1e-12)
            np.testing.assert_allclose(ds[f"simulate_{k}_se"], ref.se(k)[-1], rtol=1e-12)
        np.testing.assert_allclose(ds["simulate_spectral_overlap"], np.mean(ref.spectral_overlap), rtol=1e-12)


# ------------------------------------------------------------------------- store handling
SMALL = dict(grid={"alpha": [1.0, 2.0], "lam": [0.0, 0.1]}, fixed={"steps": 3}, outputs=["spectral", HELPER])


def test_overwrite_replaces_the_store(tmp_path):
    store = tmp_path / "s"
    run_sweep(SweepSpec(**SMALL), store, workers=0, progress=False)
    (store / "stray.txt").write_text("left by a user")
    other = SweepSpec(**{**SMALL, "grid": {"alpha": [3.0], "lam": [0.2]}})
    with pytest.raises(SweepError, match="different sweep"):  # without --overwrite: refused
        run_sweep(other, store, workers=0, progress=False)
    res = run_sweep(other, store, workers=0, progress=False, overwrite=True)
    assert res["computed"] == 1 and res["skipped"] == 0
    assert not (store / "stray.txt").exists()
    assert Store(store).finished_keys() == {other.key((0, 0))}  # the old points are gone
    assert [r["event"] for r in Store(store).read_journal()] == ["start", "point", "end"]
    ref = tmp_path / "ref"
    run_sweep(other, ref, workers=0, progress=False)
    xr.testing.assert_identical(_numbers(open_sweep(store)), _numbers(open_sweep(ref)))
    # the CLI flag reaches the same code path
    r = CliRunner().invoke(
        main,
        [
            "sweep",
            "--store",
            str(store),
            "--workers",
            "0",
            "--no-progress",
            "--json",
            "--grid",
            "alpha=1",
            "--steps",
            "3",
            "--outputs",
            "spectral",
            "--overwrite",
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["computed"] == 1 and len(Store(store).finished_keys()) == 1


def test_overwrite_refuses_a_store_in_use(tmp_path):
    """The lock is taken before anything is deleted: a running sweep's store survives --overwrite."""
    store = tmp_path / "s"
    spec = SweepSpec(**SMALL)
    run_sweep(spec, store, workers=0, progress=False)
    before = sorted(p.name for p in (store / "points").iterdir())
    with Store(store).lock():  # a concurrent sweep holds the lock
        with pytest.raises(SweepError, match="in use by another running sweep"):
            run_sweep(spec, store, workers=0, progress=False, overwrite=True)
        r = CliRunner().invoke(
            main,
            [
                "sweep",
                "--store",
                str(store),
                "--workers",
                "0",
                "--no-progress",
                "--grid",
                "alpha=1",
                "--outputs",
                "spectral",
                "--overwrite",
            ],
        )
        assert r.exit_code == 2 and "in use" in r.output
    assert Store(store).exists() and sorted(p.name for p in (store / "points").iterdir()) == before
    assert Store(store).read_spec().spec_hash == spec.spec_hash
    assert run_sweep(spec, store, workers=0, progress=False, overwrite=True)["computed"] == 4  # lock released


def test_directory_that_is_not_a_store_is_refused(tmp_path):
    d = tmp_path / "mydata"
    d.mkdir()
    (d / "precious.csv").write_text("1,2,3\n")
    spec = SweepSpec(**SMALL)
    with pytest.raises(SweepError, match="not a sweep store"):
        run_sweep(spec, d, workers=0, progress=False)
    r = CliRunner().invoke(
        main,
        ["sweep", "--store", str(d), "--workers", "0", "--no-progress", "--grid", "alpha=1", "--outputs", "spectral"],
    )
    assert r.exit_code == 2 and "not a sweep store" in r.output
    assert sorted(p.name for p in d.iterdir()) == ["precious.csv"]  # nothing written, nothing deleted
    with pytest.raises(SweepError, match="not a sweep store"):
        open_sweep(d)
    empty = tmp_path / "empty"
    empty.mkdir()  # an empty directory is fine
    assert run_sweep(spec, empty, workers=0, progress=False)["computed"] == 4


def test_solver_statuses_pass_through_the_sweep(tmp_path):
    """Per-point statuses reach the store.  alpha = 0.4 < 1/2 is below the weak-recovery threshold of noiseless
    phase retrieval for any preprocessing (Mondelli & Montanari 2018), so spectral and DMFT report
    BELOW_THRESHOLD; T = min(y, 3) at alpha = 3, eta = 0.3 blows up (docs/theory.md §5.4: already at
    eta = 0.1 samples escape the cubic map), eta = 0.02 converges (test_dmft.py)."""
    from sidmft import Status

    spec = SweepSpec(
        grid={"alpha": [0.4, 3.0], "eta": [0.02, 0.3]},
        fixed={"preprocess": "clip:3", "lam": 0.1, "steps": 10},
        settings={"samples": 4000, "batches": 2},
        outputs=["spectral", "dmft"],
        seed=1,
    )
    res = run_sweep(spec, tmp_path / "s", workers=0, progress=False)
    assert res["computed"] == 4 and not res["errors"]
    ds = open_sweep(tmp_path / "s")
    B, S, U = int(Status.BELOW_THRESHOLD), int(Status.SUCCESS), int(Status.BLOWUP)
    np.testing.assert_array_equal(ds["spectral_status"].transpose("alpha", "eta").values, [[B, B], [S, S]])
    np.testing.assert_array_equal(ds["dmft_status"].transpose("alpha", "eta").values, [[B, B], [S, U]])
    assert np.isnan(ds["dmft_m_t"].sel(alpha=0.4)).all()
    assert np.isfinite(ds["dmft_m_t"].sel(alpha=3.0, eta=0.02)).all()
    blown = ds["dmft_m_t"].sel(alpha=3.0, eta=0.3).values
    assert np.isnan(blown[-1]) and np.isnan(ds["dmft_m"].sel(alpha=3.0, eta=0.3))
    # the journal and the point files carry the labels and readable messages
    labels = {tuple(r["grid_values"].values()): r["status"]["dmft"] for r in _point_lines(tmp_path / "s")}
    assert labels == {
        (0.4, 0.02): Status.BELOW_THRESHOLD.label,
        (0.4, 0.3): Status.BELOW_THRESHOLD.label,
        (3.0, 0.02): Status.SUCCESS.label,
        (3.0, 0.3): Status.BLOWUP.label,
    }
    with xr.open_dataset(Store(tmp_path / "s").point_file(spec.key((1, 1))), engine="h5netcdf") as p:
        assert p.attrs["dmft_status"] == Status.BLOWUP.label and "blow-up" in p.attrs["dmft_message"]
    with xr.open_dataset(Store(tmp_path / "s").point_file(spec.key((0, 0))), engine="h5netcdf") as p:
        assert "threshold" in p.attrs["dmft_message"] and "threshold" in p.attrs["spectral_message"]


# ------------------------------------------------------------------------- spectral threshold
def test_alpha_c_is_stored_per_preprocessing(tmp_path, monkeypatch):
    """The consolidated dataset carries alpha_c over the grid's (model, noise, preprocess).  Noiseless phase
    retrieval with the optimal preprocessing has alpha_c = 1/2 (Mondelli & Montanari 2018; Luo, Alghamdi & Lu
    2019); T = y is unbounded (sup T = inf), where the spectral theory gives no threshold: NaN and a reason."""
    spec = SweepSpec(
        grid={"alpha": [1.0, 2.0], "preprocess": ["lal", "identity"]}, fixed={"steps": 3}, outputs=[HELPER]
    )
    run_sweep(spec, tmp_path / "s", workers=0, progress=False)
    ac = open_sweep(tmp_path / "s")["alpha_c"]
    assert ac.dims == ("preprocess",)
    assert abs(float(ac.sel(preprocess="lal")) - 0.5) < 1e-9  # quadrature accuracy ~1e-10
    assert np.isnan(ac.sel(preprocess="identity"))
    assert "preprocess=identity" in ac.attrs["message"] and "sup T = inf" in ac.attrs["message"]
    assert "preprocess=lal" not in ac.attrs["message"]
    # no model / noise / preprocess dimension: a scalar; a theory that raises gives NaN, never an exception
    import sidmft.theory.spectral as th

    def broken(problem, **kw):
        raise RuntimeError("injected")

    monkeypatch.setattr(th, "spectral", broken)
    other = SweepSpec(grid={"alpha": [1.0]}, fixed={"steps": 3}, outputs=[HELPER])
    run_sweep(other, tmp_path / "t", workers=0, progress=False)
    ac = open_sweep(tmp_path / "t")["alpha_c"]
    assert ac.dims == () and np.isnan(ac) and "RuntimeError: injected" in ac.attrs["message"]
