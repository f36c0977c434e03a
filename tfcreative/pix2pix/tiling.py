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

import keras
import numpy as np

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
