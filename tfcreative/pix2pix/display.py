"""Pix2Pix results in Jupyter: input | output (| target) grids as HTML tables of PNG images.

No plotting library: each image is a PNG in the output itself (a data URL), so grids show in
any notebook front end, in a saved notebook and in its HTML export. Small images are scaled up
without smoothing (pixels stay sharp); `TranslationGrid.image` is the whole grid as one array.
"""

from __future__ import annotations

import base64
import html

import numpy as np
import tensorflow as tf

from tfcreative.errors import InvalidArgument
from tfcreative.pix2pix.images import as_uint8, image_grid, write_png

MIN_SHOWN_SIZE = 128  # smaller images are shown scaled up to this many pixels across


def _as_uint8(images, argument: str) -> np.ndarray:
    """[n, h, w, 3] uint8 from uint8 images or floats in [-1, 1] (the model's range)."""
    array = np.asarray(images)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] != 3:
        raise InvalidArgument(argument, f"expected RGB images [n, height, width, 3], got shape "
                                        f"{list(array.shape)}")
    return as_uint8(array)


def _png_data_url(image: np.ndarray) -> str:
    png = tf.io.encode_png(image).numpy()
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


class TranslationGrid:
    """Rows of (input, output[, target]) images; shows as a table in a notebook."""

    def __init__(self, inputs, outputs, targets=None,
                 titles: tuple[str, ...] = ("input", "output", "target")):
        columns = [_as_uint8(inputs, "inputs"), _as_uint8(outputs, "outputs")]
        if targets is not None:
            columns.append(_as_uint8(targets, "targets"))
        if len({len(c) for c in columns}) != 1:
            raise InvalidArgument("targets" if targets is not None else "outputs",
                                  "expected as many images as inputs, got "
                                  + " / ".join(str(len(c)) for c in columns))
        self.columns = columns
        self.titles = tuple(titles[:len(columns)])

    @property
    def rows(self) -> list[tuple[np.ndarray, ...]]:
        return list(zip(*self.columns, strict=True))

    @property
    def image(self) -> np.ndarray:
        """The grid as one uint8 image: one row per example, its images side by side."""
        return image_grid(*self.columns)

    def save(self, path: str) -> str:
        """Writes the grid as one PNG file; returns `path`."""
        write_png(path, self.image)
        return path

    def _repr_html_(self) -> str:
        head = "".join(f'<th style="text-align:center">{html.escape(t)}</th>'
                       for t in self.titles)
        body = []
        for row in self.rows:
            cells = []
            for image in row:
                width = max(image.shape[1], MIN_SHOWN_SIZE)
                cells.append(f'<td style="padding:2px"><img src="{_png_data_url(image)}" '
                             f'width="{width}" style="image-rendering:pixelated;'
                             f'max-width:none" alt=""></td>')
            body.append(f"<tr>{''.join(cells)}</tr>")
        return (f'<table class="tfcreative-translations"><thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(body)}</tbody></table>")


def translation_grid(model, inputs, targets=None) -> TranslationGrid:
    """Runs `model` (a Pix2Pix model or its generator) on `inputs` and pairs each input with
    its output and, if given, its target. Images: [n, h, w, 3] floats in [-1, 1] (what the
    pipeline yields) or uint8; a batch from `pipeline.make_test_dataset` is (inputs, targets)."""
    array = np.asarray(inputs)
    _as_uint8(array, "inputs")  # the shape check
    x = array.astype(np.float32) / 127.5 - 1.0 if array.dtype == np.uint8 else array
    outputs = model(tf.constant(x if x.ndim == 4 else x[None], tf.float32), training=False)
    return TranslationGrid(array, outputs, targets)


def show_translations(model, inputs, targets=None) -> None:
    """Displays `translation_grid(model, inputs, targets)` in the running notebook."""
    try:
        from IPython.display import display
    except ImportError:
        raise RuntimeError("show_translations displays in Jupyter (IPython is not installed); "
                           "elsewhere translation_grid(...).save(path) writes the grid") from None
    display(translation_grid(model, inputs, targets))
