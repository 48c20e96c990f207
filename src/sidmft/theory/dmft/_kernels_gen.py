"""Generator of the numba kernels of the Monte-Carlo DMFT (:mod:`sidmft.theory.dmft._generated.lanes`).

Regenerate the kernel module after editing this file::

    python -m sidmft.theory.dmft._kernels_gen          # rewrite _generated/lanes.py
    python -m sidmft.theory.dmft._kernels_gen --check  # exit 1 if it is out of date

The kernels live in a real file (not built with ``exec`` at run time) so numba can cache them on disk.

Layout: histories are time-major arrays (steps, M) so a block of LANES consecutive paths is a
contiguous run in every row.  The reverse sweep (see :mod:`sidmft.theory.dmft._kernels`) works on
blocks of LANES paths with the lane index innermost and *explicit* (generated) per-lane scalars, so
LLVM's SLP vectoriser maps the lanes onto SIMD registers; the bulk of the sweep is a register-blocked
micro-kernel that updates TAU_BLOCK rows of lambda at once (TAU_BLOCK x LANES accumulators, one
broadcast of R_x and one vector load of lambda_s per TAU_BLOCK fused multiply-adds).  These kernels
are compiled with loop vectorisation off and SLP vectorisation on (numba's defaults are the
opposite, and the loop vectoriser turns the lane loads into gathers).  Work is split over NCHUNK
fixed path ranges, so the floating-point summation order -- hence the result -- does not depend on
the thread count.

Every parallel kernel (``prange``) has a single-threaded, GIL-free ``_serial`` twin generated from
the same template text, used when batches run in Python threads.  One ``parallel=True`` body run
with ``numba.set_num_threads(1)`` is not used instead: numba's ``workqueue`` threading layer (the
fallback where neither TBB nor OpenMP is available) aborts the process when a parallel kernel is
entered from two threads at once; ``benchmarks/bench_dmft_kernels.py`` measures both options.
"""

from __future__ import annotations

import sys
from pathlib import Path

LANES_BY_DTYPE = {"f64": 16, "f32": 32}  # two zmm registers per row of the micro-kernel
TAU_BLOCK = 4
NCHUNK = 32
PARALLEL_NAMES = ("responses_f64", "responses_f32", "field")  # kernels that get a _serial twin

_I = "    "
_PAR_DECORATOR = "@njit(parallel=True, fastmath=True, cache=True)"
_SERIAL_DECORATOR = "@njit(nogil=True, fastmath=True, cache=True)"


def _zero(sfx: str) -> str:
    return "0.0" if sfx == "f64" else "np.float32(0.0)"


def _header(name: str, sfx: str, args: str, doc: str) -> list[str]:
    """Decorator, signature and docstring of one inlined lane helper."""
    return ['@njit(fastmath=True, inline="always", cache=True)', f"def {name}_{sfx}({args}):", f'{_I}"""{doc}"""']


def _gen_micro(sfx: str, L: int, B: int) -> list[str]:
    doc = f"acc[i, l] = sum over s_lo <= s < s_hi of RT[k0 + i, s] lam[s, l]  ({B} x {L} register block)."
    out = _header("micro", sfx, "RT, lam, k0, s_lo, s_hi, acc", doc)
    out += [f"{_I}a{i}_{l} = {_zero(sfx)}" for i in range(B) for l in range(L)]
    out.append(f"{_I}for s in range(s_lo, s_hi):")
    out += [f"{_I * 2}r{i} = RT[k0 + {i}, s]" for i in range(B)]
    out += [f"{_I * 2}x{l} = lam[s * {L} + {l}]" for l in range(L)]
    out += [f"{_I * 2}a{i}_{l} += r{i} * x{l}" for i in range(B) for l in range(L)]
    out += [f"{_I}acc[{i * L + l}] = a{i}_{l}" for i in range(B) for l in range(L)]
    return out


