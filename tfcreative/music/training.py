"""Training a MusicLSTM with `model.fit`: data, callbacks and the run directory layout.

A run directory holds everything a run produces:
    config.json          the settings of the run
    model.keras          the final model (vocabulary inside), written atomically
    checkpoints/last.keras, checkpoints/best.keras   after every epoch / best val loss
    checkpoints/interrupted.keras                    written on Ctrl-C
    backup/              BackupAndRestore state while training runs (run the same command
                         again after a crash to resume; deleted when training finishes)
    logs/                TensorBoard logs (`tensorboard --logdir <run_dir>/logs`)
    history.csv          per-epoch loss and bits-per-character

Under tf.distribute (`config.strategy`), the model and optimizer are created in the strategy's
scope; in a multi-worker cluster only the chief writes the run directory (see distribute.py).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil

import keras

from tfcreative import distribute, fault_tolerance
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
    """Model and optimizer; call inside `strategy.scope()` to distribute them."""
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
    strategy=None,
    callbacks: list | None = None,
) -> MusicLSTM:
    """Trains on the bundled corpus (or `abc_path`) and writes the run directory.

    Pass `model` (e.g. one loaded with keras.models.load_model) to continue training it; a
    `model` must have been created in `strategy`'s scope. `strategy` defaults to
    make_strategy(config.strategy). If `run_dir` holds a backup of an unfinished run, training
    resumes from it. Raises NonFiniteLossError on a NaN loss and TrainingInterrupted on Ctrl-C.
    """
    strategy = strategy or distribute.make_strategy(config.strategy)
    distribute.check_time_budget(config.minutes, strategy)
    chief, out_dir = distribute.prepare_run_dir(
        run_dir, strategy, {**dataclasses.asdict(config), "abc_path": abc_path})
    keras.utils.set_random_seed(config.seed)

    builder = pipeline.prepare_tune_builder(abc_path=abc_path, data_dir=data_dir)
    train_texts = pipeline.tune_texts(builder, "train")
    if model is None:
        with strategy.scope():
            model = build_model(pipeline.build_vocabulary(train_texts), config)
    start_epoch = fault_tolerance.backed_up_epoch(os.path.join(out_dir, fault_tolerance.BACKUP_DIR))
    train_data, steps_per_epoch = pipeline.make_training_stream(
        train_texts, model.vocabulary, config.seq_length, config.batch_size, seed=config.seed,
        steps_per_epoch=config.steps_per_epoch, start_epoch=start_epoch)
    val_data = _validation_data(builder, model.vocabulary, config)
    if val_data is not None:
        val_data = distribute.shard_by_data(val_data)

    # Every worker runs the same callbacks (saving reads synchronised variables, a collective
    # op); non-chief workers write into their scratch folder.
    callbacks = [
        *(callbacks or []),
        keras.callbacks.TensorBoard(os.path.join(out_dir, "logs")),
        keras.callbacks.ModelCheckpoint(os.path.join(out_dir, "checkpoints", "last.keras")),
        keras.callbacks.ModelCheckpoint(
            os.path.join(out_dir, "checkpoints", "best.keras"), save_best_only=True,
            monitor="loss" if val_data is None else "val_loss"),
        keras.callbacks.CSVLogger(os.path.join(out_dir, "history.csv"), append=True),
    ]
    if config.minutes:
        callbacks.append(TimeBudget(config.minutes))
    logger.info("training %s with %s (%d replicas)", model.get_config(),
                type(strategy).__name__, strategy.num_replicas_in_sync)
    # shuffle=False: the tf.data pipeline shuffles; Keras's flag would only warn about it.
    fault_tolerance.fit_with_recovery(
        model, distribute.shard_by_data(train_data), run_dir=out_dir, start_epoch=start_epoch,
        write_interrupted=chief, callbacks=callbacks, validation_data=val_data,
        epochs=config.epochs, shuffle=False, steps_per_epoch=steps_per_epoch, verbose=verbose)
    save_model_atomically(model, os.path.join(out_dir, "model.keras"))
    if not chief:
        shutil.rmtree(out_dir, ignore_errors=True)
    return model
