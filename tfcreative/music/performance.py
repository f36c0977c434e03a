"""A tune as a player plays it: every note's start, length, pitch and loudness, repeats and
variant endings played out, ties joined; the tempo and meter as they change.

`perform(abc)` reads the tune (`tfcreative.music.abc_bars`) and plays its bars in order:

* Repeats: a `:|` sends the player back once, to the last `|:`, or to just after the
  previous `:|` (or a `||` or `|]` after it) when no `|:` came since ("A part twice, B part
  twice"), or to the tune's start. A bar in a variant ending (`[1`, `:|2`, `[1,2`) is played
  only on its pass, and a `:|` in one sends back while an ending for the next pass is to
  come. Once the endings are over (a bar in none follows a bar in one) the next repeat starts
  there; abc2midi goes back to the tune's start instead where a part without `|:` follows a
  second ending, playing the first part a third time. Otherwise the order is abc2midi's
  (tests/test_performance.py). Whatever the order of the signs, the playing ends.
* Loudness at abc2midi's default levels: 105 on the first note of a bar, 95 on its other
  beats (a dotted crotchet in 6/8, a crotchet in 4/4: abc2midi accents fewer of them), 80
  between beats.
* Chord symbols as an accompaniment (`chord_symbols`: the chord from the C below middle C,
  softer than the tune), each held until the next one plays, or the tune ends.
* Tempo from `Q:` (`1/4=120`, `3/8=100`, `"Allegro" 1/4=120`; a bare number counts unit
  notes), 120 crotchets a minute without one.

Times are exact fractions of a whole note; `tfcreative.music.midi_file` writes them as ticks.
"""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction

from tfcreative.music.abc_bars import GRACE_SHARE, Bar, NotPlayable, read_bars, read_meter
from tfcreative.music.chord_symbols import chord_pitches
from tfcreative.music.rhythm_tables import is_compound

__all__ = ["NotPlayable", "Performance", "PlayedNote", "perform", "play_order"]

FIRST_NOTE_VELOCITY, BEAT_VELOCITY, OTHER_VELOCITY = 105, 95, 80
ACCOMPANIMENT_VELOCITY = 60
DEFAULT_TEMPO = 500_000  # microseconds a crotchet: 120 a minute
LONGEST = Fraction(20_000)  # whole notes (an hour and more): a MIDI file's times stay in range
_TEMPO = re.compile(r"((?:[0-9]+/[0-9]+\s*)+)=\s*([0-9.]+)")


@dataclasses.dataclass(frozen=True)
class PlayedNote:
    start: Fraction  # whole notes from the tune's start
    duration: Fraction
    pitch: int  # MIDI note number (60: middle C, ABC's C)
    velocity: int


@dataclasses.dataclass(frozen=True)
class Performance:
    notes: tuple[PlayedNote, ...]  # the tune's, by start
    accompaniment: tuple[PlayedNote, ...]  # the chord symbols' notes, by start
    tempos: tuple[tuple[Fraction, int], ...]  # (start, microseconds a crotchet)
    meters: tuple[tuple[Fraction, tuple[int, int]], ...]  # (start, (numerator, denominator))
    key_sharps: int  # the header's key signature (flats negative)
    key_minor: bool
    end: Fraction  # when the last bar ends


def play_order(bars: list[Bar]) -> list[int]:
    """The bars' indices in the order they are played (module docstring)."""
    order, taken = [], set()
    section, passes, index = 0, 1, 0
    while index < len(bars):
        bar = bars[index]
        if bar.starts_repeat and index != section:
            section, passes = index, 1
        if bar.endings is not None and passes not in bar.endings:
            index += 1
            continue
        if bar.endings is None and order and order[-1] == index - 1 \
                and bars[index - 1].endings is not None:  # the endings are over
            section, passes = index, 1
        order.append(index)
        if bar.ends_repeat and _sends_back(bars, section, index, passes, taken):
            taken.add(index)
            passes += 1
            index = section
            continue
        if bar.ends_repeat or (bar.ends_part and taken):
            section, passes = index + 1, 1
        index += 1
    return order


def _sends_back(bars: list[Bar], section: int, index: int, passes: int, taken: set) -> bool:
    """Whether the `:|` after bar `index` sends the player back: once, or, in a variant
    ending, while an ending for the next pass is still to come."""
    if bars[index].endings is None:
        return index not in taken
    following = []
    for bar in bars[section:]:
        if bar.endings is None and following:
            break
        following.extend(bar.endings or ())
    return passes + 1 in following


