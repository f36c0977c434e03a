"""One test per Keras/TF internal that tfcreative/keras_hooks.py relies on: each fails loudly
if a Keras or TensorFlow upgrade removes the hook or changes how it is called."""

import inspect
import json
import os
import re

import keras
import numpy as np
import tensorflow as tf

from tfcreative import keras_hooks


def test_keras_is_the_tested_minor_version():
    assert keras.__version__.startswith(keras_hooks.TESTED_KERAS + "."), (
        f"Keras {keras.__version__}: tfcreative/keras_hooks.py was tested with "
        f"{keras_hooks.TESTED_KERAS}; re-run tests/test_keras_hooks.py and the multi-worker and "
        "resume tests, then update TESTED_KERAS and setup.cfg's pin")


class Probe(keras_hooks.PrebuiltModelMixin, keras.Model):
    def __init__(self):
        super().__init__(name="probe")
        self.dense = keras.layers.Dense(1)
        self.dense.build((None, 3))
        self.calls = 0

    def call(self, x):
        return self.dense(x)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        self.calls += 1
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)


def test_fit_calls_maybe_symbolic_build_with_the_arguments_we_override():
    parameters = list(inspect.signature(keras.Model._maybe_symbolic_build).parameters)
    assert parameters == ["self", "iterator", "data_batch"]
    assert callable(getattr(keras.Model, "_flatten_layers", None))
    model = Probe()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), verbose=0)
    assert model.calls >= 1 and model.optimizer.built


def test_multi_worker_mode_is_asked_of_the_strategy_extended():
    from tensorflow.python.distribute.collective_all_reduce_strategy import (
        CollectiveAllReduceExtended,
    )

    assert callable(getattr(CollectiveAllReduceExtended, "_in_multi_worker_mode", None))
    assert keras_hooks.in_multi_worker_mode(tf.distribute.get_strategy()) is False


def test_backup_and_restore_sets_initial_epoch_and_calls_the_private_save_and_load(tmp_path):
    for method in ("_save_model", "_load_model"):
        assert list(inspect.signature(
            getattr(keras.callbacks.BackupAndRestore, method)).parameters) == ["self"]
    events = []

    class Recording(keras_hooks.BackupAndRestoreWithExtraState):
        def save_extra_state(self):
            events.append(("save", self.epochs_done))

        def load_extra_state(self):
            events.append(("load", keras_hooks.restored_epoch(self.model)))

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    backup = Recording(str(tmp_path), delete_checkpoint=False)
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), epochs=2, verbose=0,
              callbacks=[backup])
    assert events == [("load", 0), ("save", 1), ("save", 2)]
    with open(tmp_path / "training_metadata.json") as f:
        assert json.load(f)["epoch"] == 2
    assert keras_hooks.backed_up_epoch(str(tmp_path)) == 2
    assert keras_hooks.backed_up_epoch(str(tmp_path / "none")) == 0
    events.clear()
    backup.set_model(model)
    backup.on_train_begin()
    assert events == [("load", 2)] and keras_hooks.restored_epoch(model) == 2


def _backed_up_twice(folder):
    """A model and its backup folder after 2 epochs (the .bkp generation: epoch 1)."""
    class Plain(keras_hooks.BackupAndRestoreWithExtraState):
        def save_extra_state(self):
            pass

        def load_extra_state(self):
            pass

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    backup = Plain(str(folder), delete_checkpoint=False, double_checkpoint=True)
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), epochs=2, verbose=0,
              callbacks=[backup])
    return model, backup


