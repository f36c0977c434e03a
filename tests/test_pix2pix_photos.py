"""Pix2Pix on real photos: the transforms, the folder check, crops, tiles, task numbers, and a
folder of photos -> trained model -> translate of a 1024x768 photo -> SavedModel and TF.js.

The photos are scikit-image's sample photographs (the test extra; CC0 or public domain:
docs/pix2pix_photos.md lists each one's licence).
"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from skimage import data

from tfcreative.cli.main import main
from tfcreative.datasets.pix2pix import pair_check, photo_transforms
from tfcreative.pix2pix import pipeline, task_metrics, tiling

PHOTOS = {name: getattr(data, name)()[..., :3] for name in
          ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry")}


def _png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tf.io.encode_png(np.ascontiguousarray(array)).numpy())


@pytest.mark.parametrize("name", list(photo_transforms.TRANSFORMS))
def test_every_transform_is_deterministic_and_keeps_the_photos_size(name):
    photo = PHOTOS["coffee"]
    made = photo_transforms.transform(name, photo, seed=3)
    assert made.shape == photo.shape and made.dtype == np.uint8
    np.testing.assert_array_equal(made, photo_transforms.transform(name, photo, seed=3))
    assert not np.array_equal(made, photo)


def test_edges_are_thin_black_lines_on_white_without_small_fragments():
    from scipy.ndimage import label

    for photo in PHOTOS.values():
        made = photo_transforms.edges(photo)
        assert set(np.unique(made)) <= {0, 255}
        assert (made[..., 0] == made[..., 1]).all() and (made[..., 1] == made[..., 2]).all()
        lines = made[..., 0] == 0
        assert 0.01 < lines.mean() < 0.2  # edges, not texture
        # Thin: almost no 2x2 block is all line (Canny's non-maximum suppression).
        blocks = lines[:-1, :-1] & lines[1:, :-1] & lines[:-1, 1:] & lines[1:, 1:]
        assert blocks.sum() < 0.01 * lines.sum()
        pieces, count = label(lines, np.ones((3, 3)))
        assert np.bincount(pieces.ravel())[1:].min() >= photo_transforms.EDGE_MIN_PIXELS


def test_masked_holes_depend_on_the_seed_and_the_photo_and_colour_transforms_behave():
    photo = PHOTOS["astronaut"]
    holes = photo_transforms.masked(photo, 0)
    assert not np.array_equal(holes, photo_transforms.masked(photo, 1))
    hidden = (holes != photo).any(-1).mean()
    assert 0.05 < hidden < 0.3
    grey = photo_transforms.grayscale(photo)
    assert (grey[..., 0] == grey[..., 2]).all()
    assert task_metrics.colourfulness(grey) < 1 < task_metrics.colourfulness(photo)
    for soft in (photo_transforms.downscaled(photo), photo_transforms.blurred(photo)):
        detail = [np.abs(np.diff(x.astype(float), axis=1)).mean() for x in (soft, photo)]
        assert detail[0] < 0.7 * detail[1]


def test_line_match_scores_the_same_drawing_1_and_a_blank_one_0():
    drawing = photo_transforms.edges(PHOTOS["rocket"])
    assert task_metrics.line_match(drawing, drawing)["line_f1"] == pytest.approx(1.0)
    shifted = np.roll(drawing, 2, axis=1)  # within the tolerance
    assert task_metrics.line_match(drawing, shifted)["line_f1"] > 0.95
    blank = np.full_like(drawing, 255)
    assert task_metrics.line_match(drawing, blank)["line_f1"] == 0.0


def test_the_folder_check_lists_every_problem_of_manual_pairs(tmp_path):
    from tests.conftest import REPO

    report = pair_check.check_pairs(os.path.join(REPO, "datasets", "pix2pix", "dummy_data",
                                                 "manual"))
    lines = sorted(str(p).split("dummy_data/manual/")[1] for p in report.problems)
    assert lines == [
        "test/notes.txt: not an image file (expected .jpg, .jpeg, .png, .bmp, .gif)",
        "train/B/corrupt.png: corrupt or truncated image",
        "train/B/mismatch.png: size mismatch: A/mismatch.png is 24x24, B/ is 12x12",
        "train/B/unpaired.png: no file named unpaired.* in A/",
    ]
    assert report.usable == 5 and "5 usable, 4 files would be skipped" in report.summary()


def test_photos_folder_problems_are_listed_before_the_build_and_strict_refuses(tmp_path, capsys,
                                                                                caplog):
    photos = tmp_path / "photos"
    _png(photos / "chelsea.png", PHOTOS["chelsea"][:64, :96])
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (photos / "notes.txt").write_text("not a photo")
    os.mkfifo(photos / "pipe.jpg")  # never opened: no hang
    run = tmp_path / "run"
    assert main(["pix2pix", "train", "--photos", str(photos), "--strict", "--run-dir", str(run),
                 "--data-dir", str(tmp_path / "tfds"), "--image-size", "32"]) == 2
    logged = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert [line.rsplit("/", 1)[-1] for line in logged] == [
        "broken.jpg: corrupt or truncated image",
        "notes.txt: not an image file (expected .jpg, .jpeg, .png, .bmp, .gif)",
        "pipe.jpg: not a regular file",
        "photos: 1 usable, 3 files would be skipped"]
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == (
        f"tfcreative: error: --strict: {photos}: 1 usable, 3 files would be skipped (listed "
        "above); strict refuses them: fix or remove them")
    assert not run.exists() and not (tmp_path / "tfds").exists()


@pytest.fixture(scope="module")
def photos_dir(tmp_path_factory):
    """Five real photos at their own sizes (300x451 to 512x512), flat: split by name."""
    root = tmp_path_factory.mktemp("photos")
    for name, photo in PHOTOS.items():
        _png(root / f"{name}.png", photo)
    return root


def test_photo_pairs_train_on_crops_at_their_own_scale(photos_dir, tmp_path):
    builder = pipeline.prepare_builder(photos_dir=str(photos_dir), transform="photos_edges",
                                       data_dir=str(tmp_path))
    assert pipeline.is_photos(builder) and builder.builder_config.transform == "edges"
    # what the model's inputs are (the demo page reads it): edges, but photos when reversed
    assert pipeline.input_transform(builder) == pipeline.input_transform(builder, "AtoB") \
        == "edges"
    assert pipeline.input_transform(builder, "BtoA") is None
    splits = {s: builder.info.splits[s].num_examples for s in builder.info.splits}
    assert sum(splits.values()) == 5
    targets = {int(p.shape[0]) * 10000 + int(p.shape[1]): p for p in PHOTOS.values()}
    stream, _ = pipeline.make_training_stream(builder, 64, batch_size=1, seed=0)
    for inputs, crops in stream.take(4):
        crop = np.round((crops[0].numpy() + 1) * 127.5).astype(np.uint8)
        # the crop is a piece of one photo, pixel for pixel (maybe mirrored): never resized
        assert any(_contains(photo, crop) or _contains(photo, crop[:, ::-1])
                   for photo in targets.values())
        assert set(np.unique(np.round((inputs[0].numpy() + 1) * 127.5))) <= {0, 255}
    test = next(iter(pipeline.make_test_dataset(builder, 64, split="train")))[1][0]
    assert test.shape == (64, 64, 3)


def _contains(photo, crop) -> bool:
    height, width = crop.shape[:2]
    for top in range(photo.shape[0] - height + 1):
        row = np.where((photo[top, :photo.shape[1] - width + 1] == crop[0, 0]).all(-1))[0]
        for left in row:
            if np.array_equal(photo[top:top + height, left:left + width], crop):
                return True
    return False


@pytest.mark.parametrize("length, tile", [(1024, 128), (768, 128), (129, 128), (300, 256),
                                          (128, 128), (40, 128)])
def test_tiles_cover_the_side_overlap_and_end_on_it(length, tile):
    overlap = tile // tiling.OVERLAP_DIVISOR
    starts = tiling.tile_starts(length, tile, overlap)
    assert starts[0] == 0 and all(isinstance(s, int) for s in starts)
    if length > tile:
        assert starts[-1] == length - tile
        assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:], strict=False))
    weights = tiling.tile_weights(tile, overlap)
    assert weights.min() > 0 and weights.max() == 1.0 and weights[0] == weights[-1]


def test_tiling_is_exact_for_a_pixelwise_generator_and_keeps_the_size():
    image = np.random.default_rng(0).uniform(-1, 1, (200, 300, 3)).astype(np.float32)
    for small in (image, image[:40, :50]):
        out = tiling.translate_tiled(lambda x, training=None: -x, small, (64, 64))
        np.testing.assert_allclose(out, -small, atol=1e-6)


def test_the_graph_tiling_for_savedmodels_gives_what_python_gives():
    from tfcreative.pix2pix.networks import unet_generator

    generator = unet_generator(32, ngf=4)
    graph = tf.function(lambda x: tiling.translate_tiled_graph(generator, x, (32, 32)),
                        input_signature=[tf.TensorSpec([None, None, 3], tf.float32)])
    rng = np.random.default_rng(2)
    for shape in ((32, 32), (20, 50), (70, 33), (100, 129)):
        image = rng.uniform(-1, 1, (*shape, 3)).astype(np.float32)
        np.testing.assert_allclose(graph(image).numpy(),
                                   tiling.translate_tiled(generator, image, (32, 32)),
                                   atol=1e-5)


def test_the_fully_convolutional_generator_is_the_same_network():
    from tfcreative.pix2pix.networks import unet_generator

    generator = unet_generator(32, ngf=4)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 32, 32, 3)).astype(np.float32)
    any_size = tiling.any_size_generator(generator)
    np.testing.assert_allclose(any_size(x), generator(x), atol=1e-6)
    wide = np.zeros((50, 70, 3), np.float32)
    out = tiling.translate_fully_convolutional(generator, wide, any_size)
    assert out.shape == (50, 70, 3)


def test_with_input_lightness_keeps_the_inputs_l_and_the_outputs_colour():
    from skimage.color import rgb2lab

    from tfcreative.pix2pix.colour import with_input_lightness

    photo = PHOTOS["coffee"][:64, :64]
    grey = photo_transforms.grayscale(photo)
    colour = np.roll(photo, 5, axis=0)  # some other colour picture
    kept = with_input_lightness(grey[None] / 127.5 - 1.0, colour[None] / 127.5 - 1.0)[0]
    lab, wanted = rgb2lab((kept + 1.0) / 2.0), rgb2lab(colour / 255.0)
    inside = (wanted[..., 0] > 10) & (wanted[..., 0] < 90)  # not clipped at black or white
    assert np.abs(lab[..., 0] - grey[..., 0] / 2.55).max() < 1.0
    assert np.abs(lab[..., 1:] - wanted[..., 1:])[inside].mean() < 3.0


def test_a_colorization_model_keeps_the_inputs_lightness_in_translate(photos_dir, tmp_path):
    from skimage.color import rgb2lab

    from tfcreative.pix2pix import load_model

    run = tmp_path / "run"
    assert main(["pix2pix", "train", "--photos", str(photos_dir), "--transform", "grayscale",
                 "--run-dir", str(run), "--data-dir", str(tmp_path / "tfds"), "--image-size",
                 "32", "--ngf", "4", "--ndf", "4", "--epochs", "1", "--steps-per-epoch",
                 "2"]) == 0
    assert load_model(str(run)).keep_lightness
    assert load_model(str(run)).input_transform == "grayscale"
    grey = photo_transforms.grayscale(PHOTOS["chelsea"][:48, :80])
    _png(tmp_path / "in" / "grey.png", grey)
    assert main(["pix2pix", "translate", "--model", str(run), str(tmp_path / "in"),
                 "--out-dir", str(tmp_path / "out")]) == 0
    out = tf.io.decode_png((tmp_path / "out" / "grey.png").read_bytes()).numpy()
    lightness = rgb2lab(out / 255.0)[..., 0]
    assert np.abs(lightness - grey[..., 0] / 2.55).mean() < 1.5


@pytest.mark.slow
def test_photos_to_a_trained_model_to_a_1024x768_translation_and_both_exports(
        photos_dir, tmp_path, capsys):
    """The issue's chain, one command each, on real photos."""
    run, tfds_dir = tmp_path / "run", str(tmp_path / "tfds")
    assert main(["pix2pix", "train", "--photos", str(photos_dir), "--transform", "edges",
                 "--run-dir", str(run), "--data-dir", tfds_dir, "--image-size", "32",
                 "--ngf", "4", "--ndf", "4", "--batch-size", "2", "--epochs", "2",
                 "--steps-per-epoch", "3"]) == 0
    assert json.loads((run / "config.json").read_text())["transform"] == "edges"
    assert main(["pix2pix", "evaluate", "--model", str(run), "--photos", str(photos_dir),
                 "--data-dir", tfds_dir, "--input-baseline", "--json",
                 str(tmp_path / "e.json")]) == 0
    numbers = json.loads((tmp_path / "e.json").read_text())
    assert set(numbers) == {"run", "input itself"}
    assert 0 <= numbers["run"]["line_f1"] <= 1 and "line_f1" in numbers["input itself"]
    assert "lines F1" in capsys.readouterr().out
    large = np.asarray(tf.image.resize(PHOTOS["coffee"], (768, 1024)), np.uint8)
    _png(tmp_path / "in" / "coffee.png", photo_transforms.edges(large))
    _png(tmp_path / "photo" / "coffee.png", large)  # --transform makes its edges
    assert main(["pix2pix", "translate", "--model", str(run), "--transform", "edges",
                 str(tmp_path / "photo"), "--out-dir", str(tmp_path / "from_photo")]) == 0
    for mode, folder in (("--tiles", "tiles"), ("--no-tiles", "resized")):
        assert main(["pix2pix", "translate", "--model", str(run), str(tmp_path / "in"),
                     "--out-dir", str(tmp_path / folder), mode]) == 0
    tiles, resized = (tf.io.decode_png((tmp_path / f / "coffee.png").read_bytes()).numpy()
                      for f in ("tiles", "resized"))
    assert tiles.shape == resized.shape == (768, 1024, 3)
    assert not np.array_equal(tiles, resized)
    assert main(["pix2pix", "translate", "--model", str(run), str(tmp_path / "in"),
                 "--out-dir", str(tmp_path / "default")]) == 0  # the model's own: tiles
    assert (tmp_path / "default" / "coffee.png").read_bytes() == \
        (tmp_path / "tiles" / "coffee.png").read_bytes()
    assert (tmp_path / "from_photo" / "coffee.png").read_bytes() == \
        (tmp_path / "tiles" / "coffee.png").read_bytes()
    assert main(["export", "--model", str(run), "--base-dir", str(tmp_path / "serving")]) == 0
    loaded = tf.saved_model.load(str(tmp_path / "serving" / "pix2pix" / "1"))
    out = loaded.signatures["serving_default"](input_image=tf.zeros([1, 32, 32, 3]))
    assert out["output_image"].shape == (1, 32, 32, 3)
    png = (tmp_path / "in" / "coffee.png").read_bytes()
    served = loaded.signatures["translate_png"](image_bytes=tf.constant([png]))
    served = tf.io.decode_png(served["output_bytes"][0]).numpy()
    assert served.shape == (768, 1024, 3)  # tiled in the graph, as translate does
    assert np.abs(served.astype(int) - tiles.astype(int)).max() <= 1
    assert main(["export", "--model", str(run), "--format", "tfjs", "--out-dir",
                 str(tmp_path / "tfjs")]) == 0
    page_facts = json.loads((tmp_path / "tfjs" / "tfcreative.json").read_text())
    assert page_facts["tiling"] == {"tile": [32, 32], "overlap_divisor": 4}
    assert page_facts["input_transform"] == "edges"  # the page offers the pen
