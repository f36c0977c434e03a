"""The character-level LSTM: Embedding -> LSTM x num_layers -> Dense logits over the vocabulary.

`train_step`/`test_step` are overridden in the style of the keras-io examples, so users train
with `model.fit`. The loss is summed over tokens and divided by the *global* number of tokens
(`tf.nn.compute_average_loss`): Keras sums gradients across replicas, so N replicas with global
batch B take the same step as one device with batch B.

`step` runs one character through the LSTM cells carrying (h, c): generation and the exported
browser model use it, never re-running the whole prefix.

Whole sequences run through `fused_lstm` where Keras has no fast kernel (no GPU): the same maths
with a gradient that batches the weight products over time (see that module).
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

# a module import, not `from tfcreative.presets import ...`: importing keras inside presets.py
# registers the model classes (tfcreative/__init__.py), so this module may load mid-way.
from tfcreative import presets
from tfcreative.errors import InvalidArgument
from tfcreative.keras_hooks import PrebuiltModelMixin, step_logs
from tfcreative.music import fused_lstm
from tfcreative.music.config import COURSE, MusicTrainConfig
from tfcreative.music.optimizer import make_optimizer
from tfcreative.music.vocabulary import CharVocabulary

# The model's own settings, each a MusicTrainConfig field and a MusicLSTM argument of that name
# (a model trained on keeps its own).
ARCHITECTURE = ("embedding_dim", "lstm_units", "num_layers", "dropout", "output_dropout")


def architecture_of(source) -> dict:
    """ARCHITECTURE's values as `source`, a MusicLSTM or a MusicTrainConfig, holds them."""
    return {name: getattr(source, name) for name in ARCHITECTURE}


