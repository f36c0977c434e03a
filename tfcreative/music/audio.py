"""Tunes as sound, offline and with pip alone: the notes of a tune's MIDI file, played by a
small synthesizer in numpy.

The notes come from the tune's MIDI file (`tfcreative.music.midi`: repeats written out, tempo
from `Q:`, 120 crotchets a minute without one), read back (`midi_file.read_note_spans`), so
a WAV file plays exactly what the `.mid` file holds. The synthesizer is the Python twin of
the demo page's (`web/tune_player.js`): a band-limited triangle wave per note with a plucked
envelope (5 ms attack, a decay while held, 40 ms release), so notebooks and the page sound
alike. Measured against pretty_midi's synthesizer (`python -m benchmarks.wav_synths`, the
corpus and probe tunes): both give the right pitches, note lengths and tempo from `Q:`, fall
silent after the last note and make no clicks; pretty_midi adds 6.1 MB to the install (a
soundfont it ships for FluidSynth) and sounds sine waves unlike the page's; soundfont players
need a system library (FluidSynth, PortAudio) and a soundfont download.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import wave

import numpy as np

from tfcreative.errors import InvalidArgument
from tfcreative.files import write_bytes_atomically
from tfcreative.music.midi import abc_to_midi
from tfcreative.music.midi_file import read_note_spans

SAMPLE_RATE = 22_050  # Hz: every harmonic that matters for these notes, 44 KB per second
MASTER_GAIN = 0.3  # as web/tune_player.js: a chord of a few notes stays below full scale
ATTACK_S, RELEASE_S = 0.005, 0.04
MIN_NOTE_S = 0.03  # shorter notes are held this long, as on the page
TAIL_S = 0.2  # silence after the last note, as the page's offline rendering
_TABLE_SIZE = 4096  # samples in one period of a wavetable


@dataclasses.dataclass(frozen=True)
class Note:
    """One sounding note: MIDI pitch, start and duration in seconds, volume in [0, 1]."""

    pitch: int
    start: float
    duration: float
    volume: float


def midi_notes(data: bytes) -> list[Note]:
    """The notes of a Standard MIDI File, in seconds (every tempo change followed), by start."""
    ticks_per_quarter, tempo_changes, spans = read_note_spans(data)
    seconds = _tick_to_seconds(tempo_changes, ticks_per_quarter)
    notes = [Note(pitch, seconds(start), seconds(end) - seconds(start), velocity / 127)
             for start, end, pitch, velocity in spans]
    return sorted(notes, key=lambda n: (n.start, n.pitch))


def _tick_to_seconds(tempo_changes: dict[int, int], ticks_per_quarter: int):
    """tick -> seconds under a tempo map (120 crotchets a minute until the first change)."""
    points = [(0, 0.0, 500_000)]  # (tick, seconds at that tick, microseconds per quarter)
    for tick in sorted(tempo_changes):
        last_tick, last_seconds, last_tempo = points[-1]
        elapsed = (tick - last_tick) * last_tempo / 1e6 / ticks_per_quarter
        points.append((tick, last_seconds + elapsed, tempo_changes[tick]))

    def seconds(tick: int) -> float:
        start_tick, start_seconds, tempo = next(p for p in reversed(points) if p[0] <= tick)
        return start_seconds + (tick - start_tick) * tempo / 1e6 / ticks_per_quarter

    return seconds


def _triangle_table(frequency: float, sample_rate: int) -> np.ndarray:
    """One period of a triangle wave with only the harmonics below the Nyquist frequency (no
    aliasing, as a WebAudio "triangle" oscillator), peak 1."""
    phase = np.arange(_TABLE_SIZE) / _TABLE_SIZE
    table = np.zeros(_TABLE_SIZE)
    harmonic = 1
    while harmonic * frequency < sample_rate / 2:
        sign = 1.0 if harmonic % 4 == 1 else -1.0
        table += sign * np.sin(2 * np.pi * harmonic * phase) / harmonic**2
        harmonic += 2
    return table * 8 / np.pi**2


def _envelope(count: int, sample_rate: int, volume: float, held: float) -> np.ndarray:
    """The page's gain curve over `count` samples: a linear rise to `volume` in 5 ms, an
    exponential fall to 40 % of it over the held time, then to 1e-4 in 40 ms; then silence."""
    t = np.arange(count) / sample_rate
    sustain = max(volume * 0.4, 1e-3)
    decay = volume * (sustain / volume) ** ((t - ATTACK_S) / (held - ATTACK_S)) if volume > 0 \
        else np.zeros(count)
    release = sustain * (1e-4 / sustain) ** ((t - held) / RELEASE_S)
    gain = np.where(t < ATTACK_S, volume * t / ATTACK_S, decay)
    gain = np.where(t >= held, release, gain)
    return np.where(t >= held + RELEASE_S, 0.0, gain)


def synthesize(notes: list[Note], sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float32 samples in [-1, 1]: every note on the triangle synthesizer, then TAIL_S of
    silence after the last note's end."""
    end = max((n.start + n.duration for n in notes), default=0.0) + TAIL_S
    out = np.zeros(int(np.ceil(end * sample_rate)), np.float64)
    tables = {}
    for note in notes:
        held = max(note.duration, MIN_NOTE_S)
        first = int(round(note.start * sample_rate))
        count = min(int(np.ceil((held + RELEASE_S) * sample_rate)), len(out) - first)
        if count <= 0:
            continue
        frequency = 440.0 * 2 ** ((note.pitch - 69) / 12)
        if note.pitch not in tables:
            tables[note.pitch] = _triangle_table(frequency, sample_rate)
        index = (np.arange(count) * (frequency * _TABLE_SIZE / sample_rate)).astype(np.int64)
        wave_ = tables[note.pitch][index % _TABLE_SIZE]
        out[first:first + count] += wave_ * _envelope(count, sample_rate, note.volume, held)
    return np.clip(out * MASTER_GAIN, -1.0, 1.0).astype(np.float32)


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """A 16-bit mono PCM WAV file of float samples in [-1, 1]."""
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes(pcm.tobytes())
    return buffer.getvalue()


@dataclasses.dataclass(frozen=True, eq=False)
class TuneAudio:
    """A tune's sound: float32 mono samples in [-1, 1] at `sample_rate`, and the notes played.
    Shows as an audio player in a notebook."""

    samples: np.ndarray
    sample_rate: int
    notes: tuple[Note, ...] = ()

    @property
    def duration(self) -> float:
        """Seconds, the silence after the last note included."""
        return len(self.samples) / self.sample_rate

    def wav_bytes(self) -> bytes:
        return wav_bytes(self.samples, self.sample_rate)

    def write_wav(self, path: str) -> None:
        """Writes a 16-bit mono WAV file to `path`, whole or not at all."""
        write_bytes_atomically(path, self.wav_bytes())

    def _repr_html_(self) -> str:
        source = "data:audio/wav;base64," + base64.b64encode(self.wav_bytes()).decode("ascii")
        return (f'<audio class="tfcreative-audio" controls preload="metadata" '
                f'src="{html.escape(source)}"></audio>')


def render_abc(abc: str, sample_rate: int | None = None) -> TuneAudio:
    """One ABC tune as sound (see the module docstring). Raises MidiConversionError when the
    tune cannot be read."""
    sample_rate = sample_rate or SAMPLE_RATE
    if sample_rate < 8000:
        raise InvalidArgument("sample_rate", f"expected at least 8000 Hz, got {sample_rate}")
    notes = midi_notes(abc_to_midi(abc).data)
    return TuneAudio(synthesize(notes, sample_rate), sample_rate, tuple(notes))
