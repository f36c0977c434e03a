"""Training helpers: time budget, runs without a validation split, and replica-count invariance."""

import os

import numpy as np

from tests.conftest import make_tiny_model, one_vs_two_replicas
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
