"""Shared fixtures: a prepared bundled corpus and tiny models (tests stay fast on 2 CPU cores)."""

import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

needs_abc2midi = pytest.mark.skipif(
    shutil.which("abc2midi") is None and not os.environ.get("CI"),
    reason="abc2midi not installed (apt-get install abcmidi); CI installs it and never skips")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DUMMY_ABC_DIR = os.path.join(REPO, "datasets", "abc_tunes", "dummy_data")


@pytest.fixture(scope="session")
def tfds_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("tfds"))


@pytest.fixture(scope="session")
def irish_builder(tfds_dir):
    from tfcreative.music import pipeline

    return pipeline.prepare_builder(data_dir=tfds_dir)


@pytest.fixture(scope="session")
def irish_vocabulary(irish_builder):
    from tfcreative.music import pipeline

    return pipeline.build_vocabulary(pipeline.tune_texts(irish_builder, "train"))


def make_tiny_model(vocabulary, seed=0, units=32, layers=1):
    from tfcreative.music.model import MusicLSTM

    keras.utils.set_random_seed(seed)
    model = MusicLSTM(vocabulary, embedding_dim=8, lstm_units=units, num_layers=layers)
    model.compile(optimizer=keras.optimizers.Adam(5e-3))
    return model


def compiled_sampler(model, jit_compile="auto"):
    """A TuneSampler that always runs its compiled loop, never the NumPy loop first (for tests
    of the compiled loops, and as the reference the NumPy loop is compared with)."""
    from tfcreative.music.sampler import TuneSampler

    sampler = TuneSampler(model, jit_compile=jit_compile)
    sampler.numpy_first = False
    return sampler


@pytest.fixture(scope="session")
def trained_tiny_model(irish_builder, irish_vocabulary):
    """A 2-layer, 32-unit model trained for 40 steps: enough for non-uniform predictions."""
    from tfcreative.music import pipeline

    model = make_tiny_model(irish_vocabulary, layers=2)
    data = pipeline.make_train_dataset(pipeline.tune_texts(irish_builder, "train"),
                                       irish_vocabulary, seq_length=50, batch_size=16, seed=0)
    model.fit(data.take(40), verbose=0)
    return model


def rewritten(archive, destination, **members) -> str:
    """A copy of the .keras zip `archive` with some members' bytes replaced (config_json=...
    for config.json, weights=... for model.weights.h5)."""
    import zipfile

    names = {"config_json": "config.json", "weights": "model.weights.h5"}
    replaced = {names[key]: value for key, value in members.items()}
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(destination, "w") as copy:
        for name in source.namelist():
            copy.writestr(name, replaced.get(name, source.read(name)))
    return str(destination)


def keras_only_copy(archive, destination) -> str:
    """A copy of a MusicLSTM's .keras file with one more array in its model.weights.h5 (as a
    later version of the class might write): the NumPy path refuses it, Keras loads it."""
    import io
    import zipfile

    import h5py
    import numpy as np

    with zipfile.ZipFile(archive) as source:
        weights = io.BytesIO(source.read("model.weights.h5"))
    with h5py.File(weights, "a") as stored:
        stored["layers/extra/vars/0"] = np.zeros(3, np.float32)
    return rewritten(archive, destination, weights=weights.getvalue())


def run_python_json(script: str, stdin: str | None = None, cwd: str = REPO) -> dict:
    """Runs `script` in a fresh Python process (own TF runtime, e.g. logical devices) and
    returns the JSON object it printed last."""
    import json
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", script], input=stdin, capture_output=True,
                            text=True, cwd=cwd, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


REPLICA_HARNESS = r"""
import json
import numpy as np, keras, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
SETUP

def run(strategy, initial):
    with strategy.scope():
        model = build_model()
        if initial is not None:
            model.set_weights(initial)
        compile_model(model)
    start = [w.copy() for w in model.get_weights()]
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH, drop_remainder=True)
    model.fit(data, epochs=1, verbose=0)
    return start, model.get_weights()

start, one = run(tf.distribute.get_strategy(), None)
_, two = run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), start)
print(json.dumps({
    "max_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(one, two)),
    "max_update": max(float(np.max(np.abs(a - s))) for a, s in zip(one, start)),
}))
"""


def one_vs_two_replicas(setup: str, global_batch: int) -> dict:
    """Trains one epoch on one device and on 2 logical CPUs (MirroredStrategy) from the same
    initial weights; returns the largest weight difference and the largest update.

    `setup` defines x, y, build_model() and compile_model(model).
    """
    script = REPLICA_HARNESS.replace("SETUP", setup).replace("GLOBAL_BATCH", str(global_batch))
    return run_python_json(script)


def random_ids(vocabulary, shape, seed=0):
    return np.random.default_rng(seed).integers(1, vocabulary.size, size=shape).astype("int32")
