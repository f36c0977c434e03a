"""TF.js graph models for the browser, converted from our SavedModels by `tensorflowjs`.

Music exports the one-character `step` signature (ids, h, c -> logits, h, c): the browser
samples character by character itself. (TF.js runs the LSTM cell step exactly; a Keras 3 LSTM
over a whole sequence, a while loop, does not convert reliably.) The step is written with one
matmul per cell, see `browser_music_step`. Pix2Pix exports
`serving_default` (float images in [-1, 1]). Weights can be quantised to float16 or uint8.

Beside model.json and its weight shards, `tfcreative.json` says what a page needs to use the
model: the vocabulary (music), or the image size, tiling and input kind (pix2pix).
"""

from __future__ import annotations

import json
import os
import tempfile

import tensorflow as tf

from tfcreative.abc_notation import TUNE_SEPARATOR
from tfcreative.errors import ArgumentPathExists, InvalidArgument
from tfcreative.export.saved_model import ServingGraph, serving_graph, write_saved_model
from tfcreative.files import folder_written_whole, require_folder
from tfcreative.music.model import MusicLSTM
from tfcreative.pix2pix.model import Pix2Pix
from tfcreative.pix2pix.tiling import OVERLAP_DIVISOR

QUANTIZATIONS = ("float32", "float16", "uint8")

# tensorflowjs imports TensorFlow Decision Forests, whose welcome banner imports IPython
# whenever stdout is not a terminal (pipes, CI); IPython is not a dependency. Silence it.
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")


def _metadata(model) -> tuple[str, dict]:
    """(signature to convert, facts for the page)."""
    if isinstance(model, MusicLSTM):
        return "step", {
            "kind": "music", "signature": "step",
            "characters": list(model.vocabulary.characters),  # id i+1 -> characters[i]
            "oov_id": 0, "num_layers": model.num_layers, "lstm_units": model.lstm_units,
            "tune_separator": TUNE_SEPARATOR,
            "inputs": {"ids": "[b] int32", "h": "[layers, b, units]", "c": "[layers, b, units]"},
            "outputs": ["logits", "h", "c"],
        }
    if isinstance(model, Pix2Pix):
        return "serving_default", {
            "kind": "pix2pix", "signature": "serving_default", "image_size": model.image_size,
            "image_shape": list(model.image_shape),  # [height, width]
            "inputs": {"input_image": "[b, height, width, 3] float32 in [-1, 1]"},
            "outputs": ["output_image"],
            # Images of other sizes: tiles of the model's size (tfcreative/pix2pix/tiling.py,
            # whose integer rule a page mirrors), or null: resized to the model's size and back.
            "tiling": {"tile": list(model.image_shape), "overlap_divisor": OVERLAP_DIVISOR}
            if model.tiling else None,
            # A colorization model: the page puts the input's Lab lightness back (colour.py).
            "keep_lightness": model.keep_lightness,
            # What the inputs are (the page's tools): a photo transform's name ("edges",
            # "sketch", "grayscale", ...: photo_transforms.py), or null (label maps, pairs).
            "input_transform": model.input_transform,
        }
    raise ValueError(f"cannot export a {type(model).__name__}: expected a tfcreative MusicLSTM "
                     "or Pix2Pix model")


def browser_music_step(model: MusicLSTM) -> tf.types.experimental.GenericFunction:
    """The music `step` for TF.js: each LSTM cell as ONE matmul, [x, h] @ [W; U] + b.

    Keras's LSTMCell computes x @ W + h @ U + b. The converter fuses the sum of the two products
    into a _FusedMatMul whose "bias" is the second product, and TF.js's WebAssembly backend
    refuses that ("_FusedMatMul only supports rank-1 bias"). Stacking the weights keeps the
    maths (Keras's gate order i, f, c, o; sigmoid gates, tanh) and leaves a plain bias.
    """
    cells = []
    for lstm in model.lstm_layers:
        cell = lstm.cell
        if (cell.activation.__name__, cell.recurrent_activation.__name__, cell.use_bias) != \
                ("tanh", "sigmoid", True):
            raise ValueError(f"{lstm.name}: the TF.js export expects an LSTM with tanh, "
                             "sigmoid gates and a bias (Keras's defaults)")
        cells.append((tf.concat([cell.kernel, cell.recurrent_kernel], axis=0), cell.bias))
    state_shape = [model.num_layers, None, model.lstm_units]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32, name="ids"),
                                  tf.TensorSpec(state_shape, tf.float32, name="h"),
                                  tf.TensorSpec(state_shape, tf.float32, name="c")])
    def step(ids, h, c):
        x = model.embedding(ids)
        new_h, new_c = [], []
        for i, (weights, bias) in enumerate(cells):
            z = tf.matmul(tf.concat([x, h[i]], axis=1), weights) + bias
            gate_i, gate_f, candidate, gate_o = tf.split(z, 4, axis=1)
            c_i = tf.sigmoid(gate_f) * c[i] + tf.sigmoid(gate_i) * tf.tanh(candidate)
            x = tf.sigmoid(gate_o) * tf.tanh(c_i)
            new_h.append(x)
            new_c.append(c_i)
        return {"logits": model.logits(x), "h": tf.stack(new_h), "c": tf.stack(new_c)}

    return step


