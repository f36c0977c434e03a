"""The model `tfcreative pix2pix translate` runs.

A preset's Pix2Pix runs in NumPy (`NumpyPix2Pix`: its generator in inference mode by
`numpy_unet`, images resized by `resizing`, tiles and lightness as the Keras path does them),
without importing TensorFlow, which took 4 of the command's 5 seconds; its outputs are the
Keras model's within float32 rounding (`tests/test_translation_model.py`). A .keras file, a
run directory, `paper_style` (dropout on, batch statistics: Keras's random numbers), or a
preset that cannot be run that way (layers or settings numpy_unet does not know, an edited or
damaged preset) loads with Keras, whose loader also says what is wrong with it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from tfcreative import preset_files
from tfcreative.blas_threads import use_one_blas_thread
from tfcreative.errors import InvalidArgument
from tfcreative.keras_archive import dtype_policy

if TYPE_CHECKING:  # NumPy loads only once its threads are set (load_for_translation)
    from tfcreative.pix2pix.numpy_unet import NumpyUNet

MODEL_CLASS = "Pix2Pix"


@dataclasses.dataclass(frozen=True)
class NumpyPix2Pix:
    """What translate reads of a Pix2Pix: its generator (here in NumPy) and how it was
    trained to be run (`Pix2Pix.tiling`, `keep_lightness`, `input_transform`)."""

    generator: NumpyUNet
    tiling: bool = False
    keep_lightness: bool = False
    input_transform: str | None = None

    @property
    def image_shape(self) -> tuple[int, int]:
        return int(self.generator.input_shape[1]), int(self.generator.input_shape[2])

    @classmethod
    def from_config(cls, stored: dict, arrays: dict) -> NumpyPix2Pix:
        """From a preset's config.json (Keras's serialized Pix2Pix) and its arrays."""
        from tfcreative.pix2pix.numpy_unet import NumpyUNet

        config = stored.get("config") if isinstance(stored, dict) else None
        generator = config.get("generator") if isinstance(config, dict) else None
        if stored.get("class_name") != MODEL_CLASS or dtype_policy(config) != "float32" \
                or not isinstance(generator, dict) \
                or generator.get("class_name") != "Functional":
            raise InvalidArgument("preset", "its config is not a float32 Pix2Pix's with a "
                                            "functional generator")
        return cls(NumpyUNet.from_config(generator.get("config"), arrays),
                   bool(config.get("tiling", False)), bool(config.get("keep_lightness", False)),
                   config.get("input_transform"))

    @classmethod
    def from_preset(cls, preset: str) -> NumpyPix2Pix:
        """A preset's Pix2Pix (a shipped name or a folder), its files checked as
        `presets.load_preset` checks them (class, sha256), without Keras."""
        stored, arrays = preset_files.read_model_files(preset, MODEL_CLASS)
        return cls.from_config(stored, arrays)


def runs_on_numpy(path: str, paper_style: bool = False) -> bool:
    """Whether `path` names a preset holding a Pix2Pix, to be run in inference mode (then
    `load_for_translation` reads it without TensorFlow, unless its generator turns out to be
    one numpy_unet does not run)."""
    if paper_style or not preset_files.names_a_preset(path):
        return False
    try:
        return preset_files.read_metadata(path)["class"] == MODEL_CLASS
    except (InvalidArgument, OSError):
        return False


def load_for_translation(path: str, paper_style: bool = False):
    """A preset's Pix2Pix in NumPy (`NumpyPix2Pix`) where `runs_on_numpy`, else the Keras
    Pix2Pix (`tfcreative.pix2pix.load_model`)."""
    if runs_on_numpy(path, paper_style):
        use_one_blas_thread()
        try:
            return NumpyPix2Pix.from_preset(path)
        except InvalidArgument:
            pass  # a generator numpy_unet does not run, or an edited or damaged preset
    from tfcreative.pix2pix import load_model

    return load_model(path)
