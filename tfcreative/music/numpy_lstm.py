"""A MusicLSTM's inference in NumPy: the weights of a preset, of a .keras file (or of a built
model) and the LSTM's step, for generating without importing TensorFlow (`numpy_sampler`).

The maths of `MusicLSTM.step` in float32: the first layer looks its gate inputs up in a table
(every character's embedding through the input kernel, plus the bias), each layer's gates are
i, f, g, o as Keras orders them (sigmoid, sigmoid, tanh, sigmoid), and the logits are the last
layer's h through the output layer. NumPy's float32 products round differently from
TensorFlow's kernels in the last bits; `tests/test_numpy_sampler.py` counts what that changes.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tfcreative import keras_archive, preset_files
from tfcreative.errors import InvalidArgument
from tfcreative.music.saved_config import MODEL_CLASS, float32_config
from tfcreative.music.vocabulary import CharVocabulary


@dataclasses.dataclass(frozen=True)
class LSTMWeights:
    """One LSTM layer's float32 weights, as Keras stores them (gates i, f, g, o)."""

    kernel: np.ndarray  # [inputs, 4 * units]
    recurrent_kernel: np.ndarray  # [units, 4 * units]
    bias: np.ndarray  # [4 * units]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-x) overflows to inf for very negative x: 0, right
        return np.float32(1) / (np.float32(1) + np.exp(-x))


def _cell(z: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(h, c) from the gates' pre-activations z [batch, 4 * units] and the carry c."""
    i, f, g, o = np.split(z, 4, axis=1)
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c), c


def keras_file_layout(num_layers: int) -> dict[str, str]:
    """Where Keras's .keras format puts each MusicLSTM weight in model.weights.h5 (its layers
    named by class: lstm, lstm_1, ..., dense; each layer's variables numbered in the order
    built) -> the weight's path under the model's name. Keras's loader is the reference:
    tests/test_numpy_sampler.py loads the same file both ways."""
    layout = {"embedding/vars/0": "embedding/embeddings",
              "layers/dense/vars/0": "logits/kernel", "layers/dense/vars/1": "logits/bias"}
    for i in range(num_layers):
        for number, part in enumerate(("kernel", "recurrent_kernel", "bias")):
            layout[f"layers/lstm{f'_{i}' if i else ''}/cell/vars/{number}"] = \
                f"lstm_{i}/lstm_cell/{part}"
    return layout


def expected_shapes(config: dict, argument: str = "preset") -> dict[str, tuple]:
    """The shape of every weight of the MusicLSTM `config` describes, by its path under the
    model's name."""
    try:
        vocab = len(config["vocabulary"]["characters"]) + 1
        embedding, units = int(config["embedding_dim"]), int(config["lstm_units"])
        layers = int(config["num_layers"])
    except (KeyError, TypeError, ValueError, OverflowError):
        raise InvalidArgument(argument, "its config is not a MusicLSTM's") from None
    shapes = {"embedding/embeddings": (vocab, embedding),
              "logits/kernel": (units, vocab), "logits/bias": (vocab,)}
    for i in range(layers):
        shapes.update({f"lstm_{i}/lstm_cell/kernel": (units if i else embedding, 4 * units),
                       f"lstm_{i}/lstm_cell/recurrent_kernel": (units, 4 * units),
                       f"lstm_{i}/lstm_cell/bias": (4 * units,)})
    return shapes


