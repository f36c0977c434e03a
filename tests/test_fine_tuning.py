"""Starting from a trained model on tunes of your own (tfcreative/music/fine_tuning.py, the
trainer's `model=` and the command line's `--from`): characters the model does not know are
counted and said, then grown into the vocabulary or mapped; the optimizer starts afresh at
the fine-tuning defaults; config.json records what the run started from."""

import json
import logging
import os
import string

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import make_tiny_model
from tfcreative.music import fine_tuning, pipeline
from tfcreative.music.config import (
    FINE_TUNING_LEARNING_RATE,
    FINE_TUNING_WARMUP_STEPS,
    MusicTrainConfig,
)
from tfcreative.music.vocabulary import OOV_ID, CharVocabulary

TUNE = "X:{n}\nT:{title}\nM:4/4\nL:1/8\nK:D\n|:dAFA dAFA|dfed cAGF:|{extra}\n"


@pytest.fixture
def accented_tunes(tmp_path):
    """Six tunes, two of them with characters a model of ASCII tunes never saw."""
    folder = tmp_path / "my_tunes"
    folder.mkdir()
    titles = ["Café Reel", "Señor Jig", "Plain One", "Plain Two", "Plain Three", "Plain Four"]
    text = "\n".join(TUNE.format(n=n, title=title, extra="|eAAB cBcd|eaag edBd:|" * n)
                     for n, title in enumerate(titles, start=1))
    (folder / "tunes.abc").write_text(text, encoding="utf-8")
    return str(folder)


@pytest.fixture
def ascii_model():
    vocabulary = CharVocabulary(set(string.printable) - set("@\t\r\x0b\x0c"))  # ASCII, not @
    return make_tiny_model(vocabulary, units=16)


def test_unknown_characters_are_counted_by_character_and_tune():
    vocabulary = CharVocabulary("abc ")
    unknown = fine_tuning.unknown_characters(["abc é", "ééñ", "abc"], vocabulary)
    assert unknown.counts == {"é": 3, "ñ": 1} and unknown.tunes == 2
    assert unknown.describe() == ("4 characters in 2 of 3 tunes are not in the model's "
                                  "vocabulary: é ×3 (U+00E9), ñ ×1 (U+00F1)")
    assert not fine_tuning.unknown_characters(["abc"], vocabulary)


@pytest.mark.parametrize("char, plain", [("é", "e"), ("Ñ", "N"), ("’", "'"), ("–", "-"),
                                         ("“", '"'), ("ß", None), ("☃", None)])
def test_plain_characters(char, plain):
    vocabulary = CharVocabulary("eN'-\"s")
    assert fine_tuning.plain_character(char, vocabulary) == plain


def test_a_grown_vocabulary_keeps_every_weight_and_every_prediction(ascii_model):
    grown = fine_tuning.grow_vocabulary(ascii_model, ["é", "@"])  # @ sorts among ASCII
    old, new = ascii_model.vocabulary, grown.vocabulary
    assert set(new.characters) == set(old.characters) | {"é", "@"}
    text = "X:1\nT:Plain One\nK:D\n|:dAFA dAFA|"
    old_logits = ascii_model(old.encode(text)[None])[0].numpy()
    new_logits = grown(new.encode(text)[None])[0].numpy()
    columns = [new.id_of(c) for c in old.characters]
    np.testing.assert_allclose(new_logits[:, columns], old_logits[:, 1:], rtol=1e-5, atol=1e-5)
    embedding = grown.embedding.embeddings.numpy()
    np.testing.assert_array_equal(embedding[new.id_of("é")],
                                  ascii_model.embedding.embeddings.numpy()[old.id_of("e")])
    # the new output rows start as the unknown id's: as improbable as a character never seen
    np.testing.assert_array_equal(new_logits[:, new.id_of("é")], new_logits[:, OOV_ID])
    assert grown.lstm_units == ascii_model.lstm_units


def test_a_grown_model_saves_and_loads(ascii_model, tmp_path):
    import keras

    grown = fine_tuning.grow_vocabulary(ascii_model, ["é"])
    grown.save(tmp_path / "grown.keras")
    loaded = keras.models.load_model(tmp_path / "grown.keras")
    assert loaded.vocabulary == grown.vocabulary


def test_adapting_says_what_it_found_and_grows_or_maps(ascii_model, caplog):
    texts = ["T:Café\n|:dAFA|", "T:Señor\n|:dAFA|", "T:Plain\n|:dAFA|"]
    with caplog.at_level(logging.WARNING):
        grown, aliases = fine_tuning.adapt_to_tunes(ascii_model, texts, "grow")
    assert aliases == {} and grown.vocabulary.id_of("é") != OOV_ID
    assert "2 characters in 2 of 3 tunes are not in the model's vocabulary: é ×1 (U+00E9), " \
           "ñ ×1 (U+00F1); the vocabulary grows by these 2 characters" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        same, aliases = fine_tuning.adapt_to_tunes(ascii_model, texts, "map")
    assert same is ascii_model and aliases == {"é": "e", "ñ": "n"}
    assert "written as é → e, ñ → n" in caplog.text


