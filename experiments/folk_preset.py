"""The next `folk` preset by measurement: what each data option adds, then size and
regularisation.

    python -m experiments.folk_preset data  --steps 6000  --threads 1   # data options
    python -m experiments.folk_preset sizes --steps 12000 --threads 1   # size, regularisation
    python -m experiments.folk_preset data --table                      # the docs' table

Every run is `music train` (a run directory under --out/<part>/<variant>: resumed from its
backup when the command runs again, evaluated without training when finished), seeded
(seed 0), with the preset recipe's batch 32, seq 100, Adam 5e-3 and a step budget; the
checkpoint with the lowest validation loss is kept, test splits choose nothing.

* **data**: the shipped preset's size (embedding 256, LSTM 512, dropout 0.1) on `combined`
  as written (the shipped preset's data), then clean text, then misc_folk added, then the
  training tunes transposed into the common keys. Each is scored on the same test tunes
  written two ways: clean (abc_tunes/combined_clean, 487 tunes: what the preset is for) and
  as written (abc_tunes/combined, 465 tunes), in bits/char; and on its own test tunes in
  bits per tune (clean text is shorter: bits/char alone would not compare).
* **sizes**: on the next preset's data (combined_clean_transposed), the shipped size and
  larger ones with more dropout, weight decay or a decaying learning rate, each with the MB
  its preset folder would take (float16 weights twice: weights.npz and TF.js), and one with
  windows of 400 characters. The choice: the lowest validation bits/char on whole tunes (as
  generation meets them) within 20 MB; written to results.json as "chosen", which
  `python -m experiments.presets folk --next` then makes the preset of (the chosen run is
  its training run when its settings are the recipe's: not trained twice).

Durations on one core of a 2-core Xeon (TensorFlow on one thread): a step of LSTM 512 at batch
32 takes 0.33 s (the data runs, 2026-12-07, the other core running another experiment; 0.65 s
on a busier machine), LSTM 768 and 2 x 512 about 2 and 2.3 times that (their weights), windows
of 400 at batch 8 about 1.5 times. `data` at 6,000 steps: about 2.3 hours; `sizes` at 12,000
steps: about 12 hours, or 6 on two cores:
two commands at once, each with `--only` and its share of the variants (`taskset -c 0 ...`,
`taskset -c 1 ...`; both write their rows into the one results.json; the one that finishes
last, with every variant measured, writes the choice).
"""

from __future__ import annotations

import argparse
import os
import sys

EVERY = 500  # steps between validation checks and backups
BUDGET_MB = 20.0
CHOICE = "validation bits/char on whole tunes"  # what chooses the variant (tests choose nothing)
SHIPPED = {"embedding_dim": 256, "lstm_units": 512, "num_layers": 1, "dropout": 0.1,
           "weight_decay": 0.0}
# The data runs' curves (variant 3, step 6,000: training 1.65 bits/char under dropout,
# validation 1.80 and flat since step 4,500) say the shipped size overfits already: the larger
# sizes get more dropout, one variant drops the LSTM's outputs too (before the logits), one
# decays the learning rate (cosine, to a tenth). Variants are run in this order, each in
# variant_<its index>.
SIZES = {
    "512, dropout 0.1 (the shipped size)": SHIPPED,
    "512, dropout 0.3": {**SHIPPED, "dropout": 0.3},
    "512, dropout 0.3 on inputs and outputs": {**SHIPPED, "dropout": 0.3,
                                               "output_dropout": 0.3},
    "512, dropout 0.3, learning rate decayed to a tenth": {**SHIPPED, "dropout": 0.3,
                                                           "decay_to": 0.1},
    # This one and the last three were set (before they ran) after the decayed learning rate
    # had beaten constant rates by 0.07 on validation (variants 0, 1 and 3): they decay it too.
    "512, dropout 0.3, learning rate decayed, weight decay 0.01": {
        **SHIPPED, "dropout": 0.3, "decay_to": 0.1, "weight_decay": 0.01},
    "768, dropout 0.3, learning rate decayed to a tenth": {
        **SHIPPED, "lstm_units": 768, "dropout": 0.3, "decay_to": 0.1},
    "2 x 512, dropout 0.3, learning rate decayed to a tenth": {
        **SHIPPED, "num_layers": 2, "dropout": 0.3, "decay_to": 0.1},
    # Added after the whole-tune measure (docs/folk_preset.md): windows of 100 characters from
    # a fresh state never teach the model to use more of its tune than that; 400 at batch 8
    # trains on as many characters per step (about 1.5 times the time: smaller products).
    "512, dropout 0.3, learning rate decayed, windows of 400 characters (batch 8)": {
        **SHIPPED, "dropout": 0.3, "decay_to": 0.1, "seq_length": 400, "batch_size": 8},
}


