"""Runs SavedModel signatures the way deployers do, in fresh processes that cannot import
tfcreative (a shadow `tfcreative` package on PYTHONPATH raises ImportError), so the exported
graphs are shown to need none of our code.

Four loaders:
* "object": `tf.saved_model.load(path).signatures[name](**inputs)`, Python's object-based loader.
* "session": `tf.compat.v1.saved_model.loader.load(sess, ["serve"], path)`: imports the MetaGraph,
  runs the saver's restore op and the init op, then feeds the signature's tensors by name. This
  is what TF Serving's C++ `LoadSavedModel` does.
* "saved_model_cli": TensorFlow's own `saved_model_cli run` executable (the session loader too),
  inputs from .npy files, outputs saved with --outdir.
* "capi": the C++ `LoadSavedModel` itself, which TF Serving's SavedModelBundle uses, through
  TensorFlow's C API (`TF_LoadSessionFromSavedModel`, `TF_SessionRun`): tests/capi_loader.c,
  built with gcc against the TensorFlow wheel's `libtensorflow_cc.so.2` and headers; no Python
  in that process. It feeds and fetches the tensors the SignatureDef names, read here from
  saved_model.pb.

Inputs and outputs travel as .npy files (capi_loader: its own "tensor files", see the .c file),
so dtypes are exact (strings: object arrays of bytes).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import functools
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
import pytest

LOADERS = ("object", "session", "saved_model_cli", "capi")

needs_gcc = pytest.mark.skipif(
    shutil.which("gcc") is None and not os.environ.get("CI"),
    reason="gcc not installed (apt-get install gcc): it builds the C API loader; CI never skips")
# LOADERS for pytest.mark.parametrize: the C API loader needs gcc.
LOADER_PARAMS = [pytest.param(name, marks=needs_gcc) if name == "capi" else name
                 for name in LOADERS]
CAPI_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "capi_loader.c")

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
            # one process per request (the CLI runs one signature a call): two at a time
            with concurrent.futures.ThreadPoolExecutor(_CLI_PROCESSES) as pool:
                list(pool.map(lambda job: _saved_model_cli(path, job, env), jobs))
        elif loader == "capi":
            _capi_loader(path, jobs, env)
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


# saved_model_cli processes at once: each spends most of its time importing TensorFlow on one core
_CLI_PROCESSES = max(1, min(2, len(os.sched_getaffinity(0))))


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


# -- the C API loader ---------------------------------------------------------------------

@functools.cache
def capi_loader_path() -> str:
    """tests/capi_loader.c built with gcc against the TensorFlow wheel, once per test run."""
    build = tempfile.mkdtemp(prefix="tfcreative-capi-")
    atexit.register(shutil.rmtree, build, True)
    return build_capi_loader(build)


def build_capi_loader(folder: str) -> str:
    """tests/capi_loader.c built with gcc against the TensorFlow wheel into `folder` (also the
    start-up benchmark's C API floor). gold links against the 1.2 GB libtensorflow_cc.so.2 in
    ~2 s (GNU ld: 7-13 s, 0.9 GB)."""
    import tensorflow as tf

    binary, lib = os.path.join(folder, "capi_loader"), tf.sysconfig.get_lib()
    linker = ["-fuse-ld=gold"] if shutil.which("ld.gold") else []
    result = subprocess.run(
        ["gcc", "-std=c11", "-Wall", CAPI_SOURCE, "-o", binary, "-I" + tf.sysconfig.get_include(),
         "-L" + lib, "-l:libtensorflow_cc.so.2", "-l:libtensorflow_framework.so.2",
         "-Wl,-rpath," + lib, *linker], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return binary


def signature_tensors(path: str, signature: str) -> tuple[dict[str, str], dict[str, str]]:
    """(inputs, outputs): key -> graph tensor name ("op:index"), from the "serve" MetaGraph's
    SignatureDef in saved_model.pb, as TF Serving reads them."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    meta_graph, = [m for m in saved_model.meta_graphs if "serve" in m.meta_info_def.tags]
    sig = meta_graph.signature_def[signature]
    return ({k: v.name for k, v in sig.inputs.items()},
            {k: v.name for k, v in sig.outputs.items()})


def _capi_loader(path: str, jobs: list[dict], env: dict) -> None:
    """One capi_loader process loads the SavedModel once and runs every job."""
    command = [capi_loader_path(), path, "serve"]
    for job in jobs:
        inputs, outputs = signature_tensors(path, job["signature"])
        assert set(inputs) == set(job["inputs"]), (sorted(job["inputs"]), sorted(inputs))
        os.makedirs(job["outdir"])
        for key, npy in job["inputs"].items():
            tensor_file = os.path.splitext(npy)[0] + ".tensor"
            write_tensor_file(tensor_file, np.load(npy, allow_pickle=True))
            command += ["feed", inputs[key], tensor_file]
        for key, tensor in outputs.items():
            command += ["fetch", tensor, os.path.join(job["outdir"], key + ".tensor")]
        command += ["run", os.path.join(job["outdir"], "error.txt")]
    result = subprocess.run(command, env=env, cwd="/", capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


_NUMERIC = ("float32", "float64", "int32", "int64", "uint8", "bool")


def write_tensor_file(path: str, value) -> None:
    """capi_loader's input: "DTYPE RANK DIM...\n", then the elements (strings: a native uint64
    length, then the bytes)."""
    value = np.asarray(value)
    is_string = value.dtype.kind in "OSU"
    dtype = "string" if is_string else value.dtype.name
    assert dtype in (*_NUMERIC, "string"), f"capi_loader does not take {dtype} tensors"
    with open(path, "wb") as f:
        f.write(" ".join(map(str, [dtype, value.ndim, *value.shape])).encode() + b"\n")
        if is_string:
            for item in value.ravel():
                data = item.encode() if isinstance(item, str) else bytes(item)
                f.write(struct.pack("=Q", len(data)) + data)
        else:
            f.write(np.ascontiguousarray(value).tobytes())


def read_tensor_file(path: str) -> np.ndarray:
    """capi_loader's output (the format above); strings as an object array of bytes."""
    with open(path, "rb") as f:
        dtype, rank, *dims = f.readline().decode().split()
        shape = tuple(int(d) for d in dims)
        assert int(rank) == len(shape) and dtype in (*_NUMERIC, "string"), path
        if dtype != "string":
            return np.frombuffer(f.read(), dtype=dtype).reshape(shape)
        strings = np.empty(math.prod(shape), dtype=object)
        for i in range(strings.size):
            size, = struct.unpack("=Q", f.read(8))
            strings[i] = f.read(size)
        assert not f.read(), f"{path}: more data than its shape holds"
        return strings.reshape(shape)


def _read_outputs(outdir: str) -> dict | LoaderError:
    error = os.path.join(outdir, "error.txt")
    if os.path.exists(error):
        with open(error) as f:
            return LoaderError(f.read())
    read = {".npy": lambda file: np.load(file, allow_pickle=True), ".tensor": read_tensor_file}
    return {stem: read[extension](os.path.join(outdir, stem + extension))
            for stem, extension in map(os.path.splitext, sorted(os.listdir(outdir)))
            if extension in read}
