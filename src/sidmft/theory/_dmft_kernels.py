"""Hot loops of the Monte-Carlo DMFT (THEORY.md §4.1 step 3): numpy reference and numba versions.

``field``               r^t = L_{j,:} xi + sum_{tau<t} R_x(t,tau) g^tau + R_x(t,S) g^S   (O(M t))
``responses_and_gram``  exact reverse-mode pathwise responses (O(M t^2)), Gram row and Stein term.

Reverse mode (per path): lambda_t = 1, lambda_tau = l''_tau sum_{s=tau+1..t} lambda_s R_x(s,tau)
for tau = t-1..0, so lambda_tau = d r^t / d g^tau * l''_tau = d r^t / d w^tau (for columns that
are their own input).  Then R_g(t,tau) = E[l''_t lambda_tau]; in spectral mode
d r^t / d w^S = lambda_0 kappa/(1 - R_S T) + dg^S/dw^S sum_{tau>=1} R_x(tau,S) lambda_tau.
This is the row t of (I - R_x diag(l''))^{-1}: exactly the forward-mode Jacobian of §4.1 3b,
computed without storing the T x M x T Jacobian.
"""

from __future__ import annotations

import numpy as np
from numba import njit


# ------------------------------------------------------------------------------------ numpy reference
def field_numpy(Lrow, Xi, mem, G, s0, gS, t):
    j1 = Lrow.shape[0]
    r = Lrow @ Xi[:j1]
    if t > 0:
        r = r + mem @ G[:t]
    if gS is not None and s0 != 0.0:
        r = r + s0 * gS
    return r


def responses_numpy(t, H, G, Rx, z, gS, spec, M=None):
    """Reference: explicit backward recursion over tau, vectorised over paths; means over M paths."""
    M = H.shape[1] if M is None else M
    H = H.astype(np.float64, copy=False)
    G = G.astype(np.float64, copy=False)
    Lam = np.zeros((t + 1, M))
    Lam[t] = 1.0
    for tau in range(t - 1, -1, -1):
        Lam[tau] = H[tau] * (Rx[tau + 1 : t + 1, tau + 1] @ Lam[tau + 1 : t + 1])
    ht = H[t]
    resp = np.empty(t + 2)
    resp[: t + 1] = Lam @ ht
    if spec is not None:
        RxS, dgS, B0 = spec
        dS = B0 * Lam[0] + dgS * (RxS[1 : t + 1] @ Lam[1:])
        resp[t + 1] = np.sum(ht * dS)
    else:
        resp[t + 1] = 0.0
    g = G[t]
    gram = np.empty(t + 2)
    gram[: t + 1] = G[: t + 1] @ g
    gram[t + 1] = np.sum(g * gS) if gS is not None else 0.0
    gz = np.sum(g * z)
    return resp / M, gram / M, gz / M


# ------------------------------------------------------------------------------------ dispatch
def field(Lrow, Xi, mem, G, s0, gS, t, kernel="numpy"):
    """r^t for all paths (see module docstring).  kernel: "numpy", "numba" (path-parallel) or
    "numba-serial" (one thread, GIL released; for batch-parallel runs)."""
    if kernel.startswith("numba"):
        ks = _build_numba()
        r = np.empty(Xi.shape[1])
        spec = gS is not None
        ks["field" + ("_serial" if kernel == "numba-serial" else "")](np.ascontiguousarray(Lrow), Xi, np.ascontiguousarray(mem), G, float(s0),
                    gS if spec else np.zeros(1), t, spec, r)
        return r
    return field_numpy(Lrow, Xi, mem, G, s0, gS, t)


def responses_and_gram(t, H, G, Rx, RT, z, gS, spec, M, kernel="numpy"):
    """(resp, gram, gz): resp[tau] = E[l''_t lambda_tau] (tau = 0..t), resp[t+1] = E[l''_t dr^t/dw^S];
    gram[tau] = E[g^t g^tau], gram[t+1] = E[g^t g^S]; gz = E[g^t z]  (means over the M real paths)."""
    if kernel.startswith("numba"):
        return responses_numba(t, H, G, RT, z, gS, spec, M, serial=kernel == "numba-serial")
    return responses_numpy(t, H, G, Rx, z, gS, spec, M)


