"""A tune's music as written, bar by bar: each note's pitch and length, each bar line's kind.

The reading that `tfcreative.music.performance` plays, in plain Python (a few milliseconds a
tune). It follows abc2midi, the reference player, where ABC leaves a choice:

* Accidentals carry to the end of the bar, for the letter in every octave (`^c c'`: both
  sharp); a note tied across a bar line keeps its pitch.
* A chord `[CEG]` lasts as long as its first note, unless a length follows the `]`.
* Grace notes `{g}` take time from the note they lead to, an eighth of it each.
* Broken rhythm and tuplets use the tracker's tables (`rhythm_tables`): one place for those
  rules.

What it does not read raises `NotPlayable` (the caller may hand the tune to music21): several
voices (`V:`, `&`), a header `P:` that orders the parts, keys with explicit accidentals, clef
transpositions, microtones, user-defined symbols and any character outside ABC's music.
Decorations (`~`, `!trill!`, ...) and annotations are read and not played; chord symbols
(`"Am"`) are kept with their time, for the accompaniment (`performance`).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from fractions import Fraction

from tfcreative import abc_notation
from tfcreative.music.rhythm_tables import (
    BROKEN_RHYTHM,
    BROKEN_RHYTHM_CODES,
    TUPLET_DEFAULT_Q,
    is_compound,
    sixteenth_unit,
)

SEMITONES = dict(zip(abc_notation.LETTERS, abc_notation.NATURAL_SEMITONES, strict=True))
_ACCIDENTALS = abc_notation.ACCIDENTALS
GRACE_SHARE = Fraction(1, 8)  # of the next note, per grace note (abc2midi)

_PITCH = r"(?:\^\^|\^|__|_|=)?[A-Ga-g][,']*"
_LENGTH = r"[0-9]*/*[0-9]*"
_TOKEN = re.compile(
    r'(?P<quoted>"[^"]*"?)'
    r"|(?P<decoration>![^!]*!|\+[^+]*\+)"
    r"|(?P<field>\[[A-Za-z]:[^\]]*\])"
    r"|(?P<ending>\[[0-9][0-9,\-]*)"
    r"|(?P<bar>(?:\[?[|:]*\|[|:]*\]?|::+)(?:[0-9][0-9,\-]*)?)"
    r"|(?P<grace>\{[^}]*\})"
    rf"|(?P<tuplet>\([0-9]+(?::[0-9]*)?(?::[0-9]*)?)"
    rf"|(?P<chord>\[(?:\s*{_PITCH}{_LENGTH}-?)+\s*\]{_LENGTH})"
    rf"|(?P<note>{_PITCH}{_LENGTH})"
    rf"|(?P<rest>[zx]{_LENGTH})"
    r"|(?P<measure_rest>[ZX][0-9]*)"
    r"|(?P<tie>-)"
    r"|(?P<broken>>{1,3}|<{1,3})"
    r"|(?P<ignored>[\s`.~HLMOPSTuvy()\\!])"  # (a lone ! ends a line in ABC 2.0)
    r"|(?P<other>.)")
_NOTE = re.compile(r"(\^\^|\^|__|_|=)?([A-Ga-g])([,']*)([0-9]*/*[0-9]*)(-?)")
_LENGTH_PARTS = re.compile(r"([0-9]*)(/*)([0-9]*)")


class NotPlayable(ValueError):
    """The tune uses ABC this reader does not play; the message says what."""


@dataclasses.dataclass
class Sound:
    """A note or chord as written: MIDI pitches (none: a rest), its start in the bar and
    length (whole notes), tied to the next; grace notes' pitches before it."""

    pitches: tuple[int, ...]
    start: Fraction
    length: Fraction
    tied: bool = False
    graces: tuple[int, ...] = ()
    keys: tuple = ()  # (letter, octave) of each pitch as written: what a tie continues


