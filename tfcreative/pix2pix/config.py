"""Pix2Pix settings, each written once (no TensorFlow import).

`PAPER` is Isola et al. 2017's configuration and the default; `QUICKSTART` the small model
`tfcreative quickstart` trains in a few CPU minutes. The networks, the model's optimizers and
the CLI's flags read their defaults from here.
"""

from __future__ import annotations

import dataclasses
import math

from tfcreative.config import TrainConfig
from tfcreative.errors import InvalidArgument

NORMS = ("batch", "sync_batch", "instance", "none")
DEFAULT_PRESET = "synthetic_facades"  # what `pix2pix translate` and the demo use by default
DEFAULT_DATASET = "synthetic_facades"  # what `pix2pix train` and `evaluate` read by default
GAN_MODES = ("vanilla", "lsgan")  # BCE on logits (the paper) | least squares (Mao et al.)
DISCRIMINATORS = ("patch", "pixel")  # PatchGAN of n_layers | 1×1 PixelGAN
DIRECTIONS = ("AtoB", "BtoA")  # A: the left half / A/ folder of a pair, B: the right / B/


def image_shape(image_size) -> tuple[int, int]:
    """(height, width) of an image size given as 256, (256, 512), [256, 512] or "256x512"."""
    if isinstance(image_size, str):
        parts = image_size.lower().split("x")
        if len(parts) not in (1, 2) or not all(p.strip().isdigit() for p in parts):
            raise InvalidArgument("image_size", f"{image_size!r}: expected N or HxW, e.g. 256 "
                                                "or 256x512")
        image_size = [int(p) for p in parts]
    if isinstance(image_size, (list, tuple)):
        if len(image_size) == 1:
            image_size = image_size[0]
        elif len(image_size) == 2:
            return int(image_size[0]), int(image_size[1])
        else:
            raise InvalidArgument("image_size", f"{image_size!r}: expected (height, width)")
    return int(image_size), int(image_size)


def unet_depth(image_size) -> int:
    """Encoder levels: one per halving until the smaller side is 1 (8 at 256 px, the paper's).

    The smaller side must be a power of two >= 4 and the larger a multiple of it, so every level
    halves both sides exactly (e.g. 256x512: 8 levels down to a 1x2 bottleneck).
    """
    height, width = image_shape(image_size)
    small, large = min(height, width), max(height, width)
    depth = int(round(math.log2(small))) if small > 0 else 0
    if small < 4 or 2 ** depth != small or large % small:
        raise InvalidArgument("image_size", f"{height}x{width}: the smaller side must be a power "
                                            "of two >= 4 and the larger a multiple of it")
    return depth


@dataclasses.dataclass
class Pix2PixTrainConfig(TrainConfig):
    """Defaults: the paper (256 px, batch 1, Adam 2e-4 β1 0.5, λ = 100, ngf = ndf = 64)."""

    image_size: int | tuple[int, int] = 256  # or (height, width): see image_shape
    ngf: int = 64
    ndf: int = 64
    netd: str = "patch"  # one of DISCRIMINATORS
    n_layers: int = 3  # PatchGAN depth: 1 -> 16×16, 3 -> 70×70, 5 -> 286×286 patches
    norm: str = "batch"  # one of NORMS; sync_batch: statistics across replicas
    dropout: float = 0.5  # on the first three decoder layers (the paper's noise source)
    lambda_l1: float = 100.0  # 0: the cGAN-only ablation
    adversarial: bool = True  # False: the L1-only baseline
    conditional: bool = True  # False: the discriminator sees the output only (plain GAN)
    gan_mode: str = "vanilla"  # one of GAN_MODES
    direction: str | None = None  # one of DIRECTIONS; None: the data set's own direction
    batch_size: int = 1
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    epochs: int = 200  # at the full learning rate
    epochs_decay: int = 0  # then this many with the rate falling linearly towards zero
    sample_count: int = 4  # rows of the per-epoch sample grid

    @property
    def total_epochs(self) -> int:
        return self.epochs + self.epochs_decay


PAPER = Pix2PixTrainConfig()
QUICKSTART = Pix2PixTrainConfig(image_size=64, ngf=16, ndf=16, batch_size=4, epochs=1000)
