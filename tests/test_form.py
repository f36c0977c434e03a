"""The form counter (tfcreative/music/form.py), which judges the tracker's form and shares no
code with it: hand-counted tunes, keys, and the bundled corpus's own figures."""

import importlib.resources

import pytest

from tfcreative.abc_notation import parse_abc_text
from tfcreative.music.form import form_report, read_form, read_key


def tune(body, meter="M:4/4", unit="L:1/8", key="K:D"):
    return "\n".join(f for f in ("X:1", "T:t", meter, unit, key) if f) + "\n" + body + "\n"


EIGHT = "dAFA DFAF|" * 7  # seven full bars of 4/4


# (body, meter, [(bars, repeated), ...] per part, last note)
FORMS = [
    ("AABB, a pickup that the closing bars complete",
     f"A|{EIGHT}d2 d2 d3:|\nf|{EIGHT}d2 d2 d3:|", "M:4/4", [(8, True), (8, True)], "d"),
    ("first and second endings fold into their part; || ends it",
     f"{EIGHT}[1 dAFA D4:|[2 dAFA d4||\n{EIGHT}dAFA D4|]", "M:4/4",
     [(8, True), (8, False)], "D"),
    ("|1 and :|2, then |: opens the next part", f"{EIGHT[:-1]}|1 d8:|2 D8|:{EIGHT}A8:|", "M:4/4",
     [(8, True), (8, True)], "A"),
    ("a part of 4 bars repeated: 8 bars played", "dAFA DFAF|" * 3 + "D8:|" + EIGHT + "D8|]",
     "M:4/4", [(4, True), (8, False)], "D"),
    ("6/8 with tuplets and broken rhythm", "(3ABc d2 A>F A2|" * 7 + "d3 d3:|", "M:6/8",
     [(8, True)], "d"),
    ("g:| is music, not a field; a body K: changes the key",
     f"{EIGHT}\ng:|\nK:A\n{EIGHT}A,8|]", "M:4/4", [(8, True), (8, False)], "A"),
    ("a chord's first note is the last note; rests are not notes",
     f"{EIGHT}[DFA]4 z4|]", "M:4/4", [(8, False)], "D"),
    ("a pickup of its own and no part-ending bar line at all", f"A|{EIGHT}d6 d|", "M:4/4",
     [(8, False)], "d"),
]


@pytest.mark.parametrize("body, meter, parts, last", [f[1:] for f in FORMS],
                         ids=[f[0] for f in FORMS])
def test_parts_bars_and_last_note_match_the_hand_count(body, meter, parts, last):
    form = read_form(tune(body, meter))
    assert [(p.bars, p.repeated) for p in form.parts] == parts
    assert form.last_note == last
    assert form.part_lengths_ok


def test_what_a_musician_would_not_call_parts_of_8_or_16_bars():
    assert not read_form(tune(f"{EIGHT}D8|D8:|")).part_lengths_ok  # 9 bars
    assert not read_form(tune("dAFA DFAF|" * 5 + "D8||")).part_lengths_ok  # 6 written out
    assert not read_form(tune("X:1\n")).part_lengths_ok  # no music: no parts


@pytest.mark.parametrize("key, last, on_tonic", [
    ("K:D", "D", True), ("K:D", "d'", True), ("K:D", "A", False),
    ("K:Ador", "A", True), ("K:A Dorian", "a", True), ("K:Emin", "E", True),
    ("K:G Major", "G,", True), ("K:D Mixolydian", "D", True), ("K:F#m", "F", True),
    ("K:Bb", "_B", True), ("K:Bb", "=B", False), ("K:F#m", "^F", True), ("K:F#m", "=F", False),
    ("K:none", "D", False), ("K:Hp", "A", False),
])
def test_the_last_note_against_the_keys_tonic(key, last, on_tonic):
    form = read_form(tune(f"{EIGHT}A4 {last}4|]", key=key))
    assert form.ends_on_tonic is on_tonic


def test_keys_and_modes():
    assert read_key("Ador") == read_key("A Dorian") == read_key(" A dor")
    assert read_key("Emin").mode == read_key("Em").mode == read_key("E Aeolian").mode == "minor"
    assert read_key("G").mode == read_key("G Major").mode == "major"
    assert (read_key("Bb").tonic, read_key("Bb").accidental) == ("B", "b")
    assert read_key("none") is None


def test_quoted_strings_are_counted_and_not_read_as_music():
    form = read_form(tune(f'"^Segno"{EIGHT}"G"d8 "^cB, GAB|]!f3dg3ka3b"|]'))
    assert form.quoted_strings == 3
    assert [(p.bars, p.repeated) for p in form.parts] == [(8, False)]


def test_the_bundled_corpus_has_the_form_musicians_count():
    """The bundled Irish corpus (issue 22's independent counter: 95 % parts of 8 or 16 bars,
    95 % repeated, 81 % two parts, 69 % on the tonic, 0.00 quoted strings per tune)."""
    text = (importlib.resources.files("tfcreative") / "data" / "irish_folk" / "irish.abc"
            ).read_text(encoding="utf-8")
    report = form_report([t.abc for t in parse_abc_text(text).tunes])
    assert report.part_lengths > 0.9 and report.repeated > 0.9
    assert 0.75 < report.parts_asked < 0.9 and 0.65 < report.ends_on_tonic < 0.85
    assert report.quoted_strings_per_tune < 0.05 and 15 < report.bars_per_tune < 20
