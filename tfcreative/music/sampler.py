"""Stateful, batched, reproducible tune generation from a MusicLSTM, compiled as one tf.function.

The seed string runs through the LSTM once; after that each new character is one `step` of the
LSTM cells carrying (h, c). The whole loop (sampling, stop test, state update) is a single
`tf.while_loop` inside a `tf.function`, so no Python runs per character.

Reproducibility: every tune has its own integer seed, and its random numbers depend only on
(its seed, step, character id) — a counter-based hash — never on which other tunes share the
batch. So generating N tunes at once with seeds s..s+N-1 gives exactly the N tunes generated one
by one with those seeds. (TensorFlow's stateless RNG ops take one seed per call; per-row seeds
through `vectorized_map` fall back to a slow loop, hence the hash.)

Meter-aware sampling (`constrain="meter"`): a rhythm tracker (`tfcreative.music.meter`) runs
in the same loop and masks every character that would break the tune's grammar or overflow
its bar before the Gumbel-max draw. It too works row by row, so the reproducibility holds.
Form-aware sampling (`constrain="form"`): the same tracker with its form rules on
(`meter_rules`): parts of 8 or 16 bars that repeat, the number of parts asked, the last note
on the key's tonic; and the header values a user fixes (`controls`).

First calls: a first call of `TuneSampler` runs in NumPy while its compiled loop is made ready
in the background (see `TuneSampler`; figures: docs/benchmarks.md, "Issue 25, the rest").

Speed: for a few tunes at once, `TuneSampler` compiles the whole loop with XLA (one fused
computation per character instead of a graph op at a time, and XLA's own matrix-vector
product, which reads the recurrent weights faster than TensorFlow's oneDNN kernel at batch 1);
for larger batches TensorFlow's matrix product is the faster one and the loop stays a plain
graph, as it is in the exported SavedModel (TF Serving runs without XLA). Both give the same
tokens (benchmarks/music_generation.py measures them side by side; figures: docs/benchmarks.md).
"""

from __future__ import annotations

import logging
import weakref
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from tfcreative.blas_threads import one_blas_thread
from tfcreative.errors import InvalidArgument
from tfcreative.model_checks import weights_by_path
from tfcreative.music import compiled_loops, numpy_sampler
from tfcreative.music.config import DEFAULT_MAX_LENGTH, DEFAULT_SEED_TEXT
from tfcreative.music.controls import tune_controls
from tfcreative.music.generation_request import (
    CONSTRAINTS,
    GenerationRequest,
    finished_tune,
    generation_request,
)
from tfcreative.music.meter import settings_vector, static_settings
from tfcreative.music.meter_graph import MeterConstraint
from tfcreative.music.model import MusicLSTM
from tfcreative.music.numpy_lstm import NumpyMusicLSTM
from tfcreative.music.tune import GeneratedTune, Tunes
from tfcreative.music.vocabulary import OOV_ID

# TuneSampler compiles the whole loop with XLA up to this many tunes (on a CPU): XLA's loop is
# the faster for a few tunes, TensorFlow's graph for more, where the step is a matrix product
# and oneDNN's beats XLA's (where they cross: docs/benchmarks.md; benchmarks/music_generation.py).
XLA_MAX_BATCH = 4

logger = logging.getLogger(__name__)


