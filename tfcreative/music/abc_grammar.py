"""The grammar of an ABC tune, character by character, as tables for a batched rhythm tracker.

A tune is read by a finite-state machine over characters plus a few integer registers (bar
position, unit note length, tuplet counts, ...: see `tfcreative.music.meter_rules`). This
module is the machine's *symbolic* part, in plain Python: for every (state, character) an
`Edge` says

* where the machine goes (`next_state`), and whether the character can be followed at all
  (`followed`; if not, the tracker gives the row up: it is no longer constrained);
* whether sampling may produce it (`strict`): a narrower, corpus-like grammar in which every
  allowed character keeps a valid continuation open (accidentals and octave marks only around
  a note, `(` only before a tuplet count, `:` only inside a bar line, ...);
* which register condition the meter adds (`kind`, one of `KINDS`: e.g. "a note fits here");
* which register actions run (`ends_note`, `broken_rhythm`, `bar_line`, `variant_ending`,
  `setter`, `number`, `note_start`, `length_mark`, `text_length`, `tie`: the codes below).

A state is a name, or a tuple (name, details...): the method `_<name>` gives its edges.

| state                 | what was just read                                            |
| --------------------- | ------------------------------------------------------------- |
| header_line_start     | the start of a header line (the tune's start)                 |
| header_field          | (letter,): a header field's letter, before its ':'            |
| field_text            | (header, rhythm or body,): a text field's value (T:, R:, ...) |
| comment               | (header or body,): a % comment                                |
| meter_value           | (header, body or inline, step): M:'s value so far             |
| unit_length_value     | (header, body or inline, step): L:'s value so far             |
| key_value             | (step,): K:'s value so far (the header ends with it)          |
| body_line_start       | the start of a line of music                                  |
| body_field            | (letter,): a letter at a body line's start (a field?)         |
| after_<boundary>      | an element boundary: after a bar line, a note, a space, ...   |
| note, rest, chord_... | (..., step): a note, rest or chord and its length so far      |
| bar, repeat_..., ...  | the characters of a bar line                                  |
| quote, chord_symbol   | (step,): an annotation or a chord symbol in quotes            |
| broken_rhythm, tuplet | > < marks; a tuplet's (p:q:r counts                           |
| LOST, END             | the row was given up; the tune ended (a blank line)           |

`build_tables()` enumerates the reachable states and returns flat integer arrays, indexed by
state and character class (characters that behave alike share a class), which the TensorFlow
and JavaScript trackers look up. Bar-line semantics follow abc2midi's bar checks: a short bar
before `||`, `|]`, `|:`, `:|` or `::` continues into the next one (so a pickup and the closing
bar of its part add up to one bar), and the tune's first bar may be short.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from tfcreative.music import rhythm_tables

# Integer ticks per whole note: divisible by every length this tracker resolves exactly
# (unit lengths down to 1/64, length denominators down to /64, tuplets up to 9, broken rhythm).
TICKS_PER_WHOLE = (1 << 13) * 2520

OTHER = 128  # the column for any character outside ASCII
OTHER_CHAR = "\u0080"  # stands for all of them when the grammar is enumerated
NUM_COLUMNS = 129

NOTE_UP = "ABCDEFG"
NOTE_LO = "abcdefg"
NOTES = NOTE_UP + NOTE_LO
DIGITS = "0123456789"
LETTERS = "".join(chr(c) for c in range(65, 91)) + "".join(chr(c) for c in range(97, 123))
DECORATION_LETTERS = "HLMOPSTuv"  # ABC 2.1 shorthand decorations (with . and ~)

# Header fields the strict grammar writes (the bundled corpus uses X T Z M L K).
HEADER_TEXT_FIELDS = "ZCORSN"
MODES = ("Major", "Minor", "Dorian", "Mixolydian", "Lydian", "Phrygian", "Locrian", "Aeolian",
         "Ionian")

HEADER_TEXT_CAP = 60
QUOTE_CAP = 20
DECORATION_CAP = 12
CHORD_NOTES_CAP = 4

# Lengths the strict grammar writes after a note, rest or chord, in quarters of the unit
# note length: the corpus's own (/, 2, 3, 3/2, 4, 6) and a few more. Every one is a multiple
# of the shortest, so any remainder of a bar can be filled: no dead ends.
STRICT_LENGTHS = {"": 4, "2": 8, "3": 12, "4": 16, "6": 24, "8": 32, "/": 2, "/2": 2, "3/2": 6}
MIN_LENGTH = min(STRICT_LENGTHS.values())
FORCED_BIG = 1 << 20  # the shortest length of an off-trie length: never fits

# Mask conditions on the registers, one per kind of character (meter_rules.conditions).
KINDS = (
    "ALWAYS", "NOTE", "SPACE", "BROKEN_RHYTHM", "TRIPLET", "OPEN_BRACKET", "BAR_LINE",
    "COLON", "SINGLE_BAR", "SINGLE_BAR_FIRST_ENDING", "DOUBLE_BAR", "REPEAT_START",
    "REPEAT_END", "REPEAT_END_NOTE", "REPEAT_END_SECOND_ENDING", "DOUBLE_REPEAT",
    "FIRST_ENDING", "SECOND_ENDING", "TUNE_END", "BODY_METER_OR_UNIT", "BODY_KEY",
    "HEADER_KEY", "HEADER_METER", "HEADER_UNIT_LENGTH", "HEADER_TEXT", "QUOTE_TEXT",
    "DECORATION_TEXT", "CHORD_NOTE", "CHORD_CLOSE", "TIE", "TIE_SAME_NOTE", "SINGLE_BAR_TRIPLET",
    # the form's (meter_rules.form_conditions): music right after || |] or :| (a part's end:
    # none after the tune's last), annotations and chord symbols in quotes, the R: field
    "DOUBLE_BAR_MUSIC", "REPEAT_END_MUSIC", "ANNOTATION", "CHORD_SYMBOL", "HEADER_RHYTHM",
    "OPEN_REPEAT", "OPEN_DOUBLE_REPEAT",
)
KIND = {name: i for i, name in enumerate(KINDS)}

# Action codes (0: no action).
BROKEN_RHYTHM_CODES = rhythm_tables.BROKEN_RHYTHM_CODES
# bar_line: | ; || or |] ; |: ; :| ; ::
BAR_SINGLE, BAR_DOUBLE, BAR_REPEAT_START, BAR_REPEAT_END, BAR_DOUBLE_REPEAT = 1, 2, 3, 4, 5
# setter: what a value just completed sets (a header flag, the meter, the unit length, a
# tuplet's counts; TUPLET_START_AFTER_x: the tuplet starts, its last count read was x)
SETTERS = ("NONE", "TITLE", "METER_NUMERATOR", "METER", "METER_C", "METER_C_BAR", "METER_NONE",
           "UNIT_LENGTH", "HEADER_END", "TUPLET_P", "TUPLET_Q", "TUPLET_START_AFTER_P",
           "TUPLET_START_AFTER_Q", "TUPLET_START_AFTER_R", "RHYTHM", "KEY_TONIC")
SETTER = {name: i for i, name in enumerate(SETTERS)}
NUMBER_FIRST_DIGIT, NUMBER_MORE_DIGITS, NUMBER_CLEAR = 1, 2, 3
NOTE_STARTS, CHORD_STARTS, CHORD_CLOSES = 1, 2, 3
(LENGTH_NUMERATOR_FIRST, LENGTH_NUMERATOR_MORE, LENGTH_SLASH, LENGTH_DENOMINATOR_FIRST,
 LENGTH_DENOMINATOR_MORE) = 1, 2, 3, 4, 5
TEXT_RESET, TEXT_COUNT = 1, 2
TIE_THIS_NOTE, TIE_NONE = 1, 2  # the note may be tied (a plain letter) / may not
# pitch: the letter a note starts with (1-7, PITCH_LETTERS), or a note that starts otherwise
# (an accidental, a rest, a chord: OTHER_PITCH); on the KEY_TONIC edge, the key's tonic
PITCH_LETTERS = "ABCDEFG"
OTHER_PITCH = 8
# Chord symbols the strict grammar writes: a root, its qualities, a bass note ("G", "Am",
# "D7", "Em/B", "F#m7", ...): what abc2midi, music21 and abcjs all accept (tests/test_form)
CHORD_QUALITIES = ("m", "7", "m7", "maj7", "dim", "dim7", "aug", "6", "m6", "9", "sus2",
                   "sus4")

# The table fields: one int32 [states, classes] array each.
FIELDS = ("next_state", "followed", "strict", "kind", "ends_note", "broken_rhythm", "bar_line",
          "variant_ending", "setter", "number", "note_start", "length_mark", "text_length",
          "tie", "pitch")


@dataclasses.dataclass(frozen=True)
class Edge:
    """One transition; `strict` False means sampling may not produce this character here."""

    next_state: object
    strict: bool = False
    kind: str = "ALWAYS"
    ends_note: int = 0  # 1: the pending note, rest or chord ends here
    broken_rhythm: int = 0  # BROKEN_RHYTHM_CODES
    bar_line: int = 0  # BAR_*: a bar line resolves here
    variant_ending: int = 0  # 1: a variant ending's number ([1, :|2, ...)
    setter: str = "NONE"  # SETTERS
    number: int = 0  # NUMBER_*: a digit of a field value or tuplet count
    note_start: int = 0  # NOTE_STARTS, CHORD_STARTS, CHORD_CLOSES
    length_mark: int = 0  # LENGTH_*: a digit or slash of a note length
    text_length: int = 0  # TEXT_RESET, TEXT_COUNT
    tie: int = 0  # TIE_THIS_NOTE, TIE_NONE
    pitch: int = 0  # a note's letter (PITCH_LETTERS: 1-7) or OTHER_PITCH; a key's tonic

    def replace(self, **changes) -> Edge:
        return dataclasses.replace(self, **changes)


LOST = "LOST"  # the tracker gave the row up: everything allowed, nothing tracked
END = "END"  # after the blank line that ends the tune
START = "header_line_start"  # the start of a tune: a header line begins
START_ID, LOST_ID, END_ID = 0, 1, 2  # their state numbers in the tables


def _strict_char(ch: str) -> bool:
    """Characters the strict grammar writes in free text (titles, annotations)."""
    return 32 <= ord(ch) < 127 and ch not in '%"\\'


def _case(note: str) -> str:
    return "upper" if note in NOTE_UP else "lower"


def _pitch(letter: str) -> int:
    return PITCH_LETTERS.index(letter.upper()) + 1


# -- the strict length trie -----------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class LengthTrie:
    """Strict note lengths as a trie over the characters '0'-'9' and '/'.

    Node 0 is DUMMY (no note pending: every character maps to it, nothing to check), node 1 is
    OFF (a length outside the strict set), node 2 the root (the note letter itself).
    """

    values: tuple[int, ...]  # distinct lengths in quarter units, indexed by value id
    next: np.ndarray  # [nodes, 129] -> node
    min_g: np.ndarray  # [nodes] smallest reachable length (quarter units), FORCED_BIG if none
    reach: np.ndarray  # [nodes] bitmask over value ids reachable from the node
    value_id: np.ndarray  # [nodes] value id if the node is a complete length, else -1

    DUMMY, OFF, ROOT = 0, 1, 2


@functools.lru_cache(maxsize=1)
def length_trie() -> LengthTrie:
    values = tuple(sorted(set(STRICT_LENGTHS.values())))
    prefixes = sorted({s[:i] for s in STRICT_LENGTHS for i in range(len(s) + 1)},
                      key=lambda p: (len(p), p))
    node_of = {p: i + 3 for i, p in enumerate(prefixes)}
    node_of[""] = LengthTrie.ROOT
    count = 3 + len(prefixes)
    nxt = np.zeros((count, NUM_COLUMNS), np.int32)  # DUMMY by default
    min_g = np.full(count, FORCED_BIG, np.int64)
    reach = np.zeros(count, np.int64)
    value_id = np.full(count, -1, np.int32)
    min_g[LengthTrie.DUMMY] = 0
    reach[LengthTrie.DUMMY] = (1 << len(values)) - 1
    for prefix in prefixes:
        node = node_of[prefix]
        for ch in DIGITS + "/":
            nxt[node, ord(ch)] = node_of.get(prefix + ch, LengthTrie.OFF)
        completions = [v for s, v in STRICT_LENGTHS.items() if s.startswith(prefix)]
        min_g[node] = min(completions)
        for v in completions:
            reach[node] |= 1 << values.index(v)
        if prefix in STRICT_LENGTHS:
            value_id[node] = values.index(STRICT_LENGTHS[prefix])
    for ch in DIGITS + "/":
        nxt[LengthTrie.OFF, ord(ch)] = LengthTrie.OFF
    return LengthTrie(values, nxt, min_g, reach, value_id)


# -- the grammar -----------------------------------------------------------------------------

def _text_edge(ch, next_state, strict, kind):
    return Edge(next_state, strict=strict and _strict_char(ch), kind=kind,
                text_length=TEXT_COUNT)


def _unless_none(edge, **changes):
    return None if edge is None else edge.replace(**changes)


class _HeaderGrammar:
    """The header: field letters, text values, M: L: and K: values (also body and inline
    M:/L:, `context` "body"/"inline")."""

    def _header_line_start(self, state, ch):
        if ch == "\n":
            return Edge(END)  # a blank line: the tune ends without a body
        if ch == "%":
            return Edge(("comment", "header"))
        if ch not in LETTERS:
            return None
        if ch in "MLK":
            kind = {"M": "HEADER_METER", "L": "HEADER_UNIT_LENGTH", "K": "HEADER_KEY"}[ch]
            return Edge(("header_field", ch), strict=True, kind=kind)
        if ch == "T":
            return Edge(("header_field", "T"), strict=True)
        if ch == "R":  # the tune's type (reel, jig ...)
            return Edge(("header_field", "R"), strict=True, kind="HEADER_RHYTHM")
        return Edge(("header_field", "text"), strict=ch in HEADER_TEXT_FIELDS)

    def _header_field(self, state, ch):
        field = state[1]
        if ch != ":":
            return None
        # (M:, K: and R: values are counted, character by character: text_length)
        if field == "M":
            return Edge(("meter_value", "header", "start"), strict=True, text_length=TEXT_RESET)
        if field == "L":
            return Edge(("unit_length_value", "header", "start"), strict=True)
        if field == "K":
            return Edge(("key_value", "start"), strict=True, text_length=TEXT_RESET)
        if field == "R":
            return Edge(("field_text", "rhythm"), strict=True, text_length=TEXT_RESET,
                        setter="RHYTHM")
        return Edge(("field_text", "header"), strict=True, text_length=TEXT_RESET,
                    setter="TITLE" if field == "T" else "NONE")

    def _field_text(self, state, ch):
        """A text field's value: ('field_text', header / rhythm (R:) / body)."""
        if ch == "\n":
            return Edge("body_line_start" if state[1] == "body" else START, strict=True)
        return _text_edge(ch, state, True, "HEADER_TEXT")

    def _comment(self, state, ch):
        if ch == "\n":
            return Edge(START if state[1] == "header" else "body_line_start")
        return Edge(state)

    def _terminator(self, context, ch):
        """The character that ends a field value: a newline, or ']' for an inline field."""
        if context == "inline":
            return ch == "]"
        return ch == "\n"

    def _after_field(self, context):
        """Where a field's value ends (K: ends the header by itself: _key_value)."""
        if context == "header":
            return Edge(START, strict=True)
        if context == "body":
            return Edge("body_line_start", strict=True)
        return Edge("after_inline_field", strict=False)  # inline fields: followed, not written

    def _meter_value_end(self, context, ch, setter):
        """After a complete meter value: its end (setting it) or a space and ignored text."""
        if self._terminator(context, ch):
            return self._after_field(context).replace(setter=setter)
        if ch == " ":
            return Edge(("meter_value", context, "ignored_rest"), setter=setter)
        return None

    # M: C | C| | n/d | none. Steps: start, after_space, C, C|, n no non none (M:none is
    # followed, not written), numerator_1 / numerator (first digit 1 / 2-9),
    # numerator_digits, slash, denominator_1 / denominator / denominator_digits (likewise),
    # ignored_rest (after the value: abc2midi ignores the rest of the line).
    def _meter_value(self, state, ch):
        edge = self._meter_value_edge(state, ch)
        if edge is not None and state[1] == "header" and not edge.text_length:
            edge = edge.replace(text_length=TEXT_COUNT)
        return edge

    def _meter_value_edge(self, state, ch):
        _, context, step = state
        if step in ("start", "after_space"):
            return self._meter_value_start(context, step, ch)
        if step == "C":
            if ch == "|":
                return Edge(("meter_value", context, "C|"), strict=True)
            return self._meter_value_end(context, ch, "METER_C")
        if step == "C|":
            return self._meter_value_end(context, ch, "METER_C_BAR")
        if step in ("n", "no", "non"):
            want = {"n": "o", "no": "n", "non": "e"}[step]
            return Edge(("meter_value", context, step + want), strict=True) if ch == want \
                else None
        if step == "none":
            return self._meter_value_end(context, ch, "METER_NONE")
        if step == "ignored_rest":
            if self._terminator(context, ch):
                return self._after_field(context).replace(strict=False)
            return Edge(state) if ch != "\n" else None
        return self._meter_fraction(context, step, ch)

    def _meter_value_start(self, context, step, ch):
        def to(next_step, **kw):
            return Edge(("meter_value", context, next_step), **kw)

        if ch == " " and step == "start":
            return to("after_space", strict=True)
        if ch == "C":
            return to("C", strict=True)
        if ch == "n":
            return to("n")
        if ch in DIGITS and ch != "0":
            return to("numerator_1" if ch == "1" else "numerator", strict=True,
                      number=NUMBER_FIRST_DIGIT)
        return None

    def _meter_fraction(self, context, step, ch):
        def to(next_step, **kw):
            return Edge(("meter_value", context, next_step), **kw)

        digit = ch in DIGITS
        if step in ("numerator_1", "numerator", "numerator_digits"):
            if digit:
                return to("numerator_digits", strict=step == "numerator_1" and ch in "0123456",
                          number=NUMBER_MORE_DIGITS)
            if ch == "/":
                return to("slash", strict=True, setter="METER_NUMERATOR", number=NUMBER_CLEAR)
            return None
        if step == "slash":  # strict: /2 /4 /8, so that every bar is a whole number of the
            if digit and ch != "0":  # shortest strict note under L:1/4, 1/8 or 1/16
                return to("denominator_1" if ch == "1" else "denominator", strict=ch in "248",
                          number=NUMBER_FIRST_DIGIT)
            return None
        if step in ("denominator_1", "denominator", "denominator_digits"):
            if digit:
                return to("denominator_digits", number=NUMBER_MORE_DIGITS)
            edge = self._meter_value_end(context, ch, "METER")
            if edge is not None and step != "denominator":
                edge = edge.replace(strict=False)
            return edge
        raise AssertionError(step)

    # L: 1/d. Steps: start, after_space, one, slash, denominator_1 / denominator (first digit
    # 1 / 2-9), denominator_digits, ignored_rest.
    def _unit_length_value(self, state, ch):
        _, context, step = state

        def to(next_step, **kw):
            return Edge(("unit_length_value", context, next_step), **kw)

        if step in ("start", "after_space"):
            if ch == " " and step == "start":
                return to("after_space", strict=True)
            return to("one", strict=True) if ch == "1" else None
        if step == "one":
            return to("slash", strict=True) if ch == "/" else None
        if step == "slash":
            if ch in DIGITS and ch != "0":
                return to("denominator_1" if ch == "1" else "denominator", strict=ch in "148",
                          number=NUMBER_FIRST_DIGIT)
            return None
        if step in ("denominator_1", "denominator", "denominator_digits"):
            if ch in DIGITS:
                return to("denominator_digits", strict=step == "denominator_1" and ch == "6",
                          number=NUMBER_MORE_DIGITS)
            if self._terminator(context, ch):
                return self._after_field(context).replace(setter="UNIT_LENGTH",
                                                          strict=step != "denominator_1")
            if ch == " ":
                return to("ignored_rest", setter="UNIT_LENGTH")
            return None
        if step == "ignored_rest":
            if ch == " ":
                return Edge(state)
            return self._after_field(context).replace(strict=False) \
                if self._terminator(context, ch) else None
        raise AssertionError(state)

    # K: tonic [#b] [m | ' ' Mode]; followed whatever it says. Header and body K: lines share
    # these states: the header-end action (default unit length) is harmless in the body.
    # Steps: start, after_space, tonic, tonic_accidental, minor, "mode:" + the mode's letters
    # so far, anything (up to the end of the line).
    def _key_value(self, state, ch):
        edge = self._key_value_edge(state, ch)
        return None if edge is None else edge.replace(text_length=TEXT_COUNT)

    def _key_value_edge(self, state, ch):
        step = state[1]
        if ch == "\n":
            ok = step in ("tonic", "tonic_accidental", "minor") or (
                step.startswith("mode:") and step[5:] in MODES)
            return Edge("body_line_start", strict=ok, setter="HEADER_END")

        def to(next_step):
            return Edge(("key_value", next_step), strict=True)

        loose = Edge(("key_value", "anything"))
        if step == "start" and ch == " ":
            return to("after_space")
        if step in ("start", "after_space"):
            return to("tonic").replace(setter="KEY_TONIC", pitch=_pitch(ch)) \
                if ch in NOTE_UP else loose
        if step in ("tonic", "tonic_accidental"):
            if step == "tonic" and ch in "#b":
                return to("tonic_accidental")
            if ch == "m":
                return to("minor")
            if ch == " ":
                return to("mode:")
            return loose
        if step.startswith("mode:"):
            word = step[5:] + ch
            if any(mode.startswith(word) for mode in MODES):
                return to("mode:" + word)
            return loose
        return loose  # "minor", "anything": anything up to the end of the line


