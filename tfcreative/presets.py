"""Trained models shipped with the package, loaded by name (keras-hub's `from_preset`).

A preset is a folder:

- `config.json`: the model's Keras config;
- `weights.npz`: one array per weight, float16 or float32, named by the weight's Keras path
  (`variable.path`, e.g. "music_lstm/lstm_0/lstm_cell/kernel"). Loading matches them by name
  and checks each shape, so a model whose layers come in another order still gets its own
  weights, and a missing or misshapen one is named;
- `metadata.json`: the model's class, a description, the precision, the sha256 of
  `config.json` and `weights.npz` (checked on load: a file changed since is refused) and
  whatever was worth keeping with it (the recipe, the data, the evaluation);
- `tfjs/`, in the shipped presets: the TF.js graph model the demo page loads, written by
  `experiments/presets.py` (not covered by the checksums: loading a preset never reads it).

Not Keras's own `.weights.h5`: it stores float32 only (the shipped folders would double, past
their 10 MB budget) and matches the weights of each layer by position. The shipped presets
live in `tfcreative/presets/<name>/`; `experiments/presets.py` trains and writes them. Any
folder of this layout loads too, so you can make your own with `save_preset`.

    model = MusicLSTM.from_preset("folk")        # or tfcreative.presets.load_preset("folk")
    tfcreative music generate --model folk       # the CLI takes preset names for --model
"""

from __future__ import annotations

import json
import logging
import os

import keras
import numpy as np

from tfcreative import model_checks
from tfcreative.errors import InvalidArgument, WrongModelType
from tfcreative.files import file_written_whole, folder_written_whole, write_bytes_atomically
from tfcreative.preset_files import (  # noqa: F401  (the files' names: presets.CONFIG, ...)
    CHECKSUMMED,
    CONFIG,
    METADATA,
    TFJS,
    WEIGHTS,
    check_checksums,
    is_preset,
    list_presets,
    preset_folder,
    presets_dir,
    read_arrays,
    read_metadata,
    sha256,
)

PRECISIONS = ("float16", "float32")
# metadata.json's fields that save_preset writes itself
WRITTEN_BY_SAVE = ("class", "description", "precision", "sha256")

logger = logging.getLogger(__name__)


# -- loading ------------------------------------------------------------------------------

def load_preset(preset: str, expected: type | None = None) -> keras.Model:
    """The model of a preset (a shipped name or a folder), weights in float32, uncompiled.

    expected: the model class the preset must hold (another one is a WrongModelType)."""
    folder = preset_folder(preset)
    metadata = read_metadata(preset)
    if expected is not None and metadata["class"] != expected.__name__:
        raise WrongModelType(preset, metadata["class"], expected.__name__, argument="preset")
    check_checksums(folder, metadata)
    config_path, weights_path = os.path.join(folder, CONFIG), os.path.join(folder, WEIGHTS)
    with model_checks.fitting_in_memory("preset", f"{config_path}: the model it describes"):
        model = _build(config_path)
        _assign(model, read_arrays(weights_path), weights_path)
    return model


def _build(config_path: str) -> keras.Model:
    # Importing tfcreative (this module's package) registered the model classes with Keras.
    try:
        with open(config_path, encoding="utf-8") as f:
            return keras.saving.deserialize_keras_object(json.load(f))
    except (ValueError, TypeError, KeyError) as error:
        reason = str(error).split("\n", 1)[0][:300]
        raise InvalidArgument("preset", f"{config_path}: Keras cannot rebuild a model from it "
                                        f"({reason})") from None