@dataclasses.dataclass
class Bar:
    """The music between two bar lines, and what those bar lines say."""

    sounds: list = dataclasses.field(default_factory=list)
    length: Fraction = Fraction(0)  # its written time, whole notes
    endings: frozenset | None = None  # the variant endings it belongs to ([1, :|2, [1,2 ...)
    starts_repeat: bool = False  # |: or :: before it
    ends_repeat: bool = False  # :| or :: after it
    ends_part: bool = False  # || |] or [| after it
    changes: list = dataclasses.field(default_factory=list)  # (start, field, value): K: M: L: Q:
    chord_symbols: list = dataclasses.field(default_factory=list)  # (start, "Am")


@dataclasses.dataclass
class Settings:
    """What the fields set, as the music goes: meter (None: M:none), unit length, key."""

    meter: tuple[int, int] | None = (4, 4)
    unit: Fraction = Fraction(1, 8)
    key_sharps: int = 0
    key_minor: bool = False
    tempo: str = ""


def read_meter(value: str) -> tuple[int, int] | None:
    value = value.strip()
    if value in ("C", "C|"):
        return (4, 4) if value == "C" else (2, 2)
    if value.lower() == "none" or not value:
        return None
    match = re.match(r"(\d+(?:\+\d+)*)/(\d+)", value)
    if not match:
        raise NotPlayable(f"a meter it does not read: M:{value}")
    return sum(int(n) for n in match.group(1).split("+")), int(match.group(2))


def read_key(value: str) -> tuple[int, bool]:
    """(sharps, minor) of a K: value; raises NotPlayable for what changes pitches otherwise."""
    if value.strip().lower() in ("", "none"):
        return 0, False
    key = abc_notation.parse_key(value)
    if key is None or re.search(r"(^|\s)(exp\b|[_^=][A-Ga-g])|octave=|transpose=|middle=",
                                key.rest):
        raise NotPlayable(f"a key it does not play: K:{value.strip()}")
    return key.sharps, key.mode == "m"


def length_of(text: str) -> Fraction:
    """A written length's multiple of the unit note length: "" 1, "3" 3, "/" 1/2, "//" 1/4,
    "3/2" 3/2, "/4" 1/4."""
    numerator, slashes, denominator = _LENGTH_PARTS.fullmatch(text).groups()
    value = Fraction(int(numerator or 1))
    if denominator:
        return value / (int(denominator) * 2 ** max(len(slashes) - 1, 0))
    return value / 2 ** len(slashes)


@functools.cache
def _key_alterations(key_sharps: int) -> dict[str, int]:
    """The key signature's alterations per letter, made once per key (read, never changed)."""
    return abc_notation.key_signature_alterations(key_sharps)


def written_pitch(letter: str, octave_marks: str) -> tuple[str, int]:
    """(upper-case letter, octave: 0 for C-B, 1 for c-b, +1 a ', -1 a ,) as written."""
    return letter.upper(), (1 if letter.islower() else 0) + octave_marks.count("'") - \
        octave_marks.count(",")


