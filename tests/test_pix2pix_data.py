"""Pix2Pix data: synthetic facades, paired folders, dataset directions, aligned jitter."""

import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from tests.conftest import REPO
from tfcreative.datasets.pix2pix import synthetic_facades
from tfcreative.pix2pix import pipeline

PAPER_DUMMY = os.path.join(REPO, "datasets", "pix2pix", "dummy_data", "paper")


def test_synthetic_pairs_are_deterministic_per_seed_and_index():
    a = synthetic_facades.facade_pair(3, 7, 64)
    b = synthetic_facades.facade_pair(3, 7, 64)
    c = synthetic_facades.facade_pair(3, 8, 64)
    d = synthetic_facades.facade_pair(4, 7, 64)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[1], d[1])
    assert a[0].shape == a[1].shape == (64, 64, 3) and a[0].dtype == np.uint8


def test_synthetic_label_maps_use_only_the_facade_palette_and_real_classes():
    labels, photo = synthetic_facades.facade_pair(0, 0, 128)
    colours = {tuple(c) for c in labels.reshape(-1, 3)}
    palette = {tuple(c) for c in synthetic_facades.PALETTE}
    assert colours <= palette
    names = {synthetic_facades.CLASSES[i] for i, c in enumerate(synthetic_facades.PALETTE)
             if tuple(c) in colours}
    assert {"background", "facade", "window", "cornice", "molding"} <= names
    assert photo.std() > 10  # a rendering, not a flat image


def _builder(config, tmp_path):
    return tfds.builder(f"pix2pix/{config}", data_dir=str(tmp_path))


@pytest.mark.parametrize("config, input_channel", [("facades", 2), ("maps", 0)])
def test_paper_configs_respect_the_dataset_direction(config, input_channel, tmp_path):
    """Dummy A|B images: A is red, B is blue. facades is B->A, maps is A->B."""
    builder = _builder(config, tmp_path)
    folder = pipeline.pix2pix_dataset_builder.epath.Path(PAPER_DUMMY) / config / "train"
    (_, example), *_ = builder._generate_examples(folder, builder._pair_candidates(folder))
    assert example["input_image"][8:, 8:].mean(axis=(0, 1)).argmax() == input_channel
    assert example["target_image"][8:, 8:].mean(axis=(0, 1)).argmax() == 2 - input_channel


def test_a_folder_without_usable_pairs_is_an_error_naming_it(tmp_path):
    folder = tmp_path / "pairs"
    (folder / "A").mkdir(parents=True)
    (folder / "B").mkdir()
    (folder / "A" / "x.png").write_bytes(tf.io.encode_png(np.zeros((8, 8, 3), np.uint8)).numpy())
    (folder / "B" / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(ValueError, match="pairs: no usable image pair"):
        pipeline.prepare_builder(manual_dir=str(folder), data_dir=str(tmp_path / "tfds"))
    with pytest.raises(FileNotFoundError, match="no such folder"):
        pipeline.prepare_builder(manual_dir=str(tmp_path / "missing"))


def test_jitter_crops_and_mirrors_input_and_target_identically():
    rng = np.random.default_rng(0)
    target = tf.constant(rng.uniform(-1, 1, (36, 36, 3)), tf.float32)
    input_image = -target  # any pixelwise function of the target must survive jitter
    crops, flips = set(), 0
    for seed in range(20):
        tf.random.set_seed(seed)
        a, b = pipeline.random_jitter(input_image, target, 32)
        np.testing.assert_array_equal(a.numpy(), -b.numpy())
        assert a.shape == (32, 32, 3)
        crops.add(float(b[0, 0, 0]))
        flipped = tf.reverse(b, axis=[1])
        flips += any(np.array_equal(flipped.numpy(), target.numpy()[y:y + 32, x:x + 32])
                     for y in range(5) for x in range(5))
    assert len(crops) > 5  # crop positions vary
    assert 3 <= flips <= 17  # about half are mirrored


def test_train_and_test_pipelines_shapes_and_range(tmp_path):
    from tfcreative.datasets.pix2pix.pix2pix_dataset_builder import Pix2PixConfig

    builder = tfds.builder("pix2pix", config=Pix2PixConfig(
        name="synthetic_tiny", kind="synthetic", image_size=40, num_train=6, num_test=3),
        data_dir=str(tmp_path))
    builder.download_and_prepare()
    x, y = next(iter(pipeline.make_train_dataset(builder, 32, batch_size=2, seed=0)))
    assert x.shape == y.shape == (2, 32, 32, 3)
    assert -1.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(y)) <= 1.0
    test = list(pipeline.make_test_dataset(builder, 32, batch_size=2))
    assert [t[0].shape[0] for t in test] == [2, 1]  # deterministic, keeps the last pair
    again = list(pipeline.make_test_dataset(builder, 32, batch_size=2))
    np.testing.assert_array_equal(test[0][1], again[0][1])
    assert pipeline.jitter_shape(256) == (286, 286)
    assert pipeline.jitter_shape((128, 256)) == (143, 286)


