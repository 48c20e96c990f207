"""Generator of the register-blocked micro-kernel of the complex reverse sweep (:mod:`._generated.complex_lanes`).

Run ``python -m sidmft.theory.dmft._complex_kernels_gen`` to rewrite the generated module (``--check``: exit 1 if
it is out of date).  The micro-kernel accumulates, for one row tau, the LANES x 4 sums
sum_{s = s_lo..t} R(s, tau) nu[s] over the four real components of nu (Re nu0, Im nu0, Re nu1, Im nu1) of LANES
paths in explicit scalar accumulators, so LLVM's SLP vectoriser keeps them in SIMD registers (a loop over a
heap array did not: measured 2.3 against 3.6 GFMA/s in float64).
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["generate", "lanes_path", "main", "LANES"]

LANES = 16
WIDTH = 4 * LANES


def generate() -> str:
    """Source text of :mod:`sidmft.theory.dmft._generated.complex_lanes`."""
    names = [f"a{k}_{lane}" for k in range(4) for lane in range(LANES)]
    out = [
        '"""Micro-kernel of the complex DMFT reverse sweep.',
        "",
        "GENERATED FILE -- do not edit by hand.  Edit sidmft/theory/dmft/_complex_kernels_gen.py, then",
        "regenerate with::",
        "",
        "    python -m sidmft.theory.dmft._complex_kernels_gen",
        '"""',
        "",
        "from numba import njit",
        "",
        f"LANES = {LANES}",
        f"WIDTH = {WIDTH}",
        "",
        "",
        '@njit(fastmath=True, inline="always", cache=True)',
        "def micro(RT, nu, tau, t):",
        '    """Sums over s = tau + 1..t of RT[tau + 1, s] nu[s * WIDTH + q], q = component * LANES + lane."""',
    ]
    out += [f"    {n} = nu[0] * 0" for n in names]
    out += ["    for s in range(tau + 1, t + 1):", "        r = RT[tau + 1, s]", f"        b = s * {WIDTH}"]
    out += [f"        a{k}_{lane} += r * nu[b + {k * LANES + lane}]" for k in range(4) for lane in range(LANES)]
    out.append("    return (")
    out += [f"        {n}," for n in names]
    out.append("    )")
    return "\n".join(out) + "\n"


def lanes_path() -> Path:
    return Path(__file__).parent / "_generated" / "complex_lanes.py"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path, text = lanes_path(), generate()
    current = path.read_text() if path.exists() else None
    if "--check" in argv:
        if current != text:
            print(f"{path} is out of date: run python -m sidmft.theory.dmft._complex_kernels_gen", file=sys.stderr)
            return 1
        return 0
    if current != text:
        path.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
