"""tf.data input for Pix2Pix: TFDS pairs -> (input, target) float images in [-1, 1].

Training pairs get the paper's random jitter: resize to 286/256 of the image size, one random
crop applied identically to both images (they stay aligned), and a random mirror of both.
Test pairs are only resized. Nearest-neighbour resizing keeps label-map colours exact.
"""

from __future__ import annotations

import dataclasses
import os

import tensorflow as tf
import tensorflow_datasets as tfds

# Importing the builder module registers "pix2pix" with TFDS.
from tfcreative.datasets.pix2pix import pix2pix_dataset_builder  # noqa: F401
from tfcreative.errors import ArgumentPathNotFound, InvalidArgument
from tfcreative.pix2pix.config import DEFAULT_DATASET, DIRECTIONS, image_shape

# Data sets by name (pix2pix/<name>); "manual" (your folder) is chosen by passing manual_dir.
DATASETS = tuple(c.name for c in pix2pix_dataset_builder.Builder.BUILDER_CONFIGS
                 if c.kind != "manual")
CACHE_LIMIT_BYTES = 2 * 1024**3  # cache decoded pairs in memory below this size
VALIDATION_PERCENT = 10  # of train, when a data set has no validation split


def prepare_builder(dataset: str = DEFAULT_DATASET, data_dir: str | None = None,
                    manual_dir: str | None = None) -> tfds.core.DatasetBuilder:
    """Builds (or reuses) pix2pix/<dataset>; `manual_dir` selects your own pairs."""
    if manual_dir is not None:
        manual_dir = os.path.abspath(os.path.expanduser(manual_dir))
        if not os.path.isdir(manual_dir):
            raise ArgumentPathNotFound("manual_dir", f"{manual_dir}: no such folder of image pairs")
        builder = tfds.builder("pix2pix/manual", data_dir=data_dir)
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
            manual_dir=manual_dir, download_mode=tfds.download.GenerateMode.FORCE_REDOWNLOAD))
        return builder
    if dataset not in DATASETS:
        raise InvalidArgument("dataset", f"{dataset!r}: expected one of {', '.join(DATASETS)}")
    builder = tfds.builder(f"pix2pix/{dataset}", data_dir=data_dir)
    builder.download_and_prepare()
    return builder


def jitter_shape(image_size) -> tuple[int, int]:
    """The size training pairs are resized to before the random crop: 286/256 of each side."""
    return tuple(int(round(side * 286 / 256)) for side in image_shape(image_size))


def dataset_direction(builder) -> str:
    """"AtoB" or "BtoA": which half (side-by-side files) or folder (A/, B/) of each pair the
    data set gives as the input. The paper's archives use the paper's direction (facades B→A:
    label map → photo); your pairs and synthetic_facades are A→B (label map → photo)."""
    return "AtoB" if builder.builder_config.input_side == "A" else "BtoA"


def to_float(image):
    """uint8 [0, 255] -> float32 [-1, 1]."""
    return tf.cast(image, tf.float32) / 127.5 - 1.0


def resize_pair(input_image, target, size):
    pair = tf.image.resize(tf.stack([input_image, target]), image_shape(size),
                           method="nearest")
    return pair[0], pair[1]


def random_jitter(input_image, target, image_size, seed=None):
    """Same random crop and same random mirror for both images.

    seed: None for TensorFlow's stateful random ops, or an int [2] seed for a stateless,
    reproducible jitter (the training stream seeds each pair by its position in the stream,
    so a run resumed from a backup jitters exactly as an uninterrupted one).
    """
    pair = tf.stack([input_image, target])
    crop_size = [2, *image_shape(image_size), pair.shape[-1] or 3]
    if seed is None:
        pair = tf.image.random_crop(pair, crop_size)
        mirror = tf.random.uniform([]) < 0.5
    else:
        crop_seed, mirror_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        pair = tf.image.stateless_random_crop(pair, crop_size, seed=crop_seed)
        mirror = tf.random.stateless_uniform([], seed=mirror_seed) < 0.5
    pair = tf.cond(mirror, lambda: tf.reverse(pair, axis=[2]), lambda: pair)
    return pair[0], pair[1]


def _pairs(builder, split, direction=None):
    """(input, target) pairs; `direction` ("AtoB"/"BtoA", None: the data set's own) may swap
    them."""
    if direction is not None and direction not in DIRECTIONS:
        raise InvalidArgument("direction", f"expected one of {DIRECTIONS}, got {direction!r}")
    swap = direction is not None and direction != dataset_direction(builder)
    first, second = ("target_image", "input_image") if swap else ("input_image", "target_image")
    examples = builder.as_dataset(split=split, shuffle_files=False)
    return examples.map(lambda e: (e[first], e[second]), num_parallel_calls=tf.data.AUTOTUNE)