# Element boundaries: what came just before (`_element`'s `boundary`), and the state after
# each ("line_start" is body_line_start's own; the others are after_<boundary>).
BOUNDARIES = ("line_start", "inline_field", "space", "bar_line", "note", "tie", "decoration",
              "quote", "quote_space", "tuplet", "broken_rhythm")


class _BodyGrammar:
    """Line starts, body fields and element boundaries."""

    def _element(self, boundary, ch):
        """An element begins at a boundary (`BOUNDARIES`)."""
        if ch in NOTES:
            if boundary == "tie":  # the strict grammar ties a note to the same plain note
                return Edge(("note", _case(ch), "tied"), strict=True, kind="TIE_SAME_NOTE",
                            note_start=NOTE_STARTS, tie=TIE_THIS_NOTE, pitch=_pitch(ch))
            return Edge(("note", _case(ch), 0), strict=True, kind="NOTE",
                        note_start=NOTE_STARTS, tie=TIE_THIS_NOTE, pitch=_pitch(ch))
        if ch in "^_=":
            return Edge(("accidental", ch), strict=boundary != "tie", kind="NOTE", tie=TIE_NONE,
                        pitch=OTHER_PITCH)
        if ch in "zx":  # x (an invisible rest) is followed, not written
            return Edge(("rest",), strict=ch == "z" and boundary != "tie", kind="NOTE",
                        note_start=NOTE_STARTS, tie=TIE_NONE, pitch=OTHER_PITCH)
        if ch == "[":  # (a chord: a note that is not a plain letter)
            return Edge("open_bracket", strict=boundary not in ("tie", "tuplet", "broken_rhythm"),
                        kind="OPEN_BRACKET", text_length=TEXT_RESET, pitch=OTHER_PITCH)
        if ch in "><":
            if boundary == "note":
                return Edge(("broken_rhythm", ch, 1), strict=True, kind="BROKEN_RHYTHM",
                            broken_rhythm=BROKEN_RHYTHM_CODES[ch])
            return None  # (more marks: the broken_rhythm state itself)
        if ch == " ":
            return self._space(boundary)
        if ch == "\n":
            return Edge("body_line_start", strict=boundary == "bar_line")
        return self._element_mark(boundary, ch)

    def _space(self, boundary):
        strict = boundary in ("note", "bar_line", "inline_field", "quote")
        if boundary in ("tuplet", "broken_rhythm", "tie", "decoration", "quote_space"):
            following = {"tuplet": "after_tuplet", "broken_rhythm": "after_broken_rhythm_space",
                         "tie": "after_tie", "decoration": "after_decoration",
                         "quote_space": "after_quote_space"}[boundary]
        else:
            following = "after_quote_space" if boundary == "quote" else "after_space"
        return Edge(following, strict=strict, kind="SPACE")

    def _element_mark(self, boundary, ch):
        """Bar lines, ties, slurs, tuplets, quotes, grace notes and decorations."""
        notes_only = boundary in ("tie", "decoration", "quote_space", "tuplet", "broken_rhythm")
        if ch == "|":
            return Edge("bar", strict=not notes_only, kind="BAR_LINE")
        if ch == ":":
            return Edge("colon", strict=not notes_only, kind="COLON")
        if ch == "-":
            return Edge("after_tie", strict=True, kind="TIE") if boundary == "note" else None
        if ch == ")":
            return Edge("after_note") if boundary in ("note", "space", "inline_field") else None
        if ch == "(":
            return Edge("open_paren", kind="TRIPLET", strict=boundary in (
                "note", "bar_line", "space", "line_start", "inline_field"))
        if ch == '"':
            return Edge(("quote", "start"), strict=not notes_only and boundary != "quote",
                        kind="NOTE", text_length=TEXT_RESET)
        if ch == "{":
            return Edge(("grace_notes", "start"), strict=not notes_only, kind="NOTE",
                        text_length=TEXT_RESET)
        if ch == "!":
            if boundary == "bar_line":
                return Edge("bang_after_bar", strict=True)
            return Edge("bang", kind="NOTE")
        if ch == "+":
            return Edge(("plus_decoration",))
        if ch in ".~":  # followed, not written: abc2midi shortens a staccato note, which then
            return Edge("after_decoration", kind="NOTE")  # breaks a broken rhythm
        if ch in DECORATION_LETTERS:
            return Edge("after_decoration", kind="NOTE")
        if ch in "y$s":  # spacer, score line break, abc2midi's slur
            return Edge("after_inline_field")
        if ch == "\\":
            return Edge("line_continuation")
        if ch == "%":
            return Edge(("comment", "body"))
        return None

    def _body_line_start(self, state, ch):
        if ch == "\n":
            return Edge(END, strict=True, kind="TUNE_END")
        if ch == " ":
            return Edge("after_space")
        if ch in LETTERS and ch not in NOTES and ch not in "zx":
            group = ch if ch in "KMLP" else "decoration" if ch in DECORATION_LETTERS else "text"
            # Body M: and L: lines are followed but not written: a repeat would replay the
            # bars before them in the new meter (abc2midi). P: parts neither.
            return Edge(("body_field", group), strict=ch == "K",
                        kind="BODY_KEY" if ch in "KP" else "BODY_METER_OR_UNIT")
        return self._element("line_start", ch)

    def _body_field(self, state, ch):
        """A letter at the start of a body line: a field (`K:` ...) or a decoration."""
        letter = state[1]
        if ch == ":":
            if letter == "M":
                return Edge(("meter_value", "body", "start"), strict=True)
            if letter == "L":
                return Edge(("unit_length_value", "body", "start"), strict=True)
            if letter == "K":
                return Edge(("key_value", "start"), strict=True)
            return Edge(("field_text", "body"), text_length=TEXT_RESET)
        if letter in ("M", "L", "P", "decoration"):  # also decorations
            return _unless_none(self.edge("after_decoration", ch), strict=False)
        return None

    def _after_inline_field(self, state, ch):
        return self._element("inline_field", ch)

    def _after_space(self, state, ch):
        return self._element("space", ch)

    def _after_bar_line(self, state, ch):
        return self._element("bar_line", ch)

    def _after_note(self, state, ch):
        return self._element("note", ch)

    def _after_tie(self, state, ch):
        return self._element("tie", ch)

    def _after_decoration(self, state, ch):
        return self._element("decoration", ch)

    def _after_quote(self, state, ch):
        return self._element("quote", ch)

    def _after_quote_space(self, state, ch):
        return self._element("quote_space", ch)

    def _after_tuplet(self, state, ch):
        return self._element("tuplet", ch)

    def _after_broken_rhythm_space(self, state, ch):
        return self._element("broken_rhythm", ch)

    def _line_continuation(self, state, ch):
        return Edge("body_line_start") if ch == "\n" else None


