"""What a stored model is checked for as it loads, however it was stored (a .keras file, a run
directory, a preset): it fits in memory, and its weights are finite and (for a preset, whose
arrays are stored by name) have distinct names. Each failure is one line naming the file (and
the weight)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable

import keras
import numpy as np
import tensorflow as tf

from tfcreative.errors import InvalidArgument

_SHAPE = re.compile(r"shape\s*\[([0-9, ]+)\]")


@contextlib.contextmanager
def fitting_in_memory(argument: str, subject: str,
                      advice: str = "is its config edited or damaged?"):
    """Turns a model too large to build (TensorFlow's ResourceExhaustedError, a MemoryError),
    e.g. from a config edited to `lstm_units: 1e9`, into one line: `subject` (what describes
    the model: a file, the settings) does not fit in memory, and `advice`."""
    try:
        yield
    except (tf.errors.ResourceExhaustedError, MemoryError) as error:
        shape = _SHAPE.search(str(error))
        sizes = ", ".join(shape.group(1).replace(" ", "").split(",")) if shape else ""
        what = f" (a weight of shape [{sizes}] alone)" if shape else ""
        raise InvalidArgument(argument, f"{subject} does not fit in memory{what}: "
                                        f"{advice}") from None


def weights_by_path(model: keras.Model, argument: str) -> dict[str, keras.Variable]:
    """The model's weights by their Keras path (`variable.path`, e.g.
    "music_lstm/lstm_0/lstm_cell/kernel"); two weights of one path are an InvalidArgument."""
    found = {}
    for variable in model.weights:
        if found.get(variable.path, variable) is not variable:
            raise InvalidArgument(argument, f"two weights share the path {variable.path!r}: "
                                            "give their layers distinct names")
        found[variable.path] = variable
    return found


def check_finite(weights: Iterable[tuple[str, np.ndarray | keras.Variable]], argument: str,
                 path: str) -> None:
    """Refuses a weight holding NaN or Inf, by its name and the file it came from (a model
    with one only ever generates noise). weights: (name, value) pairs, e.g.
    `((v.path, v) for v in model.weights)`."""
    for name, value in weights:
        if not np.isfinite(np.asarray(value)).all():
            raise InvalidArgument(argument, f"{path}: weight {name} holds NaN or Inf values (a "
                                            "diverged or damaged model)")