def test_mapped_characters_are_encoded_as_the_plain_ones(ascii_model):
    texts = tf.data.Dataset.from_tensor_slices(["T:Café"])
    mapped = pipeline.map_characters(texts, {"é": "e"})
    assert pipeline.read_texts(mapped) == ["T:Cafe"]
    ids = list(pipeline.encode_tunes(mapped, ascii_model.vocabulary).as_numpy_iterator())
    assert OOV_ID not in ids


def test_the_trainer_fine_tunes_a_model_on_tunes_with_new_characters(
        ascii_model, accented_tunes, tmp_path, caplog):
    from tfcreative.music.training import train

    run_dir = str(tmp_path / "run")
    config = MusicTrainConfig(epochs=1, steps_per_epoch=2, batch_size=2, seq_length=20)
    with caplog.at_level(logging.WARNING):
        model = train(run_dir, config, abc_path=accented_tunes, data_dir=str(tmp_path / "tfds"),
                      model=ascii_model, from_model="tiny.keras", verbose=0)
    assert "characters in" in caplog.text and "é ×" in caplog.text
    assert model.vocabulary.id_of("é") != OOV_ID
    settings = json.load(open(os.path.join(run_dir, "config.json")))
    assert settings["learning_rate"] == FINE_TUNING_LEARNING_RATE
    assert settings["started_from"]["model"] == os.path.abspath("tiny.keras")
    assert settings["new_characters"] == "grow"
    assert settings["lstm_units"] == 16  # the model's, not config's default
    assert settings["warmup_steps"] == FINE_TUNING_WARMUP_STEPS and settings["decay_to"] == 0.1
    # warm-up: 2 of its steps taken
    assert float(model.optimizer.learning_rate) == pytest.approx(
        FINE_TUNING_LEARNING_RATE * 2 / FINE_TUNING_WARMUP_STEPS)


def test_a_learning_rate_given_is_kept_when_starting_from_a_model():
    assert MusicTrainConfig().learning_rate_for(from_model=False) == (5e-3, 0, 1.0)
    assert MusicTrainConfig().learning_rate_for(from_model=True) == (2e-3, 100, 0.1)
    assert MusicTrainConfig(learning_rate=3e-4, warmup_steps=7, decay_to=1.0).learning_rate_for(
        True) == (3e-4, 7, 1.0)


def test_the_fine_tuning_schedule_warms_up_then_decays_to_a_tenth():
    from tfcreative.music.optimizer import learning_rate_schedule

    schedule = learning_rate_schedule(2e-3, warmup_steps=100, total_steps=1000, decay_to=0.1)
    rates = {step: float(schedule(step)) for step in (0, 50, 100, 550, 1000, 5000)}
    assert rates[0] == 0 and rates[50] == pytest.approx(1e-3) and rates[100] == pytest.approx(2e-3)
    assert rates[550] == pytest.approx(1.1e-3) and rates[1000] == pytest.approx(2e-4)
    assert rates[5000] == pytest.approx(2e-4)
    assert learning_rate_schedule(5e-3) == 5e-3  # from scratch: the course's constant
    constant = learning_rate_schedule(2e-3, warmup_steps=10)
    assert float(constant(10)) == float(constant(10_000)) == pytest.approx(2e-3)


def test_music_train_from_a_preset_on_your_tunes(accented_tunes, tmp_path, caplog):
    """`music train --from folk --abc DIR`: the unknown characters said in a line, the preset
    grown, config.json naming the preset and its checksums."""
    from tfcreative.cli.main import main
    from tfcreative.presets import read_metadata

    run_dir = str(tmp_path / "mine")
    with caplog.at_level(logging.WARNING):
        assert main(["music", "train", "--from", "folk", "--abc", accented_tunes, "--run-dir",
                     run_dir, "--data-dir", str(tmp_path / "tfds"), "--epochs", "1",
                     "--steps-per-epoch", "1", "--batch-size", "2", "--seq-length", "20"]) == 0
    assert "2 characters in 2 of 6 tunes are not in the model's vocabulary: é ×1 (U+00E9), " \
           "ñ ×1 (U+00F1)" in caplog.text
    settings = json.load(open(os.path.join(run_dir, "config.json")))
    assert settings["started_from"]["preset"] == "folk"
    assert settings["started_from"]["sha256"] == read_metadata("folk")["sha256"]
    assert settings["learning_rate"] == FINE_TUNING_LEARNING_RATE


def test_the_help_says_how_to_fine_tune():
    import subprocess
    import sys

    from tests.conftest import REPO

    out = subprocess.run([sys.executable, "-m", "tfcreative", "music", "train", "--help"],
                         capture_output=True, text=True, cwd=REPO, check=True).stdout
    text = " ".join(out.split())
    assert "--from MODEL, --from-model MODEL" in text
    assert "--from folk --abc ~/my_tunes: write like your tunes" in text
    assert "--new-characters {grow,map}" in text
