"""The grammar of an ABC tune, character by character, as tables for a batched rhythm tracker.

A tune is read by a finite-state machine over characters plus a few integer registers (bar
position, unit note length, tuplet counts, ...: see `tfcreative.music.meter`). This module is
the machine's *symbolic* part, in plain Python: for every (state, character) it says

* where the machine goes (`nxt`), and whether the character can be followed at all
  (`follow`; if not, the tracker gives the row up: it is no longer constrained);
* whether sampling may produce it (`strict`): a narrower, corpus-like grammar in which every
  allowed character keeps a valid continuation open (accidentals and octave marks only around
  a note, `(` only before a tuplet count, `:` only inside a bar line, ...);
* which register condition the meter adds (`kind`, e.g. "a bar line fits here", "a note fits");
* which register actions run (`fin`: the pending note ends; `bar`: a bar line resolves; ...).

`build_tables()` enumerates the reachable states and returns flat integer arrays, indexed by
state and character class (characters that behave alike share a class), which the TensorFlow
and JavaScript trackers look up. Bar-line semantics follow abc2midi's bar checks: a short bar
before `||`, `|]`, `|:`, `:|` or `::` continues into the next one (so a pickup and the closing
bar of its part add up to one bar), and the tune's first bar may be short.
"""

from __future__ import annotations

import dataclasses
import functools
import json

import numpy as np

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
FORCED_BIG = 1 << 20  # LEN_MIN of an off-trie length: never fits

# Mask conditions on the registers (see meter.py for their definitions).
KINDS = (
    "ALWAYS", "NOTE", "SPACE", "BROKEN", "TUP3", "LBRK", "BAR_START", "COLON",
    "SINGLE", "SINGLE_END1", "SOFT", "REPSTART", "REPEND", "REPEND_NOTE", "REPEND_END2",
    "DBLREP", "END1", "END2", "TUNE_END", "FIELD_ML", "FIELD_K", "HDR_K", "HDR_M", "HDR_L",
    "TEXT_HEADER", "TEXT_QUOTE", "TEXT_DECO", "CHORD_MORE", "CHORD_CLOSE", "TIE", "TIE_SAME",
    "SINGLE_TUP3",
)
KIND = {name: i for i, name in enumerate(KINDS)}

# Action codes.
BRK_CODES = {">": 1, ">>": 2, ">>>": 3, "<": 4, "<<": 5, "<<<": 6}
BAR_SINGLE, BAR_SOFT, BAR_REPSTART, BAR_REPEND, BAR_DBLREP = 1, 2, 3, 4, 5
SETTERS = ("NONE", "HDR_T", "M_SHIFT", "M_SET", "M_C", "M_CB", "M_NONE", "L_SET", "HDR_END",
           "TUP_SETP", "TUP_SETQ", "TUP_START_P", "TUP_START_Q", "TUP_START_R")
SET = {name: i for i, name in enumerate(SETTERS)}
NUM_FIRST, NUM_MORE, NUM_CLEAR = 1, 2, 3
START_NOTE, START_CHORD, START_CHORD_CLOSE = 1, 2, 3
LEN_NUMFIRST, LEN_NUMMORE, LEN_SLASH, LEN_DENFIRST, LEN_DENMORE = 1, 2, 3, 4, 5
TLEN_RESET, TLEN_INC = 1, 2
TIE_SET, TIE_CLEAR = 1, 2  # the note may be tied (a plain letter) / may not

FIELDS = ("nxt", "follow", "strict", "kind", "fin", "brk", "bar", "end", "set", "num",
          "start", "len", "tlen", "tie")


@dataclasses.dataclass(frozen=True)
class Edge:
    """One transition; `strict` False means sampling may not produce this character here."""

    nxt: object
    strict: bool = False
    kind: str = "ALWAYS"
    fin: int = 0
    brk: int = 0
    bar: int = 0
    end: int = 0
    set: str = "NONE"
    num: int = 0
    start: int = 0
    len: int = 0
    tlen: int = 0
    tie: int = 0

    def but(self, **changes) -> Edge:
        return dataclasses.replace(self, **changes)


LOST = "LOST"  # the tracker gave the row up: everything allowed, nothing tracked
END = "END"  # after the blank line that ends the tune
START = "H_LS"  # the start of a tune: a header line begins


