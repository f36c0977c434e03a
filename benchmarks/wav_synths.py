"""`python -m benchmarks.wav_synths [--limit N] [--json PATH]`: ways to turn a tune's MIDI file
into a WAV file with pip alone, side by side in one run on the same MIDI files (music21's, of
the bundled corpus and of probe tunes whose right answer is known).

Synthesizers: tfcreative.music.audio (a band-limited triangle with the demo page's envelope)
and pretty_midi's `PrettyMIDI.synthesize` (a sine per note, decaying over a second and faded
out over its last 100 ms; output scaled to full scale) when importable (`pip install
pretty_midi`). Soundfont players are listed with what they need and not run:
pretty_midi.fluidsynth, pyfluidsynth and midi2audio need the system's FluidSynth library or
program and a soundfont; tinysoundfont needs PyAudio (built against the system's PortAudio)
and a soundfont.

Per synthesizer: the probes (pitch of the loudest partial, how long the note sounds, silence
after it), clicks (jumps between samples steeper than the tune's notes can make: a note cut
off mid-wave), whether its reading of the MIDI file gives
our note onsets (a parser independent of music21's), time per tune, and its install size. Not a
test and not in `python -m benchmarks`: it backs the choice of synthesizer for tune.to_wav.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.resources
import io
import os
import statistics
import time

import numpy as np

from experiments._machine import cpu_model, write_json
from tfcreative.abc_notation import parse_abc_bytes
from tfcreative.music import audio, midi

CORPUS = importlib.resources.files("tfcreative") / "data" / "irish_folk" / "irish.abc"
RATE = audio.SAMPLE_RATE
# (name, ABC, expected pitch of the loudest partial in Hz, expected seconds sounding)
PROBES = (
    ("one A, Q:1/4=120", "X:1\nT:A\nM:4/4\nL:1/4\nQ:1/4=120\nK:C\nA4|]", 440.0, 2.0),
    ("one A, 6/8 Q:3/8=60", "X:1\nT:A\nM:6/8\nL:1/8\nQ:3/8=60\nK:C\nA6|]", 440.0, 2.0),
    ("one e, no Q: (120)", "X:1\nT:e\nM:4/4\nL:1/4\nK:C\ne2|]", 659.3, 1.0),
)
NOT_RUN = {
    "pretty_midi.fluidsynth / pyfluidsynth": "the system's libfluidsynth and a soundfont",
    "midi2audio": "the system's fluidsynth program and a soundfont",
    "tinysoundfont": "PyAudio, built against the system's PortAudio, and a soundfont",
}


def ours(data: bytes) -> np.ndarray:
    return audio.synthesize(audio.midi_notes(data), RATE)


def pretty(data: bytes) -> np.ndarray:
    import pretty_midi

    return pretty_midi.PrettyMIDI(io.BytesIO(data)).synthesize(fs=RATE).astype(np.float32)


def pretty_onsets(data: bytes) -> list[float]:
    import pretty_midi

    return sorted(n.start for i in pretty_midi.PrettyMIDI(io.BytesIO(data)).instruments
                  for n in i.notes)


def loudest_hertz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[spectrum.argmax()])


def sounding_seconds(samples: np.ndarray) -> float:
    """From the first to the last 5 ms window louder than 1 % of the loudest window."""
    window = int(0.005 * RATE)
    frames = samples[:len(samples) // window * window].reshape(-1, window)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    loud = np.flatnonzero(rms > 0.01 * rms.max())
    return float((loud[-1] + 1 - loud[0]) * window / RATE)


def clicks(samples: np.ndarray, notes: list) -> int:
    """Jumps between consecutive samples steeper than any wave at the tune's highest pitch and
    peak level can make (a sine's steepest step is 2π·f/rate of its amplitude, a triangle's
    4·f/rate): a note started or stopped mid-wave, heard as a click."""
    highest = 440.0 * 2 ** ((max(n.pitch for n in notes) - 69) / 12)
    bound = 1.5 * 2 * np.pi * highest / RATE * np.abs(samples).max()
    return int(np.count_nonzero(np.abs(np.diff(samples)) > bound))


def install_bytes(distribution: str) -> int | None:
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    return sum(f.size or 0 for f in files)


def synthesizers() -> dict:
    """{name: MIDI bytes -> samples}: ours, and pretty_midi's when it is installed."""
    synths = {"tfcreative.music.audio": ours}
    try:
        import pretty_midi  # noqa: F401

        synths["pretty_midi.synthesize"] = pretty
    except ImportError:
        print("pretty_midi is not installed (pip install pretty_midi): its column is left out")
    return synths


