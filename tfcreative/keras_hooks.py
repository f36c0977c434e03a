"""Every place tfcreative relies on Keras or TensorFlow internals, with the reason beside each.

Written and tested against Keras 3.15 on TensorFlow 2.19 (`TESTED_KERAS`; setup.cfg pins
`keras~=3.15.0`). tests/test_keras_hooks.py checks that each hook still exists with the
signature and behaviour used here, so a Keras upgrade fails loudly there, not silently in a
cluster or in a resumed run. Nothing else in the package touches a private Keras/TF name.
"""

from __future__ import annotations

import json
import os

import keras
import tensorflow as tf

TESTED_KERAS = "3.15"


def in_multi_worker_mode(strategy: tf.distribute.Strategy) -> bool:
    """Whether a MultiWorkerMirroredStrategy spans several workers.

    Hook: `strategy.extended._in_multi_worker_mode()` (TF 2.19). There is no public way to
    ask; the cluster resolver alone does not say whether the strategy uses the cluster.
    """
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


def step_logs(logs: dict) -> dict:
    """Metric results of a train/test step, shaped so Keras can reduce them across workers.

    Workaround (Keras 3.15 behaviour, no private name): under a multi-worker strategy Keras
    reduces step outputs with strategy.reduce("MEAN", axis=0), which needs a leading axis;
    scalars fail there, so they get shape [1]. Covered by the 2-worker tests.
    """
    if not in_multi_worker_mode(tf.distribute.get_strategy()):
        return logs
    return {name: tf.reshape(value, [1]) for name, value in logs.items()}


class PrebuiltModelMixin:
    """For keras.Model subclasses whose weights all exist before `fit` (ours build in __init__).

    Hook: `Model._maybe_symbolic_build(iterator=None, data_batch=None)` (Keras 3.15), which
    `fit` calls first to build the model symbolically from one input batch averaged across
    replicas; under MultiWorkerMirroredStrategy that reduce fails on the data. A built model
    only needs its optimizer(s) built, inside the strategy's scope. `_flatten_layers` (Keras
    3.15) lists the model's layers, nested ones included.
    """

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if not all(layer.built for layer in self._flatten_layers()):
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        with self.distribute_strategy.scope():
            self.build_optimizers()

    def build_optimizers(self):
        if self.optimizer is not None and not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)


def restored_epoch(model: keras.Model) -> int:
    """The epoch BackupAndRestore restored (0 when it restored nothing).

    Hook: BackupAndRestore sets the model's private `_initial_epoch` (Keras 3.15); fit reads it.
    """
    return int(getattr(model, "_initial_epoch", None) or 0)


def seed_generator_states(model: keras.Model) -> list:
    """The state variables of the model's random seed generators (Dropout, ...), in model order.

    Hook: Keras 3.15 names them `.../seed_generator_state`; weight files leave them out.
    """
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def lstm_input_dropout_mask(cell, step_input):
    """The input dropout mask an LSTM cell applies in training: [batch, features], drawn from
    the cell's own seed generator, one per sequence (the same at every step).

    Hook: `DropoutRNNCell.get_dropout_mask(step_input)` then `reset_dropout_mask()` (Keras
    3.15, not exported), as `keras.layers.LSTM.inner_loop` uses them before its cuDNN kernel;
    with implementation 2 (the default without recurrent dropout) one mask serves all four
    gates.
    """
    mask = cell.get_dropout_mask(step_input)
    cell.reset_dropout_mask()  # a new mask for the next sequence, as the RNN layer does
    return mask


class BackupAndRestoreWithExtraState(keras.callbacks.BackupAndRestore):
    """BackupAndRestore that saves and loads extra state right after its own files.

    Hook: the private `_save_model()` / `_load_model()` (Keras 3.15), which write and read
    `latest.weights.h5` and `training_metadata.json`; on a failed load Keras copies the `.bkp`
    generation over them and calls `_load_model()` again. Subclasses implement
    `save_extra_state()` / `load_extra_state()`.
    """

    def _save_model(self):
        super()._save_model()
        self.save_extra_state()

    def _load_model(self):
        super()._load_model()
        self.load_extra_state()

    @property
    def epochs_done(self) -> int:
        """The epochs finished when a backup is written: what Keras records with it.

        Hook: the private `_current_epoch` (Keras 3.15), set before `_save_model()`."""
        return self._current_epoch

    def save_extra_state(self):
        raise NotImplementedError

    def load_extra_state(self):
        raise NotImplementedError


def backed_up_epoch(backup_dir: str) -> int:
    """The epoch a BackupAndRestore folder will resume from (0: none recorded).

    Hook: Keras 3.15's BackupAndRestore records it as "epoch" in `training_metadata.json`
    beside its weights; there is no public way to read it before `fit` restores it."""
    try:
        with open(os.path.join(backup_dir, "training_metadata.json")) as f:
            return int(json.load(f)["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0
