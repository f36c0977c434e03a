"""Training that survives being killed, Ctrl-C and a diverging loss.

* Killed (SIGKILL, preemption): `keras.callbacks.BackupAndRestore` writes the weights, optimizer
  state, epoch number (and here the layers' random state) to `<run_dir>/backup/` after every
  epoch; running the same command again restores them and continues with the next epoch.
  Keras restores epochs, not batches, so the batches of an interrupted epoch are trained again
  from the epoch's start. The training pipelines are seeded shuffle-then-repeat streams that
  skip the epochs already trained (`resume_epoch`), so a resumed run sees exactly the
  batches an uninterrupted run would.
* Ctrl-C: the current weights are saved to `checkpoints/interrupted.keras` and
  `TrainingInterrupted` is raised (the CLI exits with code 130); the file is deleted when the
  run, resumed, finishes.
* NaN/Inf loss: `StopOnNonFiniteLoss` stops at once with `NonFiniteLossError`, saying which
  epoch, batch and loss; the epoch's checkpoints and model.keras are never written from the
  broken weights, so `checkpoints/last.keras` keeps the last good epoch.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import math
import os

import keras
import numpy as np

from tfcreative.files import file_written_whole
from tfcreative.keras_hooks import (
    BackupAndRestoreWithExtraState,
    restored_epoch,
    seed_generator_states,
    settle_backup,
)
from tfcreative.saving import save_model_atomically

logger = logging.getLogger(__name__)

BACKUP_DIR = "backup"
INTERRUPTED_CHECKPOINT = "interrupted.keras"  # in checkpoints/, written on Ctrl-C
RANDOM_STATE_FILE = "random_state.json"


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during fit; `checkpoint` is where the weights were saved (None if not saved)."""

    def __init__(self, checkpoint: str | None):
        super().__init__(checkpoint)
        self.checkpoint = checkpoint


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Raises NonFiniteLossError after the first batch whose loss is NaN or infinite.

    Raising (rather than Keras's TerminateOnNaN, which lets the epoch end) skips every
    on_epoch_end, so ModelCheckpoint and BackupAndRestore never save the broken weights.
    Put it first among the callbacks.
    """

    def __init__(self, last_good: str | None = None):
        super().__init__()
        self.last_good = last_good
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            if "loss" in name and not math.isfinite(float(np.mean(value))):
                where = (f"the last good checkpoint is {self.last_good}"
                         if self.last_good and os.path.exists(self.last_good)
                         else "no epoch finished, so there is no good checkpoint")
                raise NonFiniteLossError(
                    f"training stopped: {name} became {float(np.mean(value))} at epoch "
                    f"{self.epoch + 1}, batch {batch + 1}; {where} (try a lower learning rate)")


def resume_epoch(run_dir: str) -> int:
    """The epoch a run in `run_dir` resumes from: its backup's newest generation written
    whole (a half-written one gives way to the previous: keras_hooks.settle_backup), else 0."""
    return settle_backup(os.path.join(run_dir, BACKUP_DIR))


def best_so_far(history_csv: str, metric: str) -> float | None:
    """The lowest `metric` the epochs in `history_csv` (CSVLogger's file) logged: the value
    best.keras was saved at, which a resumed run's best checkpoint must beat (a new
    ModelCheckpoint starts from infinity and would replace best.keras with the first epoch
    after the resume, however bad). None when no epoch logged it."""
    try:
        with open(history_csv, newline="") as f:
            logged = [row.get(metric) for row in csv.DictReader(f)]
    except (OSError, csv.Error):
        return None
    values = []
    for text in logged:  # CSVLogger writes NA for an epoch without the metric
        with contextlib.suppress(TypeError, ValueError):
            values.append(float(text))
    finite = [v for v in values if math.isfinite(v)]
    return min(finite) if finite else None


class CheckResumedEpoch(keras.callbacks.Callback):
    """Warns if BackupAndRestore restored another epoch than the data stream was built for
    (it falls back to the previous backup when the latest is unreadable)."""

    def __init__(self, expected_epoch: int):
        super().__init__()
        self.expected_epoch = expected_epoch

    def on_train_begin(self, logs=None):
        restored = restored_epoch(self.model)
        if restored != self.expected_epoch:
            logger.warning("resumed at epoch %d, but the data was positioned for epoch %d: "
                           "the batches differ from an uninterrupted run", restored + 1,
                           self.expected_epoch + 1)
        elif restored:
            logger.warning("resuming from the backup: epoch %d", restored + 1)


class BackupAndRestoreRandomState(BackupAndRestoreWithExtraState):
    """BackupAndRestore that also restores the random state of layers such as Dropout.

    Keras's weight files leave out the layers' seed-generator counters, so a resumed run would
    draw the dropout masks of epoch 1 again; they go to `random_state.json` beside the weights,
    tagged with the epoch they belong to and written atomically (a temporary file, then a
    rename), the previous generation kept as `random_state.json.bkp` like Keras's own files.
    On resume, the generation whose epoch matches the one Keras restored is loaded (Keras falls
    back to its `.bkp` files when the newest weights are unreadable).
    """

    def _random_state_path(self):
        return os.path.join(self.backup_dir, RANDOM_STATE_FILE)

    def save_extra_state(self):
        path = self._random_state_path()
        state = {"epoch": self.epochs_done,
                 "seed_states": [np.asarray(v.numpy()).tolist()
                                 for v in seed_generator_states(self.model)]}
        with file_written_whole(path) as temporary:
            with open(temporary, "w") as f:
                json.dump(state, f)
            if self.double_checkpoint and os.path.exists(path):
                os.replace(path, path + ".bkp")

    def load_extra_state(self):
        epoch = restored_epoch(self.model)
        if not epoch:
            return
        path = self._random_state_path()
        for candidate in (path, path + ".bkp"):
            try:
                with open(candidate) as f:
                    saved = json.load(f)
            except (OSError, ValueError):
                continue
            if saved.get("epoch") == epoch:
                self._assign(candidate, saved["seed_states"])
                return
        logger.warning("%s: no random state saved for epoch %d; dropout masks will differ from "
                       "an uninterrupted run", path, epoch)

    def _assign(self, path, saved):
        states = seed_generator_states(self.model)
        if len(saved) != len(states):
            logger.warning("%s: %d random states for %d layers; not restored", path,
                           len(saved), len(states))
            return
        for variable, value in zip(states, saved, strict=True):
            variable.assign(np.asarray(value, dtype=variable.dtype))


def backup_callback(run_dir: str) -> keras.callbacks.BackupAndRestore:
    """Backs up after every epoch (Keras resumes at epoch granularity); two generations, so a
    kill during a save falls back to the previous one."""
    return BackupAndRestoreRandomState(os.path.join(run_dir, BACKUP_DIR), save_freq="epoch",
                                       double_checkpoint=True)


def fit_with_recovery(model: keras.Model, data, *, run_dir: str, start_epoch: int,
                      write_interrupted: bool, callbacks: list, **fit_kwargs):
    """`model.fit` with backup/restore, a NaN guard and a checkpoint on Ctrl-C.

    `run_dir` is this worker's output folder; `start_epoch` the epoch the data stream starts
    at (`resume_epoch`); `write_interrupted` is False on non-chief workers.
    """
    last_good = os.path.join(run_dir, "checkpoints", "last.keras")
    guarded = [StopOnNonFiniteLoss(last_good), backup_callback(run_dir),
               CheckResumedEpoch(start_epoch), *callbacks]
    try:
        return model.fit(data, callbacks=guarded, **fit_kwargs)
    except KeyboardInterrupt:
        if not write_interrupted:
            raise TrainingInterrupted(None) from None
        path = save_model_atomically(model, interrupted_checkpoint(run_dir))
        raise TrainingInterrupted(path) from None


def interrupted_checkpoint(run_dir: str) -> str:
    return os.path.join(run_dir, "checkpoints", INTERRUPTED_CHECKPOINT)


def remove_interrupted_checkpoint(run_dir: str) -> None:
    """Deletes the Ctrl-C checkpoint (ours) once the run it interrupted has finished."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(interrupted_checkpoint(run_dir))
