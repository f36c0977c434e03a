"""Start-up (seconds, lower is better): each command as a user types it, from a fresh process.

Commands, from the `tfcreative` console script next to this Python (else `python -m
tfcreative`): `music generate` of 5 and of 64 tunes from the `folk` preset with the defaults
(form-aware sampling, MIDI written) into an empty folder; `pix2pix translate` of one 256 px
label map with the `synthetic_facades` preset; `serve` until it answers an HTTP GET of the page
(then stopped); `--help`. Beside them, the floor every command paid before this work: a fresh
`python -c "import tensorflow"`. Each figure is the median over fresh processes, the commands
taken in turn round by round (A B C ... A B C) so a busy machine slows all alike; the ratio is
the floor's seconds over the command's. Peak memory is each process's own (wait4's ru_maxrss:
the process and any it waited for, and at least this small launcher's own, ~20 MiB), median
over the rounds.

Full runs also time, in the same rounds, the rows of `startup_rows`: the course notebook end
to end for the characters `generate --num-tunes 5` wrote, the C API floor (the exported
SavedModel generating those 5 tunes from C), and `TuneSampler`'s first call in a notebook
(against the first call on the compiled loop); quick runs skip them (and say so).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from benchmarks import startup_rows
from benchmarks._harness import row
from tfcreative.music.config import DEFAULT_SEED_TEXT

FULL = {"rounds": 3}
QUICK = {"rounds": 1}
FLOOR = "python -c 'import tensorflow'"
SERVE_DEADLINE_S = 120  # a serve that has not answered by then is a failure, not a figure


def tfcreative_command() -> list[str]:
    """The console script users run, or `python -m tfcreative` where it is not installed."""
    script = os.path.join(os.path.dirname(sys.executable), "tfcreative")
    return [script] if os.path.exists(script) else [sys.executable, "-m", "tfcreative"]


def run_to_end(command: list[str], cwd: str, output: bool = False) -> tuple:
    """Wall seconds and peak RSS (MiB) of `command` run to its end (and its stdout, if
    `output`); a failure raises."""
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=stdout if output else
                                   subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)  # (wait4: the child's own peak memory)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)}: exit {process.returncode}: "
                               f"{stderr.read().decode(errors='replace')[-2000:]}")
        text = stdout.read().decode(errors="replace")
    return (seconds, usage.ru_maxrss / 1024) + ((text,) if output else ())


def serve_until_answered(command: list[str], cwd: str) -> tuple[float, float]:
    """Wall seconds from launching `serve --port 0` to its first HTTP answer, and the server's
    peak RSS (MiB) when stopped right after."""
    start = time.perf_counter()
    process = subprocess.Popen([*command, "serve", "--port", "0"], cwd=cwd,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()  # "Serving the demo on http://host:port/ ..."
        if "http://" not in line:
            raise RuntimeError(f"serve did not start: {line!r} {process.stderr.read()[-2000:]}")
        url = line.split()[4]
        with urllib.request.urlopen(url, timeout=SERVE_DEADLINE_S) as response:
            response.read()
        seconds = time.perf_counter() - start
    finally:
        process.terminate()
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    return seconds, usage.ru_maxrss / 1024


# Written by a child process: importing datasets.pix2pix here would load TensorFlow into this
# one, and a child's ru_maxrss counts the memory of the process it was forked from. The child
# loads synthetic_facades.py (NumPy only) by its path: the package would load TensorFlow there
# (its TFDS builder), seconds of set-up for one image.
_WRITE_LABEL_MAP = """
import importlib.util, sys
from PIL import Image
spec = importlib.util.spec_from_file_location("synthetic_facades",
                                              "datasets/pix2pix/synthetic_facades.py")