class _NoteGrammar:
    """Notes, rests, accidentals and their lengths. A length's steps: no_length, numerator
    (digits), slash (one), denominator (digits after it), slashes (two or more)."""

    def _pending(self, ch, rest=False):
        """A character that is not part of the pending note ends it, then acts from
        after_note. After a rest the strict grammar writes no tie and no broken rhythm."""
        edge = self.edge("after_note", ch)
        if edge is None:
            return None
        if rest and ch in "-<>":
            edge = edge.replace(strict=False)
        return edge.replace(ends_note=1)

    def _length(self, step, ch, make, rest=False):
        """Length suffix characters: digits and slashes (`make(step)` builds the state)."""
        if ch in DIGITS:
            if step == "no_length":
                return Edge(make("numerator"), strict=True, length_mark=LENGTH_NUMERATOR_FIRST) \
                    if ch != "0" else None
            if step == "numerator":
                return Edge(make("numerator"), strict=True, length_mark=LENGTH_NUMERATOR_MORE)
            if step == "slash":
                return Edge(make("denominator"), strict=True,
                            length_mark=LENGTH_DENOMINATOR_FIRST) if ch != "0" else None
            if step == "denominator":
                return Edge(make("denominator"), strict=True,
                            length_mark=LENGTH_DENOMINATOR_MORE)
            return None  # "slashes"
        if ch == "/":
            if step in ("no_length", "numerator"):
                return Edge(make("slash"), strict=True, length_mark=LENGTH_SLASH)
            if step in ("slash", "slashes"):
                return Edge(make("slashes"), strict=True, length_mark=LENGTH_SLASH)
            return None
        return self._pending(ch, rest)

    def _note(self, state, ch):
        """A note: ('note', case, step) with step the octave-mark count (0-3), "tied" (a tied
        note: no octave marks in the strict grammar) or a length step."""
        _, case, step = state

        def make(length_step):
            return ("note", case, length_step)

        if step == "tied":
            if ch in ",'":
                return Edge(("note", case, 3), tie=TIE_NONE)
            return self._length("no_length", ch, make)
        if isinstance(step, int):
            mark = "," if case == "upper" else "'"
            if ch == mark:
                return Edge(("note", case, min(step + 1, 3)), strict=step < 2, tie=TIE_NONE)
            if ch in ",'":
                return Edge(("note", case, 3), tie=TIE_NONE)  # C' and c, : valid, never written
            return self._length("no_length", ch, make)
        return self._length(step, ch, make)

    def _rest(self, state, ch):
        step = state[1] if len(state) > 1 else "no_length"
        return self._length(step, ch, lambda s: ("rest", s), rest=True)

    def _accidental(self, state, ch):
        mark = state[1]
        if ch == mark and mark in "^_" and len(state) == 2:
            return Edge(("accidental", mark, 2))
        if ch in NOTES:
            return Edge(("note", _case(ch), 0), strict=len(state) == 2, note_start=NOTE_STARTS)
        return None

    def _broken_rhythm(self, state, ch):
        _, mark, count = state
        if ch == mark and count < 3:
            return Edge(("broken_rhythm", mark, count + 1),
                        broken_rhythm=BROKEN_RHYTHM_CODES[mark * (count + 1)])
        return self._element("broken_rhythm", ch)

    def _open_paren(self, state, ch):
        if ch in DIGITS and ch != "0":
            return Edge(("tuplet", "p"), strict=ch == "3", number=NUMBER_FIRST_DIGIT)
        return _unless_none(self._element("space", ch), strict=False)  # a slur starts

    def _tuplet(self, state, ch):
        """(p:q:r: steps p, q, r (reading that count), q_start, r_start (after its ':')."""
        step = state[1]
        digit = ch in DIGITS
        if digit and step in ("p", "q", "r"):
            return Edge(state, number=NUMBER_MORE_DIGITS)
        if digit and step in ("q_start", "r_start"):
            return Edge(("tuplet", step[0]), number=NUMBER_FIRST_DIGIT)
        if ch == ":" and step == "p":
            return Edge(("tuplet", "q_start"), setter="TUPLET_P", number=NUMBER_CLEAR)
        if ch == ":" and step in ("q", "q_start"):
            return Edge(("tuplet", "r_start"), setter="TUPLET_Q", number=NUMBER_CLEAR)
        setter = "TUPLET_START_AFTER_" + step[0].upper()
        edge = self._element("tuplet", ch)
        if edge is None:
            return None
        return edge.replace(setter=setter, strict=edge.strict and step == "p")


