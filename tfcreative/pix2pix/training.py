"""Training Pix2Pix with `model.fit` (the run directory: tfcreative/training.py).

Pix2Pix brings: the pairs (pix2pix/<dataset> or your folder), both networks and optimizers,
the validation split (never the test split) for the L1 loss that selects best.keras, and a
callback writing input | output | target grids of validation pairs to samples/ and TensorBoard.
"""

from __future__ import annotations

import dataclasses
import logging
import os

import keras
import numpy as np

from tfcreative import distribute
from tfcreative.errors import InvalidArgument
from tfcreative.pix2pix import pipeline
from tfcreative.pix2pix.callbacks import LinearDecay, SampleGrid
from tfcreative.pix2pix.config import DISCRIMINATORS, Pix2PixTrainConfig
from tfcreative.pix2pix.model import Pix2Pix
from tfcreative.pix2pix.networks import (
    patchgan_discriminator,
    pixel_discriminator,
    unet_generator,
)
from tfcreative.training import TrainingPlan, run_training

logger = logging.getLogger(__name__)


def build_discriminator(config: Pix2PixTrainConfig):
    if config.netd not in DISCRIMINATORS:
        raise InvalidArgument("netd", f"expected one of {DISCRIMINATORS}, got {config.netd!r}")
    if config.netd == "pixel":
        return pixel_discriminator(ndf=config.ndf, norm=config.norm,
                                   conditional=config.conditional)
    return patchgan_discriminator(ndf=config.ndf, n_layers=config.n_layers, norm=config.norm,
                                  conditional=config.conditional)


def build_model(config: Pix2PixTrainConfig) -> Pix2Pix:
    """Networks and optimizers; call inside `strategy.scope()` to distribute them."""
    model = Pix2Pix(
        unet_generator(config.image_size, ngf=config.ngf, norm=config.norm,
                       dropout=config.dropout),
        build_discriminator(config), lambda_l1=config.lambda_l1,
        adversarial=config.adversarial, gan_mode=config.gan_mode)
    model.compile(
        g_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1),
        d_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1))
    return model


def _validation_data(builder, split: str, image_size, batch_size: int, direction=None):
    """Whole batches of the validation pairs (as the music trainer does), or None with a
    warning when there is not one batch of them."""
    count = builder.info.splits[split].num_examples
    if count < batch_size:
        logger.warning("training without validation: %d validation pair(s), fewer than one "
                       "batch of %d", count, batch_size)
        return None
    return pipeline.make_test_dataset(builder, image_size, batch_size, split,
                                      drop_remainder=True, direction=direction)


def train(run_dir: str, config: Pix2PixTrainConfig, dataset: str = pipeline.DEFAULT_DATASET,
          manual_dir: str | None = None, data_dir: str | None = None,
          verbose: int | str = "auto", model: Pix2Pix | None = None, strategy=None,
          callbacks: list | None = None, photos_dir: str | None = None,
          transform: str = "edges", strict: bool = False) -> Pix2Pix:
    """Trains on pix2pix/<dataset> (or your pairs in `manual_dir`, or your photos in
    `photos_dir` with inputs made by `transform`: pipeline.prepare_builder); writes the run
    directory. A model trained on photos learns from crops at their own scale and translates
    larger images in tiles (its `tiling`).

    Pass `model` (e.g. loaded with keras.models.load_model, in `strategy`'s scope) to continue
    training it. `strategy` defaults to make_strategy(config.strategy).
    """
    # A multi-worker strategy must exist before the first TF op (reading your images is one).
    strategy = strategy or distribute.make_strategy(config.strategy)
    checked = None  # your folder is checked before the run directory is made
    if manual_dir is not None or photos_dir is not None:
        checked = pipeline.check_users_folder(manual_dir, photos_dir, transform, strict)

    def make_plan(strategy, start_epoch, out_dir):
        nonlocal model
        builder = pipeline.prepare_builder(dataset, data_dir=data_dir, manual_dir=manual_dir,
                                           photos_dir=photos_dir, transform=transform,
                                           checked=checked)
        splits = pipeline.splits(builder)
        if model is None:
            with strategy.scope():
                model = build_model(config)
        model.tiling = pipeline.is_photos(builder)
        model.keep_lightness = pipeline.is_colorization(builder, config.direction)
        model.input_transform = pipeline.input_transform(builder, config.direction)
        size = model.image_size
        direction = config.direction
        data, steps = pipeline.make_training_stream(
            builder, size, config.batch_size, seed=config.seed,
            steps_per_epoch=config.steps_per_epoch, start_epoch=start_epoch, split=splits.train,
            direction=direction)
        validation = _validation_data(builder, splits.validation, size, config.batch_size,
                                      direction)
        inputs, targets = next(iter(pipeline.make_test_dataset(
            builder, size, config.sample_count, splits.validation, cache=False,
            direction=direction)))
        callbacks = [SampleGrid(np.asarray(inputs), np.asarray(targets),
                                os.path.join(out_dir, "samples"),
                                os.path.join(out_dir, "logs", "samples"))]
        if config.epochs_decay:
            callbacks.append(LinearDecay(config.learning_rate, config.epochs,
                                         config.epochs_decay))
        return TrainingPlan(model, data, steps, validation, "g_l1_loss", callbacks)

    settings = {**dataclasses.asdict(config), "dataset": dataset, "manual_dir": manual_dir}
    if photos_dir is not None:
        settings.update(photos_dir=photos_dir, transform=transform)
    return run_training(run_dir, config, settings, make_plan, strategy=strategy,
                        verbose=verbose, callbacks=callbacks)
