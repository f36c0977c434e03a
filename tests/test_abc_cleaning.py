"""Clean training text (tfcreative/abc_cleaning.py) and transposition (abc_transposition.py):
hand-written tunes, and abc2midi as the judge that a transposed tune plays the same notes
moved by the same interval."""

import os

import pytest

from tests.conftest import needs_abc2midi
from tfcreative import abc_notation
from tfcreative.abc_cleaning import clean_tune, normal_key
from tfcreative.abc_transposition import (
    COMMON_KEY_SIGNATURES,
    CannotTranspose,
    interval,
    key_signature,
    transpose,
    transpose_to,
)

RYAN = ('X:1\nT:The Cottage Maids\nZ:id:1 Ray Davies\nR:Fling\nL:1/16\nM:2/4\nN:a note\n'
        'K:D Major\n|: vA,4 (uC3.E) | (D3.F)"SEGUE"A3F | "4"G3BE3B !mf!c2B2 !trill!A4 |\n'
        'W:words, not music\n"^D.C."d4 "G/B"g3e "Am7"f3d !D.C.! S ~e4 O|]')


def test_clean_text_keeps_the_music_and_chord_symbols_and_drops_performance_marks():
    assert clean_tune(RYAN) == (
        'X:1\nT:The Cottage Maids\nR:fling\nM:2/4\nL:1/16\nK:D\n'
        '|: A,4 (C3.E) | (D3.F)A3F | G3BE3B c2B2 !trill!A4 |\n'
        'd4 "G/B"g3e "Am7"f3d   ~e4 |]')


@pytest.mark.parametrize("written, clean", [
    ("G Major", "G"), ("E Minor", "Em"), ("A Dorian", "Ador"), ("AMix", "Amix"),
    ("F# Minor", "F#m"), ("Bb", "Bb"), ("EMin", "Em"), ("D clef=bass", "D clef=bass"),
    ("HP", "HP"), ("none", "none"),
])
def test_keys_are_spelled_one_way(written, clean):
    assert normal_key(written) == clean


def test_header_fields_come_in_one_order_and_titles_keep_theirs():
    tune = "X:3\nT:First\nL:1/8\nQ:1/4=120\nT:Second\nM:6/8\nR:Jig\nK:G\nabc|"
    assert clean_tune(tune) == "X:3\nT:First\nT:Second\nR:jig\nM:6/8\nL:1/8\nQ:1/4=120\nK:G\nabc|"


def test_a_line_left_empty_is_dropped_so_the_tune_is_not_cut():
    tune = 'X:1\nT:t\nM:C\nL:1/8\nK:D\nabcd|\n"4" "^fine"\nefga|'
    assert clean_tune(tune) == "X:1\nT:t\nM:C\nL:1/8\nK:D\nabcd|\nefga|"
    assert "\n\n" not in clean_tune(tune)


# -- transposition ----------------------------------------------------------------------------

TUNE = ('X:1\nT:t\nM:4/4\nL:1/8\nK:D\n"D"dA=FA "G/B"B^cde|f2 g2 ~a2 [K:G]b2|\nK:Ador\n'
        '_B,^^C D2 [CEG] {g}a2 "Am7"z2|]')


def test_a_transposition_moves_notes_keys_and_chords_and_respells_accidentals():
    assert transpose_to(TUNE, -1) == (
        'X:1\nT:t\nM:4/4\nL:1/8\nK:F\n"F"fc_Ac "Bb/D"d=efg|a2 b2 ~c\'2 [K:Bb]d\'2|\nK:Cdor\n'
        '_D^E F2 [EGB] {b}c\'2 "Cm7"z2|]')
    assert transpose_to(TUNE, 3) == (
        'X:1\nT:t\nM:4/4\nL:1/8\nK:A\n"A"AE=CE "D/F#"F^GAB|c2 d2 ~e2 [K:D]f2|\nK:Edor\n'
        '=F,^^G, A,2 [G,B,D] {d}e2 "Em7"z2|]')


@pytest.mark.parametrize("fifths, expected", [
    (0, (0, 0)), (1, (-3, -5)), (-1, (3, 5)), (2, (1, 2)), (-2, (-1, -2)), (6, (3, 6)),
    (-6, (-3, -6)), (7, (0, 1)),
])
def test_the_smaller_interval_is_taken(fifths, expected):
    assert interval(fifths) == expected


