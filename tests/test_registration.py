"""What importing the package registers, checked in fresh processes as a user would meet it:
TFDS builders after `import tfcreative.datasets` (or one builder package), and both Keras model
classes for plain `keras.models.load_model` after `import tfcreative`."""

import pytest

from tests.conftest import make_tiny_model, run_python_json
from tests.test_pix2pix_model import tiny_pix2pix
from tfcreative.music.vocabulary import CharVocabulary
from tfcreative.saving import save_model_atomically


@pytest.mark.parametrize("package", ["tfcreative.datasets", "tfcreative.datasets.abc_tunes",
                                     "tfcreative.datasets.pix2pix"])
def test_importing_a_dataset_package_registers_the_builders(package, tmp_path):
    out = run_python_json(f"""
import json
import tensorflow_datasets as tfds
import {package}  # noqa: F401

train = tfds.load("abc_tunes/irish_folk", split="train", data_dir={str(tmp_path)!r})
builder = tfds.builder("pix2pix/synthetic_facades", data_dir={str(tmp_path)!r})
print(json.dumps({{"tunes": int(train.cardinality()),
                   "splits": sorted(builder.info.splits) or None,
                   "config": builder.builder_config.name}}))
""")
    assert out == {"tunes": 656, "splits": None, "config": "synthetic_facades"}


@pytest.mark.parametrize("first, then, keras_module", [
    ("tfcreative", "keras", "keras"), ("keras", "tfcreative", "keras"),
    ("tfcreative", "tensorflow", "tensorflow.keras")])  # tf.keras loads Keras lazily
def test_import_tfcreative_lets_plain_keras_load_both_models(first, then, keras_module,
                                                             tmp_path):
    music = save_model_atomically(make_tiny_model(CharVocabulary("X:1\nT:ab"), units=4),
                                  str(tmp_path / "music.keras"))
    pix2pix = save_model_atomically(tiny_pix2pix(size=16), str(tmp_path / "pix2pix.keras"))
    out = run_python_json(f"""
import json, sys
import {first}
light = "tensorflow" not in sys.modules  # importing tfcreative alone loads no TensorFlow
import {then}
models = [{keras_module}.models.load_model(p) for p in ({music!r}, {pix2pix!r})]
print(json.dumps({{"classes": [type(m).__name__ for m in models], "light": light}}))
""")
    assert out == {"classes": ["MusicLSTM", "Pix2Pix"], "light": first == "tfcreative"}
