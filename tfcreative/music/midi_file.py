"""A `Performance` as a Standard MIDI File (format 1), in plain Python.

Track 1 is the conductor's: tempo, time and key signatures. Track 2 holds the tune's notes,
on channel 1, and a third track, where the tune has chord symbols, their accompaniment on
channel 2 (a player can mute it); both with the General MIDI program 1 (piano) every player
starts with. Times are
rounded to `TICKS_PER_QUARTER` ticks a crotchet (480: exact for triplets and quintuplets of
the notes folk tunes use); each note's end is rounded on its own, so no error adds up.
"""

from __future__ import annotations

import struct
from fractions import Fraction

from tfcreative.music.performance import Performance

TICKS_PER_QUARTER = 480
TUNE_CHANNEL, ACCOMPANIMENT_CHANNEL = 0, 1


def _variable_length(value: int) -> bytes:
    groups = [value & 0x7F]
    value >>= 7
    while value:
        groups.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(groups))


def _ticks(time: Fraction) -> int:
    return round(time * 4 * TICKS_PER_QUARTER)


def _track(events: list[tuple[int, int, bytes]]) -> bytes:
    """A track chunk from (tick, order at that tick, event bytes), ended where the last
    event is."""
    data, now = bytearray(), 0
    for tick, _, event in sorted(events, key=lambda e: (e[0], e[1])):
        data += _variable_length(tick - now) + event
        now = tick
    data += b"\x00\xff\x2f\x00"  # end of track
    return b"MTrk" + struct.pack(">I", len(data)) + bytes(data)


def _conductor(performance: Performance) -> list[tuple[int, int, bytes]]:
    events = [(_ticks(start), 0, b"\xff\x51\x03" + tempo.to_bytes(3, "big"))
              for start, tempo in performance.tempos]
    for start, (numerator, denominator) in performance.meters:
        power = max(denominator.bit_length() - 1, 0)
        events.append((_ticks(start), 1, bytes([0xFF, 0x58, 4, min(numerator, 255), power,
                                                24, 8])))
    sharps = max(-7, min(7, performance.key_sharps))
    events.append((0, 2, bytes([0xFF, 0x59, 2, sharps & 0xFF, int(performance.key_minor)])))
    return events


def _notes(notes, channel: int) -> list[tuple[int, int, bytes]]:
    events = []
    for note in notes:
        start, end = _ticks(note.start), _ticks(note.start + note.duration)
        if end <= start or not 0 <= note.pitch <= 127:
            continue
        events.append((start, 1, bytes([0x90 | channel, note.pitch, note.velocity])))
        events.append((end, 0, bytes([0x80 | channel, note.pitch, 0])))  # offs first
    return events


def standard_midi_file(performance: Performance) -> bytes:
    tracks = [_conductor(performance), _notes(performance.notes, TUNE_CHANNEL)]
    if performance.accompaniment:
        tracks.append(_notes(performance.accompaniment, ACCOMPANIMENT_CHANNEL))
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), TICKS_PER_QUARTER)
    return header + b"".join(_track(events) for events in tracks)
