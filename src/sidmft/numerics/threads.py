"""Thread-count contexts for numba kernels and BLAS.

Time-stepping loops run with one BLAS thread (small multi-threaded BLAS calls can stall for
milliseconds); parallel work uses separate processes or numba's own threads.  Results never depend
on the thread count: kernels reduce fixed chunks in a fixed order.
"""

from __future__ import annotations

import contextlib

__all__ = ["numba_threads", "single_thread"]


@contextlib.contextmanager
def numba_threads(threads):
    """Run the enclosed numba kernels with ``threads`` threads (``None``: leave as is); restored on exit."""
    if threads is None:
        yield
        return
    import numba

    threads = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    old = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(old)


@contextlib.contextmanager
def single_thread():
    """One BLAS thread (threadpoolctl) and one numba thread for the enclosed block."""
    from threadpoolctl import threadpool_limits

    with numba_threads(1), threadpool_limits(1):
        yield
