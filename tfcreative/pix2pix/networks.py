"""The two Pix2Pix networks (Isola et al. 2017, appendix 6.1.1), as functional Keras models.

U-Net generator: encoder C64-C128-C256-C512-C512-C512-C512-C512 (for 256 px: one 4×4 stride-2
conv per halving, down to 1×1), decoder CD512-CD512-CD512-C512-C256-C128-C64 with skips
between encoder layer i and decoder layer n−i, tanh output. PatchGAN discriminator: C64-C128-
C256-C512 on the input and target concatenated, one logit per patch; with n_layers=3 each
logit sees a 70×70 patch (16×16 with 1 layer, 286×286 with 5); the PixelGAN sees 1×1. Either
discriminator can be unconditional (the image alone), for the paper's GAN-without-condition
ablation. Weights N(0, 0.02). `ngf`/`ndf` scale all widths (small models for the browser);
other image sizes, rectangles such as 256×512 included, get one encoder level per halving of
the smaller side.
"""

from __future__ import annotations

import keras

from tfcreative.errors import InvalidArgument
from tfcreative.pix2pix.config import NORMS, PAPER, image_shape, unet_depth

WEIGHT_INIT = keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def _norm(kind: str, name: str):
    """batch: statistics of each replica's share of the batch (under tf.distribute a replica
    normalises over global_batch / replicas examples, so results depend on the replica count).
    sync_batch: statistics all-reduced over the global batch, as on one device (one extra
    all-reduce per layer and step). instance: per image, independent of batch and replicas.
    """
    if kind in ("batch", "sync_batch"):
        return keras.layers.BatchNormalization(
            gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02),
            synchronized=kind == "sync_batch", name=name)
    if kind == "instance":  # one group per channel = instance normalisation
        return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)
    return None


def _check(norm: str, **positive) -> None:
    if norm not in NORMS:
        raise InvalidArgument("norm", f"expected one of {NORMS}, got {norm!r}")
    for name, value in positive.items():
        if int(value) < 1:
            raise InvalidArgument(name, f"expected >= 1, got {value}")


def _encoder_block(x, filters, norm, name):
    x = keras.layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=norm == "none",
                            kernel_initializer=WEIGHT_INIT, name=f"{name}_conv")(x)
    layer = _norm(norm, f"{name}_norm")
    if layer is not None:
        x = layer(x)
    return keras.layers.LeakyReLU(0.2, name=f"{name}_lrelu")(x)


def _decoder_block(x, filters, norm, dropout, name):
    x = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same",
                                     use_bias=norm == "none", kernel_initializer=WEIGHT_INIT,
                                     name=f"{name}_deconv")(x)
    layer = _norm(norm, f"{name}_norm")
    if layer is not None:
        x = layer(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def unet_generator(image_size=PAPER.image_size, ngf: int = PAPER.ngf, norm: str = PAPER.norm,
                   channels: int = 3, dropout: float = PAPER.dropout) -> keras.Model:
    """[b, height, width, channels] in [-1, 1] -> same shape in [-1, 1].

    image_size: 256, or (height, width) such as (256, 512) (see unet_depth). dropout: rate on
    the first three decoder layers (the paper's 0.5; 0 removes them).
    """
    _check(norm, ngf=ngf, channels=channels)
    depth = unet_depth(image_size)
    height, width = image_shape(image_size)
    widths = [ngf * min(2 ** i, 8) for i in range(depth)]
    inputs = keras.Input((height, width, channels), name="input_image")
    x, skips = inputs, []
    for i, width_i in enumerate(widths):
        # No norm on the first layer (paper) nor on the bottleneck (norm of one value per map).
        x = _encoder_block(x, width_i, norm if 0 < i < depth - 1 else "none", f"down{i + 1}")
        skips.append(x)
    for j, skip in enumerate(reversed(skips[:-1])):
        x = _decoder_block(x, widths[depth - 2 - j], norm, dropout if j < 3 else 0.0,
                           name=f"up{j + 1}")
        x = keras.layers.Concatenate(name=f"skip{j + 1}")([x, skip])
    outputs = keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same",
                                           kernel_initializer=WEIGHT_INIT, activation="tanh",
                                           name="output")(x)
    return keras.Model(inputs, outputs, name="unet_generator")


