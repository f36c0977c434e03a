"""ABC -> MIDI with pip alone: a tune as a Standard MIDI File.

Most tunes are played by `tfcreative.music.performance` (plain Python, about 4 ms a tune:
repeats and endings written out, ties joined, accents and tempo) and written by
`tfcreative.music.midi_file`. What that reader does not play (several voices, parts in an
order, keys with explicit accidentals ...: `NotPlayable`) goes to music21
(`tfcreative.music.music21_midi`, ~100 ms a tune and 1 s to import, so imported only then).
"""

from __future__ import annotations

import dataclasses

from tfcreative.files import write_bytes_atomically
from tfcreative.music import midi_file, performance


class MidiConversionError(ValueError):
    """The tune could not be turned into MIDI; the message says why."""


@dataclasses.dataclass(frozen=True)
class MidiTune:
    """One tune as a Standard MIDI File."""

    data: bytes
    repeats_expanded: bool  # False: repeat signs music21 could not expand, played once through
    reader: str = "tfcreative"  # or "music21": who read the tune


def abc_to_midi(abc: str) -> MidiTune:
    """One ABC tune (header and music) as MIDI; raises MidiConversionError if it has no notes or
    can be read by neither reader."""
    try:
        played = performance.perform(abc)
    except performance.NotPlayable:
        return _with_music21(abc)
    if not played.notes:
        raise MidiConversionError("no notes in the tune")
    return MidiTune(midi_file.standard_midi_file(played), repeats_expanded=True)


def _with_music21(abc: str) -> MidiTune:
    from tfcreative.music import music21_midi

    try:
        data, expanded = music21_midi.abc_to_midi(abc)
    except music21_midi.Music21Error as error:
        raise MidiConversionError(str(error)) from error
    return MidiTune(data, repeats_expanded=expanded, reader="music21")


def write_midi(abc: str, path: str) -> MidiTune:
    """Writes the tune's MIDI file to `path` (whole or not at all)."""
    tune = abc_to_midi(abc)
    write_bytes_atomically(path, tune.data)
    return tune
