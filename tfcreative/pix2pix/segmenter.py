"""The semantic segmenter behind the FCN-score: photo -> per-pixel class logits.

Isola et al. (2017) scored generated photos with an FCN-8s trained on the real photos of the
data set; here a small U-Net of our own plays that part (no pretrained weights needed), trained
on the *real* photos of the training split against the classes of their label maps. This module
builds and trains it and keeps it cached beside the prepared TFDS data:

    <data_dir>/pix2pix/<config>/fcn_segmenter_<data version>_<size>px_v<VERSION>_seed<seed>
        [_<budget>]/model.keras, info.json

next to the version folder, not inside it: TFDS rebuilds `manual` data sets (your pairs) on
every preparation, wiping the version folder. Written to a temporary folder, then renamed:
never half a cache. Same seed, same data, same budget -> the same weights. `info.json` records
the recipe, including a hash of the training split's files (whatever the caller adds too, e.g.
the segmenter's own test accuracy); a cache whose recipe does not match the one asked for is
retrained and replaced. `fcn_score.load_or_train_scorer` uses it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os

import keras
import tensorflow as tf

from tfcreative.errors import InvalidArgument
from tfcreative.files import folder_written_whole
from tfcreative.pix2pix import pipeline
from tfcreative.pix2pix.config import image_shape
from tfcreative.pix2pix.label_maps import LabelPalette, palette_for

logger = logging.getLogger(__name__)

# Bump when the network, the training recipe or the budget changes: old caches are then
# ignored (they stay on disk under their own name).
VERSION = 1
INFO_FILE = "info.json"
MODEL_FILE = "model.keras"
EPOCHS = 10  # the budget's steps are shown as this many progress bars


@dataclasses.dataclass(frozen=True)
class SegmenterBudget:
    """How big the segmenter is and how long it trains.

    The defaults were chosen on synthetic_facades with a validation carve-out of its training
    split (trained on train[:80%], compared on train[80%:]; the test split was not looked at):
    at 128 px width 16 / 600 steps reached 0.997 per-pixel accuracy against 0.964 for
    width 8 / 600 and 0.9985 for width 16 / 1200 (twice the time); at 256 px 0.994.
    """

    width: int = 16  # filters of the first level; doubled per level up to 8x
    levels: int = 4  # stride-2 downsamplings: sizes must be multiples of 2**levels
    steps: int = 600
    pixels_per_step: int = 8 * 128 * 128  # batch 8 at 128 px, 2 at 256 px: time ~ steps
    learning_rate: float = 2e-3  # Adam, cosine decay to 0 over the steps

    def batch_size(self, image_size) -> int:
        height, width = image_shape(image_size)
        return max(1, self.pixels_per_step // (height * width))


DEFAULT_BUDGET = SegmenterBudget()


def _conv_bn_relu(x, filters, strides, name):
    x = keras.layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False,
                            name=f"{name}_conv")(x)
    # momentum 0.9: the moving statistics used at inference follow the weights within a few
    # dozen steps (Keras's 0.99 lags far behind in a budget of a few hundred steps).
    x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def segmentation_unet(num_classes: int, width: int = 16, levels: int = 4) -> keras.Model:
    """[b, h, w, 3] photos in [-1, 1] -> [b, h, w, num_classes] logits; h, w multiples of
    2**levels. Encoder: two 3×3 conv-BN-ReLU per level (the first with stride 2 below the top
    level), widths width·2^level up to 8·width; decoder: bilinear upsampling, concatenation
    with the encoder's features at that level, one 3×3 conv-BN-ReLU; a 1×1 conv to logits."""
    if num_classes < 2 or width < 1 or levels < 1:
        raise ValueError(f"need num_classes >= 2, width >= 1, levels >= 1; got {num_classes}, "
                         f"{width}, {levels}")
    inputs = keras.Input((None, None, 3), name="photo")
    x, skips = inputs, []
    for level in range(levels + 1):
        filters = width * 2 ** min(level, 3)
        x = _conv_bn_relu(x, filters, 2 if level else 1, f"down{level}a")
        x = _conv_bn_relu(x, filters, 1, f"down{level}b")
        skips.append(x)
    for level in reversed(range(levels)):
        x = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"up{level}_resize")(x)
        x = keras.layers.Concatenate(name=f"up{level}_skip")([x, skips[level]])
        x = _conv_bn_relu(x, width * 2 ** min(level, 3), 1, f"up{level}")
    logits = keras.layers.Conv2D(num_classes, 1, name="class_logits")(x)
    return keras.Model(inputs, logits, name="fcn_segmenter")


def _check_size(image_size, budget: SegmenterBudget) -> None:
    stride = 2 ** budget.levels
    if any(side < stride or side % stride for side in image_shape(image_size)):
        raise InvalidArgument("image_size", f"{image_size}: the segmenter needs sides that are "
                                            f"multiples of {stride} ({budget.levels} "
                                            "downsamplings)")


def check_label_maps(builder, split: str, palette: LabelPalette, image_size,
                     direction: str | None = None) -> int:
    """One pass over the inputs of `split`: NotALabelMapError unless all are label maps in
    `palette`. Returns the number of pairs checked."""
    count = 0
    data = pipeline.make_test_dataset(builder, image_size, batch_size=32, split=split,
                                      cache=False, direction=direction)
    for label_maps, _ in data:
        palette.check(label_maps, f"{_name(builder)}, split {split}, inputs {count}-"
                                  f"{count + int(label_maps.shape[0]) - 1}")
        count += int(label_maps.shape[0])
    return count


def _name(builder) -> str:
    return f"{builder.name}/{builder.builder_config.name}"