@keras.saving.register_keras_serializable(package="tfcreative")
class MusicLSTM(PrebuiltModelMixin, keras.Model):
    """Predicts the next ABC character; defaults follow the MIT 6.S191 course configuration."""

    def __init__(
        self,
        vocabulary: CharVocabulary | dict,
        embedding_dim: int = COURSE.embedding_dim,
        lstm_units: int = COURSE.lstm_units,
        num_layers: int = COURSE.num_layers,
        dropout: float = COURSE.dropout,
        output_dropout: float = COURSE.output_dropout,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(vocabulary, dict):
            vocabulary = CharVocabulary.from_config(vocabulary)
        for name, value in (("embedding_dim", embedding_dim), ("lstm_units", lstm_units),
                            ("num_layers", num_layers)):
            if int(value) < 1:
                raise InvalidArgument(name, f"expected >= 1, got {value}")
        self.vocabulary = vocabulary
        self.embedding_dim = int(embedding_dim)
        self.lstm_units = int(lstm_units)
        self.num_layers = int(num_layers)
        self.dropout = float(dropout)
        self.output_dropout = float(output_dropout)
        # Sublayers follow the model's dtype policy (e.g. mixed_bfloat16), not the global one.
        policy = self.dtype_policy
        self.embedding = keras.layers.Embedding(vocabulary.size, self.embedding_dim,
                                                name="embedding", dtype=policy)
        self.lstm_layers = [
            keras.layers.LSTM(self.lstm_units, return_sequences=True, return_state=True,
                              dropout=self.dropout, name=f"lstm_{i}", dtype=policy)
            for i in range(self.num_layers)
        ]
        # on the last layer's outputs, before the logits (the non-recurrent connections, as
        # Zaremba et al. 2014 drop them); only models that set it have the layer
        self.output_dropout_layer = keras.layers.Dropout(
            self.output_dropout, name="output_dropout", dtype=policy) if self.output_dropout \
            else None
        self.logits = keras.layers.Dense(vocabulary.size, name="logits", dtype=policy)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.bpc_tracker = keras.metrics.Mean(name="bits_per_char")
        self.build((None, None))

    def build(self, input_shape):
        """Creates all weights up front, so `step` and loading work before any forward pass."""
        self.embedding.build((None, None))
        features = self.embedding_dim
        for lstm in self.lstm_layers:
            lstm.build((None, None, features))
            features = self.lstm_units
        self.logits.build((None, None, self.lstm_units))
        self.built = True

    # -- forward passes -------------------------------------------------------------------

    def call(self, token_ids, training=False):
        """[batch, time] ids -> [batch, time, vocab] logits, from zero state."""
        return self.forward(token_ids, training=training)[0]

    def forward(self, token_ids, states=None, training=False):
        """Runs a whole sequence; returns (logits, states) with states = [(h, c)] per layer."""
        x = self.embedding(token_ids)
        new_states = []
        for i, lstm in enumerate(self.lstm_layers):
            initial_state = None if states is None else list(states[i])
            if fused_lstm.supports(lstm):
                x, h, c = fused_lstm.lstm_sequence(lstm, x, initial_state, training=training)
            else:
                x, h, c = lstm(x, initial_state=initial_state, training=training)
            new_states.append((h, c))
        if self.output_dropout_layer is not None:
            x = self.output_dropout_layer(x, training=training)
        return self._logits(x), new_states

    def step(self, token_ids, states, input_table=None, transposed_kernel=None):
        """One character per row: [batch] ids and [(h, c)] -> ([batch, vocab] logits, states).

        input_table: `self.input_table()`, computed once before a generation loop; each step
        then looks up its first-layer gate inputs instead of multiplying by the input kernel
        (the same numbers, a quarter less weight memory read per character).
        transposed_kernel (with input_table): `self.transposed_kernel()`, also made once: the
        first layer's recurrent product then reads the layout XLA reads fastest at batch 1.
        """
        new_states = []
        if input_table is None:
            x = self.embedding(token_ids)
        else:
            h, c = states[0]
            x, c = fused_lstm.cell_step(self.lstm_layers[0], tf.gather(input_table, token_ids),
                                        h, c, transposed_kernel)
            new_states.append((x, c))
        for lstm, (h, c) in zip(self.lstm_layers[len(new_states):], states[len(new_states):],
                                strict=True):
            x, (h, c) = lstm.cell(x, [h, c], training=False)
            new_states.append((h, c))
        return self._logits(x), new_states

    def _logits(self, x):
        """Logits in float32 whatever the compute dtype (Keras's advice for mixed precision:
        the loss and the sampling's softmax need float32's range and precision)."""
        return tf.cast(self.logits(x), tf.float32)

    def input_table(self):
        """[vocab, 4·units]: every character's embedding through the first layer's input kernel
        and bias, for `step`."""
        return fused_lstm.project(self.lstm_layers[0],
                                  tf.cast(self.embedding.embeddings, self.compute_dtype))

    def transposed_kernel(self):
        """[4·units, units]: the first layer's recurrent kernel transposed, for `step`."""
        return fused_lstm.transposed_recurrent_kernel(self.lstm_layers[0])

    def zero_states(self, batch_size):
        zeros = tf.zeros([batch_size, self.lstm_units], dtype=self.compute_dtype)
        return [(zeros, zeros) for _ in self.lstm_layers]

    # -- training -------------------------------------------------------------------------

    @property
    def metrics(self):
        return [self.loss_tracker, self.bpc_tracker]

    def _token_losses(self, y, logits):
        return keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)

    def _update_metrics(self, token_losses):
        self.loss_tracker.update_state(token_losses)
        self.bpc_tracker.update_state(token_losses / math.log(2.0))
        return step_logs({m.name: m.result() for m in self.metrics})

    def _unpack(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError("MusicLSTM does not use sample weights; pass (x, y) only")
        return x, y

    def train_step(self, data):
        x, y = self._unpack(data)
        with tf.GradientTape() as tape:
            token_losses = self._token_losses(y, self(x, training=True))
            # sum / global token count: correct under any number of replicas.
            loss = tf.nn.compute_average_loss(tf.reshape(token_losses, [-1]))
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables, strict=True))
        return self._update_metrics(token_losses)

    def test_step(self, data):
        x, y = self._unpack(data)
        return self._update_metrics(self._token_losses(y, self(x, training=False)))

    # -- presets ------------------------------------------------------------------------

    @classmethod
    def from_preset(cls, preset: str) -> MusicLSTM:
        """A trained model shipped with tfcreative (`tfcreative.presets.list_presets()`, e.g.
        "folk") or a preset folder, compiled with Adam at the fine-tuning defaults
        (config.FINE_TUNING_LEARNING_RATE, its warm-up), ready to train on your tunes."""
        model = presets.load_preset(preset, expected=cls)
        model.compile(optimizer=make_optimizer(MusicTrainConfig(), from_model=True))
        return model

    # -- serialisation --------------------------------------------------------------------

    def get_config(self):
        """Keras's own fields (name, trainable, dtype policy, ...) plus the model's."""
        return {**super().get_config(),
                "vocabulary": self.vocabulary.get_config(),
                "embedding_dim": self.embedding_dim,
                "lstm_units": self.lstm_units,
                "num_layers": self.num_layers,
                "dropout": self.dropout,
                **({"output_dropout": self.output_dropout} if self.output_dropout else {})}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
