"""NumPy's OpenBLAS on one thread for the calling thread, for the NumPy LSTM's small products.

The step's products ([tunes, 512] by [512, 2048] float32) measured 4-6x slower on two OpenBLAS
threads than on one on a busy 2-core machine (docs/benchmarks.md); in a process that imported
NumPy already (a notebook, TensorFlow) OPENBLAS_NUM_THREADS is read too late, so
`one_blas_thread` sets OpenBLAS's thread-local count (`openblas_set_num_threads_local`,
OpenBLAS 0.3.27 and later, as NumPy 2 wheels bundle it) and puts it back after. Where NumPy's
BLAS is another library or older, it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os

_SET_LOCAL: list = []  # [the C function or None], looked up once


def _set_threads_local():
    if not _SET_LOCAL:
        import numpy

        found = None
        libs = os.path.join(os.path.dirname(os.path.dirname(numpy.__file__)), "numpy.libs")
        for path in sorted(glob.glob(os.path.join(libs, "*openblas*"))):
            try:
                found = ctypes.CDLL(path).openblas_set_num_threads_local
            except (OSError, AttributeError):
                continue
            found.argtypes, found.restype = [ctypes.c_int], ctypes.c_int
            break
        _SET_LOCAL.append(found)
    return _SET_LOCAL[0]


@contextlib.contextmanager
def one_blas_thread():
    """NumPy's matrix products on the calling thread alone inside the block."""
    set_local = _set_threads_local()
    if set_local is None:
        yield
        return
    previous = set_local(1)
    try:
        yield
    finally:
        set_local(previous)
