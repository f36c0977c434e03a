"""Reading any user image for translation, writing PNGs, and input | output | target grids."""

from __future__ import annotations

import logging
import os

import numpy as np
import tensorflow as tf

from tfcreative.files import write_bytes_atomically

logger = logging.getLogger(__name__)


def read_image(path: str) -> np.ndarray:
    """Any PNG/JPEG/BMP/GIF -> float32 RGB in [0, 1], shape [h, w, 3].

    Grey images are repeated to RGB; RGBA is composited over white (transparent areas become
    white, as they look in a viewer); 16-bit PNGs keep their precision until the model sees
    them. Unreadable files raise ValueError naming the file.
    """
    try:
        data = tf.io.read_file(path)
        if tf.io.is_jpeg(data):
            image = tf.io.decode_jpeg(data)
        else:
            image = tf.io.decode_image(data, dtype=tf.uint16 if _is_png16(data) else tf.uint8,
                                       expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as error:
        raise ValueError(f"{path}: not a readable image ({error.message.splitlines()[0]})") \
            from None
    scale = 65535.0 if image.dtype == tf.uint16 else 255.0
    pixels = image.numpy().astype(np.float32) / scale
    channels = pixels.shape[-1]
    if channels in (1, 2):  # grey, grey + alpha
        pixels = np.concatenate([np.repeat(pixels[..., :1], 3, axis=-1), pixels[..., 1:]], -1)
    if pixels.shape[-1] == 4:
        alpha = pixels[..., 3:]
        pixels = pixels[..., :3] * alpha + (1.0 - alpha)
        logger.info("%s: alpha channel composited over white", path)
    return pixels


def _is_png16(data) -> bool:
    raw = data.numpy()
    # PNG signature, IHDR chunk; bit depth is byte 24.
    return raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > 24 and raw[24] == 16


def to_uint8(image) -> np.ndarray:
    """[-1, 1] floats -> uint8."""
    return np.clip(np.round((np.asarray(image) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def write_png(path: str, image_uint8: np.ndarray) -> None:
    """Writes the image as a PNG file, whole or not at all (its folder made if need be)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_bytes_atomically(path, tf.io.encode_png(image_uint8).numpy())


def make_grid(inputs, outputs, targets) -> np.ndarray:
    """One row per example: input | output | target, uint8 [rows*h, 3*w, 3]."""
    rows = [np.concatenate([to_uint8(a), to_uint8(b), to_uint8(c)], axis=1)
            for a, b, c in zip(inputs, outputs, targets, strict=True)]
    return np.concatenate(rows, axis=0)