def _discriminator_inputs(channels: int, conditional: bool):
    """(Keras inputs, the image the layers see): the (input, image) pair concatenated for a
    conditional discriminator (the paper's), the image alone for an unconditional one."""
    image = keras.Input((None, None, channels), name="target_image")
    if not conditional:
        return image, image
    input_image = keras.Input((None, None, channels), name="input_image")
    return [input_image, image], keras.layers.Concatenate(name="pair")([input_image, image])


def patchgan_discriminator(ndf: int = PAPER.ndf, n_layers: int = PAPER.n_layers,
                           norm: str = PAPER.norm, channels: int = 3,
                           conditional: bool = PAPER.conditional) -> keras.Model:
    """(input, target or generated) -> [b, h, w, 1] logits, one per overlapping patch.

    Receptive field (receptive_field): 16×16 for n_layers=1, 70×70 for 3 (the paper's), 286×286
    for 5. conditional=False: the image alone (an unconditional GAN). Any image size works.
    """
    _check(norm, ndf=ndf, n_layers=n_layers, channels=channels)
    inputs, x = _discriminator_inputs(channels, conditional)
    x = _encoder_block(x, ndf, "none", "d1")
    for n in range(1, n_layers):
        x = _encoder_block(x, ndf * min(2 ** n, 8), norm, f"d{n + 1}")
    x = keras.layers.Conv2D(ndf * min(2 ** n_layers, 8), 4, strides=1, padding="same",
                            use_bias=norm == "none", kernel_initializer=WEIGHT_INIT,
                            name=f"d{n_layers + 1}_conv")(x)
    layer = _norm(norm, f"d{n_layers + 1}_norm")
    if layer is not None:
        x = layer(x)
    x = keras.layers.LeakyReLU(0.2, name=f"d{n_layers + 1}_lrelu")(x)
    logits = keras.layers.Conv2D(1, 4, strides=1, padding="same",
                                 kernel_initializer=WEIGHT_INIT, name="patch_logits")(x)
    return keras.Model(inputs, logits, name="patchgan_discriminator")


def pixel_discriminator(ndf: int = PAPER.ndf, norm: str = PAPER.norm, channels: int = 3,
                        conditional: bool = PAPER.conditional) -> keras.Model:
    """PixelGAN: one logit per pixel from 1×1 convolutions (a 1×1 receptive field; the paper's
    Table 2 and junyanz's `--netD pixel`)."""
    _check(norm, ndf=ndf, channels=channels)
    inputs, x = _discriminator_inputs(channels, conditional)
    x = keras.layers.Conv2D(ndf, 1, kernel_initializer=WEIGHT_INIT, name="p1_conv")(x)
    x = keras.layers.LeakyReLU(0.2, name="p1_lrelu")(x)
    x = keras.layers.Conv2D(ndf * 2, 1, use_bias=norm == "none", kernel_initializer=WEIGHT_INIT,
                            name="p2_conv")(x)
    layer = _norm(norm, "p2_norm")
    if layer is not None:
        x = layer(x)
    x = keras.layers.LeakyReLU(0.2, name="p2_lrelu")(x)
    logits = keras.layers.Conv2D(1, 1, kernel_initializer=WEIGHT_INIT, name="pixel_logits")(x)
    return keras.Model(inputs, logits, name="pixel_discriminator")


def receptive_field(n_layers: int) -> int:
    """Side of the input patch each PatchGAN logit sees (4×4 kernels)."""
    field = 1 + 3 + 3  # the two stride-1 convs
    for _ in range(n_layers):
        field = 2 * field + 2
    return field
