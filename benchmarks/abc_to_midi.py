"""`python -m benchmarks.abc_to_midi [--limit N] [--json PATH]`: ABC -> MIDI converters on the
bundled corpus (804 tunes), side by side in one run, each tune through every converter in turn.

Converters: abc2midi (Debian's abcmidi, the reference player), tfcreative.music.midi (its own
reader, `performance.py`, with music21 for what that does not read), tfcreative's music21
path alone (`music21_midi.py`, with the two readings it documents), music21 as it comes
(`converter.parse` + `expandRepeats`), and symusic (a wheel that runs a bundled abc2midi
binary) when importable.
Per converter: tunes converted (a MIDI file with notes), tunes whose notes equal abc2midi's
(same pitches at the same onsets, on the tunes abc2midi reads without an error), and the time
per tune. Not a test and not in `python -m benchmarks`: it backs the choice of MIDI writer.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.resources
import io
import os
import statistics
import subprocess
import tempfile
import time
import warnings

import mido

from experiments._machine import cpu_model, write_json
from tfcreative.abc_notation import parse_abc_bytes
from tfcreative.music import abc2midi, midi, music21_midi

CORPUS = importlib.resources.files("tfcreative") / "data" / "irish_folk" / "irish.abc"


def notes(data: bytes) -> list[tuple[float, int]]:
    """(onset in beats from the first note, pitch) of every sounding note, sorted."""
    midi_file = mido.MidiFile(file=io.BytesIO(data))
    found = []
    for track in midi_file.tracks:
        ticks = 0
        for message in track:
            ticks += message.time
            if message.type == "note_on" and message.velocity > 0:
                found.append((ticks / midi_file.ticks_per_beat, message.note))
    found.sort()
    start = found[0][0] if found else 0.0
    return [(round(t - start, 3), pitch) for t, pitch in found]


def run_abc2midi(abc: str) -> tuple[bytes | None, bool]:
    """abc2midi's MIDI and whether it read the tune without an error."""
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "tune.mid")
        check = abc2midi.abc_to_midi(abc, path)
        data = open(path, "rb").read() if check.midi_written else None
    return data, not check.errors


def run_ours(abc: str) -> bytes | None:
    try:
        return midi.abc_to_midi(abc).data
    except midi.MidiConversionError:
        return None


def run_music21_path(abc: str) -> bytes | None:
    try:
        return music21_midi.abc_to_midi(abc)[0]
    except music21_midi.Music21Error:
        return None


def run_music21_as_is(abc: str) -> bytes | None:
    import music21

    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            score = music21.converter.parse(abc, format="abc")
            try:
                score = score.expandRepeats()
            except music21.Music21Exception:
                pass
            return music21.midi.translate.streamToMidiFile(score).writestr()
        except Exception:
            return None


def symusic_converter():
    try:
        import symusic
    except ImportError:
        return None

    def run(abc: str) -> bytes | None:
        with tempfile.TemporaryDirectory() as scratch:
            path = os.path.join(scratch, "tune.mid")
            try:
                # symusic runs its own abc2midi binary, which prints to the terminal
                with open(os.devnull, "w") as null:
                    saved = os.dup(1)
                    os.dup2(null.fileno(), 1)
                    try:
                        symusic.Score.from_abc(abc).dump_midi(path)
                    finally:
                        os.dup2(saved, 1)
                        os.close(saved)
                return open(path, "rb").read()
            except Exception:
                return None
    return run


def converters() -> dict:
    """{name: ABC -> MIDI bytes or None}, each called once (imports outside the timings)."""
    found = {"tfcreative.music.midi": run_ours,
             "tfcreative's music21 path": run_music21_path,
             "music21 as it comes": run_music21_as_is}
    if (symusic := symusic_converter()) is not None:
        found["symusic (bundled abc2midi)"] = symusic
    for convert in found.values():
        convert("X:1\nT:warm-up\nM:4/4\nL:1/8\nK:G\nGABc dedB|]\n")
    return found


def compare(tunes: list[str], converters: dict) -> tuple[dict, int]:
    """{converter: tunes converted, tunes with abc2midi's notes, seconds per tune} and how
    many tunes abc2midi reads without an error (the notes comparison is on those)."""
    results = {name: {"converted": 0, "same_notes": 0, "seconds": []}
               for name in ["abc2midi", *converters]}

    def timed_call(name, convert, abc):
        start = time.perf_counter()
        data = convert(abc)
        results[name]["seconds"].append(time.perf_counter() - start)
        return data

    reference_ok = 0
    for abc in tunes:
        reference, accepted = timed_call("abc2midi", run_abc2midi, abc)
        reference_notes = notes(reference) if reference else None
        accepted = accepted and bool(reference_notes)
        reference_ok += accepted
        found = {"abc2midi": reference_notes}
        for name, convert in converters.items():
            data = timed_call(name, convert, abc)
            found[name] = notes(data) if data else None
        for name, converted in found.items():
            results[name]["converted"] += bool(converted)
            results[name]["same_notes"] += accepted and converted == reference_notes
    return results, reference_ok


def print_table(results: dict, tunes: int, reference_ok: int) -> dict:
    """The Markdown table; returns its rows (milliseconds per tune in place of the seconds)."""
    version = subprocess.run(["abc2midi", "-ver"], capture_output=True, text=True).stdout.strip()
    version = version.removesuffix("abc2midi").strip()
    print(f"{tunes} tunes of the bundled corpus; abc2midi ({version}) reads {reference_ok} "
          "without an error (the notes column compares on those)\n")
    print("| converter | tunes converted | same notes as abc2midi | ms per tune (mean) | "
          "ms per tune (median) |\n| --- | --- | --- | --- | --- |")
    rows = {}
    for name, result in results.items():
        seconds = result.pop("seconds")
        rows[name] = {**result, "ms_mean": 1000 * statistics.mean(seconds),
                      "ms_median": 1000 * statistics.median(seconds)}
        print(f"| {name} | {result['converted']}/{tunes} | {result['same_notes']}/{reference_ok} "
              f"| {rows[name]['ms_mean']:.1f} | {rows[name]['ms_median']:.1f} |")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.abc_to_midi",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="first N tunes only")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores")
    tunes = [t.abc for t in parse_abc_bytes(CORPUS.read_bytes(), "irish.abc").tunes]
    tunes = tunes[:args.limit]
    results, reference_ok = compare(tunes, converters())
    rows = print_table(results, len(tunes), reference_ok)
    if args.json:
        write_json(args.json, {"tunes": len(tunes), "abc2midi_accepts": reference_ok,
                               "rows": rows, "cpu": cpu_model(), "cpu_count": os.cpu_count()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
