"""Memorisation checks: bars, runs of consecutive bars copied from one training tune, exact
copies."""

import pytest

from tfcreative.music.novelty import TrainingTunes, bars, novelty_report

HEADER = "X:1\nT:t\nM:4/4\nL:1/8\nK:D\n"


def tune(*bar_texts, header=HEADER):
    return header + "|".join(bar_texts) + "|]"


def test_bars_split_at_every_kind_of_bar_line_and_ignore_layout():
    text = HEADER + "|:A|d2d dcB|A2G F2G:|[1E2e efd:|[2c2B AFG|]\n|:fg|a2 b2|1 c:|2 d||e::f"
    assert bars(text) == ("A", "d2ddcB", "A2GF2G", "E2eefd", "c2BAFG", "fg", "a2b2", "c", "d",
                          "e", "f")
    assert bars(HEADER + "ab cd|\nef  gh|") == bars(HEADER + "abcd|efgh|")


def test_runs_must_come_consecutively_from_one_training_tune():
    a = tune("A1", "A2", "A3", "A4", "A5")
    b = tune("B1", "B2", "B3", "B4")
    training = TrainingTunes([a, b])
    assert training.copies(tune("x", "A2", "A3", "A4", "A5", "y"), 4)
    assert not training.copies(tune("A1", "A2", "B1", "B2"), 4)  # two tunes, not one
    assert not training.copies(tune("A1", "A2", "A4", "A5"), 4)  # not consecutive there
    assert not training.copies(tune("A1", "A2", "A3", "A4", "A5"), 8)
    assert training.is_exact_copy(tune("A1", "A2", "A3", "A4", "A5", header="X:9\nT:other\nK:G\n"))
    assert not training.is_exact_copy(tune("A1", "A2", "A3", "A4"))


def test_report_fractions():
    training = TrainingTunes([tune(*[f"b{i}" for i in range(10)])])
    report = novelty_report([tune(*[f"b{i}" for i in range(10)]), tune("b0", "b1", "b2", "b3"),
                             tune("new", "bars")], training)
    assert (report.copies_4_bars, report.copies_8_bars, report.exact_copies) == \
        pytest.approx((2 / 3, 1 / 3, 1 / 3))
