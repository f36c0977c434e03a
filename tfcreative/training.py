"""The training skeleton both models share: one `model.fit` run that writes a run directory.

    config.json          the run's settings
    model.keras          the final model, written atomically
    checkpoints/last.keras, best.keras    after every epoch / at the best selection metric
                         (a resumed run's best must beat every epoch history.csv logged)
    checkpoints/interrupted.keras         written on Ctrl-C (deleted when the run finishes)
    backup/              BackupAndRestore state while training runs (run the same command
                         again after a crash to resume; deleted when training finishes)
    logs/                TensorBoard logs (`tensorboard --logdir <run_dir>/logs`)
    history.csv          per-epoch metrics
    run.lock             while training runs: its PID and host (run_lock.py)
    (and what a model adds, e.g. Pix2Pix's samples/)

A model supplies a `TrainingPlan` (its model, built in the strategy's scope; its data; the
metric that selects best.keras, on the validation data; callbacks of its own). The skeleton does
the rest the same way for every model: strategy, the claim on the run directory (one training
at a time, never a finished run: run_lock.py), run directory, seed, resume position, the
checkpoint/log callbacks, fit with recovery (fault_tolerance.py), the final save, and the
clean-up of a non-chief worker's scratch folder (distribute.py).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from collections.abc import Callable

import keras
import tensorflow as tf

from tfcreative import distribute, fault_tolerance, model_checks
from tfcreative.callbacks import TimeBudget
from tfcreative.config import MODEL_SIZE, RUN_MODEL, TrainConfig
from tfcreative.run_lock import claim_run_dir
from tfcreative.saving import save_model_atomically

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class TrainingPlan:
    """What one model brings to a training run."""

    model: keras.Model
    train_data: tf.data.Dataset  # endless batches, positioned at the resumed epoch
    steps_per_epoch: int
    validation_data: tf.data.Dataset | None  # the selection split (never the test split)
    monitor: str  # the metric that selects best.keras (lower is better), without "val_"
    callbacks: list = dataclasses.field(default_factory=list)


def run_training(run_dir: str, config: TrainConfig, settings: dict,
                 make_plan: Callable[[tf.distribute.Strategy, int, str], TrainingPlan], *,
                 strategy: tf.distribute.Strategy | None = None, verbose: int | str = "auto",
                 callbacks: list | None = None) -> keras.Model:
    """Trains the model `make_plan(strategy, start_epoch, out_dir)` returns; writes `run_dir`.

    make_plan builds the model in `strategy`'s scope and positions its training stream at
    `start_epoch` (non-zero when resuming); `out_dir` is where this worker writes (the run
    directory itself, or a non-chief worker's scratch folder).

    settings: what config.json records (the config and the data arguments). If `run_dir` holds
    a backup of an unfinished run, training resumes from it. The run directory is claimed for
    the whole run (run_lock.claim_run_dir): InvalidArgument on run_dir for a file, a finished
    run (FinishedRun) or one another training holds (RunDirectoryInUse). Raises
    NonFiniteLossError on a NaN loss and TrainingInterrupted on Ctrl-C.
    """
    strategy = strategy or distribute.make_strategy(config.strategy)
    distribute.check_time_budget(config.minutes, strategy)
    # Only the chief writes (and locks) the run directory; the others check it.
    with claim_run_dir(run_dir, lock=distribute.is_chief(strategy)):
        return _train(run_dir, config, settings, make_plan, strategy, verbose, callbacks or [])


def _train(run_dir: str, config: TrainConfig, settings: dict, make_plan, strategy, verbose,
           callbacks: list) -> keras.Model:
    out_dir = distribute.worker_run_dir(run_dir, strategy)
    keras.utils.set_random_seed(config.seed)
    start_epoch = fault_tolerance.resume_epoch(out_dir)
    # bad data or sizes fail here, before anything is written
    with model_checks.fitting_in_memory(MODEL_SIZE, "the model these settings describe",
                                        "choose smaller sizes"):
        plan = make_plan(strategy, start_epoch, out_dir)
    chief, out_dir = distribute.prepare_run_dir(run_dir, strategy, settings)
    validation = plan.validation_data
    monitor = plan.monitor if validation is None else f"val_{plan.monitor}"
    # Every worker runs the same callbacks (saving reads synchronised variables, a collective
    # op); non-chief workers write into their scratch folder.
    checkpoints = os.path.join(out_dir, "checkpoints")
    history = os.path.join(out_dir, "history.csv")
    best = os.path.join(checkpoints, "best.keras")
    # resumed: best.keras stays until an epoch beats the best one before the resume
    best_before = (fault_tolerance.best_so_far(history, monitor)
                   if start_epoch and os.path.exists(best) else None)
    all_callbacks = [
        *callbacks, *plan.callbacks,
        keras.callbacks.TensorBoard(os.path.join(out_dir, "logs")),
        keras.callbacks.ModelCheckpoint(os.path.join(checkpoints, "last.keras")),
        keras.callbacks.ModelCheckpoint(best, monitor=monitor, mode="min", save_best_only=True,
                                        initial_value_threshold=best_before),
        keras.callbacks.CSVLogger(history, append=True),
    ]
    if config.minutes:
        all_callbacks.append(TimeBudget(config.minutes))
    logger.info("training %s (%s) with %s, %d replica(s)", type(plan.model).__name__, settings,
                type(strategy).__name__, strategy.num_replicas_in_sync)
    # shuffle=False: the tf.data pipeline shuffles; Keras's flag would only warn about it.
    fault_tolerance.fit_with_recovery(
        plan.model, distribute.shard_by_data(plan.train_data), run_dir=out_dir,
        start_epoch=start_epoch, write_interrupted=chief, callbacks=all_callbacks,
        validation_data=None if validation is None else distribute.shard_by_data(validation),
        epochs=config.total_epochs, shuffle=False, steps_per_epoch=plan.steps_per_epoch,
        verbose=verbose)
    save_model_atomically(plan.model, os.path.join(out_dir, RUN_MODEL))
    fault_tolerance.remove_interrupted_checkpoint(out_dir)  # the run it stood for is finished
    if not chief:
        shutil.rmtree(out_dir, ignore_errors=True)
    return plan.model
