"""A tune's form as a musician counts it: parts, their bars and repeats, and where it ends.

Read from the ABC text by a small parser of its own (bar lines, endings, note lengths, keys),
sharing no code with the meter tracker (`abc_grammar`, `meter_rules`), so that it can judge
what the tracker makes of a tune:

* **parts**: the music split at the part-ending bar lines `|:`, `:|`, `::`, `||` and `|]`
  (also `:||`, `[|`, ...); a second ending (`[2`, `:|2`, `|2`) is folded into the part its
  first ending closed, as a musician reads "play it again, ending the other way";
* **bars** of a part: the stretches between bar lines that hold music, without the part's
  pickup (a first bar shorter than the meter's); a first ending counts, its second does not;
* **repeated**: the part closes with a repeat (`:|`, `::`) or has variant endings (a tune
  "repeats its parts" when any part does);
* **the last note** (its letter) against the key's tonic: `K:D`, `K:Dm`, `K:D Dorian`,
  `K:Ddor`, `K:D Mixolydian` ... all have the tonic D (a mode's final, not its relative
  major). The last note is the last one written (chords: their first note), rests aside;
  it is the tonic when its letter is the tonic's and an explicit accidental, if any, is the
  tonic's own (`_B` in B flat; `=B` there is not).
* **quoted strings**: chord symbols and annotations (`"G"`, `"^Segno"`), counted;
* **notes**: each note's MIDI pitch (the key signature, accidentals carried to the end of
  their bar, octave marks) and length in whole notes, in order (a chord: its first note),
  for `similarity`'s histograms.

`form_report(tunes)` gives the shares a table prints (`FormReport.ROWS`).
"""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction

PART_LENGTHS = (8, 16)  # bars a folk tune's part has (a pickup aside)

_FIELD_LINE = re.compile(r"^([A-Za-z]):(.*)$")
_QUOTED = re.compile(r'"[^"\n]*"')
_SKIPPED = re.compile(r"![^!\n]*!|\+[^+\n]*\+|\{[^}\n]*\}|%.*$", re.MULTILINE)
_TOKEN = re.compile(r"""
    (?P<field>\[[A-Za-z]:[^\]\n]*\])                          # inline field [M:3/4]
  | (?P<ending>\[\d+(?:[,-]\d+)*)                               # [1 [2
  | (?P<bar>:*(?:\[\||\|\]|\|+)(?:\]|:+)?|::+)(?P<number>\d+(?:[,-]\d+)*)?
  | (?P<chord>\[[^\]\[|"]*\])(?P<chord_length>\d*(?:/+\d*)?)   # [CEG]2
  | (?P<accidental>\^\^|\^|__|_|=)?(?P<letter>[A-Ga-g])(?P<octave>[,']*)(?P<length>\d*(?:/+\d*)?)
  | (?P<rest>[zx])(?P<rest_length>\d*(?:/+\d*)?)
  | (?P<bars_rest>Z)(?P<bars_count>\d*)
  | \((?P<p>[2-9])(?::(?P<q>\d*))?(?::(?P<r>\d*))?                 # tuplets (3 (3:2:3
  | (?P<broken>[<>]{1,3})
""", re.VERBOSE)
_KEY = re.compile(r"\s*([A-G])([#b]?)\s*([A-Za-z]*)")
_MODE_FIFTHS = {"major": 0, "minor": -3, "dorian": -2, "mixolydian": -1, "lydian": 1,
                "phrygian": -4, "locrian": -5}
_TONIC_FIFTHS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F": -1}
_BASE_PITCH = {"C": 60, "D": 62, "E": 64, "F": 65, "G": 67, "A": 69, "B": 71}
_ACCIDENTAL = {"^^": 2, "^": 1, "=": 0, "_": -1, "__": -2}
_MODES = {"": "major", "m": "minor", "min": "minor", "minor": "minor", "maj": "major",
          "major": "major", "ion": "major", "ionian": "major", "aeo": "minor",
          "aeolian": "minor", "dor": "dorian", "dorian": "dorian", "mix": "mixolydian",
          "mixolydian": "mixolydian", "lyd": "lydian", "lydian": "lydian",
          "phr": "phrygian", "phrygian": "phrygian", "loc": "locrian", "locrian": "locrian"}


