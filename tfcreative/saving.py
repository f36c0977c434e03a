"""Saving and loading models without ever leaving a half-written file behind."""

from __future__ import annotations

import json
import os
import re
import zipfile

import keras

from tfcreative import model_checks, presets
from tfcreative.config import RUN_MODEL, RUN_SETTINGS
from tfcreative.errors import ArgumentPathNotFound, InvalidArgument, WrongModelType
from tfcreative.files import file_written_whole
from tfcreative.preset_files import names_a_preset, preset_errors_about


def save_model_atomically(model: keras.Model, path: str) -> str:
    """Saves to a temporary file beside `path`, then renames it into place.

    A crash mid-save leaves the previous file (or nothing), never a truncated archive.
    """
    if not path.endswith(".keras"):
        raise ValueError(f"model path must end in .keras, got {path!r}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with file_written_whole(path) as temporary:  # ends in .keras too, as model.save wants
        model.save(temporary)
    return path


def resolve_model_path(path: str) -> str:
    """A .keras file, or a run directory holding model.keras; clear error otherwise."""
    path = os.path.expanduser(path)
    if os.path.isdir(path):
        candidate = os.path.join(path, RUN_MODEL)
        if not os.path.isfile(candidate):
            raise ArgumentPathNotFound(
                "path", f"{path}: directory has no model.keras (is it a finished run directory?)")
        return candidate
    if not os.path.isfile(path):
        names = ", ".join(presets.list_presets()) or "none installed"
        raise ArgumentPathNotFound("path", f"{path}: no such file, run directory or preset "
                                           f"(presets: {names})")
    if not path.endswith(".keras"):
        raise InvalidArgument("path", f"{path}: expected a .keras file or a run directory")
    return path


_UNKNOWN_CLASS = re.compile(r"Could not locate class '([^']+)'")


def _keras_reason(error: Exception, limit: int = 300) -> str:
    """Keras's message in one line of whole sentences: its lines joined, without the list of
    objects it may append, cut after a sentence if long (some end with a whole config)."""
    text = str(error).split("\n\nList of objects", 1)[0]
    reason = " ".join(line.strip() for line in text.splitlines() if line.strip())
    if len(reason) <= limit:
        return reason
    sentence_end = reason.rfind(". ", 0, limit)
    if sentence_end > 0:
        return reason[:sentence_end + 1]
    word_end = reason.rfind(" ", 0, limit)
    return reason[:word_end if word_end > 0 else limit] + " …"


def _load_archive(path: str) -> keras.Model:
    try:
        return keras.models.load_model(path)
    except TypeError as error:  # Keras's message ends with the whole model config
        unknown = _UNKNOWN_CLASS.search(str(error))
        what = f"class {unknown.group(1)!r}" if unknown else "its classes"
        raise InvalidArgument("path", f"{path}: Keras cannot rebuild {what}: not a tfcreative "
                                      "model, or saved by code that is not imported") from None
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as error:
        raise InvalidArgument("path", f"{path}: not a .keras file Keras can load "
                                      f"({_keras_reason(error)})") from None


def load_keras_model(path: str) -> keras.Model:
    """`keras.models.load_model` of a .keras file or run directory (or a preset: its name or
    folder, tfcreative.presets), with one-line errors: a file that is not a .keras archive (or
    is truncated), holds a class Keras cannot rebuild, a model too large for memory, or a
    weight that is NaN or Inf."""
    if names_a_preset(path):
        with preset_errors_about("path"):
            return presets.load_preset(path)
    path = resolve_model_path(path)
    if not zipfile.is_zipfile(path):
        raise InvalidArgument("path", f"{path}: not a valid .keras file (a .keras file is a zip "
                                      "archive; this one is not, or it is truncated)")
    with model_checks.fitting_in_memory("path", f"{path}: the model it describes"):
        model = _load_archive(path)
    model_checks.check_finite(((v.path, v) for v in model.weights), "path", path)
    return model


def recorded_settings(path: str) -> dict | None:
    """What a model was trained with, where that was recorded: for a run directory, its
    model.keras or a checkpoint in its checkpoints/ folder, the run's config.json (settings
    and data arguments); for a preset, its metadata's "data". None for anything else, e.g. a
    .keras file copied out of its run."""
    if names_a_preset(path):
        return presets.read_metadata(path).get("data")
    path = os.path.abspath(os.path.expanduser(path))
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    candidates = [folder]
    if os.path.basename(folder) == "checkpoints":
        candidates.append(os.path.dirname(folder))
    for run_dir in candidates:
        try:
            with open(os.path.join(run_dir, RUN_SETTINGS), encoding="utf-8") as f:
                settings = json.load(f)
        except (OSError, ValueError):  # none there, or not a run's record
            continue
        if isinstance(settings, dict):
            return settings
    return None


def load_model_of_type(path: str, model_class: type) -> keras.Model:
    """Loads a .keras file, run directory or preset and checks it holds a `model_class`."""
    if names_a_preset(path):  # its metadata names its class: checked before it is built
        with preset_errors_about("path"):
            return model_class.from_preset(path)  # compiled, as a loaded .keras model is
    model = load_keras_model(path)
    if not isinstance(model, model_class):
        raise WrongModelType(path, type(model).__name__, model_class.__name__)
    return model
