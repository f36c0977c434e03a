"""Trains the presets shipped in tfcreative/presets/ — one command each, seeded, with its budget.

    python -m experiments.presets folk               # music: the combined folk-tune corpus
    python -m experiments.presets synthetic_facades  # pix2pix: label map -> facade, 256 px
    python -m experiments.presets folk --minutes 5 --out /tmp/p   # a quick trial elsewhere

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


def per_collection(model_path: str, data_dir: str | None) -> dict:
    """Bits/char on the test tunes of abc_tunes/combined, one collection at a time."""
    import collections

    import keras

    import tfcreative  # noqa: F401  (registers the model classes)
    from experiments.abc_collections import _tunes, score
    from tfcreative.music import pipeline

    builder = pipeline.prepare_tune_builder(collection="combined", data_dir=data_dir)
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.presets",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("preset", choices=sorted(RECIPES))
    parser.add_argument("--minutes", type=float, default=None,
                        help="training budget (default: the recipe's)")
    parser.add_argument("--work", default=os.path.join("runs", "presets"),
                        help="where the training run goes")
    parser.add_argument("--out", default=presets_dir(), help="where the preset folder goes")
    parser.add_argument("--data-dir", default=None, help="TFDS data directory")
    args = parser.parse_args(argv)
    recipe = RECIPES[args.preset]
    from tfcreative.presets import check_writable

    check_writable(os.path.join(args.out, args.preset))  # before the training, not after
    minutes = args.minutes or recipe["minutes"]
    run_dir = os.path.join(args.work, args.preset)
    data = ["--data-dir", args.data_dir] if args.data_dir else []
    tf = [sys.executable, "-m", "tfcreative"]
    os.makedirs(args.work, exist_ok=True)
    log = os.path.join(args.work, f"{args.preset}.log")
    start = time.monotonic()
    train = [*recipe["train"], "--run-dir", run_dir, "--minutes", str(minutes), *data]
    run([*tf, *train], log)
    trained = time.monotonic() - start
    best = os.path.join(run_dir, "checkpoints", "best.keras")
    with tempfile.TemporaryDirectory() as scratch:
        result = os.path.join(scratch, "evaluation.json")
        if recipe["train"][0] == "music":
            evaluation = {}
            for constrain in ("none", "meter"):
                for temperature in ("1.0", "0.8"):
                    run([*tf, "music", "evaluate", "--model", best, "--collection",
                         "combined", "--num-tunes", "100", "--max-length", "1500",
                         "--random-seed", "0", "--temperature", temperature, "--constrain",
                         constrain, "--json", result, *data], log)
                    with open(result) as f:
                        evaluation[f"T={temperature} {constrain}"] = json.load(f)
            evaluation["test bits/char per collection"] = per_collection(best, args.data_dir)
        else:
            run([*tf, "pix2pix", "evaluate", "--model", best, "--fcn-score", "--json", result,
                 *data], log)
            with open(result) as f:
                evaluation = json.load(f)
    import keras

    import tfcreative  # noqa: F401  (registers the model classes)
    from tfcreative.presets import save_preset

    model = keras.models.load_model(best)
    folder = save_preset(
        model, os.path.join(args.out, args.preset), recipe["description"],
        recipe={"command": f"python -m experiments.presets {args.preset}",
                "train": " ".join(["tfcreative", *recipe["train"], "--minutes", str(minutes)]),
                "minutes": minutes,
                "training_seconds": round(trained), "steps": int(model.optimizer.iterations),
                "checkpoint": "best validation loss"},
        data=data_arguments(recipe["train"]), evaluation=evaluation)
    write_tfjs(model, folder)
    print(f"{folder}: written after {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
