"""The reference implementations, written as the course notebook and the TF tutorial write them.

* Music (MIT 6.S191 lab 1, TensorFlow version): a `Sequential` Embedding -> LSTM -> Dense model,
  a `@tf.function train_step` with one GradientTape, and generation by calling a batch-1 model
  eagerly once per character. Differences, all so that the maths equal ours: the LSTM is not
  `stateful` (ours starts each window from zero state), and the loss is the token mean (the
  notebook differentiates the unreduced per-token loss, i.e. its sum).
* Pix2Pix (tensorflow.org/tutorials/generative/pix2pix): `@tf.function train_step(input_image,
  target, step)` with `gen_tape` and `disc_tape` over one forward pass, then both optimizers.
  The tutorial updates G and D *simultaneously* from that pass; ours steps D first and then G
  against the updated D (the paper's alternation), one extra D forward pass per step, which the
  FLOP counts include. The tutorial's D loss is real + fake; ours is half of it (paper).
  Both sides use our U-Net and PatchGAN networks, so model sizes are identical.
"""

from __future__ import annotations

import keras
import tensorflow as tf

# -- music ----------------------------------------------------------------------------------

def course_music_model(vocab_size: int, embedding_dim: int, lstm_units: int,
                       batch_size: int | None = None, stateful: bool = False,
                       dropout: float = 0.0) -> keras.Model:
    """The notebook's `build_model` (stateful=True with a fixed batch for its generation).

    dropout: not in the notebook: Keras's own input dropout on its LSTM, the reference for
    training with dropout (ours: `MusicLSTM(dropout=...)`, the same maths)."""
    return keras.Sequential([
        keras.Input((None,), batch_size=batch_size, dtype="int32"),
        keras.layers.Embedding(vocab_size, embedding_dim),
        keras.layers.LSTM(lstm_units, return_sequences=True, stateful=stateful,
                          recurrent_initializer="glorot_uniform",
                          recurrent_activation="sigmoid", dropout=dropout),
        keras.layers.Dense(vocab_size),
    ])


def copy_music_weights(ours, course: keras.Model) -> None:
    """Our MusicLSTM's (single-layer) weights into the course model, layer by layer."""
    course.layers[0].set_weights(ours.embedding.get_weights())
    course.layers[1].set_weights(ours.lstm_layers[0].get_weights())
    course.layers[2].set_weights(ours.logits.get_weights())


def course_train_step(model: keras.Model, optimizer):
    """The notebook's train step (loss averaged over tokens, see the module docstring)."""

    def compute_loss(labels, logits):
        return tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
            labels, logits, from_logits=True))

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            y_hat = model(x)
            loss = compute_loss(y, y_hat)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    return train_step


def course_generate_text(model: keras.Model, start_ids: list[int], generation_length: int):
    """The notebook's generate_text: one eager call of the stateful batch-1 model per character."""
    input_eval = tf.expand_dims(start_ids, 0)
    generated = []
    model.layers[1].reset_states()
    for _ in range(generation_length):
        predictions = model(input_eval)
        predictions = tf.squeeze(predictions, 0)
        predicted_id = tf.random.categorical(predictions, num_samples=1)[-1, 0].numpy()
        input_eval = tf.expand_dims([predicted_id], 0)
        generated.append(int(predicted_id))
    return generated


# -- pix2pix --------------------------------------------------------------------------------

LAMBDA = 100
_bce = keras.losses.BinaryCrossentropy(from_logits=True)


def _generator_loss(disc_generated_output, gen_output, target):
    gan_loss = _bce(tf.ones_like(disc_generated_output), disc_generated_output)
    l1_loss = tf.reduce_mean(tf.abs(target - gen_output))
    return gan_loss + LAMBDA * l1_loss, gan_loss, l1_loss


def _discriminator_loss(disc_real_output, disc_generated_output):
    real_loss = _bce(tf.ones_like(disc_real_output), disc_real_output)
    generated_loss = _bce(tf.zeros_like(disc_generated_output), disc_generated_output)
    return real_loss + generated_loss


def tutorial_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer):
    """The tutorial's train_step (its TensorBoard summaries left out)."""

    @tf.function
    def train_step(input_image, target, step):
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            gen_output = generator(input_image, training=True)
            disc_real_output = discriminator([input_image, target], training=True)
            disc_generated_output = discriminator([input_image, gen_output], training=True)
            gen_total_loss, _, _ = _generator_loss(disc_generated_output, gen_output, target)
            disc_loss = _discriminator_loss(disc_real_output, disc_generated_output)
        generator_gradients = gen_tape.gradient(gen_total_loss, generator.trainable_variables)
        discriminator_gradients = disc_tape.gradient(disc_loss,
                                                     discriminator.trainable_variables)
        generator_optimizer.apply_gradients(
            zip(generator_gradients, generator.trainable_variables, strict=True))
        discriminator_optimizer.apply_gradients(
            zip(discriminator_gradients, discriminator.trainable_variables,
                strict=True))
        return gen_total_loss

    return train_step