def _gen_row(sfx: str, L: int, tri: bool) -> list[str]:
    """One row of the reverse sweep, lam[tau] = H[tau] * (start + sum_s RT[tau + 1, s] lam[s]).

    ``tri=True`` (``tri_row``): start from the micro-kernel's partial sums ``acc[i]`` and add the
    triangle tau < s < top.  ``tri=False`` (``full_row``): start from 0 and sum tau < s <= t."""
    if tri:
        name, args, upper = "tri_row", "RT, lam, H, i0, tau, top, acc, i", "top"
        doc = "lam[tau, l] = H[tau, i0 + l] (acc[i, l] + sum over tau < s < top of RT[tau + 1, s] lam[s, l])."
        init = [f"{_I}a{l} = acc[i * {L} + {l}]" for l in range(L)]
    else:
        name, args, upper = "full_row", "RT, lam, H, i0, tau, t", "t + 1"
        doc = "lam[tau, l] = H[tau, i0 + l] sum over tau < s <= t of RT[tau + 1, s] lam[s, l]."
        init = [f"{_I}a{l} = {_zero(sfx)}" for l in range(L)]
    out = _header(name, sfx, args, doc) + init
    out += [f"{_I}for s in range(tau + 1, {upper}):", f"{_I * 2}r = RT[tau + 1, s]"]
    out += [f"{_I * 2}a{l} += r * lam[s * {L} + {l}]" for l in range(L)]
    out += [f"{_I}lam[tau * {L} + {l}] = H[tau, i0 + {l}] * a{l}" for l in range(L)]
    return out


def _gen_accumulate(sfx: str, L: int) -> list[str]:
    doc = "pr[tau, l] += H[t, i0 + l] lam[tau, l];  pg[tau, l] += G[t, i0 + l] G[tau, i0 + l]  (float64)."
    out = _header("accumulate", sfx, "t, lam, H, G, i0, pr, pg", doc)
    for l in range(L):
        out += [f"{_I}h{l} = np.float64(H[t, i0 + {l}])", f"{_I}g{l} = np.float64(G[t, i0 + {l}])"]
    out.append(f"{_I}for tau in range(t + 1):")
    for l in range(L):
        out += [
            f"{_I * 2}pr[tau * {L} + {l}] += h{l} * lam[tau * {L} + {l}]",
            f"{_I * 2}pg[tau * {L} + {l}] += g{l} * G[tau, i0 + {l}]",
        ]
    return out


def _gen_spec_dot(sfx: str, L: int) -> list[str]:
    doc = "out[l] = sum over 1 <= tau <= t of RS[tau] lam[tau, l]  (float64)."
    out = _header("spec_dot", sfx, "t, lam, RS, out", doc)
    out += [f"{_I}a{l} = 0.0" for l in range(L)]
    out += [f"{_I}for tau in range(1, t + 1):", f"{_I * 2}r = RS[tau]"]
    out += [f"{_I * 2}a{l} += r * lam[tau * {L} + {l}]" for l in range(L)]
    out += [f"{_I}out[{l}] = a{l}" for l in range(L)]
    return out


