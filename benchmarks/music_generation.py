"""Music generation (characters/s): the course's eager per-character loop vs ours.

Reference: the notebook's `generate_text`, one eager call of a stateful batch-1 Keras model per
character. Ours: `TuneSampler.generate` (the whole loop in one tf.function, XLA-compiled for
a few tunes, state carried step by step) for N = 1, 16, 64 tunes at once, unconstrained and
with `constrain="meter"` and `"form"` (N = 1 and 64; their reference is ours unconstrained, in
the same run), and the exported
SavedModel's `generate` signature (the loop in the serving graph, without XLA). Same sizes and
weights on every side; weights are untrained (speed does not depend on them). Characters
counted are those kept in the tunes.

Roofs, timed in the same alternation as ours: at N = 1, the batch-1 roof of `roofline` (the
recurrent and output matrix-vector products chained in a while loop, the faster of graph and
XLA); batched, the float32 matmul rate (GFLOP/s column) and, at N = 64, the batch-64 step
roof (the same two products for 64 rows, chained, graph: oneDNN). A diagnostic row chains
those products with the LSTM cell's element-wise maths in TensorFlow's kernels (a step
without the input lookup and the sampling). A share of a roof is taken round by round (ours
and the roof timed back to back) and reported as the median with its range over the rounds.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import tempfile

import keras
import tensorflow as tf

from benchmarks import references, roofline
from benchmarks._harness import alternate_rounds, row, timed
from tfcreative.music.model import MusicLSTM
from tfcreative.music.sampler import DEFAULT_SEED_TEXT, XLA_MAX_BATCH, TuneSampler

FULL = {"embedding_dim": 256, "lstm_units": 1024, "reference_chars": 100, "single_chars": 1000,
        "batched_chars": 400, "repetitions": 9, "matmul_size": 2048}
QUICK = {"embedding_dim": 32, "lstm_units": 64, "reference_chars": 20, "single_chars": 100,
         "batched_chars": 50, "repetitions": 2, "matmul_size": 1024}
BATCHES = (1, 16, 64)
CONSTRAINED_BATCHES = (1, 64)
CONSTRAINTS = ("meter", "form")
CONSTRAINED_TARGET = 0.8  # constrained chars/s >= 0.8x unconstrained


def export_generate(model, scratch: str, quick: bool) -> None:
    """`<scratch>/music/1`: the SavedModel whose `generate` signature the rows time. Full runs
    export it as users do (every signature); quick runs write `generate` alone, the same graph
    (export.saved_model.music_serving), without tracing the meter and form loops of the other
    signatures, which no row reads."""
    from tfcreative.export.saved_model import export_saved_model, music_serving, write_saved_model

    if not quick:
        export_saved_model(model, scratch, version=1)
        return
    serving = music_serving(model)
    write_saved_model(dataclasses.replace(
        serving, signatures={"generate": serving.signatures["generate"]}),
        os.path.join(scratch, "music", "1"))


def run(quick: bool) -> dict:
    settings = QUICK if quick else FULL
    bandwidth = roofline.memory_gbps(64 if quick else 256)
    bench = _Bench(settings)
    with tempfile.TemporaryDirectory(prefix="tfcreative-bench-") as scratch:
        export_seconds = timed(lambda: export_generate(bench.model, scratch, quick))
        blocks = {**bench.generation_blocks(), **bench.roof_blocks(),
                  **bench.saved_model_blocks(scratch)}
        measured = bench.measure(blocks)
    figures = _Figures(bench, measured)
    generated = [n for n in blocks if n.startswith(("ours", "SavedModel"))]
    rows = [*_roof_rows(bench, measured, figures),
            *(_generation_row(case, bench, measured, figures, bandwidth) for case in generated)]
    rows[-1]["details"]["export_seconds"] = export_seconds
    rows.append(_xla_row(bench, measured, figures))
    return {"rows": rows, "matmul_gflops": figures.matmul, "memory_gbps": bandwidth,
            "batch1_roof_steps_per_s": figures.roof}


class _Bench:
    """The model, the course's model with the same weights, our samplers, and the timed blocks
    that call them; `counts` holds the characters each block generated last."""

    def __init__(self, settings: dict):
        self.settings = settings
        self.vocabulary = roofline.bundled_vocabulary()
        keras.utils.set_random_seed(0)
        self.model = MusicLSTM(self.vocabulary, settings["embedding_dim"],
                               settings["lstm_units"])
        self.course = references.course_music_model(
            self.vocabulary.size, self.model.embedding_dim, self.model.lstm_units,
            batch_size=1, stateful=True)
        references.copy_music_weights(self.model, self.course)
        self.sampler = TuneSampler(self.model)
        # the largest batch jit_compile="auto" compiles with XLA, against the graph loop
        self.loops = {"XLA": TuneSampler(self.model, jit_compile=True),
                      "graph": TuneSampler(self.model, jit_compile=False)}
        self.wide = max(BATCHES)
        self.counts: dict[str, int] = {}

    def length(self, n: int) -> int:
        """Characters generated per tune at batch n."""
        return self.settings["single_chars"] if n == 1 else self.settings["batched_chars"]

    def _count(self, name: str, tunes) -> None:
        self.counts[name] = sum(len(t.abc) - len(DEFAULT_SEED_TEXT) for t in tunes)

    def generation_blocks(self) -> dict:
        """The course's loop, XLA's and the graph's at XLA_MAX_BATCH, then ours at every batch,
        with and without constraints."""
        seed_ids = [int(i) for i in self.vocabulary.encode(DEFAULT_SEED_TEXT)]

        def reference():
            self.counts["reference"] = len(references.course_generate_text(
                self.course, seed_ids, self.settings["reference_chars"]))

        def generating(name, sampler, n, constrain=None):
            return lambda: self._count(name, sampler.generate(
                num_tunes=n, max_length=self.length(n), seed=0, constrain=constrain))

        blocks = {"reference": reference}
        for kind, loop_sampler in self.loops.items():
            name = f"{kind} N={XLA_MAX_BATCH}"
            blocks[name] = generating(name, loop_sampler, XLA_MAX_BATCH)
        for n in BATCHES:
            for constrain in (None, *(CONSTRAINTS if n in CONSTRAINED_BATCHES else ())):
                name = _case_name(n, constrain)
                blocks[name] = generating(name, self.sampler, n, constrain)
        return blocks

    def roof_blocks(self) -> dict:
        """The matmul rate, the batch-1 roofs (graph and XLA), the batch-64 step roof and the
        diagnostic chain with the cell's maths."""
        size = self.settings["matmul_size"]
        a, b = tf.random.normal([size, size]), tf.random.normal([size, size])
        product = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
        blocks = {"matmul": lambda: product(a, b).numpy()}
        units, vocab_size = self.model.lstm_units, self.vocabulary.size
        for kind, block in roofline.step_chain_blocks(units, vocab_size, self.length(1)).items():
            blocks[f"roof {kind}"] = block
        for name, cell in ((f"roof N={self.wide}", False), (f"cell N={self.wide}", True)):
            blocks[name] = roofline.step_chain_blocks(
                units, vocab_size, self.length(self.wide), self.wide, kinds=("graph",),
                cell=cell)["graph"]
        return blocks

    def saved_model_blocks(self, scratch: str) -> dict:
        """The `generate` signature of the SavedModel in `scratch`, at N = 1 and 64."""
        generate = tf.saved_model.load(os.path.join(scratch, "music", "1")).signatures["generate"]

        def block(n):
            out = generate(seed_text=tf.constant(DEFAULT_SEED_TEXT), num_tunes=tf.constant(n),
                           max_length=tf.constant(self.length(n)), temperature=tf.constant(1.0),
                           random_seed=tf.constant(0, tf.int64))
            self.counts[f"SavedModel generate N={n}"] = sum(
                len(t.decode("utf-8")) - len(DEFAULT_SEED_TEXT) for t in out["abc"].numpy())

        return {f"SavedModel generate N={n}": (lambda n=n: block(n)) for n in (1, 64)}

    def measure(self, blocks: dict) -> _Measured:
        first = {name: timed(block) for name, block in blocks.items()}  # warm-up, tracing
        # (a first call runs in NumPy while its loop compiles in the background: the rounds
        # time the compiled loops; first calls: startup.py)
        for waiting in (self.sampler, *self.loops.values()):
            waiting.wait_until_compiled()
        rounds = alternate_rounds(blocks, self.settings["repetitions"])
        return _Measured(first, rounds,
                         {name: statistics.median(values) for name, values in rounds.items()})