@dataclasses.dataclass(frozen=True)
class Key:
    tonic: str  # "A" .. "G"
    accidental: str  # "", "#" or "b"
    mode: str  # "major", "minor", "dorian", ...

    def signature(self) -> dict:
        """Letter -> semitones the key signature adds (F: 1 in D major)."""
        fifths = (_TONIC_FIFTHS[self.tonic] + 7 * {"": 0, "#": 1, "b": -1}[self.accidental]
                  + _MODE_FIFTHS[self.mode])
        order = "FCGDAEB" if fifths > 0 else "BEADGCF"
        return {letter: (1 if fifths > 0 else -1) for letter in order[:abs(fifths)]}


def read_key(value: str) -> Key | None:
    """The key of a K: value (`D`, `Ador`, `F# Minor`, `Bb`, ...); None for none, a
    highland-pipe key or anything else."""
    match = _KEY.match(value)
    if not match:
        return None
    mode = match.group(3).lower()
    mode = _MODES.get(mode, _MODES.get(mode[:3]))
    if mode is None:
        return None
    return Key(match.group(1), match.group(2), mode)


def _length(text: str) -> Fraction:
    """A note length's multiplier: "" 1, "3" 3, "/" 1/2, "//" 1/4, "3/2", "/4"."""
    if not text:
        return Fraction(1)
    numerator, slashes, denominator = re.fullmatch(r"(\d*)(/*)(\d*)", text).groups()
    value = Fraction(int(numerator) if numerator else 1)
    if denominator:
        return value / (int(denominator) * 2 ** max(len(slashes) - 1, 0))
    return value / 2 ** len(slashes)


def _meter(value: str) -> Fraction | None:
    """A bar's length in whole notes (None: M:none or unreadable)."""
    value = value.strip()
    if value in ("C", "C|"):
        return Fraction(1)
    match = re.match(r"(\d+)/(\d+)", value)
    if match and int(match.group(2)):
        return Fraction(int(match.group(1)), int(match.group(2)))
    return None


@dataclasses.dataclass
class Part:
    bars: int = 0
    repeated: bool = False
    pickup: bool = False
    has_endings: bool = False
    first_ending_start: int = 0  # bars before its first ending


@dataclasses.dataclass
class TuneForm:
    """What `read_form` finds in one tune."""

    parts: list
    key: Key | None
    last_note: str | None  # as written: accidental and letter, e.g. "_B", "d"
    quoted_strings: int
    notes: list = dataclasses.field(default_factory=list)  # (MIDI pitch, whole notes)

    @property
    def bars(self) -> int:
        return sum(part.bars for part in self.parts)

    @property
    def part_lengths_ok(self) -> bool:
        """Every part has 8 or 16 bars (its pickup aside)."""
        return bool(self.parts) and all(
            p.bars in PART_LENGTHS or (p.repeated and 2 * p.bars in PART_LENGTHS)
            for p in self.parts)

    @property
    def repeated(self) -> bool:
        """The tune repeats its parts (`|: :|` or variant endings), in any part."""
        return any(p.repeated for p in self.parts)

    @property
    def ends_on_tonic(self) -> bool:
        if self.key is None or self.last_note is None:
            return False
        accidental, letter = self.last_note[:-1], self.last_note[-1]
        own = {"": "=", "#": "^", "b": "_"}[self.key.accidental]
        return letter.upper() == self.key.tonic and accidental in ("", own)


