"""Pix2Pix: a conditional GAN whose `train_step` alternates one discriminator step and one
generator step, in the style of the keras-io GAN examples; users train with `model.fit`.

Losses (Isola et al. 2017): D minimises ½·[ℓ(D(x, y), 1) + ℓ(D(x, G(x)), 0)];
G minimises ℓ(D(x, G(x)), 1) + λ·|y − G(x)|₁ with λ = 100, where ℓ is the binary cross-entropy
on D's logits (`gan_mode="vanilla"`, the paper's) or the squared error (`"lsgan"`, Mao et al.
2017, as junyanz's `--gan_mode lsgan`). Each loss is a per-example mean (over patches or
pixels) averaged over the *global* batch (`tf.nn.compute_average_loss`), so N replicas with
global batch B take the same steps as one device with batch B.

The paper's ablations are arguments: `adversarial=False` trains the generator on λ·L1 alone;
`lambda_l1=0` on the GAN term alone; a discriminator with one input (the image, not the
(input, image) pair: `patchgan_discriminator(conditional=False)`) makes the GAN unconditional.
"""

from __future__ import annotations

import keras
import tensorflow as tf

# a module import, not `from tfcreative.presets import ...`: importing keras inside presets.py
# registers the model classes (tfcreative/__init__.py), so this module may load mid-way.
from tfcreative import presets
from tfcreative.errors import InvalidArgument
from tfcreative.keras_hooks import PrebuiltModelMixin, step_logs
from tfcreative.pix2pix.config import GAN_MODES, PAPER


def default_optimizer():
    """The paper's Adam (2e-4, β1 = 0.5), for either network."""
    return keras.optimizers.Adam(learning_rate=PAPER.learning_rate, beta_1=PAPER.beta_1)


def gan_loss_per_example(logits, value: float, gan_mode: str = "vanilla"):
    """ℓ(D's output, target label) averaged over each example's patches: the binary
    cross-entropy on logits (vanilla) or the squared error (lsgan)."""
    labels = tf.fill(tf.shape(logits), value)
    if gan_mode == "lsgan":
        losses = tf.square(logits - labels)
    else:
        losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_mean(losses, axis=[1, 2, 3])


def _l1_per_example(target, output):
    return tf.reduce_mean(tf.abs(target - output), axis=[1, 2, 3])


