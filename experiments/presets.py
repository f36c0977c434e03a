"""Trains the presets shipped in tfcreative/presets/ — one command each, seeded, with its budget.

    python -m experiments.presets folk               # music: the combined folk-tune corpus
    python -m experiments.presets synthetic_facades  # pix2pix: label map -> facade, 256 px
    python -m experiments.presets folk --minutes 5 --out /tmp/p   # a quick trial elsewhere
    python -m experiments.presets folk --next        # the next folk preset (issue 24), below

Each run trains with the package's own trainer (`tfcreative ... train`, so the run directory,
checkpoints and resume work as usual), takes the checkpoint with the best validation score
(never the test split), evaluates it on the test split with the package's own evaluation, and
writes the preset folder: config, float16 weights, metadata.json with the recipe and the
evaluation (`tfcreative.presets.save_preset`), and the TF.js conversion for the demo page
(`tfjs/`, needs the `export` extra). The folder must be new, empty or a preset: only the
preset's own files are replaced.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

# Sizes: a preset folder holds the weights twice in float16 (weights.npz for Keras, tfjs/ for
# the page) and must stay under 10 MB: LSTM 512 (3.3 MB of weights) and a 256 px U-Net with
# ngf 12 (3.8 MB; ngf 14 would make the folder 10.7 MB). Budget: 50 minutes on one CPU core
# each, so both train at once on a 2-core machine.
RECIPES = {
    "folk": {
        "description": "Character-level LSTM over ABC folk tunes: the bundled Irish corpus and "
                       "three public-domain collections shipped in music21 (O'Neill's 1850, "
                       "Ryan's Mammoth, Aird's Airs), de-duplicated.",
        "train": ["music", "train", "--collection", "combined", "--embedding-dim", "256",
                  "--lstm-units", "512", "--batch-size", "32", "--seq-length", "100",
                  "--learning-rate", "5e-3", "--dropout", "0.1", "--epochs", "1000",
                  "--seed", "0"],
        "minutes": 50.0,
    },
    "synthetic_facades": {
        "description": "Pix2Pix (U-Net + 70x70 PatchGAN, L1 + cGAN, the paper's losses) from "
                       "label maps of the 12 CMP facade classes to facade photos, 256 px, "
                       "trained on synthetic_facades.",
        "train": ["pix2pix", "train", "--dataset", "synthetic_facades", "--image-size", "256",
                  "--ngf", "12", "--ndf", "16", "--batch-size", "1", "--epochs", "1000",
                  "--seed", "0"],
        "minutes": 50.0,
    },
}


# The next `folk` preset (issue 24; not shipped yet: that needs this long run): every public
# collection as clean training text, its training tunes also in the common keys
# (abc_tunes/combined_clean_transposed: 5.9 M characters, 4.4x combined's); a step budget, not
# minutes (on a shared machine minutes measure the load). Its size and regularisation are the
# choice of `python -m experiments.folk_preset sizes` (on validation), read from that run's
# results.json when there is one, else NEXT_FOLK_SIZE (the shipped size).
NEXT_FOLK = {
    "description": "Character-level LSTM over ABC folk tunes: the bundled Irish corpus and the "
                   "public-domain collections shipped in music21 (O'Neill's 1850, Ryan's "
                   "Mammoth, Aird's Airs, American fife tunes and Northumbrian Minstrelsy), "
                   "de-duplicated, as clean training text (chord symbols kept; fingerings, "
                   "bowings, dynamics and navigation marks out), the training tunes also "
                   "transposed into the common keys.",
    "collection": "combined_clean_transposed", "batch_size": 32, "seq_length": 100,
    "learning_rate": 5e-3, "seed": 0, "steps": 12_000, "every": 500,
}
NEXT_FOLK_SIZE = {"embedding_dim": 256, "lstm_units": 512, "num_layers": 1, "dropout": 0.1,
                  "weight_decay": 0.0}
SIZES_RESULTS = os.path.join("runs", "folk_preset", "sizes", "results.json")


def next_folk_size(results: str = SIZES_RESULTS) -> dict:
    """The size chosen by `experiments.folk_preset sizes` (its results.json), else
    NEXT_FOLK_SIZE."""
    try:
        with open(results) as f:
            return json.load(f)["chosen"]["size"]
    except (OSError, ValueError, KeyError):
        return dict(NEXT_FOLK_SIZE)


def chosen_run(results: str = SIZES_RESULTS) -> str | None:
    """The run `experiments.folk_preset sizes` chose, when it is finished and was trained
    with every setting of the next folk recipe (its seed, data and steps too): then it is
    the preset's training run already. None otherwise."""
    from tfcreative.config import RUN_MODEL, RUN_SETTINGS
    from tfcreative.music.training import run_settings

    try:
        with open(results) as f:
            chosen = json.load(f)["chosen"]
        with open(os.path.join(chosen["run"], RUN_SETTINGS)) as f:
            recorded = json.load(f)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    expected = run_settings(next_folk_config(chosen["size"]), NEXT_FOLK["collection"])
    if any(recorded.get(key) != value for key, value in expected.items()):
        return None
    return chosen["run"] if os.path.isfile(os.path.join(chosen["run"], RUN_MODEL)) else None


