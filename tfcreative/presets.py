"""Trained models shipped with the package, loaded by name (keras-hub's `from_preset`).

A preset is a folder: `config.json` (the Keras model config), `weights.npz` (every weight in
model order, stored as float16 or float32), `metadata.json` (class, description, how it was
trained and how it scores) and, for the demo page, `tfjs/` (its TF.js graph model). The
shipped ones live in `tfcreative/presets/<name>/`; `experiments/presets.py` trains and writes
them. Any folder of this layout loads too, so you can make your own with `save_preset`.

    model = MusicLSTM.from_preset("folk")        # or tfcreative.presets.load_preset("folk")
    tfcreative music generate --model folk       # the CLI takes preset names for --model
"""

from __future__ import annotations

import importlib.resources
import json
import os

import keras
import numpy as np

from tfcreative.errors import ArgumentPathNotFound, InvalidArgument
from tfcreative.files import folder_written_whole

METADATA, CONFIG, WEIGHTS, TFJS = "metadata.json", "config.json", "weights.npz", "tfjs"
PRECISIONS = ("float16", "float32")


def presets_dir() -> str:
    return str(importlib.resources.files("tfcreative") / "presets")


def list_presets() -> dict[str, dict]:
    """Name -> metadata of every preset shipped in the package."""
    root = presets_dir()
    found = {}
    if os.path.isdir(root):
        for name in sorted(os.listdir(root)):
            path = os.path.join(root, name, METADATA)
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as f:
                    found[name] = json.load(f)
    return found


def is_preset(preset: str) -> bool:
    """A shipped preset's name, or a folder holding a preset."""
    return preset in list_presets() or os.path.isfile(os.path.join(preset, METADATA))


def preset_folder(preset: str) -> str:
    if preset in list_presets():
        return os.path.join(presets_dir(), preset)
    if os.path.isfile(os.path.join(os.path.expanduser(preset), METADATA)):
        return os.path.expanduser(preset)
    names = ", ".join(list_presets()) or "none are installed"
    raise ArgumentPathNotFound("preset", f"{preset!r}: no such preset (shipped: {names}) and no "
                                         f"preset folder ({METADATA}, {CONFIG}, {WEIGHTS})")


def read_metadata(preset: str) -> dict:
    with open(os.path.join(preset_folder(preset), METADATA), encoding="utf-8") as f:
        return json.load(f)


def load_preset(preset: str, expected: type | None = None) -> keras.Model:
    """The model of a preset (a shipped name or a folder), weights in float32, uncompiled.

    expected: the model class the preset must hold (a wrong one is an InvalidArgument)."""
    folder = preset_folder(preset)
    metadata = read_metadata(preset)
    if expected is not None and metadata["class"] != expected.__name__:
        raise InvalidArgument("preset", f"{preset!r} holds a {metadata['class']} model, not a "
                                        f"{expected.__name__}")
    # Importing tfcreative (this module's package) registered the model classes with Keras.
    with open(os.path.join(folder, CONFIG), encoding="utf-8") as f:
        model = keras.saving.deserialize_keras_object(json.load(f))
    with np.load(os.path.join(folder, WEIGHTS)) as stored:
        values = [stored[f"w{i}"] for i in range(len(stored.files))]
    if len(values) != len(model.weights):
        raise InvalidArgument("preset", f"{folder}: {len(values)} stored weights for a model "
                                        f"of {len(model.weights)}")
    model.set_weights([v.astype(w.dtype) for v, w in zip(values, model.weights, strict=True)])
    return model


def save_preset(model: keras.Model, folder: str, description: str,
                precision: str = "float16", **metadata) -> str:
    """Writes `model` as a preset folder (whole or not at all); `metadata`: anything worth
    keeping with it (the recipe, the evaluation)."""
    if precision not in PRECISIONS:
        raise InvalidArgument("precision", f"expected one of {PRECISIONS}, got {precision!r}")
    folder = os.path.abspath(folder)
    with folder_written_whole(folder, replace=True) as scratch:
        with open(os.path.join(scratch, CONFIG), "w", encoding="utf-8") as f:
            json.dump(keras.saving.serialize_keras_object(model), f)
        np.savez_compressed(os.path.join(scratch, WEIGHTS), **{
            f"w{i}": np.asarray(w, np.float16 if precision == "float16" else np.float32)
            for i, w in enumerate(model.get_weights())})
        with open(os.path.join(scratch, METADATA), "w", encoding="utf-8") as f:
            json.dump({"class": type(model).__name__, "description": description,
                       "precision": precision, **metadata}, f, indent=2)
    return folder
