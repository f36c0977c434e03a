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
# TuneSampler.generate samples at most this many tunes at once: memory stays bounded whatever
# num_tunes asks for (a batch's token buffer and LSTM state take a few MB), and the tunes are
# the same (each tune's randomness is its own seed's). Larger batches sample more tunes per
# second on a CPU (the step is a matrix product).
GENERATION_BATCH = 256
# The command line's bounds: a run writes at most MAX_NUM_TUNES tunes (two files each), each
# of at most MAX_GENERATED_LENGTH characters (a folk tune has a few hundred).
MAX_NUM_TUNES = 10_000
MAX_GENERATED_LENGTH = 100_000
# The command line's and the quickstart's sampling: "form" writes whole tunes (parts of 8 or
# 16 bars that repeat, the parts asked, the last note on the tonic) and keeps the grammar and
# every bar in time ("meter" keeps the bars alone), for far more tunes that parse, scan and
# have a musician's shape than unconstrained sampling, at a small cost in the model's
# surprise and no more copying (measured: README, Form-aware sampling);
# TuneSampler.generate itself samples freely unless asked.
DEFAULT_CONSTRAINT = "form"
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
