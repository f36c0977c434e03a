"""The music model's optimizer: Adam, its step size from the run's settings (config.py): the
course's constant 5e-3 from scratch; from a trained model a warm-up, a smaller step and a
cosine decay over the run's planned steps."""

from __future__ import annotations

import keras

from tfcreative.music.config import MusicTrainConfig


def learning_rate_schedule(learning_rate: float, warmup_steps: int = 0, total_steps: int = 0,
                           decay_to: float = 1.0):
    """Adam's step size: `learning_rate`, reached by a linear warm-up from 0 over
    `warmup_steps` steps, then decaying along a cosine to `decay_to` x `learning_rate` at step
    `total_steps` (and staying there); a constant without warm-up or decay. A Keras schedule,
    saved with the optimizer (a resumed run goes on where it was)."""
    decays = decay_to < 1.0 and total_steps > warmup_steps
    if not warmup_steps and not decays:
        return learning_rate
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup_steps else learning_rate,
        decay_steps=total_steps - warmup_steps if decays else 1,
        alpha=decay_to if decays else 1.0,  # alpha 1: no decay, a constant after the warm-up
        warmup_target=learning_rate if warmup_steps else None, warmup_steps=warmup_steps)


def make_optimizer(config: MusicTrainConfig, from_model: bool,
                   total_steps: int = 0) -> keras.optimizers.Optimizer:
    """A new Adam with the run's schedule (MusicTrainConfig.learning_rate_for; the decay, if
    any, over `total_steps`, the run's planned steps: none when 0) and weight decay
    (decoupled, as AdamW's; none by default)."""
    rate, warmup, decay_to = config.learning_rate_for(from_model)
    return keras.optimizers.Adam(learning_rate_schedule(rate, warmup, total_steps, decay_to),
                                 weight_decay=config.weight_decay or None)
