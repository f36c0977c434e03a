"""SavedModels for TF Serving: `<base>/<name>/<version>/`, written atomically.

A version is written to a hidden temporary folder beside the versions (TF Serving only looks at
numeric folder names) and renamed into place, so a server never sees half a model; the version
number is chosen at that rename, so two exports at once take two numbers. The
SavedModels hold only TensorFlow graphs and the variables the signatures read: loading them
needs no tfcreative code, and no optimizer state or training metric is shipped.

They are written through Keras's own `keras.export.ExportArchive`, which saves exactly the
`tf.Variable`s the serving functions capture (and the lookup tables they use). Saving a
`tf.Module` that holds the Keras model with `tf.saved_model.save` is not enough: Keras 3 exports
each of its variables as a *new* `tf.Variable` beside the one the functions read, so TF
Serving's session-based loader (restore op + init op) restores the copy and leaves the variables
the graph reads uninitialised ("Could not find variable ..."), although Python's object-based
`tf.saved_model.load` copes. The tests load every signature through both loaders and through
`saved_model_cli run`.

Signatures
* music `generate` (also `serving_default`): seed_text (string), num_tunes (int32), max_length
  (int32), temperature (float32), random_seed (int64) -> abc [num_tunes] strings, complete
  [num_tunes] bool. The vocabulary lookup and the whole sampling loop run in the graph, with the
  same results as `TuneSampler.generate` (tune i uses random_seed + i).
* music `generate_meter`: the same, with meter-aware sampling (`constrain="meter"`: only
  characters that keep the tune's grammar and every bar in time), and one more output,
  unconstrained [num_tunes] bool: tunes the tracker could not follow, sampled freely.
* music `generate_form`: form-aware sampling (`constrain="form"`: whole tunes, parts of 8 or
  16 bars that repeat, ending on the key's tonic), with `generate_meter`'s inputs and outputs
  and the controls: parts (int32), key, meter, tune_type (strings, "" for the model's
  choice: `controls`), chord_symbols and repeats (bool). A title is the seed text
  (`X:1\nT:My title\n`). The same tunes as `TuneSampler.generate(constrain="form", ...)`.
* music `step`: ids [b] int32, h [layers, b, units], c [layers, b, units] -> logits [b, vocab],
  h, c — one character of the LSTM, for clients that sample themselves.
* pix2pix `serving_default`: input_image [b, height, width, 3] float32 in [-1, 1] ->
  output_image, same shape.
* pix2pix `translate_png`: image_bytes [b] PNG/JPEG bytes (any size; REST clients send
  {"b64": ...}) -> output_bytes [b] PNG bytes at each input's size: resized to the model's
  size and back, or for a model trained on photos (`Pix2Pix.tiling`) in overlapping tiles at
  the image's own scale, as `tfcreative pix2pix translate` does (pix2pix/tiling.py).

Each version also carries TF Serving's warm-up file (`assets.extra/tf_serving_warmup_requests`,
see `warmup.py`): one small request per signature, run by the server before it takes traffic.
"""

from __future__ import annotations

import dataclasses
import os

import keras
import numpy as np
import tensorflow as tf

from tfcreative.abc_notation import TUNE_SEPARATOR
from tfcreative.errors import InvalidArgument
from tfcreative.export import warmup
from tfcreative.files import publish_folder, require_folder, scratch_folder
from tfcreative.music import controls
from tfcreative.music.config import DEFAULT_SEED_TEXT
from tfcreative.music.meter_rules import SETTINGS
from tfcreative.music.model import MusicLSTM
from tfcreative.music.sampler import sample_tokens
from tfcreative.music.vocabulary import OOV_DISPLAY
from tfcreative.pix2pix.model import Pix2Pix
from tfcreative.pix2pix.tiling import translate_tiled_graph


@dataclasses.dataclass
class ServingGraph:
    """What a model serves.

    signatures: name -> tf.function with an input signature; the first one is also TF Serving's
    `serving_default` unless one has that name. resources: lookup tables the functions use.
    examples: one small, valid request per signature (the warm-up file; the tests).
    """

    name: str
    signatures: dict[str, tf.types.experimental.GenericFunction]
    examples: dict[str, dict[str, np.ndarray]]
    resources: tuple = ()


GENERATE_SPEC = [
    tf.TensorSpec([], tf.string, name="seed_text"),
    tf.TensorSpec([], tf.int32, name="num_tunes"),
    tf.TensorSpec([], tf.int32, name="max_length"),
    tf.TensorSpec([], tf.float32, name="temperature"),
    tf.TensorSpec([], tf.int64, name="random_seed"),
]
FORM_SPEC = [
    tf.TensorSpec([], tf.int32, name="parts"),
    tf.TensorSpec([], tf.string, name="key"),
    tf.TensorSpec([], tf.string, name="meter"),
    tf.TensorSpec([], tf.string, name="tune_type"),
    tf.TensorSpec([], tf.bool, name="chord_symbols"),
    tf.TensorSpec([], tf.bool, name="repeats"),
]


