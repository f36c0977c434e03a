"""Pix2Pix's callbacks: input | output | target grids (PNG and TensorBoard), and the linear
learning-rate decay of junyanz's pytorch-CycleGAN-and-pix2pix."""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from tfcreative.pix2pix.images import image_grid, write_png


class SampleGrid(keras.callbacks.Callback):
    """After each epoch: <directory>/epoch_NNN.png and a TensorBoard image summary."""

    def __init__(self, inputs, targets, directory: str, log_dir: str | None = None):
        super().__init__()
        self.inputs, self.targets = inputs, targets
        self.directory = directory
        self.writer = tf.summary.create_file_writer(log_dir) if log_dir else None

    def on_epoch_end(self, epoch, logs=None):
        outputs = self.model(self.inputs, training=False)
        grid = image_grid(self.inputs, outputs, self.targets)
        os.makedirs(self.directory, exist_ok=True)
        write_png(os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png"), grid)
        if self.writer is not None:
            with self.writer.as_default():
                tf.summary.image("input | output | target", grid[None], step=epoch + 1)
            self.writer.flush()


def decay_factor(epoch: int, epochs: int, epochs_decay: int) -> float:
    """The learning-rate multiplier of (0-based) `epoch`: 1 for the first `epochs`, then linearly
    down over `epochs_decay` more, as junyanz's `--n_epochs`/`--n_epochs_decay`
    (1 - max(0, epoch + 1 - epochs) / (epochs_decay + 1): it would reach 0 one epoch after the
    last)."""
    return 1.0 - max(0, epoch + 1 - epochs) / float(epochs_decay + 1)


class LinearDecay(keras.callbacks.Callback):
    """Sets both optimizers' learning rate at the start of every epoch (resumed runs included:
    Keras passes the epoch's real number)."""

    def __init__(self, learning_rate: float, epochs: int, epochs_decay: int):
        super().__init__()
        self.learning_rate, self.epochs, self.epochs_decay = learning_rate, epochs, epochs_decay

    def on_epoch_begin(self, epoch, logs=None):
        rate = self.learning_rate * decay_factor(epoch, self.epochs, self.epochs_decay)
        for optimizer in (self.model.optimizer, self.model.d_optimizer):
            optimizer.learning_rate.assign(rate)