def next_folk_config(size: dict | None = None):
    """The next folk preset's training settings as a MusicTrainConfig (its step budget); a
    size may also set the batch and the window length (the recipe's otherwise)."""
    from tfcreative.music.config import MusicTrainConfig

    recipe = NEXT_FOLK
    settings = {"batch_size": recipe["batch_size"], "seq_length": recipe["seq_length"],
                **(size or next_folk_size())}
    return MusicTrainConfig(**settings, learning_rate=recipe["learning_rate"],
                            seed=recipe["seed"], epochs=recipe["steps"] // recipe["every"],
                            steps_per_epoch=recipe["every"])


def next_folk_recipe(size: dict | None = None) -> dict:
    """NEXT_FOLK as a recipe of RECIPES' form: the `tfcreative music train` command."""
    config, recipe = next_folk_config(size), NEXT_FOLK
    flags = {"--collection": recipe["collection"], "--embedding-dim": config.embedding_dim,
             "--lstm-units": config.lstm_units, "--num-layers": config.num_layers,
             "--batch-size": config.batch_size, "--seq-length": config.seq_length,
             "--learning-rate": config.learning_rate, "--dropout": config.dropout,
             "--output-dropout": config.output_dropout,
             "--weight-decay": config.weight_decay, "--epochs": config.epochs,
             **({"--decay-to": config.decay_to} if config.decay_to is not None else {}),
             "--steps-per-epoch": config.steps_per_epoch, "--seed": config.seed}
    return {"description": recipe["description"], "minutes": None,
            "train": ["music", "train", *(str(x) for pair in flags.items() for x in pair)]}


def presets_dir() -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "tfcreative", "presets")


def data_arguments(train: list[str]) -> dict:
    """The data flags of a recipe's train command, as the preset's metadata records them
    (`tfcreative music evaluate` scores a preset on the tunes it was trained on)."""
    flags = {"--collection": "collection", "--dataset": "dataset"}
    return {flags[flag]: value for flag, value in zip(train[:-1], train[1:], strict=True)
            if flag in flags}


def run(command: list[str], log: str) -> None:
    print(" ".join(command), flush=True)
    with open(log, "a") as f:
        subprocess.run(command, stdout=f, stderr=f, check=True)


def per_collection(model_path: str, data_dir: str | None, collection: str = "combined") -> dict:
    """Bits/char on the test tunes of an abc_tunes config, one collection at a time."""
    import collections

    import keras

    import tfcreative  # noqa: F401  (registers the model classes)
    from experiments.abc_collections import _tunes, score
    from tfcreative.music import pipeline

    builder = pipeline.prepare_builder(collection=collection, data_dir=data_dir)
    by_collection = collections.defaultdict(list)
    for name, abc in _tunes(builder, "test"):
        by_collection[name].append(abc)
    model = keras.models.load_model(model_path)
    return {name: score(model, tunes) for name, tunes in by_collection.items()}


def write_tfjs(model, folder: str) -> None:
    """The preset's TF.js model as `folder`/tfjs, replacing the one written there before (by
    this script: save_preset writes only its own files, and export_tfjs only new folders)."""
    from tfcreative.export.tfjs import export_tfjs
    from tfcreative.presets import TFJS

    with tempfile.TemporaryDirectory(prefix=".tmp-tfjs-", dir=folder) as scratch:
        fresh = export_tfjs(model, os.path.join(scratch, TFJS), quantization="float16")
        target = os.path.join(folder, TFJS)
        if os.path.exists(target):
            os.rename(target, os.path.join(scratch, "previous"))  # removed with the scratch
        os.rename(fresh, target)