def _should_cache(builder, split, size) -> bool:
    height, width = image_shape(size)
    return builder.info.splits[split].num_examples * height * width * 3 * 2 < CACHE_LIMIT_BYTES


def _resized_train_pairs(builder, image_size, split: str, direction=None) -> tf.data.Dataset:
    big = jitter_shape(image_size)
    pairs = _pairs(builder, split, direction).map(lambda a, b: resize_pair(a, b, big),
                                                  num_parallel_calls=tf.data.AUTOTUNE)
    if _should_cache(builder, split, big):
        pairs = pairs.cache()
    return pairs


def make_train_dataset(builder, image_size, batch_size: int = 1, split: str = "train",
                       shuffle: bool = True, seed: int | None = None,
                       direction: str | None = None) -> tf.data.Dataset:
    """One pass of jittered training pairs (reshuffled on every iteration).

    image_size: 256 or (height, width); direction: see `_pairs`."""
    pairs = _resized_train_pairs(builder, image_size, split, direction)
    if shuffle:
        pairs = pairs.shuffle(1000, seed=seed, reshuffle_each_iteration=True)
    pairs = pairs.map(lambda a, b: random_jitter(to_float(a), to_float(b), image_size),
                      num_parallel_calls=tf.data.AUTOTUNE)
    return pairs.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def make_training_stream(builder, image_size, batch_size: int, seed: int,
                         steps_per_epoch: int | None = None, start_epoch: int = 0,
                         split: str = "train",
                         direction: str | None = None) -> tuple[tf.data.Dataset, int]:
    """(endless jittered batches positioned at `start_epoch`, steps per epoch) for `fit`.

    Shuffle-then-repeat reshuffles every pass in an order fixed by `seed`, and pair i of the
    stream is jittered with the stateless seed (seed, i): skipping the pairs of the epochs
    already trained puts a resumed run on exactly the batches of an uninterrupted one.
    steps_per_epoch None: one pass over the pairs per epoch.
    """
    count = builder.info.splits[split].num_examples
    steps = steps_per_epoch or count // batch_size
    if steps < 1:
        raise InvalidArgument("batch_size", f"{batch_size} is more than the {count} {split} pairs")
    pairs = _resized_train_pairs(builder, image_size, split, direction)
    stream = pairs.shuffle(1000, seed=seed, reshuffle_each_iteration=True).repeat()
    stream = stream.enumerate().skip(start_epoch * steps * batch_size)

    def jitter(index, pair):
        pair_seed = tf.stack([tf.constant(seed, tf.int64), index])
        return random_jitter(to_float(pair[0]), to_float(pair[1]), image_size, seed=pair_seed)

    stream = stream.map(jitter, num_parallel_calls=tf.data.AUTOTUNE)
    return stream.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE), steps


def make_test_dataset(builder, image_size, batch_size: int = 1, split: str = "test",
                      cache: bool = True, drop_remainder: bool = False,
                      direction: str | None = None) -> tf.data.Dataset:
    """Resized pairs in file order; cache=False for a partial read (no cache warning);
    drop_remainder for validation under tf.distribute, where a last batch smaller than the
    number of replicas would leave a replica without data."""
    pairs = _pairs(builder, split, direction).map(
        lambda a, b: tuple(to_float(x) for x in resize_pair(a, b, image_size)),
        num_parallel_calls=tf.data.AUTOTUNE)
    if cache and _should_cache(builder, split, image_size):
        pairs = pairs.cache()
    return pairs.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


@dataclasses.dataclass(frozen=True)
class Splits:
    """How a data set's splits are used; TFDS split names, slices included.

    train: what the model learns from. validation: what selects checkpoints (best.keras) and
    shows sample grids. test: what `evaluate` reports; training never reads it.
    """

    train: str
    validation: str
    test: str


def splits(builder) -> Splits:
    """The data set's own validation split where it has one (the paper's archives ship val/),
    else the last tenth of train (at least one pair), carved deterministically; test is the
    test split, or the validation split for data sets that ship no test split."""
    available = builder.info.splits
    name = f"{builder.name}/{builder.builder_config.name}"
    if "test" in available:
        test = "test"
    elif "validation" in available:
        test = "validation"
    else:
        raise ValueError(f"{name} has no test or validation split to evaluate on")
    if "validation" in available and test != "validation":
        return Splits("train", "validation", test)
    count = available["train"].num_examples
    held = max(1, count * VALIDATION_PERCENT // 100)
    if count - held < 1:
        raise ValueError(f"{name}: {count} training pair(s) are too few to hold out validation "
                         "pairs as well")
    return Splits(f"train[:{count - held}]", f"train[{count - held}:]", test)
