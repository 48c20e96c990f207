"""Generated numba kernels of the DMFT (written by :mod:`sidmft.theory.dmft._kernels_gen`; do not edit)."""
