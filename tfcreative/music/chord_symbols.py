"""Chord symbols (`"Am"`, `"D7"`, `"G/B"`) as the notes an accompanist plays: the chord in
root position from the C below middle C, and the bass note written after `/` an octave under.

Every quality the tracker writes (`abc_grammar.CHORD_QUALITIES`) has its intervals here (tested),
with the usual other spellings (`min`, `-`, `M7`, `o`, `+`, `sus`); a symbol with another
quality plays its triad (minor if the quality starts with `m` but not `maj`).
"""

from __future__ import annotations

import re

from tfcreative import abc_notation
from tfcreative.music.abc_bars import SEMITONES

ROOT_OCTAVE = 48  # MIDI C3, the C below middle C
_SYMBOL = re.compile(r"\(?([A-G])([#b]?)([^/()]*)(?:/([A-Ga-g])([#b]?))?\)?")
MAJOR, MINOR = (0, 4, 7), (0, 3, 7)
INTERVALS = {
    "": MAJOR, "maj": MAJOR, "M": MAJOR,
    "m": MINOR, "min": MINOR, "-": MINOR,
    "7": (0, 4, 7, 10), "m7": (0, 3, 7, 10), "min7": (0, 3, 7, 10), "-7": (0, 3, 7, 10),
    "maj7": (0, 4, 7, 11), "M7": (0, 4, 7, 11),
    "dim": (0, 3, 6), "o": (0, 3, 6), "dim7": (0, 3, 6, 9), "o7": (0, 3, 6, 9),
    "m7b5": (0, 3, 6, 10),
    "aug": (0, 4, 8), "+": (0, 4, 8),
    "6": (0, 4, 7, 9), "m6": (0, 3, 7, 9),
    "9": (0, 4, 7, 10, 14),
    "sus2": (0, 2, 7), "sus4": (0, 5, 7), "sus": (0, 5, 7),
}


def _pitch_class(letter: str, accidental: str) -> int:
    return (SEMITONES[letter.upper()] + abc_notation.NAME_ACCIDENTALS[accidental]) % 12


def chord_pitches(symbol: str) -> tuple[int, ...]:
    """The MIDI pitches of a chord symbol (without its quotes); () for text that is not one."""
    match = _SYMBOL.fullmatch(symbol.strip())
    if match is None or not abc_notation.is_chord_symbol(symbol):
        return ()
    letter, accidental, quality, bass, bass_accidental = match.groups()
    intervals = INTERVALS.get(quality)
    if intervals is None:
        intervals = MINOR if quality.startswith("m") and not quality.startswith("maj") \
            else MAJOR
    root = ROOT_OCTAVE + _pitch_class(letter, accidental)
    pitches = tuple(root + interval for interval in intervals)
    if bass:
        pitches = (ROOT_OCTAVE - 12 + _pitch_class(bass, bass_accidental),) + pitches
    return pitches
