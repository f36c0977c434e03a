"""Pix2Pix networks and train_step: shapes, receptive field, updates, save/load, evaluation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcreative.pix2pix import load_model
from tfcreative.pix2pix.evaluation import evaluate_generator, high_frequency_energy
from tfcreative.pix2pix.model import Pix2Pix
from tfcreative.pix2pix.networks import patchgan_discriminator, receptive_field, unet_generator
from tfcreative.saving import save_model_atomically


def tiny_pix2pix(size=32, adversarial=True, norm="batch", seed=0):
    keras.utils.set_random_seed(seed)
    model = Pix2Pix(unet_generator(size, ngf=4, norm=norm),
                    patchgan_discriminator(ndf=4, norm=norm), adversarial=adversarial)
    model.compile()
    return model


def pairs(n=4, size=32, seed=0):
    x = np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 3)).astype("float32")
    return x, np.tanh(2 * x[:, :, ::-1])


@pytest.mark.parametrize("size, norm", [(32, "batch"), (64, "instance"), (16, "none")])
def test_generator_keeps_the_shape_and_range(size, norm):
    generator = unet_generator(size, ngf=4, norm=norm)
    y = generator(pairs(2, size)[0])
    assert y.shape == (2, size, size, 3)
    assert float(tf.reduce_max(tf.abs(y))) <= 1.0


def test_full_size_generator_matches_the_paper():
    generator = unet_generator(256)
    encoder_widths = [generator.get_layer(f"down{i}_conv").filters for i in range(1, 9)]
    decoder_widths = [generator.get_layer(f"up{i}_deconv").filters for i in range(1, 8)]
    assert encoder_widths == [64, 128, 256, 512, 512, 512, 512, 512]
    assert decoder_widths == [512, 512, 512, 512, 256, 128, 64]
    assert [generator.get_layer(f"up{i}_dropout").rate for i in (1, 2, 3)] == [0.5] * 3
    assert "up4_dropout" not in [layer.name for layer in generator.layers]
    assert generator.get_layer("down8_conv").output.shape[1:3] == (1, 1)


@pytest.mark.parametrize("size", [0, 48, 2])
def test_generator_rejects_sizes_that_are_not_powers_of_two(size):
    with pytest.raises(ValueError, match="power of two"):
        unet_generator(size)


def test_weights_are_initialised_from_n_0_002():
    kernel = unet_generator(64, ngf=32).get_layer("down2_conv").kernel.numpy()
    assert abs(kernel.mean()) < 0.002 and kernel.std() == pytest.approx(0.02, rel=0.05)


@pytest.mark.parametrize("n_layers", [2, 3])
def test_patchgan_receptive_field_measured_by_gradients(n_layers):
    """Which input pixels can change one patch logit? Exactly a receptive_field square."""
    discriminator = patchgan_discriminator(ndf=2, n_layers=n_layers, norm="none")
    size = 192
    image = tf.random.uniform((1, size, size, 3))
    with tf.GradientTape() as tape:
        tape.watch(image)
        logits = discriminator([image, image])
        centre = logits.shape[1] // 2
        chosen = logits[0, centre, centre, 0]
    grad = tf.reduce_sum(tf.abs(tape.gradient(chosen, image)[0]), axis=-1).numpy()
    rows, cols = np.nonzero(grad)
    assert rows.max() - rows.min() + 1 == receptive_field(n_layers)
    assert cols.max() - cols.min() + 1 == receptive_field(n_layers)
    assert receptive_field(3) == 70
    assert logits.shape[1] == size // 2 ** n_layers


def test_one_fit_step_updates_both_networks_with_finite_losses():
    model = tiny_pix2pix()
    g0 = [w.numpy().copy() for w in model.generator.trainable_weights]
    d0 = [w.numpy().copy() for w in model.discriminator.trainable_weights]
    logs = model.train_on_batch(*pairs(), return_dict=True)
    assert all(np.isfinite(v) for v in logs.values())
    assert logs["g_loss"] == pytest.approx(logs["g_gan_loss"] + 100 * logs["g_l1_loss"],
                                           rel=1e-5)
    assert all(not np.array_equal(a, w.numpy())
               for a, w in zip(g0, model.generator.trainable_weights, strict=True))
    assert all(not np.array_equal(a, w.numpy())
               for a, w in zip(d0, model.discriminator.trainable_weights, strict=True))
    assert int(model.optimizer.iterations) == int(model.d_optimizer.iterations) == 1


def test_l1_only_baseline_never_touches_the_discriminator():
    model = tiny_pix2pix(adversarial=False)
    d0 = [w.numpy().copy() for w in model.discriminator.weights]
    logs = model.train_on_batch(*pairs(), return_dict=True)
    assert logs["g_loss"] == pytest.approx(100 * logs["g_l1_loss"])
    assert all(np.array_equal(a, w.numpy())
               for a, w in zip(d0, model.discriminator.weights, strict=True))
    # Only what is computed is logged, in training and in evaluation alike.
    assert set(logs) == {"g_l1_loss", "g_loss"}
    assert set(model.evaluate(*pairs(), verbose=0, return_dict=True)) == {"g_l1_loss", "g_loss"}


def test_generator_learns_a_simple_mapping():
    model = tiny_pix2pix(adversarial=False, norm="instance")  # no BN moving-average lag
    model.compile(g_optimizer=keras.optimizers.Adam(3e-3))
    x, _ = pairs(8)
    y = -x  # colour inversion
    first = model.evaluate(x, y, verbose=0, return_dict=True)["g_l1_loss"]
    model.fit(x, y, batch_size=4, epochs=40, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["g_l1_loss"] < 0.85 * first


def test_save_load_round_trip_and_resume(tmp_path):
    model = tiny_pix2pix(norm="instance")
    x, y = pairs()
    model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    path = save_model_atomically(model, str(tmp_path / "p2p.keras"))
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded(x), model(x))
    np.testing.assert_array_equal(loaded.discriminator([x, y]), model.discriminator([x, y]))
    assert int(loaded.optimizer.iterations) == int(loaded.d_optimizer.iterations) == 2
    for a, b in zip(model.d_optimizer.variables, loaded.d_optimizer.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    loaded.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert int(loaded.optimizer.iterations) == int(loaded.d_optimizer.iterations) == 4


def test_metrics_on_perfect_and_blurred_outputs():
    _, target = pairs(4, 32)
    data = tf.data.Dataset.from_tensor_slices((target, target)).batch(3)
    perfect = evaluate_generator(lambda x, training: x, data)
    assert perfect["l1"] == 0 and perfect["ssim"] == pytest.approx(1.0)
    assert perfect["sharpness"] == pytest.approx(1.0) and perfect["pairs"] == 4

    def blur(x, training):
        return tf.nn.avg_pool2d(x, 3, 1, "SAME")

    blurred = evaluate_generator(blur, data)
    assert blurred["sharpness"] < 0.5 and blurred["l1"] > 0 and blurred["ssim"] < 1
    assert float(high_frequency_energy(tf.zeros((1, 8, 8, 3)))[0]) == 0.0


# The tiny GAN of the replica-equality tests; NORM is the generator's and discriminator's norm.
GAN_SETUP_WITH_NORM = """
from tfcreative.pix2pix.model import Pix2Pix
from tfcreative.pix2pix.networks import patchgan_discriminator, unet_generator

rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
y = np.tanh(2 * x[:, ::-1]).astype("float32")

def build_model():
    return Pix2Pix(unet_generator(16, ngf=4, norm="NORM", dropout=0.0),
                   patchgan_discriminator(ndf=4, n_layers=2, norm="NORM"))

def compile_model(model):
    model.compile(g_optimizer=keras.optimizers.SGD(0.05),
                  d_optimizer=keras.optimizers.SGD(0.05))
"""


def test_two_replicas_take_the_same_gan_steps_as_one_device():
    """Global batch 4 on one device vs 2+2 on two replicas, 2 alternating D/G steps with two
    SGD optimizers: the same weights (SGD, since Adam would hide a mis-scaled loss)."""
    from tests.conftest import one_vs_two_replicas

    numbers = one_vs_two_replicas(GAN_SETUP_WITH_NORM.replace("NORM", "instance"),
                                  global_batch=4)
    assert numbers["max_update"] > 1e-3
    assert numbers["max_diff"] < 1e-5


def test_config_keeps_kerass_own_fields_such_as_the_dtype_policy(tmp_path):
    keras.utils.set_random_seed(0)
    model = Pix2Pix(unet_generator(32, ngf=4), patchgan_discriminator(ndf=4),
                    dtype="mixed_bfloat16", name="facades")
    model.compile()
    config = model.get_config()
    assert {"name", "trainable", "dtype"} <= set(config)
    for copy in (Pix2Pix.from_config(config),
                 load_model(save_model_atomically(model, str(tmp_path / "bf16.keras")))):
        assert (copy.name, copy.dtype_policy.name) == ("facades", "mixed_bfloat16")
