"""Images of any size through a generator of one size: overlapping tiles, blended seams.

The rule, exact in integers so that a page's JavaScript can mirror it pixel for pixel:

* Tiles are the model's size, S (height and width separately). Along a side of L pixels with
  overlap O = S // OVERLAP_DIVISOR: if L <= S, one tile at 0 (the image is first padded to S by
  repeating its last row / column, and the output cropped back); else n = ceil((L - O) / (S - O))
  tiles starting at floor(i * (L - S) / (n - 1)), i = 0 .. n - 1: the first at 0, the last
  ending at L, neighbours overlapping by at least O.
* Each tile's output pixel (y, x) has the weight w_H(y) * w_W(x), with
  w(t) = min(1, (t + 1) / (O + 1), (S - t) / (O + 1)): 1 in the middle, falling linearly over
  the O pixels at each edge, never 0. Every output pixel is the weighted mean of the tiles over
  it, so a seam fades across the whole overlap.

`translate_fully_convolutional` runs the U-Net once on the whole image instead (padded to a
multiple of its 2^depth); docs/pix2pix_photos.md measures both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # Keras loads only where a Keras model is cloned or run
    import keras

OVERLAP_DIVISOR = 4  # overlap = tile side // 4 (docs/pix2pix_photos.md: measured)
TILES_PER_CALL = 8  # tiles run through the generator together


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Where tiles of `tile` pixels start along a side of `length` (module docstring)."""
    if length <= tile:
        return [0]
    count = -(-(length - overlap) // (tile - overlap))  # ceil
    return [i * (length - tile) // (count - 1) for i in range(count)]


def tile_weights(tile: int, overlap: int) -> np.ndarray:
    """w(t) for t = 0 .. tile - 1 (module docstring), float32."""
    t = np.arange(tile, dtype=np.float32)
    return np.minimum(1.0, np.minimum(t + 1, tile - t) / np.float32(overlap + 1))


def _pad_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    pad = [(0, max(0, height - image.shape[0])), (0, max(0, width - image.shape[1])), (0, 0)]
    return np.pad(image, pad, mode="edge")


def translate_tiled(run, image: np.ndarray, tile_shape: tuple[int, int],
                    overlap_divisor: int = OVERLAP_DIVISOR) -> np.ndarray:
    """`run` (the generator, or translate.compiled_generator) over [h, w, 3] floats in [-1, 1]
    in overlapping tiles of `tile_shape` -> [h, w, 3] floats, the input's size."""
    height, width = image.shape[:2]
    tile_h, tile_w = tile_shape
    padded = _pad_to(np.asarray(image, np.float32), tile_h, tile_w)
    overlap_h, overlap_w = tile_h // overlap_divisor, tile_w // overlap_divisor
    weight = tile_weights(tile_h, overlap_h)[:, None, None] \
        * tile_weights(tile_w, overlap_w)[None, :, None]
    total = np.zeros(padded.shape, np.float32)
    weights = np.zeros(padded.shape[:2] + (1,), np.float32)
    corners = [(top, left) for top in tile_starts(padded.shape[0], tile_h, overlap_h)
               for left in tile_starts(padded.shape[1], tile_w, overlap_w)]
    for first in range(0, len(corners), TILES_PER_CALL):
        batch = corners[first:first + TILES_PER_CALL]
        tiles = np.stack([padded[top:top + tile_h, left:left + tile_w] for top, left in batch])
        outputs = np.asarray(run(tiles, training=False))
        for (top, left), output in zip(batch, outputs, strict=True):
            total[top:top + tile_h, left:left + tile_w] += output * weight
            weights[top:top + tile_h, left:left + tile_w] += weight
    return (total / weights)[:height, :width]


def any_size_generator(generator: keras.Model) -> keras.Model:
    """The same U-Net (its weights copied) taking images of any size whose sides are
    multiples of 2^depth."""
    import keras

    clone = keras.models.clone_model(generator, input_tensors=keras.Input((None, None, 3)))
    clone.set_weights(generator.get_weights())
    return clone


def translate_fully_convolutional(generator: keras.Model, image: np.ndarray,
                                  any_size: keras.Model | None = None) -> np.ndarray:
    """One run over the whole image (padded by repeating its edges to a multiple of the
    U-Net's 2^depth, at least the model's size; cropped back) -> [h, w, 3] floats."""
    from tfcreative.pix2pix.networks import unet_depth

    tile_h, tile_w = int(generator.input_shape[1]), int(generator.input_shape[2])
    multiple = 2 ** unet_depth((tile_h, tile_w))
    height, width = image.shape[:2]
    padded = _pad_to(np.asarray(image, np.float32),
                     max(tile_h, -(-height // multiple) * multiple),
                     max(tile_w, -(-width // multiple) * multiple))
    run = any_size or any_size_generator(generator)
    return np.asarray(run(padded[None], training=False))[0, :height, :width]


def translate_tiled_graph(generator, image, tile_shape: tuple[int, int],
                          overlap_divisor: int = OVERLAP_DIVISOR):
    """translate_tiled in TensorFlow ops, for graphs of any input size (the SavedModel's
    `translate_png`): [h, w, 3] float tensor in [-1, 1] -> the same shape; one tile per
    generator call, so memory stays that of one tile whatever the image."""
    import tensorflow as tf

    tile_h, tile_w = tile_shape
    overlap_h, overlap_w = tile_h // overlap_divisor, tile_w // overlap_divisor
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    rows = tf.minimum(tf.range(tf.maximum(height, tile_h)), height - 1)  # edge padding
    cols = tf.minimum(tf.range(tf.maximum(width, tile_w)), width - 1)
    padded = tf.gather(tf.gather(image, rows, axis=0), cols, axis=1)
    padded_h, padded_w = tf.shape(padded)[0], tf.shape(padded)[1]
    tops = _tile_starts_tensor(padded_h, tile_h, overlap_h)
    lefts = _tile_starts_tensor(padded_w, tile_w, overlap_w)
    corners = tf.reshape(tf.stack(tf.meshgrid(tops, lefts, indexing="ij"), -1), [-1, 2])
    weight = tf.constant(tile_weights(tile_h, overlap_h)[:, None, None]
                         * tile_weights(tile_w, overlap_w)[None, :, None])

    def add_tile(k, total, weights):
        top, left = corners[k, 0], corners[k, 1]
        tile = tf.slice(padded, [top, left, 0], [tile_h, tile_w, 3])
        output = generator(tile[None], training=False)[0]
        place = [[top, padded_h - top - tile_h], [left, padded_w - left - tile_w], [0, 0]]
        return k + 1, total + tf.pad(output * weight, place), weights + tf.pad(weight, place)

    _, total, weights = tf.while_loop(
        lambda k, *_: k < tf.shape(corners)[0], add_tile,
        [tf.constant(0), tf.zeros_like(padded), tf.zeros_like(padded[..., :1])])
    return (total / weights)[:height, :width]


def _tile_starts_tensor(length, tile: int, overlap: int):
    """tile_starts for a length known only when the graph runs (length >= tile)."""
    import tensorflow as tf

    count = tf.maximum(1, -((overlap - length) // (tile - overlap)))  # ceil((L - O) / (S - O))
    steps = tf.range(count)
    return tf.where(count > 1, steps * (length - tile) // tf.maximum(count - 1, 1), 0)