class _Reader:
    """Walks a tune's body token by token, closing bars and parts."""

    def __init__(self, bar_length: Fraction | None, unit: Fraction, compound: bool,
                 key: Key | None):
        # (bar_length None: no meter, every stretch between bar lines is a bar)
        self.bar_length, self.unit, self.compound = bar_length, unit, compound
        self.signature = key.signature() if key else {}
        self.bar_accidentals = {}  # (letter, octave) -> semitones, to the bar's end
        self.notes = []  # (MIDI pitch, length in whole notes)
        self.parts: list[Part] = []
        self.part = Part()
        self.position = Fraction(0)  # music in the current bar so far
        self.in_second_ending = False  # a second ending, folded into the part before
        self.first_ending_bars = 0  # ... as long as that part's first ending
        self.second_ending_bars = 0
        self.tuplet_left, self.tuplet_factor = 0, Fraction(1)
        self.broken_next = Fraction(1)
        self.last_duration = Fraction(0)
        self.last_note = None

    # -- durations
    def add(self, duration: Fraction) -> None:
        factor = self.broken_next
        self.broken_next = Fraction(1)
        if self.tuplet_left:
            factor *= self.tuplet_factor
            self.tuplet_left -= 1
        self.last_duration = duration * factor
        self.position += self.last_duration

    def note(self, accidental: str | None, letter: str, octave: str, length: Fraction):
        """A note (or a chord's first note) sounds."""
        self.add(length)
        place = (letter.upper(), letter.islower() + octave.count("'") - octave.count(","))
        if accidental:
            self.bar_accidentals[place] = _ACCIDENTAL[accidental]
        shift = self.bar_accidentals.get(place, self.signature.get(place[0], 0))
        self.notes.append([_BASE_PITCH[place[0]] + 12 * place[1] + shift, self.last_duration])
        self.last_note = (accidental or "") + letter

    def broken(self, marks: str) -> None:
        shift = {1: Fraction(1, 2), 2: Fraction(3, 4), 3: Fraction(7, 8)}[len(marks)]
        change = self.last_duration * shift
        self.position += change if marks[0] == ">" else -change
        if self.notes:
            self.notes[-1][1] += change if marks[0] == ">" else -change
        self.broken_next = 1 - shift if marks[0] == ">" else 1 + shift

    def tuplet(self, p: int, q: str | None, r: str | None) -> None:
        default_q = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}.get(p, 3 if self.compound else 2)
        self.tuplet_factor = Fraction(int(q) if q else default_q, p)
        self.tuplet_left = int(r) if r else p

    # -- bars and parts
    def close_bar(self) -> None:
        self.bar_accidentals = {}
        if self.position <= 0:
            return
        short = self.bar_length is not None and self.position < self.bar_length
        self.position = Fraction(0)
        if self.in_second_ending:
            self.second_ending_bars += 1
            if self.second_ending_bars <= self.first_ending_bars:
                return  # folded into its part
            self.in_second_ending = False  # longer than its first ending: a new part's
        if self.part.bars == 0 and not self.part.pickup and short:
            self.part.pickup = True  # a pickup: not a bar of the part
        else:
            self.part.bars += 1

    def end_part(self, repeat_end: bool) -> None:
        if self.in_second_ending:
            self.in_second_ending = False
            return
        self.part.repeated |= repeat_end
        if self.part.bars:
            self.parts.append(self.part)
            self.part = Part()

    def bar_line(self, bar: str, number: str | None) -> None:
        self.close_bar()
        repeat_end = bar.startswith(":")
        part_end = ":" in bar or "||" in bar or "]" in bar or "[|" in bar
        if number is None:
            if part_end:
                self.end_part(repeat_end)
            return
        if part_end and not repeat_end:  # ||1: the bar line, then the ending
            self.end_part(False)
        elif repeat_end and number[0] != "1":  # :|2 closes the first ending
            self.end_part(True)
        self.ending(number)

    def ending(self, number: str) -> None:
        """A variant ending starts: the first counts in its part, a later one folds into the
        part the first one closed."""
        if number.startswith("1"):
            self.part.has_endings = self.part.repeated = True
            self.part.first_ending_start = self.part.bars
            return
        last = self.parts[-1] if self.parts else None
        if last is not None and last.has_endings and not self.part.bars:
            self.in_second_ending, self.second_ending_bars = True, 0
            self.first_ending_bars = max(last.bars - last.first_ending_start, 1)
        else:
            self.part.has_endings = self.part.repeated = True

    def finish(self) -> list[Part]:
        self.close_bar()
        if self.part.bars:
            self.parts.append(self.part)
        return self.parts


def _header_and_body(abc: str) -> tuple[dict, list[str]]:
    lines = abc.split("\n")
    fields, index = {}, 0
    for index, line in enumerate(lines):
        match = _FIELD_LINE.match(line)
        if match:
            fields.setdefault(match.group(1), match.group(2).strip())
            if match.group(1) == "K":
                return fields, lines[index + 1:]
    return fields, []


def _unit(meter: Fraction | None, unit_field: str | None) -> Fraction:
    if unit_field:
        match = re.match(r"\s*1/(\d+)", unit_field)
        if match and int(match.group(1)):
            return Fraction(1, int(match.group(1)))
    return Fraction(1, 16) if meter is not None and meter < Fraction(3, 4) else Fraction(1, 8)