class _DecorationGrammar:
    """Decorations, quoted strings and grace notes."""

    def _bang(self, state, ch):
        if ch == "\n":
            return Edge("body_line_start")  # '!' at the end of a line: a line break (ABC 2.0)
        if ch in LETTERS:  # !name! decorations are followed, not written (abc2midi acts
            return Edge(("decoration_name",), text_length=TEXT_RESET)  # on some, crescendos)
        return None

    def _bang_after_bar(self, state, ch):
        if ch == "\n":
            return Edge("body_line_start", strict=True)
        return _unless_none(self._bang(state, ch), strict=False)

    def _decoration_name(self, state, ch):
        if ch == "!":
            return Edge("after_decoration", strict=True)
        if ch == "\n":
            return None
        return Edge(state, strict=ch in LETTERS, kind="DECORATION_TEXT", text_length=TEXT_COUNT)

    def _plus_decoration(self, state, ch):
        if ch == "+":
            return Edge("after_decoration")
        if ch == "\n":
            return None
        return Edge(state)

    def _quote(self, state, ch):
        """A quoted chord symbol or annotation ('quote', start / annotation / any): the strict
        grammar writes annotations ("^text", where the meter alone is kept) or chord symbols
        of CHORD_QUALITIES (where the form is: `_chord_symbol`); abc2midi rejects unknown
        chord names."""
        step = state[1]
        if ch == "\n":
            return None
        if ch == '"':
            return Edge("after_quote", strict=step == "annotation")
        if step == "start" and ch == "^":
            return Edge(("quote", "annotation"), strict=True, kind="ANNOTATION",
                        text_length=TEXT_COUNT)
        if step == "start" and ch in NOTE_UP:
            return Edge(("chord_symbol", "root"), strict=True, kind="CHORD_SYMBOL",
                        text_length=TEXT_COUNT)
        if step == "annotation":
            return _text_edge(ch, state, True, "QUOTE_TEXT")
        return Edge(("quote", "any"), text_length=TEXT_COUNT)

    def _chord_symbol(self, state, ch):
        """A chord symbol ('chord_symbol', step): root, accidental, "q:" + a quality so far,
        slash, bass, bass_accidental; anything else is followed as a quote's text."""
        step = state[1]
        if ch == "\n":
            return None
        quality = step[2:] if step.startswith("q:") else None
        complete = step in ("root", "accidental", "bass", "bass_accidental") or (
            quality in CHORD_QUALITIES)
        if ch == '"' and complete:
            return Edge("after_quote", strict=True)
        if ch in "#b" and step in ("root", "bass"):
            return Edge(("chord_symbol", "accidental" if step == "root" else "bass_accidental"),
                        strict=True)
        if step in ("root", "accidental") or quality is not None:
            word = (quality or "") + ch
            if any(q.startswith(word) for q in CHORD_QUALITIES):
                return Edge(("chord_symbol", "q:" + word), strict=True)
        if ch == "/" and complete and step not in ("bass", "bass_accidental"):
            return Edge(("chord_symbol", "slash"), strict=True)
        if ch in NOTE_UP and step == "slash":
            return Edge(("chord_symbol", "bass"), strict=True)
        return Edge(("quote", "any"), text_length=TEXT_COUNT)

    def _grace_notes(self, state, ch):
        """Grace notes {...} ('grace_notes', start / notes / other): notes without duration.
        Strict: 1-4 plain notes."""
        step = state[1]
        if ch == "}":
            return Edge("after_decoration", strict=step == "notes")
        if ch in NOTES:
            return Edge(("grace_notes", "notes"), strict=True, kind="CHORD_NOTE",
                        text_length=TEXT_COUNT)
        if ch in "^_=,'/" or ch in DIGITS:
            return Edge(("grace_notes", "other"))
        return None


