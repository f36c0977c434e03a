"""Parsing messy real-world ABC text into tunes, with counted skips and clear errors."""

import pytest

from tfcreative import abc_notation
from tfcreative.abc_notation import NoTunesError, parse_abc_bytes, parse_abc_text

TUNE = "X:1\nT:Reel\nM:4/4\nL:1/8\nK:D\n|:dAFA dAFA|dfed cAGF:|"


def test_tunes_split_at_blank_lines_and_headers_read():
    result = parse_abc_text(TUNE + "\n\n" + TUNE.replace("X:1", "X:2").replace("Reel", "Jig"))
    assert [t.reference for t in result.tunes] == ["1", "2"]
    assert [t.title for t in result.tunes] == ["Reel", "Jig"]
    first = result.tunes[0]
    assert (first.meter, first.unit_note_length, first.key) == ("4/4", "1/8", "D")
    assert first.abc == TUNE
    assert result.num_skipped == 0


def test_windows_line_endings_and_old_mac_line_endings_are_normalised():
    for newline in ("\r\n", "\r"):
        result = parse_abc_text((TUNE + "\n\n" + TUNE).replace("\n", newline))
        assert len(result.tunes) == 2
        assert result.tunes[0].abc == TUNE


def test_comments_removed_without_ending_the_tune_and_escaped_percent_kept():
    text = ("%%scale 0.8\nX:1\nT:50\\% off % a comment\nM:4/4\nL:1/8\nK:D\n"
            "% a comment line inside the tune\nabcd|efga|\n")
    (tune,) = parse_abc_text(text).tunes
    assert tune.abc == "X:1\nT:50\\% off\nM:4/4\nL:1/8\nK:D\nabcd|efga|"
    assert tune.title == "50\\% off"


def test_tunes_without_blank_line_between_them_are_split_at_x():
    result = parse_abc_text(TUNE + "\n" + TUNE.replace("X:1", "X:2"))
    assert [t.reference for t in result.tunes] == ["1", "2"]


def test_malformed_blocks_are_skipped_and_counted_by_reason():
    text = "\n\n".join([
        "Some liner notes about the collection.",
        "X:5\nT:No key\nM:4/4\nabc|",
        "T:No reference\nM:4/4\nK:G\nabc|",
        "X:6\nT:Header only\nM:4/4\nK:G",
        TUNE,
    ])
    result = parse_abc_text(text)
    assert len(result.tunes) == 1
    assert result.skipped == {
        "text outside any tune (no X: or K: line)": 1,
        "no K: key line ending the header": 1,
        "tune does not start with an X: reference line": 1,
        "no music after the K: line": 1,
    }
    assert result.num_skipped == 4


def test_header_separated_from_music_by_blank_line_is_repaired_and_counted():
    result = parse_abc_text("X:1\nT:Split\nM:3/4\nL:1/8\nK:G\n\nGAB cde|d6|\n\n" + TUNE)
    assert len(result.tunes) == 2
    assert result.repaired == 1
    assert result.tunes[0].abc.endswith("K:G\nGAB cde|d6|")


def test_non_utf8_bytes_are_decoded_and_the_encoding_reported():
    data = "X:1\nT:Café\nM:2/4\nL:1/8\nK:D\nAF FA|\n".encode("latin-1")
    result = parse_abc_bytes(data, source="old.abc")
    assert result.tunes[0].title == "Café"
    assert result.encoding == "cp1252"
    utf8 = parse_abc_bytes("\ufeffX:1\nT:Café\nK:D\nAF|\n".encode(), source="new.abc")
    assert utf8.encoding == "utf-8" and utf8.tunes[0].abc.startswith("X:1")


@pytest.mark.parametrize("content", [b"", b"just some notes\nno tunes here\n", b"T:Title\nK:D\n"])
def test_a_file_without_any_tune_is_an_error_naming_the_file(content):
    with pytest.raises(NoTunesError, match=r"my_tunes\.abc: no ABC tune found"):
        parse_abc_bytes(content, source="/data/my_tunes.abc")


def test_required_headers():
    assert abc_notation.has_required_headers(TUNE)
    assert not abc_notation.has_required_headers(TUNE.replace("L:1/8\n", ""))
    assert not abc_notation.has_required_headers("T:x\n" + TUNE)  # must start with X:
    # a field after the music starts is not a header
    assert not abc_notation.has_required_headers("X:1\nT:t\nM:4/4\nK:D\nabc|\nL:1/8")