def _output_nodes(model_dir: str, names: list[str]) -> dict[str, str]:
    """Graph node of each named output, for `GraphModel.execute(inputs, nodes)`.

    The signature's outputs are Identity, Identity_1, ... in sorted-name order (TensorFlow
    flattens dicts by sorted key); model.json's signature lists the nodes to check against.
    """
    with open(os.path.join(model_dir, "model.json")) as f:
        listed = {entry["name"] for entry in json.load(f)["signature"]["outputs"].values()}
    nodes = {name: f"Identity{'' if i == 0 else f'_{i}'}:0"
             for i, name in enumerate(sorted(names))}
    if set(nodes.values()) != listed:
        raise RuntimeError(f"unexpected TF.js output nodes {sorted(listed)} for {names}")
    return nodes


def export_tfjs(model, out_dir: str, quantization: str = "float32") -> str:
    """Writes a TF.js graph model folder; the folder appears only once it is complete.

    out_dir must not exist (FileExistsError), also not once the model is converted: of two
    exports to one folder at once, the later is refused and the folder holds the earlier's.
    """
    if quantization not in QUANTIZATIONS:
        raise InvalidArgument("quantization",
                              f"expected one of {QUANTIZATIONS}, got {quantization!r}")
    signature, metadata = _metadata(model)
    require_folder(out_dir, "out_dir", "a new folder for the TF.js model")
    out_dir = os.path.abspath(out_dir)
    if os.path.exists(out_dir):
        raise _taken(out_dir)
    try:
        _convert(model, signature, metadata, out_dir, quantization)
    except FileExistsError as error:
        if error.filename != out_dir:
            raise
        raise _taken(out_dir) from None  # made meanwhile, by another export
    return out_dir


def _taken(out_dir: str) -> ArgumentPathExists:
    return ArgumentPathExists("out_dir", f"{out_dir} exists: choose a new folder for the "
                                         "TF.js model")


def _convert(model, signature: str, metadata: dict, out_dir: str, quantization: str) -> None:
    """Writes the graph model and tfcreative.json into `out_dir`, which appears whole."""
    from tensorflowjs.converters import tf_saved_model_conversion_v2 as converter

    with folder_written_whole(out_dir) as staging:
        with tempfile.TemporaryDirectory(prefix="tfcreative-savedmodel-") as scratch:
            # Only the one signature: the converter freezes the whole SavedModel, and the
            # music model's `generate` (lookup table, string ops) cannot be frozen for TF.js.
            function = (browser_music_step(model) if isinstance(model, MusicLSTM)
                        else serving_graph(model).signatures[signature])
            write_saved_model(ServingGraph(signature, {signature: function}, examples={}),
                              scratch)
            converter.convert_tf_saved_model(
                scratch, staging, signature_def=signature,
                quantization_dtype_map=None if quantization == "float32"
                else {quantization: "*"},
                use_structured_outputs_names=True)
        metadata["output_nodes"] = _output_nodes(staging, metadata["outputs"])
        with open(os.path.join(staging, "tfcreative.json"), "w") as f:
            json.dump({**metadata, "quantization": quantization}, f, indent=2)


def model_size_bytes(model_dir: str) -> int:
    """model.json plus its weight shards."""
    return sum(os.path.getsize(os.path.join(model_dir, n)) for n in os.listdir(model_dir)
               if n == "model.json" or n.endswith(".bin"))