class FormSettings(tf.Module):
    """The form's controls, as a serving request gives them, turned into the tracker's
    settings registers in the graph (`meter.settings_vector`'s values): the key, meter and
    type looked up in tables of what `controls` accepts, a type's meter filled in, the rest
    refused with INVALID_ARGUMENT."""

    def __init__(self):
        super().__init__()
        keys = {text: controls.fixed_index(value)
                for text, value in controls.key_spellings().items()}
        meters = {value: controls.fixed_index(value) for value in controls.METERS}
        types = {value: controls.fixed_index(value) for value in controls.TUNE_TYPES}
        self.tables = {name: self._table(values) for name, values in
                       (("key", keys), ("meter", meters), ("tune_type", types))}
        # by type (its place in TUNE_TYPES): its default meter, and the meters it is written in
        self.type_index = self._table({value: i + 1 for i, value in
                                       enumerate(controls.TUNE_TYPES)})
        self.default_meter = tf.constant([0] + [controls.fixed_index(m[0]) if m else 0
                                                for m in controls.TUNE_TYPES.values()], tf.int64)
        self.meters_of_type = tf.constant(
            [[True] * len(controls.FIXED_VALUES)]
            + [[not meters or value in meters for value in controls.FIXED_VALUES]
               for meters in controls.TUNE_TYPES.values()])
        self.hornpipe = controls.fixed_index("hornpipe")

    def resources(self) -> tuple:
        """The lookup tables, for the exported archive to track."""
        return (*self.tables.values(), self.type_index)

    @staticmethod
    def _table(values: dict):
        keys = tf.constant(["", *values])
        return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            keys, tf.constant([0, *values.values()], tf.int64)), default_value=-1)

    def settings(self, parts, key, meter, tune_type, chord_symbols, repeats):
        """[len(SETTINGS)] int64, and the checks to run before it is used."""
        found = {name: self.tables[name].lookup(tf.strings.strip(text))
                 for name, text in (("key", key), ("meter", meter), ("tune_type", tune_type))}
        checks = [tf.debugging.assert_greater_equal(
            found[name], tf.constant(0, tf.int64), message=f"{name}: expected {expected}")
            for name, expected in (
                ("key", "a key such as D, Em, Ador, A Dorian or F#m, or '' (the model's)"),
                ("meter", "C, C| or n/d (n 1-16, d 2, 4 or 8), or '' (the model's)"),
                ("tune_type", f"one of {', '.join(controls.TUNE_TYPES)}, or ''"))]
        checks.append(tf.debugging.assert_equal(
            (parts >= 1) & (parts <= controls.MAX_PARTS), True,
            message=f"parts: expected 1 to {controls.MAX_PARTS}"))
        with tf.control_dependencies(checks):
            kind = tf.maximum(self.type_index.lookup(tf.strings.strip(tune_type)), 0)
        meter_index = tf.where(found["meter"] == 0, tf.gather(self.default_meter, kind),
                               found["meter"])
        checks.append(tf.debugging.assert_equal(
            tf.gather_nd(self.meters_of_type, [kind, tf.maximum(meter_index, 0)]), True,
            message="meter: not one the tune type is written in (controls.TUNE_TYPES)"))
        values = {"form": 1, "parts_wanted": tf.cast(parts, tf.int64),
                  "repeats": tf.cast(repeats, tf.int64),
                  "chord_symbols": tf.cast(chord_symbols, tf.int64),
                  "fixed_key": found["key"], "fixed_meter": meter_index,
                  "fixed_rhythm": found["tune_type"],
                  "no_broken_rhythm": tf.cast(found["tune_type"] == self.hornpipe, tf.int64)}
        with tf.control_dependencies(checks):
            return tf.stack([tf.cast(values[name], tf.int64) for name in SETTINGS])


