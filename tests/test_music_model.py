"""MusicLSTM: shapes, step == sequence, train_step maths, save/load round trip and resume."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import make_tiny_model, random_ids
from tfcreative.keras_hooks import seed_generator_states
from tfcreative.music import load_model
from tfcreative.music.model import MusicLSTM
from tfcreative.music.vocabulary import CharVocabulary
from tfcreative.saving import save_model_atomically

VOCAB = CharVocabulary("abcdefg|\n")


def test_logits_shape_and_config_defaults_follow_the_course():
    model = MusicLSTM(VOCAB)
    assert (model.embedding_dim, model.lstm_units, model.num_layers) == (256, 1024, 1)
    tiny = make_tiny_model(VOCAB, layers=2)
    assert tiny(random_ids(VOCAB, (3, 7))).shape == (3, 7, VOCAB.size)


def test_stepping_one_character_at_a_time_equals_running_the_sequence():
    model = make_tiny_model(VOCAB, layers=2)
    ids = random_ids(VOCAB, (4, 12))
    full_logits, full_states = model.forward(ids)
    states = model.zero_states(4)
    for t in range(12):
        logits, states = model.step(ids[:, t], states)
        np.testing.assert_allclose(logits, full_logits[:, t], atol=1e-5)
    for (h, c), (fh, fc) in zip(states, full_states, strict=True):
        np.testing.assert_allclose(h, fh, atol=1e-5)
        np.testing.assert_allclose(c, fc, atol=1e-5)


def test_train_step_reports_token_mean_loss_and_bits_per_char_and_learns():
    model = make_tiny_model(VOCAB)
    pattern = np.tile(VOCAB.encode("abcdefg|\n"), 50)[:400].reshape(16, 25)
    x, y = pattern[:, :-1], pattern[:, 1:]
    first = model.train_on_batch(x, y, return_dict=True)
    expected = keras.losses.sparse_categorical_crossentropy(y, model(x), from_logits=True)
    assert first["bits_per_char"] == pytest.approx(first["loss"] / math.log(2), rel=1e-5)
    for _ in range(60):
        last = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(last["loss"])
    assert last["loss"] < 0.3 * first["loss"]  # a repeating pattern is easy to learn
    assert float(tf.reduce_mean(expected)) < first["loss"] + 1  # same quantity, post-step


def test_train_step_applies_mean_over_all_tokens_gradient():
    """One SGD step equals the step computed by hand from the token-mean loss."""
    model = make_tiny_model(VOCAB)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    x, y = random_ids(VOCAB, (4, 6), seed=1), random_ids(VOCAB, (4, 6), seed=2)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
            y, model(x), from_logits=True))
    grads = tape.gradient(loss, model.trainable_variables)
    expected = [v.numpy() - 0.1 * tf.convert_to_tensor(g).numpy()
                for v, g in zip(model.trainable_variables, grads, strict=True)]
    model.train_on_batch(x, y)
    for v, e in zip(model.trainable_variables, expected, strict=True):
        np.testing.assert_allclose(v.numpy(), e, atol=1e-6)


def test_save_load_round_trip_gives_identical_logits_and_resumes(tmp_path):
    model = make_tiny_model(VOCAB, layers=2)
    x, y = random_ids(VOCAB, (8, 10)), random_ids(VOCAB, (8, 10), seed=3)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    path = save_model_atomically(model, str(tmp_path / "m.keras"))
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]  # no temp file left
    loaded = load_model(path)
    assert isinstance(loaded, MusicLSTM)
    assert loaded.vocabulary == VOCAB and loaded.num_layers == 2
    np.testing.assert_array_equal(loaded(x), model(x))
    assert int(loaded.optimizer.iterations) == 4
    before = [w.numpy().copy() for w in loaded.trainable_variables]
    loaded.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert int(loaded.optimizer.iterations) == 6
    after = [w.numpy() for w in loaded.trainable_variables]
    assert any(not np.array_equal(b, a) for b, a in zip(before, after, strict=True))


def test_load_model_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.keras: no such file"):
        load_model(str(tmp_path / "nothing.keras"))
    with pytest.raises(FileNotFoundError, match="has no model.keras"):
        load_model(str(tmp_path))
    other = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    other.save(tmp_path / "dense.keras")
    with pytest.raises(ValueError, match="holds a Sequential model, not a MusicLSTM"):
        load_model(str(tmp_path / "dense.keras"))


@pytest.mark.parametrize("field", ["embedding_dim", "lstm_units", "num_layers"])
def test_invalid_sizes_are_rejected(field):
    with pytest.raises(ValueError, match=field):
        MusicLSTM(VOCAB, **{field: 0})


def test_output_dropout_drops_the_last_layers_outputs_in_training_only(tmp_path):
    """output_dropout: a Dropout before the logits, off at inference (the same logits, steps
    and weights as without it), kept through a .keras file; models without it keep their
    config as before (presets saved earlier load unchanged)."""
    keras.utils.set_random_seed(0)
    model = MusicLSTM(VOCAB, embedding_dim=4, lstm_units=8, output_dropout=0.5, name="m")
    plain = MusicLSTM(VOCAB, embedding_dim=4, lstm_units=8, name="m")
    plain.set_weights(model.get_weights())
    assert [w.path for w in model.weights] == [w.path for w in plain.weights]
    # its random state is the model's, so a backup restores it (keras_hooks)
    assert len(seed_generator_states(model)) == len(seed_generator_states(plain)) + 1
    assert "output_dropout" not in plain.get_config()
    ids = random_ids(VOCAB, (2, 9))
    np.testing.assert_array_equal(model(ids), plain(ids))
    np.testing.assert_array_equal(model.step(ids[:, 0], model.zero_states(2))[0],
                                  plain.step(ids[:, 0], plain.zero_states(2))[0])
    assert not np.allclose(model(ids, training=True), plain(ids, training=True))
    loaded = load_model(save_model_atomically(model, str(tmp_path / "m.keras")))
    assert loaded.output_dropout == 0.5
    np.testing.assert_array_equal(loaded(ids), model(ids))


def test_config_keeps_kerass_own_fields_such_as_the_dtype_policy(tmp_path):
    """get_config builds on Keras's: a mixed_bfloat16 model comes back mixed_bfloat16, in every
    sublayer, through from_config and through a .keras file."""
    model = MusicLSTM(VOCAB, embedding_dim=4, lstm_units=8, dtype="mixed_bfloat16",
                      name="folk")
    config = model.get_config()
    assert {"name", "trainable", "dtype"} <= set(config)
    for copy in (MusicLSTM.from_config(config),
                 load_model(save_model_atomically(model, str(tmp_path / "bf16.keras")))):
        assert copy.name == "folk"
        assert copy.dtype_policy.name == "mixed_bfloat16"
        assert {layer.dtype_policy.name for layer in
                (copy.embedding, *copy.lstm_layers, copy.logits)} == {"mixed_bfloat16"}
        assert copy(random_ids(VOCAB, (1, 3))).dtype == tf.float32  # logits: Keras's advice


def test_a_mixed_bfloat16_model_trains_and_generates():
    """Computed in bfloat16 (its states too), its logits in float32: the loss and the
    sampler's softmax work as for float32 (generation failed on `bfloat16 != float32`)."""
    from tfcreative.music.sampler import TuneSampler

    vocabulary = CharVocabulary("X:1\nT:abcdefgABCDEFG|KML/234 ")
    model = MusicLSTM(vocabulary, embedding_dim=4, lstm_units=8, dtype="mixed_bfloat16")
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    x = random_ids(vocabulary, (4, 10))
    assert np.isfinite(model.train_on_batch(x, random_ids(vocabulary, (4, 10), seed=1))).all()
    assert model.zero_states(2)[0][0].dtype == tf.bfloat16
    for constrain in (None, "form"):
        tunes = TuneSampler(model).generate(num_tunes=2, max_length=20, seed=0,
                                            constrain=constrain)
        assert len(tunes) == 2 and all(t.abc.startswith("X:1\nT:") for t in tunes)
