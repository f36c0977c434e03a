"""Keras callbacks shared by the tfcreative trainers."""

from __future__ import annotations

import time

import keras


class TimeBudget(keras.callbacks.Callback):
    """Stops `fit` once `minutes` of wall time have passed (checked after every batch)."""

    def __init__(self, minutes: float):
        super().__init__()
        self.seconds = minutes * 60.0
        self.start = None

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self.start >= self.seconds:
            self.model.stop_training = True
