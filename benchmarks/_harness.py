"""Timing, memory and table helpers shared by the benchmarks.

Ours and the reference always run in the same process, in alternating blocks (A B A B ...), and
each side's figure is the median of its blocks: on a shared machine load changes over seconds,
so alternation puts both sides under the same load and keeps their ratio meaningful.
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")


def alternate_rounds(blocks: dict, repetitions: int) -> dict[str, list[float]]:
    """Runs each `blocks[name]()` once per repetition, in turn; every block's seconds, round
    by round (a ratio of two blocks taken within each round sees the same load on both)."""
    seconds: dict[str, list[float]] = {name: [] for name in blocks}
    for _ in range(repetitions):
        for name, block in blocks.items():
            start = time.perf_counter()
            block()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def alternate(blocks: dict, repetitions: int) -> dict[str, float]:
    """Runs each `blocks[name]()` once per repetition, in turn; median seconds per block."""
    return {name: statistics.median(values)
            for name, values in alternate_rounds(blocks, repetitions).items()}


def interleaved_fit_callback(steps_per_block: int, reference_block):
    """A Keras callback timing each `model.fit` step (seconds in `.ours`); after every
    `steps_per_block` steps it runs one reference block (seconds per step in `.reference`), so
    ours is measured inside fit's own loop, as users run it, alternating with the reference."""
    import keras

    class _Interleave(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.ours, self.reference = [], []

        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            float(next(iter(logs.values())))  # waits for the step to finish
            self.ours.append(time.perf_counter() - self.start)
            if len(self.ours) % steps_per_block == 0:
                self.reference.append(timed(reference_block) / steps_per_block)

    return _Interleave()


def timed(fn) -> float:
    """Wall seconds of one call (used for warm-ups, which include tracing and compilation)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (VmHWM), in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource  # not Linux: ru_maxrss is KiB on Linux, bytes on macOS

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def row(case: str, unit: str, ours: float, reference: float | None, *,
        flops_per_unit: float | None = None, reference_flops_per_unit: float | None = None,
        target: float | None = None, note: str = "", details: dict | None = None) -> dict:
    """One line of a table: throughputs in `unit` (higher is better) and their ratio.

    flops_per_unit turns our throughput into GFLOP/s for the roofline column; details go to
    the JSON only.
    """
    result = {"case": case, "unit": unit, "ours": ours, "reference": reference,
              "ratio": None if not reference else ours / reference, "target": target,
              "note": note, "details": details or {}}
    if flops_per_unit:
        result["ours_gflops"] = ours * flops_per_unit / 1e9
        if reference:
            result["reference_gflops"] = (
                reference * (reference_flops_per_unit or flops_per_unit) / 1e9)
    return result


def _number(value, digits=3) -> str:
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def format_table(results: list[dict]) -> str:
    """Markdown table of every benchmark's rows, with roofline and peak memory columns."""
    lines = ["| benchmark | case | unit | ours | reference | ratio | target | ours GFLOP/s "
             "(% of matmul) | peak RSS MiB |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for result in results:
        peak = result.get("matmul_gflops")
        for r in result.get("rows", []):
            roof = "–"
            if r.get("ours_gflops") is not None and peak:
                roof = f"{_number(r['ours_gflops'])} ({100 * r['ours_gflops'] / peak:.0f}%)"
            ratio = "–" if r["ratio"] is None else f"{r['ratio']:.2f}×"
            target = "–" if r["target"] is None else f"≥ {r['target']:g}×"
            case = r["case"] + (f" ({r['note']})" if r.get("note") else "")
            lines.append(f"| {result['name']} | {case} | {r['unit']} | {_number(r['ours'])} | "
                         f"{_number(r['reference'])} | {ratio} | {target} | {roof} | "
                         f"{_number(result.get('peak_rss_mib'))} |")
        if result.get("error"):
            lines.append(f"| {result['name']} | failed: {result['error']} | | | | | | | |")
    return "\n".join(lines)