@pytest.mark.parametrize("bad", ["A", "B"])
def test_a_corrupt_image_of_a_pair_is_named_itself(bad, tmp_path, caplog):
    folder = tmp_path / "pairs"
    good = tf.io.encode_png(np.zeros((8, 8, 3), np.uint8)).numpy()
    for side in "AB":
        (folder / side).mkdir(parents=True)
        (folder / side / "ok.png").write_bytes(good)
        (folder / side / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n broken" if side == bad
                                               else good)
    builder = _builder("manual", tmp_path)
    path = pipeline.pix2pix_dataset_builder.epath.Path(folder)
    with caplog.at_level("WARNING"):
        kept = list(builder._generate_examples(path, builder._pair_candidates(path)))
    assert [name for name, _ in kept] == ["ok.png"]
    assert f"pix2pix: skipped {folder / bad / 'x.png'}: corrupt or truncated image" \
        in caplog.text
    other = "B" if bad == "A" else "A"
    assert f"skipped {folder / other / 'x.png'}" not in caplog.text


def _pairs_folder(folder, names_and_values: dict[str, int]):
    """A/ and B/ folders of 8x8 grey pairs, one per name, filled with the given value."""
    for side in "AB":
        (folder / side).mkdir(parents=True, exist_ok=True)
        for name, value in names_and_values.items():
            png = tf.io.encode_png(np.full((8, 8, 3), value, np.uint8)).numpy()
            (folder / side / f"{name}.png").write_bytes(png)
    return str(folder)


def _file_names(builder) -> set[str]:
    return {example["file_name"].decode() for split in builder.info.splits
            for example in tfds.as_numpy(builder.as_dataset(split=split))}


def test_two_runs_on_different_pairs_never_share_a_data_set(tmp_path, monkeypatch):
    """A second run prepares its pairs while the first is half-way through its own, in the
    same data_dir: each gets its own pairs (they shared pix2pix/manual, rebuilt by each)."""
    from tfcreative.datasets.pix2pix.pix2pix_dataset_builder import Builder

    mine = _pairs_folder(tmp_path / "mine", {"mine": 10})
    theirs = _pairs_folder(tmp_path / "theirs", {"theirs": 200})
    data_dir = str(tmp_path / "tfds")
    prepare = Builder._split_generators
    other_run = {}

    def interleaved(self, dl_manager):
        if not other_run:  # the other run, while this one is preparing
            other_run["started"] = True
            other_run["builder"] = pipeline.prepare_builder(manual_dir=theirs, data_dir=data_dir)
        return prepare(self, dl_manager)

    monkeypatch.setattr(Builder, "_split_generators", interleaved)
    builder = pipeline.prepare_builder(manual_dir=mine, data_dir=data_dir)
    assert _file_names(builder) == {"mine.png"}
    assert _file_names(other_run["builder"]) == {"theirs.png"}


def test_unchanged_pairs_are_prepared_once_and_reused(tmp_path, monkeypatch):
    from tfcreative.datasets.pix2pix.pix2pix_dataset_builder import Builder

    folder = _pairs_folder(tmp_path / "pairs", {"one": 10})
    data_dir = str(tmp_path / "tfds")
    first = pipeline.prepare_builder(manual_dir=folder, data_dir=data_dir)

    def rebuilt(self, dl_manager):
        raise AssertionError("prepared again although the pairs did not change")

    monkeypatch.setattr(Builder, "_split_generators", rebuilt)
    again = pipeline.prepare_builder(manual_dir=folder, data_dir=data_dir)
    assert _file_names(again) == {"one.png"} and again.data_path == first.data_path
    _pairs_folder(tmp_path / "pairs", {"two": 20})  # new content: prepared apart
    monkeypatch.undo()
    changed = pipeline.prepare_builder(manual_dir=folder, data_dir=data_dir)
    assert _file_names(changed) == {"one.png", "two.png"}
    assert changed.data_path != first.data_path


def test_preparing_pairs_leaves_the_seeded_random_state_alone(tmp_path):
    import random

    import keras

    folder = _pairs_folder(tmp_path / "pairs", {"one": 10})
    draws = []
    for _ in ("prepared now", "prepared before"):
        keras.utils.set_random_seed(0)
        pipeline.prepare_builder(manual_dir=folder, data_dir=str(tmp_path / "tfds"))
        draws.append(random.random())
    assert draws[0] == draws[1]