def _case_name(n: int, constrain: str | None = None) -> str:
    return f"ours N={n}" + (f" constrain={constrain}" if constrain else "")


@dataclasses.dataclass
class _Measured:
    first: dict[str, float]  # seconds of each block's first call
    rounds: dict[str, list[float]]  # seconds of each block, round by round
    seconds: dict[str, float]  # their medians


class _Figures:
    """What the rows derive from the measurements: rates, roofs and FLOPs per character."""

    def __init__(self, bench: _Bench, measured: _Measured):
        seconds, model, vocabulary = measured.seconds, bench.model, bench.vocabulary
        size = bench.settings["matmul_size"]
        self.matmul = 2 * size**3 / seconds["matmul"] / 1e9  # GFLOP/s
        steps = bench.length(1)
        self.roofs = {kind: steps / seconds[f"roof {kind}"] for kind in ("graph", "XLA")}
        self.roof_kind = max(self.roofs, key=self.roofs.get)
        self.roof = self.roofs[self.roof_kind]  # steps/s = chars/s at batch 1
        self.rates = {name: count / seconds[name] for name, count in bench.counts.items()}
        self.reference_flops = roofline.lstm_forward_flops(
            1, 1, model.embedding_dim, model.lstm_units, 1, vocabulary.size)
        # Ours looks the first layer's input product up in a per-call table instead (model.step).
        self.flops_per_char = (self.reference_flops
                               - 2 * model.embedding_dim * 4 * model.lstm_units)
        self.size_text = f"emb {model.embedding_dim}, LSTM {model.lstm_units}"
        # Weights every step reads whatever the batch (first-layer input rows come from a table).
        self.weight_bytes = roofline.step_weight_bytes(model.lstm_units, vocabulary.size)
        self.wide_chars = bench.wide * bench.length(bench.wide)  # one block of the batch-64 chain

    def matmul_percent(self, chars_per_s: float) -> float:
        return 100 * chars_per_s * self.flops_per_char / 1e9 / self.matmul