class NumpyMusicLSTM:
    """Embedding -> LSTM x layers -> Dense logits, in NumPy float32; `vocabulary` as the
    Keras model's."""

    def __init__(self, vocabulary: CharVocabulary, embeddings: np.ndarray,
                 layers: list[LSTMWeights], logits_kernel: np.ndarray, logits_bias: np.ndarray):
        self.vocabulary = vocabulary
        self.layers = layers
        self.lstm_units = layers[0].recurrent_kernel.shape[0]
        self.logits_kernel, self.logits_bias = logits_kernel, logits_bias
        # the first layer's input product and bias for every character, looked up per step
        self.input_table = embeddings @ layers[0].kernel + layers[0].bias

    @classmethod
    def from_arrays(cls, config: dict, arrays: dict[str, np.ndarray],
                    argument: str = "preset") -> NumpyMusicLSTM:
        """From a MusicLSTM's config (`get_config()`) and its weights by Keras path
        ("music_lstm/lstm_0/lstm_cell/kernel", ...: the model's name first). Anything but
        exactly the weights that config describes, finite and in float32 arithmetic, is an
        InvalidArgument about `argument` (Keras's loader says what is wrong in its own
        terms)."""
        expected = expected_shapes(config, argument)
        by_path = {name.split("/", 1)[-1]: value for name, value in arrays.items()}
        found = {path: tuple(value.shape) for path, value in by_path.items()}
        if found != expected or len(by_path) != len(arrays):
            raise InvalidArgument(argument, "its weights are not the ones its config describes")
        weights = {path: np.asarray(value, np.float32) for path, value in by_path.items()}
        if not all(np.isfinite(value).all() for value in weights.values()):
            raise InvalidArgument(argument, "its weights hold NaN or Inf values")
        layers = [LSTMWeights(*(weights[f"lstm_{i}/lstm_cell/{part}"]
                                for part in ("kernel", "recurrent_kernel", "bias")))
                  for i in range(int(config["num_layers"]))]
        return cls(CharVocabulary.from_config(config["vocabulary"]),
                   weights["embedding/embeddings"], layers, weights["logits/kernel"],
                   weights["logits/bias"])

    @classmethod
    def from_preset(cls, preset: str) -> NumpyMusicLSTM:
        """A preset's MusicLSTM (a shipped name or a folder), its files checked as
        `presets.load_preset` checks them (class, sha256), without Keras."""
        config, arrays = preset_files.read_model_files(preset, MODEL_CLASS)
        return cls.from_arrays(float32_config(config), arrays)

    @classmethod
    def from_keras_file(cls, path: str) -> NumpyMusicLSTM:
        """A .keras file's MusicLSTM (or a run directory's model.keras), read without Keras;
        anything but a plain float32 MusicLSTM with exactly its weights is an InvalidArgument
        about "path"."""
        archive = keras_archive.archive_path(path)
        if archive is None:
            raise InvalidArgument("path", f"{path}: not a .keras file or a run directory")
        config = float32_config(keras_archive.read_config(archive), "path")
        expected_shapes(config, "path")  # its sizes are numbers
        layout = keras_file_layout(int(config["num_layers"]))
        stored = {name: value for name, value in keras_archive.read_weights(archive).items()
                  if not name.startswith("optimizer/")}
        if set(stored) != set(layout):
            raise InvalidArgument("path", f"{archive}: its weights are not laid out as a "
                                          "MusicLSTM's")
        return cls.from_arrays(config, {f"model/{layout[name]}": value
                                        for name, value in stored.items()}, "path")

    def zero_states(self, batch: int) -> list[tuple[np.ndarray, np.ndarray]]:
        zeros = np.zeros((batch, self.lstm_units), np.float32)
        return [(zeros, zeros) for _ in self.layers]

    def step(self, token_ids: np.ndarray, states: list) -> tuple[np.ndarray, list]:
        """One character per row: [batch] ids and [(h, c)] per layer -> ([batch, vocab]
        logits, the new states)."""
        h, c = states[0]
        x, c = _cell(self.input_table[token_ids] + h @ self.layers[0].recurrent_kernel, c)
        new_states = [(x, c)]
        for layer, (h, c) in zip(self.layers[1:], states[1:], strict=True):
            x, c = _cell(x @ layer.kernel + h @ layer.recurrent_kernel + layer.bias, c)
            new_states.append((x, c))
        return x @ self.logits_kernel + self.logits_bias, new_states

    def forward(self, token_ids: np.ndarray) -> tuple[np.ndarray, list]:
        """[batch, time] ids from zero state -> (the last step's logits, the states)."""
        states = self.zero_states(token_ids.shape[0])
        logits = None
        for step in range(token_ids.shape[1]):
            logits, states = self.step(token_ids[:, step], states)
        return logits, states
