"""Numbers that fit what a `photos_*` model was asked to do, beside L1 / PSNR / SSIM.

* edges, sketch: does the output have the input's lines? The transform is applied to the output
  and its line pixels compared with the input's, with a tolerance of LINE_TOLERANCE pixels:
  precision (output lines near an input line), recall (input lines near an output line) and
  their F1. The input itself would score 1 were it a photo; a blank output scores 0.
* grayscale: colourfulness (Hasler and Suesstrunk 2003) of the outputs beside the targets' (a
  colorization that stays grey scores near 0), and the mean absolute error of Lab's a and b
  channels against the target (the colour alone; L is the input's).

`measures_for(transform)` returns a function of one batch (uint8 inputs, outputs, targets) ->
{name: sum over the batch}; evaluation.evaluate_generator averages them over the pairs.
"""

from __future__ import annotations

import numpy as np

from tfcreative.datasets.pix2pix import photo_transforms

LINE_TOLERANCE = 2  # pixels (a (2t + 1)-square neighbourhood)
LINE_TRANSFORMS = ("edges", "sketch")


def _lines(image_uint8: np.ndarray) -> np.ndarray:
    """Dark pixels of a line drawing (edges, sketch): [h, w] bool."""
    return image_uint8.mean(axis=-1) < 128


def _near(mask: np.ndarray) -> np.ndarray:
    from scipy.ndimage import binary_dilation

    return binary_dilation(mask, np.ones((2 * LINE_TOLERANCE + 1,) * 2, bool))


def line_match(input_drawing: np.ndarray, output_drawing: np.ndarray) -> dict:
    """Precision, recall and F1 of the output drawing's lines against the input's."""
    wanted, drawn = _lines(input_drawing), _lines(output_drawing)
    precision = float((drawn & _near(wanted)).sum() / max(drawn.sum(), 1))
    recall = float((wanted & _near(drawn)).sum() / max(wanted.sum(), 1))
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {"line_precision": precision, "line_recall": recall, "line_f1": f1}


def colourfulness(image_uint8: np.ndarray) -> float:
    """Hasler and Suesstrunk's M: std and mean of the opponent channels rg and yb."""
    rgb = image_uint8.astype(np.float64)
    rg, yb = rgb[..., 0] - rgb[..., 1], 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def ab_error(output_uint8: np.ndarray, target_uint8: np.ndarray) -> float:
    """Mean |Δa| and |Δb| (Lab, D65) between output and target."""
    from skimage.color import rgb2lab

    difference = rgb2lab(output_uint8 / 255.0)[..., 1:] - rgb2lab(target_uint8 / 255.0)[..., 1:]
    return float(np.abs(difference).mean())


def _line_measures(transform: str):
    def measure(inputs, outputs, targets) -> dict:
        sums: dict[str, float] = {}
        for input_image, output in zip(inputs, outputs, strict=True):
            redrawn = photo_transforms.transform(transform, output)
            for name, value in line_match(input_image, redrawn).items():
                sums[name] = sums.get(name, 0.0) + value
        return sums
    return measure


def _colour_measures(inputs, outputs, targets) -> dict:
    return {"colourfulness": sum(colourfulness(o) for o in outputs),
            "target_colourfulness": sum(colourfulness(t) for t in targets),
            "ab_error": sum(ab_error(o, t) for o, t in zip(outputs, targets, strict=True))}


def measures_for(transform: str | None):
    """The batch function of `transform`'s measures, or None where there are none."""
    if transform in LINE_TRANSFORMS:
        return _line_measures(transform)
    if transform == "grayscale":
        return _colour_measures
    return None
