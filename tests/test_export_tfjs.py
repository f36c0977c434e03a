"""TF.js export: converted graph models run in Node with @tensorflow/tfjs (pure JS backend)
and give the same outputs as Python."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import REPO, make_tiny_model
from tests.test_pix2pix_model import tiny_pix2pix
from tfcreative.export import tfjs as tfjs_export
from tfcreative.music.vocabulary import CharVocabulary

if not os.environ.get("CI"):  # the [test] extra installs it; CI never skips
    pytest.importorskip("tensorflowjs")
RUNNER = os.path.join(REPO, "tests", "js", "run_graph_model.cjs")
needs_node = pytest.mark.skipif(
    (shutil.which("node") is None or not os.path.isdir(os.path.join(REPO, "node_modules",
                                                                      "@tensorflow", "tfjs")))
    and not os.environ.get("CI"),
    reason="node and `npm ci` (for @tensorflow/tfjs) needed; CI has both")


def run_in_tfjs(model_dir: str, inputs: dict, backend: str = "cpu") -> dict:
    request = {"model_dir": model_dir, "backend": backend, "inputs": {
        name: {"shape": list(value.shape), "dtype": "int32" if value.dtype.kind == "i"
               else "float32", "data": value.ravel().tolist()}
        for name, value in inputs.items()}}
    result = subprocess.run(["node", RUNNER], input=json.dumps(request), capture_output=True,
                            text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = json.loads(result.stdout)["outputs"]
    return {name: np.array(o["data"], np.float32).reshape(o["shape"])
            for name, o in outputs.items()}


@pytest.fixture(scope="module")
def music_model():
    return make_tiny_model(CharVocabulary("X:1\nT:abcdefgABCDEFG|/2"), layers=2, units=16)


def test_browser_step_is_the_models_step(music_model):
    """The one-matmul cell of the TF.js export computes what Keras's LSTMCell computes."""
    rng = np.random.default_rng(3)
    ids = rng.integers(1, music_model.vocabulary.size, 7).astype(np.int32)
    h = rng.normal(0, 0.5, (2, 7, 16)).astype(np.float32)
    c = rng.normal(0, 0.5, (2, 7, 16)).astype(np.float32)
    got = tfjs_export.browser_music_step(music_model)(ids, h, c)
    logits, states = music_model.step(tf.constant(ids), [(h[i], c[i]) for i in range(2)])
    np.testing.assert_allclose(got["logits"], logits, atol=1e-5)
    np.testing.assert_allclose(got["h"], np.stack([s[0] for s in states]), atol=1e-6)
    np.testing.assert_allclose(got["c"], np.stack([s[1] for s in states]), atol=1e-6)
    assert np.abs(logits).max() > 0.01  # not trivially zero


@needs_node
@pytest.mark.parametrize("backend", ["cpu", "wasm"])
def test_music_step_matches_python_in_tfjs(music_model, backend, tmp_path):
    path = tfjs_export.export_tfjs(music_model, str(tmp_path / "music"))
    meta = json.loads(open(os.path.join(path, "tfcreative.json")).read())
    assert meta["characters"] == list(music_model.vocabulary.characters)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, music_model.vocabulary.size, 5).astype(np.int32)
    h = rng.normal(0, 0.5, (2, 5, 16)).astype(np.float32)
    c = rng.normal(0, 0.5, (2, 5, 16)).astype(np.float32)
    got = run_in_tfjs(path, {"ids": ids, "h": h, "c": c}, backend)
    logits, states = music_model.step(tf.constant(ids), [(h[i], c[i]) for i in range(2)])
    np.testing.assert_allclose(got["logits"], logits.numpy(), atol=1e-4)
    assert (got["logits"].argmax(1) == logits.numpy().argmax(1)).all()
    np.testing.assert_allclose(got["h"], np.stack([s[0] for s in states]), atol=1e-4)
    np.testing.assert_allclose(got["c"], np.stack([s[1] for s in states]), atol=1e-4)


