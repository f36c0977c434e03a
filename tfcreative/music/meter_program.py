"""The meter tracker's rules (`meter_rules`) traced into programs for the browser's tracker.

The rules are plain Python over an `ops` object; run once on `Traced` values, every operation
they perform is recorded instead of computed, which gives a straight-line program per rule
function (no branches: the rules have none). `web/abc_meter.js` interprets the programs over
the grammar's tables, so the browser runs exactly the rules the Python and TensorFlow tracker
runs, and a rule is changed in one place (`meter_rules`; then `tools/write_meter_tables.py`).

A program is JSON: {"code": [[op, args...], ...], "outputs": {name: index}}. An instruction's
value is its index in `code`; its arguments are earlier indices, except where noted:

    ["input", group, name]           a value the tracker supplies (register, edge, row, char)
    ["const", n]                     an integer (n); ["table", [...]] a constant table
    ["named_table", name]            one of the grammar tables in the JSON (trie_values, ...)
    [op, a, b]                       + - * // % (floored, as Python) < <= > >= == !=
                                     and or (booleans) bitand bitor right_shift (integers)
                                     minimum
    ["not", a]  ["as_int", a]        boolean not; a boolean as 0 or 1
    ["where", c, a, b]               c ? a : b
    ["gather", table, i]             table[i] (a row of a table of rows: ["item", row, k])
    ["gather_by_class", name, i, t]  the named [nodes, classes] table at (i, class of id t)

Integers stay exact in JavaScript's doubles: `meter_rules` keeps every value below 2**53, and
bit operations on values below 2**31.
"""

from __future__ import annotations

import json
import types

from tfcreative.music import abc_grammar as grammar
from tfcreative.music import controls
from tfcreative.music import meter_rules as rules

INT, BOOL, ROW = "int", "bool", "row"
_ARITHMETIC = {"__add__": "+", "__sub__": "-", "__mul__": "*", "__floordiv__": "//",
               "__mod__": "%"}
_COMPARISONS = {"__lt__": "<", "__le__": "<=", "__gt__": ">", "__ge__": ">=", "__eq__": "==",
                "__ne__": "!="}


class Program:
    """A program being recorded."""

    def __init__(self):
        self.code = []
        self._known = {}  # an instruction -> its index (constants and lookups appear once)

    def emit(self, instruction, dtype) -> Traced:
        key = json.dumps(instruction)
        if key not in self._known:
            self._known[key] = len(self.code)
            self.code.append(instruction)
        return Traced(self, self._known[key], dtype)

    def value(self, x) -> Traced:
        if isinstance(x, Traced):
            return x
        if isinstance(x, bool) or not isinstance(x, int):
            raise TypeError(f"a rule may only mix traced values with integers, not {x!r}")
        return self.emit(["const", x], INT)

    def to_dict(self, outputs: dict) -> dict:
        return {"code": self.code, "outputs": {name: self.value(value).index
                                               for name, value in outputs.items()}}


def _operator(symbol):
    def operate(self, other):
        return self._binary(symbol, other)
    return operate


def _reflected_operator(symbol):
    def operate(self, other):
        return self.program.value(other)._binary(symbol, self)
    return operate


class Traced:
    """A value of a program being recorded: an integer or a boolean."""

    __slots__ = ("program", "index", "dtype")
    __hash__ = None

    def __init__(self, program: Program, index: int, dtype: str):
        self.program, self.index, self.dtype = program, index, dtype

    def _binary(self, symbol, other):
        other = self.program.value(other)
        kinds = {self.dtype, other.dtype}
        if symbol in ("&", "|"):
            if len(kinds) != 1:
                raise TypeError(f"{symbol} of a boolean and an integer")
            op = {"&": "and", "|": "or"}[symbol] if kinds == {BOOL} else \
                {"&": "bitand", "|": "bitor"}[symbol]
            return self.program.emit([op, self.index, other.index], self.dtype)
        if kinds != {INT}:
            raise TypeError(f"{symbol} needs integers (ops.as_int turns a boolean into one)")
        dtype = BOOL if symbol in _COMPARISONS.values() else INT
        return self.program.emit([symbol, self.index, other.index], dtype)

    def __invert__(self):
        if self.dtype != BOOL:
            raise TypeError("~ is a boolean not here: the rules never invert an integer's bits")
        return self.program.emit(["not", self.index], BOOL)

    def __bool__(self):
        raise TypeError("a traced value has no truth value: use ops.where, &, | and ~")

    __and__, __rand__ = _operator("&"), _reflected_operator("&")
    __or__, __ror__ = _operator("|"), _reflected_operator("|")


for _name, _symbol in {**_ARITHMETIC, **_COMPARISONS}.items():
    setattr(Traced, _name, _operator(_symbol))
    if _name in _ARITHMETIC:
        setattr(Traced, "__r" + _name[2:], _reflected_operator(_symbol))


