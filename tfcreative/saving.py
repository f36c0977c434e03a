"""Saving and loading models without ever leaving a half-written file behind."""

from __future__ import annotations

import os
import tempfile

import keras

from tfcreative.errors import ArgumentPathNotFound, InvalidArgument


def save_model_atomically(model: keras.Model, path: str) -> str:
    """Saves to a temporary file beside `path`, then renames it into place.

    A crash mid-save leaves the previous file (or nothing), never a truncated archive.
    """
    if not path.endswith(".keras"):
        raise ValueError(f"model path must end in .keras, got {path!r}")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix=".tmp-", suffix=".keras", dir=directory)
    os.close(fd)
    try:
        model.save(tmp_path)
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise
    return path


def resolve_model_path(path: str) -> str:
    """A .keras file, or a run directory holding model.keras; clear error otherwise."""
    path = os.path.expanduser(path)
    if os.path.isdir(path):
        candidate = os.path.join(path, "model.keras")
        if not os.path.isfile(candidate):
            raise ArgumentPathNotFound(
                "path", f"{path}: directory has no model.keras (is it a finished run directory?)")
        return candidate
    if not os.path.isfile(path):
        raise ArgumentPathNotFound("path", f"{path}: no such file or run directory")
    if not path.endswith(".keras"):
        raise InvalidArgument("path", f"{path}: expected a .keras file or a run directory")
    return path


def load_model_of_type(path: str, model_class: type) -> keras.Model:
    """Loads a .keras file or run directory and checks it holds a `model_class`."""
    model = keras.models.load_model(resolve_model_path(path))
    if not isinstance(model, model_class):
        raise InvalidArgument("path", f"{path}: holds a {type(model).__name__}, not a "
                                      f"tfcreative {model_class.__name__}")
    return model
