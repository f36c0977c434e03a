"""Training Pix2Pix with `model.fit`; the run directory mirrors the music trainer's:

    config.json, model.keras (written atomically), checkpoints/last.keras and best.keras,
    checkpoints/interrupted.keras (Ctrl-C), backup/ (BackupAndRestore state while training;
    run the same command again after a crash to resume), logs/ (TensorBoard: losses and
    sample images), samples/epoch_NNN.png, history.csv

Under tf.distribute (`config.strategy`) both networks and both optimizers are created in the
strategy's scope; in a multi-worker cluster only the chief writes the run directory.
"""

from __future__ import annotations

import dataclasses
import os
import shutil

import keras
import numpy as np

from tfcreative import distribute, fault_tolerance
from tfcreative.callbacks import TimeBudget
from tfcreative.pix2pix import pipeline
from tfcreative.pix2pix.callbacks import SampleGrid
from tfcreative.pix2pix.config import Pix2PixTrainConfig
from tfcreative.pix2pix.model import Pix2Pix
from tfcreative.pix2pix.networks import patchgan_discriminator, unet_generator
from tfcreative.saving import save_model_atomically


def build_model(config: Pix2PixTrainConfig) -> Pix2Pix:
    """Networks and optimizers; call inside `strategy.scope()` to distribute them."""
    model = Pix2Pix(
        unet_generator(config.image_size, ngf=config.ngf, norm=config.norm,
                       dropout=config.dropout),
        patchgan_discriminator(ndf=config.ndf, n_layers=config.n_layers, norm=config.norm),
        lambda_l1=config.lambda_l1, adversarial=config.adversarial)
    model.compile(
        g_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1),
        d_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1))
    return model


def train(run_dir: str, config: Pix2PixTrainConfig, dataset: str = pipeline.DEFAULT_DATASET,
          manual_dir: str | None = None, data_dir: str | None = None,
          verbose: int | str = "auto", model: Pix2Pix | None = None, strategy=None,
          callbacks: list | None = None) -> Pix2Pix:
    """Trains on pix2pix/<dataset> (or your pairs in `manual_dir`); writes the run directory.

    Pass `model` (e.g. loaded with keras.models.load_model, in `strategy`'s scope) to continue
    training it. `strategy` defaults to make_strategy(config.strategy). If `run_dir` holds a
    backup of an unfinished run, training resumes from it. Raises NonFiniteLossError on a NaN
    loss and TrainingInterrupted on Ctrl-C.
    """
    strategy = strategy or distribute.make_strategy(config.strategy)
    distribute.check_time_budget(config.minutes, strategy)
    chief, out_dir = distribute.prepare_run_dir(
        run_dir, strategy,
        {**dataclasses.asdict(config), "dataset": dataset, "manual_dir": manual_dir})
    keras.utils.set_random_seed(config.seed)
    builder = pipeline.prepare_builder(dataset, data_dir=data_dir, manual_dir=manual_dir)
    if model is None:
        with strategy.scope():
            model = build_model(config)
    size = model.image_size
    start_epoch = fault_tolerance.backed_up_epoch(os.path.join(out_dir, fault_tolerance.BACKUP_DIR))
    train_data, steps_per_epoch = pipeline.make_training_stream(
        builder, size, config.batch_size, seed=config.seed,
        steps_per_epoch=config.steps_per_epoch, start_epoch=start_epoch)
    split = pipeline.held_out_split(builder)
    held_out = pipeline.make_test_dataset(builder, size, config.batch_size, split)
    samples = next(iter(pipeline.make_test_dataset(builder, size, config.sample_count, split,
                                                   cache=False)))
    # Every worker runs the same callbacks (some read synchronised variables, a collective
    # op); non-chief workers write into their scratch folder.
    callbacks = [
        *(callbacks or []),
        keras.callbacks.TensorBoard(os.path.join(out_dir, "logs")),
        SampleGrid(np.asarray(samples[0]), np.asarray(samples[1]),
                   os.path.join(out_dir, "samples"), os.path.join(out_dir, "logs", "samples")),
        keras.callbacks.ModelCheckpoint(os.path.join(out_dir, "checkpoints", "last.keras")),
        keras.callbacks.ModelCheckpoint(os.path.join(out_dir, "checkpoints", "best.keras"),
                                        monitor="val_g_l1_loss", mode="min",
                                        save_best_only=True),
        keras.callbacks.CSVLogger(os.path.join(out_dir, "history.csv"), append=True),
    ]
    if config.minutes:
        callbacks.append(TimeBudget(config.minutes))
    # shuffle=False: the tf.data pipeline shuffles; Keras's flag would only warn about it.
    fault_tolerance.fit_with_recovery(
        model, distribute.shard_by_data(train_data), run_dir=out_dir, start_epoch=start_epoch,
        write_interrupted=chief, callbacks=callbacks,
        validation_data=distribute.shard_by_data(held_out), epochs=config.epochs,
        shuffle=False, steps_per_epoch=steps_per_epoch, verbose=verbose)
    save_model_atomically(model, os.path.join(out_dir, "model.keras"))
    if not chief:
        shutil.rmtree(out_dir, ignore_errors=True)
    return model
