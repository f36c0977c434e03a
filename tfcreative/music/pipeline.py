"""tf.data input for the music model: TFDS tunes -> character windows -> (input, target) batches.

Tunes are joined with a blank line (`TUNE_SEPARATOR`), exactly as they sit in an ABC file, so
the model learns where a tune ends; generation stops when it writes that separator.
"""

from __future__ import annotations

import logging
import os
import re

import tensorflow as tf
import tensorflow_datasets as tfds
from etils import epath

from tfcreative.abc_notation import TUNE_SEPARATOR
from tfcreative.datasets.abc_tunes import abc_tunes_dataset_builder  # registers abc_tunes
from tfcreative.errors import ArgumentPathNotFound, InvalidArgument
from tfcreative.music.vocabulary import CharVocabulary
from tfcreative.preparing_data import python_random_state_kept

logger = logging.getLogger(__name__)

_BUILDER = abc_tunes_dataset_builder.Builder
BUNDLED_DATASET = f"{_BUILDER.name}/{abc_tunes_dataset_builder.BUNDLED_CONFIG}"


# The abc_tunes configs a `collection` may name (`manual` is chosen by passing abc_path).
COLLECTIONS = tuple(config.name for config in _BUILDER.BUILDER_CONFIGS
                    if config.name != abc_tunes_dataset_builder.MANUAL_CONFIG)


def prepare_builder(
    abc_path: str | None = None, data_dir: str | None = None,
    collection: str | abc_tunes_dataset_builder.AbcTunesConfig | None = None
) -> tfds.core.DatasetBuilder:
    """Builds (or reuses) the TFDS dataset: a collection (default: the bundled corpus), or the
    user's `.abc` files.

    collection: an abc_tunes config (`COLLECTIONS`: irish_folk, music21's public-domain books,
    combined, the clean configs), or a config of your own choice of collections
    (`abc_tunes_dataset_builder.collections_config`, e.g. every collection but one); not with
    abc_path. Either is prepared once per data_dir; a user's tunes once per content
    (`abc_tunes_dataset_builder.tunes_config`: a version folder keyed by their files' names
    and bytes), so runs on other tunes never share a data set, and changed tunes are prepared
    again.
    """
    custom = isinstance(collection, abc_tunes_dataset_builder.AbcTunesConfig)
    if collection is not None and not custom and collection not in COLLECTIONS:
        raise InvalidArgument("collection", f"expected one of {', '.join(COLLECTIONS)}, got "
                                            f"{collection!r}")
    if abc_path is not None and collection is not None:
        raise InvalidArgument("collection", "give a collection or your own tunes (abc_path), "
                                            "not both")
    if abc_path is None:
        name = collection or abc_tunes_dataset_builder.BUNDLED_CONFIG
        builder = _BUILDER(config=collection, data_dir=data_dir) if custom else \
            tfds.builder(f"{_BUILDER.name}/{name}", data_dir=data_dir)
        with python_random_state_kept():
            builder.download_and_prepare()
        return builder
    config = _tunes_config(abc_path)
    try:
        builder = _BUILDER(config=config, data_dir=data_dir)
        with python_random_state_kept():
            builder.download_and_prepare()
    except OSError:
        # Another run prepared the same tunes at the same moment and renamed its copy into
        # place first: the same content, so the same data.
        builder = _BUILDER(config=config, data_dir=data_dir)
        if not builder.data_path.exists():
            raise
    return builder


def _tunes_config(abc_path: str) -> abc_tunes_dataset_builder.AbcTunesConfig:
    """The config of the user's tunes; an error naming abc_path unless it is a regular file
    or a folder that holds *.abc files."""
    abc_path = os.path.abspath(os.path.expanduser(abc_path))
    if not os.path.exists(abc_path):
        raise ArgumentPathNotFound("abc_path", f"{abc_path}: no such file or folder of .abc tunes")
    if not (os.path.isdir(abc_path) or os.path.isfile(abc_path)):
        raise InvalidArgument("abc_path", f"{abc_path}: not a regular file or folder (a pipe, "
                                          "socket or device?): expected a .abc file or a folder")
    if not abc_tunes_dataset_builder.find_abc_files(epath.Path(abc_path), warn=False):
        raise InvalidArgument("abc_path",
                              f"{abc_path}: no *.abc files found (searched recursively)")
    return abc_tunes_dataset_builder.tunes_config(abc_path)


def tune_texts(builder: tfds.core.DatasetBuilder, split: str) -> tf.data.Dataset:
    """The split as a dataset of tune texts (scalar tf.string), in a fixed order."""
    examples = builder.as_dataset(split=split, shuffle_files=False)
    return examples.map(lambda example: example["abc"], num_parallel_calls=tf.data.AUTOTUNE)


def read_texts(texts: tf.data.Dataset) -> list[str]:
    return [t.decode("utf-8") for t in tfds.as_numpy(texts)]


def build_vocabulary(texts: tf.data.Dataset) -> CharVocabulary:
    """Every character of the training tunes, plus the separator's newline."""
    return CharVocabulary.from_texts(read_texts(texts) + [TUNE_SEPARATOR])


