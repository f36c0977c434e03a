"""tf.data input for Pix2Pix: TFDS pairs -> (input, target) float images in [-1, 1].

Training pairs get the paper's random jitter: resize to 286/256 of the image size, one random
crop applied identically to both images (they stay aligned), and a random mirror of both.
Test pairs are only resized. Nearest-neighbour resizing keeps label-map colours exact.

Pairs made from photos (the `photos_*` configs: any size and aspect ratio) are never resized
to the model's size: training takes random crops of the model's size at the photo's own scale
(the same crop of both images, and the mirror), test and validation the centre crop; a photo
smaller than the model on a side is first scaled up to cover it. A model trained so translates
larger images in tiles at their own scale (translate.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os

import tensorflow as tf
import tensorflow_datasets as tfds

# Importing the builder module registers "pix2pix" with TFDS.
from tfcreative.datasets.pix2pix import pair_check, pix2pix_dataset_builder
from tfcreative.datasets.pix2pix.photo_transforms import TRANSFORMS
from tfcreative.errors import ArgumentPathNotFound, InvalidArgument
from tfcreative.pix2pix.config import DEFAULT_DATASET, DIRECTIONS, image_shape
from tfcreative.preparing_data import python_random_state_kept

# Data sets by name (pix2pix/<name>); "manual" (your pairs) is chosen by passing manual_dir,
# "photos_<transform>" by passing photos_dir and transform.
DATASETS = tuple(c.name for c in pix2pix_dataset_builder.Builder.BUILDER_CONFIGS
                 if c.kind not in ("manual", "photos"))
PHOTO_PREFIX = "photos_"
logger = logging.getLogger(__name__)
CACHE_LIMIT_BYTES = 2 * 1024**3  # cache decoded pairs in memory below this size
VALIDATION_PERCENT = 10  # of train, when a data set has no validation split


def prepare_builder(dataset: str = DEFAULT_DATASET, data_dir: str | None = None,
                    manual_dir: str | None = None, photos_dir: str | None = None,
                    transform: str = "edges", strict: bool = False,
                    checked: pair_check.FolderReport | None = None) -> tfds.core.DatasetBuilder:
    """Builds (or reuses) pix2pix/<dataset>; `manual_dir` selects your own pairs, `photos_dir`
    your photos with inputs made by `transform` (a name of photo_transforms.TRANSFORMS, or the
    config's name, photos_<name>). A folder of yours is prepared once per content (its config
    is named by a key of its files' names and bytes: `manual_<key>`, `photos_edges_<key>`), so
    runs on other files never share a data set, and changed files are prepared again.

    Your folder is checked first (check_users_folder, unless `checked` is its report)."""
    if manual_dir is None and photos_dir is None:
        if dataset not in DATASETS:
            raise InvalidArgument("dataset", f"{dataset!r}: expected one of "
                                             f"{', '.join(DATASETS)}")
        builder = tfds.builder(f"pix2pix/{dataset}", data_dir=data_dir)
        with python_random_state_kept():
            builder.download_and_prepare()
        return builder
    report = checked or check_users_folder(manual_dir, photos_dir, transform, strict)
    name = "manual" if photos_dir is None else photo_config(transform)
    config = pix2pix_dataset_builder.users_config(name, report.folder,
                                                  pair_check.content_key(report.folder))
    with _builder_skips_muted(bool(report.problems)), python_random_state_kept():
        try:
            builder = pix2pix_dataset_builder.Builder(config=config, data_dir=data_dir)
            builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
                manual_dir=report.folder))
        except OSError:
            # Another run prepared the same files at the same moment and renamed its copy into
            # place first: the same content, so the same data.
            builder = pix2pix_dataset_builder.Builder(config=config, data_dir=data_dir)
            if not builder.data_path.exists():
                raise
    return builder


def photo_config(transform: str) -> str:
    """"edges" or "photos_edges" -> "photos_edges"; anything else is an error."""
    name = transform.removeprefix(PHOTO_PREFIX)
    if name not in TRANSFORMS:
        raise InvalidArgument("transform", f"{transform!r}: expected one of "
                                           f"{', '.join(TRANSFORMS)}")
    return f"{PHOTO_PREFIX}{name}"


def check_users_folder(manual_dir: str | None = None, photos_dir: str | None = None,
                       transform: str = "edges",
                       strict: bool = False) -> pair_check.FolderReport:
    """Your pairs (`manual_dir`) or photos (`photos_dir`), checked before anything is built or
    trained (pair_check): each file that would be skipped is logged, one line each, then their
    count; strict: any such file is an error."""
    if (manual_dir is None) == (photos_dir is None):
        raise InvalidArgument("photos_dir", "give your photos or your pairs (manual_dir): one "
                                            "of them")
    if photos_dir is not None:
        photo_config(transform)  # a bad name fails before the folder is read
    argument, folder = ("manual_dir", manual_dir) if photos_dir is None \
        else ("photos_dir", photos_dir)
    folder = os.path.abspath(os.path.expanduser(folder))
    if not os.path.isdir(folder):
        what = "image pairs" if photos_dir is None else "photos"
        raise ArgumentPathNotFound(argument, f"{folder}: no such folder of {what}")
    report = (pair_check.check_pairs if photos_dir is None else pair_check.check_photos)(folder)
    for problem in report.problems:
        logger.warning("pix2pix: %s", problem)
    if report.problems:
        logger.warning("pix2pix: %s", report.summary())
        if strict:
            raise InvalidArgument("strict", f"{report.summary()} (listed above); strict "
                                            "refuses them: fix or remove them")
    return report


class _DropSkipLines(logging.Filter):
    def filter(self, record) -> bool:
        return "skipped" not in record.getMessage()


@contextlib.contextmanager
def _builder_skips_muted(reported: bool):
    """While the builder reads a folder whose problems pair_check reported, its own lines about
    the same skipped files are left out."""
    builder_logger = logging.getLogger(pix2pix_dataset_builder.__name__)
    muting = _DropSkipLines()
    if reported:
        builder_logger.addFilter(muting)
    try:
        yield
    finally:
        builder_logger.removeFilter(muting)


def is_photos(builder) -> bool:
    """Pairs made from photos of any size: cropped at their own scale, never resized."""
    return builder.builder_config.kind == "photos"


def input_transform(builder, direction: str | None = None) -> str | None:
    """The photo transform that made the model's inputs (photos_<transform> in its own
    direction, e.g. "edges": edges in, photo out), else None (label maps, your pairs, or
    photos in: BtoA)."""
    if is_photos(builder) and direction in (None, dataset_direction(builder)):
        return builder.builder_config.transform
    return None


def is_colorization(builder, direction: str | None = None) -> bool:
    """Grey photos in, colour out (photos_grayscale in its own direction): colour.py."""
    return input_transform(builder, direction) == "grayscale"


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
    if is_photos(builder):  # photos keep their size, up to the config's max_side
        size = builder.builder_config.max_side
    height, width = image_shape(size)
    return builder.info.splits[split].num_examples * height * width * 3 * 2 < CACHE_LIMIT_BYTES


def cover_pair(input_image, target, size):
    """Both images scaled up (bilinear, aspect kept) just enough to cover `size` on both
    sides; images that already cover it are unchanged."""
    height, width = image_shape(size)
    shape = tf.cast(tf.shape(input_image)[:2], tf.float32)
    scale = tf.maximum(1.0, tf.reduce_max(tf.constant([height, width], tf.float32) / shape))
    covered = tf.cast(tf.math.ceil(shape * scale), tf.int32)

    def scale_up():
        pair = tf.image.resize(tf.stack([input_image, target]), covered, method="bilinear")
        return tf.cast(tf.clip_by_value(tf.round(pair), 0, 255), input_image.dtype)

    pair = tf.cond(scale > 1.0, scale_up, lambda: tf.stack([input_image, target]))
    return pair[0], pair[1]


def centre_crop_pair(input_image, target, size):
    """The centre `size` crop of both images (after cover_pair)."""
    height, width = image_shape(size)
    input_image, target = cover_pair(input_image, target, size)
    shape = tf.shape(input_image)
    top, left = (shape[0] - height) // 2, (shape[1] - width) // 2
    return (input_image[top:top + height, left:left + width],
            target[top:top + height, left:left + width])


def _resized_train_pairs(builder, image_size, split: str, direction=None) -> tf.data.Dataset:
    """Pairs ready for random_jitter's crop: resized to jitter_shape, or for photos covering
    the image size at their own scale."""
    if is_photos(builder):
        size, fit = image_size, cover_pair
    else:
        size, fit = jitter_shape(image_size), resize_pair
    pairs = _pairs(builder, split, direction).map(lambda a, b: fit(a, b, size),
                                                  num_parallel_calls=tf.data.AUTOTUNE)
    if _should_cache(builder, split, size):
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
    """Resized pairs (photos: centre crops) in file order; cache=False for a partial read (no
    cache warning); drop_remainder for validation under tf.distribute, where a last batch
    smaller than the number of replicas would leave a replica without data."""
    fit = centre_crop_pair if is_photos(builder) else resize_pair
    pairs = _pairs(builder, split, direction).map(
        lambda a, b: tuple(to_float(x) for x in fit(a, b, image_size)),
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
