"""Music generation (characters/s): the course's eager per-character loop vs ours.

Reference: the notebook's `generate_text`, one eager call of a stateful batch-1 Keras model per
character. Ours: `TuneSampler.generate` (the whole loop in one tf.function, state carried
step by step) for N = 1, 16, 64 tunes at once, and the exported SavedModel's `generate`
signature (the loop in the serving graph). Same sizes and weights on every side; weights are
untrained (speed does not depend on them). Characters counted are those kept in the tunes.
"""

from __future__ import annotations

import importlib.resources
import os
import tempfile

import keras
import tensorflow as tf

from benchmarks import references, roofline
from benchmarks._harness import alternate, row, timed
from tfcreative.abc_notation import TUNE_SEPARATOR
from tfcreative.music.model import MusicLSTM
from tfcreative.music.sampler import DEFAULT_SEED_TEXT, TuneSampler
from tfcreative.music.vocabulary import CharVocabulary

FULL = {"embedding_dim": 256, "lstm_units": 1024, "reference_chars": 100, "single_chars": 1000,
        "batched_chars": 400, "repetitions": 3}
QUICK = {"embedding_dim": 32, "lstm_units": 64, "reference_chars": 20, "single_chars": 100,
         "batched_chars": 50, "repetitions": 2}
BATCHES = (1, 16, 64)


def bundled_vocabulary() -> CharVocabulary:
    corpus = importlib.resources.files("tfcreative") / "data" / "irish_folk" / "irish.abc"
    return CharVocabulary.from_texts([corpus.read_text(encoding="utf-8"), TUNE_SEPARATOR])


def run(quick: bool) -> dict:
    settings = QUICK if quick else FULL
    matmul = roofline.matmul_gflops(1024 if quick else 2048)
    bandwidth = roofline.memory_gbps(64 if quick else 256)
    vocabulary = bundled_vocabulary()
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

    blocks = {"reference": reference}
    for n in BATCHES:
        length = settings["single_chars"] if n == 1 else settings["batched_chars"]
        blocks[f"ours N={n}"] = (lambda n=n, length=length: count(
            f"ours N={n}", sampler.generate(num_tunes=n, max_length=length, seed=0)))

    with tempfile.TemporaryDirectory(prefix="tfcreative-bench-") as scratch:
        from tfcreative.export.saved_model import export_saved_model

        export_seconds = timed(lambda: export_saved_model(model, scratch, version=1))
        generate = tf.saved_model.load(os.path.join(scratch, "music", "1")).signatures["generate"]

        def saved_model_block(n, length):
            out = generate(seed_text=tf.constant(DEFAULT_SEED_TEXT), num_tunes=tf.constant(n),
                           max_length=tf.constant(length), temperature=tf.constant(1.0),
                           random_seed=tf.constant(0, tf.int64))
            counts[f"SavedModel generate N={n}"] = sum(
                len(t.decode("utf-8")) - len(DEFAULT_SEED_TEXT) for t in out["abc"].numpy())

        for n in (1, 64):
            length = settings["single_chars"] if n == 1 else settings["batched_chars"]
            blocks[f"SavedModel generate N={n}"] = (
                lambda n=n, length=length: saved_model_block(n, length))
        first = {name: timed(block) for name, block in blocks.items()}  # warm-up, tracing
        seconds = alternate(blocks, settings["repetitions"])

    rates = {name: counts[name] / seconds[name] for name in blocks}
    reference_flops = roofline.lstm_forward_flops(1, 1, model.embedding_dim, model.lstm_units,
                                                  1, vocabulary.size)
    # Ours looks the first layer's input product up in a per-call table instead (model.step).
    flops_per_char = reference_flops - 2 * model.embedding_dim * 4 * model.lstm_units
    size = f"emb {model.embedding_dim}, LSTM {model.lstm_units}"
    # Weights every step reads whatever the batch (first-layer input rows come from a table).
    weight_bytes = 4 * (model.lstm_units * 4 * model.lstm_units
                        + model.lstm_units * vocabulary.size)
    rows = []
    for name in blocks:
        if name == "reference":
            continue
        n = int(name.rsplit("=", 1)[1])
        streamed = rates[name] / n * weight_bytes / 1e9  # GB/s of weights read
        rows.append(row(f"{name}, {size}", "chars/s", rates[name], rates["reference"],
                        flops_per_unit=flops_per_char,
                        reference_flops_per_unit=reference_flops, target=20.0 if n == 1 else 200.0,
                        note=(f"weights read at {streamed:.1f} GB/s = "
                              f"{100 * streamed / bandwidth:.0f}% of memory bandwidth"
                              if n == 1 else ""),
                        details={"weights_gb_per_s": streamed, "memory_gbps": bandwidth,
                                 "chars": counts[name], "seconds": seconds[name],
                                 "first_call_s": first[name],
                                 "reference_chars": counts["reference"],
                                 "reference_seconds": seconds["reference"]}))
    rows[-1]["details"]["export_seconds"] = export_seconds
    return {"rows": rows, "matmul_gflops": matmul, "memory_gbps": bandwidth}