def _strict_char(ch: str) -> bool:
    """Characters the strict grammar writes in free text (titles, annotations)."""
    return 32 <= ord(ch) < 127 and ch not in '%"\\'


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

def _text_edge(ch, nxt, strict, kind):
    return Edge(nxt, strict=strict and _strict_char(ch), kind=kind, tlen=TLEN_INC)


class Grammar:
    """`edge(state, ch)`: the transition from `state` on character `ch` (OTHER_CHAR for
    anything outside ASCII); None when the tracker cannot follow the character there."""

    def edge(self, state, ch):
        if state in (LOST, END):
            return Edge(state, strict=True)
        name = state if isinstance(state, str) else state[0]
        return getattr(self, "_" + name)(state, ch)

    # -- header --------------------------------------------------------------------------

    def _H_LS(self, state, ch):
        if ch == "\n":
            return Edge(END)  # a blank line: the tune ends without a body
        if ch == "%":
            return Edge(("CMT", "H"))
        if ch not in LETTERS:
            return None
        if ch in "MLK":
            kind = {"M": "HDR_M", "L": "HDR_L", "K": "HDR_K"}[ch]
            return Edge(("H_F", ch), strict=True, kind=kind)
        if ch == "T":
            return Edge(("H_F", "T"), strict=True)
        return Edge(("H_F", "TXT"), strict=ch in HEADER_TEXT_FIELDS)

    def _H_F(self, state, ch):
        field = state[1]
        if ch != ":":
            return None
        if field == "M":
            return Edge(("MV", "H", "S"), strict=True)
        if field == "L":
            return Edge(("LV", "H", "S"), strict=True)
        if field == "K":
            return Edge(("KV", "S"), strict=True)
        return Edge(("TXT", "H"), strict=True, tlen=TLEN_RESET,
                    set="HDR_T" if field == "T" else "NONE")

    def _TXT(self, state, ch):
        ctx = state[1]
        if ch == "\n":
            return Edge("H_LS" if ctx == "H" else "B_LS", strict=True)
        return _text_edge(ch, state, True, "TEXT_HEADER")

    def _CMT(self, state, ch):
        if ch == "\n":
            return Edge("H_LS" if state[1] == "H" else "B_LS")
        return Edge(state)

    def _terminator(self, ctx, ch):
        """The character that ends a field value: a newline, or ']' for an inline field."""
        if ctx == "I":
            return ch == "]"
        return ch == "\n"

    def _after_field(self, ctx, header_end=False):
        if ctx == "H":
            return Edge("B_LS" if header_end else "H_LS", strict=True,
                        set="HDR_END" if header_end else "NONE")
        if ctx == "B":
            return Edge("B_LS", strict=True)
        return Edge("B_EL", strict=False)  # inline fields are followed, never written

    # M: C | C| | n/d | none
    def _MV(self, state, ch):
        _, ctx, sub = state
        digit = ch in DIGITS

        def to(s, **kw):
            return Edge(("MV", ctx, s), **kw)

        def finish(setter):
            if self._terminator(ctx, ch):
                return self._after_field(ctx).but(set=setter)
            if ch == " ":
                return to("END", set=setter)
            return None

        if sub in ("S", "SP"):
            if ch == " " and sub == "S":
                return to("SP", strict=True)
            if ch == "C":
                return to("C", strict=True)
            if ch == "n":  # M:none is followed (no meter to keep), not written
                return to("n")
            if digit and ch != "0":
                return to("N1" if ch == "1" else "NX", strict=True, num=NUM_FIRST)
            return None
        if sub == "C":
            if ch == "|":
                return to("CB", strict=True)
            return finish("M_C")
        if sub == "CB":
            return finish("M_CB")
        if sub in ("n", "no", "non"):
            want = {"n": "o", "no": "n", "non": "e"}[sub]
            return to(sub + want, strict=True) if ch == want else None
        if sub == "none":
            return finish("M_NONE")
        if sub in ("N1", "NX", "NN"):
            if digit:
                return to("NN", strict=sub == "N1" and ch in "0123456", num=NUM_MORE)
            if ch == "/":
                return to("SL", strict=True, set="M_SHIFT", num=NUM_CLEAR)
            return None
        if sub == "SL":  # strict: /2 /4 /8, so that every bar is a whole number of the
            if digit and ch != "0":  # shortest strict note under L:1/4, 1/8 or 1/16
                return to("D1" if ch == "1" else "DX", strict=ch in "248", num=NUM_FIRST)
            return None
        if sub in ("D1", "DX", "DD"):
            if digit:
                return to("DD", num=NUM_MORE)
            edge = finish("M_SET")
            if edge is not None and sub != "DX":
                edge = edge.but(strict=False)
            return edge
        if sub == "END":  # after the value: abc2midi ignores the rest of the line
            if self._terminator(ctx, ch):
                return self._after_field(ctx).but(strict=False)
            return Edge(state) if ch != "\n" else None
        raise AssertionError(state)

    # L: 1/d
    def _LV(self, state, ch):
        _, ctx, sub = state

        def to(s, **kw):
            return Edge(("LV", ctx, s), **kw)

        if sub in ("S", "SP"):
            if ch == " " and sub == "S":
                return to("SP", strict=True)
            return to("ONE", strict=True) if ch == "1" else None
        if sub == "ONE":
            return to("SL", strict=True) if ch == "/" else None
        if sub == "SL":
            if ch in DIGITS and ch != "0":
                return to("D1" if ch == "1" else "DX", strict=ch in "148", num=NUM_FIRST)
            return None
        if sub in ("D1", "DX", "DD"):
            if ch in DIGITS:
                return to("DD", strict=sub == "D1" and ch == "6", num=NUM_MORE)
            if self._terminator(ctx, ch):
                return self._after_field(ctx).but(set="L_SET", strict=sub != "D1")
            if ch == " ":
                return to("END", set="L_SET")
            return None
        if sub == "END":
            if ch == " ":
                return Edge(state)
            return self._after_field(ctx).but(strict=False) if self._terminator(ctx, ch) \
                else None
        raise AssertionError(state)

    # K: tonic [#b] [m | ' ' Mode]; followed whatever it says. Header and body K: lines share
    # these states: the header-end action (default unit length) is harmless in the body.
    def _KV(self, state, ch):
        sub = state[1]
        if ch == "\n":
            ok = sub in ("T", "TA", "m") or (sub[0] == "W" and sub[1:] in MODES)
            return Edge("B_LS", strict=ok, set="HDR_END")

        def to(s, strict=True):
            return Edge(("KV", s), strict=strict)

        loose = Edge(("KV", "ANY"))
        if sub == "S":
            if ch == " ":
                return to("SP")
            return to("T") if ch in NOTE_UP else loose
        if sub == "SP":
            return to("T") if ch in NOTE_UP else loose
        if sub in ("T", "TA"):
            if sub == "T" and ch in "#b":
                return to("TA")
            if ch == "m":
                return to("m")
            if ch == " ":
                return to("W")
            return loose
        if sub[0] == "W":
            word = sub[1:] + ch
            if any(mode.startswith(word) for mode in MODES):
                return to("W" + word)
            return loose
        return loose  # "m", "ANY": anything up to the end of the line

    # -- body: line starts and element boundaries -----------------------------------------

    def _element(self, flavor, ch):
        """An element begins at a boundary. `flavor` says what came just before: LS (line
        start), EL (after an inline field or ending number), SP (a space), PB (a bar line),
        AN (a complete note/rest/chord), TIE, PRE (a decoration or grace notes), PREQ (a
        quoted string), PREQS (a quoted string and a space), TUP (a tuplet's count), BRK
        (a broken-rhythm mark)."""
        notes_only = flavor in ("TIE", "PRE", "PREQS", "TUP", "BRK")
        if ch is None:
            return None
        if ch in NOTES:
            case = "U" if ch in NOTE_UP else "L"
            if flavor == "TIE":  # the strict grammar ties a note to the same plain note
                return Edge(("NT", case, "T"), strict=True, kind="TIE_SAME", start=START_NOTE,
                            tie=TIE_SET)
            return Edge(("NT", case, 0), strict=True, kind="NOTE", start=START_NOTE,
                        tie=TIE_SET)
        if ch in "^_=":
            return Edge(("ACC", ch), strict=flavor != "TIE", kind="NOTE", tie=TIE_CLEAR)
        if ch == "z":
            return Edge(("RS",), strict=flavor != "TIE", kind="NOTE", start=START_NOTE,
                        tie=TIE_CLEAR)
        if ch == "x":
            return Edge(("RS",), kind="NOTE", start=START_NOTE, tie=TIE_CLEAR)
        if ch == "[":
            return Edge("B_LBRK", strict=flavor not in ("TIE", "TUP", "BRK"), kind="LBRK",
                        tlen=TLEN_RESET)
        if ch == ">" or ch == "<":
            if flavor == "AN":
                return Edge(("BRK", ch, 1), strict=True, kind="BROKEN", brk=BRK_CODES[ch])
            if flavor == "BRK":
                return None  # handled by the BRK state itself
            return None
        if ch == " ":
            strict = flavor in ("AN", "PB", "EL", "PREQ")
            nxt = "B_PREQS" if flavor == "PREQ" else "B_SP"
            if flavor in ("TUP", "BRK", "TIE", "PRE", "PREQS"):
                nxt = {"TUP": "B_TUPEL", "BRK": "B_BRKSP", "TIE": "B_TIE", "PRE": "B_PRE",
                       "PREQS": "B_PREQS"}[flavor]
            return Edge(nxt, strict=strict, kind="SPACE")
        if ch == "\n":
            return Edge("B_LS", strict=flavor == "PB")
        if ch == "|":
            return Edge("B_BAR1", strict=not notes_only, kind="BAR_START")
        if ch == ":":
            return Edge("B_COLON", strict=not notes_only, kind="COLON")
        if ch == "-":
            return Edge("B_TIE", strict=True, kind="TIE") if flavor == "AN" else None
        if ch == ")":
            return Edge("B_AN") if flavor in ("AN", "SP", "EL") else None
        if ch == "(":
            return Edge("B_LPAR", strict=flavor in ("AN", "PB", "SP", "LS", "EL"),
                        kind="TUP3")
        if ch == '"':
            return Edge(("Q", "S"), strict=not notes_only and flavor != "PREQ", kind="NOTE",
                        tlen=TLEN_RESET)
        if ch == "{":
            return Edge(("GR", "S"), strict=not notes_only, kind="NOTE", tlen=TLEN_RESET)
        if ch == "!":
            if flavor == "PB":
                return Edge("B_BANG_B", strict=True)
            return Edge("B_BANG", kind="NOTE")
        if ch == "+":
            return Edge(("PD",))
        if ch in ".~":  # followed, not written: abc2midi shortens a staccato note, which then
            return Edge("B_PRE", kind="NOTE")  # breaks a broken rhythm
        if ch in DECORATION_LETTERS:
            return Edge("B_PRE", kind="NOTE")
        if ch == "y" or ch == "$" or ch == "s":  # spacer, score line break, abc2midi's slur
            return Edge("B_EL")
        if ch == "\\":
            return Edge("B_CONT")
        if ch == "%":
            return Edge(("CMT", "B"))
        return None

    def _B_LS(self, state, ch):
        if ch == "\n":
            return Edge(END, strict=True, kind="TUNE_END")
        if ch == " ":
            return Edge("B_SP")
        if ch in LETTERS and ch not in NOTES and ch not in "zx":
            group = ch if ch in "KMLP" else "D" if ch in DECORATION_LETTERS else "T"
            # Body M: and L: lines are followed but not written: a repeat would replay the
            # bars before them in the new meter (abc2midi). P: parts neither.
            return Edge(("B_F", group), strict=ch == "K",
                        kind="FIELD_K" if ch in "KP" else "FIELD_ML")
        return self._element("LS", ch)

    def _B_F(self, state, ch):
        """A letter at the start of a body line: a field (`K:` ...) or a decoration."""
        letter = state[1]
        if ch == ":":
            if letter == "M":
                return Edge(("MV", "B", "S"), strict=True)
            if letter == "L":
                return Edge(("LV", "B", "S"), strict=True)
            if letter == "K":
                return Edge(("KV", "S"), strict=True)
            return Edge(("TXT", "B"), tlen=TLEN_RESET)
        if letter in "MLPD":  # also decorations
            edge = self.edge("B_PRE", ch)
            return None if edge is None else edge.but(strict=False)
        return None

    def _B_EL(self, state, ch):
        return self._element("EL", ch)

    def _B_SP(self, state, ch):
        return self._element("SP", ch)

    def _B_PB(self, state, ch):
        return self._element("PB", ch)

    def _B_AN(self, state, ch):
        return self._element("AN", ch)

    def _B_TIE(self, state, ch):
        return self._element("TIE", ch)

    def _B_PRE(self, state, ch):
        return self._element("PRE", ch)

    def _B_PREQ(self, state, ch):
        return self._element("PREQ", ch)

    def _B_PREQS(self, state, ch):
        return self._element("PREQS", ch)

    def _B_TUPEL(self, state, ch):
        return self._element("TUP", ch)

    def _B_BRKSP(self, state, ch):
        return self._element("BRK", ch)

    def _B_CONT(self, state, ch):
        return Edge("B_LS") if ch == "\n" else None

    # -- notes, rests and their lengths ------------------------------------------------------

    def _pending(self, ch, rest=False):
        """A character that is not part of the pending note ends it, then acts from B_AN.
        After a rest the strict grammar writes no tie and no broken rhythm."""
        edge = self.edge("B_AN", ch)
        if edge is None:
            return None
        if rest and ch in "-<>":
            edge = edge.but(strict=False)
        return edge.but(fin=1)

    def _length(self, state, sub, ch, make, rest=False):
        """Length suffix characters: digits and slashes (`make(sub)` builds the state)."""
        if ch in DIGITS:
            if sub in ("O", "L0"):
                return Edge(make("LN"), strict=True, len=LEN_NUMFIRST) if ch != "0" else None
            if sub == "LN":
                return Edge(make("LN"), strict=True, len=LEN_NUMMORE)
            if sub in ("LS",):
                return Edge(make("LD"), strict=True, len=LEN_DENFIRST) if ch != "0" else None
            if sub == "LD":
                return Edge(make("LD"), strict=True, len=LEN_DENMORE)
            if sub == "LSS":
                return None
        if ch == "/":
            if sub in ("O", "L0", "LN"):
                return Edge(make("LS"), strict=True, len=LEN_SLASH)
            if sub in ("LS", "LSS"):
                return Edge(make("LSS"), strict=True, len=LEN_SLASH)
            return None
        return self._pending(ch, rest)

    def _NT(self, state, ch):
        """A note: ('NT', case, sub) with sub the octave-mark count (0-2+), "T" (a tied note:
        no octave marks in the strict grammar) or a length state."""
        _, case, sub = state
        if sub == "T":
            if ch in ",'":
                return Edge(("NT", case, 3), tie=TIE_CLEAR)
            return self._length(state, "O", ch, lambda s: ("NT", case, s))
        if isinstance(sub, int):
            mark = "," if case == "U" else "'"
            if ch == mark:
                return Edge(("NT", case, min(sub + 1, 3)), strict=sub < 2, tie=TIE_CLEAR)
            if ch in ",'":
                return Edge(("NT", case, 3), tie=TIE_CLEAR)  # C' and c, : valid, never written
            return self._length(state, "O", ch, lambda s: ("NT", case, s))
        return self._length(state, sub, ch, lambda s: ("NT", case, s))

    def _RS(self, state, ch):
        sub = state[1] if len(state) > 1 else "L0"
        return self._length(state, sub, ch, lambda s: ("RS", s), rest=True)

    def _CS(self, state, ch):
        """The length after a chord's ']'."""
        return self._length(state, state[1], ch, lambda s: ("CS", s))

    def _ACC(self, state, ch):
        kind = state[1]
        if ch == kind and kind in "^_" and len(state) == 2:
            return Edge(("ACC", kind, 2))
        if ch in NOTES:
            return Edge(("NT", "U" if ch in NOTE_UP else "L", 0), strict=len(state) == 2,
                        start=START_NOTE)
        return None

    # -- broken rhythm, tuplets, decorations, quotes, grace notes ----------------------------

    def _BRK(self, state, ch):
        _, mark, count = state
        if ch == mark and count < 3:
            return Edge(("BRK", mark, count + 1), brk=BRK_CODES[mark * (count + 1)])
        return self._element("BRK", ch)

    def _B_LPAR(self, state, ch):
        if ch in DIGITS and ch != "0":
            return Edge(("TUP", "P"), strict=ch == "3", num=NUM_FIRST)
        edge = self._element("SP", ch)  # a slur starts
        return None if edge is None else edge.but(strict=False)

    def _TUP(self, state, ch):
        sub = state[1]
        digit = ch in DIGITS
        if digit and sub in ("P", "Q", "R"):
            return Edge(state, num=NUM_MORE)
        if digit and sub in ("Q0", "R0"):
            return Edge(("TUP", sub[0]), num=NUM_FIRST)
        if ch == ":" and sub == "P":
            return Edge(("TUP", "Q0"), set="TUP_SETP", num=NUM_CLEAR)
        if ch == ":" and sub in ("Q", "Q0"):
            return Edge(("TUP", "R0"), set="TUP_SETQ", num=NUM_CLEAR)
        setter = {"P": "TUP_START_P", "Q": "TUP_START_Q", "Q0": "TUP_START_Q",
                  "R": "TUP_START_R", "R0": "TUP_START_R"}[sub]
        edge = self._element("TUP", ch)
        if edge is None:
            return None
        return edge.but(set=setter, strict=edge.strict and sub == "P")

    def _B_BANG(self, state, ch):
        if ch == "\n":
            return Edge("B_LS")  # '!' at the end of a line: a line break (ABC 2.0)
        if ch in LETTERS:  # !name! decorations are followed, not written (abc2midi acts
            return Edge(("DECO",), tlen=TLEN_RESET)  # on some names, e.g. crescendos)
        return None

    def _B_BANG_B(self, state, ch):
        if ch == "\n":
            return Edge("B_LS", strict=True)
        edge = self._B_BANG(state, ch)
        return None if edge is None else edge.but(strict=False)

    def _DECO(self, state, ch):
        if ch == "!":
            return Edge("B_PRE", strict=True)
        if ch == "\n":
            return None
        return Edge(state, strict=ch in LETTERS, kind="TEXT_DECO", tlen=TLEN_INC)

    def _PD(self, state, ch):
        if ch == "+":
            return Edge("B_PRE")
        if ch == "\n":
            return None
        return Edge(state)

    def _Q(self, state, ch):
        """A quoted chord symbol or annotation; the strict grammar writes annotations
        ("^text") only: abc2midi plays chord symbols, and rejects unknown ones."""
        sub = state[1]
        if ch == "\n":
            return None
        if ch == '"':
            return Edge("B_PREQ", strict=sub == "A")
        if sub == "S" and ch == "^":
            return Edge(("Q", "A"), strict=True, tlen=TLEN_INC)
        if sub == "A":
            return _text_edge(ch, state, True, "TEXT_QUOTE")
        return Edge(("Q", "ANY"), tlen=TLEN_INC)

    def _GR(self, state, ch):
        """Grace notes {...}: notes without duration. Strict: 1-4 plain notes."""
        sub = state[1]
        if ch == "}":
            return Edge("B_PRE", strict=sub == "N")
        if ch is None:
            return None
        if ch in NOTES:
            return Edge(("GR", "N"), strict=True, kind="CHORD_MORE", tlen=TLEN_INC)
        if ch in "^_=,'/" or ch in DIGITS:
            return Edge(("GR", "X"))
        return None

    # -- chords and the '[' family -----------------------------------------------------------

    def _B_LBRK(self, state, ch):
        if ch is None:
            return None
        if ch in DIGITS and ch != "0":
            return Edge(("ENDN",), strict=ch in "12", kind="END1" if ch == "1" else "END2",
                        end=1)
        if ch == "|":
            return Edge("B_THICK")
        if ch in NOTES:
            return Edge(("CH", 1, "U" if ch in NOTE_UP else "L", 0), strict=True, kind="NOTE",
                        start=START_CHORD, tlen=TLEN_INC, tie=TIE_CLEAR)
        if ch in "^_=":
            return Edge(("CHA", 1), strict=True, kind="NOTE", start=START_CHORD,
                        tie=TIE_CLEAR)
        if ch in LETTERS:
            return Edge(("INL", ch if ch in "ML" else "T"))
        return None

    def _INL(self, state, ch):
        letter = state[1]
        if ch != ":":
            return None
        if letter == "M":
            return Edge(("MV", "I", "S"))
        if letter == "L":
            return Edge(("LV", "I", "S"))
        return Edge(("ITXT",))

    def _ITXT(self, state, ch):
        if ch == "]":
            return Edge("B_EL")
        if ch == "\n":
            return None
        return Edge(state)

    def _CHA(self, state, ch):
        first = state[1]
        if ch in NOTES:
            return Edge(("CH", first, "U" if ch in NOTE_UP else "L", 0), strict=True,
                        kind="CHORD_MORE" if first == 2 else "ALWAYS", tlen=TLEN_INC)
        return None

    def _CH(self, state, ch):
        """A note inside a chord: ('CH', first, case, sub). Only the first note's length
        counts (abc2midi: and only when the chord has no length after ']')."""
        _, first, case, sub = state
        if ch is None:
            return None
        if isinstance(sub, int):
            mark = "," if case == "U" else "'"
            if ch == mark:
                return Edge(("CH", first, case, min(sub + 1, 3)), strict=sub < 2)
            if ch in ",'":
                return Edge(("CH", first, case, 3))
            sub = "O"
        if ch in DIGITS or ch == "/":
            edge = self._length(state, sub, ch, lambda s: ("CH", first, case, s))
            if edge is None:
                return None
            return edge.but(strict=False, len=edge.len if first == 1 else 0)
        if ch == "]":
            return Edge(("CS", "L0"), strict=True, kind="CHORD_CLOSE", start=START_CHORD_CLOSE)
        if ch in NOTES:
            return Edge(("CH", 2, "U" if ch in NOTE_UP else "L", 0), strict=True,
                        kind="CHORD_MORE", tlen=TLEN_INC)
        if ch in "^_=":
            return Edge(("CHA", 2), strict=True, kind="CHORD_MORE")
        if ch == "-":
            return Edge(state)
        return None

    # -- bar lines -----------------------------------------------------------------------

    def _resolve(self, bar, ch, kind):
        """The bar line ends at `ch`, which then acts from just after a bar line."""
        edge = self.edge("B_PB", ch)
        if edge is None:
            return None
        # The mask checks this character before the bar line's registers change, so only
        # what any bar line allows may follow it directly.
        strict = edge.strict and edge.kind in ("ALWAYS", "NOTE", "SPACE", "LBRK", "TUP3")
        if bar == BAR_REPEND and edge.kind in ("NOTE", "TUP3"):
            kind = "REPEND_NOTE"
        if edge.kind == "TUP3":  # a triplet right after | (it must fit in an empty bar)
            strict = strict and bar == BAR_SINGLE
            kind = "SINGLE_TUP3"
        return edge.but(bar=bar, kind=kind, strict=strict)

    def _B_BAR1(self, state, ch):
        if ch == "|":
            return Edge("B_BAR2", strict=True, kind="SOFT")
        if ch == "]":
            return Edge("B_BARE", strict=True, kind="SOFT")
        if ch == ":":  # |: is followed, not written: the corpus never opens a repeat with it,
            return Edge("B_BARR", kind="REPSTART")  # and an unclosed one fails in abc2midi
        if ch in DIGITS and ch != "0":
            return Edge(("ENDN",), strict=ch == "1", kind="SINGLE_END1" if ch == "1" else
                        "SINGLE", bar=BAR_SINGLE, end=1)
        return self._resolve(BAR_SINGLE, ch, "SINGLE")

    def _B_BAR2(self, state, ch):
        return self._resolve(BAR_SOFT, ch, "SOFT")

    def _B_BARE(self, state, ch):
        return self._resolve(BAR_SOFT, ch, "SOFT")

    def _B_BARR(self, state, ch):
        return self._resolve(BAR_REPSTART, ch, "REPSTART")

    def _B_THICK(self, state, ch):
        if ch == ":":
            return Edge("B_BARR")
        edge = self._resolve(BAR_SOFT, ch, "SOFT")
        return None if edge is None else edge.but(strict=False)

    def _B_COLON(self, state, ch):
        if ch == "|":
            return Edge("B_REPEND", strict=True, kind="REPEND")
        if ch == ":":
            return Edge("B_DBLREP", kind="DBLREP")
        edge = self._resolve(BAR_SOFT, ch, "SOFT")  # a dotted bar line
        return None if edge is None else edge.but(strict=False)

    def _B_REPEND(self, state, ch):
        if ch in DIGITS and ch != "0":
            return Edge(("ENDN",), strict=ch == "2", kind="REPEND_END2", bar=BAR_REPEND,
                        end=1)
        if ch == "]":
            return Edge("B_REPEND_T")
        if ch == ":":
            return Edge("B_DBLREP")
        return self._resolve(BAR_REPEND, ch, "REPEND")

    def _B_REPEND_T(self, state, ch):
        edge = self._resolve(BAR_REPEND, ch, "REPEND")
        return None if edge is None else edge.but(strict=False)

    def _B_DBLREP(self, state, ch):
        return self._resolve(BAR_DBLREP, ch, "DBLREP")

    def _ENDN(self, state, ch):
        """After a variant ending's number: more numbers (1,3 or 1-2), then the music."""
        if (ch in DIGITS or ch in ",-"):
            return Edge(state)
        edge = self._element("EL", ch)
        if edge is None:
            return None
        return edge.but(strict=edge.strict and ch != "\n" and ch != "|" and ch != ":")


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

    def to_json(self) -> str:
        """Everything the JavaScript tracker needs, as one JSON document."""
        return json.dumps({
            "ticks_per_whole": TICKS_PER_WHOLE,
            "kinds": list(KINDS), "setters": list(SETTERS),
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
            "constants": {
                "dummy": LengthTrie.DUMMY, "root": LengthTrie.ROOT, "min_length": MIN_LENGTH,
                "forced_big": FORCED_BIG, "header_text_cap": HEADER_TEXT_CAP,
                "quote_cap": QUOTE_CAP, "decoration_cap": DECORATION_CAP,
                "chord_notes_cap": CHORD_NOTES_CAP,
                "bar": {"single": BAR_SINGLE, "soft": BAR_SOFT, "repstart": BAR_REPSTART,
                        "repend": BAR_REPEND, "dblrep": BAR_DBLREP},
                "num": {"first": NUM_FIRST, "more": NUM_MORE, "clear": NUM_CLEAR},
                "start": {"note": START_NOTE, "chord": START_CHORD,
                          "chord_close": START_CHORD_CLOSE},
                "len": {"numfirst": LEN_NUMFIRST, "nummore": LEN_NUMMORE, "slash": LEN_SLASH,
                        "denfirst": LEN_DENFIRST, "denmore": LEN_DENMORE},
                "tlen": {"reset": TLEN_RESET, "inc": TLEN_INC},
                "tie": {"set": TIE_SET, "clear": TIE_CLEAR},
            },
        }, separators=(",", ":"))