def read_form(abc: str) -> TuneForm:
    """The tune's form (see the module docstring)."""
    fields, body = _header_and_body(abc)
    meter = _meter(fields.get("M", "")) if "M" in fields else Fraction(1)
    compound = bool(re.match(r"\s*(6|9|12)/", fields.get("M", "")))
    key = read_key(fields.get("K", ""))
    reader = _Reader(meter, _unit(meter, fields.get("L")), compound, key)
    quoted = 0
    for line in body:
        field = _FIELD_LINE.match(line)
        if field and field.group(1) not in "ABCDEFGabcdefgzx":  # (g:| is music)
            if field.group(1) == "K":
                key = read_key(field.group(2)) or key
                reader.signature = key.signature() if key else {}
            elif field.group(1) == "L":
                reader.unit = _unit(reader.bar_length, field.group(2))
            elif field.group(1) == "M":
                reader.bar_length = _meter(field.group(2))
            continue
        quoted += len(_QUOTED.findall(line))
        _read_line(reader, _SKIPPED.sub("", _QUOTED.sub("", line)))
    return TuneForm(parts=reader.finish(), key=key, last_note=reader.last_note,
                    quoted_strings=quoted,
                    notes=[(pitch, length) for pitch, length in reader.notes])


def _read_line(reader: _Reader, line: str) -> None:
    for token in _TOKEN.finditer(line):
        group = token.groupdict()
        if group["field"]:
            inline = _FIELD_LINE.match(group["field"][1:-1])
            if inline and inline.group(1) == "M":
                reader.bar_length = _meter(inline.group(2))
            elif inline and inline.group(1) == "L":
                reader.unit = _unit(reader.bar_length, inline.group(2))
        elif group["ending"]:
            reader.close_bar()
            reader.ending(group["ending"][1:])
        elif group["bar"]:
            reader.bar_line(group["bar"], group["number"])
        elif group["chord"]:
            notes = re.findall(r"(\^\^|\^|__|_|=)?([A-Ga-g])([,']*)(\d*(?:/+\d*)?)",
                               group["chord"])
            if notes:
                accidental, letter, octave, length = notes[0]
                reader.note(accidental, letter, octave,
                            reader.unit * _length(length) * _length(group["chord_length"]))
        elif group["letter"]:
            reader.note(group["accidental"], group["letter"], group["octave"],
                        reader.unit * _length(group["length"]))
        elif group["rest"]:
            reader.add(reader.unit * _length(group["rest_length"]))
        elif group["bars_rest"] and reader.bar_length:
            for _ in range(int(group["bars_count"] or 1)):
                reader.position = reader.bar_length
                reader.close_bar()
        elif group["p"]:
            reader.tuplet(int(group["p"]), group["q"], group["r"])
        elif group["broken"]:
            reader.broken(group["broken"])


@dataclasses.dataclass
class FormReport:
    """Shares (0..1) of `num_tunes` tunes, and means per tune."""

    num_tunes: int
    part_lengths: float  # every part has 8 or 16 bars (pickup aside)
    repeated: float  # parts repeated (in any part)
    parts_asked: float  # the number of parts asked (or the usual two)
    ends_on_tonic: float
    bars_per_tune: float
    quoted_strings_per_tune: float

    ROWS = (("part_lengths", "every part has 8 or 16 bars"),
            ("repeated", "parts repeated (|: :| or endings)"),
            ("parts_asked", "the number of parts asked"),
            ("ends_on_tonic", "last note is the key's tonic"))
    MEANS = (("bars_per_tune", "bars per tune"),
             ("quoted_strings_per_tune", "quoted strings per tune"))


def form_report(tunes: list[str], parts: int = 2) -> FormReport:
    if not tunes:
        raise ValueError("no tunes to read")
    forms = [read_form(t) for t in tunes]
    n = len(forms)
    return FormReport(
        num_tunes=n,
        part_lengths=sum(f.part_lengths_ok for f in forms) / n,
        repeated=sum(f.repeated for f in forms) / n,
        parts_asked=sum(len(f.parts) == parts for f in forms) / n,
        ends_on_tonic=sum(f.ends_on_tonic for f in forms) / n,
        bars_per_tune=sum(f.bars for f in forms) / n,
        quoted_strings_per_tune=sum(f.quoted_strings for f in forms) / n,
    )
