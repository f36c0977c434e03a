"""Tunes as files and sound with pip alone: to_midi holds the notes (read back by mido), to_wav
and audio() play them at the tune's tempo (read back with the standard library's wave module),
the synthesizer is silent after the last note, and nothing is half-written."""

import base64
import io
import os
import re
import struct
import wave

import mido
import numpy as np
import pytest

from tests.test_midi import KNOWN, KNOWN_PITCHES, read_notes
from tfcreative.errors import InvalidArgument
from tfcreative.music import audio
from tfcreative.music.midi import MidiConversionError
from tfcreative.music.tune import GeneratedTune, Tune

ONE_A = "X:1\nT:A\nM:4/4\nL:1/4\nQ:1/4=120\nK:C\nA4|]"  # one A (MIDI 69), 2 s at 120 crotchets


def read_wav(path_or_bytes):
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    with wave.open(source, "rb") as f:
        assert (f.getnchannels(), f.getsampwidth()) == (1, 2)
        frames = f.readframes(f.getnframes())
        return np.frombuffer(frames, "<i2").astype(np.float32) / 32767, f.getframerate()


def peak_hertz(samples, rate):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()]


def test_one_a_at_120_bpm_is_two_seconds_of_440_hz_then_silence(tmp_path):
    path = Tune(ONE_A).to_wav(str(tmp_path / "a.wav"))
    samples, rate = read_wav(path)
    assert rate == audio.SAMPLE_RATE
    assert len(samples) / rate == pytest.approx(2.0 + audio.TAIL_S, abs=1e-3)
    held = samples[int(0.1 * rate):int(1.9 * rate)]
    assert np.sqrt(np.mean(held ** 2)) > 0.02
    assert peak_hertz(held, rate) == pytest.approx(440, abs=2)
    # sounding until the note's end, then a 40 ms release into silence
    assert np.abs(samples[int(1.95 * rate):int(2.0 * rate)]).max() > 0.01
    assert np.abs(samples[int(2.05 * rate):]).max() < 1e-3


def test_the_sound_is_a_band_limited_triangle_wave_as_on_the_page():
    """Odd harmonics only, falling as 1/k², none folded back from above the Nyquist frequency
    (a WebAudio "triangle" oscillator's spectrum)."""
    sound = Tune(ONE_A).audio()
    rate = sound.sample_rate
    held = sound.samples[int(0.5 * rate):int(1.5 * rate)]  # 1 s: 1 Hz bins
    spectrum = np.abs(np.fft.rfft(held * np.hanning(len(held))))
    fundamental = spectrum[440]
    for harmonic in (2, 4, 6):
        assert spectrum[440 * harmonic] < fundamental * 1e-3
    for harmonic in (3, 5, 7):
        assert spectrum[440 * harmonic] / fundamental == pytest.approx(1 / harmonic**2, rel=0.05)
    # the 25th harmonic (11,000 Hz) is below Nyquist (11,025 Hz); the 27th would fold back
    assert spectrum[rate - 27 * 440] < fundamental * 1e-3


def test_notes_start_and_end_without_clicks():
    """A 5 ms attack and a 40 ms release: no sample-to-sample jump larger than the waveform's
    own steepest slope (a note cut off at full volume jumps by its whole amplitude)."""
    sound = Tune(KNOWN).audio()
    steepest = 4 * audio.MASTER_GAIN * 880 / sound.sample_rate  # a triangle at the top note
    assert np.abs(np.diff(sound.samples)).max() < 1.5 * steepest
    rate = sound.sample_rate
    one_a = Tune(ONE_A).audio().samples
    assert np.abs(one_a[:int(0.001 * rate)]).max() < 0.2 * np.abs(one_a[:rate]).max()
    assert np.abs(one_a[int(2.035 * rate):]).max() < 0.01 * np.abs(one_a[:rate]).max()


