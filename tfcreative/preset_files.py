"""A preset's folder on disk, without Keras: where the shipped presets live, the files of one
(metadata.json, config.json, weights.npz, tfjs/), their checksums and the stored arrays.

`tfcreative.presets` builds Keras models from these folders; commands that need only the files
(`serve`: the TF.js models; `music generate`'s NumPy path: the weights) read them from here and
load no TensorFlow.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import os
import zipfile

from tfcreative.config import RUN_MODEL
from tfcreative.errors import ArgumentPathNotFound, InvalidArgument, WrongModelType
from tfcreative.files import sha256

METADATA, CONFIG, WEIGHTS, TFJS = "metadata.json", "config.json", "weights.npz", "tfjs"
CHECKSUMMED = (CONFIG, WEIGHTS)  # the files whose sha256 metadata.json records


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


def names_a_preset(path: str) -> bool:
    """A preset's name or folder, and not a .keras file or (finished) run directory of that
    name: what the loaders (`saving`, the command line's --model) take it for."""
    return is_preset(path) and not os.path.isfile(path) and \
        not os.path.isfile(os.path.join(os.path.expanduser(path), RUN_MODEL))


@contextlib.contextmanager
def preset_errors_about(argument: str):
    """A preset's errors (InvalidArgument about "preset") as errors about the loader's
    `argument`, which named it (`path`: the CLI's --model)."""
    try:
        yield
    except InvalidArgument as error:
        if error.argument != "preset":
            raise
        raise error.about(argument) from None


def preset_folder(preset: str) -> str:
    if preset in list_presets():
        return os.path.join(presets_dir(), preset)
    if os.path.isfile(os.path.join(os.path.expanduser(preset), METADATA)):
        return os.path.expanduser(preset)
    names = ", ".join(list_presets()) or "none are installed"
    raise ArgumentPathNotFound("preset", f"{preset!r}: no such preset (shipped: {names}) and no "
                                         f"preset folder ({METADATA}, {CONFIG}, {WEIGHTS})")


def read_metadata(preset: str) -> dict:
    path = os.path.join(preset_folder(preset), METADATA)
    try:
        with open(path, encoding="utf-8") as f:
            metadata = json.load(f)
    except ValueError as error:  # not JSON, or not UTF-8
        raise InvalidArgument("preset", f"{path}: not valid JSON ({error})") from None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("class"), str):
        raise InvalidArgument("preset", f'{path}: expected a JSON object naming the model\'s '
                                        '"class"')
    return metadata


def check_checksums(folder: str, metadata: dict) -> None:
    """Each file of CHECKSUMMED has the sha256 metadata.json records for it."""
    recorded = metadata.get("sha256")
    if not isinstance(recorded, dict):
        raise InvalidArgument("preset", f"{os.path.join(folder, METADATA)}: records no sha256 of "
                                        f"{CONFIG} and {WEIGHTS} (a preset not written by "
                                        "tfcreative.presets.save_preset, or by an older one)")
    for name in CHECKSUMMED:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            raise ArgumentPathNotFound("preset", f"{path}: missing (a preset folder holds "
                                                 f"{METADATA}, {CONFIG} and {WEIGHTS})")
        if sha256(path) != recorded.get(name):
            raise InvalidArgument("preset", f"{path}: changed or damaged since the preset was "
                                            f"written (its sha256 is not the one {METADATA} "
                                            "records)")


def read_arrays(path: str) -> dict:
    """Weight path -> its array, as stored (float16 or float32)."""
    import numpy as np  # here: `serve` reads only the folders and needs no NumPy

    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise InvalidArgument("preset", f"{path}: not a readable .npz archive of arrays "
                                        f"({error})") from None


def read_model_files(preset: str, model_class: str) -> tuple[dict, dict]:
    """A preset's stored config (config.json: Keras's serialized model) and its arrays, the
    files checked as `presets.load_preset` checks them (the class, their sha256), without
    Keras: for the NumPy paths that run a preset without TensorFlow."""
    folder = preset_folder(preset)
    metadata = read_metadata(preset)
    if metadata["class"] != model_class:
        raise WrongModelType(preset, metadata["class"], model_class, argument="preset")
    check_checksums(folder, metadata)
    with open(os.path.join(folder, CONFIG), encoding="utf-8") as f:
        try:
            stored = json.load(f)
        except ValueError as error:
            raise InvalidArgument("preset", f"{f.name}: not JSON ({error})") from None
    return stored, read_arrays(os.path.join(folder, WEIGHTS))