def segmentation_data(builder, image_size, palette: LabelPalette, batch_size: int, seed: int,
                      split: str = "train",
                      direction: str | None = None) -> tuple[tf.data.Dataset, int]:
    """(endless (real photo, class indices) batches, steps per pass over `split`): the
    pix2pix training stream (seeded jitter: resize to 286/256, crop, mirror, the same for the
    photo and its label map) with targets and inputs swapped and the label maps as classes."""
    stream, steps = pipeline.make_training_stream(builder, image_size, batch_size, seed=seed,
                                                  split=split, direction=direction)

    def to_classes(label_maps, photos):
        return photos, palette.classify(label_maps)[0]

    return stream.map(to_classes, num_parallel_calls=tf.data.AUTOTUNE), steps


def train_segmenter(builder, image_size, palette: LabelPalette | None = None,
                    budget: SegmenterBudget = DEFAULT_BUDGET, seed: int = 0,
                    split: str | None = None, verbose: int | str = "auto",
                    direction: str | None = None) -> keras.Model:
    """Trains a segmenter on the real photos of `split` (any TFDS split string, e.g.
    "train[:80%]"; default: the data set's training split, pipeline.splits) with `model.fit`
    (Keras progress bar). image_size: 256 or (height, width). direction ("AtoB"/"BtoA",
    default the data set's own): which side of each pair is the label map. Sets Keras's
    global random seed. Raises NotALabelMapError if the inputs of `split` are not label maps
    in `palette`."""
    palette = palette or palette_for(builder)
    _check_size(image_size, budget)
    split = split or pipeline.splits(builder).train
    check_label_maps(builder, split, palette, image_size, direction)
    keras.utils.set_random_seed(seed)
    # Small data sets at small sizes: never more photos per step than the split holds.
    batch_size = min(budget.batch_size(image_size), builder.info.splits[split].num_examples)
    data, _ = segmentation_data(builder, image_size, palette, batch_size, seed, split,
                                direction)
    epochs = min(EPOCHS, budget.steps)  # progress-bar lines, not passes over the data
    epoch_steps = -(-budget.steps // epochs)
    model = segmentation_unet(palette.num_classes, budget.width, budget.levels)
    schedule = keras.optimizers.schedules.CosineDecay(budget.learning_rate,
                                                      epochs * epoch_steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    # shuffle=False: the stream is shuffled already (Keras's flag would only warn about it).
    model.fit(data, epochs=epochs, steps_per_epoch=epoch_steps, shuffle=False, verbose=verbose)
    return model


# -- cache --------------------------------------------------------------------------------


def cache_dir(builder, image_size, seed: int = 0, budget: SegmenterBudget = DEFAULT_BUDGET,
              direction: str | None = None) -> str:
    """Where the segmenter for this data set, size, seed, budget and direction lives (beside
    the data set's version folder; TFDS ignores folders whose names are not versions)."""
    height, width = image_shape(image_size)
    size = f"{height}px" if height == width else f"{height}x{width}px"
    name = f"fcn_segmenter_{builder.version}_{size}_v{VERSION}_seed{seed}"
    if direction not in (None, pipeline.dataset_direction(builder)):
        name += f"_{direction}"
    if budget != DEFAULT_BUDGET:
        name += "_" + _budget_key(budget)
    return os.path.join(os.path.dirname(os.fspath(builder.data_dir)), name)


def _budget_key(budget: SegmenterBudget) -> str:
    return "w{width}l{levels}s{steps}p{pixels_per_step}lr{learning_rate:g}".format(
        **dataclasses.asdict(budget))


def recipe(builder, image_size, palette: LabelPalette, seed: int, budget: SegmenterBudget,
           split: str, direction: str | None = None) -> dict:
    """What a cached segmenter must have been trained with to be reused."""
    splits = builder.info.splits
    return {
        "version": VERSION,
        "dataset": _name(builder),
        "dataset_version": str(builder.version),
        "split": split,
        "split_examples": splits[split].num_examples,
        "split_sha256": split_fingerprint(builder, split),
        "image_shape": list(image_shape(image_size)),
        "direction": direction or pipeline.dataset_direction(builder),
        "palette": palette.name,
        "palette_fingerprint": palette.fingerprint(),
        "seed": seed,
        "budget": dataclasses.asdict(budget),
    }


def split_fingerprint(builder, split: str) -> str:
    """sha256 of the prepared files holding `split` (for "train[:90%]" those of "train"):
    tells one set of your pairs from another (~0.1 s per 50 MB)."""
    digest = hashlib.sha256()
    whole = split.split("[", 1)[0]
    for path in sorted(os.fspath(p) for p in builder.info.splits[whole].filepaths):
        with open(path, "rb") as f:
            while chunk := f.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


def load_cached(directory: str, expected_recipe: dict) -> tuple[keras.Model, dict] | None:
    """(model, info) if `directory` holds a segmenter trained to `expected_recipe`."""
    try:
        with open(os.path.join(directory, INFO_FILE)) as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    if info.get("recipe") != expected_recipe:
        logger.warning("%s: trained with another recipe or on other data; training again",
                       directory)
        return None
    try:
        return keras.models.load_model(os.path.join(directory, MODEL_FILE)), info
    except (OSError, ValueError) as error:
        logger.warning("%s: unreadable segmenter (%s); training again", directory, error)
        return None


def save_cache(model: keras.Model, info: dict, directory: str) -> str:
    """Writes model.keras and info.json to a temporary folder beside `directory`, then renames
    it into place (replacing an older cache of the same name)."""
    with folder_written_whole(directory, replace=True) as tmp:
        model.save(os.path.join(tmp, MODEL_FILE))
        with open(os.path.join(tmp, INFO_FILE), "w") as f:
            json.dump(info, f, indent=2)
    return directory

