"""Settings every trainer has (no TensorFlow import, so the CLI can read the defaults cheaply).

Each model's own settings extend `TrainConfig` (`tfcreative.music.config`,
`tfcreative.pix2pix.config`), where its named configurations (the course's, the paper's, the
quickstart's) are written once.
"""

from __future__ import annotations

import dataclasses

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu[:name]")
RUN_SETTINGS = "config.json"  # a run directory's record of its settings and data arguments
RUN_MODEL = "model.keras"  # a finished run directory's final model
# The argument an error about a model's sizes names: they come from several settings, so the
# command line names its size flags (cli.common.add_size_flags_note).
MODEL_SIZE = "model_size"


@dataclasses.dataclass
class TrainConfig:
    batch_size: int = 1  # global batch, split across replicas under tf.distribute
    learning_rate: float = 1e-3
    epochs: int = 1
    steps_per_epoch: int | None = None  # None: one pass over the training data
    minutes: float | None = None  # stop after this much training time, mid-epoch if need be
    seed: int = 0  # weights, shuffling, augmentation
    strategy: str = "default"  # default | mirrored | multi_worker | tpu[:name] (distribute.py)

    @property
    def total_epochs(self) -> int:
        """Epochs `fit` runs (a model's config may add phases, e.g. Pix2Pix's decay)."""
        return self.epochs
