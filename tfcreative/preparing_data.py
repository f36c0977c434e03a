"""Preparing a TFDS data set without touching the seeded random state of the run."""

from __future__ import annotations

import contextlib
import random


@contextlib.contextmanager
def python_random_state_kept():
    """TFDS draws from Python's global `random` while it prepares a data set (names of its
    temporary folders), the generator keras.utils.set_random_seed seeds and Keras's unseeded
    initializers draw from: kept as it was, so a model built next starts from the same weights
    whether its data was prepared now or by an earlier run."""
    state = random.getstate()
    try:
        yield
    finally:
        random.setstate(state)
