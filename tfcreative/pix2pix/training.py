"""Training Pix2Pix with `model.fit`; the run directory mirrors the music trainer's:

    config.json, model.keras (written atomically), checkpoints/last.keras and best.keras,
    logs/ (TensorBoard: losses and sample images), samples/epoch_NNN.png, history.csv
"""

from __future__ import annotations

import dataclasses
import json
import os

import keras
import numpy as np

from tfcreative.callbacks import TimeBudget
from tfcreative.pix2pix import pipeline
from tfcreative.pix2pix.callbacks import SampleGrid
from tfcreative.pix2pix.config import Pix2PixTrainConfig
from tfcreative.pix2pix.model import Pix2Pix
from tfcreative.pix2pix.networks import patchgan_discriminator, unet_generator
from tfcreative.saving import save_model_atomically


def build_model(config: Pix2PixTrainConfig) -> Pix2Pix:
    model = Pix2Pix(
        unet_generator(config.image_size, ngf=config.ngf, norm=config.norm),
        patchgan_discriminator(ndf=config.ndf, n_layers=config.n_layers, norm=config.norm),
        lambda_l1=config.lambda_l1, adversarial=config.adversarial)
    model.compile(
        g_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1),
        d_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1))
    return model


def train(run_dir: str, config: Pix2PixTrainConfig, dataset: str = pipeline.DEFAULT_DATASET,
          manual_dir: str | None = None, data_dir: str | None = None,
          verbose: int | str = "auto", model: Pix2Pix | None = None) -> Pix2Pix:
    """Trains on pix2pix/<dataset> (or your pairs in `manual_dir`); writes the run directory.

    Pass `model` (e.g. loaded with keras.models.load_model) to continue training it.
    """
    os.makedirs(os.path.join(run_dir, "checkpoints"), exist_ok=True)
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        json.dump({**dataclasses.asdict(config), "dataset": dataset, "manual_dir": manual_dir},
                  f, indent=2)
    keras.utils.set_random_seed(config.seed)
    builder = pipeline.prepare_builder(dataset, data_dir=data_dir, manual_dir=manual_dir)
    model = model or build_model(config)
    size = model.image_size
    train_data = pipeline.make_train_dataset(builder, size, config.batch_size, seed=config.seed)
    if config.steps_per_epoch:
        train_data = train_data.repeat()
    split = pipeline.held_out_split(builder)
    held_out = pipeline.make_test_dataset(builder, size, config.batch_size, split)
    samples = next(iter(pipeline.make_test_dataset(builder, size, config.sample_count, split,
                                                   cache=False)))
    callbacks = [
        keras.callbacks.TensorBoard(os.path.join(run_dir, "logs")),
        SampleGrid(np.asarray(samples[0]), np.asarray(samples[1]),
                   os.path.join(run_dir, "samples"), os.path.join(run_dir, "logs", "samples")),
        keras.callbacks.ModelCheckpoint(os.path.join(run_dir, "checkpoints", "last.keras")),
        keras.callbacks.ModelCheckpoint(os.path.join(run_dir, "checkpoints", "best.keras"),
                                        monitor="val_g_l1_loss", mode="min",
                                        save_best_only=True),
        keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=True),
        keras.callbacks.TerminateOnNaN(),
    ]
    if config.minutes:
        callbacks.append(TimeBudget(config.minutes))
    # shuffle=False: the tf.data pipeline shuffles; Keras's flag would only warn about it.
    model.fit(train_data, validation_data=held_out, epochs=config.epochs, shuffle=False,
              steps_per_epoch=config.steps_per_epoch, callbacks=callbacks, verbose=verbose)
    save_model_atomically(model, os.path.join(run_dir, "model.keras"))
    return model
