"""Reading any user image for translation, writing PNGs, and image grids (input | output | ...)."""

from __future__ import annotations

import logging
import os

import numpy as np
import tensorflow as tf

from tfcreative.errors import InvalidArgument
from tfcreative.files import write_bytes_atomically

logger = logging.getLogger(__name__)


def read_image(path: str) -> np.ndarray:
    """Any PNG/JPEG/BMP/GIF -> float32 RGB in [0, 1], shape [h, w, 3].

    Grey images are repeated to RGB; RGBA is composited over white (transparent areas become
    white, as they look in a viewer); 16-bit PNGs keep their precision until the model sees
    them. Unreadable files raise InvalidArgument (a ValueError) naming the file.
    """
    try:
        data = tf.io.read_file(path)
        if tf.io.is_jpeg(data):
            image = tf.io.decode_jpeg(data)
        else:
            image = tf.io.decode_image(data, dtype=tf.uint16 if _is_png16(data) else tf.uint8,
                                       expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as error:
        raise InvalidArgument("path", f"{path}: not a readable image "
                                      f"({error.message.splitlines()[0]})") from None
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


def as_uint8(images) -> np.ndarray:
    """uint8 images as they are; floats in [-1, 1] (the model's range) -> uint8."""
    array = np.asarray(images)
    return array if array.dtype == np.uint8 else to_uint8(array)


def image_grid(*columns) -> np.ndarray:
    """The one grid of the package: one row per example, one column per argument (e.g.
    input | output | target), each [n, h, w, 3] uint8 or floats in [-1, 1] -> uint8
    [n*h, columns*w, 3]. Every column has the same n and the same image size."""
    columns = [as_uint8(column) for column in columns]
    rows = [np.concatenate(row, axis=1) for row in zip(*columns, strict=True)]
    return np.concatenate(rows, axis=0)
