"""Optional array backends for the simulator's gradient-descent loop (numpy/numba is the default)."""
