"""Pix2Pix settings, each written once (no TensorFlow import).

`PAPER` is Isola et al. 2017's configuration and the default; `QUICKSTART` the small model
`tfcreative quickstart` trains in a few CPU minutes. The networks, the model's optimizers and
the CLI's flags read their defaults from here.
"""

from __future__ import annotations

import dataclasses

from tfcreative.config import TrainConfig

NORMS = ("batch", "sync_batch", "instance", "none")


@dataclasses.dataclass
class Pix2PixTrainConfig(TrainConfig):
    """Defaults: the paper (256 px, batch 1, Adam 2e-4 β1 0.5, λ = 100, ngf = ndf = 64)."""

    image_size: int = 256
    ngf: int = 64
    ndf: int = 64
    n_layers: int = 3  # PatchGAN depth: 3 -> 70×70 patches
    norm: str = "batch"  # one of NORMS; sync_batch: statistics across replicas
    dropout: float = 0.5  # on the first three decoder layers (the paper's noise source)
    lambda_l1: float = 100.0
    adversarial: bool = True  # False: the L1-only baseline
    batch_size: int = 1
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    epochs: int = 200
    sample_count: int = 4  # rows of the per-epoch sample grid


PAPER = Pix2PixTrainConfig()
QUICKSTART = Pix2PixTrainConfig(image_size=64, ngf=16, ndf=16, batch_size=4, epochs=1000)