class _ChordGrammar:
    """Chords and the rest of the '[' family: inline fields, [1 [2 endings, [| bar lines."""

    def _open_bracket(self, state, ch):
        if ch in DIGITS and ch != "0":
            return Edge("ending_number", strict=ch in "12",
                        kind="FIRST_ENDING" if ch == "1" else "SECOND_ENDING", variant_ending=1)
        if ch == "|":
            return Edge("bracket_bar")
        if ch in NOTES:
            return Edge(("chord_note", 1, _case(ch), 0), strict=True, kind="NOTE",
                        note_start=CHORD_STARTS, text_length=TEXT_COUNT, tie=TIE_NONE,
                        pitch=OTHER_PITCH)
        if ch in "^_=":
            return Edge(("chord_accidental", 1), strict=True, kind="NOTE",
                        note_start=CHORD_STARTS, tie=TIE_NONE, pitch=OTHER_PITCH)
        if ch in LETTERS:
            return Edge(("inline_field", ch if ch in "ML" else "text"))
        return None

    def _inline_field(self, state, ch):
        letter = state[1]
        if ch != ":":
            return None
        if letter == "M":
            return Edge(("meter_value", "inline", "start"))
        if letter == "L":
            return Edge(("unit_length_value", "inline", "start"))
        return Edge("inline_text")

    def _inline_text(self, state, ch):
        if ch == "]":
            return Edge("after_inline_field")
        if ch == "\n":
            return None
        return Edge(state)

    def _chord_accidental(self, state, ch):
        first = state[1]
        if ch in NOTES:
            return Edge(("chord_note", first, _case(ch), 0), strict=True,
                        kind="CHORD_NOTE" if first == 2 else "ALWAYS", text_length=TEXT_COUNT)
        return None

    def _chord_note(self, state, ch):
        """A note inside a chord: ('chord_note', first, case, step), first 1 for the chord's
        first note, 2 for the others. Only the first note's length counts (abc2midi: and only
        when the chord has no length after ']')."""
        _, first, case, step = state
        if isinstance(step, int):
            mark = "," if case == "upper" else "'"
            if ch == mark:
                return Edge(("chord_note", first, case, min(step + 1, 3)), strict=step < 2)
            if ch in ",'":
                return Edge(("chord_note", first, case, 3))
            step = "no_length"
        if ch in DIGITS or ch == "/":
            edge = self._length(step, ch, lambda s: ("chord_note", first, case, s))
            if edge is None:
                return None
            return edge.replace(strict=False, length_mark=edge.length_mark if first == 1 else 0)
        if ch == "]":
            return Edge(("chord_length", "no_length"), strict=True, kind="CHORD_CLOSE",
                        note_start=CHORD_CLOSES)
        if ch in NOTES:
            return Edge(("chord_note", 2, _case(ch), 0), strict=True, kind="CHORD_NOTE",
                        text_length=TEXT_COUNT)
        if ch in "^_=":
            return Edge(("chord_accidental", 2), strict=True, kind="CHORD_NOTE")
        if ch == "-":
            return Edge(state)
        return None

    def _chord_length(self, state, ch):
        """The length after a chord's ']'."""
        return self._length(state[1], ch, lambda s: ("chord_length", s))


