"""Fault tolerance: resume after SIGKILL (BackupAndRestore), Ctrl-C, and a NaN loss."""

import csv
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from tests.conftest import DUMMY_ABC_DIR, REPO
from tfcreative import keras_hooks
from tfcreative.cli.main import main
from tfcreative.fault_tolerance import NonFiniteLossError
from tfcreative.music.config import MusicTrainConfig
from tfcreative.music.training import train

TINY = ["--embedding-dim", "8", "--lstm-units", "32", "--seq-length", "20", "--batch-size", "8"]


def _train_command(run_dir, data_dir, epochs, steps):
    return [sys.executable, "-m", "tfcreative", "music", "train", "--run-dir", str(run_dir),
            "--abc", DUMMY_ABC_DIR, "--data-dir", str(data_dir), "--epochs", str(epochs),
            "--steps-per-epoch", str(steps), *TINY]


def _default_sigint():
    # A shell without job control starts background jobs with SIGINT ignored, and children
    # inherit that; Ctrl-C must reach the trainer as it does from a terminal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(command):
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
                            preexec_fn=_default_sigint)


def _wait_for(condition, process, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _epochs_logged(run_dir):
    path = os.path.join(run_dir, "history.csv")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def _backup_epoch(run_dir):
    """The epoch the run resumes from: its backup's newest generation written whole."""
    return keras_hooks.backed_up_epoch(os.path.join(run_dir, "backup"))


def _weights(path):
    return keras.models.load_model(path).get_weights()


@pytest.mark.slow
def test_killed_run_resumes_from_its_backup_and_ends_like_an_uninterrupted_run(tmp_path):
    """SIGKILL in the middle of epoch 3 of 6, the same command again: it restores epoch 2's
    backup (weights, optimizer state, epoch), replays epoch 3 on the same batches (seeded
    stream positioned at the epoch) and ends with the uninterrupted run's model."""
    epochs, steps = 6, 40
    run = tmp_path / "killed"
    killed = _start(_train_command(run, tmp_path / "tfds", epochs, steps))
    _wait_for(lambda: _backup_epoch(run) >= 2 and 1 in _epochs_logged(run), killed)
    time.sleep(0.3)  # into epoch 3
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL
    assert not (run / "model.keras").exists()
    resumed_from = _backup_epoch(run)
    assert resumed_from >= 2

    resumed = subprocess.run(_train_command(run, tmp_path / "tfds", epochs, steps), cwd=REPO,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming from the backup: epoch {resumed_from + 1}" in resumed.stderr
    logged = _epochs_logged(run)
    assert logged.count(0) == 1 and logged[-1] == epochs - 1  # did not start again from 0
    assert not (run / "backup").exists()  # a finished run deletes its backup

    reference = subprocess.run(
        _train_command(tmp_path / "uninterrupted", tmp_path / "tfds", epochs, steps),
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert reference.returncode == 0, reference.stderr[-3000:]
    final = keras.models.load_model(run / "model.keras")
    expected = keras.models.load_model(tmp_path / "uninterrupted" / "model.keras")
    assert int(final.optimizer.iterations) == int(expected.optimizer.iterations) == epochs * steps
    difference = max(float(np.max(np.abs(a - b)))
                     for a, b in zip(final.get_weights(), expected.get_weights(), strict=True))
    print(f"resumed at epoch {resumed_from + 1}; max weight difference vs uninterrupted: "
          f"{difference}")
    assert difference == 0.0


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_exits_with_130(tmp_path):
    run = tmp_path / "run"
    process = _start(_train_command(run, tmp_path / "tfds", epochs=1000, steps=20))
    _wait_for(lambda: len(_epochs_logged(run)) >= 1, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-3000:]
    checkpoint = run / "checkpoints" / "interrupted.keras"
    assert f"weights saved to {checkpoint}" in err
    model = keras.models.load_model(checkpoint)
    assert int(model.optimizer.iterations) >= 20
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert not (run / "model.keras").exists()
    assert (run / "backup" / "training_metadata.json").exists()  # the same command resumes


class InjectNaN(keras.callbacks.Callback):
    """Poisons one weight before batch 2 of epoch 2; remembers the weights after epoch 1."""

    def __init__(self):
        super().__init__()
        self.epoch = 0
        self.after_first_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            self.after_first_epoch = [w.copy() for w in self.model.get_weights()]

    def on_train_batch_begin(self, batch, logs=None):
        if self.epoch == 1 and batch == 1:
            kernel = self.model.logits.kernel
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(tmp_path):
    run = tmp_path / "run"
    config = MusicTrainConfig(embedding_dim=8, lstm_units=16, seq_length=20, batch_size=8,
                              epochs=3, steps_per_epoch=4)
    injector = InjectNaN()
    with pytest.raises(NonFiniteLossError) as error:
        train(str(run), config, abc_path=DUMMY_ABC_DIR, data_dir=str(tmp_path / "tfds"),
              verbose=0, callbacks=[injector])
    last = run / "checkpoints" / "last.keras"
    assert str(error.value) == (f"training stopped: loss became nan at epoch 2, batch 2; the "
                                f"last good checkpoint is {last} (try a lower learning rate)")
    for saved, good in zip(_weights(last), injector.after_first_epoch, strict=True):
        np.testing.assert_array_equal(saved, good)
    assert not (run / "model.keras").exists()
    assert _epochs_logged(run) == [0]


def test_cli_reports_a_diverging_loss_and_exits_non_zero(tmp_path, capsys):
    code = main(["music", "train", "--run-dir", str(tmp_path / "run"), "--abc", DUMMY_ABC_DIR,
                 "--data-dir", str(tmp_path / "tfds"), "--epochs", "2", "--steps-per-epoch",
                 "5", "--learning-rate", "1e38", *TINY])
    err = capsys.readouterr().err
    assert code == 1
    assert "tfcreative: training stopped: loss became" in err and "at epoch 1" in err
    assert "no epoch finished, so there is no good checkpoint" in err
    assert not (tmp_path / "run" / "model.keras").exists()


class CrashMidEpoch(keras.callbacks.Callback):
    """Raises in the middle of epoch 3, like a process that dies there."""

    def __init__(self):
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.epoch == 2 and batch == 1:
            raise RuntimeError("simulated crash")


def test_pix2pix_resumes_both_networks_and_optimizers_after_a_crash(tmp_path):
    """Crash in epoch 3 of 4, train again: the same generator, discriminator and both Adam
    states as an uninterrupted run (generator dropout on: its seed state is restored too)."""
    from tests.test_distribute import _pairs_dir
    from tfcreative.pix2pix.config import Pix2PixTrainConfig
    from tfcreative.pix2pix.training import train as train_pix2pix

    pairs = _pairs_dir(tmp_path / "pairs")
    config = Pix2PixTrainConfig(image_size=16, ngf=4, ndf=4, n_layers=2, batch_size=2,
                                epochs=4, steps_per_epoch=3, sample_count=2)
    run, reference = str(tmp_path / "run"), str(tmp_path / "reference")
    kwargs = {"manual_dir": str(pairs), "data_dir": str(tmp_path / "tfds"), "verbose": 0}
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_pix2pix(run, config, callbacks=[CrashMidEpoch()], **kwargs)
    assert _backup_epoch(run) == 2
    resumed = train_pix2pix(run, config, **kwargs)
    expected = train_pix2pix(reference, config, **kwargs)
    assert int(resumed.optimizer.iterations) == int(resumed.d_optimizer.iterations) == 12
    difference = max(float(np.max(np.abs(a - b))) for a, b in zip(
        resumed.get_weights() + [v.numpy() for v in resumed.d_optimizer.variables],
        expected.get_weights() + [v.numpy() for v in expected.d_optimizer.variables],
        strict=True))
    print(f"pix2pix resumed vs uninterrupted: max difference {difference}")
    assert difference == 0.0


def test_a_resumed_run_keeps_best_keras_until_an_epoch_beats_the_epochs_before_it(tmp_path):
    """Crash in epoch 3 of 4 and train again: best.keras is replaced only by an epoch better
    than every epoch history.csv logged before the resume. (Keras's ModelCheckpoint starts
    from infinity: without the run's best so far, the first epoch after a resume replaced
    the best checkpoint however bad; folk_preset's data runs lost their best that way.)"""
    run = tmp_path / "run"
    config = MusicTrainConfig(embedding_dim=8, lstm_units=16, seq_length=20, batch_size=8,
                              epochs=4, steps_per_epoch=3)
    kwargs = {"abc_path": DUMMY_ABC_DIR, "data_dir": str(tmp_path / "tfds"), "verbose": 0}
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(str(run), config, callbacks=[CrashMidEpoch()], **kwargs)
    history = run / "history.csv"
    with open(history, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    best = run / "checkpoints" / "best.keras"
    before = _weights(best)
    # epoch 1 logged a loss no epoch after the resume can beat (the selection metric: the
    # validation loss, or the training loss of a run without validation tunes, as here)
    rows[0]["val_loss"] = rows[0]["loss"] = "0.0"
    with open(history, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    train(str(run), config, **kwargs)
    assert _epochs_logged(run) == [0, 1, 2, 3]
    assert all(np.array_equal(a, b) for a, b in zip(_weights(best), before, strict=True))


# -- the random state of a backup -------------------------------------------------------------

def _dropout_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dropout(0.5),
                              keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _seed_states(model):
    from tfcreative.keras_hooks import seed_generator_states

    return [np.asarray(v.numpy()).tolist() for v in seed_generator_states(model)]


def _train_three_epochs_with_backups(backup_dir):
    """Three epochs backed up with two generations kept; returns the seed states after each."""
    from tfcreative.fault_tolerance import BackupAndRestoreRandomState

    model = _dropout_model()
    after_epoch = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: after_epoch.append(_seed_states(model)))
    backup = BackupAndRestoreRandomState(str(backup_dir), double_checkpoint=True,
                                         delete_checkpoint=False)
    x = np.random.default_rng(0).normal(size=(16, 6)).astype("float32")
    model.fit(x, x[:, :1], batch_size=4, epochs=3, verbose=0, callbacks=[backup, record])
    assert after_epoch[1] != after_epoch[2]  # dropout advanced its counter
    return after_epoch


def _resume(backup_dir):
    from tfcreative.fault_tolerance import BackupAndRestoreRandomState
    from tfcreative.keras_hooks import restored_epoch

    model = _dropout_model(seed=1)
    backup = BackupAndRestoreRandomState(str(backup_dir), double_checkpoint=True,
                                         delete_checkpoint=False)
    backup.set_model(model)
    backup.on_train_begin()
    return restored_epoch(model), _seed_states(model)


def test_a_truncated_newest_backup_resumes_the_previous_generation_with_its_random_state(
        tmp_path):
    after_epoch = _train_three_epochs_with_backups(tmp_path)
    weights = tmp_path / "latest.weights.h5"
    weights.write_bytes(weights.read_bytes()[:100])  # killed while Keras wrote its weights
    epoch, states = _resume(tmp_path)
    assert epoch == 2  # Keras fell back to its .bkp generation ...
    assert states == after_epoch[1]  # ... and the random state is that generation's


def test_a_truncated_random_state_file_never_stops_a_resume(tmp_path, caplog):
    after_epoch = _train_three_epochs_with_backups(tmp_path)
    state = tmp_path / "random_state.json"
    state.write_text(state.read_text()[:7])  # killed mid-write by an older, in-place writer
    epoch, states = _resume(tmp_path)
    assert epoch == 3 and states != after_epoch[2]
    assert "no random state saved for epoch 3" in caplog.text
    assert not list(tmp_path.glob("*.tmp"))
