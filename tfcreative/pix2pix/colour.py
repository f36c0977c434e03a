"""Colorization in Lab: the output keeps the input's lightness and takes only its colour (Lab's
a and b) from the model, as junyanz's `colorization` mode predicts ab from L.

Measured (docs/pix2pix_photos.md, "Colorization: RGB or Lab"): on held-out photos this beats
the model's own RGB on L1, PSNR, SSIM and sharpness, with the same colour error, so a model
trained on `photos_grayscale` (`Pix2Pix.keep_lightness`) is run this way by `translate` and
`evaluate`. The `grayscale` transform's input is Lab's L as grey, which this puts back.
"""

from __future__ import annotations

import numpy as np

from tfcreative.pix2pix.images import to_uint8


def with_input_lightness(inputs, outputs) -> np.ndarray:
    """[b, h, w, 3] grey inputs (Lab L as grey) and colour outputs, floats in [-1, 1] ->
    the outputs with their Lab lightness replaced by the inputs', float32 in [-1, 1]."""
    from skimage.color import lab2rgb, rgb2lab

    lab = rgb2lab(to_uint8(outputs) / 255.0)
    lab[..., 0] = (np.asarray(inputs, np.float64)[..., 0] + 1.0) * 50.0
    return (lab2rgb(lab) * 2.0 - 1.0).astype(np.float32)


def lightness_kept(run):
    """`run` (a generator, or translate.compiled_generator) followed by with_input_lightness;
    called like it, and giving what it gives: a tensor, or a NumPy array (numpy_unet)."""
    def kept(x, training=None):
        output = run(x, training=False)
        colour = with_input_lightness(x, output)
        if isinstance(output, np.ndarray):
            return colour
        import tensorflow as tf

        return tf.constant(colour)
    return kept
