"""The CPU LSTM path computes exactly what Keras's LSTM layer computes: outputs, final states
and every gradient (weights, inputs, initial states), within float32 rounding."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcreative.music import fused_lstm
from tfcreative.music.model import MusicLSTM
from tfcreative.music.vocabulary import CharVocabulary


def _layer(units=12, features=5, **kwargs):
    keras.utils.set_random_seed(3)
    layer = keras.layers.LSTM(units, return_sequences=True, return_state=True, **kwargs)
    layer.build((None, None, features))
    # Non-trivial biases, so a gate-order mistake cannot hide behind zeros.
    layer.cell.bias.assign(np.random.default_rng(0).normal(size=layer.cell.bias.shape))
    return layer


@pytest.mark.parametrize("with_state", [False, True])
def test_outputs_states_and_gradients_equal_keras(with_state):
    layer = _layer()
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(size=(3, 7, 5)), tf.float32)
    state = [tf.constant(rng.normal(size=(3, 12)), tf.float32) for _ in range(2)]
    initial_state = state if with_state else None
    weights = [rng.normal(size=(3, 7, 12)), rng.normal(size=(3, 12)), rng.normal(size=(3, 12))]

    def run(fn):
        with tf.GradientTape() as tape:
            tape.watch([x, *state])
            out, h, c = fn()
            loss = sum(tf.reduce_sum(t * w) for t, w in zip((out, h, c), weights, strict=True))
        return (out, h, c), tape.gradient(loss, [x, *state, *layer.trainable_variables])

    expected, expected_grads = run(lambda: layer(x, initial_state=initial_state, training=True))
    got, got_grads = run(
        lambda: fused_lstm.lstm_sequence(layer, x, initial_state, training=True))
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-6)
    for a, b in zip(expected_grads, got_grads, strict=True):
        if a is None:  # no initial state given: no gradient for it on either side
            assert b is None or not with_state
            continue
        np.testing.assert_allclose(tf.convert_to_tensor(b).numpy(),
                                   tf.convert_to_tensor(a).numpy(), rtol=1e-4, atol=1e-5)
    # The inference path (plain loop) gives the same outputs.
    plain = fused_lstm.lstm_sequence(layer, x, initial_state, training=False)
    np.testing.assert_allclose(plain[0].numpy(), expected[0].numpy(), rtol=1e-5, atol=1e-6)


def test_gradient_is_right_inside_a_compiled_function():
    layer = _layer(units=8, features=4)
    x = tf.constant(np.random.default_rng(2).normal(size=(2, 9, 4)), tf.float32)

    @tf.function
    def gradients(fn):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(fn()[0]))
        return tape.gradient(loss, layer.trainable_variables)

    expected = gradients(lambda: layer(x, training=True))
    got = gradients(lambda: fused_lstm.lstm_sequence(layer, x, training=True))
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-6)


def test_music_model_uses_it_on_cpu_with_input_dropout_and_keeps_keras_otherwise():
    vocabulary = CharVocabulary("abc\n")
    assert fused_lstm.supports(MusicLSTM(vocabulary, 4, 8).lstm_layers[0])
    assert fused_lstm.supports(MusicLSTM(vocabulary, 4, 8, dropout=0.1).lstm_layers[0])
    assert not fused_lstm.supports(_layer(recurrent_dropout=0.1))
    assert not fused_lstm.supports(_layer(activation="relu"))


def test_input_dropout_masks_the_inputs_as_keras_does_and_only_in_training(monkeypatch):
    layer, plain = _layer(dropout=0.3), _layer()  # the same weights, with and without
    assert fused_lstm.supports(layer)
    rng = np.random.default_rng(6)
    x = tf.constant(rng.normal(size=(3, 7, 5)), tf.float32)
    # one mask per sequence, the same at every step (keras_hooks.lstm_input_dropout_mask)
    mask = tf.constant((rng.random((3, 5)) > 0.3) / 0.7, tf.float32)
    monkeypatch.setattr(fused_lstm, "lstm_input_dropout_mask", lambda cell, step: mask)

    def run(lstm, inputs, fn):
        with tf.GradientTape() as tape:
            out = fn(lstm, inputs)
            loss = tf.reduce_sum(tf.square(out[0])) + tf.reduce_sum(out[2])
        return out, tape.gradient(loss, lstm.trainable_variables)

    got, got_grads = run(layer, x, lambda lstm, inputs: fused_lstm.lstm_sequence(
        lstm, inputs, training=True))
    expected, expected_grads = run(plain, x * mask[:, None], lambda lstm, inputs: lstm(
        inputs, training=True))
    for a, b in zip([*expected, *expected_grads], [*got, *got_grads], strict=True):
        np.testing.assert_allclose(tf.convert_to_tensor(b).numpy(),
                                   tf.convert_to_tensor(a).numpy(), rtol=1e-4, atol=1e-5)
    inference = fused_lstm.lstm_sequence(layer, x, training=False)[0]
    np.testing.assert_allclose(inference.numpy(), plain(x)[0].numpy(), rtol=1e-5, atol=1e-6)


def test_step_with_the_input_table_and_transposed_kernel_equals_the_keras_cell_step():
    keras.utils.set_random_seed(4)
    model = MusicLSTM(CharVocabulary("abcdefg\n"), 6, 10, num_layers=2)
    model.lstm_layers[0].cell.bias.assign(np.linspace(-1, 1, 40))
    ids = tf.constant([1, 5, 7])
    rng = np.random.default_rng(5)
    states = [tuple(tf.constant(rng.normal(size=(3, 10)), tf.float32) for _ in range(2))
              for _ in range(2)]
    expected_logits, expected_states = model.step(ids, states)
    table = model.input_table()
    transposed = model.transposed_kernel()
    assert transposed.shape == (40, 10)
    for logits, new_states in (model.step(ids, states, table),
                               model.step(ids, states, table, transposed),  # XLA's layout
                               tf.function(model.step, jit_compile=True)(ids, states, table,
                                                                         transposed)):
        np.testing.assert_allclose(logits.numpy(), expected_logits.numpy(), rtol=1e-5,
                                   atol=1e-6)
        for a, b in zip(tf.nest.flatten(expected_states), tf.nest.flatten(new_states),
                        strict=True):
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-6)
