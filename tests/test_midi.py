"""MIDI with pip alone (abc2midi hidden from PATH): tfcreative's reader plays the tunes
(music21 those it does not read), mido reads the files back, and they hold the tune's notes in
order: key signature, accidentals carried through the bar, repeats (one implied by a lone `:|`)
and first/second endings, as abc2midi plays them. The reading's details:
tests/test_performance.py."""

import io
import os
import subprocess
import sys

import mido
import pytest

from tests.conftest import REPO, make_tiny_model, needs_abc2midi
from tfcreative.music import abc2midi, midi, music21_midi
from tfcreative.music.output import write_tunes
from tfcreative.music.sampler import GeneratedTune
from tfcreative.music.vocabulary import CharVocabulary

# A part (no |: : repeats from the start), B part (its |: implied after the A part's :|) with
# first and second endings. K:G sharpens every F; ^c and =f carry to the end of their bar.
KNOWN = ("X:1\nT:Known\nM:4/4\nL:1/8\nK:G\n"
         "GABc dBAG|FGAB ^c2c2|dcBA GFED:|\n"
         "g2fe d2=ff|edcB A4|[1 GABc d4:|[2 G2B2 G4|]\n")
G, A, B, c, d, e, g = 67, 69, 71, 72, 74, 76, 79
F_SHARP, C_SHARP, E, D, f_sharp, f = 66, 73, 64, 62, 78, 77
A_PART = [G, A, B, c, d, B, A, G, F_SHARP, G, A, B, C_SHARP, C_SHARP,
          d, c, B, A, G, F_SHARP, E, D]
B_START = [g, f_sharp, e, d, f, f, e, d, c, B, A]
KNOWN_PITCHES = A_PART * 2 + B_START + [G, A, B, c, d] + B_START + [G, B, G]


def read_notes(source) -> list[tuple[float, int]]:
    """(onset in beats, MIDI pitch) of every sounding note, in time order, read by mido."""
    midi_file = mido.MidiFile(file=io.BytesIO(source)) if isinstance(source, bytes) \
        else mido.MidiFile(source)
    found = []
    for track in midi_file.tracks:
        ticks = 0
        for message in track:
            ticks += message.time
            if message.type == "note_on" and message.velocity > 0:
                found.append((ticks / midi_file.ticks_per_beat, message.note))
    return sorted(found)