def _gen_complex_row(L: int = LANES_BY_DTYPE["f64"]) -> list[str]:
    """One row tau of the complex sweep (:mod:`sidmft.theory.dmft._complex_kernels`) on L lanes, float64: the four
    components of X = acc (full block) + sum_{tau < s <= top} R(s, tau) nu_s kept as explicit scalars, then
    nu_tau = (X0, X1) D_tau stored, so LLVM's SLP vectoriser packs the lanes (with an array in between it could not
    tell the loads from the stores)."""
    doc = "N[c, tau * L + l] = component c of nu_tau = (X0, X1) D_tau on the lanes l0..l0 + L (see the generator)."
    out = _header("complex_row", "f64", "RT, N, acc, A, Br, Bi, tau, lo, top, full, l0", doc).copy()
    out.append(f"{_I}if full:")
    out += [f"{_I * 2}p{c}_{l} = acc[{c}, (tau - lo) * {L} + {l}]" for c in range(4) for l in range(L)]
    out.append(f"{_I}else:")
    out += [f"{_I * 2}p{c}_{l} = 0.0" for c in range(4) for l in range(L)]
    out.append(f"{_I}for s in range(tau + 1, top + 1):")
    out.append(f"{_I * 2}r = RT[tau + 1, s]")
    out += [f"{_I * 2}p{c}_{l} += r * N[{c}, s * {L} + {l}]" for c in range(4) for l in range(L)]
    for l in range(L):
        out.append(f"{_I}a{l} = np.float64(A[tau, l0 + {l}])")
        out.append(f"{_I}br{l} = np.float64(Br[tau, l0 + {l}])")
        out.append(f"{_I}bi{l} = np.float64(Bi[tau, l0 + {l}])")
    out.append(f"{_I}b = tau * {L}")
    forms = (
        "a{l} * p0_{l} + br{l} * p2_{l} + bi{l} * p3_{l}",
        "a{l} * p1_{l} + br{l} * p3_{l} - bi{l} * p2_{l}",
        "br{l} * p0_{l} - bi{l} * p1_{l} + a{l} * p2_{l}",
        "br{l} * p1_{l} + bi{l} * p0_{l} + a{l} * p3_{l}",
    )
    out += [f"{_I}N[{c}, b + {l}] = " + forms[c].format(l=l) for c in range(4) for l in range(L)]
    return out


def _gen_helpers(sfx: str, L: int, B: int = TAU_BLOCK) -> list[str]:
    """Lane-explicit helpers for one float type (see the module docstring), one source text each."""
    helpers = (
        _gen_micro(sfx, L, B),
        _gen_row(sfx, L, tri=True),
        _gen_row(sfx, L, tri=False),
        _gen_accumulate(sfx, L),
        _gen_spec_dot(sfx, L),
    )
    return ["\n".join(lines) for lines in helpers]


_RESPONSES_TEMPLATE = '''


@njit(parallel=True, fastmath=True, cache=True)
def responses_{sfx}(t, H, G, RT, spec, RS, dgS, B0, gS, z, out_r, out_g):
    """Reverse sweep + Gram row for all paths in blocks of {L} lanes (sums in float64).

    out_r[tau] += sum_i h_t lambda_tau (tau = 0..t); out_r[t+1] += sum_i h_t dr^t/dw^S (spectral);
    out_g[tau] += sum_i g_t g_tau; out_g[t+1] += sum_i g_t g^S; out_g[t+2] += sum_i g_t z.
    Paths after the last full block of {L} are left to the caller."""
    M = H.shape[1]
    nblk = M // {L}
    per = (nblk + {NC} - 1) // {NC}
    n = t + 1
    part_r = np.zeros(({NC}, n * {L}))
    part_g = np.zeros(({NC}, n * {L}))
    part_x = np.zeros(({NC}, 3))
    for c in prange({NC}):
        lam = np.zeros(n * {L}, dtype=H.dtype)
        acc = np.zeros({B} * {L}, dtype=H.dtype)
        sd = np.zeros({L})
        pr = part_r[c]
        pg = part_g[c]
        for blk in range(c * per, min((c + 1) * per, nblk)):
            i0 = blk * {L}
            for l in range({L}):
                lam[t * {L} + l] = 1.0
            top = t
            while top >= {B}:
                tb = top - {B}
                micro_{sfx}(RT, lam, tb + 1, top, t + 1, acc)
                for i in range({B} - 1, -1, -1):
                    tri_row_{sfx}(RT, lam, H, i0, tb + i, top, acc, i)
                top = tb
            for tau in range(top - 1, -1, -1):
                full_row_{sfx}(RT, lam, H, i0, tau, t)
            accumulate_{sfx}(t, lam, H, G, i0, pr, pg)
            sx = 0.0
            sz = 0.0
            if spec:
                spec_dot_{sfx}(t, lam, RS, sd)
                for l in range({L}):
                    i = i0 + l
                    sx += H[t, i] * (B0[i] * lam[l] + dgS[i] * sd[l])
                    sz += G[t, i] * gS[i]
            part_x[c, 0] += sx
            part_x[c, 1] += sz
            s3 = 0.0
            for l in range({L}):
                s3 += G[t, i0 + l] * z[i0 + l]
            part_x[c, 2] += s3
    for c in range({NC}):
        for tau in range(n):
            sr = 0.0
            sg = 0.0
            for l in range({L}):
                sr += part_r[c, tau * {L} + l]
                sg += part_g[c, tau * {L} + l]
            out_r[tau] += sr
            out_g[tau] += sg
        out_r[n] += part_x[c, 0]
        out_g[n] += part_x[c, 1]
        out_g[n + 1] += part_x[c, 2]
'''