def map_characters(texts: tf.data.Dataset, aliases: dict[str, str]) -> tf.data.Dataset:
    """The texts with each character of `aliases` written as its value (fine_tuning:
    characters a model does not know, written as the plain ones it does: é -> e)."""
    if not aliases:
        return texts

    def replace(text):
        for char, plain in sorted(aliases.items()):
            text = tf.strings.regex_replace(text, re.escape(char), plain.replace("\\", "\\\\"))
        return text

    return texts.map(replace, num_parallel_calls=tf.data.AUTOTUNE)


def encode_tunes(texts: tf.data.Dataset, vocabulary: CharVocabulary) -> tf.data.Dataset:
    """One long stream of character ids: tune, separator, tune, separator, ...

    Characters outside the vocabulary (possible in validation) get the OOV id 0.
    """
    table = vocabulary.id_table()

    def encode(text):
        return table.lookup(tf.strings.unicode_decode(text + TUNE_SEPARATOR, "UTF-8"))

    return texts.map(encode, num_parallel_calls=tf.data.AUTOTUNE).unbatch()


def make_windows(ids: tf.data.Dataset, seq_length: int) -> tf.data.Dataset:
    """Consecutive windows of seq_length+1 ids that overlap by one, split into (x, y).

    x = window[:-1], y = window[1:]: y is x shifted by one character. The one-id overlap means
    every transition of the corpus is a training target exactly once.
    """
    if seq_length < 1:
        raise ValueError(f"seq_length must be >= 1, got {seq_length}")
    chunks = ids.batch(seq_length, drop_remainder=True)
    next_first = chunks.skip(1).map(lambda chunk: chunk[:1])
    windows = tf.data.Dataset.zip(chunks, next_first)
    return windows.map(lambda chunk, nxt: (chunk, tf.concat([chunk[1:], nxt], axis=0)))


def cached_windows(texts: tf.data.Dataset, vocabulary: CharVocabulary, seq_length: int,
                   batch_size: int) -> tf.data.Dataset:
    """The (x, y) windows, cached after one counting pass that gives them a known length.

    Raises ValueError when there is not even one batch of windows.
    """
    windows = make_windows(encode_tunes(texts, vocabulary), seq_length).cache()
    # One counting pass (it also fills the cache) gives the dataset a known length: Keras then
    # shows epoch totals, and does not count a spurious extra optimizer step at the end of an
    # epoch of unknown length (seen with Keras 3.15).
    num_windows = int(windows.reduce(0, lambda count, _: count + 1))
    if num_windows < batch_size:
        raise ValueError(
            f"only {num_windows} windows of {seq_length + 1} characters in the data, fewer than "
            f"one batch of {batch_size}: use more tunes, a smaller batch or a shorter seq_length"
        )
    return windows.apply(tf.data.experimental.assert_cardinality(num_windows))


def make_train_dataset(
    texts: tf.data.Dataset,
    vocabulary: CharVocabulary,
    seq_length: int,
    batch_size: int,
    shuffle: bool = True,
    seed: int | None = None,
) -> tf.data.Dataset:
    """One pass of batches of (x, y), int32 [batch_size, seq_length], the windows shuffled
    (reshuffled on every pass); batch_size is the global batch.

    Windows are cached after the first pass; under tf.distribute, Keras splits each global
    batch across replicas. Partial batches are dropped so every step has the same shape.
    """
    windows = cached_windows(texts, vocabulary, seq_length, batch_size)
    if shuffle:
        windows = windows.shuffle(10_000, seed=seed, reshuffle_each_iteration=True)
    batches = windows.batch(batch_size, drop_remainder=True)
    return batches.prefetch(tf.data.AUTOTUNE)


def make_test_dataset(texts: tf.data.Dataset, vocabulary: CharVocabulary, seq_length: int,
                      batch_size: int) -> tf.data.Dataset:
    """`make_train_dataset`'s batches in the texts' order: for validation and evaluation."""
    return make_train_dataset(texts, vocabulary, seq_length, batch_size, shuffle=False)


def make_training_stream(
    texts: tf.data.Dataset,
    vocabulary: CharVocabulary,
    seq_length: int,
    batch_size: int,
    seed: int,
    steps_per_epoch: int | None = None,
    start_epoch: int = 0,
) -> tuple[tf.data.Dataset, int]:
    """(endless batches positioned at `start_epoch`, steps per epoch) for `model.fit`.

    Shuffle-then-repeat reshuffles every pass in an order fixed by `seed`; skipping the
    batches of the epochs already trained puts a run resumed from a backup on exactly the
    batches an uninterrupted run would see. steps_per_epoch None: one pass per epoch.
    """
    windows = cached_windows(texts, vocabulary, seq_length, batch_size)
    steps = steps_per_epoch or int(windows.cardinality()) // batch_size
    batches = windows.shuffle(10_000, seed=seed, reshuffle_each_iteration=True).batch(
        batch_size, drop_remainder=True).repeat()
    return batches.skip(start_epoch * steps).prefetch(tf.data.AUTOTUNE), steps