def tempo_of(value: str, unit: Fraction) -> int | None:
    """Microseconds a crotchet for a Q: value; None for one that sets no tempo (text)."""
    text = re.sub(r'"[^"]*"', "", value).strip()
    match = _TEMPO.search(text)
    if match:
        beat = sum(Fraction(part) for part in match.group(1).split())
        per_minute = float(match.group(2))
    elif re.fullmatch(r"[0-9]+", text):
        beat, per_minute = unit, float(text)
    else:
        return None
    if per_minute <= 0 or beat <= 0:
        return None
    # (a MIDI tempo is 3 bytes: at most 16.7 s a crotchet)
    return min(max(round(60_000_000 / (per_minute * float(beat) * 4)), 1), 0xFFFFFF)


def _accent(position: Fraction, meter: tuple[int, int] | None) -> int:
    if position == 0:
        return FIRST_NOTE_VELOCITY
    if meter is None:
        beat = Fraction(1, 4)
    else:
        beat = Fraction(3 if is_compound(meter) else 1, meter[1])
    return BEAT_VELOCITY if position % beat == 0 else OTHER_VELOCITY


class _Player:
    """Plays bars one after another, collecting notes, tempos and meters."""

    def __init__(self, meter, tempo):
        self.time = Fraction(0)
        self.meter, self.notes, self.held = meter, [], {}
        self.chords = []  # (start, pitches)
        self.tempos = [(Fraction(0), tempo)]
        self.meters = [(Fraction(0), meter)] if meter is not None else []

    def play(self, bar: Bar, unit: Fraction) -> None:
        changes = sorted(bar.changes, key=lambda change: change[0])
        for sound in bar.sounds:
            while changes and changes[0][0] <= sound.start:
                self.change(*changes.pop(0), unit)
            self.sound(sound)
        for change in changes:
            self.change(*change, unit)
        self.chords.extend((self.time + start, chord_pitches(symbol))
                           for start, symbol in bar.chord_symbols)
        self.time += bar.length

    def accompaniment(self) -> list[PlayedNote]:
        """Each chord held until the next one, or the end."""
        ends = [start for start, _ in self.chords[1:]] + [self.time] if self.chords else []
        return [PlayedNote(start, end - start, pitch, ACCOMPANIMENT_VELOCITY)
                for (start, pitches), end in zip(self.chords, ends, strict=True)
                for pitch in pitches]

    def change(self, start: Fraction, field: str, value: str, unit: Fraction) -> None:
        if field == "M":
            self.meter = read_meter(value)
            if self.meter is not None:
                self.meters.append((self.time + start, self.meter))
        elif field == "Q":
            tempo = tempo_of(value, unit)
            if tempo is not None:
                self.tempos.append((self.time + start, tempo))

    def sound(self, sound) -> None:
        start, length = self.time + sound.start, sound.length
        held, self.held = self.held, {}
        if not sound.pitches:
            return
        velocity = _accent(sound.start, self.meter)
        if sound.graces and not any(p in held for p in sound.pitches):
            share = min(length * GRACE_SHARE, length / (2 * len(sound.graces)))
            for grace in sound.graces:
                self.notes.append(PlayedNote(start, share, grace, velocity))
                start, length, velocity = start + share, length - share, OTHER_VELOCITY
        for pitch in sound.pitches:
            if pitch in held:  # tied: the note sounds on
                note = self.notes[held[pitch]]
                self.notes[held[pitch]] = dataclasses.replace(
                    note, duration=start + length - note.start)
                index = held[pitch]
            else:
                index = len(self.notes)
                self.notes.append(PlayedNote(start, length, pitch, velocity))
            if sound.tied:
                self.held[pitch] = index


def perform(abc: str) -> Performance:
    """The tune as played (module docstring); raises NotPlayable for ABC it does not read."""
    settings, bars = read_bars(abc)
    tempo = tempo_of(settings.tempo, settings.unit) or DEFAULT_TEMPO
    player = _Player(settings.meter, tempo)
    for index in play_order(bars):
        player.play(bars[index], settings.unit)
    if player.time > LONGEST:
        raise NotPlayable(f"a tune longer than {LONGEST} whole notes")
    return Performance(notes=_by_start(player.notes),
                       accompaniment=_by_start(player.accompaniment()),
                       tempos=tuple(player.tempos), meters=tuple(player.meters),
                       key_sharps=settings.key_sharps, key_minor=settings.key_minor,
                       end=player.time)


def _by_start(notes: list[PlayedNote]) -> tuple[PlayedNote, ...]:
    return tuple(sorted((n for n in notes if n.duration > 0), key=lambda n: (n.start, n.pitch)))
