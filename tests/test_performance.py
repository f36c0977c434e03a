"""A tune as played (tfcreative.music.performance, abc_bars) and written as MIDI (midi_file):
pitches, lengths, repeats and endings as abc2midi plays them, checked against abc2midi itself
where it is installed; what the reader does not play goes to music21."""

import io
import os
import random
import subprocess
import sys
import tempfile
from fractions import Fraction

import mido
import pytest

from tests.conftest import REPO, needs_abc2midi
from tfcreative.music import abc2midi, abc_bars, chord_symbols, midi, midi_file, performance
from tfcreative.music.abc_grammar import CHORD_QUALITIES

HEADER = "X:1\nT:t\nM:4/4\nL:1/8\nK:D\n"

# (ABC, [(start in crotchets, length in crotchets, MIDI pitch), ...]): K:D sharpens F and C
PROBES = [
    # accidentals carry through the bar in every octave; a tie keeps its pitch across the bar
    (HEADER + "^c c' c =f- | f f z2 |]",
     [(0, .5, 73), (.5, .5, 85), (1, .5, 73), (1.5, 1, 77), (2.5, .5, 78)]),
    # a triplet, a chord as long as its first note, broken rhythm both ways
    (HEADER + "(3ABc [C3/2EG] G/ A>B c<d|]",
     [(0, 1 / 3, 69), (1 / 3, 1 / 3, 71), (2 / 3, 1 / 3, 73), (1, .75, 61), (1, .75, 64),
      (1, .75, 67), (1.75, .25, 67), (2, .75, 69), (2.75, .25, 71), (3, .25, 73),
      (3.25, .75, 74)]),
    # grace notes take an eighth of the next note each
    (HEADER.replace("4/4", "6/8") + "A2 {g}B2 {gf}c2|d3-d2z|]",
     [(0, 1, 69), (1, .125, 79), (1.125, .875, 71), (2, .125, 79), (2.125, .125, 78),
      (2.25, .75, 73), (3, 2.5, 74)]),
    # decorations and annotations are not played (abc2midi plays ~ and !trill! as ornaments)
    (HEADER + '"^slow"!trill!A2 ~B2 .c2 Hd2|]', [(0, 1, 69), (1, 1, 71), (2, 1, 73), (3, 1, 74)]),
    # no L: under 2/4: sixteenths; >> and a (3:2:2 tuplet (two notes of three: a short bar)
    ("X:1\nT:t\nM:2/4\nK:G\nA>>B (3:2:2cd e2|f4 z4|]",
     [(0, .4375, 69), (.4375, .0625, 71), (.5, 1 / 6, 72), (2 / 3, 1 / 6, 74), (5 / 6, .5, 76),
      (4 / 3, 1, 78)]),
]


def played(abc):
    return [(float(n.start * 4), float(n.duration * 4), n.pitch)
            for n in performance.perform(abc).notes]


@pytest.mark.parametrize("abc, expected", PROBES)
def test_pitches_and_lengths(abc, expected):
    assert played(abc) == pytest.approx(expected)


def notes_in(data: bytes) -> list[tuple[float, float, int]]:
    """(start, length in crotchets, pitch) of every note in a MIDI file, read by mido."""
    midi_in = mido.MidiFile(file=io.BytesIO(data))
    found, sounding = [], {}
    for track in midi_in.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                sounding[message.note] = tick
            elif message.type in ("note_on", "note_off") and message.note in sounding:
                start = sounding.pop(message.note)
                found.append((start / midi_in.ticks_per_beat,
                              (tick - start) / midi_in.ticks_per_beat, message.note))
    return sorted(found)


@needs_abc2midi
@pytest.mark.parametrize("abc, expected", [p for p in PROBES if "[C" not in p[0]
                                           and "~" not in p[0]])
def test_the_probes_play_as_abc2midi_plays_them(abc, expected):
    """abc2midi's own MIDI (its notes start a tick late and end a tick early; it spreads a
    chord's notes, so the chord probe is left out)."""
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "probe.mid")
        assert not abc2midi.abc_to_midi(abc, path).errors
        theirs = notes_in(open(path, "rb").read())
    ours = notes_in(midi.abc_to_midi(abc).data)
    assert [p for *_, p in theirs] == [p for *_, p in ours]
    for (start, length, _), (our_start, our_length, _) in zip(theirs, ours, strict=True):
        assert start == pytest.approx(our_start, abs=2 / 480)
        assert length == pytest.approx(our_length, abs=3 / 480)


