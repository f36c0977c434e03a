"""NumPy's OpenBLAS on one thread, for the NumPy inference paths that replace TensorFlow at the
command line (music's LSTM, pix2pix's U-Net).

Their products are small or mid-sized ([tunes, 512] by [512, 2048]; a 256 px U-Net's
convolutions, 0.3 GFLOP in all), and on a busy 2-core machine two threads measured several
times slower than one: 4-6x for the LSTM's step (docs/benchmarks.md), 0.06 s against 0.2-0.6 s
for the synthetic_facades generator. OpenBLAS reads the setting when NumPy loads, so it is set
only before that; a user's own setting wins.
"""

from __future__ import annotations

import os
import sys


def use_one_blas_thread() -> None:
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
