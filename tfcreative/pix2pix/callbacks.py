"""A callback that shows progress: input | output | target grids, as PNG and in TensorBoard."""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from tfcreative.pix2pix.images import make_grid, write_png


class SampleGrid(keras.callbacks.Callback):
    """After each epoch: <directory>/epoch_NNN.png and a TensorBoard image summary."""

    def __init__(self, inputs, targets, directory: str, log_dir: str | None = None):
        super().__init__()
        self.inputs, self.targets = inputs, targets
        self.directory = directory
        self.writer = tf.summary.create_file_writer(log_dir) if log_dir else None

    def on_epoch_end(self, epoch, logs=None):
        outputs = self.model(self.inputs, training=False)
        grid = make_grid(self.inputs, outputs, self.targets)
        os.makedirs(self.directory, exist_ok=True)
        write_png(os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png"), grid)
        if self.writer is not None:
            with self.writer.as_default():
                tf.summary.image("input | output | target", grid[None], step=epoch + 1)
            self.writer.flush()
