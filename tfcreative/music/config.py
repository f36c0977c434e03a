"""The music model's settings, each written once (no TensorFlow import).

`COURSE` is the MIT 6.S191 lab's configuration and the default; `QUICKSTART` the small model
`tfcreative quickstart` trains in a few CPU minutes; `FINE_TUNING_*` the optimizer's defaults
when training starts from a trained model (a preset, `--from folk`), measured by
`experiments/fine_tuning.py`. The model's constructor, the CLI's flags and the sampler read
their defaults from here.
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
# surprise and no more copying (measured: docs/form_aware_sampling.md);
# TuneSampler.generate itself samples freely unless asked.
DEFAULT_CONSTRAINT = "form"
DEFAULT_PRESET = "folk"  # what `music generate` and the demo use without a model of yours


# Adam's step size from scratch: the course's.
COURSE_LEARNING_RATE = 5e-3
# From a trained model (fine-tuning on your tunes): a linear warm-up over the first steps
# (Adam's first steps, with fresh moment estimates, are its largest) to a smaller step than the
# course's, then a cosine decay to a tenth of it at the run's last planned step (epochs x steps
# per epoch; a --minutes budget may stop it earlier). Chosen on the validation tunes of two
# collections the models started from never saw (experiments/fine_tuning.py,
# docs/fine_tuning.md): the lowest mean validation bits/char at the best checkpoint, and the
# best final weights among those within 0.005 of it.
FINE_TUNING_LEARNING_RATE = 2e-3
FINE_TUNING_WARMUP_STEPS = 100
FINE_TUNING_DECAY_TO = 0.1
# What fine-tuning does with characters of the tunes the model does not know
# (fine_tuning.adapt_to_tunes); the first is the default.
NEW_CHARACTERS = ("grow", "map")


@dataclasses.dataclass
class MusicTrainConfig(TrainConfig):
    """Defaults: the course (embedding 256, LSTM 1024, seq 100, batch 8, Adam 5e-3).

    learning_rate, warmup_steps and decay_to None: the course's 5e-3, constant, from
    scratch; from a trained model the fine-tuning schedule (FINE_TUNING_*: warm-up, cosine
    decay) (`learning_rate_for`)."""

    embedding_dim: int = 256
    lstm_units: int = 1024
    num_layers: int = 1
    dropout: float = 0.0  # on each LSTM layer's inputs
    output_dropout: float = 0.0  # on the last LSTM layer's outputs, before the logits
    seq_length: int = 100
    batch_size: int = 8
    learning_rate: float | None = None
    warmup_steps: int | None = None  # linear warm-up from 0 to learning_rate
    # cosine decay to this fraction of learning_rate at the last planned step (1: none)
    decay_to: float | None = None
    weight_decay: float = 0.0  # Adam's decoupled weight decay (AdamW's), per step
    epochs: int = 20
    jit_compile: bool | str = "auto"

    def learning_rate_for(self, from_model: bool) -> tuple[float, int, float]:
        """(learning rate, warm-up steps, decay to) of a run from scratch or from a trained
        model, each the config's own where it sets one."""
        defaults = (FINE_TUNING_LEARNING_RATE, FINE_TUNING_WARMUP_STEPS, FINE_TUNING_DECAY_TO) \
            if from_model else (COURSE_LEARNING_RATE, 0, 1.0)
        return tuple(default if value is None else value for value, default in
                     zip((self.learning_rate, self.warmup_steps, self.decay_to), defaults,
                         strict=True))


COURSE = MusicTrainConfig()
QUICKSTART = MusicTrainConfig(embedding_dim=64, lstm_units=256, batch_size=32, epochs=1000)
