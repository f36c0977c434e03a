"""Edges -> photo on the real photos available offline: scikit-image's sample photographs.

    python -m experiments.pix2pix_photos --minutes 12     # photos, both runs, evaluation
    python -m experiments.pix2pix_photos --transforms-picture docs/pix2pix_transforms.png

A real model needs hundreds to thousands of photos of one kind; offline there are seven
photographs of seven kinds in scikit-image's wheel (CC0 / public domain: docs/pix2pix_photos.md
lists them). They are split by photo, never by crop, so no test pixel was seen in training:
train/ holds five whole photos (random 128 px crops at their own scale every step), val/ the
128 px tiles of chelsea (chooses best.keras), test/ the 128 px tiles of coffee (reported only).

Two runs of the same budget, one after the other, pinned to one CPU core (`taskset -c CORE`):
L1 + cGAN (the paper's) and the L1-only baseline; 128 px, ngf = ndf = 32, batch 1, seed 0.
Then `tfcreative pix2pix evaluate` on the test tiles (with the input itself as the trivial
baseline), a grid, and `translate` of a 1024x768 photo (coffee, scaled up) in tiles.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

import numpy as np

TRAIN = ("astronaut", "rocket", "hubble_deep_field", "retina", "immunohistochemistry")
VALIDATION, TEST = "chelsea", "coffee"
TILE = 128
COMMON = ["--transform", "edges", "--image-size", str(TILE), "--ngf", "32", "--ndf", "32",
          "--batch-size", "1", "--seed", "0", "--steps-per-epoch", "500"]
RUNS = {"l1_cgan": [], "l1_only": ["--l1-only"]}


def _photo(name: str) -> np.ndarray:
    from skimage import data

    return getattr(data, name)()[..., :3]


def _tiles(photo: np.ndarray, side: int) -> list[np.ndarray]:
    """Non-overlapping side x side tiles, row by row (the remainder is dropped)."""
    return [photo[y:y + side, x:x + side] for y in range(0, photo.shape[0] - side + 1, side)
            for x in range(0, photo.shape[1] - side + 1, side)]


def write_photos(folder: str) -> None:
    from PIL import Image

    for split, names in (("train", TRAIN), ("val", [VALIDATION]), ("test", [TEST])):
        os.makedirs(os.path.join(folder, split), exist_ok=True)
        for name in names:
            photo = _photo(name)
            pieces = [photo] if split == "train" else _tiles(photo, TILE)
            for i, piece in enumerate(pieces):
                suffix = "" if split == "train" else f"_{i:02d}"
                Image.fromarray(piece).save(os.path.join(folder, split, f"{name}{suffix}.png"))


def write_large_photo(path: str) -> None:
    """The test photo at 1024x768 (its central 4:3 part, scaled up): translate's input."""
    from PIL import Image

    photo = _photo(TEST)
    height, width = photo.shape[:2]
    crop = int(round(height * 4 / 3))
    left = (width - crop) // 2
    Image.fromarray(photo[:, left:left + crop]).resize((1024, 768), Image.LANCZOS).save(path)


def transforms_picture(path: str, side: int = 200) -> None:
    """One row per photo: the photo, then every transform of it (docs' picture)."""
    from tfcreative.datasets.pix2pix import photo_transforms
    from tfcreative.pix2pix.images import write_png

    rows = []
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        photo = _photo(name)
        top, left = (photo.shape[0] - side) // 2, (photo.shape[1] - side) // 2
        crop = np.ascontiguousarray(photo[top:top + side, left:left + side])
        rows.append(np.concatenate([crop, *(transform(crop, 0) for transform in
                                            photo_transforms.TRANSFORMS.values())], axis=1))
    write_png(path, np.concatenate(rows, axis=0))


def tfcreative(*args: str, core: int | None = None, log: str | None = None) -> None:
    command = [sys.executable, "-m", "tfcreative", *args]
    if core is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(core), *command]
    print(" ".join(command), flush=True)
    with open(log, "w") if log else open(os.devnull, "w") as out:
        subprocess.run(command, check=True, stdout=out if log else None,
                       stderr=subprocess.STDOUT if log else None)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.pix2pix_photos",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join("runs", "photos"))
    parser.add_argument("--minutes", type=float, default=12.0, help="training time per run")
    parser.add_argument("--core", type=int, default=1, help="the CPU core both runs use")
    parser.add_argument("--transforms-picture", metavar="PNG", default=None,
                        help="only write the picture of every transform")
    args = parser.parse_args(argv)
    if args.transforms_picture:
        transforms_picture(args.transforms_picture)
        return 0
    photos, tfds_dir = os.path.join(args.out, "photos"), os.path.join(args.out, "tfds")
    if not os.path.isdir(photos):
        write_photos(photos)
    data = ["--photos", photos, "--data-dir", tfds_dir]
    for name, extra in RUNS.items():
        run = os.path.join(args.out, name)
        if os.path.exists(os.path.join(run, "model.keras")):
            continue
        start = time.monotonic()
        tfcreative("pix2pix", "train", "--run-dir", run, *data, *COMMON, *extra, "--minutes",
                   str(args.minutes), core=args.core, log=os.path.join(args.out, f"{name}.log"))
        print(f"{name}: {time.monotonic() - start:.0f} s", flush=True)
    best = [os.path.join(args.out, name, "checkpoints", "best.keras") for name in RUNS]
    tfcreative("pix2pix", "evaluate", *data, "--transform", "edges", "--input-baseline",
               *[flag for path in best for flag in ("--model", path)],
               "--json", os.path.join(args.out, "test.json"),
               "--grid", os.path.join(args.out, "test_grid.png"), "--grid-rows", "4")
    large = os.path.join(args.out, "coffee_1024x768.png")
    write_large_photo(large)
    tfcreative("pix2pix", "translate", "--model", best[0], "--transform", "edges", large,
               "--out-dir", os.path.join(args.out, "large"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