def order(body: str, meter="M:4/4\nL:1/4\n") -> str:
    """The bars' first letters in the order played: every bar is one whole note, C to B."""
    names = {60 + semitones: letter for letter, semitones in zip("CDEFGAB", (0, 2, 4, 5, 7, 9,
                                                                             11), strict=True)}
    notes = performance.perform(f"X:1\nT:t\n{meter}K:C\n{body}\n").notes
    return "".join(names[n.pitch] for n in notes)


@pytest.mark.parametrize("body, expected", [
    ("|:C4|D4:|E4|F4:|", "CDCDEFEF"),  # the B part's :| repeats from the A part's
    ("|:C4|D4:|\n|:E4|F4:|", "CDCDEFEF"),
    ("C4|[1 D4:|[2 E4|]", "CDCE"),  # no |: repeats from the start
    ("|:C4|D4|1 E4:|2 F4|]", "CDECDF"),  # |1 and :|2 mark endings too
    ("|:C4|[1 D4|E4:|[2 F4|G4|]", "CDECFG"),  # an ending of two bars each
    ("C4|[1 D4:|[2 E4||F4|[1 G4:|[2 A4|]", "CDCEFGFA"),  # the second part has no |:
    ("|:C4|[1 D4:|[2 E4:|[3 F4|]", "CDCECF"),  # three endings
    ("|:C4|[1,2 D4:|[3 E4|]", "CDCDCE"),  # an ending played twice
    ("|:C4::D4:|", "CCDD"),  # :: ends one repeat and starts the next
    ("C4|D4:|\nE4|F4|[1 G4|A4:|\n[2 B4|]", "CDCDEFGAEFB"),  # music21 could not expand this
    ("|:C4|[1 D4:|[2 E4:|", "CDCE"),  # (abc2midi: CDCEC)
])
def test_repeats_and_endings(body, expected):
    assert order(body) == expected


def test_any_order_of_repeat_signs_ends():
    assert order("C4:|D4:|:|E4::|[2 F4:|[1 G4|]") == "CCDDEEG"
    assert order(":|::|[3 C4:|:|[1|") == ""


def test_tempo_meter_and_key_reach_the_midi_file():
    abc = "X:1\nT:t\nM:6/8\nL:1/8\nQ:\"Allegro\" 3/8=100\nK:Bb\nBcd [M:3/4][Q:1/4=90]e2 f2 B2|]"
    midi_in = mido.MidiFile(file=io.BytesIO(midi.abc_to_midi(abc).data))
    assert midi_in.type == 1 and midi_in.ticks_per_beat == midi_file.TICKS_PER_QUARTER
    meta = [(m.type, m.dict()) for m in midi_in.tracks[0] if m.is_meta]
    tempos = [d["tempo"] for t, d in meta if t == "set_tempo"]
    assert tempos == [400_000, round(60_000_000 / 90)]  # 100 dotted crotchets, 90 crotchets
    meters = [(d["numerator"], d["denominator"]) for t, d in meta if t == "time_signature"]
    assert meters == [(6, 8), (3, 4)]
    assert [d["key"] for t, d in meta if t == "key_signature"] == ["Bb"]
    assert [p for *_, p in notes_in(midi.abc_to_midi(abc).data)] == [70, 72, 74, 75, 77, 70]


@pytest.mark.parametrize("value, tempo", [
    ("1/4=120", 500_000), ("3/8=100", 400_000), ('"Allegro" 1/4=90', 666_667),
    ("1/8 1/8=60", 1_000_000), ("120", 2_000_000), ("Andante", None), ("1/4=0", None),
    ("1/4=1", 0xFFFFFF), ("1/4=99999999999", 1)])
def test_tempo(value, tempo):
    assert performance.tempo_of(value, Fraction(1, 16)) == tempo  # (a bare number: L: units)


