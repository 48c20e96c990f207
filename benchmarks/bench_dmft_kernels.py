"""The DMFT kernels now against the previous ones (git HEAD, or --ref REV), in the same run.

    python benchmarks/bench_dmft_kernels.py            # kernel calls at M = 5000, 20000 and t in {10, 50, 150}
    python benchmarks/bench_dmft_kernels.py --quick    # M = 5000, t in {10, 50}, fewer repeats
    python benchmarks/bench_dmft_kernels.py --ref HEAD~1

The previous kernel module pair (``_dmft_kernels.py`` and the generated ``_dmft_lanes.py``) is read
with ``git show REV:...`` into a temporary directory (its numba cache lives there) and imported as
plain modules, so nothing is checked out.  Every timed call of a previous kernel is checked against
the same call of the current one on the same inputs, and a whole ``dmft()`` solve with the previous
kernel module swapped into the solver is compared with the current one, then timed.  "bitwise" means
identical outputs; otherwise the max relative difference is shown and must be <= 1e-12 (a path-parallel
kernel freshly compiled in this process and the same kernel loaded from numba's cache can differ by
one rounding, ~1e-17; rerunning, with both loaded from the cache, gives "bitwise").

Rows: ``responses`` (reverse sweep + Gram row, spectral mode) and ``field`` for the path-parallel
kernel (``numba``, all numba threads) and its single-threaded twin (``numba-serial``).  The last
column, ``par@1thr/serial``, times the path-parallel kernel run with ``numba.set_num_threads(1)``
against the serial twin: the cost of using one ``parallel=True`` body for both uses.
Medians over repeats (the machine may be shared: compare ratios, not absolute times).
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sidmft.theory.dmft import _kernels as NEW  # noqa: E402


def load_previous(rev: str):
    """The previous dispatch module (with its own generated kernels) from ``git show rev:...``."""
    sha = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    d = Path(tempfile.gettempdir()) / f"sidmft_bench_kernels_{sha}"
    d.mkdir(exist_ok=True)
    texts = {}
    for name in ("_dmft_lanes", "_dmft_kernels"):
        texts[name] = subprocess.run(
            ["git", "show", f"{rev}:src/sidmft/theory/{name}.py"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout
    texts["_dmft_kernels"] = texts["_dmft_kernels"].replace(
        "from . import _dmft_lanes as lanes", "import _prev_dmft_lanes as lanes"
    )
    mods = {}
    for name, text in texts.items():
        path = d / f"_prev{name}.py"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    sys.path.insert(0, str(d))
    for name in ("_dmft_lanes", "_dmft_kernels"):
        spec = importlib.util.spec_from_file_location(f"_prev{name}", d / f"_prev{name}.py")
        mods[name] = importlib.util.module_from_spec(spec)
        sys.modules[f"_prev{name}"] = mods[name]
        spec.loader.exec_module(mods[name])
    return mods["_dmft_kernels"], sha


def inputs(t, M, dtype, seed=0):
    rng = np.random.default_rng(seed)
    L = NEW.NUMBA.lanes(dtype)
    Mp = -(-M // L) * L
    H = np.zeros((t + 1, Mp), dtype=dtype)
    G = np.zeros((t + 1, Mp), dtype=dtype)
    H[:, :M] = rng.uniform(0.0, 2.0, (t + 1, M))
    G[:, :M] = rng.standard_normal((t + 1, M))
    RT = np.ascontiguousarray(rng.standard_normal((t + 2, t + 2)) / (t + 1), dtype=dtype)
    Rx = RT.T.astype(np.float64)
    z = np.zeros(Mp)
    z[:M] = rng.standard_normal(M)
    gS, dgS, B0 = (np.concatenate([rng.standard_normal(M), np.zeros(Mp - M)]) for _ in range(3))
    spec = (Rx[: t + 1, 0].copy(), dgS, B0)
    Xi = rng.standard_normal((t + 3, Mp)).astype(dtype)
    Lrow, mem = rng.standard_normal(t + 2), Rx[t, 1 : t + 1].copy()
    return dict(resp=(t, H, G, Rx, RT, z, gS, spec, M), field=(Lrow, Xi, mem, G, 0.3, gS, t))


def median_times(fs, reps):
    """Median wall time of each callable in ``fs``, the calls interleaved (a varying load hits all alike)."""
    for f in fs:
        f()
    ts = [[] for _ in fs]
    for _ in range(reps):
        for f, acc in zip(fs, ts):
            t0 = time.perf_counter()
            f()
            acc.append(time.perf_counter() - t0)
    return [float(np.median(acc)) for acc in ts]


def rel_diff(a, b):
    """0.0 when bitwise identical, else max |a - b| / max |b| over the arrays of two results."""
    a, b = (
        [np.atleast_1d(np.asarray(x, dtype=float)) for x in a],
        [np.atleast_1d(np.asarray(x, dtype=float)) for x in b],
    )
    if all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b)):
        return 0.0
    return max(float(np.nanmax(np.abs(x - y)) / max(np.nanmax(np.abs(y)), 1e-300)) for x, y in zip(a, b))


TOL = 1e-12  # a freshly compiled parallel kernel and the same one loaded from numba's cache can differ by 1 ulp


def _calls(OLD, op, kname, a):
    """(previous, current, current path-parallel) callables for one operation on the arguments ``a``."""
    knew = NEW.resolve(kname)
    if op == "resp":
        return (
            partial(OLD.responses_and_gram, *a, kernel=kname),
            partial(knew.responses_and_gram, *a),
            partial(NEW.NUMBA.responses_and_gram, *a),
        )
    return partial(OLD.field, *a, kernel=kname), partial(knew.field, *a), partial(NEW.NUMBA.field, *a)


def _row(OLD, op, kname, a, reps):
    """One table row: medians, ratio, relative difference (and parallel body at one thread / serial twin)."""
    f_old, f_new, f_par = _calls(OLD, op, kname, a)
    r_old, r_new = f_old(), f_new()
    diff = rel_diff(r_old, r_new) if op == "resp" else rel_diff((r_old,), (r_new,))
    t_old, t_new = median_times((f_old, f_new), reps)
    extra = ""
    if kname == "numba-serial":
        nthr = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            t_par, t_ser = median_times((f_par, f_new), reps)
            extra = f"{t_par / t_ser:.3f}"
        finally:
            numba.set_num_threads(nthr)
    return t_old, t_new, diff, extra


def bench_calls(OLD, Ms, ts, reps):
    """Table of kernel-call medians, previous versus current, with the outputs compared."""
    print("| op | kernel | dtype | M | t | prev (ms) | new (ms) | new/prev | rel. diff | par@1thr/serial |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    ok = True
    for dtype, dn in ((np.float64, "f64"), (np.float32, "f32")):
        for M in Ms:
            for t in ts:
                args = inputs(t, M, dtype)
                for op in ("resp", "field"):
                    for kname in ("numba", "numba-serial"):
                        t_old, t_new, diff, extra = _row(OLD, op, kname, args[op], reps)
                        ok &= diff <= TOL
                        ident = "bitwise" if diff == 0.0 else f"{diff:.1e}"
                        print(
                            f"| {op} | {kname} | {dn} | {M} | {t} | {1e3 * t_old:.3f} | {1e3 * t_new:.3f} | "
                            f"{t_new / t_old:.3f} | {ident} | {extra} |",
                            flush=True,
                        )
    return ok


def _loop_in_threads(f, nthreads, calls, one_thread):
    """``calls`` calls of ``f`` in each of ``nthreads`` Python threads (as batches run in dmft())."""
    from concurrent.futures import ThreadPoolExecutor

    def work(_):
        if one_thread:
            numba.set_num_threads(1)  # thread-local in numba
        for _ in range(calls):
            f()

    with ThreadPoolExecutor(max_workers=nthreads) as ex:
        list(ex.map(work, range(nthreads)))


def bench_threads(reps, M=5000, t=50, calls=20):
    """Batch-parallel use: serial twin versus the parallel body at one numba thread, from several threads."""
    nthr = numba.config.NUMBA_NUM_THREADS
    print(
        f"\n| batch-parallel ({nthr} Python threads x {calls} calls) | dtype | M | t | serial twin (ms) | "
        "parallel body @1 thread (ms) | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for dtype, dn in ((np.float64, "f64"), (np.float32, "f32")):
        a = inputs(t, M, dtype)["resp"]
        f_ser = partial(_loop_in_threads, partial(NEW.NUMBA_SERIAL.responses_and_gram, *a), nthr, calls, False)
        f_par = partial(_loop_in_threads, partial(NEW.NUMBA.responses_and_gram, *a), nthr, calls, True)
        t_ser, t_par = median_times((f_ser, f_par), reps)
        print(f"| resp | {dn} | {M} | {t} | {1e3 * t_ser:.2f} | {1e3 * t_par:.2f} | {t_par / t_ser:.3f} |", flush=True)


def _solve_with(mod, p, samples, prec):
    """dmft() with the kernel module ``mod`` swapped into the solver."""
    from sidmft.theory.dmft import _core as _dmft_core
    from sidmft.theory.dmft import dmft

    _dmft_core.K = mod
    try:
        return dmft(p, samples=samples, batches=4, seed=1, precision=prec)
    finally:
        _dmft_core.K = NEW


def bench_solve(OLD, reps, samples, steps):
    """Whole dmft() solves with the previous kernel module in the solver versus the current one."""
    from sidmft import Problem

    p = Problem(alpha=3, lam=0.1, eta=0.1, steps=steps)
    ok = True
    print("\n| solve | precision | samples x batches | steps | prev (s) | new (s) | new/prev | rel. diff |")
    print("|---|---|---|---|---|---|---|---|")
    for prec in ("float64", "float32"):
        solves = {}
        for label, mod in (("prev", OLD), ("new", NEW)):
            solves[label] = partial(_solve_with, mod, p, samples, prec)
        res = {label: f() for label, f in solves.items()}
        t_prev, t_new = median_times((solves["prev"], solves["new"]), reps)
        keys = ("m", "q", "cosine", "error", "train_loss", "C_x", "R_x", "R_g", "Sigma", "mu")
        diff = rel_diff([getattr(res["prev"], k) for k in keys], [getattr(res["new"], k) for k in keys])
        ok &= diff <= TOL
        ident = "bitwise" if diff == 0.0 else f"{diff:.1e}"
        print(
            f"| dmft | {prec} | {samples // 4} x 4 | {steps} | {t_prev:.3f} | {t_new:.3f} | "
            f"{t_new / t_prev:.3f} | {ident} |",
            flush=True,
        )
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--ref", default="HEAD", help="git revision holding the previous kernels (default HEAD)")
    a = ap.parse_args()
    OLD, sha = load_previous(a.ref)
    NEW.warmup("float64"), NEW.warmup("float32"), NEW.warmup("float64", True), NEW.warmup("float32", True)
    Ms, ts, reps = ([5000], [10, 50], 7) if a.quick else ([5000, 20000], [10, 50, 150], 15)
    print(
        f"previous kernels: {a.ref} ({sha}); numba {numba.__version__}, threading layer "
        f"{numba.threading_layer()}, {numba.get_num_threads()} numba threads\n"
    )
    ok = bench_calls(OLD, Ms, ts, reps)
    bench_threads(reps)
    ok &= bench_solve(OLD, 3 if a.quick else 5, 8000 if a.quick else 20000, 40 if a.quick else 100)
    print(f"\nall outputs agree (bitwise or to {TOL:g} relative):", ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
