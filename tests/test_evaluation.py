"""Validity report and validation loss."""

import math
import shutil

import pytest

from tests.conftest import needs_abc2midi
from tfcreative.music import pipeline
from tfcreative.music.evaluation import (
    format_reports,
    held_out_loss,
    report_split,
    validity_report,
    whole_tunes_loss,
)

GOOD = "X:1\nT:Good\nM:4/4\nL:1/8\nK:D\n|:dAFA dAFA|dfed cAGF:|"


def test_header_fraction_and_complete_fraction():
    report = validity_report([GOOD, "X:1\nT:no meter\nK:D\nabc|", "garbage"],
                             complete=[True, True, False])
    assert report.num_tunes == 3
    assert report.required_headers == pytest.approx(1 / 3)
    assert report.complete == pytest.approx(2 / 3)


@needs_abc2midi
def test_parser_fractions():
    report = validity_report([GOOD, "X:1\nT:Bad\nM:4/4\nL:1/8\nK:D\nabc]]]|",
                              "X:1\nT:Long\nM:4/4\nL:1/8\nK:D\nAB|cdef gabc d|\n"])
    assert report.parses == pytest.approx(2 / 3)
    assert report.bars_match_meter == pytest.approx(1 / 3)


def test_without_abc2midi_parser_fractions_are_none_and_the_table_says_so(monkeypatch,
                                                                         tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    report = validity_report([GOOD])
    assert report.parses is None and report.bars_match_meter is None and report.parser is None
    table = format_reports({"generated": report})
    assert "-" in table
    last = table.splitlines()[-1]
    assert last.startswith("Checks run: headers and endings (tfcreative's own) only")
    assert "abc2midi is not installed" in last and "apt-get install abcmidi" in last


@needs_abc2midi
def test_the_table_names_the_abc2midi_that_checked_the_tunes():
    report = validity_report([GOOD])
    assert report.parser.endswith(f"({shutil.which('abc2midi')})")
    last = format_reports({"generated": report, "corpus": report}).splitlines()[-1]
    assert last == ("Checks run: headers and endings (tfcreative's own); parsing and bars vs "
                    f"meter by abc2midi {report.parser}.")


def test_table_shows_each_column_in_percent():
    table = format_reports({"generated": validity_report([GOOD, "bad"]),
                            "corpus": validity_report([GOOD])})
    header_row = next(line for line in table.splitlines() if line.startswith("has headers"))
    assert header_row.split()[-2:] == ["50.0%", "100.0%"]


def test_held_out_loss_of_an_untrained_model_is_near_log_vocab(irish_builder,
                                                               irish_vocabulary):
    from tests.conftest import make_tiny_model

    result = held_out_loss(make_tiny_model(irish_vocabulary), irish_builder, "test", 50, 8)
    assert result["loss"] == pytest.approx(math.log(irish_vocabulary.size), rel=0.05)
    assert result["bits_per_char"] == pytest.approx(result["loss"] / math.log(2), rel=1e-5)


def test_trained_model_beats_untrained_on_the_test_tunes(irish_builder, trained_tiny_model):
    assert report_split(irish_builder) == ("test", "")
    result = held_out_loss(trained_tiny_model, irish_builder, "test", 50, 8)
    assert result["loss"] < math.log(trained_tiny_model.vocabulary.size) - 0.5
    assert pipeline.read_texts(pipeline.tune_texts(irish_builder, "test"))


def test_whole_tunes_loss_scores_each_character_given_its_whole_tune_before_it(
        irish_builder, trained_tiny_model):
    """Against the generation loop's own step-by-step state (tunes of different lengths in one
    padded batch, out of order, one with a character the model does not know); lower than the
    windows' loss, whose windows start without their tune's context."""
    import numpy as np

    from tfcreative.abc_notation import TUNE_SEPARATOR

    model = trained_tiny_model
    texts = pipeline.read_texts(pipeline.tune_texts(irish_builder, "test"))
    texts = [texts[1], texts[0][:80] + "\u00e9" + texts[0][80:], texts[2][:30]]
    expected_nats, expected_count = 0.0, 0
    for text in texts:
        ids = model.vocabulary.encode(TUNE_SEPARATOR + text + TUNE_SEPARATOR, "oov")
        states = model.zero_states(1)
        for position, (current, following) in enumerate(zip(ids[:-1], ids[1:], strict=True)):
            logits, states = model.step(np.array([current]), states)
            if position >= len(TUNE_SEPARATOR) - 1:
                log_probabilities = logits[0] - np.logaddexp.reduce(np.asarray(logits[0]))
                expected_nats -= float(log_probabilities[following])
                expected_count += 1
    result = whole_tunes_loss(model, texts, batch_size=2)
    assert result["characters"] == expected_count == sum(len(t) + 2 for t in texts)
    assert result["loss"] == pytest.approx(expected_nats / expected_count, rel=1e-4)
    assert result["bits_per_char"] == pytest.approx(result["loss"] / math.log(2), rel=1e-6)
    test_tunes = pipeline.read_texts(pipeline.tune_texts(irish_builder, "test"))
    assert whole_tunes_loss(model, test_tunes)["loss"] < held_out_loss(
        model, irish_builder, "test", 50, 8)["loss"]
    with pytest.raises(ValueError, match="no tunes"):
        whole_tunes_loss(model, [])


def test_pitch_interval_and_length_histograms_measure_closeness_to_the_test_tunes():
    """MGEval's relative measures (music.similarity): tunes like the test tunes lie among
    them (overlap near 1, KL near 0); tunes of one repeated note, in another key and rhythm,
    do not."""
    import importlib.resources

    from tfcreative.abc_notation import parse_abc_text
    from tfcreative.music.similarity import features, similarity_report

    text = (importlib.resources.files("tfcreative") / "data" / "irish_folk" / "irish.abc"
            ).read_text(encoding="utf-8")
    tunes = [t.abc for t in parse_abc_text(text).tunes]
    test, train, held = tunes[:60], tunes[60:400], tunes[400:460]
    drone = [f"X:1\nT:d\nM:4/4\nL:1/8\nK:D\n{'^G,8|' * 16}]"] * 20
    alike = similarity_report(held, test, train)
    apart = similarity_report(drone, test, train)
    for name in ("pitch_classes", "intervals", "note_lengths"):
        assert alike.overlap[name]["generated"] > 0.8 and alike.kl[name]["generated"] < 0.2
        assert apart.overlap[name]["generated"] < 0.3 < apart.kl[name]["generated"]
        assert alike.overlap[name]["train"] > 0.8  # the baseline: training vs test tunes
    one = features("X:1\nT:t\nM:4/4\nL:1/8\nK:D\nFA d2 c>B A|]")
    assert one["pitch_classes"][6] == 1 / 6 and one["intervals"][12 + 3] == 0.2  # F#, a third
    assert abs(one["note_lengths"].sum() - 1) < 1e-9
