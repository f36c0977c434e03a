"""Runs SavedModel signatures the way deployers do, in fresh processes that cannot import
tfcreative (a shadow `tfcreative` package on PYTHONPATH raises ImportError), so the exported
graphs are shown to need none of our code.

Three loaders:
* "object": `tf.saved_model.load(path).signatures[name](**inputs)`, Python's object-based loader.
* "session": `tf.compat.v1.saved_model.loader.load(sess, ["serve"], path)`: imports the MetaGraph,
  runs the saver's restore op and the init op, then feeds the signature's tensors by name. This
  is what TF Serving's C++ `LoadSavedModel` does.
* "saved_model_cli": TensorFlow's own `saved_model_cli run` executable (the session loader too),
  inputs from .npy files, outputs saved with --outdir.

Inputs and outputs travel as .npy files, so dtypes are exact (strings: object arrays of bytes).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

LOADERS = ("object", "session", "saved_model_cli")

_SHADOW = """raise ImportError("tfcreative is hidden from this process: the SavedModel must not "
                  "need it")
"""

_RUNNER = r"""
import json, os, sys
import numpy as np
try:
    import tfcreative  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("tfcreative was importable")
import tensorflow as tf

job = json.load(open(sys.argv[1]))
if job["loader"] == "object":
    loaded = tf.saved_model.load(job["path"])

    def run(signature, feeds):
        function = loaded.signatures[signature]
        outputs = function(**{k: tf.constant(v) for k, v in feeds.items()})
        return {k: v.numpy() for k, v in outputs.items()}
else:
    session = tf.compat.v1.Session(graph=tf.Graph())
    with session.graph.as_default():
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], job["path"])

    def run(signature, feeds):
        sig = meta_graph.signature_def[signature]
        if set(sig.inputs) != set(feeds):
            raise SystemExit(f"inputs {sorted(feeds)} != signature's {sorted(sig.inputs)}")
        return session.run({k: t.name for k, t in sig.outputs.items()},
                           {sig.inputs[k].name: v for k, v in feeds.items()})

for request in job["requests"]:
    feeds = {k: np.load(f, allow_pickle=True) for k, f in request["inputs"].items()}
    os.makedirs(request["outdir"])
    try:
        outputs = run(request["signature"], feeds)
    except tf.errors.OpError as error:
        with open(os.path.join(request["outdir"], "error.txt"), "w") as f:
            f.write(f"{type(error).__name__}: {error.message}")
        continue
    for key, value in outputs.items():
        np.save(os.path.join(request["outdir"], key + ".npy"), value)
"""


class LoaderError(Exception):
    """A signature failed inside the loader (e.g. INVALID_ARGUMENT); the message says why."""


def _clean_env(shadow_root: str) -> dict:
    return {**os.environ, "PYTHONPATH": shadow_root, "TF_CPP_MIN_LOG_LEVEL": "3"}


def run_requests(loader: str, path: str,
                 requests: list[tuple[str, dict[str, np.ndarray]]]) -> list[dict | LoaderError]:
    """Runs each (signature, inputs) through `loader`; returns outputs (name -> array) per
    request, or a LoaderError where the signature raised."""
    with tempfile.TemporaryDirectory(prefix="tfcreative-serving-") as work:
        shadow = os.path.join(work, "shadow", "tfcreative")
        os.makedirs(shadow)
        with open(os.path.join(shadow, "__init__.py"), "w") as f:
            f.write(_SHADOW)
        jobs = []
        for i, (signature, inputs) in enumerate(requests):
            files = {}
            for key, value in inputs.items():
                files[key] = os.path.join(work, f"in{i}_{key}.npy")
                np.save(files[key], np.asarray(value), allow_pickle=True)
            jobs.append({"signature": signature, "inputs": files,
                         "outdir": os.path.join(work, f"out{i}")})
        env = _clean_env(os.path.dirname(shadow))
        if loader == "saved_model_cli":
            for job in jobs:
                _saved_model_cli(path, job, env)
        else:
            job_file = os.path.join(work, "job.json")
            with open(job_file, "w") as f:
                json.dump({"loader": loader, "path": path, "requests": jobs}, f)
            result = subprocess.run([sys.executable, "-c", _RUNNER, job_file], env=env, cwd="/",
                                    capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, result.stderr[-3000:]
        return [_read_outputs(job["outdir"]) for job in jobs]


def saved_model_cli_path() -> str:
    """The `saved_model_cli` console script installed with TensorFlow beside this Python."""
    beside = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    found = beside if os.path.exists(beside) else shutil.which("saved_model_cli")
    assert found, "saved_model_cli (installed with tensorflow) not found"
    return found


def _saved_model_cli(path: str, job: dict, env: dict) -> None:
    inputs = ";".join(f"{key}={file}" for key, file in job["inputs"].items())
    result = subprocess.run(
        [saved_model_cli_path(), "run", "--dir", path, "--tag_set", "serve",
         "--signature_def", job["signature"], "--inputs", inputs, "--outdir", job["outdir"]],
        env=env, cwd="/", capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        os.makedirs(job["outdir"], exist_ok=True)
        with open(os.path.join(job["outdir"], "error.txt"), "w") as f:
            f.write(result.stderr[-4000:] or f"exit status {result.returncode}")


def _read_outputs(outdir: str) -> dict | LoaderError:
    error = os.path.join(outdir, "error.txt")
    if os.path.exists(error):
        with open(error) as f:
            return LoaderError(f.read())
    return {name[:-4]: np.load(os.path.join(outdir, name), allow_pickle=True)
            for name in sorted(os.listdir(outdir)) if name.endswith(".npy")}
