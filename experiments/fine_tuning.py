"""The fine-tuning default, measured: learning rate and schedule when training starts from a
trained model on tunes it never saw.

    python -m experiments.fine_tuning --base folk --collection misc_folk --steps 1000
    python -m experiments.fine_tuning --base folk --abc ~/my_tunes --steps 1000   # yours
    python -m experiments.fine_tuning --table runs/fine_tuning/results.json ...  # docs' table

The base model (a preset's name, a .keras file or a run directory) never saw the tunes (the
shipped `folk` preset was trained on `combined`, which `misc_folk` is not part of). Every
candidate starts from the base's weights (characters it does not know grow its vocabulary,
as `music train --from` does), trains on the train split for at most --steps steps (batch 8,
seq 100: the course's settings, `music train`'s defaults), checks the validation tunes every
--every steps and keeps the weights with the lowest validation loss. Stage 1 compares constant
learning rates; stage 2 the two best of them (on both collections measured) with a linear
warm-up and with a warm-up and cosine decay. The
default is the candidate with the lowest validation bits/char; test bits/char is reported for
every candidate and chose nothing. For scale: the base zero-shot, and the same model trained
from scratch (the course's 5e-3) for the same steps. --table combines runs on several
collections: the default is the candidate with the lowest mean validation bits/char at its
best checkpoint; within TIE bits/char of it, the one whose final weights (after all the
steps: what a run's model.keras holds) are best on validation.

A step budget, not minutes: on a shared machine minutes measure the load. At 256 ms a step
(batch 8, LSTM 512, one core of a Xeon) 1,000 steps are about the 5 minutes of the issue's
run. Results go to --out/results.json after every candidate; run the same command again to
continue where it stopped.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import keras

# Stage 1: Adam's step size, constant (5e-3 is the course's, tuned for training from scratch).
LEARNING_RATES = (5e-3, 2e-3, 1e-3, 5e-4, 2e-4)
WARMUP_STEPS = 100
DECAY_TO = 0.1  # the cosine candidate ends at this fraction of its rate, at --steps
TIE = 0.005  # bits/char: validation differences smaller than this do not choose


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m experiments.fine_tuning",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="folk",
                        help="the model to start from: a preset's name, .keras file or run dir")
    data = parser.add_mutually_exclusive_group()
    data.add_argument("--collection", default=None, help="an abc_tunes config it never saw")
    data.add_argument("--abc", default=None, help="or your own tunes (a .abc file or folder)")
    parser.add_argument("--steps", type=int, default=1000, help="training steps per candidate")
    parser.add_argument("--every", type=int, default=50, help="steps between validation checks")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seq-length", type=int, default=100)
    parser.add_argument("--out", default=os.path.join("runs", "fine_tuning"))
    parser.add_argument("--data-dir", default=None, help="TFDS data directory")
    parser.add_argument("--threads", type=int, default=None,
                        help="TensorFlow threads (1 on a shared machine, with taskset)")
    parser.add_argument("--schedule-rates", nargs="+", type=float, default=[1e-3, 2e-3],
                        help="stage 2: warm-up and cosine decay at these rates (the two best "
                             "constant rates of stage 1 over misc_folk and ryans_mammoth)")
    parser.add_argument("--table", nargs="+", default=None, metavar="RESULTS",
                        help="print the table of these results.json files, the choice, exit")
    args = parser.parse_args(argv)
    if not args.collection and not args.abc:
        args.collection = "misc_folk"
    return args


class BestWeights(keras.callbacks.Callback):
    """The weights at the lowest validation loss (checked every `every` steps), and the
    curve."""

    def __init__(self, every: int):
        super().__init__()
        self.every = every
        self.best, self.weights, self.best_step, self.curve = float("inf"), None, 0, []

    def on_epoch_end(self, epoch, logs=None):
        bits, step = float(logs["val_bits_per_char"]), self.every * (epoch + 1)
        self.curve.append([step, round(bits, 4)])
        if bits < self.best:
            self.best, self.best_step, self.weights = bits, step, self.model.get_weights()


def run_candidate(name: str, args, builder, schedule, from_base: bool) -> dict:
    """Trains one candidate from the base (or from scratch), returns its figures."""
    from tfcreative.music import fine_tuning, load_model, pipeline
    from tfcreative.music.evaluation import held_out_loss
    from tfcreative.music.training import build_model

    keras.utils.set_random_seed(0)
    base = load_model(args.base)
    texts = pipeline.tune_texts(builder, "train")
    if from_base:
        model, _ = fine_tuning.adapt_to_tunes(base, pipeline.read_texts(texts), "grow")
        model.compile(optimizer=keras.optimizers.Adam(schedule))
    else:
        from tfcreative.music.config import MusicTrainConfig

        config = MusicTrainConfig(embedding_dim=base.embedding_dim, lstm_units=base.lstm_units,
                                  num_layers=base.num_layers, dropout=base.dropout,
                                  learning_rate=schedule)
        model = build_model(pipeline.build_vocabulary(texts), config)
    data, _ = pipeline.make_training_stream(texts, model.vocabulary, args.seq_length,
                                            args.batch_size, seed=0)
    validation = pipeline.make_test_dataset(pipeline.tune_texts(builder, "validation"),
                                            model.vocabulary, args.seq_length, args.batch_size)
    best = BestWeights(args.every)
    start = time.monotonic()
    model.fit(data, steps_per_epoch=args.every, epochs=args.steps // args.every,
              validation_data=validation, callbacks=[best], shuffle=False, verbose=0)
    seconds = time.monotonic() - start
    model.set_weights(best.weights)
    test = held_out_loss(model, builder, "test", args.seq_length, args.batch_size)
    result = {"validation_bits_per_char": round(best.best, 4), "best_step": best.best_step,
              "test_bits_per_char": round(float(test["bits_per_char"]), 4),
              "training_seconds": round(seconds), "steps": args.steps, "curve": best.curve}
    print(f"{name}: validation {result['validation_bits_per_char']:.3f} at step "
          f"{result['best_step']}, test {result['test_bits_per_char']:.3f} "
          f"({seconds:.0f} s)", flush=True)
    return result


def zero_shot(args, builder) -> dict:
    from tfcreative.music import load_model
    from tfcreative.music.evaluation import held_out_loss

    base = load_model(args.base)
    return {split: round(float(held_out_loss(base, builder, split, args.seq_length,
                                             args.batch_size)["bits_per_char"]), 4)
            for split in ("validation", "test")}


def candidates_stage_2(rate: float, steps: int) -> dict:
    """The schedules `music train` can run (tfcreative/music/optimizer.py)."""
    from tfcreative.music.optimizer import learning_rate_schedule

    warmup = min(WARMUP_STEPS, steps // 4)  # a tiny trial run keeps a quarter of its steps
    return {
        f"warm-up {warmup}, then {rate:g}": learning_rate_schedule(rate, warmup),
        f"warm-up {warmup}, cosine {rate:g} to {rate * DECAY_TO:g}": learning_rate_schedule(
            rate, warmup, total_steps=steps, decay_to=DECAY_TO),
    }


def final_validation(candidate: dict) -> float:
    return candidate["curve"][-1][1]


def combined_choice(runs: list[dict]) -> str:
    """The default over several collections' results (module docstring)."""
    names = [n for n in runs[0]["candidates"] if not n.startswith("from scratch")
             and all(n in r["candidates"] for r in runs)]

    def mean(name, value):
        return sum(value(r["candidates"][name]) for r in runs) / len(runs)

    best = min(mean(n, lambda c: c["validation_bits_per_char"]) for n in names)
    close = [n for n in names if mean(n, lambda c: c["validation_bits_per_char"]) <= best + TIE]
    return min(close, key=lambda n: mean(n, final_validation))


