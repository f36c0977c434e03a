"""Every place tfcreative relies on Keras or TensorFlow internals, with the reason beside each.

Written and tested against Keras 3.15 on TensorFlow 2.19 (`TESTED_KERAS`; setup.cfg pins
`keras~=3.15.0`). tests/test_keras_hooks.py checks that each hook still exists with the
signature and behaviour used here, so a Keras upgrade fails loudly there, not silently in a
cluster or in a resumed run. Nothing else in the package touches a private Keras/TF name.
"""

from __future__ import annotations

import json
import os
import shutil

import keras
import tensorflow as tf

from tfcreative.files import sha256

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
    """BackupAndRestore that saves and loads extra state right after its own files, and whose
    backups are whole generations.

    Hook: the private `_save_model()` / `_load_model()` (Keras 3.15), which write and read
    `latest.weights.h5` and `training_metadata.json` (the previous generation copied to
    `.bkp` first). Keras writes them in place, so a kill during a save can leave a torn file
    (its loader then fails on every later start) or new weights beside the old epoch (a silent
    replay from the wrong weights). So a generation counts only once the weights' digest is
    recorded in its metadata, after the extra state (`commit_backup`); `settle_backup` runs
    before Keras loads, keeping the newest whole generation. Subclasses implement
    `save_extra_state()` / `load_extra_state()`.
    """

    def _save_model(self):
        super()._save_model()
        self.save_extra_state()
        commit_backup(self.backup_dir)

    def _load_model(self):
        settle_backup(self.backup_dir)
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


# Keras 3.15's BackupAndRestore files: the weights and the metadata recording "epoch" (no
# public way to read it before `fit` restores it); each with a `.bkp` previous generation.
BACKUP_WEIGHTS, BACKUP_METADATA, PREVIOUS = "latest.weights.h5", "training_metadata.json", ".bkp"
WEIGHTS_DIGEST = "weights_sha256"  # ours, added to Keras's metadata when a backup is whole


def _digest(path: str) -> str | None:
    try:
        return sha256(path)
    except OSError:
        return None


def _read_metadata(path: str) -> dict | None:
    try:
        with open(path) as f:
            metadata = json.load(f)
        int(metadata["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return metadata


def commit_backup(backup_dir: str) -> None:
    """Marks the backup Keras just wrote as whole: the weights' digest in its metadata,
    rewritten atomically (a temporary file, then a rename)."""
    path = os.path.join(backup_dir, BACKUP_METADATA)
    metadata = _read_metadata(path)
    if metadata is None:  # (Keras has just written it)
        return
    metadata[WEIGHTS_DIGEST] = _digest(os.path.join(backup_dir, BACKUP_WEIGHTS))
    temporary = f"{path}.tmp"
    with open(temporary, "w") as f:
        json.dump(metadata, f)
    os.replace(temporary, path)


def _whole_epoch(backup_dir: str, suffix: str = "") -> int | None:
    """The epoch of the generation (`suffix` "" or PREVIOUS) if it was written whole."""
    metadata = _read_metadata(os.path.join(backup_dir, BACKUP_METADATA + suffix))
    if metadata is None or metadata.get(WEIGHTS_DIGEST) is None:
        return None
    weights = _digest(os.path.join(backup_dir, BACKUP_WEIGHTS + suffix))
    return int(metadata["epoch"]) if weights == metadata[WEIGHTS_DIGEST] else None


def backed_up_epoch(backup_dir: str) -> int:
    """The epoch a backup folder resumes from: its newest generation written whole (0: none)."""
    for suffix in ("", PREVIOUS):
        epoch = _whole_epoch(backup_dir, suffix)
        if epoch is not None:
            return epoch
    return 0


def settle_backup(backup_dir: str) -> int:
    """Leaves the backup folder's newest whole generation where Keras loads it, and returns
    its epoch (`backed_up_epoch`): the previous generation copied over a newer one that a kill
    left half-written; neither whole, the two newest files removed (the run starts over)."""
    if _whole_epoch(backup_dir) is None:
        previous_is_whole = _whole_epoch(backup_dir, PREVIOUS) is not None
        for name in (BACKUP_WEIGHTS, BACKUP_METADATA):
            path = os.path.join(backup_dir, name)
            if previous_is_whole:
                shutil.copyfile(path + PREVIOUS, path)
            elif os.path.exists(path):
                os.remove(path)
    return backed_up_epoch(backup_dir)