class _BarLineGrammar:
    """Bar lines: | || |] |: :| :: [| :|] and the variant endings |1 :|2."""

    def _resolve(self, bar_line, ch, kind):
        """The bar line ends at `ch`, which then acts from just after a bar line."""
        edge = self.edge("after_bar_line", ch)
        if edge is None:
            return None
        # The mask checks this character before the bar line's registers change, so only
        # what any bar line allows may follow it directly.
        strict = edge.strict and edge.kind in ("ALWAYS", "NOTE", "SPACE", "OPEN_BRACKET",
                                               "TRIPLET")
        if bar_line == BAR_REPEAT_END and edge.kind in ("NOTE", "TRIPLET"):
            kind = "REPEAT_END_NOTE"
        elif bar_line in (BAR_DOUBLE, BAR_REPEAT_END) and edge.kind in (
                "NOTE", "SPACE", "OPEN_BRACKET"):  # the music goes on after a part's end
            kind = {BAR_DOUBLE: "DOUBLE_BAR_MUSIC", BAR_REPEAT_END: "REPEAT_END_MUSIC"}[bar_line]
        if edge.kind == "TRIPLET":  # a triplet right after | (it must fit in an empty bar)
            strict = strict and bar_line == BAR_SINGLE
            kind = "SINGLE_BAR_TRIPLET"
        return edge.replace(bar_line=bar_line, kind=kind, strict=strict)

    def _bar(self, state, ch):
        if ch == "|":
            return Edge("double_bar", strict=True, kind="DOUBLE_BAR")
        if ch == "]":
            return Edge("bar_bracket", strict=True, kind="DOUBLE_BAR")
        if ch == ":":  # |: is written where the form asks for repeats (meter alone: followed,
            # not written: an unclosed one fails)
            return Edge("repeat_start", strict=True, kind="OPEN_REPEAT")
        if ch in DIGITS and ch != "0":
            return Edge("ending_number", strict=ch == "1", bar_line=BAR_SINGLE, variant_ending=1,
                        kind="SINGLE_BAR_FIRST_ENDING" if ch == "1" else "SINGLE_BAR")
        return self._resolve(BAR_SINGLE, ch, "SINGLE_BAR")

    def _double_bar(self, state, ch):
        return self._resolve(BAR_DOUBLE, ch, "DOUBLE_BAR")

    def _bar_bracket(self, state, ch):
        return self._resolve(BAR_DOUBLE, ch, "DOUBLE_BAR")

    def _repeat_start(self, state, ch):
        return self._resolve(BAR_REPEAT_START, ch, "REPEAT_START")

    def _bracket_bar(self, state, ch):
        if ch == ":":
            return Edge("repeat_start")
        return _unless_none(self._resolve(BAR_DOUBLE, ch, "DOUBLE_BAR"), strict=False)

    def _colon(self, state, ch):
        if ch == "|":
            return Edge("repeat_end", strict=True, kind="REPEAT_END")
        if ch == ":":  # :: is written where the form closes a part and opens the next's repeat
            return Edge("double_repeat", strict=True, kind="OPEN_DOUBLE_REPEAT")
        # a dotted bar line
        return _unless_none(self._resolve(BAR_DOUBLE, ch, "DOUBLE_BAR"), strict=False)

    def _repeat_end(self, state, ch):
        if ch in DIGITS and ch != "0":
            return Edge("ending_number", strict=ch == "2", kind="REPEAT_END_SECOND_ENDING",
                        bar_line=BAR_REPEAT_END, variant_ending=1)
        if ch == "]":
            return Edge("repeat_end_bracket")
        if ch == ":":
            return Edge("double_repeat")
        return self._resolve(BAR_REPEAT_END, ch, "REPEAT_END")

    def _repeat_end_bracket(self, state, ch):
        return _unless_none(self._resolve(BAR_REPEAT_END, ch, "REPEAT_END"), strict=False)

    def _double_repeat(self, state, ch):
        return self._resolve(BAR_DOUBLE_REPEAT, ch, "DOUBLE_REPEAT")

    def _ending_number(self, state, ch):
        """After a variant ending's number: more numbers (1,3 or 1-2), then the music."""
        if ch in DIGITS or ch in ",-":
            return Edge(state)
        edge = self._element("inline_field", ch)
        if edge is None:
            return None
        return edge.replace(strict=edge.strict and ch not in "\n|:")


