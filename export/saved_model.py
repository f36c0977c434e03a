"""SavedModels for TF Serving: `<base>/<name>/<version>/`, written atomically.

A version is written to a hidden temporary folder beside the versions (TF Serving only looks at
numeric folder names) and renamed into place, so a server never sees half a model. The
SavedModels hold only TensorFlow graphs and variables: loading them needs no tfcreative code.

Signatures
* music `step`: ids [b] int32, h [layers, b, units], c [layers, b, units] -> logits [b, vocab],
  h, c — one character of the LSTM, for clients that sample themselves.
* music `generate`: seed_text (string), num_tunes (int32), max_length (int32), temperature
  (float32), random_seed (int64) -> abc [num_tunes] strings, complete [num_tunes] bool. The
  vocabulary lookup and the whole sampling loop run in the graph, with the same results as
  `TuneSampler.generate` (tune i uses random_seed + i).
* pix2pix `serving_default`: input_image [b, size, size, 3] float32 in [-1, 1] ->
  output_image, same shape.
* pix2pix `translate_png`: image_bytes [b] PNG/JPEG bytes (any size; REST clients send
  {"b64": ...}) -> output_bytes [b] PNG bytes at each input's size.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import tensorflow as tf

from tfcreative.music.model import MusicLSTM
from tfcreative.music.pipeline import TUNE_SEPARATOR
from tfcreative.music.sampler import sample_tokens
from tfcreative.music.vocabulary import OOV_DISPLAY
from tfcreative.pix2pix.model import Pix2Pix


class MusicServing(tf.Module):
    """The music model's serving graph: `step` and `generate`."""

    def __init__(self, model: MusicLSTM):
        super().__init__(name="music")
        self.model = model
        self.table = model.vocabulary.id_table()
        self.id_to_char = tf.constant([OOV_DISPLAY, *model.vocabulary.characters])
        state_shape = [model.num_layers, None, model.lstm_units]
        self.step = tf.function(self._step, input_signature=[
            tf.TensorSpec([None], tf.int32, name="ids"),
            tf.TensorSpec(state_shape, tf.float32, name="h"),
            tf.TensorSpec(state_shape, tf.float32, name="c")])
        self.generate = tf.function(self._generate, input_signature=[
            tf.TensorSpec([], tf.string, name="seed_text"),
            tf.TensorSpec([], tf.int32, name="num_tunes"),
            tf.TensorSpec([], tf.int32, name="max_length"),
            tf.TensorSpec([], tf.float32, name="temperature"),
            tf.TensorSpec([], tf.int64, name="random_seed")])

    def _step(self, ids, h, c):
        states = [(h[i], c[i]) for i in range(self.model.num_layers)]
        logits, states = self.model.step(ids, states)
        return {"logits": logits, "h": tf.stack([s[0] for s in states]),
                "c": tf.stack([s[1] for s in states])}

    def _generate(self, seed_text, num_tunes, max_length, temperature, random_seed):
        ids = self.table.lookup(tf.strings.unicode_decode(seed_text, "UTF-8"))
        checks = [
            tf.debugging.assert_positive(tf.size(ids), message="seed_text must not be empty"),
            tf.debugging.assert_positive(
                ids, message="seed_text has characters the model was not trained on"),
            tf.debugging.assert_positive(num_tunes, message="num_tunes must be >= 1"),
            tf.debugging.assert_positive(max_length, message="max_length must be >= 1"),
            tf.debugging.assert_positive(temperature, message="temperature must be > 0"),
        ]
        with tf.control_dependencies(checks):
            seed_ids = tf.tile(ids[None], [num_tunes, 1])
        row_seeds = random_seed + tf.range(tf.cast(num_tunes, tf.int64))
        tokens, _ = sample_tokens(self.model, seed_ids, row_seeds, max_length, temperature,
                                  tf.constant(0))
        generated = tf.strings.reduce_join(tf.gather(self.id_to_char, tf.transpose(tokens)),
                                           axis=1)
        # The tune ends at its first blank line; the seed's last character counts, as in
        # TuneSampler (a seed ending in "\n" followed by "\n" is an empty tune).
        length = tf.strings.length(seed_text, unit="UTF8_CHAR")
        head = tf.strings.substr(seed_text, 0, length - 1, unit="UTF8_CHAR")
        tail = tf.strings.substr(seed_text, length - 1, 1, unit="UTF8_CHAR") + generated
        complete = tf.strings.regex_full_match(tail, f"(?s).*{TUNE_SEPARATOR}.*")
        tail = tf.strings.regex_replace(tail, f"(?s){TUNE_SEPARATOR}.*$", "")
        abc = tf.strings.regex_replace(head + tail, r"\s+$", "")
        return {"abc": abc, "complete": complete}

    def signatures(self) -> dict:
        return {"step": self.step, "generate": self.generate}


