"""Pix2Pix quality numbers on held-out pairs: L1, PSNR, SSIM and a sharpness ratio.

Sharpness: the energy of the Laplacian (high frequencies) of the outputs divided by that of the
targets. 1.0 means as much fine detail as the real images; blurry outputs score below 1. The
paper's claim is that the adversarial term makes outputs sharper than L1 alone. The FCN-score
(whether a segmenter recognises the scene in the outputs) is computed in fcn_score.py;
`format_results` prints its rows beside these.

`evaluate_models` is `tfcreative pix2pix evaluate`: several models side by side on a data set's
test split, with an optional grid of their outputs.
"""

from __future__ import annotations

import dataclasses
import json
import os

import keras
import numpy as np
import tensorflow as tf

from tfcreative.errors import InvalidArgument
from tfcreative.files import write_bytes_atomically
from tfcreative.pix2pix.config import DEFAULT_DATASET
from tfcreative.pix2pix.images import to_uint8

INPUT_ITSELF = "input itself"  # the trivial baseline's column: the input as the output
_LAPLACIAN = tf.constant([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def high_frequency_energy(images01):
    """Mean squared Laplacian response per image ([b, h, w, c] in [0, 1]) -> [b]."""
    grey = tf.image.rgb_to_grayscale(images01)
    response = tf.nn.conv2d(grey, _LAPLACIAN[:, :, None, None], strides=1, padding="VALID")
    return tf.reduce_mean(tf.square(response), axis=[1, 2, 3])


def evaluate_generator(generator, test_data, task_measures=None) -> dict:
    """Averages over all pairs of `test_data` ((input, target) in [-1, 1]); task_measures: a
    function of one uint8 batch (inputs, outputs, targets) -> {name: sum}, whose numbers are
    averaged too (task_metrics.measures_for)."""
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
        if task_measures is not None:
            batch = [to_uint8(x) for x in (input_image, output * 2.0 - 1.0, target * 2.0 - 1.0)]
            for name, value in task_measures(*batch).items():
                sums[name] = sums.get(name, 0.0) + value
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
    # task_metrics.py: edges and sketch (the output's lines against the input's) ...
    ("line_f1", "lines F1 vs input (higher)", "{:.3f}"),
    ("line_precision", "lines precision (higher)", "{:.3f}"),
    ("line_recall", "lines recall (higher)", "{:.3f}"),
    # ... and colorization
    ("colourfulness", "colourfulness (targets: next row)", "{:.1f}"),
    ("target_colourfulness", "colourfulness of the targets", "{:.1f}"),
    ("ab_error", "Lab a/b error (lower)", "{:.2f}"),
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


def column_name(path: str) -> str:
    """A model's column: a run directory's name; `run/best` for run/checkpoints/best.keras;
    a file's stem."""
    path = os.path.normpath(path)
    if os.path.isdir(path):
        return os.path.basename(path)
    stem, parent = os.path.splitext(os.path.basename(path))[0], os.path.dirname(path)
    if os.path.basename(parent) == "checkpoints":
        return f"{os.path.basename(os.path.dirname(parent))}/{stem}"
    return os.path.basename(parent) if stem == "model" and parent else stem


@dataclasses.dataclass
class Evaluation:
    """What `evaluate_models` measured: `results` {column: numbers} (one column per model, in
    the order given, then the FCN-score's "real photos" if asked), where (`dataset`, `split`),
    and `grid` (uint8 rows of input | each model's output | target) when rows were asked for."""

    dataset: str
    split: str
    results: dict[str, dict]
    models: tuple[str, ...]
    grid: np.ndarray | None = None

    @property
    def grid_titles(self) -> list[str]:
        return ["input", *self.models, "target"]

    def table(self) -> str:
        return f"{self.dataset}, split {self.split}:\n{format_results(self.results)}"

    def write_json(self, path: str) -> None:
        """The numbers as JSON, written whole or not at all."""
        write_bytes_atomically(path, json.dumps(self.results, indent=2).encode("utf-8"))


def _load_models(paths, seed: int) -> dict:
    """{column: model}, every model loaded before any is evaluated."""
    from tfcreative.pix2pix import load_model

    models = {}
    for path in paths:
        keras.utils.set_random_seed(seed)  # before loading: dropout's seed state is made then
        name = column_name(path)
        models[name if name not in models else path] = load_model(path)
    return models


def _check_one_size(models: dict, fcn_score: bool, grid_rows: int) -> None:
    """The FCN-score and the grid compare models of one image size: checked before any
    model is evaluated."""
    sizes = {name: model.image_size for name, model in models.items()}
    if len(set(map(str, sizes.values()))) > 1 and (fcn_score or grid_rows):
        what = " and ".join(w for w, asked in (("the FCN-score", fcn_score),
                                               ("a grid", grid_rows)) if asked)
        raise InvalidArgument("paths", f"{what} compare(s) models of one image size, got "
                              + ", ".join(f"{n}: {s}" for n, s in sizes.items()))


def _task_measures(builder, direction: str | None):
    """The transform's own measures for pairs made from photos, in their own direction."""
    from tfcreative.pix2pix import pipeline, task_metrics

    if not pipeline.is_photos(builder) or direction not in (None,
                                                            pipeline.dataset_direction(builder)):
        return None
    return task_metrics.measures_for(builder.builder_config.transform)


def evaluate_models(paths, dataset: str = DEFAULT_DATASET, manual_dir: str | None = None,
                    data_dir: str | None = None, direction: str | None = None,
                    paper_inference: bool = False, seed: int = 0, fcn_score: bool = False,
                    grid_rows: int = 0, photos_dir: str | None = None, transform: str = "edges",
                    strict: bool = False, input_baseline: bool = False) -> Evaluation:
    """Each model (.keras file or run directory) on the test split of pix2pix/<dataset> (or
    your pairs in `manual_dir`, or your photos in `photos_dir` made into pairs by `transform`:
    pipeline.prepare_builder), which training never reads.

    paper_inference: dropout on and batch statistics at test time (translate.compiled_generator;
    `seed` seeds the dropout). fcn_score: adds the FCN-score and its "real photos" ceiling.
    grid_rows: draws the first rows of the test split, as the numbers were measured.
    input_baseline: one more column, INPUT_ITSELF: the input taken as the output (the trivial
    baseline). Pairs made from photos also get their transform's own numbers
    (task_metrics.py)."""
    from tfcreative.pix2pix import fcn_score as fcn
    from tfcreative.pix2pix import pipeline
    from tfcreative.pix2pix.colour import lightness_kept
    from tfcreative.pix2pix.images import image_grid
    from tfcreative.pix2pix.translate import compiled_generator, kept_moving_statistics

    if grid_rows < 0:
        raise InvalidArgument("grid_rows", f"expected >= 0, got {grid_rows}")
    models = _load_models(paths, seed)
    _check_one_size(models, fcn_score, grid_rows)
    builder = pipeline.prepare_builder(dataset, data_dir=data_dir, manual_dir=manual_dir,
                                       photos_dir=photos_dir, transform=transform,
                                       strict=strict)
    split = pipeline.splits(builder).test
    results, outputs, scorer = {}, [], None
    measures = _task_measures(builder, direction)
    for name, model in models.items():
        data = pipeline.make_test_dataset(builder, model.image_size, batch_size=8, split=split,
                                          direction=direction)
        run = compiled_generator(model.generator, paper_inference)
        if model.keep_lightness:  # as translate runs it
            run = lightness_kept(run)
        with kept_moving_statistics(model.generator):
            results[name] = evaluate_generator(run, data, measures)
            if fcn_score:
                scorer = scorer or fcn.load_or_train_scorer(builder, model.image_size,
                                                            direction=direction)
                results[name].update(scorer.score_generator(run, data, what=name))
            if grid_rows:  # drawn as the numbers were measured (paper_inference or not)
                inputs, targets = next(iter(pipeline.make_test_dataset(
                    builder, model.image_size, grid_rows, split, cache=False,
                    direction=direction)))
                outputs.append(run(inputs))
    if input_baseline:
        results[INPUT_ITSELF] = evaluate_generator(lambda x, training=None: x, data, measures)
    if scorer is not None:
        results[fcn.REAL_PHOTOS] = scorer.score_real_photos(data)
    grid = image_grid(inputs, *outputs, targets) if grid_rows else None
    return Evaluation(f"{builder.name}/{builder.builder_config.name}", split, results,
                      tuple(models), grid)
