"""A Keras LSTM layer's maths over a whole sequence, with a hand-written gradient, for CPUs.

Without a GPU, Keras runs an LSTM as a `tf.while_loop` over `cell(x_t, (h, c))`, and its
gradient adds each step's outer products into the weight gradients inside the backward loop:
at batch 8 that reads and writes the whole [units, 4·units] recurrent-kernel gradient 100 times
per window, which is what bounds a training step. Here the loop carries only what must be
sequential (h, c and, backwards, dh, dc); the input projection x·W and the weight gradients
Xᵀ·dZ and Hᵀ·dZ are single large matrix products over all time steps. Same function, same
weights, gradients equal to float32 rounding (tests/test_fused_lstm.py); on a CPU a training
step at the course configuration runs faster (by how much: docs/benchmarks.md;
benchmarks/music_training.py).

Gate layout is Keras's [i, f, c, o] (sigmoid gates, tanh candidate and output), no peepholes.
Input dropout (the layer's `dropout`) is Keras's too: in training one mask per sequence,
drawn by the cell, multiplies the inputs at every step (`keras_hooks.lstm_input_dropout_mask`).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfcreative.keras_hooks import lstm_input_dropout_mask


def _gates(z):
    i, f, g, o = tf.split(z, 4, axis=-1)
    return tf.sigmoid(i), tf.sigmoid(f), tf.tanh(g), tf.sigmoid(o)


def _forward(projected, h0, c0, recurrent_kernel, keep_gates):
    """projected: [time, batch, 4·units] = x·W + b. Returns hs, cs, gates (or None), h, c."""
    steps = tf.shape(projected)[0]

    def array():
        return tf.TensorArray(projected.dtype, size=steps)

    def body(t, h, c, hs, cs, gates):
        i, f, g, o = _gates(projected[t] + tf.matmul(h, recurrent_kernel))
        c = f * c + i * g
        h = o * tf.tanh(c)
        if keep_gates:
            cs, gates = cs.write(t, c), gates.write(t, tf.concat([i, f, g, o], -1))
        return t + 1, h, c, hs.write(t, h), cs, gates

    _, h, c, hs, cs, gates = tf.while_loop(
        lambda t, *_: t < steps, body, (tf.constant(0), h0, c0, array(), array(), array()))
    if not keep_gates:
        return hs.stack(), None, None, h, c
    return hs.stack(), cs.stack(), gates.stack(), h, c


@tf.custom_gradient
def _recurrence_with_gradient(projected, h0, c0, recurrent_kernel):
    hs, cs, gates, h_last, c_last = _forward(projected, h0, c0, recurrent_kernel, True)

    def gradient(d_hs, d_h_last, d_c_last):
        steps = tf.shape(projected)[0]
        h_prev = tf.concat([h0[None], hs[:-1]], 0)
        c_prev = tf.concat([c0[None], cs[:-1]], 0)
        kernel_t = tf.transpose(recurrent_kernel)

        def body(t, d_h_next, d_c_next, d_zs):
            i, f, g, o = tf.split(gates[t], 4, axis=-1)
            d_h = d_hs[t] + d_h_next
            tanh_c = tf.tanh(cs[t])
            d_c = d_c_next + d_h * o * (1.0 - tanh_c * tanh_c)
            d_z = tf.concat([d_c * g * i * (1.0 - i), d_c * c_prev[t] * f * (1.0 - f),
                             d_c * i * (1.0 - g * g), d_h * tanh_c * o * (1.0 - o)], -1)
            return t - 1, tf.matmul(d_z, kernel_t), d_c * f, d_zs.write(t, d_z)

        _, d_h0, d_c0, d_zs = tf.while_loop(
            lambda t, *_: t >= 0, body,
            (steps - 1, d_h_last, d_c_last, tf.TensorArray(projected.dtype, size=steps)))
        d_z = d_zs.stack()
        rows = tf.shape(d_z)[0] * tf.shape(d_z)[1]
        d_kernel = tf.matmul(tf.reshape(h_prev, [rows, -1]), tf.reshape(d_z, [rows, -1]),
                             transpose_a=True)
        return d_z, d_h0, d_c0, d_kernel

    return (hs, h_last, c_last), gradient


def project(lstm: keras.layers.LSTM, inputs):
    """inputs·W + b over the last axis: the input half of every gate pre-activation."""
    cell = lstm.cell
    return tf.matmul(inputs, tf.cast(cell.kernel, inputs.dtype)) + tf.cast(cell.bias,
                                                                           inputs.dtype)


def cell_step(lstm: keras.layers.LSTM, projected, h, c, transposed_kernel=None):
    """One step of `lstm.cell` from precomputed `project(lstm, x)`: returns (h, c).

    transposed_kernel: `transposed_recurrent_kernel(lstm)`, made once before a loop of steps:
    at batch 1 the same product read from the transposed layout, which XLA's matrix-vector
    product reads faster than the stored one (~10 % on an AMD EPYC); at batch 2 and more the
    stored one (XLA's matrix product of the transposed layout took 19x as long on an Intel
    Xeon). Inside XLA the batch is known when compiling, so one branch is compiled.
    """
    kernel = tf.cast(lstm.cell.recurrent_kernel, h.dtype)
    if transposed_kernel is None:
        recurrent = tf.matmul(h, kernel)
    else:
        transposed = tf.cast(transposed_kernel, h.dtype)
        recurrent = tf.cond(tf.shape(h)[0] == 1,
                            lambda: tf.matmul(h, transposed, transpose_b=True),
                            lambda: tf.matmul(h, kernel))
    i, f, g, o = _gates(projected + recurrent)
    c = f * c + i * g
    return o * tf.tanh(c), c


def transposed_recurrent_kernel(lstm: keras.layers.LSTM):
    """[4·units, units]: the recurrent kernel transposed, for `cell_step`."""
    return tf.transpose(lstm.cell.recurrent_kernel)


def supports(lstm: keras.layers.LSTM) -> bool:
    """True where this path applies and Keras has no faster one (cuDNN on a GPU). TPUs keep
    Keras's own path: this one was only measured and tested on CPUs."""
    cell = lstm.cell
    return (cell.activation is keras.activations.tanh
            and cell.recurrent_activation is keras.activations.sigmoid
            and cell.use_bias and not cell.recurrent_dropout
            and (not cell.dropout or cell.implementation == 2)
            and not lstm.go_backwards and not tf.config.list_logical_devices("GPU")
            and not isinstance(tf.distribute.get_strategy(), tf.distribute.TPUStrategy))