def _roof_rows(bench: _Bench, measured: _Measured, figures: _Figures) -> list[dict]:
    units, wide = bench.model.lstm_units, bench.wide
    rows = []
    for block, role, text in (
            (f"roof N={wide}", "roof",
             f"batch-{wide} roof: LSTM {units} recurrent + output products for "
             f"{wide} rows ({wide}x{units} by {units}x{4 * units} + {units}x"
             f"{bench.vocabulary.size} float32) chained in a tf.while_loop, graph"),
            (f"cell N={wide}", "diagnostic",
             f"diagnostic, not a roof: the batch-{wide} chain with the LSTM cell's element-wise "
             f"maths in TensorFlow's kernels")):
        seconds = measured.seconds[block]
        rows.append(row(text, "chars/s", figures.wide_chars / seconds, None,
                        flops_per_unit=figures.flops_per_char,
                        details={"role": role, "batch": wide, "steps": bench.length(wide),
                                 "seconds": seconds, "matmul_gflops": figures.matmul}))
    return rows


def _roof_share(case: str, n: int, bench: _Bench, measured: _Measured, figures: _Figures):
    """At N = 1 and 64: (median, lowest, highest) of 100 x ours' rate / its roof's rate, taken
    round by round, and the note that says it; else (None, None)."""
    if n == 1:
        roof_block, roof_chars, roof_name = f"roof {figures.roof_kind}", bench.length(1), \
            "batch-1 roof"
    elif n == bench.wide:
        roof_block, roof_chars, roof_name = f"roof N={n}", figures.wide_chars, \
            f"batch-{n} step roof"
    else:
        return None, None
    rounds, chars = measured.rounds, bench.counts[case]
    shares = [100 * (chars / ours) / (roof_chars / theirs)
              for ours, theirs in zip(rounds[case], rounds[roof_block], strict=True)]
    median, low, high = statistics.median(shares), min(shares), max(shares)
    note = (f"{median:.0f}% of the {roof_name} ({low:.0f}–{high:.0f}% over "
            f"{bench.settings['repetitions']} rounds)")
    if n == 1:
        streamed = figures.rates[case] * figures.weight_bytes / 1e9
        note += (f": {figures.roof:,.0f} steps/s, {figures.roof_kind} matvec chain; weights "
                 f"read at {streamed:.1f} GB/s")
    return (median, low, high), note


