"""SavedModel export: TF Serving layout, atomic versions, and signatures that run in a process
that cannot import tfcreative."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import make_tiny_model, run_python_json
from tfcreative.cli import main
from tfcreative.export.saved_model import export_saved_model
from tfcreative.music.sampler import TuneSampler
from tfcreative.music.vocabulary import CharVocabulary
from tfcreative.pix2pix import synthetic_facades

VOCAB = CharVocabulary("X:1\nT:abcdefgABCDEFG|2/ é")

CLEAN_PROCESS = r"""
import base64, json, sys
sys.modules["tfcreative"] = None  # any import of our package now fails
import numpy as np
import tensorflow as tf
try:
    import tfcreative
    raise SystemExit("tfcreative was importable")
except ImportError:
    pass
request = json.loads(sys.stdin.read())
loaded = tf.saved_model.load(request["path"])
out = {"signatures": sorted(loaded.signatures.keys())}
if request["kind"] == "music":
    g = loaded.signatures["generate"](
        seed_text=tf.constant(request["seed_text"]), num_tunes=tf.constant(3),
        max_length=tf.constant(60), temperature=tf.constant(0.9),
        random_seed=tf.constant(11, tf.int64))
    out["abc"] = [s.decode() for s in g["abc"].numpy()]
    out["complete"] = g["complete"].numpy().tolist()
    layers, units = request["layers"], request["units"]
    s = loaded.signatures["step"](ids=tf.constant([1, 2], tf.int32),
                                  h=tf.zeros([layers, 2, units]), c=tf.zeros([layers, 2, units]))
    out["step_logits"] = s["logits"].numpy().tolist()
    out["step_h_shape"] = s["h"].shape.as_list()
    try:
        loaded.signatures["generate"](seed_text=tf.constant("X:1\nT:\u2603"),
            num_tunes=tf.constant(1), max_length=tf.constant(5),
            temperature=tf.constant(1.0), random_seed=tf.constant(0, tf.int64))
        out["unknown_error"] = None
    except tf.errors.InvalidArgumentError as e:
        out["unknown_error"] = e.message
else:
    x = np.array(request["floats"], np.float32)
    out["floats"] = loaded.signatures["serving_default"](input_image=tf.constant(x))[
        "output_image"].numpy().tolist()
    data = [base64.b64decode(b) for b in request["pngs"]]
    pngs = loaded.signatures["translate_png"](image_bytes=tf.constant(data))["output_bytes"]
    out["png_shapes"] = [tf.io.decode_png(p).shape.as_list() for p in pngs.numpy()]
print(json.dumps(out))
"""


def run_clean(request: dict) -> dict:
    return run_python_json(CLEAN_PROCESS, stdin=json.dumps(request), cwd="/")


def test_music_savedmodel_generates_the_same_tunes_without_tfcreative(tmp_path):
    model = make_tiny_model(VOCAB, layers=2, units=16)
    path = export_saved_model(model, str(tmp_path))
    assert path == str(tmp_path / "music" / "1")
    assert {"saved_model.pb", "variables"} <= set(os.listdir(path))
    out = run_clean({"path": path, "kind": "music", "seed_text": "X:1\nT:",
                     "layers": 2, "units": 16})
    assert out["signatures"] == ["generate", "step"]
    expected = TuneSampler(model).generate("X:1\nT:", num_tunes=3, max_length=60,
                                           temperature=0.9, seed=11)
    assert out["abc"] == [t.abc for t in expected]
    assert out["complete"] == [t.complete for t in expected]
    logits, _ = model.step(tf.constant([1, 2]), model.zero_states(2))
    np.testing.assert_allclose(out["step_logits"], logits.numpy(), atol=1e-5)
    assert out["step_h_shape"] == [2, 2, 16]
    assert "not trained on" in out["unknown_error"]


def test_pix2pix_savedmodel_translates_floats_and_png_bytes(tmp_path):
    import base64

    from tests.test_pix2pix_model import tiny_pix2pix

    model = tiny_pix2pix(size=32)
    path = export_saved_model(model, str(tmp_path), name="facades", version=7)
    assert path == str(tmp_path / "facades" / "7")
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    labels, _ = synthetic_facades.facade_pair(0, 0, 48)
    pngs = [tf.io.encode_png(labels[:40, :45]).numpy(), tf.io.encode_png(labels).numpy()]
    out = run_clean({"path": path, "kind": "pix2pix", "floats": x.tolist(),
                     "pngs": [base64.b64encode(p).decode() for p in pngs]})
    assert out["signatures"] == ["serving_default", "translate_png"]
    np.testing.assert_allclose(out["floats"], model(x).numpy(), atol=1e-5)
    assert out["png_shapes"] == [[40, 45, 3], [48, 48, 3]]


def test_versions_increment_and_are_never_overwritten(tmp_path):
    model = make_tiny_model(VOCAB, units=8)
    assert export_saved_model(model, str(tmp_path)).endswith(os.path.join("music", "1"))
    assert export_saved_model(model, str(tmp_path)).endswith(os.path.join("music", "2"))
    with pytest.raises(FileExistsError, match="never overwritten"):
        export_saved_model(model, str(tmp_path), version=2)
    assert sorted(os.listdir(tmp_path / "music")) == ["1", "2"]


def test_a_failed_export_leaves_no_version_behind(tmp_path, monkeypatch):
    def broken_save(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        export_saved_model(make_tiny_model(VOCAB, units=8), str(tmp_path))
    assert os.listdir(tmp_path / "music") == []


def test_export_cli(tmp_path, capsys):
    model = make_tiny_model(VOCAB, units=8)
    model.save(tmp_path / "m.keras")
    assert main(["export", "--model", str(tmp_path / "m.keras"), "--base-dir",
                 str(tmp_path / "serving")]) == 0
    assert "saved_model_cli show --dir" in capsys.readouterr().out
    assert os.path.exists(tmp_path / "serving" / "music" / "1" / "saved_model.pb")
    assert main(["export", "--model", str(tmp_path / "m.keras"), "--base-dir",
                 str(tmp_path / "serving"), "--version", "1"]) == 2
    assert "never overwritten" in capsys.readouterr().err