def format_table(runs: list[dict]) -> str:
    lines = []
    for r in runs:
        m = r["machine"]
        lines += [f"From {r['base']} on {r['data']} ({r['steps']:,} steps at batch "
                  f"{r['batch_size']}; {m['cpu']}, {m['cores_allowed']} core, {m['date']}); "
                  f"zero-shot: validation {r['zero_shot']['validation']}, test "
                  f"{r['zero_shot']['test']}", "",
                  "| candidate | validation, best | at step | validation, final | test (best) |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        lines += [f"| {n} | {c['validation_bits_per_char']} | {c['best_step']} | "
                  f"{final_validation(c)} | {c['test_bits_per_char']} |"
                  for n, c in r["candidates"].items()]
        lines.append("")
    lines.append(f"Default (lowest mean validation at the best checkpoint; within {TIE} of it, "
                 f"the best final weights): {combined_choice(runs)}")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    from experiments._machine import machine, print_machine, read_json, use_threads, write_json

    if args.table:
        print(format_table([read_json(path) for path in args.table]))
        return 0

    use_threads(args.threads)
    info = machine(args.threads)
    print_machine(info)
    import tfcreative  # noqa: F401  (registers the model classes)
    from tfcreative.music import pipeline

    builder = pipeline.prepare_builder(abc_path=args.abc, collection=args.collection,
                                       data_dir=args.data_dir)
    path = os.path.join(args.out, "results.json")
    results = read_json(path) or {"base": args.base, "data": args.collection or args.abc,
                                  "steps": args.steps, "every": args.every,
                                  "batch_size": args.batch_size, "candidates": {}}
    results["machine"] = info
    results.setdefault("zero_shot", zero_shot(args, builder))
    print(f"zero-shot: {results['zero_shot']}", flush=True)

    def run(name, schedule, from_base=True):
        if name not in results["candidates"]:
            results["candidates"][name] = run_candidate(name, args, builder, schedule,
                                                        from_base)
            write_json(path, results)
        return results["candidates"][name]

    stage_1 = {f"constant {rate:g}": rate for rate in LEARNING_RATES}
    for name, rate in stage_1.items():
        run(name, rate)
    for rate in args.schedule_rates:
        for name, schedule in candidates_stage_2(rate, args.steps).items():
            run(name, schedule)
    results["from_scratch"] = run("from scratch, constant 0.005 (the course's)", 5e-3,
                                  from_base=False)
    chosen = min((n for n in results["candidates"] if not n.startswith("from scratch")),
                 key=lambda n: results["candidates"][n]["validation_bits_per_char"])
    results["chosen_on_validation"] = chosen
    write_json(path, results)
    test = results["candidates"][chosen]["test_bits_per_char"]
    scratch = results["from_scratch"]["test_bits_per_char"]
    print(f"chosen on validation: {chosen} (test {test:.3f}, from scratch {scratch:.3f}, "
          f"zero-shot {results['zero_shot']['test']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