def data_variants() -> dict:
    """Name -> the abc_tunes config (a name, or one made here) of each data option."""
    from tfcreative.datasets.abc_tunes import abc_tunes_dataset_builder as abc_tunes

    return {
        "combined as written (the shipped preset's data)": abc_tunes.COMBINED_CONFIG,
        "+ clean text": abc_tunes.collections_config(
            "combined_four_clean", abc_tunes.COMBINED_COLLECTIONS, clean=True),
        "+ misc_folk": abc_tunes.CLEAN_CONFIG,
        "+ transposed copies": abc_tunes.TRANSPOSED_CONFIG,
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m experiments.folk_preset",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("part", choices=("data", "sizes"))
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps of each run (default: data 6000, sizes 12000)")
    parser.add_argument("--only", nargs="*", default=None, help="these variants (names)")
    parser.add_argument("--out", default=os.path.join("runs", "folk_preset"))
    parser.add_argument("--data-dir", default=None, help="TFDS data directory")
    parser.add_argument("--threads", type=int, default=None,
                        help="TensorFlow threads (1 on a shared machine, with taskset)")
    parser.add_argument("--table", action="store_true", help="print the table and exit")
    args = parser.parse_args(argv)
    args.steps = args.steps or {"data": 6000, "sizes": 12000}[args.part]
    return args


def train_variant(run_dir: str, size: dict, collection, args):
    from experiments._runs import trained, with_step_budget
    from experiments.presets import next_folk_config

    config = with_step_budget(next_folk_config(size), args.steps, EVERY)
    return trained(run_dir, config, collection=collection, data_dir=args.data_dir)


def score(model, builders: dict) -> dict:
    """Bits/char on each test set, in windows of 100 characters and on whole tunes; bits per
    tune on the run's own test tunes (texts of other lengths compare by it); the best
    validation bits/char."""
    from experiments._runs import bits_per_char, whole_tunes_bits_per_char
    from tfcreative.abc_notation import TUNE_SEPARATOR
    from tfcreative.music import pipeline

    row = {f"test bits/char, {name}": bits_per_char(model, builder)
           for name, builder in builders.items()}
    row.update({f"test bits/char on whole tunes, {name}": whole_tunes_bits_per_char(
        model, builder) for name, builder in builders.items()})
    row[CHOICE] = whole_tunes_bits_per_char(model, builders["own"], "validation")
    tunes = pipeline.read_texts(pipeline.tune_texts(builders["own"], "test"))
    characters = sum(len(t) + len(TUNE_SEPARATOR) for t in tunes) / len(tunes)
    row["test bits/tune, own"] = round(row["test bits/char, own"] * characters, 1)
    row["validation bits/char"] = bits_per_char(model, builders["own"], "validation")
    return row


def run_part(args, results: dict, save) -> None:
    """Trains and scores the part's variants (those of --only), saving the results after each
    (`save(names measured by this process)`); when every size is measured, the choice."""
    from experiments._runs import preset_megabytes
    from tfcreative.datasets.abc_tunes import abc_tunes_dataset_builder as abc_tunes
    from tfcreative.music import pipeline

    common = {"clean": pipeline.prepare_builder(collection=abc_tunes.CLEAN_CONFIG,
                                                data_dir=args.data_dir),
              "as written": pipeline.prepare_builder(collection=abc_tunes.COMBINED_CONFIG,
                                                     data_dir=args.data_dir)}
    if args.part == "data":
        variants = {name: (SHIPPED, data) for name, data in data_variants().items()}
    else:
        variants = {name: (size, abc_tunes.TRANSPOSED_CONFIG) for name, size in SIZES.items()}
    measured = []
    for index, (name, (size, data)) in enumerate(variants.items()):
        if args.only and name not in args.only:
            continue
        run_dir = os.path.join(args.out, args.part, f"variant_{index}")
        model, _ = train_variant(run_dir, size, data, args)
        own = pipeline.prepare_builder(collection=data, data_dir=args.data_dir)
        characters = sum(len(t) for t in pipeline.read_texts(pipeline.tune_texts(own, "train")))
        results["variants"][name] = {
            "size": size, "data": getattr(data, "name", data), "run": os.path.abspath(run_dir),
            "training_characters": characters,
            "preset_mb": preset_megabytes(model), "best_step": int(model.optimizer.iterations),
            **score(model, {**common, "own": own})}
        measured.append(name)
        save(measured)
    if args.part == "sizes" and set(SIZES) <= set(results["variants"]):  # all measured
        fitting = {n: results["variants"][n] for n in SIZES
                   if results["variants"][n]["preset_mb"] <= BUDGET_MB}
        chosen = min(fitting, key=lambda n: fitting[n][CHOICE])
        results["chosen"] = {"name": chosen, **{key: results["variants"][chosen][key]
                                                for key in ("size", "run")}}
        save(measured)


def format_table(results: dict) -> str:
    rows = results["variants"]
    if not rows:
        return "(no results yet)"
    columns = ["training_characters", "preset_mb", "best_step", "validation bits/char", CHOICE,
               *sorted({k for row in rows.values() for k in row if k.startswith("test")})]
    lines = [f"{results['steps']:,} steps at batch 32 (unless a variant says otherwise), "
             f"{results['machine']['cpu']}, "
             f"{results['machine']['date']}.", "",
             "| variant | " + " | ".join(columns) + " |",
             "| --- |" + " ---: |" * len(columns)]
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    if "chosen" in results:
        lines.append(f"\nChosen (lowest {CHOICE} within {BUDGET_MB:g} MB): "
                     f"{results['chosen']['name']}")
    return "\n".join(lines)


def _cell(value) -> str:
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else f"{value}"


def main(argv=None) -> int:
    args = parse_args(argv)
    from experiments._machine import (
        machine,
        print_machine,
        read_json,
        use_threads,
        write_json_merged,
    )

    path = os.path.join(args.out, args.part, "results.json")
    results = read_json(path) or {"steps": args.steps, "variants": {}}
    if args.table:
        print(format_table(results))
        return 0
    if results["steps"] != args.steps:
        print(f"{path} holds runs of --steps {results['steps']}: give that, or another --out",
              file=sys.stderr)
        return 2
    use_threads(args.threads)
    results["machine"] = machine(args.threads)
    print_machine(results["machine"])
    import tfcreative  # noqa: F401  (registers the model classes)

    run_part(args, results,
             lambda measured: write_json_merged(path, results, "variants", measured))
    print(format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
