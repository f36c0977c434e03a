"""Meter-aware sampling: a batched ABC rhythm tracker that masks characters which would break
the bar, as graph ops that run inside the sampling `tf.while_loop`.

Each row (tune) carries a grammar state (`abc_grammar`) and integer registers
(`meter_rules.Registers`: the meter's bar length and the unit note length in ticks, the
position in the current bar, the pending note's length, tuplet and broken-rhythm factors,
repeat and variant-ending bookkeeping). Every step is a few table lookups and element-wise
integer operations on [batch] registers and one [batch, vocab] mask, so constrained batched
generation is still one graph and still reproducible row by row.

This module looks the grammar's tables up for a vocabulary and runs the rules of
`meter_rules` on arrays:

* `allowed(tables, registers, ops)` -> [batch, vocab] bool: what sampling may write next. A
  row the tracker could not follow (LOST: a construct outside the grammar, e.g. in a seed)
  allows everything; `meter_graph.MeterConstraint` also lets a row whose strict mask came
  out empty allow everything (it never does in tests, but a row must never stall).
* `advance(tables, registers, token_ids, ops)` -> the registers after the characters.

The same code runs on NumPy arrays (`NumpyOps`: offline checks such as `bar_report`, and the
command line's TensorFlow-free sampler, `numpy_sampler`) and on TensorFlow tensors
(`meter_graph`: `TensorFlowOps`, `MeterConstraint`, which the sampling loops use); this module
imports no TensorFlow. `web/abc_meter.js` runs the same rules in the browser, traced into
programs (`meter_program`).
"""

from __future__ import annotations

import dataclasses
import fractions
import types

import numpy as np

from tfcreative.music import abc_grammar as grammar
from tfcreative.music import meter_rules as rules
from tfcreative.music.controls import fixed_index
from tfcreative.music.meter_rules import REGISTERS, Registers
from tfcreative.music.vocabulary import CharVocabulary

TICKS_PER_WHOLE = grammar.TICKS_PER_WHOLE
PACKED_LENGTH_BITS = 21  # trie_packed: the shortest length | reachable lengths << 21


@dataclasses.dataclass(frozen=True)
class VocabTables:
    """The grammar tables expanded to a vocabulary's ids (packed: a compiled step pays per
    lookup)."""

    edge_matrix: object  # [states * vocab, fields + 1]: every field, and the digit's value
    row_bits: object  # [states, vocab]: strict | ends_note << 1 | kind << 2 | pitch << 8
    trie_packed: object  # [nodes]: the shortest reachable length | reachable lengths << 21
    trie_next: object  # [nodes, vocab]
    trie_next_flat: object  # [nodes * vocab]
    trie_value_id: object  # [nodes]
    trie_values: object  # [lengths]
    ids: object  # [vocab] 0..vocab-1
    codes: object  # [vocab] each character's ASCII code (128: any other, the unknown id 0)
    vocab_size: int
    start: int
    lost: int
    end: int


def vocab_tables(vocabulary: CharVocabulary) -> VocabTables:
    """Looks every vocabulary character up in the grammar tables (id 0, the unknown character,
    is followed as a non-ASCII character); NumPy arrays."""
    tables = grammar.build_tables()
    columns = [grammar.OTHER] + [ord(c) if ord(c) < 128 else grammar.OTHER
                                 for c in vocabulary.characters]
    classes = tables.class_of[np.array(columns)]
    edge_matrix = np.stack([tables.edges[f][:, classes] for f in grammar.FIELDS]
                           + [np.broadcast_to(tables.digit[classes], (len(tables.states),
                                                                      len(columns)))], axis=2)
    assert len(grammar.KINDS) <= 64
    row_bits = (tables.edges["strict"][:, classes] | tables.edges["ends_note"][:, classes] << 1
                | tables.edges["kind"][:, classes].astype(np.int64) << 2
                | tables.edges["pitch"][:, classes].astype(np.int64) << 8)
    assert tables.trie_min_g.max() < 1 << PACKED_LENGTH_BITS
    trie_next = tables.trie_next[:, classes].astype(np.int64)
    return VocabTables(
        edge_matrix=edge_matrix.reshape(-1, len(rules.EDGE_INPUTS)).astype(np.int64),
        row_bits=row_bits.astype(np.int64),
        trie_packed=(tables.trie_min_g | tables.trie_reach << PACKED_LENGTH_BITS).astype(
            np.int64),
        trie_next=trie_next, trie_next_flat=trie_next.ravel(),
        trie_value_id=tables.trie_value_id.astype(np.int64),
        trie_values=np.array(tables.trie_values, np.int64),
        ids=np.arange(len(columns), dtype=np.int64), codes=np.array(columns, np.int64),
        vocab_size=len(columns), start=tables.start, lost=tables.lost, end=tables.end,
    )