@pytest.mark.parametrize("key, signature", [
    ("D", 2), ("Ador", 1), ("Em", 1), ("Gmix", 0), ("Bb", -2), ("F#m", 3), ("Ephr", 0),
    ("Clyd", 1), ("Bloc", 0), ("G Major", 1),
])
def test_key_signatures(key, signature):
    assert key_signature(f"X:1\nT:t\nK:{key}\nabc|") == signature


def test_every_common_key_is_reached_with_its_signature():
    for signature in COMMON_KEY_SIGNATURES:
        moved = transpose_to(TUNE, signature)
        assert key_signature(moved) == signature
        assert transpose_to(moved, 2) == TUNE  # back home, note for note


@pytest.mark.parametrize("tune, reason", [
    ("X:1\nT:t\nK:HP\nabc|", "a key without tonic and mode"),
    ("X:1\nT:t\nK:D exp ^f ^c\nabc|", "explicit accidentals in the key"),
    ("X:1\nT:t\nK:D\n^3/4A abc|", "a microtone"),
    ("X:1\nT:t\nK:D\n^^e abc|", "triple sharp or flat"),
])
def test_what_cannot_be_transposed_exactly_says_why(tune, reason):
    with pytest.raises(CannotTranspose, match=reason):
        transpose(tune, 2)


def test_text_is_not_transposed():
    tune = 'X:1\nT:Bach\nM:C\nL:1/8\nK:C\n"^Bass" !D.C.! "Fine" CD|\nP:B\nw:A B C'
    moved = transpose(tune, 2)
    assert moved.split("\n")[:4] == tune.split("\n")[:4]
    assert moved.endswith('"^Bass" !D.C.! "Fine" DE|\nP:B\nw:A B C')


def _notes(abc: str, path: str) -> tuple[list[int], list[int]]:
    """(melody pitches, pitch classes of the accompaniment abc2midi plays for the chord
    symbols), as abc2midi writes them (it places chord notes in its own octave)."""
    import mido

    from tfcreative.music import abc2midi

    check = abc2midi.abc_to_midi(abc, path)
    assert check.parses, (abc, check.errors)
    notes = [(m.channel, m.note) for track in mido.MidiFile(path).tracks for m in track
             if m.type == "note_on" and m.velocity > 0]
    return [n for c, n in notes if c == 0], [n % 12 for c, n in notes if c != 0]


@needs_abc2midi
@pytest.mark.parametrize("tune", [
    TUNE,
    # accidentals that carry to the end of the bar, and a tie across it
    "X:1\nT:c\nM:3/4\nL:1/8\nK:Gm\n^F2 F2 =F2|_e2 e2- e2|=B,2 B,2 B2|_A2 ^A2 A2|]",
    # an O'Neill's-style reel with octave marks and grace notes
    "X:1\nT:r\nM:C|\nL:1/8\nK:Ador\n{g}a2ea ^ge=fg|eAA^G A2 Bc|d'c'ba g2f'e'|[1 dBG,B, A,4:|",
])
def test_abc2midi_plays_a_transposed_tune_as_the_same_notes_moved(tune, tmp_path):
    """abc2midi (not our reading of ABC) is the judge: every note of the tune in every common
    key is the original note moved by the interval, every chord it plays the chord moved."""
    melody, chords = _notes(tune, os.fspath(tmp_path / "a.mid"))
    own = key_signature(tune)
    for signature in COMMON_KEY_SIGNATURES:
        _, semitones = interval(signature - own)
        moved = _notes(transpose_to(tune, signature), os.fspath(tmp_path / "b.mid"))
        assert moved == ([pitch + semitones for pitch in melody],
                         [(pitch + semitones) % 12 for pitch in chords]), signature


def test_music_segments_join_back_to_the_line():
    line = 'A"Am"B!trill!c+fermata+[K:G]d "^text" e|'
    pieces = abc_notation.music_segments(line)
    assert "".join(text for _, text in pieces) == line
    assert [kind for kind, _ in pieces] == ["music", "quoted", "music", "decoration", "music",
                                            "decoration", "field", "music", "quoted", "music"]
