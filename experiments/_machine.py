"""What every experiment prints and saves with its figures: the machine they were taken on,
and the thread settings it ran with (on a shared machine: `taskset -c N` and --threads 1)."""

from __future__ import annotations

import json
import os
import platform
import time


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f
                     if line.startswith("model name")]
    except OSError:
        names = []
    return names[0] if names else (platform.processor() or platform.machine())


def use_threads(threads: int | None) -> None:
    """TensorFlow's intra- and inter-op threads (None: TensorFlow's choice); call before any
    TensorFlow op runs. Also: no TFDS progress bars in the experiments' logs."""
    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def machine(threads: int | None = None) -> dict:
    """CPU model, cores of the machine and cores this process may run on, threads, versions,
    date."""
    import importlib.metadata as metadata

    return {"cpu": cpu_model(), "machine_cores": os.cpu_count(),
            "cores_allowed": len(os.sched_getaffinity(0)), "tensorflow_threads": threads,
            "tensorflow": metadata.version("tensorflow"), "keras": metadata.version("keras"),
            "date": time.strftime("%Y-%m-%d")}


def print_machine(info: dict) -> None:
    print(f"Machine: {info['cpu']}, {info['machine_cores']} cores, this run on "
          f"{info['cores_allowed']} core(s), TensorFlow threads: "
          f"{info['tensorflow_threads'] or 'default'}; TensorFlow {info['tensorflow']}, "
          f"{info['date']}", flush=True)


def write_json(path: str, data: dict) -> None:
    """`data` as JSON at `path`, written whole (a crash leaves the previous file)."""
    from tfcreative.files import file_written_whole

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with file_written_whole(path) as temporary:
        with open(temporary, "w") as f:
            json.dump(data, f, indent=1)


def read_json(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def write_json_merged(path: str, data: dict, key: str, fresh) -> None:
    """`data` written to `path`, its rows under `key` named in `fresh` (those this process
    measured) replacing the file's, every other row as the file holds it now: two runs of one
    experiment (`--only` other variants, one per core) both keep their rows, and neither
    writes back an older copy of the other's. data[key] then holds the merged rows."""
    merged = {**read_json(path).get(key, {}),
              **{name: row for name, row in data[key].items() if name in fresh}}
    data[key] = merged
    write_json(path, data)
