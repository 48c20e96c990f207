"""Data generation for the finite-size simulator (docs/theory.md §0).

rows a_i ~ N(0, I_d/d), x* uniform on the sphere of radius sqrt(d), z = A x*, y = model.sample(z).

Reproducibility.  Everything derives from ``numpy.random.SeedSequence(seed)`` through fixed
spawn keys, never from the order in which work is done:

    A, rows [b*ROW_BLOCK, (b+1)*ROW_BLOCK)  SeedSequence(seed, spawn_key=(0, b))
    x*                                      spawn_key=(1,)
    label noise                             spawn_key=(2,)
    random initialisation (init='random')   spawn_key=(3,)
    Lanczos start vector                    spawn_key=(4,)
    sgd selection at step t                 spawn_key=(5, t)   s_i^t = [U_i < b], U = random(n)
    Langevin noise at step t                spawn_key=(6, t)   xi^t = standard_normal(d)

A block is always drawn in float64 and then cast, so float32 data is the float64 data rounded,
and ``chunk_rows`` / ``workers`` change only speed, never a single bit of the result.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from threadpoolctl import threadpool_limits

from ._kernels import ROW_BLOCK

__all__ = ["Data", "generate_data", "child_rng", "sgd_factor", "langevin_noise", "DTYPES"]

DTYPES = {"float64": np.float64, "float32": np.float32}

# spawn-key roots
KEY_A, KEY_XSTAR, KEY_LABELS, KEY_RANDOM_INIT, KEY_LANCZOS, KEY_SGD, KEY_LANGEVIN = 0, 1, 2, 3, 4, 5, 6


def child_rng(seed: int, *key: int) -> np.random.Generator:
    """Generator for the stream ``key`` of ``seed`` (independent of every other key)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=tuple(key))))


def sgd_factor(seed: int, t: int, n: int, batch: float) -> np.ndarray:
    """Per-sample factor f_i^t = s_i^t / b of sgd at step t, s_i^t = [U_i < b] with U = random(n) of
    the stream (KEY_SGD, t) of ``seed`` (float64)."""
    s = child_rng(seed, KEY_SGD, t).random(n) < batch
    return s.astype(np.float64) / batch


def langevin_noise(seed: int, t: int, d: int) -> np.ndarray:
    """xi^t ~ N(0, I_d) of Langevin dynamics at step t: standard_normal(d) of the stream (KEY_LANGEVIN, t)."""
    return child_rng(seed, KEY_LANGEVIN, t).standard_normal(d)


def resolve_dtype(dtype) -> np.dtype:
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {list(DTYPES)}; got {dtype!r}")
    return np.dtype(DTYPES[name])


def n_samples(alpha: float, dim: int) -> int:
    """n = round(alpha * d) (at least 1)."""
    return max(1, int(round(alpha * dim)))


@dataclass
class Data:
    """One problem instance.

    Attributes
    ----------
    A : (n, d) array, C-contiguous, dtype float64 or float32; rows a_i ~ N(0, I_d/d)
    y : (n,) float64 labels
    z : (n,) float64 indices z = A x* (computed from the stored A)
    x_star : (d,) float64, ||x*||^2 = d
    seed : int
    """

    A: np.ndarray
    y: np.ndarray
    z: np.ndarray
    x_star: np.ndarray
    seed: int = 0
    alpha: float = field(default=float("nan"))

    @property
    def n(self) -> int:
        return self.A.shape[0]

    @property
    def d(self) -> int:
        return self.A.shape[1]

    @property
    def dtype(self):
        return self.A.dtype


def _fill_blocks(A, seed, b0, b1):
    n, d = A.shape
    s = 1.0 / math.sqrt(d)
    for b in range(b0, b1):
        i0, i1 = b * ROW_BLOCK, min(n, (b + 1) * ROW_BLOCK)
        blk = child_rng(seed, KEY_A, b).standard_normal((i1 - i0, d))
        blk *= s
        A[i0:i1] = blk


def generate_data(
    problem, dim: int, seed: int = 0, dtype="float64", chunk_rows: Optional[int] = None, workers: Optional[int] = None
) -> Data:
    """Draw (A, x*, y) for ``problem`` at dimension ``dim`` from ``seed``.

    Parameters
    ----------
    problem : Problem
        Supplies alpha (n = round(alpha d)) and the model (labels ``model.sample(z, rng)``).
    dim : int
        Dimension d >= 2.
    seed : int
        Non-negative integer; see the module docstring for the stream layout.
    dtype : {"float64", "float32"}
        Storage type of A (drawn in float64 and rounded).
    chunk_rows : int, optional
        Rows generated per task (rounded up to a multiple of ROW_BLOCK = 256).  Speed only.
    workers : int, optional
        Threads drawing blocks in parallel (default: up to 4).  Speed only.

    Returns
    -------
    Data
    """
    dim = _check_dim(dim)
    seed = _check_seed(seed)
    dt = resolve_dtype(dtype)
    n = n_samples(problem.alpha, dim)
    nb = -(-n // ROW_BLOCK)
    A = np.empty((n, dim), dtype=dt)
    per = max(1, -(-int(chunk_rows) // ROW_BLOCK)) if chunk_rows else max(1, min(16, nb))
    tasks = [(b, min(nb, b + per)) for b in range(0, nb, per)]
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    workers = max(1, int(workers))
    if workers == 1 or len(tasks) == 1:
        for b0, b1 in tasks:
            _fill_blocks(A, seed, b0, b1)
    else:
        with ThreadPoolExecutor(workers) as ex:
            list(ex.map(lambda t: _fill_blocks(A, seed, *t), tasks))
    g = child_rng(seed, KEY_XSTAR).standard_normal(dim)
    x_star = g * (math.sqrt(dim) / np.linalg.norm(g))
    z = np.empty(n)
    with threadpool_limits(1):
        for b in range(nb):  # per fixed block, one BLAS thread: bitwise independent of chunking
            i0, i1 = b * ROW_BLOCK, min(n, (b + 1) * ROW_BLOCK)
            z[i0:i1] = A[i0:i1].astype(np.float64, copy=False) @ x_star
    y = np.asarray(problem.model_obj.sample(z, child_rng(seed, KEY_LABELS)), dtype=np.float64)
    return Data(A=A, y=y, z=z, x_star=x_star, seed=seed, alpha=float(problem.alpha))


def _check_whole(name, v, lo) -> int:
    """int(v) when v is a whole number >= lo, else ValueError naming ``name`` and the range."""
    try:
        k = int(v)
    except (TypeError, ValueError):
        k = None
    if k is None or k != v or k < lo:
        raise ValueError(f"{name} must be a whole number >= {lo}; got {v!r}")
    return k


def _check_dim(dim) -> int:
    return _check_whole("dim", dim, 2)


def _check_seed(seed) -> int:
    return _check_whole("seed", seed, 0)