def test_chord_symbols_are_an_accompaniment_held_to_the_next_one():
    abc = HEADER.replace("K:D", "K:G") + '|:"G"GABc "D7/F#"dBAG|"^slow"E4 "Em"E4:|'
    played = performance.perform(abc)
    chords = [(float(n.start * 4), float(n.duration * 4), n.pitch) for n in played.accompaniment]
    g, d7_over_f_sharp, e_minor = (55, 59, 62), (42, 50, 54, 57, 60), (52, 55, 59)
    # (start, crotchets held, pitches): D7/F# rings on under the annotation, to "Em"
    once = [(0, 2, g), (2, 4, d7_over_f_sharp), (6, 2, e_minor)]
    assert chords == [(start + 8 * twice, held, pitch) for twice in (0, 1)
                      for start, held, pitches in once for pitch in pitches]
    assert {n.velocity for n in played.accompaniment} == {performance.ACCOMPANIMENT_VELOCITY}
    midi_in = mido.MidiFile(file=io.BytesIO(midi.abc_to_midi(abc).data))
    assert len(midi_in.tracks) == 3
    assert {m.channel for m in midi_in.tracks[2] if m.type == "note_on"} == \
        {midi_file.ACCOMPANIMENT_CHANNEL}
    assert len(mido.MidiFile(file=io.BytesIO(midi.abc_to_midi(HEADER + "ABcd|]").data))
               .tracks) == 2  # none without chord symbols


def test_every_chord_quality_the_tracker_writes_has_its_notes():
    assert all(quality in chord_symbols.INTERVALS for quality in CHORD_QUALITIES)
    assert chord_symbols.chord_pitches("Am") == (57, 60, 64)
    assert chord_symbols.chord_pitches("Bbmaj7") == (58, 62, 65, 69)
    assert chord_symbols.chord_pitches("F#m7") == (54, 57, 61, 64)
    assert chord_symbols.chord_pitches("C/E") == (40, 48, 52, 55)
    assert chord_symbols.chord_pitches("Dmadd9") == (50, 53, 57)  # an unknown quality: triad
    assert chord_symbols.chord_pitches("^Segno") == chord_symbols.chord_pitches("4") == ()


def test_accents_on_the_bar_and_the_beat():
    velocities = [n.velocity for n in performance.perform(HEADER + "ABcd efga|]").notes]
    assert velocities == [105, 80, 95, 80, 95, 80, 95, 80]
    jig = [n.velocity for n in performance.perform(HEADER.replace("4/4", "6/8")
                                                   + "ABc def|]").notes]
    assert jig == [105, 80, 80, 95, 80, 80]


@pytest.mark.parametrize("abc, reason", [
    ("X:1\nT:t\nM:4/4\nL:1/8\nV:1\nK:C\nCDEF|]", "several voices"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:C\nCDEF & GABc|]", "voice overlay"),
    ("X:1\nT:t\nP:AABB\nM:4/4\nL:1/8\nK:C\nCDEF|]", "parts played in an order"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:D exp ^f\nCDEF|]", "a key it does not play"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:C\nCD^/EF|]", "in the music"),
])
def test_what_the_reader_does_not_play_goes_to_music21(abc, reason):
    with pytest.raises(abc_bars.NotPlayable, match=reason):
        performance.perform(abc)
    if reason != "in the music":  # (music21 cannot read a microtone either)
        assert midi.abc_to_midi(abc).reader == "music21"


def test_any_text_is_played_or_said_not_playable():
    """Random characters of ABC's music after a header: a performance or NotPlayable, never
    another error (nor a hang: every repeat sign sends back a bounded number of times)."""
    characters = "ABCDEFGabcdefgzxZ|:[]0123456789/,'^_=(){}<>-~.!\"+ &%\\\nKMLQPV:yHT"
    rng = random.Random(0)
    played = 0
    for _ in range(3000):
        body = "".join(rng.choice(characters) for _ in range(rng.randint(1, 80)))
        try:
            performance.perform(HEADER + body)
            played += 1
        except abc_bars.NotPlayable:
            pass
    assert played > 100


def test_writing_midi_loads_neither_numpy_nor_music21():
    """`music generate` sets NumPy's threads before NumPy loads: writing the tunes' MIDI must
    not load it first."""
    script = ("import sys\nfrom tfcreative.music import midi\n"
              "midi.abc_to_midi('X:1\\nT:t\\nK:C\\nCDE|]')\n"
              "print([m for m in ('numpy', 'music21') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_lengths_as_written():
    assert [abc_bars.length_of(t) for t in ("", "3", "/", "//", "3/2", "/4", "3/")] == \
        [1, 3, Fraction(1, 2), Fraction(1, 4), Fraction(3, 2), Fraction(1, 4), Fraction(3, 2)]
