"""Choosing a tf.distribute strategy and what each worker of a cluster writes.

    default          one device (the first GPU, else the CPU)
    mirrored         MirroredStrategy: every local GPU (or the CPU), one replica each
    multi_worker     MultiWorkerMirroredStrategy: the cluster described by TF_CONFIG
    tpu | tpu:NAME   TPUStrategy on the local / named TPU (a Cloud TPU name or grpc:// address)

Keras's `model.fit` splits each *global* batch across the replicas; the models' train_steps
divide summed losses by the global batch (`tf.nn.compute_average_loss`), so every strategy
takes the same step as one device. In a cluster, worker 0 (the chief) writes the run
directory; the other workers write their checkpoints to a scratch folder they delete at the end.
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

from tfcreative.config import RUN_SETTINGS, STRATEGIES
from tfcreative.errors import InvalidArgument
from tfcreative.files import file_written_whole
from tfcreative.keras_hooks import in_multi_worker_mode


def make_strategy(strategy: str = "default") -> tf.distribute.Strategy:
    """Parses a strategy name (one of STRATEGIES) and creates the strategy (connecting to
    TPUs/workers)."""
    name, _, argument = (strategy or "default").strip().partition(":")
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=argument or "")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if argument or name not in ("default", "mirrored", "multi_worker"):
        raise InvalidArgument("strategy", f"{strategy!r}: expected one of {', '.join(STRATEGIES)}")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if "TF_CONFIG" not in os.environ:
        raise InvalidArgument("strategy", "multi_worker needs TF_CONFIG to describe the cluster "
                                          "(see docs/distributed_training.md)")
    # RING collectives work on CPUs and GPUs alike; NCCL would be GPU-only.
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING)
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def task_of(strategy: tf.distribute.Strategy) -> tuple[str | None, int]:
    """(task type, task index) of this process; (None, 0) outside a cluster."""
    if not in_multi_worker_mode(strategy):
        return None, 0
    resolver = strategy.cluster_resolver
    return resolver.task_type, int(resolver.task_id or 0)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """The process that writes the run directory: worker 0 (or a task named "chief")."""
    task_type, task_id = task_of(strategy)
    if task_type is None or task_type == "chief":
        return True
    has_chief = "chief" in json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    return task_type == "worker" and task_id == 0 and not has_chief


def worker_run_dir(run_dir: str, strategy: tf.distribute.Strategy) -> str:
    """Where this process writes: the run directory itself for the chief; for another worker
    a scratch folder beside it (`.worker-<i>`), which `train` deletes when training ends.

    Non-chief workers must still save (BackupAndRestore restores every worker), but never into
    the chief's files. The folder is stable across restarts so a worker's backup survives.
    """
    if is_chief(strategy):
        return run_dir
    _, task_id = task_of(strategy)
    return os.path.join(os.path.dirname(os.path.abspath(run_dir)),
                        f".{os.path.basename(os.path.normpath(run_dir))}.worker-{task_id}")


def prepare_run_dir(run_dir: str, strategy: tf.distribute.Strategy,
                    settings: dict) -> tuple[bool, str]:
    """Creates this worker's output folder (with checkpoints/); the chief also records the
    run's `settings` in `<run_dir>/config.json`. Returns (is chief, output folder)."""
    chief = is_chief(strategy)
    out_dir = worker_run_dir(run_dir, strategy)
    os.makedirs(os.path.join(out_dir, "checkpoints"), exist_ok=True)
    if chief:
        # whole or not at all: `music evaluate` reads it back (saving.recorded_settings)
        with file_written_whole(os.path.join(run_dir, RUN_SETTINGS)) as temporary, \
                open(temporary, "w") as f:
            json.dump(settings, f, indent=2)
    return chief, out_dir


def check_time_budget(minutes: float | None, strategy: tf.distribute.Strategy) -> None:
    """Workers that each watch their own clock would stop at different steps and leave the
    others waiting in a collective: a time budget is refused in a cluster."""
    if minutes and in_multi_worker_mode(strategy):
        raise InvalidArgument("minutes", "a time budget cannot be used with a multi-worker "
                              "strategy (each worker would stop at a different step): set "
                              "epochs and steps per epoch instead")


def shard_by_data(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Every worker reads the whole pipeline and keeps its 1/N of the elements (DATA policy).

    Our sources are a few TFRecord files (often one), too few to give each worker its own
    files (FILE policy); the pipelines are seeded, so all workers shuffle identically and the
    shards partition each global batch.
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)
