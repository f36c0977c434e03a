"""Training helpers: time budget, runs without a validation split, and replica-count invariance."""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

from tests.conftest import DUMMY_ABC_DIR, make_tiny_model, one_vs_two_replicas
from tfcreative.callbacks import TimeBudget
from tfcreative.music.config import MusicTrainConfig
from tfcreative.music.training import train
from tfcreative.music.vocabulary import CharVocabulary


def test_time_budget_stops_fit_mid_epoch():
    model = make_tiny_model(CharVocabulary("abc"))
    x = np.random.default_rng(0).integers(1, 4, size=(400, 10)).astype("int32")
    history = model.fit(x, x, batch_size=4, epochs=50, verbose=0,
                        callbacks=[TimeBudget(minutes=0.0)])
    assert len(history.history["loss"]) == 1
    assert int(model.optimizer.iterations) == 1  # stopped after the first batch


def test_a_collection_too_small_for_validation_still_trains(tmp_path):
    abc = tmp_path / "two.abc"
    abc.write_text("X:1\nT:One\nM:4/4\nL:1/8\nK:D\n" + "abcd efga|" * 20 + "\n\n"
                   "X:2\nT:Two\nM:3/4\nL:1/8\nK:G\n" + "GAB cde|" * 20 + "\n")
    config = MusicTrainConfig(embedding_dim=4, lstm_units=8, seq_length=20, batch_size=4,
                              epochs=1)
    model = train(str(tmp_path / "run"), config, abc_path=str(abc),
                  data_dir=str(tmp_path / "tfds"), verbose=0)
    assert int(model.optimizer.iterations) > 0
    assert os.path.exists(tmp_path / "run" / "checkpoints" / "best.keras")


MUSIC_SETUP = """
from tfcreative.music.model import MusicLSTM
from tfcreative.music.vocabulary import CharVocabulary

vocab = CharVocabulary("abcdefg|\\n")
rng = np.random.default_rng(0)
x = rng.integers(1, vocab.size, size=(32, 12)).astype("int32")
y = rng.integers(1, vocab.size, size=(32, 12)).astype("int32")

def build_model():
    return MusicLSTM(vocab, embedding_dim=8, lstm_units=16, num_layers=2)

def compile_model(model):
    model.compile(optimizer=keras.optimizers.SGD(0.5))
"""


def test_two_replicas_take_the_same_steps_as_one_device():
    """Global batch 8 on 1 device vs 4+4 on 2 replicas: same weights after 4 SGD steps.

    Plain SGD, since Adam would hide a wrongly scaled loss (its step ignores gradient scale).
    """
    numbers = one_vs_two_replicas(MUSIC_SETUP, global_batch=8)
    assert numbers["max_update"] > 1e-2  # the steps did move the weights
    assert numbers["max_diff"] < 1e-5


# -- one training per run directory -----------------------------------------------------------

TINY = MusicTrainConfig(embedding_dim=4, lstm_units=8, seq_length=20, batch_size=4, epochs=2,
                        steps_per_epoch=2)
LOCK = "run.lock"


def _train(run, tmp_path, callbacks=(), config=TINY):
    return train(str(run), config, abc_path=DUMMY_ABC_DIR, data_dir=str(tmp_path / "tfds"),
                 verbose=0, callbacks=list(callbacks))


class AtEpoch(keras.callbacks.Callback):
    """Calls `action(self)` once, at the first batch of epoch `epoch` (0-based)."""

    def __init__(self, epoch, action):
        super().__init__()
        self.epoch, self.action, self.current = epoch, action, 0
        self.done = False

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.current == self.epoch and not self.done:
            self.done = True
            self.action(self)


def _lock_owner(run):
    with open(os.path.join(run, LOCK)) as f:
        return json.load(f)