def music_serving(model: MusicLSTM) -> ServingGraph:
    """`generate`, `generate_meter` and `generate_form` (the whole sampling loop in the graph,
    freely, meter-aware or form-aware) and `step` (one character)."""
    table = model.vocabulary.id_table()
    id_to_char = tf.constant([OOV_DISPLAY, *model.vocabulary.characters])
    state_spec = [model.num_layers, None, model.lstm_units]

    form = FormSettings()

    def sample(seed_text, num_tunes, max_length, temperature, random_seed, constrain,
               settings=None, static=None):
        ids = table.lookup(tf.strings.unicode_decode(seed_text, "UTF-8"))
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
        # The meter tracker as plain graph ops: TF Serving compiles XLA only when started
        # with --xla_cpu_compilation_enabled.
        sampled = sample_tokens(model, seed_ids, row_seeds, max_length, temperature,
                                tf.constant(0), constrain=constrain, settings=settings,
                                static=static, meter_jit_compile=False)
        generated = tf.strings.reduce_join(tf.gather(id_to_char, tf.transpose(sampled.tokens)),
                                           axis=1)
        abc, complete = _tunes(seed_text, generated)
        outputs = {"abc": abc, "complete": complete}
        if constrain:
            outputs["unconstrained"] = sampled.unconstrained
        return outputs

    @tf.function(input_signature=GENERATE_SPEC)
    def generate(seed_text, num_tunes, max_length, temperature, random_seed):
        return sample(seed_text, num_tunes, max_length, temperature, random_seed, None)

    @tf.function(input_signature=GENERATE_SPEC)
    def generate_meter(seed_text, num_tunes, max_length, temperature, random_seed):
        return sample(seed_text, num_tunes, max_length, temperature, random_seed, "meter")

    @tf.function(input_signature=GENERATE_SPEC + FORM_SPEC)
    def generate_form(seed_text, num_tunes, max_length, temperature, random_seed, parts, key,
                      meter, tune_type, chord_symbols, repeats):
        settings = form.settings(parts, key, meter, tune_type, chord_symbols, repeats)
        return sample(seed_text, num_tunes, max_length, temperature, random_seed, "form",
                      settings, static=(("form", 1),))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32, name="ids"),
                                  tf.TensorSpec(state_spec, tf.float32, name="h"),
                                  tf.TensorSpec(state_spec, tf.float32, name="c")])
    def step(ids, h, c):
        states = [(h[i], c[i]) for i in range(model.num_layers)]
        logits, states = model.step(ids, states)
        return {"logits": logits, "h": tf.stack([s[0] for s in states]),
                "c": tf.stack([s[1] for s in states])}

    return ServingGraph("music", {"generate": generate, "generate_meter": generate_meter,
                                  "generate_form": generate_form, "step": step},
                        _music_examples(model), (table, *form.resources()))


def _tunes(seed_text, generated):
    """The tunes' text ([num_tunes] strings: the seed, then what was generated, up to the first
    blank line, trailing space removed) and whether each ended there. The seed's last
    character counts, as in TuneSampler (a seed ending in "\n" followed by "\n" is an empty
    tune)."""
    length = tf.strings.length(seed_text, unit="UTF8_CHAR")
    head = tf.strings.substr(seed_text, 0, length - 1, unit="UTF8_CHAR")
    tail = tf.strings.substr(seed_text, length - 1, 1, unit="UTF8_CHAR") + generated
    complete = tf.strings.regex_full_match(tail, f"(?s).*{TUNE_SEPARATOR}.*")
    tail = tf.strings.regex_replace(tail, f"(?s){TUNE_SEPARATOR}.*$", "")
    return tf.strings.regex_replace(head + tail, r"\s+$", ""), complete


def _music_examples(model: MusicLSTM) -> dict:
    """One small request per signature, for TF Serving's warm-up. The seed must only hold
    characters the model knows, or the server refuses it."""
    seed = DEFAULT_SEED_TEXT if not model.vocabulary.unknown_characters(DEFAULT_SEED_TEXT) \
        else model.vocabulary.characters[0]
    zeros = np.zeros([model.num_layers, 1, model.lstm_units], np.float32)
    generate = {"seed_text": np.array(seed.encode()), "num_tunes": np.int32(1),
                "max_length": np.int32(8), "temperature": np.float32(1.0),
                "random_seed": np.int64(0)}
    form = {**generate, "parts": np.int32(2), "key": np.array(b""), "meter": np.array(b""),
            "tune_type": np.array(b""), "chord_symbols": np.bool_(False),
            "repeats": np.bool_(True)}
    return {"generate": generate, "generate_meter": generate, "generate_form": form,
            "step": {"ids": np.array([1], np.int32), "h": zeros, "c": zeros}}