class ArrayOps:
    """What the rules may call (see `meter_rules`), over one vocabulary's tables; subclasses
    supply the array primitives."""

    def __init__(self, tables: VocabTables):
        self.tables = tables

    def length_value_id(self, node):
        return self.gather(self.tables.trie_value_id, node)

    def length_value(self, value_id):
        return self.gather(self.tables.trie_values, value_id)

    def next_length_node(self, node, token):
        return self.gather(self.tables.trie_next_flat, node * self.tables.vocab_size + token)

    def lookup(self, values, index):
        return self.gather(self.constant(values), index)

    def lookup_row(self, rows, index):
        found = self.gather(self.constant(rows), index)
        return tuple(found[:, column] for column in range(len(rows[0])))


class NumpyOps(ArrayOps):
    @staticmethod
    def where(condition, a, b):
        return np.where(condition, a, b)

    @staticmethod
    def minimum(a, b):
        return np.minimum(a, b)

    @staticmethod
    def as_int(x):
        return np.asarray(x).astype(np.int64)

    @staticmethod
    def right_shift(a, b):
        return np.right_shift(a, b)

    @staticmethod
    def gather(table, index):
        return table[index]

    @staticmethod
    def broadcast_like(x, like):
        return np.broadcast_to(x, np.shape(like))

    @staticmethod
    def pick(matrix, columns):
        """matrix [B, K], columns [B, V] -> matrix[b, columns[b, v]]."""
        return np.take_along_axis(matrix, columns, axis=1)

    @staticmethod
    def stack(values):
        return np.stack(values, axis=1)

    @staticmethod
    def constant(values):
        return np.asarray(values, np.int64)


def settings_registers(controls=None, form: bool = True) -> dict:
    """The settings registers (`meter_rules.SETTINGS`) for a tune: the meter alone (None), or
    with `controls.TuneControls` (what the user fixed), the form rules on unless `form` is
    False (the header values are forced all the same)."""
    if controls is None:
        return {}
    return {"form": int(form), "parts_wanted": controls.parts, "repeats": int(controls.repeats),
            "chord_symbols": int(controls.chord_symbols),
            "fixed_key": fixed_index(controls.key), "fixed_meter": fixed_index(controls.meter),
            "fixed_rhythm": fixed_index(controls.tune_type),
            "no_broken_rhythm": int(controls.no_broken_rhythm)}


# Settings a sampling loop is compiled for (the rest are its inputs): few values each, and
# what they switch off is dropped from the compiled step (MeterConstraint's static_settings);
# a fixed header value is compiled for only when none is fixed (whichever is, is an input).
STRUCTURAL_SETTINGS = ("form", "repeats", "chord_symbols", "no_broken_rhythm")
FIXED_SETTINGS = ("fixed_key", "fixed_meter", "fixed_rhythm")


def static_settings(vector) -> tuple:
    """The settings of a `settings_vector` a loop is compiled for: ((name, value), ...)."""
    value = {name: int(vector[rules.SETTINGS.index(name)]) for name in rules.SETTINGS}
    return tuple((name, value[name]) for name in STRUCTURAL_SETTINGS) + tuple(
        (name, 0) for name in FIXED_SETTINGS if value[name] == 0)


def settings_vector(controls=None, form: bool = True) -> np.ndarray:
    """`settings_registers` as one int64 vector in `meter_rules.SETTINGS` order (an input of
    the sampling loop: `sampler.sample_tokens`)."""
    values = {**Registers().values(), **settings_registers(controls, form)}
    return np.array([values[name] for name in rules.SETTINGS], np.int64)


def start_registers(rows: int, controls=None) -> Registers:
    """NumPy registers at the start of `rows` tunes (before `X:`): the meter alone, or with
    the form (`controls`: a `controls.TuneControls`)."""
    values = {**Registers().values(), **settings_registers(controls)}
    return Registers(**{name: np.full(rows, value, np.int64) for name, value in values.items()})


def _edge(t: VocabTables, r: Registers, token, ops):
    """The table fields of the edge each row takes on `token` (one lookup)."""
    row = ops.gather(t.edge_matrix, r.state * t.vocab_size + token)  # [B, fields + 1]
    return types.SimpleNamespace(**{name: row[:, i] for i, name in enumerate(rules.EDGE_INPUTS)})


def advance(t: VocabTables, r: Registers, token, ops=None) -> Registers:
    """The registers after each row reads one character (`token`: [batch] ids)."""
    ops = ops or NumpyOps(t)
    return rules.advance(r, _edge(t, r, token, ops), token, ops)


