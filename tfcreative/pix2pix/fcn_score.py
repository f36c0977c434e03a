"""The FCN-score (Isola et al. 2017, section 4.2): how well a segmenter trained on real photos
recognises the scene in generated photos, against the label maps they were generated from.

Three numbers from one confusion matrix accumulated over a data set (rows: true class from the
label map, columns: the segmenter's class), as in the pix2pix evaluation script
(scripts/eval_cityscapes/util.py of pytorch-CycleGAN-and-pix2pix):

* per-pixel accuracy: correctly classified pixels / all pixels;
* per-class accuracy: the mean over the classes present in the label maps of their recall;
* class IoU: the mean over classes of |true ∩ predicted| / |true ∪ predicted|, over the classes
  that are present or predicted (a class absent from both has no IoU; the reference script
  counts it as 0, which only matters when some class never occurs in the test split).

`fcn_scores` is what `pix2pix evaluate` calls: one column per generator plus the "real photos"
column (the segmenter on the real test photos: the ceiling a generator can reach).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping

import keras
import numpy as np
import tensorflow as tf

from tfcreative.pix2pix import pipeline, segmenter
from tfcreative.pix2pix.label_maps import LabelPalette, palette_for
from tfcreative.pix2pix.segmenter import DEFAULT_BUDGET, SegmenterBudget

logger = logging.getLogger(__name__)

REAL_PHOTOS = "real photos"
METRICS = ("fcn_pixel_accuracy", "fcn_class_accuracy", "fcn_class_iou")


def scores_from_confusion(confusion) -> dict:
    """confusion[i, j] = pixels of true class i classified as j -> the three FCN numbers, the
    per-class values (None for a class without any) and the pixel count."""
    confusion = np.asarray(confusion, dtype=np.float64)
    total = confusion.sum()
    if total <= 0:
        raise ValueError("no pixels to score")
    hits = np.diag(confusion)
    true = confusion.sum(axis=1)
    union = true + confusion.sum(axis=0) - hits
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(true > 0, hits / true, np.nan)
        iou = np.where(union > 0, hits / union, np.nan)
    return {
        "fcn_pixel_accuracy": float(hits.sum() / total),
        "fcn_class_accuracy": float(np.nanmean(recall)),
        "fcn_class_iou": float(np.nanmean(iou)),
        "fcn_per_class_accuracy": [None if np.isnan(v) else float(v) for v in recall],
        "fcn_per_class_iou": [None if np.isnan(v) else float(v) for v in iou],
        "fcn_pixels": int(total),
    }


class FcnScorer:
    """A trained segmenter and the palette of the label maps it is scored against."""

    def __init__(self, model: keras.Model, palette: LabelPalette, info: dict | None = None):
        self.model = model
        self.palette = palette
        self.info = info or {}
        num_classes = palette.num_classes

        @tf.function(reduce_retracing=True)
        def batch_confusion(photos, label_maps):
            truth, _ = palette.classify(label_maps)
            predicted = tf.argmax(model(photos, training=False), axis=-1, output_type=tf.int32)
            return tf.math.confusion_matrix(tf.reshape(truth, [-1]),
                                            tf.reshape(predicted, [-1]), num_classes,
                                            dtype=tf.int64)

        self._batch_confusion = batch_confusion

    def confusion(self, pairs: Iterable, what: str = "images") -> np.ndarray:
        """Sums the confusion matrices of (photos, label maps) batches, both [b, h, w, 3] in
        [-1, 1]; NotALabelMapError (naming `what`) if a label map is not in the palette."""
        total = np.zeros((self.palette.num_classes,) * 2, dtype=np.int64)
        seen = 0
        for photos, label_maps in pairs:
            count = int(label_maps.shape[0])
            self.palette.check(label_maps, f"{what}, images {seen}-{seen + count - 1}")
            total += self._batch_confusion(photos, label_maps).numpy()
            seen += count
        if not seen:
            raise ValueError(f"{what}: no images to score")
        return total

    def score(self, pairs: Iterable, what: str = "images") -> dict:
        """FCN-score of (photos, label maps) batches: the photos may be anything, e.g. a
        generator's outputs precomputed into a tf.data.Dataset."""
        return scores_from_confusion(self.confusion(pairs, what))

    def score_generator(self, generator: Callable, test_data: Iterable,
                        what: str = "generator") -> dict:
        """FCN-score of generator(input) against the input label maps, over (input, target)
        batches as pipeline.make_test_dataset gives them. `generator`: the generator network
        or a Pix2Pix model (both run with training=False)."""
        return self.score(((generator(inputs, training=False), inputs)
                           for inputs, _ in test_data), what)

    def score_real_photos(self, test_data: Iterable, what: str = REAL_PHOTOS) -> dict:
        """FCN-score of the real targets: the segmenter's own accuracy, the ceiling."""
        return self.score(((targets, inputs) for inputs, targets in test_data), what)


