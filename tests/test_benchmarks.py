"""Smoke test of `python -m benchmarks --quick` (two benchmarks at a time: their figures measure
nothing then, and are not asserted): every benchmark runs and reports positive figures and
ratios. No timing assertions: speed targets live in the benchmarks' own table."""

import json
import os
import re
import subprocess
import sys

import pytest

from benchmarks import BENCHMARKS
from tests.conftest import REPO, needs_abc2midi


@pytest.mark.slow
def test_quick_mode_reports_every_benchmark_with_positive_figures(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--jobs", "2",
                             "--json", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=900,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["quick"] is True and report["jobs"] == 2 and report["machine"]["tensorflow"]
    assert [b["name"] for b in report["benchmarks"]] == list(BENCHMARKS)
    for benchmark in report["benchmarks"]:
        assert not benchmark.get("error"), benchmark
        if benchmark["name"] == "startup":  # commands in child processes: checked below
            continue
        assert benchmark["peak_rss_mib"] > 100 and benchmark["matmul_gflops"] > 0
        assert benchmark["rows"], benchmark["name"]
        for row in benchmark["rows"]:
            if row["note"].startswith("skipped"):  # TF.js row without a browser, never in CI
                assert not os.environ.get("CI"), row
                continue
            assert row["ours"] > 0, row
            if benchmark["name"] != "roofline" and not row["details"].get("role"):
                assert row["reference"] > 0 and row["ratio"] > 0, row
                assert row["ours_gflops"] > 0, row
    cases = {row["case"].split(",")[0] for b in report["benchmarks"] for row in b["rows"]}
    assert {"ours N=1", "ours N=16", "ours N=64", "SavedModel generate N=64",
            "ours N=1 constrain=meter", "ours N=64 constrain=meter",
            "ours N=1 constrain=form", "ours N=64 constrain=form",
            "SavedModel serving_default", "TF.js in Chromium", "XLA loop N=4 (the largest "
            "batch jit_compile=\"auto\" runs in XLA)"} <= cases
    roofs = [row for row in report["benchmarks"][0]["rows"]
             if row["case"].startswith("batch-1 roof")]
    assert [row["case"].rsplit(", ", 1)[1] for row in roofs] == ["graph", "XLA"]
    generation = next(b for b in report["benchmarks"] if b["name"] == "music_generation")
    assert generation["batch1_roof_steps_per_s"] > 0
    roles = [row["details"].get("role") for row in generation["rows"]]
    assert roles[:2] == ["roof", "diagnostic"] and not any(roles[2:]), roles
    for row in generation["rows"][2:]:
        if re.search(r"N=(1|64)\b", row["case"]):  # batch 1 and 64 have their step roofs
            median, low, high = row["details"]["roof_percent"]
            assert 0 < low <= median <= high, row
            assert "% of the batch-" in row["note"], row
        assert row["details"]["matmul_roof_percent"] > 0, row
    assert "| music_training |" in result.stdout  # the printed table
    _check_startup(next(b for b in report["benchmarks"] if b["name"] == "startup"))


@pytest.mark.parametrize("arguments, message", [
    (["--jobs", "2"], "--jobs: more than 1 only with --quick"),
    (["--quick", "--jobs", "0"], "--jobs: expected 1 or more, got 0"),
])
def test_benchmarks_run_side_by_side_only_in_quick_mode(arguments, message, capsys):
    from benchmarks.__main__ import main

    with pytest.raises(SystemExit) as exit_status:
        main(arguments)
    assert exit_status.value.code == 2 and message in capsys.readouterr().err


def _check_startup(startup):
    """Every command timed from a fresh process with its own peak memory, beside the floor."""
    cases = [row["case"] for row in startup["rows"]]
    assert cases[0] == "python -c 'import tensorflow'" and startup["rounds"] == 1
    # the course, C API floor and first-call rows: full runs only, counted
    assert startup["skipped"].startswith("4 rows beside the commands skipped"), startup
    assert {"tfcreative music generate --num-tunes 5", "tfcreative music generate --num-tunes 64",
            "tfcreative serve, until it answers", "tfcreative --help"} <= set(cases), cases
    assert any(case.startswith("tfcreative pix2pix translate") for case in cases), cases
    floor = startup["rows"][0]["ours"]
    for row in startup["rows"]:
        assert row["unit"] == "s" and row["ours"] > 0, row
        assert all(mib > 0 for mib in row["details"]["peak_rss_mib"]), row
        if row is not startup["rows"][0]:
            assert row["reference"] == floor and row["ratio"] == floor / row["ours"], row
    # Each child's own memory, not the launcher's: --help loads no TensorFlow.
    help_row = next(row for row in startup["rows"] if row["case"] == "tfcreative --help")
    assert help_row["details"]["peak_rss_mib"][0] < startup["rows"][0]["details"][
        "peak_rss_mib"][0] / 4, help_row


@needs_abc2midi
def test_abc_to_midi_compares_every_converter_on_the_first_tunes(tmp_path):
    """`python -m benchmarks.abc_to_midi` (outside `python -m benchmarks`): our MIDI has
    abc2midi's notes on the first tunes, which abc2midi reads without an error."""
    result, report = run_standalone("benchmarks.abc_to_midi", 4, tmp_path)
    assert report["tunes"] == report["abc2midi_accepts"] == 4, report
    assert report["rows"]["tfcreative.music.midi"]["same_notes"] == 4, report
    assert report["rows"]["music21 as it comes"]["converted"] == 4, report
    assert all(row["ms_median"] > 0 for row in report["rows"].values()), report
    assert "| tfcreative.music.midi | 4/4 | 4/4 |" in result.stdout, result.stdout


def test_wav_synths_measures_the_probes_and_the_first_tunes(tmp_path):
    """`python -m benchmarks.wav_synths`: the probes' pitches and lengths come out as
    expected for our synthesizer, and the tunes are counted."""
    result, report = run_standalone("benchmarks.wav_synths", 3, tmp_path)
    ours = report["results"]["tfcreative.music.audio"]
    assert ours["tunes"] + report["unconverted_tunes"] == 3, report
    for probe in ours["probes"].values():
        assert abs(probe["hertz"] - probe["expected_hertz"]) < 2, probe
        assert abs(probe["sounding_s"] - probe["expected_s"]) < 0.05, probe
    assert result.stdout.startswith("Machine: "), result.stdout


def run_standalone(module: str, limit: int, tmp_path):
    """`python -m <module> --limit N --json PATH` (a benchmark outside `python -m benchmarks`):
    the finished process and the JSON it wrote."""
    out = tmp_path / "report.json"
    result = subprocess.run([sys.executable, "-m", module, "--limit", str(limit), "--json",
                             str(out)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result, json.loads(out.read_text())