def lstm_sequence(lstm: keras.layers.LSTM, inputs, initial_state=None, training=False):
    """Like `lstm(inputs, initial_state)` with return_sequences and return_state: (x, h, c).

    inputs: [batch, time, features]. The gradient is the hand-written one only when training
    (inference graphs, e.g. exported SavedModels, hold the plain loop).
    """
    cell = lstm.cell
    dtype = inputs.dtype
    if training and cell.dropout:
        inputs = inputs * tf.cast(lstm_input_dropout_mask(cell, inputs[:, 0, :]), dtype)[:, None]
    kernel = tf.cast(cell.kernel, dtype)
    recurrent_kernel = tf.cast(cell.recurrent_kernel, dtype)
    projected = tf.einsum("btf,fg->btg", inputs, kernel) + tf.cast(cell.bias, dtype)
    projected = tf.transpose(projected, [1, 0, 2])
    if initial_state is None:
        zeros = tf.zeros([tf.shape(inputs)[0], cell.units], dtype)
        initial_state = (zeros, zeros)
    h0, c0 = (tf.cast(s, dtype) for s in initial_state)
    if training:
        hs, h, c = _recurrence_with_gradient(projected, h0, c0, recurrent_kernel)
    else:
        hs, _, _, h, c = _forward(projected, h0, c0, recurrent_kernel, False)
    return tf.transpose(hs, [1, 0, 2]), h, c