class Grammar(_HeaderGrammar, _BodyGrammar, _NoteGrammar, _DecorationGrammar, _ChordGrammar,
              _BarLineGrammar):
    """`edge(state, ch)`: the transition from `state` on character `ch` (OTHER_CHAR for
    anything outside ASCII); None when the tracker cannot follow the character there."""

    def edge(self, state, ch):
        if state in (LOST, END):
            return Edge(state, strict=True)
        name = state if isinstance(state, str) else state[0]
        return getattr(self, "_" + name)(state, ch)


# -- tables ----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class GrammarTables:
    """The machine as flat arrays; `edges[f]` is [states, classes] for each field f."""

    states: tuple
    class_of: np.ndarray  # [129] column -> class
    edges: dict  # field -> int32 [states, classes]
    digit: np.ndarray  # [classes] digit value or -1
    trie_next: np.ndarray  # [trie nodes, classes]
    trie_min_g: np.ndarray
    trie_reach: np.ndarray
    trie_value_id: np.ndarray
    trie_values: tuple
    start: int
    lost: int
    end: int

    def to_dict(self) -> dict:
        """The tables as JSON values (for the JavaScript tracker: meter_program)."""
        return {
            "ticks_per_whole": TICKS_PER_WHOLE,
            "kinds": list(KINDS), "fields": list(FIELDS),
            "num_states": len(self.states), "num_classes": int(self.digit.shape[0]),
            "class_of": self.class_of.tolist(),
            "edges": {f: self.edges[f].ravel().tolist() for f in FIELDS},
            "digit": self.digit.tolist(),
            "trie_next": self.trie_next.ravel().tolist(),
            "trie_min_g": self.trie_min_g.tolist(),
            "trie_reach": self.trie_reach.tolist(),
            "trie_value_id": self.trie_value_id.tolist(),
            "trie_values": list(self.trie_values),
            "start": self.start, "lost": self.lost, "end": self.end,
        }


