"""Label maps in a fixed colour palette -> per-pixel class indices, and the check that an image
is such a label map at all.

The FCN-score (Isola et al. 2017) needs ground-truth classes for every test pixel; in pix2pix's
label → photo data sets they are the input label maps, drawn in one colour per class. Each pixel
gets the class of its nearest palette colour (so JPEG noise and resampling blur at edges do not
matter); a pixel farther than `tolerance` from every palette colour is *off-palette*, and an
image with more than `max_off_palette_fraction` of its pixels off-palette is not a label map
(a photo, an edge map, an aerial view...): NotALabelMapError.
"""

from __future__ import annotations

import hashlib

import numpy as np
import tensorflow as tf

from tfcreative.datasets.pix2pix import synthetic_facades


class NotALabelMapError(ValueError):
    """The images given as label maps are not drawn in the palette."""


class LabelPalette:
    """Class names and their colours (uint8 RGB, row i = class i)."""

    def __init__(self, name: str, classes, colours, tolerance: float = 48.0,
                 max_off_palette_fraction: float = 0.5):
        colours = np.asarray(colours, dtype=np.uint8).reshape(-1, 3)
        if len(classes) != len(colours) or len(colours) < 2:
            raise ValueError(f"palette {name}: {len(classes)} class names for "
                             f"{len(colours)} colours (need the same number, at least 2)")
        self.name = name
        self.classes = tuple(classes)
        self.colours = colours
        self.tolerance = float(tolerance)
        self.max_off_palette_fraction = float(max_off_palette_fraction)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def fingerprint(self) -> str:
        """Changes whenever the classes, colours or thresholds change (cache keys)."""
        text = repr((self.classes, self.colours.tolist(), self.tolerance,
                     self.max_off_palette_fraction))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def classify(self, label_maps):
        """Label maps as floats in [-1, 1] (the pipeline's range), [..., h, w, 3] ->
        (class indices int32 [..., h, w], off-palette mask bool [..., h, w])."""
        rgb = (tf.cast(label_maps, tf.float32) + 1.0) * 127.5
        colours = tf.constant(self.colours, tf.float32)
        squared = tf.reduce_sum(tf.square(rgb[..., None, :] - colours), axis=-1)
        indices = tf.argmin(squared, axis=-1, output_type=tf.int32)
        off = tf.reduce_min(squared, axis=-1) > self.tolerance ** 2
        return indices, off

    def off_palette_fraction(self, label_maps):
        """Per image [b]: the share of pixels farther than `tolerance` from every colour."""
        _, off = self.classify(label_maps)
        return tf.reduce_mean(tf.cast(off, tf.float32), axis=[-2, -1])

    def check(self, label_maps, what: str) -> None:
        """Raises NotALabelMapError if any image of the batch is not a label map."""
        fractions = self.off_palette_fraction(label_maps).numpy().reshape(-1)
        worst = int(np.argmax(fractions))
        if fractions[worst] > self.max_off_palette_fraction:
            raise NotALabelMapError(
                f"{what}: the FCN-score needs label maps in the {self.name} palette "
                f"({self.num_classes} classes, one colour each) as inputs, but "
                f"{fractions[worst]:.0%} of the pixels of image {worst} are farther than "
                f"{self.tolerance:g} (RGB units) from every palette colour (at most "
                f"{self.max_off_palette_fraction:.0%} allowed)")

    def to_colours(self, indices) -> np.ndarray:
        """Class indices -> uint8 RGB (for pictures of segmentations)."""
        return self.colours[np.asarray(indices)]


# CMP facade classes as drawn by synthetic_facades (and by the web demo's label painter).
# Measured on the 100 synthetic_facades test pairs at 256 px with tolerance 48: every photo has
# 100 % of its pixels off-palette; the label maps 0 %, after JPEG (quality 95 or 75, 4:2:0
# chroma as in the paper's archives) at most 22-23 % (colour edges), after a bilinear
# 256 -> 128 px resize at most 12 %. Hence at most 50 % allowed.
FACADES = LabelPalette("CMP facades", synthetic_facades.CLASSES, synthetic_facades.PALETTE)

# Palette of each pix2pix builder config whose inputs are label maps. The paper's `facades`
# archive is assumed to use the same colours (not checked here: the archive cannot be
# downloaded on the development machine); `manual` pairs drawn with the web demo's painter do.
CONFIG_PALETTES = {"synthetic_facades": FACADES, "facades": FACADES, "manual": FACADES}


def palette_for(builder) -> LabelPalette:
    """The label palette of a pix2pix builder's inputs; synthetic configs of any size too."""
    config = builder.builder_config
    kind = getattr(config, "kind", None)
    if kind == "synthetic":
        return FACADES
    # your pairs' configs are named manual_<content key>
    palette = CONFIG_PALETTES.get("manual" if kind == "manual" else config.name)
    if palette is None:
        raise NotALabelMapError(
            f"{builder.name}/{config.name}: the FCN-score needs inputs that are label maps in a "
            f"known palette; this data set has none (known: {', '.join(CONFIG_PALETTES)})")
    return palette
