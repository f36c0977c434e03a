"""Pix2Pix's training options: each changes what it should (issue 15's list, junyanz's names)."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.test_pix2pix_model import pairs
from tfcreative.cli.main import main
from tfcreative.datasets.pix2pix import synthetic_facades
from tfcreative.pix2pix import load_model, pipeline
from tfcreative.pix2pix.callbacks import LinearDecay, decay_factor
from tfcreative.pix2pix.model import Pix2Pix, gan_loss_per_example
from tfcreative.pix2pix.networks import (
    patchgan_discriminator,
    pixel_discriminator,
    receptive_field,
    unet_generator,
)


def test_the_learning_rate_is_constant_then_falls_linearly_as_junyanz_has_it():
    factors = [decay_factor(epoch, epochs=3, epochs_decay=4) for epoch in range(7)]
    np.testing.assert_allclose(factors, [1, 1, 1, 4 / 5, 3 / 5, 2 / 5, 1 / 5])
    assert decay_factor(0, epochs=1, epochs_decay=0) == 1.0


def test_both_optimizers_follow_the_schedule_epoch_by_epoch():
    keras.utils.set_random_seed(0)
    model = Pix2Pix(unet_generator(16, ngf=2), patchgan_discriminator(ndf=2, n_layers=1))
    model.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(1e-3))
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(
        (float(model.optimizer.learning_rate), float(model.d_optimizer.learning_rate))))
    x, y = pairs(2, 16)
    model.fit(x, y, epochs=4, verbose=0, callbacks=[LinearDecay(1e-3, 2, 2), record])
    np.testing.assert_allclose(seen, [(1e-3, 1e-3), (1e-3, 1e-3), (2e-3 / 3, 2e-3 / 3),
                                      (1e-3 / 3, 1e-3 / 3)], rtol=1e-6)


def test_gan_losses_on_known_logits():
    logits = tf.constant([0.5, -2.0, 3.0], shape=[1, 1, 3, 1])
    lsgan_real = gan_loss_per_example(logits, 1.0, "lsgan").numpy()
    lsgan_fake = gan_loss_per_example(logits, 0.0, "lsgan").numpy()
    np.testing.assert_allclose(lsgan_real, [(0.25 + 9.0 + 4.0) / 3])
    np.testing.assert_allclose(lsgan_fake, [(0.25 + 4.0 + 9.0) / 3])
    vanilla_real = gan_loss_per_example(logits, 1.0, "vanilla").numpy()
    np.testing.assert_allclose(vanilla_real, [np.mean(np.log1p(np.exp(-logits.numpy())))],
                               rtol=1e-6)


def _constant_discriminator(value: float, conditional: bool = True):
    """A discriminator whose every patch logit is `value`."""
    image = keras.Input((None, None, 3))
    inputs = [keras.Input((None, None, 3)), image] if conditional else image
    x = keras.layers.Concatenate()(inputs) if conditional else image
    logits = keras.layers.Conv2D(1, 1, kernel_initializer="zeros",
                                 bias_initializer=keras.initializers.Constant(value))(x)
    return keras.Model(inputs, logits)


@pytest.mark.parametrize("gan_mode, d_loss, g_gan_loss", [
    ("lsgan", 0.5 * ((0.5 - 1) ** 2 + 0.5 ** 2), (0.5 - 1) ** 2),
    ("vanilla", 0.5 * (np.log1p(np.exp(-0.5)) + np.log1p(np.exp(0.5))), np.log1p(np.exp(-0.5))),
])
def test_the_model_uses_the_gan_mode_for_both_networks(gan_mode, d_loss, g_gan_loss):
    keras.utils.set_random_seed(0)
    model = Pix2Pix(unet_generator(16, ngf=2), _constant_discriminator(0.5), gan_mode=gan_mode)
    model.compile()
    logs = model.evaluate(*pairs(2, 16), verbose=0, return_dict=True)
    assert logs["d_loss"] == pytest.approx(d_loss, rel=1e-5)
    assert logs["g_gan_loss"] == pytest.approx(g_gan_loss, rel=1e-5)


def test_an_unconditional_discriminator_sees_the_image_alone_and_survives_saving(tmp_path):
    keras.utils.set_random_seed(0)
    discriminator = patchgan_discriminator(ndf=2, n_layers=1, conditional=False)
    assert len(discriminator.inputs) == 1
    model = Pix2Pix(unet_generator(16, ngf=2), discriminator, gan_mode="lsgan")
    model.compile()
    x, y = pairs(2, 16)
    before = [w.numpy().copy() for w in model.discriminator.trainable_weights]
    model.fit(x, y, verbose=0)
    assert any(not np.array_equal(a, w.numpy())
               for a, w in zip(before, model.discriminator.trainable_weights, strict=True))
    model.save(tmp_path / "gan.keras")
    loaded = load_model(str(tmp_path / "gan.keras"))
    assert (loaded.conditional, loaded.gan_mode) == (False, "lsgan")


def test_the_pixelgan_gives_one_logit_per_pixel_and_trains():
    keras.utils.set_random_seed(0)
    discriminator = pixel_discriminator(ndf=2)
    x, y = pairs(2, 16)
    assert discriminator([x, y]).shape == (2, 16, 16, 1)
    assert [receptive_field(n) for n in (1, 3, 5)] == [16, 70, 286]
    model = Pix2Pix(unet_generator(16, ngf=2), discriminator)
    model.compile()
    assert np.isfinite(model.fit(x, y, verbose=0).history["d_loss"][0])


def test_lambda_zero_trains_on_the_gan_term_alone():
    keras.utils.set_random_seed(0)
    model = Pix2Pix(unet_generator(16, ngf=2), patchgan_discriminator(ndf=2, n_layers=1),
                    lambda_l1=0.0)
    model.compile()
    logs = model.train_on_batch(*pairs(2, 16), return_dict=True)
    assert logs["g_loss"] == pytest.approx(logs["g_gan_loss"])
    assert logs["g_l1_loss"] > 0  # still measured, no longer trained on


@pytest.fixture(scope="module")
def ab_pairs(tmp_path_factory):
    """A/ and B/ folders: label maps in A/, photos in B/ (24 pairs at 40 px)."""
    root = tmp_path_factory.mktemp("ab")
    for i in range(24):
        labels, photo = synthetic_facades.facade_pair(2, i, 40)
        for folder, image in (("A", labels), ("B", photo)):
            (root / folder).mkdir(exist_ok=True)
            (root / folder / f"{i:02d}.png").write_bytes(tf.io.encode_png(image).numpy())
    return root


def test_direction_swaps_input_and_target(ab_pairs, tmp_path):
    builder = pipeline.prepare_builder(manual_dir=str(ab_pairs), data_dir=str(tmp_path))
    assert pipeline.dataset_direction(builder) == "AtoB"
    a_to_b = next(iter(pipeline.make_test_dataset(builder, 32, 4)))
    own = next(iter(pipeline.make_test_dataset(builder, 32, 4, direction="AtoB")))
    b_to_a = next(iter(pipeline.make_test_dataset(builder, 32, 4, direction="BtoA")))
    np.testing.assert_array_equal(own[0], a_to_b[0])
    np.testing.assert_array_equal(b_to_a[0], a_to_b[1])
    np.testing.assert_array_equal(b_to_a[1], a_to_b[0])
    palette = {tuple(c) for c in synthetic_facades.PALETTE}
    labels = np.round((a_to_b[0].numpy() + 1) * 127.5).astype(int).reshape(-1, 3)
    assert {tuple(c) for c in labels} <= palette  # A holds the label maps
    with pytest.raises(ValueError, match="direction: expected one of"):
        pipeline.make_test_dataset(builder, 32, 4, direction="AtoC")


@pytest.mark.slow
def test_a_128x256_model_trains_from_the_cli_and_exports_its_shape(ab_pairs, tmp_path):
    run = tmp_path / "wide"
    assert main(["pix2pix", "train", "--pairs", str(ab_pairs), "--data-dir",
                 str(tmp_path / "tfds"), "--run-dir", str(run), "--image-size", "128x256",
                 "--ngf", "4", "--ndf", "4", "--batch-size", "2", "--epochs", "1",
                 "--epochs-decay", "1", "--steps-per-epoch", "2", "--direction", "BtoA",
                 "--gan-mode", "lsgan", "--netd", "pixel"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert (config["image_size"], config["direction"], config["epochs_decay"]) == \
        ([128, 256], "BtoA", 1)
    model = load_model(str(run))
    assert model.image_shape == (128, 256) and model.image_size == (128, 256)
    assert model(np.zeros((1, 128, 256, 3), np.float32)).shape == (1, 128, 256, 3)
    assert main(["export", "--model", str(run), "--base-dir", str(tmp_path / "serving")]) == 0
    from tensorflow.python.saved_model import loader_impl

    meta = loader_impl.parse_saved_model(str(tmp_path / "serving" / "pix2pix" / "1"))
    spec = meta.meta_graphs[0].signature_def["serving_default"].inputs["input_image"]
    assert [d.size for d in spec.tensor_shape.dim] == [-1, 128, 256, 3]
    assert main(["export", "--model", str(run), "--format", "tfjs", "--out-dir",
                 str(tmp_path / "tfjs")]) == 0
    with open(tmp_path / "tfjs" / "tfcreative.json") as f:
        assert json.load(f)["image_shape"] == [128, 256]
    assert os.path.exists(tmp_path / "tfjs" / "model.json")