def test_bundled_corpus_parses_completely(irish_builder):
    from tfcreative.datasets.abc_tunes.abc_tunes_dataset_builder import bundled_corpus_path

    result = parse_abc_bytes(bundled_corpus_path().read_bytes(), source="irish.abc")
    assert len(result.tunes) == 804  # 806 blank-line blocks, two of them split headers
    assert result.repaired == 2 and result.num_skipped == 0
    assert all(abc_notation.has_required_headers(t.abc) for t in result.tunes)


def test_music_body_leaves_out_layout_numbers_titles_and_notes():
    written = "X:1\nT:Reel\nZ:me\nM:4/4\nL:1/8\nK:D\n|:dAFA dAFA|dfed cAGF:|\n"
    variants = [
        "X:7\nT:Another Title\nN:from a book\nM:4/4\nL:1/8\nK:D\n|: dAFA dAFA | dfed cAGF :|",
        "X:1\nT:Reel\nM:4/4\nL:1/8\nK:D\n|:dAFA dAFA|\\\ndfed cAGF:|",  # line continuation
        "X:1\nT:Reel\nM:4/4\nL:1/8\nK:D\n|:dA`FA dA``FA|\ndfed\ncAGF:|",  # beaming spacers
        "X:1\nT:Reel\nM:4/4\nL:1/8\nK:D\n|:dAFA dAFA|\nN:second half\ndfed cAGF:|\nW:words",
    ]
    for variant in variants:
        assert abc_notation.music_body(variant) == abc_notation.music_body(written), variant
    assert abc_notation.music_body(written) == "|:dAFAdAFA|dfedcAGF:|"
    other_notes = written.replace("cAGF", "cAGE")
    assert abc_notation.music_body(other_notes) != abc_notation.music_body(written)


def test_note_sequence_keeps_only_the_pitches():
    plain = "X:1\nT:t\nM:6/8\nL:1/8\nK:G\nGAB c2d|e3 ^f2g|\n"
    ornamented = ('X:2\nT:t\nM:6/8\nL:1/8\nK:G\n"G"G>AB !trill!c-c/d/|{f}e3 (~^f2g)|]\n'
                  "K:D\n")
    assert abc_notation.note_sequence(plain) == "GABcde^fg"
    assert abc_notation.note_sequence(ornamented) == abc_notation.note_sequence(plain)
    assert abc_notation.note_sequence(plain.replace("e3", "e,3")) == "GABcde,^fg"
    assert abc_notation.note_sequence("X:1\nT:t\nK:C\n[K:G] [CEG]2 z2 x2 [M:3/4]|") == "CEG"


def test_split_provenance_keeps_what_to_play_and_moves_who_and_where():
    tune = ("X: 12\nT: The Reel\nT:Second title\nC:Trad.\nB: O'Neill's 12\nZ: Transcribed by "
            "A. Person, a@b.c\nN: collected by X\nR:reel\nM: C|\nL:1/8\nQ:1/2=100\nI: :: ::\n"
            "K: D\n|:dAFA dAFA|\nP:B\ndfed cAGF:|")
    abc, provenance = abc_notation.split_provenance(tune)
    assert abc == ("X:12\nT:The Reel\nT:Second title\nR:reel\nM:C|\nL:1/8\nQ:1/2=100\nK:D\n"
                   "|:dAFA dAFA|\nP:B\ndfed cAGF:|")
    assert provenance == ("C:Trad.\nB: O'Neill's 12\nZ: Transcribed by A. Person, a@b.c\n"
                          "N: collected by X\nI: :: ::")
    assert abc_notation.music_body(abc) == abc_notation.music_body(tune)
    assert abc_notation.split_provenance(TUNE) == (TUNE, "")


def test_a_header_line_that_lost_its_field_letter_is_dropped_and_counted():
    """Aird's Airs has eight such lines ("3/8=120" for "Q:3/8=120", a stray "N")."""
    broken = "X:20\nT:Jollity.\nM:6/8\nL:1/8\n3/8=120\nN\nZ:J. C.\nK:D\nded A2G|F2A d3|"
    result = parse_abc_text(broken + "\n\n" + TUNE)
    assert [t.reference for t in result.tunes] == ["20", "1"]
    assert result.tunes[0].abc == "X:20\nT:Jollity.\nM:6/8\nL:1/8\nZ:J. C.\nK:D\nded A2G|F2A d3|"
    assert result.malformed_header_lines == 2 and result.num_skipped == 0
    # music before the K: line (no field after it) is not a header line: still no tune
    result = parse_abc_text("X:5\nT:No key\nM:4/4\nabc|\nK:G\ndef|")
    assert result.tunes == [] and result.malformed_header_lines == 0
    assert result.skipped == {"no K: key line ending the header": 1}