class Pix2PixServing(tf.Module):
    """The generator's serving graph: float images, and encoded image bytes -> PNG bytes."""

    def __init__(self, model: Pix2Pix):
        super().__init__(name="pix2pix")
        self.generator = model.generator
        self.size = model.image_size
        self.serving_default = tf.function(self._translate_floats, input_signature=[
            tf.TensorSpec([None, self.size, self.size, 3], tf.float32, name="input_image")])
        self.translate_png = tf.function(self._translate_bytes, input_signature=[
            tf.TensorSpec([None], tf.string, name="image_bytes")])

    def _translate_floats(self, input_image):
        return {"output_image": self.generator(input_image, training=False)}

    def _translate_one(self, data):
        image = tf.io.decode_image(data, channels=3, dtype=tf.float32, expand_animations=False)
        height_width = tf.shape(image)[:2]
        x = tf.image.resize(image[None] * 2.0 - 1.0, [self.size, self.size], antialias=True)
        y = tf.image.resize(self.generator(x, training=False), height_width, antialias=True)
        pixels = tf.clip_by_value(tf.round((y[0] + 1.0) * 127.5), 0.0, 255.0)
        return tf.io.encode_png(tf.cast(pixels, tf.uint8))

    def _translate_bytes(self, image_bytes):
        return {"output_bytes": tf.map_fn(self._translate_one, image_bytes,
                                          fn_output_signature=tf.string)}

    def signatures(self) -> dict:
        return {"serving_default": self.serving_default, "translate_png": self.translate_png}


def serving_module(model) -> tf.Module:
    if isinstance(model, MusicLSTM):
        return MusicServing(model)
    if isinstance(model, Pix2Pix):
        return Pix2PixServing(model)
    raise ValueError(f"cannot export a {type(model).__name__}: expected a tfcreative MusicLSTM "
                     "or Pix2Pix model")


def next_version(model_dir: str) -> int:
    """1 + the highest numeric version folder (1 when there is none)."""
    versions = [int(n) for n in os.listdir(model_dir) if n.isdigit()] \
        if os.path.isdir(model_dir) else []
    return max(versions, default=0) + 1


def export_saved_model(model, base_dir: str, name: str | None = None,
                       version: int | None = None) -> str:
    """Writes `<base_dir>/<name>/<version>/` (name: "music" or "pix2pix" by default)."""
    module = serving_module(model)
    model_dir = os.path.join(base_dir, name or module.name)
    os.makedirs(model_dir, exist_ok=True)
    version = next_version(model_dir) if version is None else int(version)
    if version < 1:
        raise ValueError(f"--version must be a positive integer, got {version}")
    target = os.path.join(model_dir, str(version))
    if os.path.exists(target):
        raise FileExistsError(f"{target} exists: a served version is never overwritten; "
                              "pick another --version or leave it out to use the next one")
    scratch = tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=model_dir)
    try:
        tf.saved_model.save(module, scratch, signatures=module.signatures())
        os.rename(scratch, target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return target
