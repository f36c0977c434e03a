"""Pix2Pix quality numbers on held-out pairs: L1, PSNR, SSIM and a sharpness ratio.

Sharpness: the energy of the Laplacian (high frequencies) of the outputs divided by that of the
targets. 1.0 means as much fine detail as the real images; blurry outputs score below 1. The
paper's claim is that the adversarial term makes outputs sharper than L1 alone. The FCN-score
(whether a segmenter recognises the scene in the outputs) is computed in fcn_score.py;
`format_results` prints its rows beside these.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

_LAPLACIAN = tf.constant([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def high_frequency_energy(images01):
    """Mean squared Laplacian response per image ([b, h, w, c] in [0, 1]) -> [b]."""
    grey = tf.image.rgb_to_grayscale(images01)
    response = tf.nn.conv2d(grey, _LAPLACIAN[:, :, None, None], strides=1, padding="VALID")
    return tf.reduce_mean(tf.square(response), axis=[1, 2, 3])


def evaluate_generator(generator, test_data) -> dict:
    """Averages over all pairs of `test_data` ((input, target) in [-1, 1])."""
    sums = {"l1": 0.0, "psnr": 0.0, "ssim": 0.0}
    output_energy = target_energy = 0.0
    count = 0
    for input_image, target in test_data:
        output = (generator(input_image, training=False) + 1.0) / 2.0
        target = (target + 1.0) / 2.0
        sums["l1"] += float(tf.reduce_sum(tf.reduce_mean(tf.abs(output - target), [1, 2, 3])))
        sums["psnr"] += float(tf.reduce_sum(tf.image.psnr(output, target, max_val=1.0)))
        sums["ssim"] += float(tf.reduce_sum(tf.image.ssim(output, target, max_val=1.0)))
        output_energy += float(tf.reduce_sum(high_frequency_energy(output)))
        target_energy += float(tf.reduce_sum(high_frequency_energy(target)))
        count += int(input_image.shape[0])
    if not count:
        raise ValueError("no test pairs to evaluate")
    result = {name: value / count for name, value in sums.items()}
    result["sharpness"] = output_energy / max(target_energy, np.finfo(np.float32).tiny)
    result["pairs"] = count
    return result


ROWS = (  # (key, label, format): the table's rows, in order
    ("pairs", "test pairs", "{:.0f}"),
    ("l1", "L1 (lower is better)", "{:.4f}"),
    ("psnr", "PSNR dB (higher)", "{:.2f}"),
    ("ssim", "SSIM (higher)", "{:.4f}"),
    ("sharpness", "sharpness vs target (1 = as sharp)", "{:.3f}"),
    # FCN-score (fcn_score.py): a segmenter trained on real photos, on the outputs.
    ("fcn_pixel_accuracy", "FCN per-pixel accuracy (higher)", "{:.3f}"),
    ("fcn_class_accuracy", "FCN per-class accuracy (higher)", "{:.3f}"),
    ("fcn_class_iou", "FCN class IoU (higher)", "{:.3f}"),
)


def format_results(columns: dict[str, dict]) -> str:
    """One column per model (or "real photos"), one row per number any column has; a number
    a column lacks shows as "-"."""
    rows = [row for row in ROWS if any(row[0] in values for values in columns.values())]
    width = max(len(label) for _, label, _ in rows) + 2
    cell = {name: max(12, len(name) + 2) for name in columns}
    lines = [" " * width + "".join(f"{name:>{cell[name]}}" for name in columns)]
    for key, label, fmt in rows:
        lines.append(f"{label:<{width}}" + "".join(
            f"{_cell(columns[name].get(key), fmt):>{cell[name]}}" for name in columns))
    return "\n".join(lines)


def _cell(value, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)
