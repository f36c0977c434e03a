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
    import dataclasses

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
    vocabulary = roofline.bundled_vocabulary()
    keras.utils.set_random_seed(0)
    model = MusicLSTM(vocabulary, settings["embedding_dim"], settings["lstm_units"])
    course = references.course_music_model(vocabulary.size, model.embedding_dim,
                                           model.lstm_units, batch_size=1, stateful=True)
    references.copy_music_weights(model, course)
    seed_ids = [int(i) for i in vocabulary.encode(DEFAULT_SEED_TEXT)]
    sampler = TuneSampler(model)
    counts: dict[str, int] = {}

    def count(name, tunes):
        counts[name] = sum(len(t.abc) - len(DEFAULT_SEED_TEXT) for t in tunes)

    def reference():
        counts["reference"] = len(references.course_generate_text(
            course, seed_ids, settings["reference_chars"]))

    def length(n):
        return settings["single_chars"] if n == 1 else settings["batched_chars"]

    def ours(n, constrain=None):
        return lambda: count(name(n, constrain), sampler.generate(
            num_tunes=n, max_length=length(n), seed=0, constrain=constrain))

    def name(n, constrain=None):
        return f"ours N={n}" + (f" constrain={constrain}" if constrain else "")

    blocks = {"reference": reference}
    # the largest batch jit_compile="auto" compiles with XLA, against the graph loop
    loops = {"XLA": TuneSampler(model, jit_compile=True),
             "graph": TuneSampler(model, jit_compile=False)}
    for kind, loop_sampler in loops.items():
        blocks[f"{kind} N={XLA_MAX_BATCH}"] = (lambda s=loop_sampler, k=kind: count(
            f"{k} N={XLA_MAX_BATCH}", s.generate(num_tunes=XLA_MAX_BATCH,
                                                 max_length=length(XLA_MAX_BATCH), seed=0)))
    for n in BATCHES:
        blocks[name(n)] = ours(n)
        if n in CONSTRAINED_BATCHES:
            for constrain in CONSTRAINTS:
                blocks[name(n, constrain)] = ours(n, constrain)

    size = settings["matmul_size"]
    a, b = tf.random.normal([size, size]), tf.random.normal([size, size])
    product = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
    blocks["matmul"] = lambda: product(a, b).numpy()
    chain_steps = length(1)
    for kind, block in roofline.step_chain_blocks(model.lstm_units, vocabulary.size,
                                                  chain_steps).items():
        blocks[f"roof {kind}"] = block
    wide = max(BATCHES)
    blocks[f"roof N={wide}"] = roofline.step_chain_blocks(
        model.lstm_units, vocabulary.size, length(wide), wide, kinds=("graph",))["graph"]
    blocks[f"cell N={wide}"] = roofline.step_chain_blocks(
        model.lstm_units, vocabulary.size, length(wide), wide, kinds=("graph",),
        cell=True)["graph"]

    with tempfile.TemporaryDirectory(prefix="tfcreative-bench-") as scratch:
        export_seconds = timed(lambda: export_generate(model, scratch, quick))
        generate = tf.saved_model.load(os.path.join(scratch, "music", "1")).signatures["generate"]

        def saved_model_block(n):
            out = generate(seed_text=tf.constant(DEFAULT_SEED_TEXT), num_tunes=tf.constant(n),
                           max_length=tf.constant(length(n)), temperature=tf.constant(1.0),
                           random_seed=tf.constant(0, tf.int64))
            counts[f"SavedModel generate N={n}"] = sum(
                len(t.decode("utf-8")) - len(DEFAULT_SEED_TEXT) for t in out["abc"].numpy())

        for n in (1, 64):
            blocks[f"SavedModel generate N={n}"] = (lambda n=n: saved_model_block(n))
        first = {name: timed(block) for name, block in blocks.items()}  # warm-up, tracing
        # (a first call runs in NumPy while its loop compiles in the background: the rounds
        # time the compiled loops; first calls: startup.py)
        for waiting in (sampler, *loops.values()):
            waiting.wait_until_compiled()
        rounds = alternate_rounds(blocks, settings["repetitions"])
    seconds = {name: statistics.median(values) for name, values in rounds.items()}

    matmul = 2 * size**3 / seconds["matmul"] / 1e9
    roofs = {kind: chain_steps / seconds[f"roof {kind}"] for kind in ("graph", "XLA")}
    roof_kind = max(roofs, key=roofs.get)
    roof = roofs[roof_kind]  # steps/s = chars/s at batch 1
    generated = [n for n in blocks if n.startswith(("ours", "SavedModel"))]
    rates = {n: counts[n] / seconds[n] for n in generated + ["reference"]}
    reference_flops = roofline.lstm_forward_flops(1, 1, model.embedding_dim, model.lstm_units,
                                                  1, vocabulary.size)
    # Ours looks the first layer's input product up in a per-call table instead (model.step).
    flops_per_char = reference_flops - 2 * model.embedding_dim * 4 * model.lstm_units
    size_text = f"emb {model.embedding_dim}, LSTM {model.lstm_units}"
    # Weights every step reads whatever the batch (first-layer input rows come from a table).
    weight_bytes = roofline.step_weight_bytes(model.lstm_units, vocabulary.size)
    wide_chars = wide * length(wide)  # characters one block of a batch-64 chain steps

    def share(case, roof_block, roof_chars):
        """100 x ours' rate / the roof's rate, round by round: (median, lowest, highest)."""
        shares = [100 * (counts[case] / ours) / (roof_chars / theirs)
                  for ours, theirs in zip(rounds[case], rounds[roof_block], strict=True)]
        return statistics.median(shares), min(shares), max(shares)

    def share_text(shares, roof_name):
        median, low, high = shares
        return (f"{median:.0f}% of the {roof_name} ({low:.0f}–{high:.0f}% over "
                f"{settings['repetitions']} rounds)")

    rows = []
    for block, role, text in (
            (f"roof N={wide}", "roof",
             f"batch-{wide} roof: LSTM {model.lstm_units} recurrent + output products for "
             f"{wide} rows ({wide}x{model.lstm_units} by {model.lstm_units}x"
             f"{4 * model.lstm_units} + {model.lstm_units}x{vocabulary.size} float32) chained "
             f"in a tf.while_loop, graph"),
            (f"cell N={wide}", "diagnostic",
             f"diagnostic, not a roof: the batch-{wide} chain with the LSTM cell's element-wise "
             f"maths in TensorFlow's kernels")):
        rows.append(row(text, "chars/s", wide_chars / seconds[block], None,
                        flops_per_unit=flops_per_char,
                        details={"role": role, "batch": wide, "steps": length(wide),
                                 "seconds": seconds[block], "matmul_gflops": matmul}))
    for case in generated:
        n = int(case.split()[-1 if case.startswith("SavedModel") else 1].split("=")[1])
        constrained = "constrain=" in case
        unconstrained_case = case.split(" constrain=")[0]
        streamed = rates[case] / n * weight_bytes / 1e9  # GB/s of weights read
        loop = ("XLA loop" if sampler.uses_xla(n) else "graph loop") \
            if case.startswith("ours") else "graph loop, no XLA"
        notes = [loop]
        shares = None
        if n == 1:
            shares = share(case, f"roof {roof_kind}", chain_steps)
            notes.append(f"{share_text(shares, 'batch-1 roof')}: {roof:,.0f} steps/s, "
                         f"{roof_kind} matvec chain; weights read at {streamed:.1f} GB/s")
        elif n == wide:
            shares = share(case, f"roof N={wide}", wide_chars)
            notes.append(share_text(shares, f"batch-{wide} step roof"))
        if constrained:
            notes.append(f"reference: {unconstrained_case}")
        details = {"chars": counts[case], "seconds": seconds[case], "first_call_s": first[case],
                   "xla": loop == "XLA loop", "weights_gb_per_s": streamed,
                   "memory_gbps": bandwidth, "matmul_gflops": matmul,
                   "batch1_roof_steps_per_s": roofs,
                   # median, lowest and highest over the rounds; at N = 64: of its step roof
                   "roof_percent": shares, "roof_rounds": settings["repetitions"],
                   "matmul_roof_percent": 100 * rates[case] * flops_per_char / 1e9 / matmul,
                   "reference_chars": counts["reference"],
                   "reference_seconds": seconds["reference"]}
        if constrained:
            rows.append(row(f"{case}, {size_text}", "chars/s", rates[case],
                            rates[unconstrained_case], flops_per_unit=flops_per_char,
                            target=CONSTRAINED_TARGET, note="; ".join(notes),
                            details=details))
        else:
            rows.append(row(f"{case}, {size_text}", "chars/s", rates[case], rates["reference"],
                            flops_per_unit=flops_per_char,
                            reference_flops_per_unit=reference_flops,
                            target=20.0 if n == 1 else 200.0, note="; ".join(notes),
                            details=details))
    rows[-1]["details"]["export_seconds"] = export_seconds
    xla, graph = (f"{kind} N={XLA_MAX_BATCH}" for kind in loops)
    rows.append(row(f"XLA loop N={XLA_MAX_BATCH} (the largest batch jit_compile=\"auto\" runs "
                    f"in XLA), {size_text}; reference: the graph loop", "chars/s",
                    counts[xla] / seconds[xla], counts[graph] / seconds[graph],
                    flops_per_unit=flops_per_char, target=1.0,
                    note="sampler.XLA_MAX_BATCH: up to it XLA's loop must beat the graph loop",
                    details={"seconds": seconds[xla], "graph_seconds": seconds[graph],
                             "chars": counts[xla], "graph_chars": counts[graph],
                             "matmul_roof_percent": 100 * counts[xla] / seconds[xla]
                             * flops_per_char / 1e9 / matmul}))
    return {"rows": rows, "matmul_gflops": matmul, "memory_gbps": bandwidth,
            "batch1_roof_steps_per_s": roof}