def pix2pix_serving(model: Pix2Pix) -> ServingGraph:
    """The generator on float images, and on encoded image bytes -> PNG bytes."""
    generator, (height, width) = model.generator, model.image_shape

    @tf.function(input_signature=[tf.TensorSpec([None, height, width, 3], tf.float32,
                                                name="input_image")])
    def serving_default(input_image):
        return {"output_image": generator(input_image, training=False)}

    def translate_one(data):
        image = tf.io.decode_image(data, channels=3, dtype=tf.float32, expand_animations=False)
        if model.tiling:  # as translate.translate_image(tiling=True)
            y = translate_tiled_graph(generator, image * 2.0 - 1.0, (height, width))
        else:
            x = tf.image.resize(image[None] * 2.0 - 1.0, [height, width], antialias=True)
            y = tf.image.resize(generator(x, training=False), tf.shape(image)[:2],
                                antialias=True)[0]
        pixels = tf.clip_by_value(tf.round((y + 1.0) * 127.5), 0.0, 255.0)
        return tf.io.encode_png(tf.cast(pixels, tf.uint8))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def translate_png(image_bytes):
        return {"output_bytes": tf.map_fn(translate_one, image_bytes,
                                          fn_output_signature=tf.string)}

    blank = np.zeros([1, height, width, 3], np.float32)
    png = tf.io.encode_png(tf.zeros([height, width, 3], tf.uint8)).numpy()
    examples = {"serving_default": {"input_image": blank},
                "translate_png": {"image_bytes": np.array([png], dtype=object)}}
    return ServingGraph("pix2pix", {"serving_default": serving_default,
                                    "translate_png": translate_png}, examples)


def serving_graph(model) -> ServingGraph:
    if isinstance(model, MusicLSTM):
        return music_serving(model)
    if isinstance(model, Pix2Pix):
        return pix2pix_serving(model)
    raise ValueError(f"cannot export a {type(model).__name__}: expected a tfcreative MusicLSTM "
                     "or Pix2Pix model")


def write_saved_model(serving: ServingGraph, path: str) -> None:
    """Writes the signatures through Keras's ExportArchive (see the module docstring)."""
    archive = keras.export.ExportArchive()
    for resource in serving.resources:
        archive.track(resource)
    for name, function in serving.signatures.items():
        archive.add_endpoint(name, function)
    archive.write_out(path, verbose=False)


# TF Serving's versions are int64: a folder with a larger number is never served.
MAX_VERSION = 2**63 - 1


def next_version(model_dir: str) -> int:
    """1 + the highest numeric version folder (1 when there is none)."""
    versions = [int(n) for n in os.listdir(model_dir) if n.isdigit()] \
        if os.path.isdir(model_dir) else []
    return max(versions, default=0) + 1


def check_base_dir(base_dir: str) -> None:
    """InvalidArgument on base_dir when a file is in its place (or above it)."""
    require_folder(base_dir, "base_dir", "a folder for the exported models")


def export_saved_model(model, base_dir: str, name: str | None = None,
                       version: int | None = None) -> str:
    """Writes `<base_dir>/<name>/<version>/` (name: "music" or "pix2pix" by default), with TF
    Serving's warm-up requests in `assets.extra/`.

    version: 1 to MAX_VERSION, never one that exists; by default the next free one, chosen
    when the finished folder is renamed into place, so two exports at once get two versions.
    """
    serving = serving_graph(model)
    name = name or serving.name
    model_dir = os.path.join(base_dir, name)
    if version is not None and not 1 <= int(version) <= MAX_VERSION:
        raise InvalidArgument("version", f"expected a version from 1 to {MAX_VERSION} (TF "
                                         f"Serving's versions are int64), got {version}")
    check_base_dir(base_dir)
    require_folder(model_dir, "name", "a folder of versions")
    if version is not None:
        version = int(version)
        if os.path.lexists(os.path.join(model_dir, str(version))):  # before the work
            raise _never_overwritten(os.path.join(model_dir, str(version)))
    with scratch_folder(model_dir, "version") as scratch:
        write_saved_model(serving, scratch)
        warmup.write_warmup_requests(scratch, name, serving.examples)
        return _publish_version(scratch, model_dir, version)


def _publish_version(scratch: str, model_dir: str, version: int | None) -> str:
    """Renames the finished scratch folder to `version`, or else to the next free version: the
    rename is atomic, and one that finds its number taken (another export got there first)
    takes the next."""
    while True:
        number = next_version(model_dir) if version is None else version
        if number > MAX_VERSION:
            raise InvalidArgument("version", f"{model_dir}: the next version would be {number}, "
                                             f"above TF Serving's largest, {MAX_VERSION}: give "
                                             "a free version")
        target = os.path.join(model_dir, str(number))
        try:
            publish_folder(scratch, target)
            return target
        except FileExistsError:
            if version is not None:
                raise _never_overwritten(target) from None


def _never_overwritten(target: str) -> FileExistsError:
    return FileExistsError(f"{target} exists: a served version is never overwritten; pick "
                           "another version or leave it out to use the next one")
