"""The paper's Pix2Pix ablations on synthetic_facades at 128 px, at an equal wall-clock budget.

    python -m experiments.pix2pix_ablations train --minutes 20      # trains every variant
    python -m experiments.pix2pix_ablations evaluate --fcn-score    # the tables, on test
    python -m experiments.pix2pix_ablations evaluate --fcn-score --paper-inference

Losses (Isola et al. 2017, Table 1): L1 only, cGAN only (lambda 0), L1 + an unconditional GAN
(D sees the output only), L1 + cGAN (the paper's). Discriminator receptive field (Table 2):
1x1 (PixelGAN), 16x16, 70x70 (the L1 + cGAN run), 286x286 (at 128 px: the whole image).
Every run: 128 px, ngf = ndf = 32, batch 1, Adam 2e-4 / beta1 0.5, seed 0, the same minutes
of training pinned to one CPU core (`taskset`; two runs at a time on a 2-core machine). Only
the two runs of a pair shared the machine's load (PAIRS); the 70x70 run repeats the L1+cGAN
recipe beside the 286x286 one, which also shows how much the load alone moves a run.
Checkpoints are chosen on the validation split (best.keras: lowest validation L1), numbers
reported on the test split only, by `tfcreative pix2pix evaluate`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time

COMMON = ["--image-size", "128", "--ngf", "32", "--ndf", "32", "--batch-size", "1",
          "--seed", "0"]
LOSSES = {"L1": ["--l1-only"], "cGAN": ["--lambda-l1", "0"], "L1+GAN": ["--unconditional"],
          "L1+cGAN": []}
PATCHES = {"1x1": ["--netd", "pixel"], "16x16": ["--n-layers", "1"], "70x70": [],
           "286x286": ["--n-layers", "5"]}  # 70x70: the L1+cGAN recipe, run again beside 286
# Runs that share the machine at the same time: only runs of one pair saw the same load.
PAIRS = [("L1", "L1+cGAN"), ("cGAN", "L1+GAN"), ("1x1", "16x16"), ("70x70", "286x286")]


def runs() -> dict[str, list[str]]:
    return {**LOSSES, **PATCHES}


def run_dir(out: str, name: str) -> str:
    return os.path.join(out, name.replace("+", "_plus_"))


def train(out: str, minutes: float, data_dir: str | None, only: list[str] | None) -> None:
    os.makedirs(out, exist_ok=True)
    cores = os.cpu_count() or 1
    for pair in PAIRS:
        pair = [name for name in pair if not only or name in only]
        processes = []
        for core, name in enumerate(pair):
            folder = run_dir(out, name)
            if os.path.exists(os.path.join(folder, "model.keras")):
                print(f"{name}: done already ({folder})")
                continue
            command = [sys.executable, "-m", "tfcreative", "pix2pix", "train", "--run-dir",
                       folder, *COMMON, *runs()[name], "--minutes", str(minutes)]
            if data_dir:
                command += ["--data-dir", data_dir]
            if shutil.which("taskset") and cores >= len(pair):
                command = ["taskset", "-c", str(core % cores), *command]
            print(f"{name}: {' '.join(command)}", flush=True)
            log = open(os.path.join(out, f"{os.path.basename(folder)}.log"), "w")
            processes.append((name, subprocess.Popen(command, stdout=log, stderr=log), log))
        for name, process, log in processes:
            if process.wait() != 0:
                raise SystemExit(f"{name} failed: see {log.name}")
            log.close()


def steps_and_epochs(folder: str) -> tuple[int, int]:
    """(generator steps, epochs) a run made, from its final model and history."""
    import keras

    import tfcreative  # noqa: F401  (registers the model classes)

    model = keras.models.load_model(os.path.join(folder, "model.keras"))
    with open(os.path.join(folder, "history.csv")) as f:
        epochs = len(list(csv.DictReader(f)))
    return int(model.optimizer.iterations), epochs


def evaluate(out: str, data_dir: str | None, extra: list[str]) -> None:
    # --paper-inference (dropout on, batch statistics at test time) writes tables of its own
    suffix = "_paper_inference" if "--paper-inference" in extra else ""
    tables = {f"losses{suffix}": list(LOSSES), f"patches{suffix}": list(PATCHES)}
    for table, names in tables.items():
        folders = [run_dir(out, n) for n in names if os.path.exists(run_dir(out, n))]
        if not folders:
            continue
        command = [sys.executable, "-m", "tfcreative", "pix2pix", "evaluate",
                   "--json", os.path.join(out, f"{table}.json"),
                   "--grid", os.path.join(out, f"{table}.png"), *extra]
        for folder in folders:
            command += ["--model", os.path.join(folder, "checkpoints", "best.keras")]
        if data_dir:
            command += ["--data-dir", data_dir]
        print(" ".join(command), flush=True)
        subprocess.run(command, check=True)
        steps = {os.path.basename(f): steps_and_epochs(f) for f in folders}
        with open(os.path.join(out, f"{table}_steps.json"), "w") as f:
            json.dump(steps, f, indent=2)
        print(f"steps, epochs: {steps}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.pix2pix_ablations",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("phase", choices=("train", "evaluate"))
    parser.add_argument("--out", default=os.path.join("runs", "ablations"))
    parser.add_argument("--minutes", type=float, default=20.0, help="training time per run")
    parser.add_argument("--data-dir", default=None, help="TFDS data directory")
    parser.add_argument("--only", nargs="*", default=None, help="train these runs only")
    args, extra = parser.parse_known_args(argv)
    start = time.monotonic()
    if args.phase == "train":
        train(args.out, args.minutes, args.data_dir, args.only)
    else:
        evaluate(args.out, args.data_dir, extra)
    print(f"{args.phase}: {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
