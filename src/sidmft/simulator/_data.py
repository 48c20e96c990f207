"""Data generation for the finite-size simulator (docs/theory.md §0, §7).

Real field: rows a_i ~ N(0, I_d/d), x* uniform on the sphere of radius sqrt(d), z = A x*,
y = model.sample(z).

Complex field (``problem.field == "complex"``, docs/theory.md §7): rows a_i ~ CN(0, I_d/d) (real and
imaginary parts iid N(0, 1/(2d))); A stores the rows a_i^H (the same law), so r = A x; x* uniform on the
complex sphere ||x*||^2 = d; z = A x* ~ CN(0, 1); y = model.sample(|z|) (the model is even, so its link
of |z| is its link of z; e.g. phase retrieval y = |z|^2).  A row block is drawn as a real
standard_normal (rows, 2d) array in float64, scaled by 1/sqrt(2d) and read as complex (real and
imaginary parts interleaved), then cast; x* likewise from standard_normal(2d).

Reproducibility.  Everything derives from ``numpy.random.SeedSequence(seed)`` through fixed
spawn keys, never from the order in which work is done:

    A, rows [b*ROW_BLOCK, (b+1)*ROW_BLOCK)  SeedSequence(seed, spawn_key=(0, b))
    x*                                      spawn_key=(1,)
    label noise                             spawn_key=(2,)
    random initialisation (init='random')   spawn_key=(3,)
    Lanczos start vector                    spawn_key=(4,)
    sgd selection at step t                 spawn_key=(5, t)   s_i^t = [U_i < b], U = random(n)
    Langevin noise at step t                spawn_key=(6, t)   xi^t = standard_normal(d)
                                                               (complex: standard_normal(2d) read as
                                                               complex, xi^t = xi_re + i xi_im with
                                                               xi_re, xi_im iid N(0, I_d))

A block is always drawn in float64 and then cast, so float32 (complex64) data is the float64
(complex128) data rounded, and ``chunk_rows`` / ``workers`` change only speed, never a single bit of
the result.
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

__all__ = ["Data", "generate_data", "child_rng", "sgd_factor", "langevin_noise", "DTYPES", "check_field"]

DTYPES = {"float64": np.float64, "float32": np.float32}
#: storage types of complex data; with field="complex" a real name means its complex counterpart
COMPLEX_DTYPES = {"complex128": np.complex128, "complex64": np.complex64}
_TO_COMPLEX = {"float64": "complex128", "float32": "complex64"}

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


def langevin_noise(seed: int, t: int, d: int, field: str = "real") -> np.ndarray:
    """xi^t of Langevin dynamics at step t from the stream (KEY_LANGEVIN, t).

    Real: xi^t = standard_normal(d) ~ N(0, I_d).  Complex: standard_normal(2d) read as complex128,
    xi^t = xi_re + i xi_im with xi_re, xi_im iid N(0, I_d) (E|xi_j|^2 = 2): the noise of real Langevin
    dynamics on (Re x, Im x), so x^{t+1} = ... + sqrt(2 eta tau) xi^t is real Langevin at temperature tau
    on the 2d real coordinates.
    """
    rng = child_rng(seed, KEY_LANGEVIN, t)
    if field == "complex":
        return rng.standard_normal(2 * d).view(np.complex128)
    return rng.standard_normal(d)


def resolve_dtype(dtype, field: str = "real") -> np.dtype:
    """The storage dtype of A: float64/float32 for real data; complex128/complex64 for complex data, where
    "float64"/"float32" name the complex type of that precision.  ValueError for anything else."""
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if field == "complex":
        name = _TO_COMPLEX.get(name, name)
        if name not in COMPLEX_DTYPES:
            raise ValueError(
                f"dtype must be one of {list(COMPLEX_DTYPES) + list(_TO_COMPLEX)} for field='complex'; got {dtype!r}"
            )
        return np.dtype(COMPLEX_DTYPES[name])
    if name not in DTYPES:
        extra = " (complex dtypes need field='complex')" if name in COMPLEX_DTYPES else ""
        raise ValueError(f"dtype must be one of {list(DTYPES)}{extra}; got {dtype!r}")
    return np.dtype(DTYPES[name])


def check_field(data, problem) -> None:
    """ValueError unless the data's number field (complex A or real A) is ``problem.field``."""
    if data.field != problem.field:
        raise ValueError(
            f"the data are {data.field} (A has dtype {data.A.dtype}) but problem.field is {problem.field!r}; "
            f"draw the data with generate_data(problem, ...) for this problem"
        )


def n_samples(alpha: float, dim: int) -> int:
    """n = round(alpha * d) (at least 1)."""
    return max(1, int(round(alpha * dim)))


@dataclass
class Data:
    """One problem instance.

    Attributes
    ----------
    A : (n, d) array, C-contiguous, dtype float64 or float32 (rows a_i ~ N(0, I_d/d)), or complex128 or
        complex64 (rows a_i^H, a_i ~ CN(0, I_d/d))
    y : (n,) float64 labels
    z : (n,) float64 (complex: complex128) indices z = A x* (computed from the stored A)
    x_star : (d,) float64 (complex: complex128), ||x*||^2 = d
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

    @property
    def field(self) -> str:
        """The number field: "complex" for complex A, else "real"."""
        return "complex" if np.iscomplexobj(self.A) else "real"


def _fill_blocks(A, seed, b0, b1):
    n, d = A.shape
    cplx = np.iscomplexobj(A)
    cols = 2 * d if cplx else d
    s = 1.0 / math.sqrt(cols)
    for b in range(b0, b1):
        i0, i1 = b * ROW_BLOCK, min(n, (b + 1) * ROW_BLOCK)
        blk = child_rng(seed, KEY_A, b).standard_normal((i1 - i0, cols))
        blk *= s
        A[i0:i1] = blk.view(np.complex128) if cplx else blk


def generate_data(
    problem, dim: int, seed: int = 0, dtype="float64", chunk_rows: Optional[int] = None, workers: Optional[int] = None
) -> Data:
    """Draw (A, x*, y) for ``problem`` at dimension ``dim`` from ``seed``.

    Parameters
    ----------
    problem : Problem
        Supplies alpha (n = round(alpha d)), the model (labels ``model.sample(z, rng)``, complex:
        ``model.sample(|z|, rng)``) and the field (real or complex data).
    dim : int
        Dimension d >= 2.
    seed : int
        Non-negative integer; see the module docstring for the stream layout.
    dtype : {"float64", "float32", "complex128", "complex64"}
        Storage type of A (drawn in float64 and rounded); complex types for ``problem.field ==
        "complex"``, where "float64"/"float32" mean complex128/complex64.
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
    dt = resolve_dtype(dtype, problem.field)
    cplx = problem.field == "complex"
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
    wide = np.complex128 if cplx else np.float64
    g = child_rng(seed, KEY_XSTAR).standard_normal(2 * dim if cplx else dim).view(wide)
    x_star = g * (math.sqrt(dim) / np.linalg.norm(g))
    z = np.empty(n, dtype=wide)
    with threadpool_limits(1):
        for b in range(nb):  # per fixed block, one BLAS thread: bitwise independent of chunking
            i0, i1 = b * ROW_BLOCK, min(n, (b + 1) * ROW_BLOCK)
            z[i0:i1] = A[i0:i1].astype(wide, copy=False) @ x_star
    index = np.abs(z) if cplx else z
    y = np.asarray(problem.model_obj.sample(index, child_rng(seed, KEY_LABELS)), dtype=np.float64)
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