def test_a_second_training_into_a_running_run_dir_is_refused_in_one_line(tmp_path, capsys):
    from tfcreative.cli.main import main

    run = tmp_path / "run"
    seen = {}

    def second_training(callback):
        seen["owner"] = _lock_owner(run)
        capsys.readouterr()  # (this run's own output so far)
        seen["code"] = main(["music", "train", "--run-dir", str(run), "--abc", DUMMY_ABC_DIR,
                             "--data-dir", str(tmp_path / "tfds"), "--epochs", "1"])
        seen["err"] = capsys.readouterr().err

    _train(run, tmp_path, [AtEpoch(1, second_training)])
    assert seen["owner"]["pid"] == os.getpid()
    assert seen["owner"]["host"] == socket.gethostname()
    err = seen["err"]
    assert seen["code"] == 2 and err.count("\n") == 1, err
    assert err.startswith(f"tfcreative: error: --run-dir: {run}: in use by another training "
                          f"(PID {os.getpid()} on {socket.gethostname()}, since "), err
    assert f"its lock file: {run / LOCK}): let it finish, or choose another run " \
           "directory" in err
    assert not (run / LOCK).exists()  # released when training ended
    with open(run / "history.csv") as f:
        assert len(f.read().strip().splitlines()) == 3  # header + 2 epochs: ours only


def test_a_lock_left_by_a_killed_training_is_taken_over_in_one_line(tmp_path, caplog):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(),
                                        "since": "2026-01-01 00:00:00"}))
    held = {}
    _train(run, tmp_path, [AtEpoch(0, lambda cb: held.update(_lock_owner(run)))])
    assert held["pid"] == os.getpid()
    taken = [r.getMessage() for r in caplog.records if "taking over" in r.getMessage()]
    assert taken == [f"{run / LOCK}: taking over the lock of PID {dead.pid} on "
                     f"{socket.gethostname()}, since 2026-01-01 00:00:00, which ended without "
                     "releasing it"]
    assert (run / "model.keras").exists() and not (run / LOCK).exists()


def test_a_crash_releases_the_run_dir(tmp_path):
    run = tmp_path / "run"
    held = {}

    def crash(callback):
        held.update(_lock_owner(run))
        raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError, match="simulated crash"):
        _train(run, tmp_path, [AtEpoch(1, crash)])
    assert held["pid"] == os.getpid()
    assert not (run / LOCK).exists()
    _train(run, tmp_path)  # the same command again: resumes and finishes
    assert (run / "model.keras").exists()


def test_ctrl_c_releases_the_run_dir_and_the_resumed_run_removes_its_checkpoint(tmp_path):
    from tfcreative.fault_tolerance import TrainingInterrupted

    run = tmp_path / "run"
    held = {}

    def ctrl_c(callback):
        held.update(_lock_owner(run))
        raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted):
        _train(run, tmp_path, [AtEpoch(1, ctrl_c)])
    assert held["pid"] == os.getpid() and not (run / LOCK).exists()
    interrupted = run / "checkpoints" / "interrupted.keras"
    assert interrupted.exists()
    _train(run, tmp_path)  # the same command again: resumes from the backup and finishes
    assert (run / "model.keras").exists()
    assert sorted(os.listdir(run / "checkpoints")) == ["best.keras", "last.keras"]


def test_a_finished_run_is_never_trained_again_in_place(tmp_path):
    from tfcreative.errors import FinishedRun

    run = tmp_path / "run"
    _train(run, tmp_path)
    history = (run / "history.csv").read_text()
    with pytest.raises(FinishedRun) as error:
        _train(run, tmp_path)
    assert error.value.argument == "run_dir"
    assert str(error.value) == (f"run_dir: {run}: holds a finished run (model.keras): choose "
                                "another run directory")
    assert (run / "history.csv").read_text() == history
    assert not (run / LOCK).exists()


@pytest.mark.parametrize("where", ["file", "below a file"])
def test_a_run_dir_that_is_or_sits_in_a_file_is_an_error_about_run_dir(where, tmp_path):
    from tfcreative.errors import InvalidArgument

    (tmp_path / "file").write_text("mine")
    run = tmp_path / "file" if where == "file" else tmp_path / "file" / "run"
    with pytest.raises(InvalidArgument) as error:
        _train(run, tmp_path)
    assert error.value.argument == "run_dir"
    assert error.value.detail.startswith(
        f"{run}: not a folder" if where == "file" else f"{run}: {tmp_path / 'file'} is not a "
                                                        "folder")
    assert (tmp_path / "file").read_text() == "mine"