class TracingOps:
    """`meter_rules`' ops, recording into `program`."""

    def __init__(self, program: Program):
        self.program = program

    def _int(self, x):
        value = self.program.value(x)
        if value.dtype != INT:
            raise TypeError("expected an integer")
        return value

    def where(self, condition, a, b):
        a, b = self.program.value(a), self.program.value(b)
        if condition.dtype != BOOL or a.dtype != b.dtype:
            raise TypeError("ops.where(boolean, a, b) with a and b of one type")
        return self.program.emit(["where", condition.index, a.index, b.index], a.dtype)

    def minimum(self, a, b):
        return self.program.emit(["minimum", self._int(a).index, self._int(b).index], INT)

    def as_int(self, x):
        if x.dtype != BOOL:
            raise TypeError("ops.as_int takes a boolean")
        return self.program.emit(["as_int", x.index], INT)

    def right_shift(self, a, b):
        return self.program.emit(["right_shift", self._int(a).index, self._int(b).index], INT)

    def _gather(self, table_instruction, index, dtype=INT):
        table = self.program.emit(table_instruction, ROW)
        return self.program.emit(["gather", table.index, self._int(index).index], dtype)

    def lookup(self, values, index):
        return self._gather(["table", list(values)], index)

    def lookup_row(self, rows, index):
        row = self._gather(["table", [list(r) for r in rows]], index, ROW)
        return tuple(self.program.emit(["item", row.index, column], INT)
                     for column in range(len(rows[0])))

    def length_value_id(self, node):
        return self._gather(["named_table", "trie_value_id"], node)

    def length_value(self, value_id):
        return self._gather(["named_table", "trie_values"], value_id)

    def next_length_node(self, node, token):
        return self.program.emit(["gather_by_class", "trie_next", self._int(node).index,
                                  self._int(token).index], INT)


def _inputs(program, group, names, dtypes=None) -> dict:
    return {name: program.emit(["input", group, name], (dtypes or {}).get(name, INT))
            for name in names}


def advance_program() -> dict:
    """`meter_rules.advance`: inputs register.*, edge.*, token.token; outputs the registers."""
    program = Program()
    registers = rules.Registers(**_inputs(program, "register", rules.REGISTERS))
    edge = types.SimpleNamespace(**_inputs(program, "edge", rules.EDGE_INPUTS))
    (token,) = _inputs(program, "token", ["token"]).values()
    after = rules.advance(registers, edge, token, TracingOps(program))
    return program.to_dict(after.values())


def conditions_program() -> tuple[dict, dict]:
    """`meter_rules.conditions`: inputs register.*; outputs every kind's condition and the
    row values. Also returns the row values' types."""
    program = Program()
    registers = rules.Registers(**_inputs(program, "register", rules.REGISTERS))
    values = rules.conditions(registers, TracingOps(program))
    assert set(values) == set(grammar.KINDS) | set(rules.ROW_VALUES), set(values)
    return program.to_dict(values), {name: values[name].dtype for name in rules.ROW_VALUES}


def character_program(row_types: dict) -> dict:
    """`meter_rules.character_allowed`: inputs row.*, char.*; output `allowed`."""
    program = Program()
    row = _inputs(program, "row", rules.ROW_VALUES, row_types)
    char = types.SimpleNamespace(**_inputs(
        program, "char", rules.CHARACTER_INPUTS,
        {"strict": BOOL, "kind_allowed": BOOL, "ends_note": BOOL}))
    allowed = rules.character_allowed(row, char, TracingOps(program))
    return program.to_dict({"allowed": allowed})


def controls_dict() -> dict:
    """What the page needs to turn a musician's controls into the tracker's settings
    (`formSettings` in web/abc_meter.js, as `meter.settings_registers`): the values the
    tracker may force, the keys as written, the tune types and their meters."""
    return {"fixed_values": list(controls.FIXED_VALUES),
            "key_spellings": controls.key_spellings(),
            "tune_types": {name: list(meters) for name, meters in controls.TUNE_TYPES.items()},
            "no_broken_rhythm": list(controls.NO_BROKEN_RHYTHM),
            "max_parts": controls.MAX_PARTS, "max_title": controls.MAX_TITLE}


def tracker_dict() -> dict:
    """What the JavaScript tracker needs: the grammar's tables, the registers and their
    initial values, the rules as programs, and the controls (`controls_dict`)."""
    conditions, row_types = conditions_program()
    return {
        **grammar.build_tables().to_dict(),
        "registers": rules.Registers().values(), "settings": list(rules.SETTINGS),
        "controls": controls_dict(),
        "programs": {"advance": advance_program(), "conditions": conditions,
                     "character": character_program(row_types)},
    }


def tracker_json() -> str:
    """`tracker_dict()` as one JSON document (the demo's abc_meter_tables.json)."""
    return json.dumps(tracker_dict(), separators=(",", ":"))
