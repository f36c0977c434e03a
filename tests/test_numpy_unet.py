"""The NumPy U-Net (tfcreative/pix2pix/numpy_unet.py) against the Keras layers and generators
it mirrors: the same floats within float32 rounding."""

import json

import keras
import numpy as np
import pytest

from tfcreative import preset_files
from tfcreative.errors import InvalidArgument
from tfcreative.pix2pix import Pix2Pix
from tfcreative.pix2pix.networks import unet_generator
from tfcreative.pix2pix.numpy_unet import NumpyUNet, conv2d, conv2d_transpose

# float32 rounding through ~17 layers (products summed in another order than TensorFlow's);
# measured: 6.4e-7 on the shipped preset, 2.7e-7 to 1.1e-6 (instance norm) on the ones below
TOLERANCE = 5e-6


def stored_config(model: keras.Model) -> dict:
    """A model's config as a preset's config.json holds it (JSON: lists, not tuples)."""
    return json.loads(json.dumps(keras.saving.serialize_keras_object(model)))["config"]


SIDES = [(4, 4), (5, 7), (8, 8), (9, 4), (1, 3), (6, 13)]


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("height, width", SIDES)
def test_strided_convolutions_pad_as_keras_does(height, width, padding):
    rng = np.random.default_rng(height * 100 + width)
    x = rng.normal(size=(2, height, width, 3)).astype(np.float32)
    transpose = keras.layers.Conv2DTranspose(5, 4, strides=2, padding=padding, use_bias=False)
    expected = transpose(x).numpy()
    got = conv2d_transpose(x, transpose.kernel.numpy(), (2, 2), padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-6)
    if padding == "valid" and min(height, width) < 4:
        return  # no output
    conv = keras.layers.Conv2D(5, 4, strides=2, padding=padding, use_bias=False)
    expected = conv(x).numpy()
    got = conv2d(x, conv.kernel.numpy(), (2, 2), padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-6)


def randomised(generator: keras.Model, seed: int) -> keras.Model:
    """Every weight random, the normalisations' statistics and scales included (a freshly
    built batch norm is the identity, which would hide a wrong fold); kernels scaled by their
    fan-in, so activations stay near 1 through the layers, as in a trained model."""
    rng = np.random.default_rng(seed)
    for variable in generator.weights:
        if variable.path.endswith(("moving_variance", "gamma")):
            value = rng.uniform(0.5, 1.5, variable.shape)
        elif variable.path.endswith("kernel"):
            value = rng.normal(0, 1 / np.sqrt(np.prod(variable.shape[:3])), variable.shape)
        else:
            value = rng.normal(0, 0.1, variable.shape)
        variable.assign(value.astype(np.float32))
    return generator


GENERATORS = [(32, 4, "batch"), (32, 4, "instance"), ((16, 32), 5, "batch"),
              ((32, 16), 3, "instance"), (64, 3, "none"), (16, 6, "sync_batch")]


@pytest.mark.parametrize("size, ngf, norm", GENERATORS)
def test_random_generators_give_the_keras_outputs(size, ngf, norm):
    generator = randomised(unet_generator(size, ngf=ngf, norm=norm), seed=ngf)
    numpy_unet = NumpyUNet.from_config(stored_config(generator),
                                       {v.path: v.numpy() for v in generator.weights})
    assert numpy_unet.input_shape == generator.input_shape
    x = np.random.default_rng(1).uniform(-1, 1, (3, *generator.input_shape[1:]))
    x = x.astype(np.float32)
    expected = generator(x, training=False).numpy()
    got = numpy_unet(x)
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.abs(got - expected).max() <= TOLERANCE, np.abs(got - expected).max()


def test_the_shipped_preset_gives_the_keras_outputs():
    model = Pix2Pix.from_preset("synthetic_facades")
    folder = preset_files.preset_folder("synthetic_facades")
    with open(f"{folder}/{preset_files.CONFIG}", encoding="utf-8") as f:
        config = json.load(f)["config"]["generator"]["config"]
    numpy_unet = NumpyUNet.from_config(config,
                                       preset_files.read_arrays(f"{folder}/weights.npz"))
    x = np.random.default_rng(0).uniform(-1, 1, (2, 256, 256, 3)).astype(np.float32)
    difference = np.abs(numpy_unet(x) - model.generator(x, training=False).numpy()).max()
    assert difference <= TOLERANCE, difference


def test_what_it_does_not_run_is_an_invalid_argument_about_the_preset():
    generator = unet_generator(16, ngf=2)
    arrays = {v.path: v.numpy() for v in generator.weights}
    config = stored_config(generator)
    inputs = keras.Input((16, 16, 3))
    upsampled = keras.Model(inputs, keras.layers.UpSampling2D()(inputs))
    cases = {"has the layer 'UpSampling2D'": (stored_config(upsampled), {}),
             "weight down1_conv/kernel: expected shape (4, 4, 3, 2), found none":
                 (config, {k: v for k, v in arrays.items() if k != "down1_conv/kernel"}),
             "expected shape (4, 4, 3, 2), found shape (4, 4, 3, 3)":
                 (config, {**arrays, "down1_conv/kernel": np.zeros((4, 4, 3, 3))}),
             "holds NaN or Inf": (config, {**arrays, "output/bias": np.full(3, np.nan)}),
             "'moving_sum'] of 'down2_norm' are not the layer's":
                 (config, {**arrays, "down2_norm/moving_sum": np.zeros(4)})}
    mixed = json.loads(json.dumps(config).replace('"name": "float32"',
                                                  '"name": "mixed_float16"', 3))
    cases["in 'mixed_float16'"] = (mixed, arrays)
    any_size = json.loads(json.dumps(config).replace("[null, 16, 16, 3]", "[null, null, null, 3]"))
    cases["takes the input 'input_image' of shape (None, None, None, 3)"] = (any_size, arrays)
    two_inputs = json.loads(json.dumps(config))
    down2 = next(layer for layer in two_inputs["layers"] if layer["name"] == "down2_conv")
    down2["inbound_nodes"][0]["args"] = [down2["inbound_nodes"][0]["args"] * 2]
    cases["gives 'down2_conv' 2 inputs"] = (two_inputs, arrays)
    for message, (bad_config, bad_arrays) in cases.items():
        with pytest.raises(InvalidArgument, match="^preset: ") as error:
            NumpyUNet.from_config(bad_config, bad_arrays)
        assert message in str(error.value), (message, str(error.value))