def probe_results(synths: dict) -> dict:
    """{synthesizer: {probe: pitch, seconds sounding, largest sample after the end}}."""
    results = {name: {} for name in synths}
    for probe, abc, hertz, seconds in PROBES:
        data = midi.abc_to_midi(abc).data
        for name, synth in synths.items():
            samples = synth(data)
            held = samples[int(0.1 * RATE):int((seconds - 0.1) * RATE)]
            after = samples[int((seconds + 0.06) * RATE):]
            results[name][probe] = {
                "hertz": round(loudest_hertz(held), 1), "expected_hertz": hertz,
                "sounding_s": round(sounding_seconds(samples), 3), "expected_s": seconds,
                "max_after_end": float(np.abs(after).max()) if len(after) else 0.0}
    return results


def corpus_midi(limit: int) -> tuple[list[bytes], int]:
    """The MIDI files of the corpus's first `limit` tunes (0: all), and how many tunes
    tfcreative.music.midi could not convert (left out)."""
    tunes = parse_abc_bytes(CORPUS.read_bytes(), str(CORPUS)).tunes
    selected = tunes[:limit] if limit else tunes
    data = []
    for tune in selected:
        try:
            data.append(midi.abc_to_midi(tune.abc).data)
        except midi.MidiConversionError:
            pass
    return data, len(selected) - len(data)


def corpus_results(synth, data: list[bytes]) -> dict:
    """Time per tune and clicks of one synthesizer on the corpus's MIDI files."""
    seconds, found, notes = [], [], 0
    for midi_file in data:
        tune_notes = audio.midi_notes(midi_file)
        start = time.perf_counter()
        samples = synth(midi_file)
        seconds.append(time.perf_counter() - start)
        found.append(clicks(samples, tune_notes))
        notes += len(tune_notes)
    return {"tunes": len(data), "ms_per_tune": round(1000 * statistics.median(seconds), 1),
            "clicks_per_100_notes": round(100 * sum(found) / notes, 1),
            "tunes_without_clicks": f"{found.count(0)}/{len(data)}"}


def print_results(results: dict) -> None:
    for name, result in results.items():
        print(f"\n{name}")
        for probe, row in result["probes"].items():
            print(f"  {probe}: {row['hertz']} Hz (expected {row['expected_hertz']}), sounds "
                  f"{row['sounding_s']} s (expected {row['expected_s']}), largest sample "
                  f"after the end {row['max_after_end']:.1e}")
        for key, value in result.items():
            if key != "probes":
                print(f"  {key}: {value}")
    print("\nnot run (need more than pip):")
    for name, need in NOT_RUN.items():
        print(f"  {name}: {need}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.wav_synths",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="first N corpus tunes (0: all)")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores")
    synths = synthesizers()
    probes = probe_results(synths)
    data, unconverted = corpus_midi(args.limit)
    print(f"{len(data)} corpus tunes ({unconverted} that tfcreative.music.midi does not convert "
          "left out)")
    results = {name: {"probes": probes[name], **corpus_results(synth, data)}
               for name, synth in synths.items()}
    if "pretty_midi.synthesize" in synths:
        same = sum(np.allclose(pretty_onsets(d), [n.start for n in audio.midi_notes(d)],
                               atol=1e-6) for d in data)
        results["pretty_midi.synthesize"]["onsets_equal_ours"] = f"{same}/{len(data)}"
        results["pretty_midi.synthesize"]["install_bytes"] = install_bytes("pretty_midi")
    results["tfcreative.music.audio"]["install_bytes"] = 0  # numpy: a dependency
    print_results(results)
    if args.json:
        write_json(args.json, {"results": results, "not_run": NOT_RUN, "rate": RATE,
                               "cpu": cpu_model(), "cpu_count": os.cpu_count(),
                               "unconverted_tunes": unconverted})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
