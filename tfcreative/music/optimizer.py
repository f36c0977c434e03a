"""The music model's optimizer: Adam, its step size from the run's settings (config.py): the
course's from scratch, the fine-tuning default when training starts from a trained model."""

from __future__ import annotations

import keras

from tfcreative.music.config import MusicTrainConfig


def learning_rate_schedule(learning_rate: float, warmup_steps: int = 0):
    """Adam's step size: `learning_rate`, reached by a linear warm-up from 0 over
    `warmup_steps` steps (a Keras schedule, saved with the optimizer) if any."""
    if not warmup_steps:
        return learning_rate
    # CosineDecay with alpha 1 decays nowhere: its warm-up, then a constant rate.
    return keras.optimizers.schedules.CosineDecay(0.0, decay_steps=1, alpha=1.0,
                                                  warmup_target=learning_rate,
                                                  warmup_steps=warmup_steps)


def make_optimizer(config: MusicTrainConfig, from_model: bool) -> keras.optimizers.Optimizer:
    """A new Adam with the run's step size (MusicTrainConfig.learning_rate_for) and weight
    decay (decoupled, as AdamW's; none by default)."""
    return keras.optimizers.Adam(learning_rate_schedule(*config.learning_rate_for(from_model)),
                                 weight_decay=config.weight_decay or None)
