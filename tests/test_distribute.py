"""tf.distribute: --strategy parsing, synchronised batch norm across replicas, the trainers
under MirroredStrategy, and a two-worker MultiWorkerMirroredStrategy cluster on 127.0.0.1."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import DUMMY_ABC_DIR, REPO, one_vs_two_replicas
from tests.test_pix2pix_model import GAN_SETUP_WITH_NORM
from tfcreative.distribute import is_chief, make_strategy, worker_run_dir


def test_make_strategy_parses_the_accepted_names(monkeypatch):
    assert make_strategy("default") is tf.distribute.get_strategy()
    assert isinstance(make_strategy("mirrored"), tf.distribute.MirroredStrategy)
    for bad in ("mirror", "mirrored:2", "gpu"):
        with pytest.raises(ValueError, match=r"strategy: .*default, mirrored, multi_worker, tpu"):
            make_strategy(bad)
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="strategy: multi_worker needs TF_CONFIG"):
        make_strategy("multi_worker")


def test_one_device_is_the_chief_and_writes_the_run_directory(tmp_path):
    strategy = make_strategy("default")
    assert is_chief(strategy)
    assert worker_run_dir(str(tmp_path / "run"), strategy) == str(tmp_path / "run")




@pytest.mark.slow
def test_sync_batch_norm_takes_the_same_gan_steps_on_two_replicas():
    """Per-replica batch norm normalises each half batch on its own, so 2 replicas diverge from
    one device; norm="sync_batch" all-reduces the statistics and matches it."""
    synced = one_vs_two_replicas(GAN_SETUP_WITH_NORM.replace("NORM", "sync_batch"), global_batch=4)
    local = one_vs_two_replicas(GAN_SETUP_WITH_NORM.replace("NORM", "batch"), global_batch=4)
    print(f"sync_batch: {synced}, batch: {local}")
    assert synced["max_update"] > 1e-3
    assert synced["max_diff"] < 1e-5
    assert local["max_diff"] > 1e-3  # the documented behaviour of plain batch norm


TRAINER_SCRIPT = r"""
import json, os, sys
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tfcreative.distribute import make_strategy

kind, root, source = sys.argv[1:4]
if kind == "music":
    from tfcreative.music.config import MusicTrainConfig
    from tfcreative.music.training import train

    config = MusicTrainConfig(embedding_dim=8, lstm_units=16, seq_length=20, batch_size=8,
                              epochs=2, steps_per_epoch=3)
    data = {"abc_path": source}
else:
    from tfcreative.pix2pix.config import Pix2PixTrainConfig
    from tfcreative.pix2pix.training import train

    config = Pix2PixTrainConfig(image_size=16, ngf=4, ndf=4, n_layers=2, norm="sync_batch",
                                dropout=0.0, batch_size=4, epochs=2, steps_per_epoch=2,
                                sample_count=2)
    data = {"manual_dir": source}
weights, replicas = {}, {}
for name in ("default", "mirrored"):
    model = train(os.path.join(root, name), config, data_dir=os.path.join(root, "tfds"),
                  verbose=0, strategy=make_strategy(name), **data)
    weights[name] = np.concatenate([w.ravel() for w in model.get_weights()])
    replicas[name] = model.distribute_strategy.num_replicas_in_sync
print(json.dumps({"replicas": replicas,
                  "max_diff": float(np.max(np.abs(weights["default"] - weights["mirrored"]))),
                  "max_weight": float(np.max(np.abs(weights["default"])))}))
"""


def _pairs_dir(root):
    """32 pairs: a flat folder splits 25 train / 4 validation / 3 test by name, so validation
    runs as one batch of 4 across the replicas."""
    from tfcreative.datasets.pix2pix import synthetic_facades

    for i in range(32):
        for folder, image in zip("AB", synthetic_facades.facade_pair(1, i, 20), strict=True):
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / f"{i:02d}.png").write_bytes(tf.io.encode_png(image).numpy())
    return root


def _train_one_device_and_two_replicas(kind, root, source):
    result = subprocess.run([sys.executable, "-c", TRAINER_SCRIPT, kind, str(root), str(source)],
                            capture_output=True, text=True, cwd=REPO, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["music", "pix2pix"])
def test_trainers_give_the_same_model_on_one_device_and_two_replicas(kind, tmp_path):
    """The whole train() (data stream, strategy scope, callbacks; Pix2Pix with sync_batch) with
    --strategy mirrored on 2 logical CPUs vs one device: the same final weights (Adam, so equal
    up to float rounding). Generator dropout is off: each replica draws its own masks."""
    source = DUMMY_ABC_DIR if kind == "music" else _pairs_dir(tmp_path / "pairs")
    numbers = _train_one_device_and_two_replicas(kind, tmp_path, source)
    print(f"{kind}: {numbers}")
    assert numbers["replicas"] == {"default": 1, "mirrored": 2}
    assert numbers["max_diff"] < 1e-4


WORKER_SCRIPT = r"""
import json, os, sys
import numpy as np

