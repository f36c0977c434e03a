"""FCN-score: label maps -> classes, the metrics, the segmenter (accuracy, determinism, cache)
and the score of real photos against a barely trained generator."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from tests.conftest import run_python_json
from tfcreative.datasets.pix2pix import synthetic_facades
from tfcreative.datasets.pix2pix.pix2pix_dataset_builder import Pix2PixConfig
from tfcreative.pix2pix import fcn_score, pipeline, segmenter
from tfcreative.pix2pix.evaluation import format_results
from tfcreative.pix2pix.label_maps import FACADES, NotALabelMapError, palette_for

# The tests' segmenter: 64 px photos of synthetic_facades (resized from 256 px), width 16,
# 150 steps of 32 photos: ~40 s on 2 busy cores. Chosen on the validation split (trained on
# train: per-pixel accuracy 0.939 / 0.951 / 0.953, per-class accuracy 0.717 / 0.805 / 0.799,
# class IoU 0.693 / 0.772 / 0.762 for seeds 0 / 1 / 2; 100 steps came within 0.01-0.03 of the
# thresholds, 200 steps took a third longer); on the test split it measured per-pixel
# accuracy 0.942 / 0.954 / 0.955, per-class accuracy 0.722 / 0.804 / 0.802, class IoU
# 0.701 / 0.776 / 0.770. The thresholds, unchanged from 200 steps, leave a margin under the
# worst (0.04, 0.07, 0.10).
TINY_BUDGET = segmenter.SegmenterBudget(width=16, steps=150)
SIZE = 64
MIN_TEST_SCORES = {"fcn_pixel_accuracy": 0.90, "fcn_class_accuracy": 0.65, "fcn_class_iou": 0.60}


def _to_float(images):
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def _tiny_synthetic(tmp_path, name, num_train, num_test, size=32):
    builder = tfds.builder("pix2pix", config=Pix2PixConfig(
        name=name, kind="synthetic", image_size=size, num_train=num_train, num_test=num_test),
        data_dir=str(tmp_path))
    builder.download_and_prepare()
    return builder


# -- label maps -------------------------------------------------------------------------------


def test_label_maps_become_their_classes_even_after_jpeg():
    rng = np.random.default_rng(0)
    labels = synthetic_facades.draw_label_map(rng, 128)
    label_map = synthetic_facades.PALETTE[labels]
    indices, off = FACADES.classify(_to_float(label_map[None]))
    np.testing.assert_array_equal(indices[0].numpy(), labels)
    assert not off.numpy().any()
    # JPEG noise: nearest colours still give the classes. (With 4:2:0 chroma subsampling,
    # JPEG's default, 1-2 px structures lose their colour: ~18 % of the pixels of these
    # 128 px maps change class, ~10 % at 256 px; the map still passes as a label map.)
    full_chroma = tf.io.encode_jpeg(label_map, quality=90, chroma_downsampling=False)
    indices, _ = FACADES.classify(_to_float(tf.io.decode_jpeg(full_chroma)[None]))
    assert np.mean(indices[0].numpy() == labels) > 0.99
    FACADES.check(_to_float(tf.io.decode_jpeg(tf.io.encode_jpeg(label_map))[None]), "a JPEG")


def test_photos_are_not_label_maps():
    photos = np.stack([synthetic_facades.facade_pair(0, i, 64)[1] for i in range(3)])
    assert float(tf.reduce_min(FACADES.off_palette_fraction(_to_float(photos)))) > 0.9
    with pytest.raises(NotALabelMapError, match="the FCN-score needs label maps in the CMP "
                                                "facades palette .* of image 0 are farther"):
        FACADES.check(_to_float(photos), "my photos")


def test_data_sets_without_label_map_inputs_are_refused(tmp_path):
    with pytest.raises(NotALabelMapError, match="pix2pix/maps: the FCN-score needs inputs that "
                                                "are label maps"):
        palette_for(tfds.builder("pix2pix/maps", data_dir=str(tmp_path)))
    assert palette_for(tfds.builder("pix2pix/facades", data_dir=str(tmp_path))) is FACADES


# -- metrics ----------------------------------------------------------------------------------


def test_scores_of_a_hand_made_confusion_matrix():
    # rows: true class, columns: predicted. Class 2 is predicted but never true; class 3 is
    # neither (left out of both means).
    confusion = [[3, 1, 0, 0],
                 [0, 2, 2, 0],
                 [0, 0, 0, 0],
                 [0, 0, 0, 0]]
    scores = fcn_score.scores_from_confusion(confusion)
    assert scores["fcn_pixel_accuracy"] == pytest.approx(5 / 8)
    assert scores["fcn_class_accuracy"] == pytest.approx((3 / 4 + 2 / 4) / 2)
    assert scores["fcn_class_iou"] == pytest.approx((3 / 4 + 2 / 5 + 0) / 3)
    assert scores["fcn_per_class_accuracy"] == [0.75, 0.5, None, None]
    assert scores["fcn_per_class_iou"][3] is None and scores["fcn_pixels"] == 8
    perfect = fcn_score.scores_from_confusion(np.diag([5, 1, 0, 7]))
    assert [perfect[k] for k in fcn_score.METRICS] == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="no pixels"):
        fcn_score.scores_from_confusion(np.zeros((3, 3)))


def _oracle_and_constant_models():
    """An 'oracle' segmenter reading classes off label-map colours, and one always saying
    'facade' (class 1): their confusion matrices are known exactly."""

    def oracle(photos, training=False):
        return tf.one_hot(FACADES.classify(photos)[0], FACADES.num_classes)

    def constant(photos, training=False):
        return tf.one_hot(tf.ones(tf.shape(photos)[:3], tf.int32), FACADES.num_classes)

    return oracle, constant


def test_confusion_is_accumulated_over_uneven_batches():
    label_maps = np.stack([synthetic_facades.facade_pair(0, i, 32)[0] for i in range(5)])
    batches = [(_to_float(label_maps[a:b]),) * 2 for a, b in ((0, 2), (2, 4), (4, 5))]
    oracle, constant = _oracle_and_constant_models()
    truth = FACADES.classify(_to_float(label_maps))[0].numpy().reshape(-1)
    counts = np.bincount(truth, minlength=FACADES.num_classes)

    confusion = fcn_score.FcnScorer(oracle, FACADES).confusion(batches)
    np.testing.assert_array_equal(confusion, np.diag(counts))
    scores = fcn_score.FcnScorer(constant, FACADES).score(batches)
    assert scores["fcn_pixels"] == truth.size == 5 * 32 * 32
    assert scores["fcn_pixel_accuracy"] == pytest.approx(counts[1] / truth.size)
    present = np.count_nonzero(counts)
    assert scores["fcn_class_accuracy"] == pytest.approx(1 / present)
    assert scores["fcn_class_iou"] == pytest.approx(counts[1] / truth.size / present)


def test_scoring_with_inputs_that_are_not_label_maps_is_an_error():
    label_map, photo = synthetic_facades.facade_pair(0, 0, 32)
    oracle, _ = _oracle_and_constant_models()
    swapped = [(_to_float(photo[None]), _to_float(label_map[None]))]  # (input, target) swapped
    with pytest.raises(NotALabelMapError, match="real photos, images 0-0: the FCN-score needs "
                                                "label maps"):
        fcn_score.FcnScorer(oracle, FACADES).score_real_photos(swapped)


def test_table_prints_fcn_rows_and_dashes_for_numbers_a_column_lacks():
    table = format_results({
        "real photos": {"fcn_pixel_accuracy": 0.9, "fcn_class_accuracy": 0.8,
                        "fcn_class_iou": 0.7},
        "model": {"pairs": 3, "l1": 0.1, "psnr": 20.0, "ssim": 0.5, "sharpness": 1.0,
                  "fcn_pixel_accuracy": 0.5, "fcn_class_accuracy": 0.4, "fcn_class_iou": 0.3}})
    lines = {line.split("  ")[0]: line.split()[-2:] for line in table.splitlines()[1:]}
    assert lines["L1 (lower is better)"] == ["-", "0.1000"]
    assert lines["FCN class IoU (higher)"] == ["0.700", "0.300"]
    assert "FCN" not in format_results({"model": {"pairs": 3}})


# -- segmenter --------------------------------------------------------------------------------


def test_segmenter_network_shapes_and_size_check(tmp_path):
    model = segmenter.segmentation_unet(12, width=4, levels=3)
    assert model(tf.zeros((2, 40, 24, 3))).shape == (2, 40, 24, 12)
    budget = segmenter.SegmenterBudget()
    assert [budget.batch_size(s) for s in (128, 256, (128, 256), 1024)] == [8, 2, 4, 1]
    builder = tfds.builder("pix2pix/synthetic_facades", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match=r"image_size: \(64, 40\): the segmenter needs"):
        segmenter.train_segmenter(builder, (64, 40))
    with pytest.raises(ValueError, match="image_size: 40: .* sides that are multiples of 16"):
        segmenter.train_segmenter(builder, 40)


@pytest.mark.slow
def test_same_seed_same_weights(tmp_path):
    builder = _tiny_synthetic(tmp_path, "synthetic_seeded", 16, 4)
    budget = segmenter.SegmenterBudget(width=4, steps=4, pixels_per_step=4 * 32 * 32)

    def weights(seed):
        model = segmenter.train_segmenter(builder, 32, FACADES, budget, seed=seed, verbose=0)
        return model.get_weights()

    first, again, other = weights(0), weights(0), weights(1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_segmenter_training_refuses_inputs_that_are_not_label_maps(tmp_path, monkeypatch):
    builder = _tiny_synthetic(tmp_path, "synthetic_swapped", 8, 2)
    # The same data with photos as inputs, as a data set like maps or edges2shoes has them.
    real_make = pipeline.make_test_dataset
    monkeypatch.setattr(pipeline, "make_test_dataset", lambda *a, **k: real_make(*a, **k).map(
        lambda x, y: (y, x)))
    monkeypatch.setattr(keras.Model, "fit", lambda *a, **k: pytest.fail("trained anyway"))
    with pytest.raises(NotALabelMapError, match="synthetic_swapped, split train, inputs 0-7"):
        segmenter.train_segmenter(builder, 32, FACADES, verbose=0)


@pytest.fixture(scope="module")
def fcn_builder(tmp_path_factory):
    """synthetic_facades itself: 400 train / 100 validation / 100 test pairs at 256 px."""
    return pipeline.prepare_builder("synthetic_facades",
                                    data_dir=str(tmp_path_factory.mktemp("fcn")))


@pytest.fixture(scope="module")
def tiny_scorer(fcn_builder):
    return fcn_score.load_or_train_scorer(fcn_builder, SIZE, budget=TINY_BUDGET, verbose=0)


@pytest.mark.slow
def test_segmenter_reaches_its_accuracy_on_real_test_photos(tiny_scorer, fcn_builder):
    own = tiny_scorer.info["test_scores"]
    print({k: round(own[k], 3) for k in fcn_score.METRICS}, tiny_scorer.info["train_seconds"])
    assert tiny_scorer.info["test_split"] == "test" and own["fcn_pixels"] == 100 * SIZE * SIZE
    for metric, minimum in MIN_TEST_SCORES.items():
        assert own[metric] > minimum, metric
    # fcn_scores' "real photos" row is the same measurement.
    again = fcn_score.fcn_scores({}, fcn_builder, SIZE, scorer=tiny_scorer)
    assert again[fcn_score.REAL_PHOTOS]["fcn_pixel_accuracy"] == pytest.approx(
        own["fcn_pixel_accuracy"])


@pytest.mark.slow
def test_real_photos_score_higher_than_a_barely_trained_generator(tiny_scorer, fcn_builder):
    from tfcreative.pix2pix.model import Pix2Pix
    from tfcreative.pix2pix.networks import patchgan_discriminator, unet_generator

    keras.utils.set_random_seed(0)
    model = Pix2Pix(unet_generator(SIZE, ngf=8), patchgan_discriminator(ndf=8))
    model.compile()
    stream, _ = pipeline.make_training_stream(fcn_builder, SIZE, batch_size=4, seed=0)
    model.fit(stream, steps_per_epoch=10, epochs=1, verbose=0, shuffle=False)
    results = fcn_score.fcn_scores({"barely trained": model,
                                    "label maps": lambda x, training: x},
                                   fcn_builder, SIZE, scorer=tiny_scorer)
    print({name: {k: round(v[k], 3) for k in fcn_score.METRICS}
           for name, v in results.items()})
    real = results[fcn_score.REAL_PHOTOS]
    for name in ("barely trained", "label maps"):
        assert real["fcn_pixel_accuracy"] > results[name]["fcn_pixel_accuracy"] + 0.2
        assert real["fcn_class_iou"] > results[name]["fcn_class_iou"]


@pytest.mark.slow
def test_the_cache_is_reused_versioned_and_loads_in_a_fresh_process(tiny_scorer, fcn_builder,
                                                                     monkeypatch):
    directory = segmenter.cache_dir(fcn_builder, SIZE, 0, TINY_BUDGET)
    config_dir = os.path.dirname(os.fspath(fcn_builder.data_dir))  # .../synthetic_facades
    assert os.path.dirname(directory) == config_dir
    assert sorted(os.listdir(directory)) == ["info.json", "model.keras"]
    assert sorted(os.listdir(config_dir)) == [str(fcn_builder.version),
                                              os.path.basename(directory)]
    with open(os.path.join(directory, "info.json")) as f:
        assert json.load(f)["recipe"]["version"] == segmenter.VERSION

    trained = []

    def fake_training(*args, **kwargs):
        trained.append(args)
        return segmenter.segmentation_unet(FACADES.num_classes, width=2)

    monkeypatch.setattr(segmenter, "train_segmenter", fake_training)
    cached = fcn_score.load_or_train_scorer(fcn_builder, SIZE, budget=TINY_BUDGET, verbose=0)
    assert not trained
    photos = tf.random.uniform((2, SIZE, SIZE, 3), -1, 1, seed=1)
    np.testing.assert_allclose(cached.model(photos), tiny_scorer.model(photos), atol=1e-5)
    assert cached.info == tiny_scorer.info

    # A record that does not match the data, or a new recipe version, means training again.
    recipe = segmenter.recipe(fcn_builder, SIZE, FACADES, 0, TINY_BUDGET, "train")
    assert segmenter.load_cached(directory, recipe) is not None
    assert segmenter.load_cached(directory, {**recipe, "split_sha256": "other pairs"}) is None
    monkeypatch.setattr(segmenter, "VERSION", segmenter.VERSION + 1)
    assert segmenter.cache_dir(fcn_builder, SIZE, 0, TINY_BUDGET) != directory
    fcn_score.load_or_train_scorer(fcn_builder, SIZE, budget=TINY_BUDGET, verbose=0)
    assert len(trained) == 1
    assert os.path.isdir(segmenter.cache_dir(fcn_builder, SIZE, 0, TINY_BUDGET))

    loaded = run_python_json(
        "import json, keras, numpy as np\n"
        f"m = keras.models.load_model({os.path.join(directory, 'model.keras')!r})\n"
        f"print(json.dumps({{'shape': list(m(np.zeros((1, {SIZE}, {SIZE}, 3))).shape)}}))")
    assert loaded["shape"] == [1, SIZE, SIZE, 12]


@pytest.mark.slow
def test_the_cache_of_your_own_pairs_survives_their_preparation(tmp_path, monkeypatch):
    """TFDS rebuilds `manual` data sets on every preparation; the cache lives beside them."""
    for i in range(10):
        split = "test" if i < 2 else "train"
        for folder, image in zip("AB", synthetic_facades.facade_pair(3, i, 32), strict=True):
            (tmp_path / "pairs" / split / folder).mkdir(parents=True, exist_ok=True)
            (tmp_path / "pairs" / split / folder / f"{i}.png").write_bytes(
                tf.io.encode_png(image).numpy())

    def prepare():
        return pipeline.prepare_builder(manual_dir=str(tmp_path / "pairs"),
                                        data_dir=str(tmp_path / "tfds"))

    budget = segmenter.SegmenterBudget(width=2, steps=2)
    first = fcn_score.load_or_train_scorer(prepare(), 32, budget=budget, verbose=0)
    monkeypatch.setattr(segmenter, "train_segmenter", lambda *a, **k: pytest.fail("trained"))
    again = fcn_score.load_or_train_scorer(prepare(), 32, budget=budget, verbose=0)
    assert again.info == first.info
    # Other pairs in the same place (as many as before): retrained.
    for folder, image in zip("AB", synthetic_facades.facade_pair(4, 9, 32), strict=True):
        (tmp_path / "pairs" / "train" / folder / "9.png").write_bytes(
            tf.io.encode_png(image).numpy())
    with pytest.raises(pytest.fail.Exception, match="trained"):
        fcn_score.load_or_train_scorer(prepare(), 32, budget=budget, verbose=0)


@pytest.mark.slow
def test_photo_to_label_pairs_in_the_other_direction_and_non_square_sizes(tmp_path,
                                                                         monkeypatch):
    """Pairs whose A side is the photo: scored with direction BtoA, at 32×64 px."""
    trained_on = []
    real_data = segmenter.segmentation_data

    def spy(*args, **kwargs):  # what the segmenter is fed as photos
        data, steps = real_data(*args, **kwargs)
        photos, classes = next(iter(data))
        trained_on.append((photos.shape, float(tf.reduce_min(FACADES.off_palette_fraction(
            photos)))))
        return data, steps

    monkeypatch.setattr(segmenter, "segmentation_data", spy)
    for i in range(6):
        split = "test" if i < 2 else "train"
        labels, photo = synthetic_facades.facade_pair(5, i, 32)
        for folder, image in (("A", photo), ("B", labels)):
            (tmp_path / "pairs" / split / folder).mkdir(parents=True, exist_ok=True)
            (tmp_path / "pairs" / split / folder / f"{i}.png").write_bytes(
                tf.io.encode_png(image).numpy())
    builder = pipeline.prepare_builder(manual_dir=str(tmp_path / "pairs"),
                                       data_dir=str(tmp_path / "tfds"))
    budget = segmenter.SegmenterBudget(width=2, steps=2)
    with pytest.raises(NotALabelMapError, match=r"pix2pix/manual_[0-9a-f]+, split train"):
        fcn_score.load_or_train_scorer(builder, (32, 64), budget=budget, verbose=0)
    results = fcn_score.fcn_scores({"identity": lambda x, training: x}, builder, (32, 64),
                                   direction="BtoA", budget=budget, verbose=0)
    assert results["identity"]["fcn_pixels"] == 2 * 32 * 64
    (shape, off_palette), = trained_on
    assert shape[1:] == (32, 64, 3) and off_palette > 0.9  # photos, not label maps
    assert os.path.isdir(segmenter.cache_dir(builder, (32, 64), 0, budget, "BtoA"))
    assert segmenter.cache_dir(builder, (32, 64), 0, budget, "BtoA").endswith(
        f"_32x64px_v{segmenter.VERSION}_seed0_BtoA_w2l4s2p131072lr0.002")


def test_a_failed_save_keeps_the_old_cache_and_leaves_no_temporary_folder(tmp_path):
    directory = str(tmp_path / "fcn_segmenter_x")
    model = segmenter.segmentation_unet(3, width=2, levels=1)
    segmenter.save_cache(model, {"n": 1}, directory)

    class Boom(RuntimeError):
        pass

    def broken_save(*args, **kwargs):
        raise Boom

    broken = segmenter.segmentation_unet(3, width=2, levels=1)
    broken.save = broken_save
    with pytest.raises(Boom):
        segmenter.save_cache(broken, {"n": 2}, directory)

    def info():
        with open(os.path.join(directory, "info.json")) as f:
            return json.load(f)

    assert os.listdir(tmp_path) == ["fcn_segmenter_x"] and info() == {"n": 1}
    keras.models.load_model(os.path.join(directory, "model.keras"))
    segmenter.save_cache(model, {"n": 3}, directory)  # replaces the old cache
    assert os.listdir(tmp_path) == ["fcn_segmenter_x"] and info() == {"n": 3}