def test_a_backup_half_written_when_killed_gives_way_to_the_previous_generation(tmp_path):
    """Keras writes its backup files in place: a kill can leave a torn metadata file (Keras's
    loader fails on it at every start), new weights beside the old epoch, or metadata Keras
    wrote before the generation was committed. Each falls back to the whole .bkp generation,
    which is what Keras then loads; with neither whole, the run starts over."""
    kills = {  # (each writes over the files of the folder the loop sets up)
        "torn metadata": lambda: metadata.write_text('{"epo'),
        "new weights, old epoch": lambda: weights.write_bytes(b"not these weights"),
        "not yet committed": lambda: metadata.write_text('{"epoch": 2, "batch": 0}'),
    }
    for name, kill in kills.items():
        folder = tmp_path / name.replace(" ", "_")
        weights, metadata = (folder / keras_hooks.BACKUP_WEIGHTS,
                             folder / keras_hooks.BACKUP_METADATA)
        model, backup = _backed_up_twice(folder)
        assert keras_hooks.backed_up_epoch(str(folder)) == 2
        kill()
        assert keras_hooks.backed_up_epoch(str(folder)) == 1, name
        backup.set_model(model)
        backup.on_train_begin()  # settles the folder, then Keras loads
        assert keras_hooks.restored_epoch(model) == 1, name
        assert json.loads(metadata.read_text())["epoch"] == 1
    for path in (folder / (keras_hooks.BACKUP_WEIGHTS + ".bkp"), weights):
        path.write_bytes(b"neither generation whole")
    assert keras_hooks.settle_backup(str(folder)) == 0
    assert not weights.exists() and not metadata.exists()


def test_seed_generator_states_are_found_by_their_variable_names():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dropout(0.5), keras.layers.Dense(1)])
    lstm = keras.layers.LSTM(2, dropout=0.5)
    lstm.build((None, 4, 3))
    assert len(keras_hooks.seed_generator_states(model)) == 1
    assert len([v for v in lstm.variables if v.path.endswith("seed_generator_state")]) == 1


def test_lstm_input_dropout_mask_is_one_fresh_mask_per_sequence_as_keras_draws_it():
    keras.utils.set_random_seed(0)
    layer = keras.layers.LSTM(4, dropout=0.25)
    layer.build((None, None, 64))
    assert layer.cell.implementation == 2  # one mask for the four gates
    step_input = tf.ones([32, 64])
    first = keras_hooks.lstm_input_dropout_mask(layer.cell, step_input).numpy()
    second = keras_hooks.lstm_input_dropout_mask(layer.cell, step_input).numpy()
    assert first.shape == (32, 64)
    assert set(np.unique(first)) <= {0.0, np.float32(1 / 0.75)}
    assert 0.2 < (first == 0).mean() < 0.3
    assert (first != second).any()  # reset: the next sequence gets its own mask
    # Keras's own LSTM draws the mask the same way: one per sequence, kept for every step.
    # With no recurrent weights and a closed forget gate, a step's output depends on its
    # masked input only: equal across the steps of a row, different between rows.
    units = layer.cell.units
    sequence_layer = keras.layers.LSTM(units, dropout=0.25, return_sequences=True)
    sequence_layer.build((None, None, 64))
    kernel, _, bias = sequence_layer.get_weights()
    bias[units:2 * units] = -100.0
    sequence_layer.set_weights([np.random.default_rng(0).normal(size=kernel.shape),
                                np.zeros((units, 4 * units)), bias])
    out = sequence_layer(tf.ones([2, 3, 64]), training=True).numpy()
    np.testing.assert_allclose(out[:, 1:], np.repeat(out[:, :1], 2, axis=1), atol=1e-6)
    assert not np.allclose(out[0], out[1])


# The private Keras/TF names the hooks above use: no other module of the package may use them.
PRIVATE_NAMES = ("_current_epoch", "training_metadata.json", "_initial_epoch",
                 "_maybe_symbolic_build", "_in_multi_worker_mode", "_flatten_layers",
                 "_save_model", "_load_model", "get_dropout_mask", "reset_dropout_mask")


def test_private_keras_names_appear_only_in_keras_hooks():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    offenders = []
    for folder in ("tfcreative", "datasets", "export"):
        for directory, _, files in os.walk(os.path.join(root, folder)):
            for name in files:
                path = os.path.join(directory, name)
                if not name.endswith(".py") or path.endswith(os.path.join("tfcreative",
                                                                          "keras_hooks.py")):
                    continue
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                offenders += [f"{os.path.relpath(path, root)}: {private}"
                              for private in PRIVATE_NAMES
                              if re.search(rf"(?<!\w){re.escape(private)}(?!\w)", text)]
    assert not offenders, offenders