synthetic_facades = importlib.util.module_from_spec(spec)
spec.loader.exec_module(synthetic_facades)
assert "tensorflow" not in sys.modules
Image.fromarray(synthetic_facades.facade_pair(0, 0, 256)[0]).save(sys.argv[1])
"""


def label_map(folder: str) -> str:
    """One 256 px synthetic facade label map as a PNG: the input `translate` is timed on."""
    path = os.path.join(folder, "labels.png")
    subprocess.run([sys.executable, "-c", _WRITE_LABEL_MAP, path], check=True,
                   capture_output=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    return path


def generated_chars(out_dir: str) -> int:
    """Characters the model wrote into the tunes of `out_dir` (each .abc file: a comment line,
    then the tune, which starts with the seed text)."""
    total = 0
    for name in os.listdir(out_dir):
        if name.endswith(".abc"):
            with open(os.path.join(out_dir, name), encoding="utf-8") as f:
                tune = f.read().split("\n", 1)[1].rstrip("\n")
            total += len(tune) - len(DEFAULT_SEED_TEXT)
    return total


def commands(scratch: str, produced: dict) -> dict:
    """name -> a block that runs the command once in a fresh process: (seconds, peak MiB).
    produced["chars"]: the characters the 5-tune `generate` wrote (set by its block)."""
    tfcreative = tfcreative_command()
    image = label_map(scratch)

    def generate(num_tunes):
        def block():
            out_dir = tempfile.mkdtemp(dir=scratch)
            try:
                figures = run_to_end([*tfcreative, "music", "generate", "--num-tunes",
                                      str(num_tunes), "--out-dir", out_dir], scratch)
                if num_tunes == 5:
                    produced["chars"] = generated_chars(out_dir)
                return figures
            finally:
                shutil.rmtree(out_dir)
        return block

    def translate():
        out_dir = tempfile.mkdtemp(dir=scratch)
        try:
            return run_to_end([*tfcreative, "pix2pix", "translate", image, "--out-dir",
                               out_dir], scratch)
        finally:
            shutil.rmtree(out_dir)

    return {FLOOR: lambda: run_to_end([sys.executable, "-c", "import tensorflow"], scratch),
            "tfcreative music generate --num-tunes 5": generate(5),
            "tfcreative music generate --num-tunes 64": generate(64),
            "tfcreative pix2pix translate (one 256 px label map)": translate,
            "tfcreative serve, until it answers": lambda: serve_until_answered(tfcreative,
                                                                               scratch),
            "tfcreative --help": lambda: run_to_end([*tfcreative, "--help"], scratch)}


def beside_blocks(scratch: str, produced: dict, first_calls: dict) -> dict:
    """The rows beside the commands (`startup_rows`): the course notebook end to end, the C API
    floor and TuneSampler's first call; first_calls[name] collects that row's call timings."""
    capi = startup_rows.capi_command(scratch)
    blocks = {startup_rows.COURSE: startup_rows.course_block(run_to_end, produced, scratch),
              startup_rows.CAPI: lambda: run_to_end(capi, scratch)}
    for case, arguments in startup_rows.FIRST_CALL_CASES.items():
        for prefix, numpy_first in ((startup_rows.FIRST_CALL, True),
                                    (startup_rows.FIRST_CALL_BEFORE, False)):
            first_calls[prefix + case] = []
            blocks[prefix + case] = startup_rows.first_call_block(
                run_to_end, arguments, numpy_first, first_calls[prefix + case])
    return blocks


def run(quick: bool) -> dict:
    settings = QUICK if quick else FULL
    produced, first_calls = {}, {}
    with tempfile.TemporaryDirectory(prefix="tfcreative-startup-") as scratch:
        blocks = commands(scratch, produced)
        skipped = None
        if quick:  # each a fresh TensorFlow process or more: full runs only
            skipped = (f"{len(startup_rows.FIRST_CALL_CASES) + 2} rows beside the commands "
                       f"skipped in quick mode (course, C API floor, first calls)")
        else:
            blocks.update(beside_blocks(scratch, produced, first_calls))
        figures = {name: [] for name in blocks}
        for _ in range(settings["rounds"]):
            for name, block in blocks.items():
                figures[name].append(block())
    seconds = {name: statistics.median(s for s, _ in runs) for name, runs in figures.items()}
    peaks = {name: statistics.median(m for _, m in runs) for name, runs in figures.items()}
    rows = []
    for name in blocks:
        if name in first_calls:
            if name.startswith(startup_rows.FIRST_CALL):
                rows.append(first_call_row(name, first_calls, figures[name]))
            continue
        reference = None if name == FLOOR else seconds[FLOOR]
        result = row(name, "s", seconds[name], None,
                     note=f"peak RSS {peaks[name]:,.0f} MiB",
                     details={"seconds": [s for s, _ in figures[name]],
                              "peak_rss_mib": [m for _, m in figures[name]],
                              "rounds": settings["rounds"],
                              **({"role": "floor"} if name == FLOOR else {})})
        if name == startup_rows.COURSE:
            result["details"]["chars"] = produced["chars"]
        result["reference"] = reference
        result["ratio"] = reference / seconds[name] if reference else None
        rows.append(result)
    return {"rows": rows, "rounds": settings["rounds"], "skipped": skipped}


def first_call_row(name: str, first_calls: dict, processes: list) -> dict:
    """TuneSampler's first call now against the first call on the compiled loop (before):
    seconds inside the process, medians over the rounds; later calls in the note."""
    case = name[len(startup_rows.FIRST_CALL):]
    now, before = first_calls[name], first_calls[startup_rows.FIRST_CALL_BEFORE + case]

    def median(timings, key):
        return statistics.median(t[key] for t in timings)

    result = row(name, "s", median(now, "first_s"), None,
                 note=f"then {median(now, 'second_s'):.2f} s right after, "
                      f"{median(now, 'later_s'):.2f} s compiled; before: first "
                      f"{median(before, 'first_s'):.2f} s, then {median(before, 'second_s'):.2f} s",
                 details={"now": now, "before": before, "role": "first call",
                          "process_seconds": [s for s, _ in processes],
                          "peak_rss_mib": [m for _, m in processes]})
    result["reference"] = median(before, "first_s")
    result["ratio"] = result["reference"] / result["ours"]
    return result
