"""`pix2pix translate` from a preset without TensorFlow (tfcreative/pix2pix/translation_model.py):
the same PNGs as the Keras path within one level, its resizing against tf.image.resize, its
PNG decoding against TensorFlow's, and what still goes to Keras."""

import io
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.conftest import REPO
from tests.test_numpy_unet import randomised
from tfcreative import presets
from tfcreative.cli.main import main
from tfcreative.datasets.pix2pix import synthetic_facades
from tfcreative.pix2pix import Pix2Pix
from tfcreative.pix2pix import images as image_files
from tfcreative.pix2pix.networks import patchgan_discriminator, unet_generator
from tfcreative.pix2pix.resizing import resize
from tfcreative.pix2pix.translate import translate_paths
from tfcreative.pix2pix.translation_model import (
    NumpyPix2Pix,
    load_for_translation,
    runs_on_numpy,
)

RESIZES = [((45, 61), (256, 256)), ((256, 256), (45, 61)), ((1000, 700), (256, 256)),
           ((256, 256), (1024, 768)), ((3, 5), (7, 2)), ((256, 256), (256, 512)),
           ((1, 1), (4, 4)), ((300, 40), (64, 64))]


@pytest.mark.parametrize("size, out", RESIZES)
def test_resizing_is_tensorflows_antialiased_bilinear(size, out):
    images = np.random.default_rng(sum(size)).uniform(-1, 1, (2, *size, 3)).astype(np.float32)
    expected = tf.image.resize(images, out, antialias=True).numpy()
    got = resize(images, out)
    assert got.shape == expected.shape and got.dtype == np.float32
    assert np.abs(got - expected).max() <= 1e-6  # measured: at most 1.8e-7


def png(array: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG", **options)
    return buffer.getvalue()


def test_pillow_decodes_8_bit_and_palette_pngs_as_tensorflow_does():
    rgb = np.random.default_rng(0).integers(0, 256, (13, 17, 3), dtype=np.uint8)
    palette = Image.fromarray(rgb).quantize(16)
    cases = {"rgb": png(rgb), "rgba": png(np.concatenate([rgb, rgb[..., :1]], -1)),
             "grey": png(rgb[..., 0]),
             "palette": png(np.asarray(palette.convert("RGB"))),
             "grey_transparent_colour": png(rgb[..., 0], transparency=7),
             "rgb_transparent_colour": png(rgb, transparency=tuple(map(int, rgb[0, 0])))}
    for name, options in (("palette_p", {}), ("palette_transparent", {"transparency": 3}),
                          ("palette_4_bit", {"bits": 4})):
        buffer = io.BytesIO()
        palette.save(buffer, "PNG", **options)
        cases[name] = buffer.getvalue()
    buffer = io.BytesIO()
    Image.merge("LA", [Image.fromarray(rgb[..., i].copy()) for i in (0, 1)]).save(buffer, "PNG")
    cases["grey_alpha"] = buffer.getvalue()
    for name, data in cases.items():
        assert image_files._is_png8(data), name
        expected = tf.io.decode_image(data, expand_animations=False).numpy()
        np.testing.assert_array_equal(image_files._decoded_by_pillow(data, name), expected,
                                      err_msg=name)


def test_a_png_beyond_pillows_size_limit_is_read_as_tensorflow_reads_it(tmp_path, monkeypatch,
                                                                       recwarn):
    """Pillow refuses images over 2 * MAX_IMAGE_PIXELS (179 M pixels), and warns over it:
    TensorFlow's decoder, which has no such limit, reads those, and nothing is printed."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    rgb = np.random.default_rng(0).integers(0, 256, (50, 50, 3), dtype=np.uint8)
    for name, side in (("warned", 40), ("refused", 50)):
        (tmp_path / f"{name}.png").write_bytes(png(rgb[:side, :side]))
        np.testing.assert_array_equal(image_files.read_image(str(tmp_path / f"{name}.png")),
                                      rgb[:side, :side] / np.float32(255))
    assert not recwarn.list


# `tfcreative pix2pix translate` with the shipped preset, as a user runs it, in a fresh process
# that then reports which heavy modules it loaded.
TRANSLATE_IN_A_FRESH_PROCESS = r"""
import json, os, sys
from tfcreative.cli.main import main
status = main(["pix2pix", "translate", *sys.argv[2:], "--out-dir", sys.argv[1]])
print(json.dumps({"status": status, "loaded": [name for name in ("tensorflow", "keras")
                                               if name in sys.modules],
                  "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS")}))
"""


def label_maps(folder) -> list[str]:
    """A 256 px label map (the model's size) and a 300x211 one (resized down and back up)."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for name, size, crop in (("square", 256, 256), ("odd", 300, 211)):
        path = os.path.join(folder, f"{name}.png")
        Image.fromarray(synthetic_facades.facade_pair(3, len(paths), size)[0][:, :crop]) \
            .save(path)
        paths.append(path)
    return paths


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path)).astype(int)