def _generation_row(case: str, bench: _Bench, measured: _Measured, figures: _Figures,
                    bandwidth: float) -> dict:
    """A row of ours or the SavedModel: against the course's loop, or when constrained against
    ours unconstrained."""
    n = int(case.split()[-1 if case.startswith("SavedModel") else 1].split("=")[1])
    rate = figures.rates[case]
    streamed = rate / n * figures.weight_bytes / 1e9  # GB/s of weights read
    loop = ("XLA loop" if bench.sampler.uses_xla(n) else "graph loop") \
        if case.startswith("ours") else "graph loop, no XLA"
    shares, share_note = _roof_share(case, n, bench, measured, figures)
    notes = [loop, *([share_note] if share_note else [])]
    details = {"chars": bench.counts[case], "seconds": measured.seconds[case],
               "first_call_s": measured.first[case], "xla": loop == "XLA loop",
               "weights_gb_per_s": streamed, "memory_gbps": bandwidth,
               "matmul_gflops": figures.matmul, "batch1_roof_steps_per_s": figures.roofs,
               # median, lowest and highest over the rounds; at N = 64: of its step roof
               "roof_percent": shares, "roof_rounds": bench.settings["repetitions"],
               "matmul_roof_percent": figures.matmul_percent(rate),
               "reference_chars": bench.counts["reference"],
               "reference_seconds": measured.seconds["reference"]}
    if "constrain=" in case:
        unconstrained = case.split(" constrain=")[0]
        notes.append(f"reference: {unconstrained}")
        return row(f"{case}, {figures.size_text}", "chars/s", rate, figures.rates[unconstrained],
                   flops_per_unit=figures.flops_per_char, target=CONSTRAINED_TARGET,
                   note="; ".join(notes), details=details)
    return row(f"{case}, {figures.size_text}", "chars/s", rate, figures.rates["reference"],
               flops_per_unit=figures.flops_per_char,
               reference_flops_per_unit=figures.reference_flops,
               target=20.0 if n == 1 else 200.0, note="; ".join(notes), details=details)


def _xla_row(bench: _Bench, measured: _Measured, figures: _Figures) -> dict:
    """XLA's loop at XLA_MAX_BATCH against the graph loop: up to it, "auto" picks XLA."""
    xla, graph = (f"{kind} N={XLA_MAX_BATCH}" for kind in bench.loops)
    seconds, counts = measured.seconds, bench.counts
    return row(f"XLA loop N={XLA_MAX_BATCH} (the largest batch jit_compile=\"auto\" runs "
               f"in XLA), {figures.size_text}; reference: the graph loop", "chars/s",
               figures.rates[xla], figures.rates[graph],
               flops_per_unit=figures.flops_per_char, target=1.0,
               note="sampler.XLA_MAX_BATCH: up to it XLA's loop must beat the graph loop",
               details={"seconds": seconds[xla], "graph_seconds": seconds[graph],
                        "chars": counts[xla], "graph_chars": counts[graph],
                        "matmul_roof_percent": figures.matmul_percent(figures.rates[xla])})