def _mix32(x):
    """lowbias32 integer hash (C. Wellons): a well-mixed uint32 -> uint32 bijection."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))
    x = x * tf.constant(0x7FEB352D, tf.uint32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(15, tf.uint32)))
    x = x * tf.constant(0x846CA68B, tf.uint32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))


def per_row_uniform(row_seeds, step, width):
    """Uniform (0, 1) noise [batch, width]; row i depends only on (row_seeds[i], step)."""
    low = tf.cast(tf.bitwise.bitwise_and(row_seeds, 0xFFFFFFFF), tf.uint32)
    high = tf.cast(tf.bitwise.right_shift(row_seeds, 32), tf.uint32)
    key = _mix32(tf.bitwise.bitwise_xor(low, _mix32(high + tf.constant(0x9E3779B9, tf.uint32))))
    key = _mix32(key + tf.cast(step, tf.uint32) * tf.constant(0x85EBCA6B, tf.uint32))
    columns = tf.cast(tf.range(width), tf.uint32)
    columns = _mix32(columns + tf.constant(0x632BE5AB, tf.uint32))
    bits = _mix32(tf.bitwise.bitwise_xor(key[:, None], columns[None, :]))
    return (tf.cast(tf.bitwise.right_shift(bits, tf.constant(8, tf.uint32)), tf.float32)
            + 0.5) / float(1 << 24)


def sample_next(logits, row_seeds, step, temperature, top_k):
    """Gumbel-max sampling from softmax(logits / temperature), optionally among the top k."""
    vocab_size = tf.shape(logits)[1]
    top_k = tf.convert_to_tensor(top_k, tf.int32)
    logits = logits / temperature
    # The OOV id is never a valid output.
    logits = tf.concat([tf.fill([tf.shape(logits)[0], 1], -np.inf), logits[:, OOV_ID + 1:]], 1)

    def keep_top_k():
        # (a sort, not tf.math.top_k: XLA would need k at compile time)
        best_first = tf.sort(logits, axis=1, direction="DESCENDING")
        kth_best = tf.gather(best_first, [tf.minimum(top_k, vocab_size) - 1], axis=1)
        return tf.where(logits < kth_best, -np.inf, logits)

    # top_k = 0 keeps every logit: no sort per character then.
    logits = tf.cond(top_k > 0, keep_top_k, lambda: logits)
    gumbel = -tf.math.log(-tf.math.log(per_row_uniform(row_seeds, step, vocab_size)))
    return tf.argmax(logits + gumbel, axis=1, output_type=tf.int32)


class Sampled(NamedTuple):
    """What a sampling loop returns (tensors)."""

    tokens: tf.Tensor  # [steps, batch] int32 sampled ids ([capacity, batch] from sampling_loop)
    steps: tf.Tensor  # int32: characters sampled
    unconstrained: tf.Tensor  # [batch] bool: rows the meter tracker gave up on (they went on
    # unconstrained); all False when sampled freely


def sample_tokens(model: MusicLSTM, seed_ids, row_seeds, max_length, temperature, top_k,
                  constrain=None, *, settings=None, static=None,
                  meter_jit_compile=True) -> Sampled:
    """The whole generation loop as graph ops: `Sampled` (tokens [steps, batch], steps,
    unconstrained [batch]).

    Shared by `TuneSampler` and the exported SavedModel's `generate` signatures.
    constrain="meter": the meter tracker masks each step (see `tfcreative.music.meter`);
    "form": with its form rules too; None samples freely. settings: the tracker's settings
    registers ([len(meter_rules.SETTINGS)] int64, `meter.settings_vector`: what the user
    fixed; None: the defaults of `constrain`). static: ((name, value), ...) of settings
    known when the graph is built (`meter.static_settings`; `settings` must agree): the
    step is compiled without what they switch off. meter_jit_compile: the tracker's step as
    one XLA computation (fast); False for graphs that must run without XLA, e.g. under TF
    Serving, which compiles XLA only when started with --xla_cpu_compilation_enabled. The
    tokens are the same either way.
    """
    sampled = sampling_loop(model, seed_ids, row_seeds, max_length, temperature, top_k,
                            constrain, capacity=max_length, settings=settings, static=static,
                            meter_jit_compile=meter_jit_compile)
    return sampled._replace(tokens=sampled.tokens[:sampled.steps])


def sampling_loop(model: MusicLSTM, seed_ids, row_seeds, max_length, temperature, top_k,
                  constrain, *, capacity, settings=None, static=None,
                  meter_jit_compile=True, jit_compile=False) -> Sampled:
    """`sample_tokens`'s loop: `Sampled` with [capacity, batch] tokens; rows `steps` and after
    are not sampled.

    capacity >= max_length sizes the token buffer. jit_compile: the character loop as one XLA
    computation (the seed runs through the model and the tracker as graph ops before it);
    capacity must then be a Python int, fixed at compile time, while max_length stays a
    run-time input.
    """
    if constrain not in CONSTRAINTS:
        raise InvalidArgument("constrain", f"expected one of {CONSTRAINTS}, got {constrain!r}")
    newline = tf.constant(model.vocabulary.id_of("\n"), tf.int32)
    logits, states = model.forward(seed_ids)
    input_table = model.input_table()  # once per call, not per character
    # (XLA's batch-1 matrix-vector product reads the transposed kernel faster; TF's does not)
    transposed_kernel = model.transposed_kernel() if jit_compile else None
    logits = logits[:, -1, :]
    meter = None
    tracker = ()  # the meter's state, if any: a loop variable
    if constrain is not None:  # the logits in the loop are masked already
        # In an XLA loop the tracker's ops join the loop's computation (no nested compiled step).
        if settings is None:
            settings = settings_vector(tune_controls() if constrain == "form" else None)
            static = static_settings(settings)
        meter = MeterConstraint(model.vocabulary,
                                jit_compile=meter_jit_compile and not jit_compile,
                                static_settings=dict(static or ()))
        initial = meter.initial(tf.shape(seed_ids)[0], meter.settings_dict(settings))
        meter_state, logits = meter.mask_logits(meter.follow(initial, seed_ids), logits)
        tracker = (meter_state,)

    def keep_going(step, logits, states, previous, done, tokens, tracker):
        return tf.logical_and(step < max_length, tf.logical_not(tf.reduce_all(done)))

    def one_character(step, logits, states, previous, done, tokens, tracker):
        token = sample_next(logits, row_seeds, step, temperature, top_k)
        token = tf.where(done, OOV_ID, token)
        tokens = tokens.write(step, token)
        done = done | ((previous == newline) & (token == newline))
        logits, states = model.step(token, states, input_table, transposed_kernel)
        if meter is not None:
            meter_state, logits = meter.step_logits(tracker[0], token, logits)
            tracker = (meter_state,)
        return step + 1, logits, states, token, done, tokens, tracker

    def characters(logits, states, previous, tracker):
        done = tf.zeros_like(previous, tf.bool)
        tokens = tf.TensorArray(tf.int32, size=capacity, element_shape=[None])
        steps, *_, tokens, tracker = tf.while_loop(
            keep_going, one_character,
            (tf.constant(0), logits, states, previous, done, tokens, tracker),
        )
        return tokens.stack(), steps, tracker

    if jit_compile:
        characters = tf.function(characters, jit_compile=True, autograph=False)
    tokens, steps, tracker = characters(logits, states, seed_ids[:, -1], tracker)
    unconstrained = (meter.unconstrained(tracker[0]) if meter is not None else
                     tf.zeros_like(row_seeds, tf.bool))
    return Sampled(tokens, steps, unconstrained)


def xla_capacity(max_length: int) -> int:
    """The token buffer for an XLA loop: a power of two >= max_length (at least 64), so
    nearby lengths share one compiled loop."""
    return max(64, 1 << (int(max_length) - 1).bit_length())


SAMPLE_SIGNATURE = [
    tf.TensorSpec([None, None], tf.int32, name="seed_ids"),
    tf.TensorSpec([None], tf.int64, name="row_seeds"),
    tf.TensorSpec([], tf.int32, name="max_length"),
    tf.TensorSpec([], tf.float32, name="temperature"),
    tf.TensorSpec([], tf.int32, name="top_k"),
    tf.TensorSpec([None], tf.int64, name="settings"),  # meter.settings_vector
]


class TuneSampler:
    """Generates tunes from a trained MusicLSTM (see module docstring).

    jit_compile: "auto" compiles the whole loop with XLA where that was measured faster: up to
    `XLA_MAX_BATCH` tunes at once on a machine without a GPU (anything else runs the graph
    loop, and so does everything after XLA once failed to compile it, with a warning); True:
    always XLA; False: never (the loop the exported SavedModel runs). Same tunes either way.

    The compiled loops belong to the model: every TuneSampler of one model (and setting)
    shares them, so each is traced once per process (`compiled_loops`). First calls: tracing
    and compiling a loop take seconds, so with "auto", for a MusicLSTM computing in float32,
    a batch whose loop is not ready yet runs the same loop in NumPy (`numpy_sampler`: the same
    tunes for the same seeds, in well under the tracing's time), and the compiled loop is
    then made ready on a background thread; later batches of that size run compiled
    (`numpy_first` False: always the compiled loop, as with True or False).
    """

    def __init__(self, model: MusicLSTM, jit_compile: bool | str = "auto"):
        if jit_compile not in (True, False, "auto"):
            raise InvalidArgument("jit_compile", f"expected True, False or 'auto', got "
                                                 f"{jit_compile!r}")
        self.model = model
        self.vocabulary = model.vocabulary
        self.jit_compile = jit_compile
        # the loops of this model and setting, shared with its other samplers
        self._compiled = compiled_loops.for_model(model, jit_compile)
        self._xla_failed = False
        # "auto", a plain float32 MusicLSTM: a batch whose compiled loop is not ready yet runs
        # in NumPy while the loop is made ready in the background (False: always the loop)
        self.numpy_first = jit_compile == "auto" and numpy_loop_fits(model)

    @property
    def _loops(self) -> dict:
        """(constrain, XLA capacity or None[, static]) -> compiled loop."""
        return self._compiled.loops

    def _loop(self, constrain, xla_capacity=None, static=()):
        """The compiled loop (made on first use): the graph loop, or with an xla_capacity the
        loop XLA compiles for that token buffer; for the tracker's static settings."""
        key = loop_key(constrain, xla_capacity, static)
        if key not in self._loops:
            model = weakref.ref(self.model)  # the loops must not keep the model alive

            if xla_capacity is None:
                def loop(*args):
                    *inputs, settings = args
                    return sample_tokens(model(), *inputs, constrain=constrain,
                                         settings=settings, static=static)
            else:
                def loop(*args):
                    *inputs, settings = args
                    return sampling_loop(model(), *inputs, constrain, capacity=xla_capacity,
                                         settings=settings, static=static, jit_compile=True)
            self._loops[key] = tf.function(loop, input_signature=SAMPLE_SIGNATURE)
        return self._loops[key]

    def uses_xla(self, num_tunes: int) -> bool:
        """Whether `generate(num_tunes=...)` runs the XLA-compiled loop."""
        if self.jit_compile != "auto":
            return self.jit_compile
        return (num_tunes <= XLA_MAX_BATCH and not self._xla_failed
                and not tf.config.list_logical_devices("GPU"))

    def _sample(self, inputs, num_tunes, max_length, constrain):
        """([steps, batch] sampled ids, [batch] unconstrained fallback), as NumPy arrays."""
        static = static_settings(inputs[-1].numpy()) if constrain else ()
        if self.uses_xla(num_tunes):
            capacity = xla_capacity(max_length)
            try:
                sampled = self._loop(constrain, capacity, static)(*inputs)
                self._compiled.mark_ready(loop_key(constrain, capacity, static), num_tunes)
                return (sampled.tokens.numpy()[:int(sampled.steps)],
                        sampled.unconstrained.numpy())
            except tf.errors.OpError as error:
                if self.jit_compile is True:
                    raise
                self._xla_failed = True
                logger.warning("XLA could not compile the sampling loop, generating without "
                               "it from now on: %s", str(error).strip().splitlines()[0])
        sampled = self._loop(constrain, static=static)(*inputs)
        self._compiled.mark_ready(loop_key(constrain, None, static), num_tunes)
        return sampled.tokens.numpy(), sampled.unconstrained.numpy()

    def _sample_while_compiling(self, request: GenerationRequest, row_seeds):
        """The batch sampled by the NumPy loop if `numpy_first` and its compiled loop is not
        ready (that loop is then made ready in the background: `compiled_loops`), as
        `_sample` returns it; None: run the compiled loop."""
        if not self.numpy_first:
            return None
        batch = len(row_seeds)
        capacity = xla_capacity(request.max_length) if self.uses_xla(batch) else None
        static = static_settings(request.settings) if request.constrain else ()
        key = loop_key(request.constrain, capacity, static)
        if self._compiled.is_ready(key, batch) or self._compiled.failed(key, batch):
            return None
        twin = numpy_twin(self.model)
        if twin is None:
            return None
        with one_blas_thread():
            sampled = numpy_sampler.sample_tokens(
                twin, request.seed_ids, row_seeds, request.max_length, request.temperature,
                request.top_k, request.constrain, request.settings)
        # started once the NumPy loop is done: tracing in the background takes the GIL
        loop, inputs = self._loop(request.constrain, capacity, static), \
            self._inputs(request, row_seeds, max_length=1)
        self._compiled.warm_up(key, batch, lambda: loop(*inputs).tokens.numpy())
        return sampled

    def wait_until_compiled(self) -> None:
        """Blocks until the loops being made ready in the background (for earlier calls) are
        ready: later calls of those sizes then run compiled (benchmarks time them so)."""
        self._compiled.wait()

    def generate(
        self,
        seed_text: str = DEFAULT_SEED_TEXT,
        num_tunes: int = 1,
        max_length: int = DEFAULT_MAX_LENGTH,
        temperature: float = 1.0,
        top_k: int = 0,
        seed: int | None = None,
        constrain: str | None = None,
        *,
        parts: int | None = None,
        key: str | None = None,
        meter: str | None = None,
        tune_type: str | None = None,
        title: str | None = None,
        chord_symbols: bool | None = None,
        repeats: bool | None = None,
    ) -> Tunes:
        """Samples `num_tunes` tunes in parallel, each starting with `seed_text`: a list of
        `GeneratedTune`s (a `Tunes` list, shown as a gallery in a notebook). At most
        GENERATION_BATCH tunes (tfcreative.music.config) are sampled at once; more run batch
        after batch, with the same results, so memory grows with num_tunes by the tunes' text
        only.

        max_length: most characters generated after the seed; a tune ends earlier when the model
        writes a blank line (the end of a tune). top_k=0 samples from the whole vocabulary.
        seed: tune i gets seed + i; None draws a random seed (reported in each tune).
        constrain="meter": only characters that keep the tune's grammar and every bar in time
        are sampled (see `tfcreative.music.meter`); "form": and the tune has `parts` parts
        (default 2) of 8 or 16 bars that repeat, and ends on its key's tonic; None samples
        freely.

        With "form" (key, meter, tune_type and title also with "meter"): key ("D", "Em",
        "Ador", ...), meter ("6/8", "C|", ...) and tune_type ("jig", "reel", ...: it fixes the
        type's meter too, see `controls.TUNE_TYPES`) fix those header fields while the model
        writes the rest; title starts the tune (instead of seed_text); chord_symbols=True
        lets the model write chord symbols ("G", "Am", "D7", "Em/B", ...), else no quoted
        text at all; repeats=False lets a part close with || instead of repeating.
        """
        request = generation_request(self.vocabulary, seed_text, num_tunes, max_length,
                                     temperature, top_k, seed, constrain, parts=parts, key=key,
                                     meter=meter, tune_type=tune_type, title=title,
                                     chord_symbols=chord_symbols, repeats=repeats)
        tunes = Tunes()
        for row_seeds in request.row_seed_batches:
            tunes.extend(self._generate_batch(request, row_seeds))
        return tunes

    @staticmethod
    def _inputs(request: GenerationRequest, row_seeds, max_length=None) -> tuple:
        """The compiled loop's inputs (SAMPLE_SIGNATURE) for one batch."""
        return (tf.constant(np.tile(request.seed_ids, (len(row_seeds), 1))),
                tf.constant(row_seeds),
                tf.constant(max_length or request.max_length, tf.int32),
                tf.constant(request.temperature, tf.float32),
                tf.constant(request.top_k, tf.int32),
                tf.constant(request.settings))

    def _generate_batch(self, request: GenerationRequest, row_seeds) -> list[GeneratedTune]:
        sampled = self._sample_while_compiling(request, row_seeds)
        if sampled is None:
            sampled = self._sample(self._inputs(request, row_seeds), len(row_seeds),
                                   request.max_length, request.constrain)
        tokens, fallback = sampled
        return [finished_tune(self.vocabulary, request.seed_text, column, int(row_seed),
                              bool(fell_back))
                for column, row_seed, fell_back in zip(tokens.T, row_seeds, fallback,
                                                       strict=True)]


def loop_key(constrain, capacity, static) -> tuple:
    """A compiled loop's key: (constrain, XLA capacity or None[, static settings])."""
    return (constrain, capacity) + ((static,) if static else ())


def numpy_loop_fits(model) -> bool:
    """Whether the NumPy loop computes what the model's compiled loop does: a MusicLSTM
    itself (not a subclass, which may step otherwise) computing in float32."""
    return type(model) is MusicLSTM and model.dtype_policy.name == "float32"


def numpy_twin(model: MusicLSTM) -> NumpyMusicLSTM | None:
    """The model's current weights in NumPy; None where the NumPy loop refuses them (e.g. NaN
    weights: the compiled loop runs them as it always did)."""
    try:
        return NumpyMusicLSTM.from_arrays(model.get_config(), {
            path: variable.numpy() for path, variable in weights_by_path(model, "model").items()})
    except InvalidArgument:
        return None