def assert_within_one_level(numpy_outputs, keras_outputs) -> None:
    for ours, theirs in zip(numpy_outputs, keras_outputs, strict=True):
        difference = np.abs(pixels(ours) - pixels(theirs))
        differing = int((difference > 0).any(axis=-1).sum())
        assert difference.max() <= 1, (ours, difference.max(), differing)
        assert differing <= difference.shape[0] * difference.shape[1] // 100, differing


def test_translate_from_the_preset_loads_no_tensorflow_and_matches_the_keras_path(tmp_path):
    inputs = label_maps(tmp_path / "in")
    result = subprocess.run([sys.executable, "-c", TRANSLATE_IN_A_FRESH_PROCESS,
                             str(tmp_path / "numpy"), *inputs],
                            capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "status": 0, "loaded": [],
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "1")}  # (blas_threads.py)
    keras_outputs = [target for _, target in translate_paths(
        Pix2Pix.from_preset("synthetic_facades"), inputs, str(tmp_path / "keras"))]
    numpy_outputs = [str(tmp_path / "numpy" / os.path.basename(p)) for p in inputs]
    assert [pixels(p).shape for p in numpy_outputs] == [(256, 256, 3), (300, 211, 3)]
    assert_within_one_level(numpy_outputs, keras_outputs)


def tiny_preset(folder, **options) -> tuple[Pix2Pix, str]:
    keras.utils.set_random_seed(0)
    generator = randomised(unet_generator((16, 32), ngf=4, norm="instance"), seed=1)
    model = Pix2Pix(generator, patchgan_discriminator(ndf=4), **options)
    return model, presets.save_preset(model, str(folder), "test", precision="float32")


@pytest.mark.parametrize("options", [{"tiling": True}, {"keep_lightness": True}])
def test_tiled_and_colorizing_presets_run_on_numpy_as_on_keras(tmp_path, options):
    model, folder = tiny_preset(tmp_path / "preset", **options)
    loaded = load_for_translation(folder)
    assert isinstance(loaded, NumpyPix2Pix)
    assert (loaded.tiling, loaded.keep_lightness) == (model.tiling, model.keep_lightness)
    inputs = label_maps(tmp_path / "in")
    numpy_outputs = [t for _, t in translate_paths(loaded, inputs, str(tmp_path / "numpy"))]
    keras_outputs = [t for _, t in translate_paths(model, inputs, str(tmp_path / "keras"))]
    assert_within_one_level(numpy_outputs, keras_outputs)


def test_what_numpy_does_not_run_loads_with_keras(tmp_path):
    assert runs_on_numpy("synthetic_facades")
    assert not runs_on_numpy("synthetic_facades", paper_style=True)
    assert isinstance(load_for_translation("synthetic_facades", paper_style=True), Pix2Pix)
    assert not runs_on_numpy("folk")  # a MusicLSTM: Keras's loader says so
    inputs = keras.Input((16, 16, 3))
    upsampling = keras.Model(inputs, keras.layers.UpSampling2D()(
        keras.layers.Conv2D(3, 4, strides=2, padding="same")(inputs)))
    folder = presets.save_preset(Pix2Pix(upsampling, patchgan_discriminator(ndf=4)),
                                 str(tmp_path / "upsampling"), "test")
    assert runs_on_numpy(folder) and isinstance(load_for_translation(folder), Pix2Pix)
    model, _ = tiny_preset(tmp_path / "preset")
    model.save(tmp_path / "model.keras")
    assert not runs_on_numpy(str(tmp_path / "model.keras"))


def test_bad_input_on_the_numpy_path_is_one_line_and_exit_2(tmp_path, capsys):
    inputs = tmp_path / "in"
    label_maps(inputs)
    whole = (inputs / "odd.png").read_bytes()
    (inputs / "broken.png").write_bytes(whole[:len(whole) // 2])  # for Pillow: an 8-bit PNG
    out = tmp_path / "out"
    assert main(["pix2pix", "translate", str(inputs), "--out-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tfcreative: error: inputs: {inputs / 'broken.png'}: not a "
                          "readable image (") and err.count("\n") == 1, err
    assert not out.exists()
    _, folder = tiny_preset(tmp_path / "damaged")
    with open(os.path.join(folder, "weights.npz"), "ab") as f:
        f.write(b"\0")
    assert main(["pix2pix", "translate", "--model", folder, str(inputs / "odd.png"),
                 "--out-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tfcreative: error: --model: {folder}/weights.npz: changed or "
                          "damaged") and err.count("\n") == 1, err