def test_tempo_comes_from_q_in_any_meter():
    # 6/8 with Q:3/8=60: a dotted crotchet a second, so six quavers last 2 s
    sound = Tune("X:1\nT:6/8\nM:6/8\nL:1/8\nQ:3/8=60\nK:C\nA6|]").audio()
    [note] = sound.notes
    assert (note.pitch, note.start) == (69, 0.0) and note.duration == pytest.approx(2.0, abs=1e-3)
    # no Q: 120 crotchets a minute (music21's and abc2midi's default)
    [note] = Tune("X:1\nT:none\nM:4/4\nL:1/4\nK:C\nA2|]").audio().notes
    assert note.duration == pytest.approx(1.0, abs=1e-3)
    # a chord, then a rest: three pitches at once, at 90 crotchets a minute
    sound = Tune("X:1\nT:chord\nM:4/4\nL:1/4\nQ:1/4=90\nK:C\n[CEG]2 z2|]").audio()
    assert [n.pitch for n in sound.notes] == [60, 64, 67]
    assert all(n.start == 0 and n.duration == pytest.approx(4 / 3, abs=1e-3) for n in sound.notes)
    held = sound.samples[int(0.1 * sound.sample_rate):int(1.2 * sound.sample_rate)]
    spectrum = np.abs(np.fft.rfft(held))
    frequencies = np.fft.rfftfreq(len(held), 1 / sound.sample_rate)
    strongest = sorted(frequencies[np.argsort(spectrum)[-3:]])
    assert strongest == pytest.approx([261.6, 329.6, 392.0], abs=2)


def test_tempo_changes_inside_a_midi_file_are_followed():
    """midi_notes reads any Standard MIDI File (here written by mido, not music21)."""
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))  # 120 bpm
    track.append(mido.Message("note_on", note=60, velocity=127, time=0))
    track.append(mido.Message("note_off", note=60, velocity=0, time=480))  # 0.5 s
    track.append(mido.MetaMessage("set_tempo", tempo=1_000_000, time=0))  # 60 bpm
    track.append(mido.Message("note_on", note=62, velocity=64, time=480))  # rest: 1 s
    track.append(mido.Message("note_on", note=62, velocity=0, time=480))  # off by velocity 0
    buffer = io.BytesIO()
    midi.save(file=buffer)
    first, second = audio.midi_notes(buffer.getvalue())
    assert (first.pitch, first.start, first.duration, first.volume) == (60, 0.0, 0.5, 1.0)
    assert (second.pitch, second.start, second.duration) == (62, 1.5, 1.0)
    assert second.volume == pytest.approx(64 / 127)


def mido_spans(data: bytes) -> list[tuple[int, int, int, int]]:
    """(start tick, end tick, pitch, velocity) of every note, read by mido."""
    spans = []
    for track in mido.MidiFile(file=io.BytesIO(data)).tracks:
        tick, sounding = 0, {}
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity:
                sounding.setdefault((message.channel, message.note), []).append(
                    (tick, message.velocity))
            elif message.type in ("note_on", "note_off") and \
                    sounding.get((message.channel, message.note)):
                start, velocity = sounding[(message.channel, message.note)].pop(0)
                spans.append((start, tick, message.note, velocity))
    return spans


def test_the_midi_reader_reads_what_mido_reads():
    """midi_file.read_note_spans, on files of our writer (chords, an accompaniment track),
    music21's (a tune in two voices) and mido's (running status, a program change's one data
    byte, system exclusive, a text event), gives mido's notes and tempos."""
    from tfcreative.music.midi import abc_to_midi
    from tfcreative.music.midi_file import read_note_spans

    chords = "X:1\nT:C\nM:3/4\nL:1/8\nQ:3/8=90\nK:D\n\"D\"[DF]2 A2 \"G\"B2|\"A7\"c6|]\n"
    voices = ("X:1\nT:V\nM:2/4\nL:1/8\nK:G\nV:1\nGABc|d4|]\nV:2\nB,DGB|G4|]\n")
    played = [abc_to_midi(abc) for abc in (KNOWN, chords, voices)]
    assert [p.reader for p in played] == ["tfcreative", "tfcreative", "music21"]
    made = mido.MidiFile(ticks_per_beat=96)
    track = mido.MidiTrack()
    made.tracks.append(track)
    track += [mido.Message("program_change", program=40, time=0),
              mido.MetaMessage("text", text="odd events between notes", time=0),
              mido.Message("sysex", data=[1, 2, 3], time=5),
              mido.MetaMessage("set_tempo", tempo=400_000, time=0),
              mido.Message("note_on", note=60, velocity=90, time=0),
              mido.Message("note_on", note=64, velocity=80, time=0),  # running status
              mido.Message("note_on", note=60, velocity=0, time=96),
              mido.Message("note_off", note=64, velocity=0, time=48)]
    buffer = io.BytesIO()
    made.save(file=buffer)
    for data in [p.data for p in played] + [buffer.getvalue()]:
        ticks, tempos, spans = read_note_spans(data)
        reference = mido.MidiFile(file=io.BytesIO(data))
        assert ticks == reference.ticks_per_beat
        assert sorted(spans) == sorted(mido_spans(data)) and spans
        assert list(tempos.values()) == [m.tempo for t in reference.tracks for m in t
                                         if m.type == "set_tempo"]
    with pytest.raises(ValueError, match="not a Standard MIDI File"):
        read_note_spans(b"RIFF....")
    with pytest.raises(ValueError, match="cut short"):
        read_note_spans(played[0].data[:-9])
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 96)
    with pytest.raises(ValueError, match="ends in the middle"):  # a note-on without velocity
        read_note_spans(header + b"MTrk" + struct.pack(">I", 3) + b"\x00\x90\x3c")