def load_or_train_scorer(builder, image_size, palette: LabelPalette | None = None,
                         seed: int = 0, budget: SegmenterBudget = DEFAULT_BUDGET,
                         verbose: int | str = "auto", cache: bool = True,
                         direction: str | None = None) -> FcnScorer:
    """The scorer for pix2pix data set `builder` at `image_size`: loaded from the cache beside
    the prepared data, else trained on the real photos of the training split (progress bar;
    pipeline.splits: never the validation or test pairs), evaluated on the real test photos
    (printed unless verbose is 0; stored as info["test_scores"]) and cached.

    image_size: 256 or (height, width). direction ("AtoB"/"BtoA", default the data set's
    own): which side of each pair is the label map. Raises NotALabelMapError if those are not
    label maps in a known palette.
    """
    palette = palette or palette_for(builder)
    splits = pipeline.splits(builder)
    expected = segmenter.recipe(builder, image_size, palette, seed, budget, splits.train,
                                direction)
    directory = segmenter.cache_dir(builder, image_size, seed, budget, direction)
    cached = segmenter.load_cached(directory, expected) if cache else None
    if cached is not None:
        model, info = cached
        return FcnScorer(model, palette, info)
    say = print if verbose else (lambda *_: None)
    say(f"Training the FCN-score segmenter for {expected['dataset']} at {image_size} px on the "
        f"real photos of {splits.train} ({budget.steps} steps; once, cached in {directory})")
    start = time.monotonic()
    model = segmenter.train_segmenter(builder, image_size, palette, budget, seed,
                                      splits.train, verbose, direction)
    seconds = time.monotonic() - start
    scorer = FcnScorer(model, palette)
    own = scorer.score_real_photos(
        pipeline.make_test_dataset(builder, image_size, batch_size=8, split=splits.test,
                                   direction=direction),
        what=f"{expected['dataset']}, split {splits.test}")
    scorer.info = {"recipe": expected, "train_seconds": round(seconds, 1),
                   "test_split": splits.test, "test_scores": own}
    say(f"FCN-score segmenter ({image_size} px, trained in {seconds:.0f} s) on the real "
        f"{splits.test} photos: per-pixel accuracy {own['fcn_pixel_accuracy']:.3f}, per-class "
        f"accuracy {own['fcn_class_accuracy']:.3f}, class IoU {own['fcn_class_iou']:.3f}")
    if cache:
        try:
            segmenter.save_cache(model, scorer.info, directory)
        except OSError as error:
            logger.warning("could not cache the FCN-score segmenter in %s (%s); it will be "
                           "trained again next time", directory, error)
    return scorer


def fcn_scores(generators: Mapping[str, Callable], builder, image_size,
               split: str | None = None, batch_size: int = 8, real_photos: bool = True,
               scorer: FcnScorer | None = None, direction: str | None = None,
               **scorer_options) -> dict[str, dict]:
    """{name: FCN-score} for each generator (its outputs on the inputs of `split`, default the
    test split) and, first, REAL_PHOTOS (the real targets: the ceiling). All generators must
    work at `image_size` (256 or (height, width)) and translate label maps to photos in
    `direction` (default the data set's own). scorer_options go to load_or_train_scorer (seed,
    budget, verbose, cache)."""
    scorer = scorer or load_or_train_scorer(builder, image_size, direction=direction,
                                            **scorer_options)
    split = split or pipeline.splits(builder).test
    data = pipeline.make_test_dataset(builder, image_size, batch_size, split,
                                      direction=direction)
    where = f"{builder.name}/{builder.builder_config.name}, split {split}"
    results = {REAL_PHOTOS: scorer.score_real_photos(data, where)} if real_photos else {}
    for name, generator in generators.items():
        results[name] = scorer.score_generator(generator, data, f"{where}, {name}")
    return results