def allowed(t: VocabTables, r: Registers, ops=None):
    """[batch, vocab] bool: the characters the strict grammar and the meter allow next."""
    ops = ops or NumpyOps(t)
    # (a value of static settings alone is a scalar: as wide as the batch)
    values = {name: ops.broadcast_like(value, r.state)
              for name, value in rules.conditions(r, ops).items()}
    kind_allowed = ops.stack([values[name] for name in grammar.KINDS])  # [B, K]
    # (few lookups: a compiled step pays per operation)
    bits = ops.gather(t.row_bits, r.state)  # [B, V]
    kind = ops.right_shift(bits, 2) & 63
    packed = ops.gather(t.trie_packed, ops.gather(t.trie_next, r.length_node))  # [B, V]
    char = types.SimpleNamespace(
        id=t.ids[None, :], code=t.codes[None, :], strict=(bits & 1) == 1, kind=kind,
        kind_allowed=ops.pick(kind_allowed, kind), ends_note=(bits & 2) != 0,
        pitch=ops.right_shift(bits, 8),
        shortest_length=packed & ((1 << PACKED_LENGTH_BITS) - 1),
        reachable_lengths=ops.right_shift(packed, PACKED_LENGTH_BITS))
    row = {name: values[name][:, None] for name in rules.ROW_VALUES}
    return rules.character_allowed(row, char, ops)


# -- offline use: follow whole texts ---------------------------------------------------------

@dataclasses.dataclass
class BarReport:
    """What the tracker made of one text."""

    followed: bool  # False: a construct outside the grammar (the tracker gave up there)
    lost_at: int | None  # character index where it gave up
    bars: list  # (character index, length, meter's bar length) per bar line, in whole notes
    violations: int  # bars abc2midi would report as not matching the meter

    @property
    def overfull(self) -> int:
        """Bars longer than the meter allows (a meter of 0: M:none)."""
        return sum(0 < limit < length for _, length, limit in self.bars)

    @property
    def every_bar_fits(self) -> bool:
        return self.followed and self.violations == 0


def bar_report(text: str, vocabulary: CharVocabulary | None = None,
               controls=None) -> BarReport:
    """Follows `text` with the NumPy tracker (one row), recording each bar line's length."""
    vocabulary = vocabulary or CharVocabulary(set(text) | {"\n"})
    t = vocab_tables(vocabulary)
    ops = NumpyOps(t)
    r = start_registers(1, controls)
    bars, lost_at = [], None
    for index, ch in enumerate(text):
        token = np.array([vocabulary.id_of(ch)], np.int64)
        if _edge(t, r, token, ops).bar_line[0] > 0:
            bars.append((index, fractions.Fraction(int(r.bar_position[0]), TICKS_PER_WHOLE),
                         fractions.Fraction(int(r.bar_length[0]), TICKS_PER_WHOLE)))
        r = advance(t, r, token, ops)
        if int(r.state[0]) == t.lost:
            lost_at = index
            break
    return BarReport(followed=lost_at is None, lost_at=lost_at, bars=bars,
                     violations=int(r.violations[0]))


def follow_texts(texts: list[str], vocabulary: CharVocabulary | None = None,
                 controls=None) -> dict:
    """Follows many texts at once (NumPy, one row each); returns the final registers by name,
    and `lost`. A text's every bar fits when it is not lost and has no `violations` (see
    `every_bar_fits`)."""
    vocabulary = vocabulary or CharVocabulary(set("".join(texts)) | {"\n"})
    t = vocab_tables(vocabulary)
    ops = NumpyOps(t)
    r = start_registers(len(texts), controls)
    ids = np.zeros((len(texts), max(len(x) for x in texts)), np.int64)
    for row, text in enumerate(texts):
        ids[row, :len(text)] = vocabulary.encode(text, on_unknown="oov")
    lengths = np.array([len(x) for x in texts])
    for step in range(ids.shape[1]):
        active = step < lengths
        new = advance(t, r, ids[:, step], ops)
        r = Registers(**{name: np.where(active, getattr(new, name), getattr(r, name))
                         for name in REGISTERS})
    return {**r.values(), "lost": r.state == t.lost}


def continuation_problem(text: str, vocabulary: CharVocabulary, controls=None) -> str | None:
    """Why the tracker (with the form's `controls`, or the meter alone) could not go on
    after `text`, a seed: it could not follow a character, or would allow none next; None
    when it can."""
    t = vocab_tables(vocabulary)
    r = start_registers(1, controls)
    for index, ch in enumerate(text):
        r = advance(t, r, np.array([vocabulary.id_of(ch)], np.int64))
        if int(r.state[0]) == t.lost:
            line, near = text.count("\n", 0, index) + 1, text[max(0, index - 20):index + 1]
            return f"line {line}: the tracker cannot follow {near!r} (outside its grammar)"
    if not allowed(t, r)[0].any():
        return ("nothing may follow it: a part longer than the form allows, or a bar that "
                "does not fit the meter")
    return None


def every_bar_fits(registers: dict) -> np.ndarray:
    return ~registers["lost"] & (registers["violations"] == 0)
