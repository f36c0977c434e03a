"""`python -m benchmarks [--quick [--jobs N]] [--json PATH] [--only NAME ...]`: every benchmark,
ours against the reference implementations, as one Markdown table (and JSON).

Each benchmark runs in its own Python process (`python -m benchmarks._worker NAME`), so its peak
resident memory (VmHWM) is its own and no TensorFlow state leaks from one to the next.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

from benchmarks import BENCHMARKS
from benchmarks._harness import format_table
from experiments._machine import cpu_model, write_json


def machine() -> dict:
    """What the figures were taken on."""
    import importlib.metadata as metadata

    versions = {}
    for package in ("tensorflow", "keras", "tensorflowjs"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"cpu": cpu_model(), "cores": len(os.sched_getaffinity(0)),
            "python": platform.python_version(), "platform": platform.platform(), **versions}


def run_one(name: str, quick: bool, timeout_s: float) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, "-m", "benchmarks._worker", name, out.name]
        if quick:
            command.append("--quick")
        start = time.perf_counter()
        try:
            process = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s,
                                     env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        except subprocess.TimeoutExpired:
            return {"name": name, "error": f"timed out after {timeout_s:.0f} s", "rows": []}
        seconds = time.perf_counter() - start
        if process.returncode != 0:
            tail = process.stderr.strip().splitlines()[-1:] or ["no output"]
            return {"name": name, "error": f"exit {process.returncode}: {tail[0]}", "rows": [],
                    "stderr_tail": process.stderr[-4000:], "seconds": seconds}
        with open(out.name) as f:
            result = json.load(f)
    return {**result, "seconds": seconds}


def run_and_report(name: str, args) -> dict:
    """Runs one benchmark, saying on stderr when it starts and how it ended."""
    print(f"running {name} ...", file=sys.stderr, flush=True)
    result = run_one(name, args.quick, args.timeout)
    if result.get("error"):
        print(f"  {name} failed: {result['error']}\n{result.get('stderr_tail', '')}",
              file=sys.stderr, flush=True)
    else:
        # rows a quick run leaves out, counted
        skipped = f"\n  {result['skipped']}" if result.get("skipped") else ""
        print(f"  {name} done in {result['seconds']:.0f} s{skipped}", file=sys.stderr,
              flush=True)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny models and few repetitions: a smoke test, not a measurement")
    parser.add_argument("--json", metavar="PATH", help="also write every figure to PATH")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=BENCHMARKS,
                        help=f"run only these ({', '.join(BENCHMARKS)})")
    parser.add_argument("--timeout", type=float, default=600, metavar="SECONDS",
                        help="per benchmark (default 600)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="with --quick: run N benchmarks at once (side by side they share "
                             "the cores, so their figures measure nothing; default 1)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs: expected 1 or more, got {args.jobs}")
    if args.jobs > 1 and not args.quick:
        parser.error("--jobs: more than 1 only with --quick (benchmarks run side by side "
                     "slow each other down)")

    start = time.perf_counter()
    names = args.only or BENCHMARKS
    if args.jobs == 1:
        results = [run_and_report(name, args) for name in names]
    else:  # each benchmark is its own process: threads here only wait for them
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda name: run_and_report(name, args), names))
    report = {"machine": machine(), "quick": args.quick, "jobs": args.jobs,
              "seconds": time.perf_counter() - start, "benchmarks": results}
    info = report["machine"]
    print(f"Machine: {info['cpu']}, {info['cores']} cores; TensorFlow {info['tensorflow']}, "
          f"Keras {info['keras']}; total {report['seconds']:.0f} s"
          f"{' (--quick)' if args.quick else ''}\n")
    print(format_table(results))
    if args.json:
        write_json(args.json, report)
    return 1 if any(r.get("error") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
