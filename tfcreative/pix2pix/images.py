"""Reading any user image for translation, writing PNGs, and image grids (input | output | ...).

8-bit and palette PNGs are decoded by Pillow, which gives the same pixels as TensorFlow's
decoder for them (`tests/test_translation_model.py`) and loads in a fraction of its time, so
`translate`'s NumPy path needs no TensorFlow; JPEGs (TensorFlow's fast integer DCT, which
Pillow does not offer: up to 18 levels apart from Pillow's accurate one), 16-bit PNGs (Pillow
reads them as 8 bits), GIF, BMP and anything else are decoded by TensorFlow. PNGs are written
by Pillow.
"""

from __future__ import annotations

import io
import logging
import os
import warnings

import numpy as np

from tfcreative.errors import InvalidArgument
from tfcreative.files import write_bytes_atomically

logger = logging.getLogger(__name__)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PILLOW_MODES = {"L": "L", "LA": "LA", "RGB": "RGB", "RGBA": "RGBA", "P": "RGB"}  # -> as TF's


def read_image(path: str) -> np.ndarray:
    """Any PNG/JPEG/BMP/GIF -> float32 RGB in [0, 1], shape [h, w, 3].

    Grey images are repeated to RGB; RGBA is composited over white (transparent areas become
    white, as they look in a viewer); 16-bit PNGs keep their precision until the model sees
    them. Unreadable files raise InvalidArgument (a ValueError) naming the file.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        raise InvalidArgument("path", f"{path}: not a readable image ({error.strerror})") \
            from None
    image = _decoded_by_pillow(data, path) if _is_png8(data) else _decoded_by_tf(data, path)
    scale = 65535.0 if image.dtype == np.uint16 else 255.0
    pixels = image.astype(np.float32) / scale
    channels = pixels.shape[-1]
    if channels in (1, 2):  # grey, grey + alpha
        pixels = np.concatenate([np.repeat(pixels[..., :1], 3, axis=-1), pixels[..., 1:]], -1)
    if pixels.shape[-1] == 4:
        alpha = pixels[..., 3:]
        pixels = pixels[..., :3] * alpha + (1.0 - alpha)
        logger.info("%s: alpha channel composited over white", path)
    return pixels


def _is_png8(data: bytes) -> bool:
    """A PNG of 8-bit samples or a palette (IHDR: bit depth at byte 24, colour type at 25)."""
    return data[:8] == PNG_SIGNATURE and len(data) > 25 and (data[24] == 8 or data[25] == 3)


def _decoded_by_pillow(data: bytes, path: str) -> np.ndarray:
    """[h, w, channels] uint8, as tf.io.decode_png gives them: palettes expanded to RGB, or to
    RGBA where they have transparency; a grey or RGB image's transparent colour ignored."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():  # a large image is decoded, as TensorFlow would
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.mode not in PILLOW_MODES:
                    return _decoded_by_tf(data, path)
                wanted = PILLOW_MODES[image.mode]
                if image.mode == "P" and "transparency" in image.info:
                    wanted = "RGBA"
                pixels = np.asarray(image.convert(wanted) if wanted != image.mode else image)
    except Image.DecompressionBombError:  # beyond Pillow's size limit: TensorFlow has none
        return _decoded_by_tf(data, path)
    except (OSError, ValueError, SyntaxError, UnidentifiedImageError) as error:
        raise InvalidArgument("path", f"{path}: not a readable image ({error})") from None
    return pixels[..., None] if pixels.ndim == 2 else pixels


def _decoded_by_tf(data: bytes, path: str) -> np.ndarray:
    import tensorflow as tf

    try:
        if tf.io.is_jpeg(data):
            image = tf.io.decode_jpeg(data)
        else:
            image = tf.io.decode_image(data, dtype=tf.uint16 if _is_png16(data) else tf.uint8,
                                       expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as error:
        raise InvalidArgument("path", f"{path}: not a readable image "
                                      f"({error.message.splitlines()[0]})") from None
    return image.numpy()


def _is_png16(data: bytes) -> bool:
    # PNG signature, IHDR chunk; bit depth is byte 24.
    return data[:8] == PNG_SIGNATURE and len(data) > 24 and data[24] == 16


def to_uint8(image) -> np.ndarray:
    """[-1, 1] floats -> uint8."""
    return np.clip(np.round((np.asarray(image) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def write_png(path: str, image_uint8: np.ndarray) -> None:
    """Writes the image as a PNG file, whole or not at all (its folder made if need be)."""
    from PIL import Image

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    png = io.BytesIO()
    Image.fromarray(np.asarray(image_uint8, np.uint8)).save(png, "PNG")
    write_bytes_atomically(path, png.getvalue())


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