kind, run_dir, source, root = sys.argv[1:5]
index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
if kind == "music":
    from tfcreative.music.config import MusicTrainConfig
    from tfcreative.music.training import train

    config = MusicTrainConfig(embedding_dim=8, lstm_units=16, seq_length=20, batch_size=8,
                              epochs=2, steps_per_epoch=3, strategy="multi_worker")
    data = {"abc_path": source}
else:
    from tfcreative.pix2pix.config import Pix2PixTrainConfig
    from tfcreative.pix2pix.training import train

    config = Pix2PixTrainConfig(image_size=16, ngf=4, ndf=4, n_layers=2, norm="sync_batch",
                                batch_size=4, epochs=2, steps_per_epoch=3, sample_count=2,
                                strategy="multi_worker")
    data = {"manual_dir": source}
# Each worker prepares its own TFDS copy (in a real cluster: shared storage, prepared once).
model = train(run_dir, config, data_dir=os.path.join(root, f"tfds-{index}"), verbose=0, **data)
np.save(os.path.join(root, f"weights-{index}.npy"),
        np.concatenate([w.ravel() for w in model.get_weights()]))
print(json.dumps({"replicas": model.distribute_strategy.num_replicas_in_sync,
                  "steps": int(model.optimizer.iterations.numpy())}))
"""


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["music", "pix2pix"])
def test_two_local_workers_end_with_identical_weights_and_only_the_chief_writes(kind, tmp_path):
    """Two processes with TF_CONFIG on 127.0.0.1 ports (MultiWorkerMirroredStrategy, RING
    collectives; Pix2Pix with sync_batch): 2 epochs x 3 global batches."""
    source = DUMMY_ABC_DIR if kind == "music" else str(_pairs_dir(tmp_path / "pairs"))
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    run_dir = tmp_path / "run"
    workers = []
    for index in range(2):
        tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        workers.append(subprocess.Popen(
            [sys.executable, "-c", WORKER_SCRIPT, kind, str(run_dir), source, str(tmp_path)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env={**os.environ, "TF_CONFIG": json.dumps(tf_config),
                            "TF_CPP_MIN_LOG_LEVEL": "2"}))
    try:
        outputs = [worker.communicate(timeout=240) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err[-3000:]
    logs = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert [log["replicas"] for log in logs] == [2, 2]
    assert [log["steps"] for log in logs] == [6, 6]  # 2 epochs x 3 global batches

    chief, other = (np.load(tmp_path / f"weights-{i}.npy") for i in range(2))
    difference = float(np.max(np.abs(chief - other)))
    print(f"{kind}: 2-worker max weight difference: {difference}")
    assert difference == 0.0

    # The run directory holds the chief's output only; the other worker's scratch folder
    # and both backups are gone.
    assert sorted(set(os.listdir(tmp_path)) - {"pairs"}) == [
        "run", "tfds-0", "tfds-1", "weights-0.npy", "weights-1.npy"]
    expected = {"checkpoints", "config.json", "history.csv", "logs", "model.keras"}
    assert set(os.listdir(run_dir)) == expected | ({"samples"} if kind == "pix2pix" else set())
    assert sorted(os.listdir(run_dir / "checkpoints")) == ["best.keras", "last.keras"]
    with open(run_dir / "history.csv") as f:
        assert len(f.read().strip().splitlines()) == 3  # header + 2 epochs, written once


def test_a_time_budget_is_refused_in_a_cluster(monkeypatch):
    """Workers would stop at different steps and hang in a collective."""
    from tfcreative.distribute import check_time_budget

    check_time_budget(5.0, make_strategy("default"))  # fine on one machine
    monkeypatch.setattr("tfcreative.distribute.in_multi_worker_mode", lambda strategy: True)
    with pytest.raises(ValueError, match="minutes: a time budget cannot be used with a multi-w"):
        check_time_budget(5.0, make_strategy("default"))


def test_cli_trains_under_a_strategy_and_rejects_unknown_ones(tmp_path, capsys):
    from tfcreative.cli.main import main

    common = ["music", "train", "--abc", DUMMY_ABC_DIR, "--data-dir", str(tmp_path / "tfds"),
              "--epochs", "1", "--steps-per-epoch", "2", "--embedding-dim", "4",
              "--lstm-units", "8", "--seq-length", "20", "--batch-size", "4"]
    assert main([*common, "--run-dir", str(tmp_path / "run"), "--strategy", "mirrored"]) == 0
    with open(tmp_path / "run" / "config.json") as f:
        assert json.load(f)["strategy"] == "mirrored"
    assert main([*common, "--run-dir", str(tmp_path / "bad"), "--strategy", "gpus"]) == 2
    assert ("tfcreative: error: --strategy: 'gpus': expected one of default, mirrored, "
            "multi_worker, tpu[:name]") in capsys.readouterr().err