# What `music evaluate` generates for a music preset's evaluation, at each temperature and
# constraint.
EVALUATION = {"num_tunes": 100, "max_length": 1500, "temperatures": ("1.0", "0.8"),
              "constraints": ("none", "meter")}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m experiments.presets",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("preset", choices=sorted(RECIPES))
    parser.add_argument("--minutes", type=float, default=None,
                        help="training budget (default: the recipe's)")
    parser.add_argument("--next", action="store_true",
                        help="folk: the next preset's recipe (NEXT_FOLK), its size chosen by "
                             "`experiments.folk_preset sizes` (--sizes-results)")
    parser.add_argument("--sizes-results", default=SIZES_RESULTS, metavar="PATH",
                        help="with --next: the results.json of `experiments.folk_preset "
                             f"sizes` (default {SIZES_RESULTS})")
    parser.add_argument("--work", default=os.path.join("runs", "presets"),
                        help="where the training run goes")
    parser.add_argument("--out", default=presets_dir(), help="where the preset folder goes")
    parser.add_argument("--data-dir", default=None, help="TFDS data directory")
    args = parser.parse_args(argv)
    if args.next and args.preset != "folk":
        parser.error("--next: only the folk preset has a next recipe")
    return args


def train(args, recipe: dict, budget: list[str], tf: list[str],
          log: str) -> tuple[str, int | None]:
    """The run directory of the preset's training, and the seconds this command trained it
    (None: trained already, by an earlier command or by `experiments.folk_preset sizes`)."""
    run_dir = os.path.join(args.work, args.preset + ("-next" if args.next else ""))
    trained_already = chosen_run(args.sizes_results) if args.next and not args.minutes else None
    if trained_already:  # the recipe's run, made by experiments.folk_preset sizes
        run_dir = trained_already
        print(f"the chosen run of experiments.folk_preset sizes has the recipe's settings: "
              f"{run_dir}", flush=True)
    if os.path.isfile(os.path.join(run_dir, "model.keras")):
        return run_dir, None
    start = time.monotonic()
    data = ["--data-dir", args.data_dir] if args.data_dir else []
    run([*tf, *recipe["train"], "--run-dir", run_dir, *budget, *data], log)
    return run_dir, round(time.monotonic() - start)


def evaluate(best: str, recipe: dict, data_dir: str | None, tf: list[str], log: str) -> dict:
    """The package's own evaluation of the best checkpoint on the test split: `music evaluate`
    at each temperature and constraint plus bits/char per collection, or `pix2pix evaluate`
    with the FCN score."""
    data = ["--data-dir", data_dir] if data_dir else []
    with tempfile.TemporaryDirectory() as scratch:
        result = os.path.join(scratch, "evaluation.json")

        def evaluation_of(command):
            run([*tf, *command, "--model", best, "--json", result, *data], log)
            with open(result) as f:
                return json.load(f)

        if recipe["train"][0] != "music":
            return evaluation_of(["pix2pix", "evaluate", "--fcn-score"])
        collection = data_arguments(recipe["train"])["collection"]
        evaluation = {}
        for constrain in EVALUATION["constraints"]:
            for temperature in EVALUATION["temperatures"]:
                evaluation[f"T={temperature} {constrain}"] = evaluation_of([
                    "music", "evaluate", "--collection", collection,
                    "--num-tunes", str(EVALUATION["num_tunes"]),
                    "--max-length", str(EVALUATION["max_length"]), "--random-seed", "0",
                    "--temperature", temperature, "--constrain", constrain])
    evaluation["test bits/char per collection"] = per_collection(best, data_dir, collection)
    return evaluation


def main(argv=None) -> int:
    args = parse_args(argv)
    recipe = next_folk_recipe(next_folk_size(args.sizes_results)) if args.next \
        else RECIPES[args.preset]
    from tfcreative.presets import check_writable

    check_writable(os.path.join(args.out, args.preset))  # before the training, not after
    minutes = args.minutes or recipe["minutes"]
    budget = ["--minutes", str(minutes)] if minutes else []
    tf = [sys.executable, "-m", "tfcreative"]
    os.makedirs(args.work, exist_ok=True)
    log = os.path.join(args.work, f"{args.preset}.log")
    start = time.monotonic()
    run_dir, trained = train(args, recipe, budget, tf, log)
    best = os.path.join(run_dir, "checkpoints", "best.keras")
    evaluation = evaluate(best, recipe, args.data_dir, tf, log)
    import keras

    import tfcreative  # noqa: F401  (registers the model classes)
    from tfcreative.presets import save_preset

    model = keras.models.load_model(best)
    folder = save_preset(
        model, os.path.join(args.out, args.preset), recipe["description"],
        recipe={"command": f"python -m experiments.presets {args.preset}"
                           + (" --next" if args.next else ""),
                "train": " ".join(["tfcreative", *recipe["train"], *budget]),
                "minutes": minutes,
                "training_seconds": trained,  # None: trained by an earlier command
                "steps": int(model.optimizer.iterations),
                "checkpoint": "best validation loss"},
        data=data_arguments(recipe["train"]), evaluation=evaluation)
    write_tfjs(model, folder)
    print(f"{folder}: written after {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