@keras.saving.register_keras_serializable(package="tfcreative")
class Pix2Pix(PrebuiltModelMixin, keras.Model):
    """`call` runs the generator; `fit` trains both networks with their own optimizers."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model,
                 lambda_l1: float = PAPER.lambda_l1, adversarial: bool = True,
                 gan_mode: str = PAPER.gan_mode, tiling: bool = False,
                 keep_lightness: bool = False, input_transform: str | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        if gan_mode not in GAN_MODES:
            raise InvalidArgument("gan_mode", f"expected one of {GAN_MODES}, got {gan_mode!r}")
        self.generator = generator
        self.discriminator = discriminator
        self.lambda_l1 = float(lambda_l1)
        self.adversarial = bool(adversarial)
        self.gan_mode = gan_mode
        # How images of another size are translated (translate.py): True for a model trained on
        # crops of photos at their own scale (tiles at that scale), False for one trained on
        # whole images resized to its size (resized to it and back).
        self.tiling = bool(tiling)
        # A colorization model (trained on photos_grayscale): its outputs keep the input's Lab
        # lightness, only their colour is the model's (colour.py).
        self.keep_lightness = bool(keep_lightness)
        # The photo transform its inputs were made by (photo_transforms.TRANSFORMS, e.g.
        # "edges"), or None: label maps, your pairs, photos in. The demo page reads it.
        self.input_transform = input_transform
        # Only what is computed is logged: the L1-only baseline has no discriminator losses.
        names = ("d_loss", "g_gan_loss", "g_l1_loss", "g_loss") if self.adversarial \
            else ("g_l1_loss", "g_loss")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.d_optimizer = None
        self.built = True  # both networks are built functional models

    @property
    def image_shape(self) -> tuple[int, int]:
        """(height, width) the generator takes."""
        return int(self.generator.input_shape[1]), int(self.generator.input_shape[2])

    @property
    def image_size(self):
        """The side of a square model (e.g. 256), else (height, width)."""
        height, width = self.image_shape
        return height if height == width else (height, width)

    @property
    def conditional(self) -> bool:
        """Whether the discriminator sees the (input, image) pair, or the image alone."""
        return len(self.discriminator.inputs) == 2

    def discriminate(self, input_image, image, training=False):
        """D's logits for `image` produced from (or paired with) `input_image`."""
        if self.conditional:
            return self.discriminator([input_image, image], training=training)
        return self.discriminator(image, training=training)

    def call(self, input_image, training=False):
        return self.generator(input_image, training=training)

    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        """Two optimizers; `self.optimizer` is the generator's (its iterations count steps)."""
        super().compile(optimizer=g_optimizer or default_optimizer(), **kwargs)
        self.d_optimizer = d_optimizer or default_optimizer()
        self.d_optimizer.build(self.discriminator.trainable_variables)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def build_optimizers(self):
        """The generator's optimizer holds slots for the generator's weights only."""
        if not self.optimizer.built:
            self.optimizer.build(self.generator.trainable_variables)

    def _unpack(self, data):
        input_image, target, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError("Pix2Pix does not use sample weights; pass (input, target)")
        return input_image, target

    def _discriminator_losses(self, input_image, target, output, training):
        real = self.discriminate(input_image, target, training)
        fake = self.discriminate(input_image, output, training)
        return 0.5 * (gan_loss_per_example(real, 1.0, self.gan_mode)
                      + gan_loss_per_example(fake, 0.0, self.gan_mode))

    def train_step(self, data):
        input_image, target = self._unpack(data)
        losses = {}
        with tf.GradientTape() as g_tape:
            output = self.generator(input_image, training=True)
            if self.adversarial:
                # 1. Discriminator step on (real, generated) pairs.
                with g_tape.stop_recording(), tf.GradientTape() as d_tape:
                    losses["d_loss"] = self._discriminator_losses(
                        input_image, target, tf.stop_gradient(output), training=True)
                    d_loss = tf.nn.compute_average_loss(losses["d_loss"])
                d_grads = d_tape.gradient(d_loss, self.discriminator.trainable_variables)
                self.d_optimizer.apply_gradients(
                    zip(d_grads, self.discriminator.trainable_variables, strict=True))
                # 2. Generator step against the updated discriminator.
                losses["g_gan_loss"] = gan_loss_per_example(
                    self.discriminate(input_image, output, True), 1.0, self.gan_mode)
            losses["g_l1_loss"] = _l1_per_example(target, output)
            losses["g_loss"] = losses.get("g_gan_loss", 0.0) + self.lambda_l1 * losses["g_l1_loss"]
            g_loss = tf.nn.compute_average_loss(losses["g_loss"])
        g_grads = g_tape.gradient(g_loss, self.generator.trainable_variables)
        self.optimizer.apply_gradients(
            zip(g_grads, self.generator.trainable_variables, strict=True))
        return self._update_metrics(losses)

    def test_step(self, data):
        input_image, target = self._unpack(data)
        output = self.generator(input_image, training=False)
        losses = {"g_l1_loss": _l1_per_example(target, output)}
        if self.adversarial:
            losses["d_loss"] = self._discriminator_losses(input_image, target, output,
                                                          training=False)
            losses["g_gan_loss"] = gan_loss_per_example(
                self.discriminate(input_image, output), 1.0, self.gan_mode)
        losses["g_loss"] = losses.get("g_gan_loss", 0.0) + self.lambda_l1 * losses["g_l1_loss"]
        return self._update_metrics(losses)

    def _update_metrics(self, per_example_losses: dict):
        for name, tracker in self.trackers.items():
            tracker.update_state(per_example_losses[name])
        return step_logs({name: tracker.result() for name, tracker in self.trackers.items()})

    # -- presets ------------------------------------------------------------------------

    @classmethod
    def from_preset(cls, preset: str) -> Pix2Pix:
        """A trained model shipped with tfcreative (`tfcreative.presets.list_presets()`, e.g.
        "synthetic_facades") or a preset folder, compiled with the paper's optimizers."""
        model = presets.load_preset(preset, expected=cls)
        model.compile()
        return model

    # -- serialisation --------------------------------------------------------------------

    def get_config(self):
        """Keras's own fields (name, trainable, dtype policy, ...) plus both networks."""
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "lambda_l1": self.lambda_l1,
            "adversarial": self.adversarial,
            "gan_mode": self.gan_mode,
            "tiling": self.tiling,
            "keep_lightness": self.keep_lightness,
            "input_transform": self.input_transform,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

    def get_compile_config(self):
        if self.d_optimizer is None:
            return None
        return {"g_optimizer": keras.saving.serialize_keras_object(self.optimizer),
                "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer)}

    def compile_from_config(self, config):
        self.compile(
            g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]),
            d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]))
        self.optimizer.build(self.generator.trainable_variables)