def _column_char(column):
    return OTHER_CHAR if column == OTHER else chr(column)


def _enumerate_states(grammar):
    """Every state reachable from the start, in the order first reached, and each one's edges
    by column (None: not followed)."""
    index = {START: START_ID, LOST: LOST_ID, END: END_ID}
    order = [START, LOST, END]
    rows = []
    for state in order:  # (grows while it runs)
        row = []
        for column in range(NUM_COLUMNS):
            edge = grammar.edge(state, _column_char(column))
            if edge is not None and edge.next_state not in index:
                index[edge.next_state] = len(order)
                order.append(edge.next_state)
            row.append(edge)
        rows.append(row)
    return order, index, rows


def _edge_arrays(rows, index):
    full = {f: np.zeros((len(rows), NUM_COLUMNS), np.int32) for f in FIELDS}
    full["next_state"][:] = LOST_ID
    for s, row in enumerate(rows):
        for column, edge in enumerate(row):
            if edge is None:
                continue
            full["next_state"][s, column] = index[edge.next_state]
            full["followed"][s, column] = 1
            full["strict"][s, column] = int(edge.strict)
            full["kind"][s, column] = KIND[edge.kind]
            full["setter"][s, column] = SETTER[edge.setter]
            for f in ("ends_note", "broken_rhythm", "bar_line", "variant_ending", "number",
                      "note_start", "length_mark", "text_length", "tie", "pitch"):
                full[f][s, column] = getattr(edge, f)
    return full


@functools.lru_cache(maxsize=1)
def build_tables() -> GrammarTables:
    order, index, rows = _enumerate_states(Grammar())
    full = _edge_arrays(rows, index)
    trie = length_trie()
    digit = np.array([int(chr(c)) if chr(c) in DIGITS else -1 for c in range(128)] + [-1],
                     np.int32)
    # Columns that behave identically everywhere share a class.
    signature = np.concatenate([full[f] for f in FIELDS] + [trie.next, digit[None, :]], axis=0)
    _, first, class_of = np.unique(signature.T, axis=0, return_index=True, return_inverse=True)
    class_of = class_of.ravel().astype(np.int32)
    representative = np.array(first, np.int64)
    return GrammarTables(
        states=tuple(order), class_of=class_of,
        edges={f: np.ascontiguousarray(full[f][:, representative]) for f in FIELDS},
        digit=digit[representative], trie_next=np.ascontiguousarray(trie.next[:, representative]),
        trie_min_g=trie.min_g, trie_reach=trie.reach, trie_value_id=trie.value_id,
        trie_values=trie.values, start=START_ID, lost=LOST_ID, end=END_ID,
    )