def _column_char(column):
    return OTHER_CHAR if column == OTHER else chr(column)


@functools.lru_cache(maxsize=1)
def build_tables() -> GrammarTables:
    grammar = Grammar()
    index = {START: 0, LOST: 1, END: 2}
    order = [START, LOST, END]
    rows = []
    i = 0
    while i < len(order):
        state = order[i]
        row = []
        for column in range(NUM_COLUMNS):
            edge = grammar.edge(state, _column_char(column))
            if edge is None:
                row.append(None)
                continue
            if edge.nxt not in index:
                index[edge.nxt] = len(order)
                order.append(edge.nxt)
            row.append(edge)
        rows.append(row)
        i += 1
    full = {f: np.zeros((len(order), NUM_COLUMNS), np.int32) for f in FIELDS}
    for s, row in enumerate(rows):
        for column, edge in enumerate(row):
            if edge is None:
                full["nxt"][s, column] = index[LOST]
                continue
            full["nxt"][s, column] = index[edge.nxt]
            full["follow"][s, column] = 1
            full["strict"][s, column] = int(edge.strict)
            full["kind"][s, column] = KIND[edge.kind]
            for f in ("fin", "brk", "bar", "end", "num", "start", "len", "tlen", "tie"):
                full[f][s, column] = getattr(edge, f)
            full["set"][s, column] = SET[edge.set]
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
        trie_values=trie.values, start=index[START], lost=index[LOST], end=index[END],
    )