# ------------------------------------------------------------------------------------ numba kernels
#
# Layout: histories are time-major arrays (steps, M) so a block of LANES consecutive paths is a
# contiguous run in every row.  The reverse sweep works on blocks of LANES paths with the lane
# index innermost and *explicit* (generated) per-lane scalars, so LLVM's SLP vectoriser maps the
# lanes onto one SIMD register; the bulk of the sweep is a register-blocked micro-kernel that
# updates TAU_BLOCK rows of lambda at once (TAU_BLOCK x LANES accumulators, one broadcast of R_x and
# one vector load of lambda_s per TAU_BLOCK fused multiply-adds).  These kernels are compiled with
# loop vectorisation off and SLP vectorisation on (numba's defaults are the opposite, and the loop
# vectoriser turns the lane loads into gathers).  Work is split over NCHUNK fixed path ranges, so
# the floating-point summation order -- hence the result -- does not depend on the thread count.

import contextlib
import threading

TAU_BLOCK = 4
NCHUNK = 32

_numba_lock = threading.Lock()
_compiled = {}


@contextlib.contextmanager
def _slp_flags():
    import numba

    with _numba_lock:
        old = (numba.config.LOOP_VECTORIZE, numba.config.SLP_VECTORIZE)
        numba.config.LOOP_VECTORIZE, numba.config.SLP_VECTORIZE = 0, 1
        try:
            yield
        finally:
            numba.config.LOOP_VECTORIZE, numba.config.SLP_VECTORIZE = old



LANES_BY_DTYPE = {"f64": 16, "f32": 32}   # two zmm registers per row of the micro-kernel


def _gen_helpers(sfx, L, B=TAU_BLOCK):
    """Lane-explicit helpers for one float type (see the comment above)."""
    zero = "0.0" if sfx == "f64" else "np.float32(0.0)"
    I = "    "
    out = []

    def fn(name, args, doc):
        out.extend(["", "", "@njit(fastmath=True, inline='always', cache=True)",
                    f"def {name}_{sfx}({args}):", f'{I}"""{doc}"""'])

    fn("micro", "RT, lam, k0, s_lo, s_hi, acc",
       f"acc[i, l] = sum over s_lo <= s < s_hi of RT[k0 + i, s] lam[s, l]  ({B} x {L} register block).")
    out += [f"{I}a{i}_{l} = {zero}" for i in range(B) for l in range(L)]
    out.append(f"{I}for s in range(s_lo, s_hi):")
    out += [f"{I*2}r{i} = RT[k0 + {i}, s]" for i in range(B)]
    out += [f"{I*2}x{l} = lam[s * {L} + {l}]" for l in range(L)]
    out += [f"{I*2}a{i}_{l} += r{i} * x{l}" for i in range(B) for l in range(L)]
    out += [f"{I}acc[{i * L + l}] = a{i}_{l}" for i in range(B) for l in range(L)]

    fn("tri_row", "RT, lam, H, i0, tau, top, acc, i",
       "lam[tau, l] = H[tau, i0 + l] (acc[i, l] + sum over tau < s < top of RT[tau + 1, s] lam[s, l]).")
    out += [f"{I}a{l} = acc[i * {L} + {l}]" for l in range(L)]
    out += [f"{I}for s in range(tau + 1, top):", f"{I*2}r = RT[tau + 1, s]"]
    out += [f"{I*2}a{l} += r * lam[s * {L} + {l}]" for l in range(L)]
    out += [f"{I}lam[tau * {L} + {l}] = H[tau, i0 + {l}] * a{l}" for l in range(L)]

    fn("full_row", "RT, lam, H, i0, tau, t",
       "lam[tau, l] = H[tau, i0 + l] sum over tau < s <= t of RT[tau + 1, s] lam[s, l].")
    out += [f"{I}a{l} = {zero}" for l in range(L)]
    out += [f"{I}for s in range(tau + 1, t + 1):", f"{I*2}r = RT[tau + 1, s]"]
    out += [f"{I*2}a{l} += r * lam[s * {L} + {l}]" for l in range(L)]
    out += [f"{I}lam[tau * {L} + {l}] = H[tau, i0 + {l}] * a{l}" for l in range(L)]

    fn("accumulate", "t, lam, H, G, i0, pr, pg",
       "pr[tau, l] += H[t, i0 + l] lam[tau, l];  pg[tau, l] += G[t, i0 + l] G[tau, i0 + l]  (float64).")
    for l in range(L):
        out += [f"{I}h{l} = np.float64(H[t, i0 + {l}])", f"{I}g{l} = np.float64(G[t, i0 + {l}])"]
    out.append(f"{I}for tau in range(t + 1):")
    for l in range(L):
        out += [f"{I*2}pr[tau * {L} + {l}] += h{l} * lam[tau * {L} + {l}]",
                f"{I*2}pg[tau * {L} + {l}] += g{l} * G[tau, i0 + {l}]"]

    fn("spec_dot", "t, lam, RS, out", "out[l] = sum over 1 <= tau <= t of RS[tau] lam[tau, l]  (float64).")
    out += [f"{I}a{l} = 0.0" for l in range(L)]
    out += [f"{I}for tau in range(1, t + 1):", f"{I*2}r = RS[tau]"]
    out += [f"{I*2}a{l} += r * lam[tau * {L} + {l}]" for l in range(L)]
    out += [f"{I}out[{l}] = a{l}" for l in range(L)]
    return out


