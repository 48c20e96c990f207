"""Asymptotic theory (d -> infinity): ``spectral`` (init), ``dmft`` (trajectory), ``fixed_point`` (limit)."""
