"""Training settings of the music model (no TensorFlow import, so CLI help stays fast)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class MusicTrainConfig:
    """Defaults follow the MIT 6.S191 course: embedding 256, LSTM 1024, seq 100, batch 8."""

    embedding_dim: int = 256
    lstm_units: int = 1024
    num_layers: int = 1
    dropout: float = 0.0
    seq_length: int = 100
    batch_size: int = 8  # global batch, split across replicas under tf.distribute
    learning_rate: float = 5e-3
    epochs: int = 20
    steps_per_epoch: int | None = None  # None: one pass over the training windows
    minutes: float | None = None  # stop after this much training time, whatever the epoch
    seed: int = 0
    jit_compile: bool | str = "auto"
    strategy: str = "default"  # default | mirrored | multi_worker | tpu[:name] (distribute.py)
