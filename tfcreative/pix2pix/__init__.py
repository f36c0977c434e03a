"""Pix2Pix image-to-image translation (Isola et al. 2017): U-Net generator, PatchGAN
discriminator and a `keras.Model` whose `train_step` trains both. Names import lazily, so a
piece loads only what it needs (the command line's --help no TensorFlow)."""

import importlib

_LAZY = {
    "Pix2Pix": "tfcreative.pix2pix.model",
    "unet_generator": "tfcreative.pix2pix.networks",
    "patchgan_discriminator": "tfcreative.pix2pix.networks",
    "Pix2PixTrainConfig": "tfcreative.pix2pix.config",
    "train": "tfcreative.pix2pix.training",
    "fcn_scores": "tfcreative.pix2pix.fcn_score",
    "show_translations": "tfcreative.pix2pix.display",
    "translation_grid": "tfcreative.pix2pix.display",
}

__all__ = [*_LAZY, "load_model"]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tfcreative.pix2pix' has no attribute {name!r}")


def load_model(path: str):
    """Loads a Pix2Pix model from a .keras file or a run directory (its model.keras)."""
    from tfcreative.pix2pix.model import Pix2Pix
    from tfcreative.saving import load_model_of_type

    return load_model_of_type(path, Pix2Pix)
