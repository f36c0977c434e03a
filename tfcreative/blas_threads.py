"""NumPy's OpenBLAS on one thread, for the NumPy inference paths that replace TensorFlow
(music's LSTM, pix2pix's U-Net).

Their products are small or mid-sized ([tunes, 512] by [512, 2048]; a 256 px U-Net's
convolutions, 0.3 GFLOP in all), and on a busy 2-core machine two threads measured several
times slower than one: 4-6x for the LSTM's step (docs/benchmarks.md), 0.06 s against 0.2-0.6 s
for the synthetic_facades generator. Two ways, as NumPy is or is not loaded yet:
`use_one_blas_thread` (the command line, before NumPy loads) sets OPENBLAS_NUM_THREADS, which
OpenBLAS reads when it loads; a user's own setting wins. `one_blas_thread` (a notebook, a
process with TensorFlow: NumPy loaded long before) sets OpenBLAS's thread-local count
(`openblas_set_num_threads_local`, OpenBLAS 0.3.27 and later, as NumPy 2 wheels bundle it) for
the calling thread inside a block and puts it back after; where NumPy's BLAS is another
library or older, it does nothing.
"""


from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import sys


def use_one_blas_thread() -> None:
    """One OpenBLAS thread for the process, if NumPy has not loaded yet (else nothing)."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


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
