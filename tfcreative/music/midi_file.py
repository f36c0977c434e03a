"""A `Performance` as a Standard MIDI File (format 1), and the notes of any such file read
back (`read_note_spans`), in plain Python.

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


# -- reading -------------------------------------------------------------------------------

def _read_variable_length(data: bytes, at: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[at]
        value, at = (value << 7) | (byte & 0x7F), at + 1
        if not byte & 0x80:
            return value, at


def read_note_spans(data: bytes) -> tuple[int, dict[int, int], list[tuple[int, int, int, int]]]:
    """A Standard MIDI File's (ticks per quarter note, {tick: microseconds per quarter note},
    [(start tick, end tick, pitch, velocity)]): every track's notes, each note-off (or
    note-on at velocity 0) ending the earliest sounding note of its channel and pitch.
    ValueError for data that is not one."""
    if data[:4] != b"MThd" or len(data) < 14:
        raise ValueError("not a Standard MIDI File (no MThd header)")
    header_length, _, _, division = struct.unpack(">IHHH", data[4:14])
    if division & 0x8000:
        raise ValueError("a MIDI file timed in SMPTE frames, not ticks per quarter note")
    tempos, spans, at = {}, [], 8 + header_length
    while at + 8 <= len(data):
        kind, length = data[at:at + 4], struct.unpack(">I", data[at + 4:at + 8])[0]
        if at + 8 + length > len(data):
            raise ValueError("a MIDI file cut short: a chunk ends past the file's end")
        if kind == b"MTrk":  # other chunks are skipped, as the standard asks
            try:
                _read_track(data[at + 8:at + 8 + length], tempos, spans)
            except IndexError:
                raise ValueError("a MIDI track ends in the middle of an event") from None
        at += 8 + length
    return division, tempos, spans


def _read_track(track: bytes, tempos: dict, spans: list) -> None:
    sounding = {}  # (channel, pitch) -> [(start tick, velocity), ...], first in first out
    at, tick, status = 0, 0, 0
    while at < len(track):
        delta, at = _read_variable_length(track, at)
        tick += delta
        if track[at] in (0xF0, 0xF7, 0xFF):  # system exclusive or meta event
            meta = track[at + 1] if track[at] == 0xFF else None
            length, at = _read_variable_length(track, at + (2 if meta is not None else 1))
            if meta == 0x51 and length == 3:
                tempos[tick] = int.from_bytes(track[at:at + 3], "big")
            if meta == 0x2F:  # end of track
                return
            at += length
            continue
        if track[at] & 0x80:
            status, at = track[at], at + 1  # else: running status, the last one again
        elif not status:
            raise ValueError("a MIDI event without a status byte")
        kind, channel = status & 0xF0, status & 0x0F
        size = 1 if kind in (0xC0, 0xD0) else 2
        pitch, velocity = track[at], track[at + size - 1]
        at += size
        if kind == 0x90 and velocity:
            sounding.setdefault((channel, pitch), []).append((tick, velocity))
        elif kind in (0x80, 0x90) and sounding.get((channel, pitch)):
            start, on_velocity = sounding[(channel, pitch)].pop(0)
            spans.append((start, tick, pitch, on_velocity))