@needs_node
@pytest.mark.parametrize("backend", ["cpu", "wasm"])
def test_pix2pix_matches_python_in_tfjs(backend, tmp_path):
    model = tiny_pix2pix(size=32)
    path = tfjs_export.export_tfjs(model, str(tmp_path / "p2p"))
    x = np.random.default_rng(1).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    got = run_in_tfjs(path, {"input_image": x}, backend)
    assert np.abs(got["output_image"] - model(x).numpy()).max() <= 1e-4


@needs_node
@pytest.mark.parametrize("quantization, tolerance", [("float16", 5e-2), ("uint8", 2e-1)])
def test_quantised_models_are_smaller_and_close(quantization, tolerance, tmp_path):
    model = tiny_pix2pix(size=32)
    full = tfjs_export.export_tfjs(model, str(tmp_path / "float32"))
    small = tfjs_export.export_tfjs(model, str(tmp_path / quantization), quantization=quantization)
    assert tfjs_export.model_size_bytes(small) < tfjs_export.model_size_bytes(full)
    x = np.random.default_rng(2).uniform(-1, 1, (1, 32, 32, 3)).astype(np.float32)
    got = run_in_tfjs(small, {"input_image": x})
    assert np.abs(got["output_image"] - model(x).numpy()).max() <= tolerance


def test_pix2pix_metadata_says_what_the_page_offers(tmp_path):
    """tfcreative.json: tiles or not, Lab lightness kept or not, and the photo transform that
    made the inputs (the page's pen for edges), as the model's .keras file keeps them."""
    from tfcreative.pix2pix import load_model

    model = tiny_pix2pix(size=32)
    model.tiling, model.input_transform = True, "edges"
    model.save(tmp_path / "edges.keras")
    loaded = load_model(str(tmp_path / "edges.keras"))
    assert (loaded.tiling, loaded.input_transform, loaded.keep_lightness) == (True, "edges", False)
    facts = {}
    for name, exported in (("edges", loaded), ("labels", tiny_pix2pix(size=32))):
        path = tfjs_export.export_tfjs(exported, str(tmp_path / name))
        facts[name] = json.loads(open(os.path.join(path, "tfcreative.json")).read())
    assert (facts["edges"]["input_transform"], facts["edges"]["tiling"]) == \
        ("edges", {"tile": [32, 32], "overlap_divisor": 4})
    assert (facts["labels"]["input_transform"], facts["labels"]["tiling"],
            facts["labels"]["keep_lightness"]) == (None, None, False)


def test_export_refuses_an_existing_folder_and_bad_quantisation(music_model, tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError, match="taken exists"):
        tfjs_export.export_tfjs(music_model, str(tmp_path / "taken"))
    with pytest.raises(ValueError, match="quantization: expected one of"):
        tfjs_export.export_tfjs(music_model, str(tmp_path / "new"), quantization="int4")
    assert sorted(os.listdir(tmp_path)) == ["taken"]  # no staging folder left behind


def test_two_exports_to_one_folder_at_once_leave_one_and_say_so(music_model, tmp_path,
                                                                 monkeypatch):
    """The second export finishes while the first converts: the first is refused in one
    line (FileExistsError) and the folder holds one whole model."""
    out_dir = str(tmp_path / "web")
    output_nodes = tfjs_export._output_nodes
    other = {}

    def interleaved(*args, **kwargs):
        if not other:
            other["started"] = True
            other["result"] = tfjs_export.export_tfjs(music_model, out_dir)
        return output_nodes(*args, **kwargs)

    monkeypatch.setattr(tfjs_export, "_output_nodes", interleaved)
    with pytest.raises(FileExistsError, match="web exists: choose a new folder"):
        tfjs_export.export_tfjs(music_model, out_dir)
    assert other["result"] == out_dir
    assert sorted(os.listdir(tmp_path)) == ["web"]  # no staging folder left
    assert "model.json" in os.listdir(out_dir)


def test_an_out_dir_in_a_file_is_an_error_about_out_dir(music_model, tmp_path):
    from tfcreative.errors import InvalidArgument

    mine = tmp_path / "notes.txt"
    mine.write_text("mine")
    with pytest.raises(InvalidArgument) as error:
        tfjs_export.export_tfjs(music_model, str(mine / "web"))
    assert error.value.argument == "out_dir"
    assert error.value.detail.startswith(f"{mine / 'web'}: {mine} is not a folder")
    assert mine.read_text() == "mine"
