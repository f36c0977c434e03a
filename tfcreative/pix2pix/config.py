"""Pix2Pix training settings (no TensorFlow import, so CLI help stays fast)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class Pix2PixTrainConfig:
    """Defaults follow the paper: 256 px, batch 1, Adam 2e-4 β1 0.5, λ = 100, ngf = ndf = 64."""

    image_size: int = 256
    ngf: int = 64
    ndf: int = 64
    n_layers: int = 3  # PatchGAN depth: 3 -> 70×70 patches
    norm: str = "batch"  # batch | sync_batch (across replicas) | instance | none
    dropout: float = 0.5  # on the first three decoder layers (the paper's noise source)
    lambda_l1: float = 100.0
    adversarial: bool = True  # False: the L1-only baseline
    batch_size: int = 1
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    epochs: int = 200
    steps_per_epoch: int | None = None
    minutes: float | None = None
    seed: int = 0
    sample_count: int = 4  # rows of the per-epoch sample grid
    strategy: str = "default"  # default | mirrored | multi_worker | tpu[:name] (distribute.py)