def test_a_tune_sounds_without_loading_music21():
    """A notebook's first `Tune.audio()` reads the MIDI file with tfcreative's own reader,
    not music21's (whose import took 0.3-1 s)."""
    import subprocess
    import sys

    from tests.conftest import REPO

    script = ("import sys\nfrom tfcreative.music.tune import Tune\n"
              f"Tune({KNOWN!r}).audio()\nprint('music21' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"


def test_to_midi_holds_the_notes_and_the_wav_plays_them(tmp_path):
    path = GeneratedTune(KNOWN, seed=1, complete=True).to_midi(str(tmp_path / "known.mid"))
    assert path == str(tmp_path / "known.mid")
    midi = read_notes(path)  # mido, independent of music21
    assert [pitch for _, pitch in midi] == KNOWN_PITCHES
    sound = Tune(KNOWN).audio()
    assert [n.pitch for n in sound.notes] == KNOWN_PITCHES
    # no Q: in KNOWN, so a beat is 0.5 s: the WAV's onsets are the MIDI file's beats
    assert [n.start for n in sound.notes] == pytest.approx([beat * 0.5 for beat, _ in midi])
    assert len(sound.samples) / sound.sample_rate == pytest.approx(
        max(n.start + n.duration for n in sound.notes) + audio.TAIL_S, abs=1e-3)


def test_the_player_is_an_audio_element_holding_the_wav():
    sound = Tune(ONE_A).audio(sample_rate=16000)
    page = sound._repr_html_()
    [source] = re.findall(r'<audio [^>]*controls[^>]*src="data:audio/wav;base64,([^"]+)"', page)
    samples, rate = read_wav(base64.b64decode(source))
    assert rate == 16000 and sound.duration == pytest.approx(len(samples) / rate)
    assert np.abs(samples - sound.samples).max() < 1 / 32767 + 1e-6


def test_unreadable_tunes_and_bad_rates_fail_and_write_nothing(tmp_path):
    with pytest.raises(MidiConversionError, match="no notes"):
        Tune("X:1\nT:Empty\nM:4/4\nL:1/4\nK:C\n").to_wav(str(tmp_path / "x.wav"))
    with pytest.raises(InvalidArgument, match="sample_rate"):
        Tune(ONE_A).to_wav(str(tmp_path / "x.wav"), sample_rate=100)
    assert os.listdir(tmp_path) == []


def test_files_are_whole_and_readable_like_any_new_file(tmp_path):
    reference = tmp_path / "reference"
    reference.write_bytes(b"")
    for name in ("a.mid", "a.wav"):
        path = str(tmp_path / name)
        (Tune(ONE_A).to_midi if name.endswith(".mid") else Tune(ONE_A).to_wav)(path)
        assert os.stat(path).st_mode == os.stat(reference).st_mode, name
    assert sorted(os.listdir(tmp_path)) == ["a.mid", "a.wav", "reference"]  # no temporary files


def test_a_tune_knows_its_title():
    assert Tune(ONE_A).title == "A"
    assert Tune("X:1\nK:C\nABC|").title == ""
