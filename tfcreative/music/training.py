"""Training a MusicLSTM with `model.fit` (the run directory: tfcreative/training.py).

The music model brings: the tune data (the bundled corpus or your .abc files, as TFDS
abc_tunes), the model built from the training tunes' vocabulary, the validation tunes, and
validation loss as the metric that selects best.keras.
"""

from __future__ import annotations

import dataclasses
import logging
import os

import keras

from tfcreative.music import pipeline
from tfcreative.music.config import MusicTrainConfig
from tfcreative.music.model import MusicLSTM
from tfcreative.training import TrainingPlan, run_training

logger = logging.getLogger(__name__)


def _validation_data(builder, vocabulary, config: MusicTrainConfig):
    """The validation windows, or None (with a warning) when there are too few such tunes."""
    if "validation" not in builder.info.splits:
        logger.warning("no validation split (too few tunes): training without validation")
        return None
    try:
        return pipeline.make_dataset(pipeline.tune_texts(builder, "validation"), vocabulary,
                                     config.seq_length, config.batch_size, shuffle=False)
    except ValueError as error:
        logger.warning("training without validation: validation split too small: %s", error)
        return None


def build_model(vocabulary, config: MusicTrainConfig) -> MusicLSTM:
    """Model and optimizer; call inside `strategy.scope()` to distribute them."""
    model = MusicLSTM(vocabulary, embedding_dim=config.embedding_dim,
                      lstm_units=config.lstm_units, num_layers=config.num_layers,
                      dropout=config.dropout)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  jit_compile=config.jit_compile)
    return model


def train(run_dir: str, config: MusicTrainConfig, abc_path: str | None = None,
          data_dir: str | None = None, verbose: int | str = "auto",
          model: MusicLSTM | None = None, strategy=None,
          callbacks: list | None = None, collection: str | None = None) -> MusicLSTM:
    """Trains on the bundled corpus (or another `collection`, or your `abc_path` files: see
    pipeline.prepare_tune_builder) and writes the run directory.

    Pass `model` (e.g. one loaded with keras.models.load_model, in `strategy`'s scope) to
    continue training it. `strategy` defaults to make_strategy(config.strategy).
    """
    def make_plan(strategy, start_epoch, out_dir):
        nonlocal model
        builder = pipeline.prepare_tune_builder(abc_path=abc_path, data_dir=data_dir,
                                                collection=collection)
        train_texts = pipeline.tune_texts(builder, "train")
        if model is None:
            with strategy.scope():
                model = build_model(pipeline.build_vocabulary(train_texts), config)
        data, steps = pipeline.make_training_stream(
            train_texts, model.vocabulary, config.seq_length, config.batch_size,
            seed=config.seed, steps_per_epoch=config.steps_per_epoch, start_epoch=start_epoch)
        return TrainingPlan(model, data, steps,
                            _validation_data(builder, model.vocabulary, config), "loss")

    # (the absolute path: `music evaluate` finds the tunes again from any folder)
    settings = {**dataclasses.asdict(config), "collection": collection,
                "abc_path": os.path.abspath(os.path.expanduser(abc_path)) if abc_path else None}
    return run_training(run_dir, config, settings, make_plan, strategy=strategy,
                        verbose=verbose, callbacks=callbacks)