class _BarReader:
    """Reads the body's tokens into bars (one tune, one voice)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.bars = [Bar()]
        self.time = Fraction(0)  # in the current bar
        self.bar_accidentals: dict[str, int] = {}
        self.tuplet: tuple[Fraction, int] | None = None  # (factor, notes left)
        self.next_factor = Fraction(1)  # broken rhythm's share for the next sound
        self.graces: tuple[int, ...] = ()
        self.last_sound: Sound | None = None

    @property
    def bar(self) -> Bar:
        return self.bars[-1]

    def pitch(self, accidental: str | None, letter: str, octave_marks: str,
              carry: bool = True) -> int:
        """A note's MIDI pitch; `carry` False (a grace note) leaves the bar's accidentals
        and ties alone."""
        upper, octave = written = written_pitch(letter, octave_marks)
        last = self.last_sound
        if accidental is None and carry and last is not None and last.tied \
                and written in last.keys:  # a tie continues the note's pitch
            return last.pitches[last.keys.index(written)]
        if accidental is not None and carry:
            self.bar_accidentals[upper] = _ACCIDENTALS[accidental]
        alteration = _ACCIDENTALS[accidental] if accidental is not None else \
            self.bar_accidentals.get(upper, self.key_alterations.get(upper, 0))
        return 60 + 12 * octave + SEMITONES[upper] + alteration

    @property
    def key_alterations(self) -> dict[str, int]:
        return _key_alterations(self.settings.key_sharps)

    def add_sound(self, pitches: tuple[int, ...], written: Fraction, tied: bool,
                  keys: tuple = ()) -> None:
        length = written * self.settings.unit * self.next_factor
        self.next_factor = Fraction(1)
        if self.tuplet is not None:
            factor, left = self.tuplet
            length *= factor
            self.tuplet = (factor, left - 1) if left > 1 else None
        self.last_sound = Sound(pitches, self.time, length, tied, self.graces, keys)
        self.bar.sounds.append(self.last_sound)
        self.graces = ()
        self.time += length

    def broken_rhythm(self, marks: str) -> None:
        """`>`, `>>` ...: each mark changes the previous note by a share of its length as
        written (the tracker's rows, one per mark) and sets the next note's factor."""
        if not self.bar.sounds:
            raise NotPlayable(f"broken rhythm {marks} without a note before it")
        last = self.bar.sounds[-1]
        written = last.length
        for count in range(1, len(marks) + 1):
            change_num, change_den, next_num, next_den = \
                BROKEN_RHYTHM[BROKEN_RHYTHM_CODES[marks[:count]]]
            change = written * Fraction(change_num, change_den)
            last.length += change
            self.time += change
            self.next_factor = Fraction(next_num, next_den)

    def start_tuplet(self, text: str) -> None:
        counts = [int(c) if c else 0 for c in text[1:].split(":")] + [0, 0]
        p, q, r = counts[:3]
        q = q or TUPLET_DEFAULT_Q[p] or (3 if is_compound(self.settings.meter) else 2)
        self.tuplet = (Fraction(q, p), r or p)

    def bar_line(self, text: str) -> None:
        lines = text.rstrip("0123456789,-")
        self.bar.ends_repeat = lines.startswith(":")
        self.bar.ends_part = "||" in lines or "]" in lines or "[|" in lines
        self.bar.length = self.time
        self.bars.append(Bar(starts_repeat=lines.endswith(":") and lines != ":"))
        self.time, self.bar_accidentals = Fraction(0), {}
        if lines != text:
            self.mark_ending(text[len(lines):])

    def mark_ending(self, numbers: str) -> None:
        found = set()
        for part in numbers.split(","):
            low, _, high = part.partition("-")
            if low:
                found.update(range(int(low), int(high or low) + 1))
        self.bar.endings = frozenset(found)

    def finish(self) -> list[Bar]:
        self.bar.length = self.time
        bars = [bar for bar in self.bars if bar.sounds or bar.ends_repeat or bar.starts_repeat
                or bar.endings or bar.changes or bar.chord_symbols]
        _extend_endings(bars)
        return bars


def _extend_endings(bars: list[Bar]) -> None:
    """A variant ending lasts from its mark to a `:|`, `||` or `|]` (that bar included), a
    `|:` or the next ending's mark: the bars in between belong to it too."""
    for previous, bar in zip(bars, bars[1:], strict=False):
        if bar.endings is None and previous.endings is not None and not bar.starts_repeat \
                and not previous.ends_repeat and not previous.ends_part:
            bar.endings = previous.endings


def _read_token(reader: _BarReader, kind: str, text: str) -> None:
    if kind == "note":
        accidental, letter, marks, length, tie = _NOTE.fullmatch(text).groups()
        reader.add_sound((reader.pitch(accidental, letter, marks),), length_of(length),
                         bool(tie), (written_pitch(letter, marks),))
    elif kind == "rest":
        reader.add_sound((), length_of(text[1:]), False)
    elif kind == "chord":
        _read_chord(reader, text)
    elif kind == "bar":
        reader.bar_line(text)
    elif kind == "ending":
        reader.mark_ending(text[1:])
    elif kind == "tie":
        if reader.last_sound is not None:
            reader.last_sound.tied = True
    elif kind == "broken":
        reader.broken_rhythm(text)
    elif kind == "tuplet":
        reader.start_tuplet(text)
    elif kind == "grace":
        reader.graces = tuple(reader.pitch(a or None, letter, m, carry=False)
                              for a, letter, m, _, _ in _NOTE.findall(text[1:-1]))
    elif kind == "measure_rest":
        meter = reader.settings.meter or (4, 4)
        bars = int(text[1:] or 1)
        reader.add_sound((), Fraction(meter[0], meter[1]) * bars / reader.settings.unit, False)
    elif kind == "quoted":
        if abc_notation.is_chord_symbol(text):
            reader.bar.chord_symbols.append((reader.time, text.strip('"')))
    elif kind == "field":
        _change(reader, text[1], text[3:-1])
    elif kind == "other":
        raise NotPlayable(f"{text!r} in the music" if text != "&" else
                          "a voice overlay (&)")


def _read_chord(reader: _BarReader, text: str) -> None:
    inner, _, after = text[1:].rpartition("]")
    notes = _NOTE.findall(inner)
    pitches = tuple(reader.pitch(a or None, letter, marks) for a, letter, marks, _, _ in notes)
    written = length_of(after) if after else length_of(notes[0][3])
    reader.add_sound(pitches, written, any(tie for *_, tie in notes),
                     tuple(written_pitch(letter, marks) for _, letter, marks, _, _ in notes))


def _change(reader: _BarReader, field: str, value: str) -> None:
    """A field in the body (a line or inline): K: M: L: Q: change what follows."""
    settings = reader.settings
    if field == "K":
        settings.key_sharps, settings.key_minor = read_key(value)
    elif field == "M":
        settings.meter = read_meter(value)
    elif field == "L":
        settings.unit = Fraction(value.strip())
    elif field == "Q":
        settings.tempo = value
    elif field == "V":
        raise NotPlayable("several voices (V:)")
    else:
        return
    reader.bar.changes.append((reader.time, field, value.strip()))


def read_header(lines: list[str]) -> Settings:
    """The settings the header's fields make (L: defaults to the meter's, as ABC says)."""
    settings, unit_written = Settings(), False
    for line in lines:
        field = abc_notation.field_of(line)
        if field is None:
            continue
        letter, value = field
        if letter == "M":
            settings.meter = read_meter(value)
        elif letter == "L":
            settings.unit, unit_written = Fraction(value.strip()), True
        elif letter == "K":
            settings.key_sharps, settings.key_minor = read_key(value)
        elif letter == "Q":
            settings.tempo = value
        elif letter == "P" and len(value.strip()) > 1:
            raise NotPlayable(f"parts played in an order (P:{value.strip()})")
        elif letter == "V":
            raise NotPlayable("several voices (V:)")
    meter = settings.meter
    if not unit_written and meter is not None and sixteenth_unit(*meter):
        settings.unit = Fraction(1, 16)
    return settings


def read_bars(abc: str) -> tuple[Settings, list[Bar]]:
    """The header's settings and the tune's bars; raises NotPlayable."""
    header, body = abc_notation.split_header(abc)
    if not header:
        raise NotPlayable("no K: line")
    try:
        settings = read_header(header)
        reader = _BarReader(dataclasses.replace(settings))
        for line in body:
            _read_line(reader, line)
    except (ValueError, ZeroDivisionError, IndexError) as error:
        if isinstance(error, NotPlayable):
            raise
        raise NotPlayable(f"music it cannot read ({error})") from error
    return settings, reader.finish()


_COMMENT = re.compile(r"(?<!\\)%.*")


def _read_line(reader: _BarReader, line: str) -> None:
    line = _COMMENT.sub("", line)
    field = abc_notation.field_of(line)
    if field is not None and field[0] not in "ABCDEFGabcdefg":  # (A:| is music in the body)
        _change(reader, *field)
        return
    for match in _TOKEN.finditer(line):
        _read_token(reader, match.lastgroup, match.group())