@pytest.fixture
def no_abc2midi(tmp_path, monkeypatch):
    """PATH without abc2midi (and without anything else)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(abc2midi.Abc2MidiNotFoundError):
        abc2midi.find_abc2midi()
    return str(empty)


def test_a_known_tune_becomes_its_notes_in_order(tmp_path, no_abc2midi):
    assert midi.write_midi(KNOWN, str(tmp_path / "known.mid")).repeats_expanded
    notes = read_notes(str(tmp_path / "known.mid"))
    assert [pitch for _, pitch in notes] == KNOWN_PITCHES
    onsets = [onset for onset, _ in notes]
    assert onsets[:3] == [0.0, 0.5, 1.0]  # L:1/8 = half a beat
    assert all(a < b for a, b in zip(onsets[:-1], onsets[1:], strict=True))  # one voice
    assert sorted(os.listdir(tmp_path)) == ["empty-bin", "known.mid"]  # no temporary file


TANGLED = ("X:1\nT:Tangled\nM:4/4\nL:1/8\nK:C\nCDEF GABc|dcBA G4:|\nf|gfe fed|Bee e2f|\n"
           "[1 gfe fed|BAB GAB AGF G2:|\n[2 gfg aga|AGF G2|]\n")


def test_repeats_music21_cannot_expand_are_played_and_no_notes_is_an_error():
    # a second ending after the B part's first one was closed (as in the corpus's
    # "Donnybrook Fair"): music21 cannot expand it (it plays the notes once through)
    played = midi.abc_to_midi(TANGLED)
    assert played.repeats_expanded and played.reader == "tfcreative"
    a_part, b_part = 8 + 5, 1 + 6 + 5  # notes: CDEF GABc|dcBA G4 ; f|gfe fed|Bee e2f
    first_ending, second_ending = 6 + 10, 6 + 4
    assert len(read_notes(played.data)) == 2 * a_part + 2 * b_part + first_ending + \
        second_ending
    data, expanded = music21_midi.abc_to_midi(TANGLED)
    assert not expanded and len(read_notes(data)) == 51  # every written note, once
    with pytest.raises(midi.MidiConversionError, match="no notes"):
        midi.abc_to_midi("X:1\nT:Empty\nK:C\n")


def test_write_tunes_without_abc2midi_writes_midi_files(tmp_path, no_abc2midi):
    tunes = [GeneratedTune(KNOWN, seed=1, complete=True),
             GeneratedTune(KNOWN.replace("X:1", "X:2")[:60], seed=2, complete=False)]
    lines = []
    write_tunes(tunes, str(tmp_path / "out"), echo=lines.append)
    assert sorted(os.listdir(tmp_path / "out")) == ["tune_01.abc", "tune_01.mid",
                                                    "tune_02.abc", "tune_02.mid"]
    assert [p for _, p in read_notes(str(tmp_path / "out" / "tune_01.mid"))] == KNOWN_PITCHES
    assert read_notes(str(tmp_path / "out" / "tune_02.mid"))  # cut short, still its notes
    assert sum("abc2midi is not installed" in line for line in lines) == 1
    assert "apt-get install abcmidi" in lines[0]
    assert lines[1].endswith("tune_01.abc + tune_01.mid")


@needs_abc2midi
def test_midi_notes_equal_abc2midi_s_on_corpus_tunes(tmp_path):
    """The reference player and ours agree note for note on the first 240 corpus tunes (the
    218 abc2midi reads without an error; benchmarks/abc_to_midi.py compares all 804: the
    others that differ are parts without `|:` after a second ending, docs/architecture.md)."""
    from tfcreative.abc_notation import parse_abc_bytes
    from tfcreative.datasets.abc_tunes.abc_tunes_dataset_builder import bundled_corpus_path

    tunes = parse_abc_bytes(bundled_corpus_path().read_bytes(), "irish.abc").tunes
    compared = 0
    for number, tune in enumerate(tunes[:240]):
        reference = tmp_path / f"{number}.mid"
        if abc2midi.abc_to_midi(tune.abc, str(reference)).errors:
            continue
        expected = read_notes(str(reference))
        played = midi.abc_to_midi(tune.abc)
        assert played.reader == "tfcreative"
        got = read_notes(played.data)
        start_expected, start_got = expected[0][0], got[0][0]
        assert [(round(t - start_got, 3), p) for t, p in got] == \
            [(round(t - start_expected, 3), p) for t, p in expected], tune.title
        compared += 1
    assert compared >= 200


def beamed(score) -> bool:
    return any(n.beams.beamsList for n in score.recurse().notes)


def music21s_own_midi(abc: str) -> bytes:
    """What music21's full path writes for the tune: its ABC reader as it is (every part
    beamed), then its MIDI writer, after music21_midi.py's two readings of ABC."""
    import music21

    score = music21.converter.parse(
        music21_midi.ABC_VERSION_LINE + music21_midi.music_for_music21(abc), format="abc")
    assert beamed(score)
    for part in score.parts:
        music21_midi._imply_start_repeats(part)
        music21_midi._unshare_signatures(part)
    return music21.midi.translate.streamToMidiFile(score).writestr()


def test_music21_reads_without_beaming_and_writes_its_full_paths_midi():
    """The music21 fallback reads a tune without beaming it (sheet music's work, not MIDI's):
    the file is the one music21's full path writes, on tunes with triplets, ties, pickups,
    repeats and first and second endings (the 804 of the corpus were compared too)."""
    from tfcreative.abc_notation import parse_abc_bytes
    from tfcreative.datasets.abc_tunes.abc_tunes_dataset_builder import bundled_corpus_path

    tunes = parse_abc_bytes(bundled_corpus_path().read_bytes(), "irish.abc").tunes[:8]
    for abc in [KNOWN, *(tune.abc for tune in tunes)]:
        assert not beamed(music21_midi._parse(abc))
        assert music21_midi.abc_to_midi(abc) == (music21s_own_midi(abc), True)