def _assign(model: keras.Model, arrays: dict[str, np.ndarray], path: str) -> None:
    """Gives each weight of `model` the array of its path in `arrays`, read from `path`."""
    variables = model_checks.weights_by_path(model, "preset")
    missing = [name for name in variables if name not in arrays]
    unknown = [name for name in arrays if name not in variables]
    for names, what in ((missing, "no array for the model's weight"),
                        (unknown, f"an array for no weight of the model in {CONFIG}:")):
        if names:
            more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
            raise InvalidArgument("preset", f"{path}: {what} {names[0]}{more}; it holds "
                                            f"{len(arrays)} arrays, the model has "
                                            f"{len(variables)} weights")
    for name, variable in variables.items():
        if arrays[name].shape != tuple(variable.shape):
            raise InvalidArgument("preset", f"{path}: {name} has shape {arrays[name].shape}, "
                                            f"the model in {CONFIG} {tuple(variable.shape)}")
    model_checks.check_finite(arrays.items(), "preset", path)
    for name, variable in variables.items():
        variable.assign(arrays[name].astype(variable.dtype))


# -- saving -------------------------------------------------------------------------------

def check_writable(folder: str) -> None:
    """A preset may be written to a new or empty folder, or over a preset: never into a folder
    of other files (save_preset writes only its own files, and would mix them in)."""
    folder = os.path.expanduser(folder)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise InvalidArgument("folder", f"{folder}: exists and is not a folder")
    if os.path.isdir(folder) and os.listdir(folder) and \
            not os.path.isfile(os.path.join(folder, METADATA)):
        raise InvalidArgument("folder", f"{folder}: holds files and is not a preset (no "
                                        f"{METADATA}): choose a new or empty folder")


def save_preset(model: keras.Model, folder: str, description: str,
                precision: str = "float16", **metadata) -> str:
    """Writes `model` as a preset in `folder`: a new or empty folder, or over a preset. Only
    config.json, weights.npz and metadata.json are written, each whole (temp, then rename),
    metadata.json last with the others' sha256, so a crash midway leaves a preset that is
    refused on load, never one that loads wrong; nothing else in the folder is touched.
    metadata: anything worth keeping with it (the recipe, the evaluation)."""
    if precision not in PRECISIONS:
        raise InvalidArgument("precision", f"expected one of {PRECISIONS}, got {precision!r}")
    for key in WRITTEN_BY_SAVE:
        if key in metadata:
            raise InvalidArgument(key, "written by save_preset itself, not a metadata field")
    check_writable(folder)
    folder = os.path.abspath(os.path.expanduser(folder))
    record = {"class": type(model).__name__, "description": description,
              "precision": precision, **metadata}
    arrays = _stored_arrays(model, precision)
    if not os.path.exists(folder):  # then the folder appears whole
        with folder_written_whole(folder) as scratch:
            _write_files(scratch, model, arrays, record)
        return folder
    if os.path.isdir(os.path.join(folder, TFJS)):
        logger.warning("%s: left as it was (the TF.js model of the preset saved there before: "
                       "export this model's to replace it)", os.path.join(folder, TFJS))
    _write_files(folder, model, arrays, record)
    return folder


def _stored_arrays(model: keras.Model, precision: str) -> dict[str, np.ndarray]:
    """The model's weights by path, as stored at `precision`: each finite, or an error."""
    arrays = {}
    for name, variable in model_checks.weights_by_path(model, "model").items():
        value = np.asarray(variable)
        with np.errstate(over="ignore"):  # a value beyond float16's range: said below
            arrays[name] = value.astype(precision)
        if not np.isfinite(arrays[name]).all():
            problem = "holds NaN or Inf values" if not np.isfinite(value).all() else \
                f"has values beyond {precision}'s range: save with precision='float32'"
            raise InvalidArgument("model", f"weight {name} {problem}")
    return arrays


def _write_files(folder: str, model: keras.Model, arrays: dict, record: dict) -> None:
    with file_written_whole(os.path.join(folder, WEIGHTS)) as temporary:
        np.savez_compressed(temporary, **arrays)
    config = json.dumps(keras.saving.serialize_keras_object(model))
    write_bytes_atomically(os.path.join(folder, CONFIG), config.encode("utf-8"))
    record["sha256"] = {name: sha256(os.path.join(folder, name)) for name in CHECKSUMMED}
    write_bytes_atomically(os.path.join(folder, METADATA),
                           json.dumps(record, indent=2).encode("utf-8"))
