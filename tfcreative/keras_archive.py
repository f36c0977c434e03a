"""A .keras archive read without Keras (so without importing TensorFlow): which file a path
names (a .keras file, or a finished run directory's model.keras), its config.json, and the
arrays of its model.weights.h5 by their path in that file, read with h5py (as Keras writes
them; Keras depends on it).

Keras's loader (`tfcreative.saving.load_keras_model`) is the one that checks an archive and
says what is wrong with it: what cannot be read here is an InvalidArgument about "path", on
which a caller loads the archive with Keras instead.
"""

from __future__ import annotations

import io
import json
import os
import zipfile

from tfcreative.config import RUN_MODEL
from tfcreative.errors import InvalidArgument

CONFIG = "config.json"
WEIGHTS = "model.weights.h5"


def is_run_directory(path: str) -> bool:
    """A finished run directory: a folder holding the run's model.keras."""
    return os.path.isfile(os.path.join(os.path.expanduser(path), RUN_MODEL))


def archive_path(path: str) -> str | None:
    """The .keras file `path` names: itself, or a run directory's model.keras; None if it
    names neither."""
    path = os.path.expanduser(path)
    if is_run_directory(path):
        return os.path.join(path, RUN_MODEL)
    return path if path.endswith(".keras") and os.path.isfile(path) else None


def read_config(archive: str) -> dict:
    """The archive's config.json (Keras's serialized model: class_name, config, ...)."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            config = json.loads(zipped.read(CONFIG))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise InvalidArgument("path", f"{archive}: no readable {CONFIG} ({error})") from None
    if not isinstance(config, dict):
        raise InvalidArgument("path", f"{archive}: {CONFIG} is not a serialized model")
    return config


def read_weights(archive: str) -> dict:
    """Every array of the archive's model.weights.h5, by its path there (e.g.
    "layers/dense/vars/0"), as stored."""
    import h5py  # here: reading a config needs neither h5py nor NumPy

    try:
        with zipfile.ZipFile(archive) as zipped:
            data = zipped.read(WEIGHTS)
        arrays = {}
        with h5py.File(io.BytesIO(data), "r") as weights:
            weights.visititems(lambda name, item: arrays.update(
                {name: item[()]} if isinstance(item, h5py.Dataset) else {}))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise InvalidArgument("path", f"{archive}: no readable {WEIGHTS} ({error})") from None
    return arrays


def dtype_policy(config: dict) -> str | None:
    """The dtype policy's name in a serialized Keras object's config ("float32",
    "mixed_bfloat16"; a DTypePolicy written out or its bare name), None if it has none."""
    dtype = config.get("dtype") if isinstance(config, dict) else None
    return dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