@pytest.mark.slow
def test_generate_command_writes_midi_without_abc2midi(tmp_path, no_abc2midi):
    """`tfcreative music generate` in a fresh process whose PATH has no abc2midi."""
    seed = "X:1\nT:Seed\nM:4/4\nL:1/8\nK:D\nABcd efga|"
    model = make_tiny_model(CharVocabulary(seed + "BCDEFG|/2 "), units=16)
    model.save(str(tmp_path / "tiny.keras"))
    result = subprocess.run(
        [sys.executable, "-m", "tfcreative", "music", "generate", "--model",
         str(tmp_path / "tiny.keras"), "--out-dir", str(tmp_path / "tunes"), "--num-tunes", "2",
         "--max-length", "40", "--random-seed", "3", "--seed-text", seed.replace("\n", "\\n")],
        capture_output=True, text=True, cwd=str(tmp_path), timeout=300,
        env={**os.environ, "PATH": no_abc2midi, "PYTHONPATH": REPO})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "abc2midi is not installed" in result.stdout
    for number in (1, 2):
        notes = read_notes(str(tmp_path / "tunes" / f"tune_{number:02d}.mid"))
        # the seed's first bar, in D major: A B c# d e f# g a
        assert [p for _, p in notes[:8]] == [69, 71, 73, 74, 76, 78, 79, 81]


# What the preset wrote with the meter alone (issue 22: music21 "Cannot make a step out of
# '^'"), and a C: field a tracker follows: text music21 would read as music.
TEXT_AS_MUSIC = [
    'G3 D "^CAGA, |]!C B E2 GB "d"^f | ea3 z g | e2 d2"D ||\nE z c z |] ^f d\' | '
    '"^SEGU"E>B (3cBA |]"^SEGUE"e>d | cB c2 ||',
    'A4 "^cB, GAB|]!f3dg3ka3b"B4|"^S"c4 d4|"^Segno"A8|]',
    'D4 "^FDA,B, C2|]!D.C.!||"E4|"G"F8|]',
]


@pytest.mark.parametrize("body", TEXT_AS_MUSIC)
def test_text_is_not_read_as_music(body):
    header = "X:1\nT:t\nC:[ 0=i3 [T::MO\nM:4/4\nL:1/8\nK:G\n"
    played = midi.abc_to_midi(header + body)
    assert played.reader == "tfcreative" and read_notes(played.data)
    data, _ = music21_midi.abc_to_midi(header + body)
    assert read_notes(data) and music21_midi.music_for_music21(header + body).count('"') <= 2


@pytest.mark.slow
def test_every_tune_the_tracker_follows_gets_a_midi_file():
    """Walks through the tracker's strict grammar, with the meter alone and with the form
    (chord symbols, annotations with any text, decorations, grace notes, tuplets, every bar
    line and header field the tracker writes): tfcreative's reader plays every one."""
    import numpy as np

    from tests.test_meter import corpus_text, walk
    from tests.test_meter_form import EVERY_CONSTRUCT, form_walk
    from tfcreative.music.controls import tune_controls

    vocabulary = CharVocabulary(set(corpus_text()) | EVERY_CONSTRUCT)
    texts, done = walk(vocabulary, rows=24, steps=2000, seed=1,
                       weigh=lambda texts, step: np.ones(vocabulary.size))
    texts = [t for t, d in zip(texts, done, strict=True) if d]
    texts += form_walk(vocabulary, tune_controls(chord_symbols=True), rows=24, steps=4000,
                       seed=1)
    assert len(texts) > 25
    for text in texts:
        assert midi.abc_to_midi(text).reader == "tfcreative", text
