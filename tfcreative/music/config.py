"""The music model's settings, each written once (no TensorFlow import).

`COURSE` is the MIT 6.S191 lab's configuration and the default; `QUICKSTART` the small model
`tfcreative quickstart` trains in a few CPU minutes. The model's constructor, the CLI's flags
and the sampler read their defaults from here.
"""

from __future__ import annotations

import dataclasses

from tfcreative.config import TrainConfig

DEFAULT_SEED_TEXT = "X:1\nT:"  # every tune starts with its reference number and title
DEFAULT_MAX_LENGTH = 1000  # characters generated after the seed, at most
# The command line's and the quickstart's sampling: "meter" keeps the grammar and every bar in
# time, for far more tunes that parse and scan than unconstrained sampling, at a small cost in
# the model's surprise and no more copying (measured: README, Meter-aware sampling);
# TuneSampler.generate itself samples freely unless asked.
DEFAULT_CONSTRAINT = "meter"
DEFAULT_PRESET = "folk"  # what `music generate` and the demo use without a model of yours


@dataclasses.dataclass
class MusicTrainConfig(TrainConfig):
    """Defaults: the course (embedding 256, LSTM 1024, seq 100, batch 8, Adam 5e-3)."""

    embedding_dim: int = 256
    lstm_units: int = 1024
    num_layers: int = 1
    dropout: float = 0.0
    seq_length: int = 100
    batch_size: int = 8
    learning_rate: float = 5e-3
    epochs: int = 20
    jit_compile: bool | str = "auto"


COURSE = MusicTrainConfig()
QUICKSTART = MusicTrainConfig(embedding_dim=64, lstm_units=256, batch_size=32, epochs=1000)
