"""A tune as a value: its ABC text, written out as MIDI or WAV, heard, or shown in a notebook.

`Tune` holds any ABC text (a training tune, one you wrote); `GeneratedTune` is what
`TuneSampler.generate` returns, with its seed. In Jupyter a tune shows as engraved sheet music
with an audio player, and a `Tunes` list (what `generate` returns) as a gallery. Light to
import: the MIDI writer, numpy (audio) and the display code load on first use.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Tune:
    """One tune in ABC notation (header and music)."""

    abc: str

    @property
    def title(self) -> str:
        """The first `T:` line's text, or "" when the tune has none."""
        for line in self.abc.splitlines():
            if line.startswith("T:"):
                return line[2:].strip()
        return ""

    def to_midi(self, path: str) -> str:
        """Writes the tune as a Standard MIDI File (tfcreative.music.midi: repeats written out)
        and returns `path`. Raises MidiConversionError when the tune cannot be read."""
        from tfcreative.music.midi import write_midi

        write_midi(self.abc, path)
        return path

    def audio(self, sample_rate: int | None = None):
        """The tune as sound, a `TuneAudio`: the notes of its MIDI file played by a small
        synthesizer (`tfcreative.music.audio`; sample_rate None: its SAMPLE_RATE, 22,050 Hz).
        An inline player in a notebook; `.samples`, `.sample_rate`, `.wav_bytes()` anywhere.
        Raises MidiConversionError when the tune cannot be read."""
        from tfcreative.music.audio import render_abc

        return render_abc(self.abc, sample_rate)

    def to_wav(self, path: str, sample_rate: int | None = None) -> str:
        """Writes the tune's audio (see `audio`) as a 16-bit mono WAV file; returns `path`."""
        self.audio(sample_rate).write_wav(path)
        return path

    def _repr_html_(self) -> str:
        from tfcreative.music.display import tune_html

        return tune_html(self)


@dataclasses.dataclass(frozen=True)
class GeneratedTune(Tune):
    """A tune written by `TuneSampler.generate`."""

    seed: int  # generate(..., num_tunes=1, seed=this) reproduces the tune
    complete: bool  # False when max_length cut the tune before it ended
    # generate(constrain=...) only: the tracker gave this tune up (a seed it cannot follow,
    # or no allowed character at some step), so part of it was sampled unconstrained
    unconstrained_fallback: bool = False


class Tunes(list):
    """A list of tunes that a notebook shows as a gallery of sheet music with players."""

    def _repr_html_(self) -> str:
        from tfcreative.music.display import gallery_html

        return gallery_html(self)
