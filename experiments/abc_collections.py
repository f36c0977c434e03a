"""How a music model trained on one corpus scores on the others: held-out bits/char per collection.

    python -m experiments.abc_collections --steps 3000 --out runs/abc_collections

Two models of the same size (the quickstart's: embedding 64, LSTM 256, seq 100, batch 32, Adam
5e-3, seed 0), each trained for at most the same number of steps: one on the bundled Irish
tunes only, one on every collection (the `train` split of `abc_tunes/combined`). Each keeps
the weights with the lowest loss on its own validation tunes, checked every 250 steps (as
best.keras does). Both are scored on the `test` split of `abc_tunes/combined`, one collection
at a time (tunes without provenance lines, so both models read the same conventions); nothing
is chosen on that split. A step budget, not minutes, so that the comparison does not depend
on the load of a shared machine.

De-duplication drops tunes with the same music or the same notes; a test tune may still have
a near twin in training (another setting of the same tune). The last table counts them (the
share of a test tune's 8-note runs found in one training tune, at least 0.5) and scores the
test tunes without one.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import time

import keras
import tensorflow as tf
import tensorflow_datasets as tfds

from tfcreative import abc_notation
from tfcreative.datasets.abc_tunes import abc_tunes_dataset_builder as abc_tunes
from tfcreative.music import pipeline
from tfcreative.music.config import QUICKSTART
from tfcreative.music.evaluation import whole_tunes_loss
from tfcreative.music.model import MusicLSTM

NEAR_TWIN = 0.5  # share of a test tune's 8-note runs that one training tune holds
RUN = 8


def _tunes(builder, split: str) -> list[tuple[str, str]]:
    """(collection, abc) of every tune in the split."""
    return [(ex["collection"].decode(), ex["abc"].decode())
            for ex in tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False))]


def _runs(abc: str) -> set[str]:
    notes = abc_notation.NOTE.findall(abc_notation.note_sequence(abc))
    return {"".join(notes[i:i + RUN]) for i in range(len(notes) - RUN + 1)}


def near_twins(test: list[str], train: list[str]) -> list[float]:
    """For each test tune, the largest share of its 8-note runs held by one training tune."""
    index = collections.defaultdict(set)
    for i, abc in enumerate(train):
        for run in _runs(abc):
            index[run].add(i)
    shares = []
    for abc in test:
        runs = _runs(abc)
        hits = collections.Counter(i for run in runs for i in index.get(run, ()))
        shares.append(max(hits.values(), default=0) / max(len(runs), 1))
    return shares


def train_model(texts: list[str], validation: list[str], steps: int,
                every: int) -> tuple[MusicLSTM, dict]:
    """Trains up to `steps` steps; validation loss every `every` steps chooses the weights
    kept (and stops the run after 4 checks without improvement)."""
    keras.utils.set_random_seed(0)
    dataset = tf.data.Dataset.from_tensor_slices(texts)
    vocabulary = pipeline.build_vocabulary(dataset)
    data = pipeline.make_train_dataset(dataset, vocabulary, QUICKSTART.seq_length,
                                       QUICKSTART.batch_size, seed=0)
    validation_data = pipeline.make_test_dataset(tf.data.Dataset.from_tensor_slices(validation),
                                                 vocabulary, QUICKSTART.seq_length,
                                                 QUICKSTART.batch_size)
    model = MusicLSTM(vocabulary, embedding_dim=QUICKSTART.embedding_dim,
                      lstm_units=QUICKSTART.lstm_units)
    model.compile(optimizer=keras.optimizers.Adam(QUICKSTART.learning_rate_for(False)[0]))
    best = keras.callbacks.EarlyStopping(monitor="val_loss", patience=4,
                                         restore_best_weights=True)
    start = time.monotonic()
    history = model.fit(data.repeat(), steps_per_epoch=every, epochs=steps // every,
                        validation_data=validation_data, callbacks=[best], verbose=2)
    return model, {"training_seconds": round(time.monotonic() - start),
                   "steps_run": every * len(history.history["loss"]),
                   "best_step": every * (best.best_epoch + 1),
                   "best_validation_bits_per_char": round(
                       min(history.history["val_bits_per_char"]), 3)}


def score(model: MusicLSTM, texts: list[str]) -> dict:
    """Bits per character over every character (unknown ones as the OOV id, as `music
    evaluate` scores them) and over the characters in the model's vocabulary only: a
    character the model never saw costs it tens of bits, which can hide how well it reads
    the rest. In windows of 100 characters; also on whole tunes (`whole_tunes_loss`)."""
    data = pipeline.make_test_dataset(tf.data.Dataset.from_tensor_slices(texts), model.vocabulary,
                                      QUICKSTART.seq_length, 8)
    total = known = 0.0
    count = known_count = 0
    for x, y in data:
        losses = tf.keras.losses.sparse_categorical_crossentropy(
            y, model(x, training=False), from_logits=True).numpy()
        mask = y.numpy() != 0
        total, count = total + float(losses.sum()), count + losses.size
        known, known_count = known + float(losses[mask].sum()), known_count + int(mask.sum())
    bits = 1 / math.log(2)
    return {"tunes": len(texts), "scored_characters": count,
            "bits_per_char": round(total / count * bits, 3),
            "unknown_char_share": round(1 - known_count / count, 5),
            "bits_per_known_char": round(known / known_count * bits, 3),
            "bits_per_char_whole_tunes": round(whole_tunes_loss(model, texts)["bits_per_char"],
                                               3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="at most")
    parser.add_argument("--every", type=int, default=250,
                        help="steps between validation checks")
    parser.add_argument("--out", default="runs/abc_collections")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    builder = tfds.builder(f"abc_tunes/{abc_tunes.COMBINED_CONFIG}", data_dir=args.data_dir)
    builder.download_and_prepare()
    train, test = _tunes(builder, "train"), _tunes(builder, "test")
    by_collection = collections.defaultdict(list)
    for name, abc in test:
        by_collection[name].append(abc)
    shares = dict(zip([abc for _, abc in test],
                      near_twins([abc for _, abc in test], [abc for _, abc in train]),
                      strict=True))

    results = {"steps": args.steps, "near_twin_threshold": NEAR_TWIN, "models": {}}
    validation = _tunes(builder, "validation")
    bundled = abc_tunes.BUNDLED_CONFIG
    training_sets = {  # (train tunes, validation tunes that choose the weights)
        f"{bundled} only": ([abc for name, abc in train if name == bundled],
                            [abc for name, abc in validation if name == bundled]),
        "combined": ([abc for _, abc in train], [abc for _, abc in validation]),
    }
    for label, (texts, validation_texts) in training_sets.items():
        model, run = train_model(texts, validation_texts, args.steps, args.every)
        rows = {}
        for name, tunes in by_collection.items():
            rows[name] = score(model, tunes)
            distinct = [abc for abc in tunes if shares[abc] < NEAR_TWIN]
            rows[name]["near_twins"] = len(tunes) - len(distinct)
            rows[name]["bits_per_char_without_near_twins"] = score(model, distinct)[
                "bits_per_char"]
        rows["all test tunes"] = score(model, [abc for _, abc in test])
        results["models"][label] = {"training_tunes": len(texts), **run, "test": rows}
        model.save(os.path.join(args.out, label.replace(" ", "_") + ".keras"))
        print(json.dumps({label: results["models"][label]}, indent=1), flush=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
