"""`tfcreative pix2pix train | translate | evaluate` end to end, and bad images."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tfcreative.cli.main import main
from tfcreative.datasets.pix2pix import synthetic_facades

TINY = ["--image-size", "32", "--ngf", "4", "--ndf", "4", "--batch-size", "2"]


def _png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tf.io.encode_png(array).numpy())


@pytest.fixture(scope="module")
def pairs_dir(tmp_path_factory):
    """A/ and B/ folders of 12 synthetic facade pairs at 40 px."""
    root = tmp_path_factory.mktemp("pairs")
    for i in range(12):
        labels, photo = synthetic_facades.facade_pair(1, i, 40)
        _png(root / "A" / f"{i:02d}.png", labels)
        _png(root / "B" / f"{i:02d}.png", photo)
    return root


@pytest.fixture(scope="module")
def runs(tmp_path_factory, pairs_dir):
    base = tmp_path_factory.mktemp("runs")
    tfds_dir = str(base / "tfds")
    for name, extra in (("gan", []), ("l1", ["--l1-only"])):
        assert main(["pix2pix", "train", "--run-dir", str(base / name), "--pairs",
                     str(pairs_dir), "--data-dir", tfds_dir, "--epochs", "2", *TINY,
                     *extra]) == 0
    return base


def test_train_writes_run_directory_with_sample_grids(runs):
    run = runs / "gan"
    assert {"model.keras", "config.json", "history.csv", "checkpoints", "logs",
            "samples"} <= set(os.listdir(run))
    assert sorted(os.listdir(run / "samples")) == ["epoch_001.png", "epoch_002.png"]
    grid = tf.io.decode_png(tf.io.read_file(str(run / "samples" / "epoch_002.png")))
    assert grid.shape[1] == 3 * 32 and grid.shape[0] % 32 == 0  # input | output | target
    from tensorflow.core.util import event_pb2

    tags = set()
    for folder, _, files in os.walk(run / "logs" / "samples"):
        for record in tf.data.TFRecordDataset([os.path.join(folder, f) for f in files]):
            tags |= {v.tag for v in event_pb2.Event.FromString(record.numpy()).summary.value}
    assert "input | output | target" in tags  # TensorBoard image summaries
    assert json.loads((run / "config.json").read_text())["adversarial"] is True
    assert json.loads((runs / "l1" / "config.json").read_text())["adversarial"] is False


def test_translate_handles_any_size_and_mode(runs, tmp_path, capsys):
    labels, _ = synthetic_facades.facade_pair(2, 0, 64)
    inputs = tmp_path / "in"
    _png(inputs / "rgb_odd.png", labels[:45, :61])
    _png(inputs / "grey.png", labels[..., :1])
    rgba = np.concatenate([labels, np.full((64, 64, 1), 128, np.uint8)], -1)
    _png(inputs / "rgba.png", rgba)
    sixteen = (labels.astype(np.uint16) * 257)
    (inputs / "deep.png").write_bytes(tf.io.encode_png(tf.constant(sixteen)).numpy())
    (inputs / "photo.jpg").write_bytes(tf.io.encode_jpeg(labels[:50]).numpy())
    (inputs / "README.txt").write_text("not an image")
    out = tmp_path / "out"
    assert main(["pix2pix", "translate", "--model", str(runs / "gan"), str(inputs),
                 "--out-dir", str(out)]) == 0
    sizes = {p.name: tf.io.decode_png(p.read_bytes()).shape.as_list() for p in out.iterdir()}
    assert sizes == {"rgb_odd.png": [45, 61, 3], "grey.png": [64, 64, 3],
                     "rgba.png": [64, 64, 3], "deep.png": [64, 64, 3],
                     "photo.png": [50, 64, 3]}
    assert "rgb_odd.png ->" in capsys.readouterr().out


def test_alpha_is_composited_over_white_and_16_bit_keeps_precision(tmp_path):
    from tfcreative.pix2pix.images import read_image

    transparent = np.zeros((4, 4, 4), np.uint8)
    _png(tmp_path / "clear.png", transparent)
    np.testing.assert_allclose(read_image(str(tmp_path / "clear.png")), 1.0)
    deep = np.full((2, 2, 3), 1000, np.uint16)
    (tmp_path / "deep.png").write_bytes(tf.io.encode_png(tf.constant(deep)).numpy())
    np.testing.assert_allclose(read_image(str(tmp_path / "deep.png")), 1000 / 65535, rtol=1e-6)


def test_a_corrupt_image_is_a_clear_error_and_nothing_is_written(runs, tmp_path, capsys):
    inputs = tmp_path / "in"
    _png(inputs / "good.png", synthetic_facades.facade_pair(0, 0, 32)[0])
    (inputs / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    out = tmp_path / "out"
    assert main(["pix2pix", "translate", "--model", str(runs / "gan"), str(inputs),
                 "--out-dir", str(out)]) == 2
    assert "broken.png: not a readable image" in capsys.readouterr().err
    assert not out.exists()


def test_evaluate_compares_models_side_by_side(runs, pairs_dir, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["pix2pix", "evaluate", "--model", str(runs / "gan"), "--model",
                 str(runs / "l1"), "--pairs", str(pairs_dir), "--data-dir",
                 str(runs / "tfds"), "--json", str(out), "--grid", str(tmp_path / "g.png"),
                 "--grid-rows", "1"]) == 0
    grid = tf.io.decode_png((tmp_path / "g.png").read_bytes())
    assert grid.shape.as_list() == [32, 4 * 32, 3]  # input | gan | l1 | target
    printed = capsys.readouterr().out
    assert "PSNR" in printed and "sharpness" in printed
    numbers = json.loads(out.read_text())
    assert set(numbers) == {"gan", "l1"}
    for result in numbers.values():
        assert result["pairs"] >= 1 and 0 <= result["l1"] <= 1 and result["psnr"] > 0
    # The grid shows what was measured: --paper-inference draws with dropout on.
    assert main(["pix2pix", "evaluate", "--model", str(runs / "gan"), "--pairs",
                 str(pairs_dir), "--data-dir", str(runs / "tfds"), "--grid",
                 str(tmp_path / "p.png"), "--grid-rows", "1", "--paper-inference"]) == 0
    paper = tf.io.decode_png((tmp_path / "p.png").read_bytes()).numpy()
    assert paper.shape == (32, 3 * 32, 3)
    assert np.abs(paper[:, 32:64].astype(int) - grid.numpy()[:, 32:64].astype(int)).max() > 0


def test_music_model_is_refused_by_pix2pix_commands(tmp_path, capsys):
    from tests.conftest import make_tiny_model
    from tfcreative.music.vocabulary import CharVocabulary

    make_tiny_model(CharVocabulary("ab")).save(tmp_path / "music.keras")
    assert main(["pix2pix", "translate", "--model", str(tmp_path / "music.keras"),
                 str(tmp_path)]) == 2
    assert "holds a MusicLSTM model, not a Pix2Pix" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_adds_the_fcn_score_with_real_photos_as_the_ceiling(runs, pairs_dir, tmp_path,
                                                                      capsys):
    out = tmp_path / "fcn.json"
    common = ["pix2pix", "evaluate", "--model", str(runs / "gan"), "--model", str(runs / "l1"),
              "--pairs", str(pairs_dir), "--data-dir", str(runs / "tfds"), "--fcn-score"]
    assert main([*common, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "real photos" in printed and "FCN" in printed
    numbers = json.loads(out.read_text())
    assert set(numbers) == {"gan", "l1", "real photos"}
    for result in numbers.values():
        assert 0 <= result["fcn_pixel_accuracy"] <= 1 and 0 <= result["fcn_class_iou"] <= 1
    assert numbers["real photos"]["fcn_pixel_accuracy"] > numbers["gan"]["fcn_pixel_accuracy"]
    # Photos as inputs (the other direction) are no label maps: one line, exit 2.
    assert main([*common, "--direction", "BtoA"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tfcreative: error:") and "label map" in err and "\n" not in err


def test_paper_inference_keeps_dropout_on_and_the_moving_averages_unchanged(runs, tmp_path):
    from tfcreative.pix2pix import load_model
    from tfcreative.pix2pix.translate import compiled_generator, kept_moving_statistics

    model = load_model(str(runs / "gan"))
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    moving = [v.numpy().copy() for v in model.generator.non_trainable_variables
              if "moving" in v.path]
    assert moving
    plain = compiled_generator(model.generator)
    np.testing.assert_array_equal(plain(x), plain(x))  # inference mode: deterministic
    paper = compiled_generator(model.generator, paper_style=True)
    with kept_moving_statistics(model.generator):
        first, second = paper(x).numpy(), paper(x).numpy()
    assert np.abs(first - second).max() > 1e-3  # dropout on: another draw each call
    assert np.abs(first - plain(x).numpy()).max() > 1e-3  # batch statistics, not moving ones
    after = [v.numpy() for v in model.generator.non_trainable_variables if "moving" in v.path]
    for a, b in zip(moving, after, strict=True):
        np.testing.assert_array_equal(a, b)
    labels, _ = synthetic_facades.facade_pair(5, 0, 32)
    _png(tmp_path / "in" / "facade.png", labels)
    outputs = []
    for seed in ("1", "1", "2"):
        folder = tmp_path / f"out{len(outputs)}"
        assert main(["pix2pix", "translate", "--model", str(runs / "gan"), str(tmp_path / "in"),
                     "--out-dir", str(folder), "--paper-inference", "--seed", seed]) == 0
        outputs.append((folder / "facade.png").read_bytes())
    assert outputs[0] == outputs[1] and outputs[0] != outputs[2]


def test_evaluate_checks_image_sizes_before_evaluating_any_model(runs, pairs_dir, tmp_path,
                                                                  capsys, monkeypatch):
    from tests.test_pix2pix_model import tiny_pix2pix
    from tfcreative.pix2pix import evaluation

    tiny_pix2pix(size=16).save(tmp_path / "small.keras")
    evaluated = []
    original = evaluation.evaluate_generator
    monkeypatch.setattr(evaluation, "evaluate_generator",
                        lambda *a, **k: evaluated.append(1) or original(*a, **k))
    assert main(["pix2pix", "evaluate", "--model", str(runs / "gan"), "--model",
                 str(tmp_path / "small.keras"), "--pairs", str(pairs_dir), "--data-dir",
                 str(runs / "tfds"), "--grid", str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tfcreative: error: --model:") and "gan: 32" in err and "16" in err
    assert "\n" not in err and not evaluated and not (tmp_path / "g.png").exists()


def test_evaluate_writes_its_json_whole_or_not_at_all(runs, pairs_dir, tmp_path, monkeypatch):
    out = tmp_path / "eval.json"
    out.write_text("earlier numbers")

    original = json.JSONEncoder.iterencode

    def half_then_fail(self, o, _one_shot=False):  # only for the results (TFDS writes JSON too)
        if not (isinstance(o, dict) and "gan" in o):
            yield from original(self, o, _one_shot)
            return
        yield '{"gan": '
        raise ValueError("disk full")

    monkeypatch.setattr(json.JSONEncoder, "iterencode", half_then_fail)
    assert main(["pix2pix", "evaluate", "--model", str(runs / "gan"), "--pairs",
                 str(pairs_dir), "--data-dir", str(runs / "tfds"), "--json", str(out)]) == 2
    assert out.read_text() == "earlier numbers"
    assert [p.name for p in tmp_path.iterdir()] == ["eval.json"]