_KERNEL_TEMPLATE = '''


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


def generate_lanes_module() -> str:
    """Source of :mod:`sidmft.theory._dmft_lanes` (a real file, so numba can cache the kernels)."""
    head = ['"""Numba kernels of the Monte-Carlo DMFT, GENERATED by',
            "sidmft.theory._dmft_kernels.generate_lanes_module(); do not edit by hand (regenerate).",
            "",
            "See sidmft.theory._dmft_kernels for the algorithm and the layout.",
            '"""',
            "",
            "import numpy as np",
            "from numba import njit, prange",
            "",
            f"LANES_BY_DTYPE = {LANES_BY_DTYPE!r}",
            f"TAU_BLOCK = {TAU_BLOCK}",
            f"NCHUNK = {NCHUNK}"]
    src = "\n".join(head)
    for sfx, L in LANES_BY_DTYPE.items():
        src += "\n".join(_gen_helpers(sfx, L, TAU_BLOCK))
        par = _KERNEL_TEMPLATE.format(sfx=sfx, L=L, B=TAU_BLOCK, NC=NCHUNK)
        src += par + _serial(par)
    src += _FIELD_SOURCE + _serial(_FIELD_SOURCE)
    return src


def _serial(src):
    """Single-threaded, GIL-free twin of a generated parallel kernel (same chunking, hence the same
    floating-point summation order and bit-identical results); used when batches run in threads."""
    out = src.replace("@njit(parallel=True, fastmath=True, cache=True)", "@njit(nogil=True, fastmath=True, cache=True)")
    out = out.replace("prange(", "range(")
    for name in ("responses_f64", "responses_f32", "field"):
        out = out.replace(f"def {name}(", f"def {name}_serial(")
    return out


def _build_numba():
    """Import the numba kernels of :mod:`sidmft.theory._dmft_lanes` (compiled on first call)."""
    if "field" in _compiled:
        return _compiled
    from . import _dmft_lanes as lanes

    if (lanes.LANES_BY_DTYPE, lanes.TAU_BLOCK, lanes.NCHUNK) != (LANES_BY_DTYPE, TAU_BLOCK, NCHUNK):
        raise RuntimeError("sidmft/theory/_dmft_lanes.py is stale: regenerate it with "
                           "sidmft.theory._dmft_kernels.generate_lanes_module()")  # pragma: no cover
    for name in ("responses_f64", "responses_f32", "field"):
        _compiled[name] = getattr(lanes, name)
        _compiled[name + "_serial"] = getattr(lanes, name + "_serial")
    return _compiled


def numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover
        return False
    return True


def set_threads(threads):
    if threads is not None:
        import numba

        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


def responses_numba(t, H, G, RT, z, gS, spec, M, serial=False):
    """Numba version of :func:`responses_numpy`.  H, G (and RT) are float32 or float64, with a
    number of columns that is a multiple of the lane count (padding columns are all zero and
    contribute nothing); ``M`` is the number of real paths."""
    ks = _build_numba()
    sfx = "f32" if H.dtype == np.float32 else "f64"
    if H.shape[1] % LANES_BY_DTYPE[sfx]:
        raise ValueError("path arrays must be padded to a multiple of the lane count")
    out_r = np.zeros(t + 2)
    out_g = np.zeros(t + 3)
    is_spec = spec is not None
    empty = np.zeros(1)
    if is_spec:
        RS, dgS, B0 = spec
        RS = np.ascontiguousarray(RS, dtype=np.float64)
        gSa = gS
    else:
        RS = dgS = B0 = gSa = empty
    f = ks["responses_" + sfx + ("_serial" if serial else "")]
    args = (t, H, G, RT, is_spec, RS, dgS, B0, gSa, z, out_r, out_g)
    if not f.signatures:
        with _slp_flags():      # first call compiles (or loads numba's cache) with SLP on, loop-vect off
            f(*args)
    else:
        f(*args)
    return out_r / M, out_g[: t + 2] / M, out_g[t + 2] / M


@njit(cache=True)
def _chol_row(L, b, j, tol):
    row = np.zeros(j + 1)
    for k in range(j):
        if L[k, k] > 0.0:
            s = b[k]
            for i in range(k):
                s -= L[k, i] * row[i]
            row[k] = s / L[k, k]
    # one step of iterative refinement (the factor is ill-conditioned as GD converges)
    corr = np.zeros(j)
    for k in range(j):
        if L[k, k] > 0.0:
            s = b[k]
            for i in range(k + 1):
                s -= L[k, i] * row[i]
            for i in range(k):
                s -= L[k, i] * corr[i]
            corr[k] = s / L[k, k]
    schur = b[j]
    for k in range(j):
        row[k] += corr[k]
        schur -= row[k] * row[k]
    scale = max(b[j], 1e-300)
    row[j] = np.sqrt(schur) if schur > tol * scale else 0.0
    for k in range(j + 1):
        L[j, k] = row[k]
    return schur / scale


def chol_row(L, b, j, tol):
    """Row j of the incremental Cholesky factor of the Gaussian inputs (THEORY.md §4.1 3a).

    Forward substitution that skips zero pivots (degenerate directions: minimum-norm
    least-squares row), one step of iterative refinement, diagonal sqrt(Schur complement) or 0
    when the relative Schur complement is below ``tol`` (negative ones included).  Returns the
    relative Schur complement before clipping."""
    return _chol_row(L, b, j, tol)


def warmup(precision="float64", serial=False):
    """Compile / load the numba kernels for ``precision`` in the calling thread (before threads use them)."""
    key = ("warm", precision, serial)
    if key in _compiled:
        return
    dt = np.float32 if precision == "float32" else np.float64
    L = LANES_BY_DTYPE["f32" if dt == np.float32 else "f64"]
    t, M = 2, L
    H = np.ones((t + 1, M), dtype=dt)
    G = np.ones((t + 1, M), dtype=dt)
    RT = np.zeros((t + 2, t + 2), dtype=dt)
    z = np.zeros(M)
    kern = "numba-serial" if serial else "numba"
    responses_and_gram(t, H, G, RT.T, RT, z, None, None, M, kern)
    responses_and_gram(t, H, G, RT.T, RT, z, np.zeros(M), (np.zeros(t + 1), np.zeros(M), np.zeros(M)), M, kern)
    field(np.ones(2), np.ones((2, M), dtype=dt), np.ones(t), G, 0.0, None, t, kern)
    field(np.ones(2), np.ones((2, M), dtype=dt), np.ones(t), G, 0.5, np.zeros(M), t, kern)
    _compiled[key] = True
