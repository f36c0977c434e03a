"""The meter tracker (`meter`) as TensorFlow graph ops for a sampling loop: `TensorFlowOps`,
the array primitives the rules call, on tensors; `MeterConstraint`, the tracker's state and
masks inside `sampler`'s loop and the exported SavedModel's signatures.

Split from `meter` so that the NumPy tracker, and the command line's sampler built on it
(`numpy_sampler`), load no TensorFlow.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from tfcreative.music import meter_rules as rules
from tfcreative.music.meter import ArrayOps, advance, allowed, settings_registers, vocab_tables
from tfcreative.music.meter_rules import REGISTERS, Registers
from tfcreative.music.vocabulary import CharVocabulary


def _int64(x):
    return tf.constant(x, tf.int64) if isinstance(x, int) else x


class TensorFlowOps(ArrayOps):
    @staticmethod
    def where(condition, a, b):
        return tf.where(condition, _int64(a), _int64(b))

    @staticmethod
    def minimum(a, b):
        return tf.minimum(a, b)

    @staticmethod
    def as_int(x):
        return tf.cast(x, tf.int64)

    @staticmethod
    def right_shift(a, b):
        return tf.bitwise.right_shift(a, b)

    @staticmethod
    def gather(table, index):
        return tf.gather(table, index)

    @staticmethod
    def broadcast_like(x, like):
        return tf.broadcast_to(x, tf.shape(like))

    @staticmethod
    def pick(matrix, columns):
        return tf.gather(matrix, columns, batch_dims=1)

    @staticmethod
    def stack(values):
        return tf.stack(values, axis=1)

    @staticmethod
    def constant(values):
        return tf.constant(np.asarray(values, np.int64))


class MeterConstraint:
    """The tracker for one vocabulary as TensorFlow graph ops, for a sampling loop:

        constraint = MeterConstraint(vocabulary)
        state = constraint.follow(constraint.initial(batch), seed_ids)   # [batch, time] ids
        state, logits = constraint.mask_logits(state, logits)  # -inf where not allowed
        state, mask = constraint.step(state, token) # token: [batch] ids; the next mask
        state, logits = constraint.step_logits(state, token, logits)  # ... applied (-inf)
        constraint.unconstrained(state)             # [batch] bool

    The state is one int64 tensor [batch, registers + 1] (one loop variable: a while loop
    pays per variable and step), the last column says whether the row ever had no allowed
    character. A mask never leaves a row without one: a row the tracker gave up (LOST)
    allows everything, and so does a row whose strict mask came out empty.

    static_settings: settings registers whose values are known when the graph is built
    (name -> value, e.g. {"form": 0}): the step reads them as constants, so XLA and
    TensorFlow's optimizer drop what they make dead (the form's rules, where it is off: the
    meter alone then costs what it did before the form). The state must hold those values.
    """

    def __init__(self, vocabulary: CharVocabulary, jit_compile: bool = True,
                 static_settings: dict | None = None):
        self.vocabulary = vocabulary
        self._numpy_tables = vocab_tables(vocabulary)
        self.static_settings = dict(static_settings or {})
        assert set(self.static_settings) <= set(rules.SETTINGS), self.static_settings
        # One fused XLA computation per character: a few hundred tiny integer ops otherwise
        # cost more per step than the LSTM at batch 1.
        self.step = tf.function(self._step, jit_compile=jit_compile, autograph=False)
        self.step_logits = tf.function(self._step_logits, jit_compile=jit_compile,
                                       autograph=False)
        self.mask_logits = tf.function(self._mask_logits, jit_compile=jit_compile,
                                       autograph=False)

    def _ops(self) -> TensorFlowOps:
        """The tables as constants of the graph being traced (never as captured inputs,
        which a compiled step would copy at every call)."""
        t = self._numpy_tables
        return TensorFlowOps(dataclasses.replace(t, **{
            field.name: tf.constant(getattr(t, field.name)) for field in dataclasses.fields(t)
            if isinstance(getattr(t, field.name), np.ndarray)}))

    def _unpack(self, state) -> Registers:
        static = self.static_settings
        return Registers(**{name: tf.constant(static[name], tf.int64) if name in static
                            else state[:, i] for i, name in enumerate(REGISTERS)})

    def _pack(self, registers: Registers, state) -> tf.Tensor:
        """The registers as a state ([batch, registers + 1]); static settings (constants, not
        changed by a step) and the last column as they were in `state`."""
        batch = tf.shape(state)[:1]
        return tf.stack([state[:, i] if name in self.static_settings
                         else tf.broadcast_to(getattr(registers, name), batch)
                         for i, name in enumerate(REGISTERS)] + [state[:, -1]], axis=1)

    @staticmethod
    def settings_dict(settings) -> dict:
        """A `settings_vector` (a tensor) as the settings registers by name."""
        return {name: settings[i] for i, name in enumerate(rules.SETTINGS)}

    def initial(self, batch, controls=None):
        """The state at the start of `batch` tunes: the meter alone, or with the form
        (`controls`: a `controls.TuneControls`, or a dict of settings registers as tensors,
        e.g. from a serving signature's inputs)."""
        values = Registers().values()
        settings = controls if isinstance(controls, dict) else settings_registers(controls)
        row = tf.stack([tf.cast(settings.get(name, values[name]), tf.int64)
                        for name in REGISTERS] + [tf.constant(0, tf.int64)])
        return tf.tile(row[None, :], [batch, 1])

    def _advance(self, state, token, ops):
        registers = self._unpack(state)
        token = tf.cast(token, tf.int64)
        registers = advance(ops.tables, registers, token, ops)
        return self._pack(registers, state)

    def follow(self, state, ids):
        """Reads [batch, time] ids (a seed) into the state."""
        def body(step, state):
            return step + 1, self._advance(state, ids[:, step], self._ops())

        _, state = tf.while_loop(lambda step, _: step < tf.shape(ids)[1], body,
                                 (tf.constant(0), state))
        return state

    def _mask(self, state, ops):
        """(mask, state): the state records rows whose strict mask was empty."""
        allowed_now = allowed(ops.tables, self._unpack(state), ops)
        stalled = ~tf.reduce_any(allowed_now, axis=1)
        state = tf.concat([state[:, :-1], state[:, -1:] | tf.cast(stalled, tf.int64)[:, None]],
                          axis=1)
        return allowed_now | stalled[:, None], state

    def _step(self, state, token):
        """advance, then the next mask: (state, mask) in one call."""
        ops = self._ops()
        mask, state = self._mask(self._advance(state, token, ops), ops)
        return state, mask

    def _mask_logits(self, state, logits, ops=None):
        """(state, logits with -inf where the mask is False)."""
        mask, state = self._mask(state, ops or self._ops())
        return state, tf.where(mask, logits, tf.constant(-np.inf, logits.dtype))

    def _step_logits(self, state, token, logits):
        """advance, then mask the next logits: one compiled call per character."""
        ops = self._ops()
        return self._mask_logits(self._advance(state, token, ops), logits, ops)

    def unconstrained(self, state):
        """[batch] bool: rows the tracker gave up on, or that once had no allowed character."""
        lost = tf.equal(state[:, REGISTERS.index("state")], self._numpy_tables.lost)
        return lost | (state[:, -1] > 0)
