"""Training a MusicLSTM with `model.fit`: data, callbacks and the run directory layout.

A run directory holds everything a run produces:
    config.json          the settings of the run
    model.keras          the final model (vocabulary inside), written atomically
    checkpoints/last.keras, checkpoints/best.keras   after every epoch / best val loss
    logs/                TensorBoard logs (`tensorboard --logdir <run_dir>/logs`)
    history.csv          per-epoch loss and bits-per-character
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os

import keras

from tfcreative.callbacks import TimeBudget
from tfcreative.music import pipeline
from tfcreative.music.config import MusicTrainConfig
from tfcreative.music.model import MusicLSTM
from tfcreative.saving import save_model_atomically

logger = logging.getLogger(__name__)


def _validation_data(builder, vocabulary, config: MusicTrainConfig):
    """The held-out windows, or None (with a warning) when there are too few held-out tunes."""
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
    model = MusicLSTM(
        vocabulary,
        embedding_dim=config.embedding_dim,
        lstm_units=config.lstm_units,
        num_layers=config.num_layers,
        dropout=config.dropout,
    )
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  jit_compile=config.jit_compile)
    return model


def train(
    run_dir: str,
    config: MusicTrainConfig,
    abc_path: str | None = None,
    data_dir: str | None = None,
    verbose: int | str = "auto",
    model: MusicLSTM | None = None,
) -> MusicLSTM:
    """Trains on the bundled corpus (or `abc_path`) and writes the run directory.

    Pass `model` (e.g. one loaded with keras.models.load_model) to continue training it.
    """
    os.makedirs(os.path.join(run_dir, "checkpoints"), exist_ok=True)
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        json.dump({**dataclasses.asdict(config), "abc_path": abc_path}, f, indent=2)
    keras.utils.set_random_seed(config.seed)

    builder = pipeline.prepare_tune_builder(abc_path=abc_path, data_dir=data_dir)
    train_texts = pipeline.tune_texts(builder, "train")
    if model is None:
        model = build_model(pipeline.build_vocabulary(train_texts), config)
    train_data = pipeline.make_dataset(train_texts, model.vocabulary, config.seq_length,
                                       config.batch_size, shuffle=True, seed=config.seed)
    val_data = _validation_data(builder, model.vocabulary, config)
    if config.steps_per_epoch:
        train_data = train_data.repeat()

    callbacks = [
        keras.callbacks.TensorBoard(os.path.join(run_dir, "logs")),
        keras.callbacks.ModelCheckpoint(os.path.join(run_dir, "checkpoints", "last.keras")),
        keras.callbacks.ModelCheckpoint(
            os.path.join(run_dir, "checkpoints", "best.keras"), save_best_only=True,
            monitor="loss" if val_data is None else "val_loss"),
        keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=True),
        keras.callbacks.TerminateOnNaN(),
    ]
    if config.minutes:
        callbacks.append(TimeBudget(config.minutes))
    logger.info("training %s", model.get_config())
    # shuffle=False: the tf.data pipeline shuffles; Keras's flag would only warn about it.
    model.fit(train_data, validation_data=val_data, epochs=config.epochs, shuffle=False,
              steps_per_epoch=config.steps_per_epoch, callbacks=callbacks, verbose=verbose)
    save_model_atomically(model, os.path.join(run_dir, "model.keras"))
    return model
