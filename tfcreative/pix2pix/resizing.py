"""`tf.image.resize(images, size, antialias=True)` (bilinear) in NumPy, for translating
without TensorFlow (`translation_model`).

TensorFlow's rule (ScaleAndTranslate with its triangle kernel): output pixel x of a side
scaled by s = out / in samples the input at (x + 0.5) / s; with antialiasing the triangle is
widened to max(1 / s, 1) input pixels, so shrinking averages every input pixel under it. The
input pixels j whose centres fall within that reach get the weights max(0, 1 - |j + 0.5 -
sample| / width), normalised to sum to 1 (a span of 2 * ceil(width) + 1 pixels at most).
Here each side's spans and weights are computed in float32 as TensorFlow computes them and
summed span pixel by span pixel, the width first, then the height, as TensorFlow resizes
its columns first. The products sum in another order than TensorFlow's loops:
`tests/test_translation_model.py` measures the difference.
"""

from __future__ import annotations

import numpy as np


def resize_spans(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """Each output pixel's span of a side of `size` input pixels scaled to `out`, as
    TensorFlow computes it: ([out, span] indices of input pixels, [out, span] float32
    weights summing to 1; a span's pixels past its end repeat its start with weight 0)."""
    inverse_scale = np.float32(1) / (np.float32(out) / np.float32(size))  # as TensorFlow
    width = max(inverse_scale, np.float32(1))  # the triangle's reach, in input pixels
    span = min(2 * int(np.ceil(width)) + 1, size)
    samples = (np.arange(out, dtype=np.float32) + np.float32(0.5)) * inverse_scale
    starts = np.clip(np.ceil(samples - width - np.float32(0.5)), 0, size - 1).astype(np.int64)
    ends = np.clip(np.floor(samples + width - np.float32(0.5)), 0, size - 1).astype(np.int64) + 1
    sources = starts[:, None] + np.arange(span)[None, :]
    inside = sources < ends[:, None]
    distance = np.abs(sources.astype(np.float32) + np.float32(0.5) - samples[:, None]) \
        * (np.float32(1) / width)
    weights = np.where(inside, np.maximum(np.float32(0), np.float32(1) - distance),
                       np.float32(0))
    totals = weights.sum(axis=1, keepdims=True, dtype=np.float32)
    weights = weights * (np.float32(1) / np.where(totals > 0, totals, np.float32(1)))
    return np.where(inside, sources, starts[:, None]), weights.astype(np.float32)


def _resize_axis(images: np.ndarray, axis: int, out: int) -> np.ndarray:
    """One side of [b, h, w, c] resized to `out` pixels (axis 1: height, 2: width)."""
    sources, weights = resize_spans(images.shape[axis], out)
    shape = [1, 1, 1, 1]
    shape[axis] = out
    result = np.zeros(images.shape[:axis] + (out,) + images.shape[axis + 1:], np.float32)
    for k in range(sources.shape[1]):
        result += np.take(images, sources[:, k], axis=axis) * weights[:, k].reshape(shape)
    return result


def resize(images, size) -> np.ndarray:
    """[b, h, w, c] -> [b, size[0], size[1], c] float32, as tf.image.resize(images, size,
    antialias=True)."""
    images = np.asarray(images, np.float32)
    height, width = int(size[0]), int(size[1])
    if images.shape[1:3] == (height, width):
        return images  # tf.image.resize returns an image of the size asked as it is
    return _resize_axis(_resize_axis(images, 2, width), 1, height)