_FIELD_SOURCE = '''


@njit(parallel=True, fastmath=True, cache=True)
def field(Lrow, Xi, mem, G, s0, gS, t, spec, r):
    """r = Lrow . Xi[:len(Lrow)] + mem . G[:t] + s0 gS, in chunks of 512 paths (float64 sums)."""
    M = Xi.shape[1]
    nj = Lrow.shape[0]
    CH = 512
    nch = (M + CH - 1) // CH
    for c in prange(nch):
        a = c * CH
        b = min(M, a + CH)
        for i in range(a, b):
            r[i] = 0.0
        for k in range(nj):
            ck = Lrow[k]
            if ck != 0.0:
                for i in range(a, b):
                    r[i] += ck * Xi[k, i]
        for k in range(t):
            ck = mem[k]
            if ck != 0.0:
                for i in range(a, b):
                    r[i] += ck * G[k, i]
        if spec and s0 != 0.0:
            for i in range(a, b):
                r[i] += s0 * gS[i]
'''

_MODULE_HEAD = f'''"""Numba kernels of the Monte-Carlo DMFT.

GENERATED FILE -- do not edit by hand.  Edit sidmft/theory/dmft/_kernels_gen.py, then regenerate with::

    python -m sidmft.theory.dmft._kernels_gen

See sidmft.theory.dmft._kernels_gen for the layout and sidmft.theory.dmft._kernels for the algorithm.
"""

import numpy as np
from numba import njit, prange

LANES_BY_DTYPE = {LANES_BY_DTYPE!r}
TAU_BLOCK = {TAU_BLOCK}
NCHUNK = {NCHUNK}'''.replace("'", '"')


def _serial(src: str) -> str:
    """Single-threaded, GIL-free twin of a generated parallel kernel (same chunking, hence the same
    floating-point summation order); used when batches run in threads."""
    out = src.replace(_PAR_DECORATOR, _SERIAL_DECORATOR).replace("prange(", "range(")
    for name in PARALLEL_NAMES:
        out = out.replace(f"def {name}(", f"def {name}_serial(")
    return out


def generate_lanes_module() -> str:
    """Source text of :mod:`sidmft.theory.dmft._generated.lanes`."""
    chunks = [_MODULE_HEAD]
    for sfx, L in LANES_BY_DTYPE.items():
        chunks += _gen_helpers(sfx, L, TAU_BLOCK)
        par = _RESPONSES_TEMPLATE.format(sfx=sfx, L=L, B=TAU_BLOCK, NC=NCHUNK).strip("\n")
        chunks += [par, _serial(par)]
    chunks.append("\n".join(_gen_complex_row()))
    field = _FIELD_SOURCE.strip("\n")
    chunks += [field, _serial(field)]
    return "\n\n\n".join(chunks) + "\n"


def lanes_path() -> Path:
    """Path of the generated module."""
    return Path(__file__).parent / "_generated" / "lanes.py"


def main(argv: list[str] | None = None) -> int:
    """Rewrite ``_generated/lanes.py`` (or, with ``--check``, return 1 if it differs from the generator)."""
    argv = sys.argv[1:] if argv is None else argv
    path, text = lanes_path(), generate_lanes_module()
    current = path.read_text() if path.exists() else None
    if "--check" in argv:
        if current != text:
            print(f"{path} is out of date: run python -m sidmft.theory.dmft._kernels_gen", file=sys.stderr)
            return 1
        return 0
    if current != text:
        path.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
