"""Large images through a small Pix2Pix model: which way looks best, measured.

    python -m experiments.pix2pix_tiling --model runs/photos/l1_cgan/checkpoints/best.keras

On the whole test photo of experiments/pix2pix_photos.py (coffee, 600x400, never trained on)
and on the same photo scaled to 1024x768: its edges translated back to a photo (a) resized to
the model's size and back (what translate did before), (b) in one fully convolutional run, and
(c) in tiles with overlaps of 0, 1/8, 1/4 and 1/2 of the tile. L1 / PSNR / SSIM against the
real photo, and the seam step: the mean jump between neighbouring pixels at the tiles' edges
(for the ways without tiles: where tiles without overlap would meet) divided by the mean jump
elsewhere (1 = no visible seam). Writes a side-by-side picture.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

NO_OVERLAP = 1000  # an overlap divisor that makes the overlap 0 pixels


def _seam_step(image: np.ndarray, tile: int, overlap: int) -> float:
    """Mean |column x - column x-1| at the seams of tiles without blending / elsewhere."""
    from tfcreative.pix2pix.tiling import tile_starts

    jumps = np.abs(np.diff(image.astype(np.float64), axis=1)).mean(axis=(0, 2))
    seams = [s - 1 for s in tile_starts(image.shape[1], tile, overlap)[1:]]
    seams += [s + tile - 1 for s in tile_starts(image.shape[1], tile, overlap)[:-1]]
    seams = sorted({s for s in seams if 0 <= s < len(jumps)})
    rest = np.delete(jumps, seams)
    return float(jumps[seams].mean() / rest.mean()) if seams else 1.0


def measure(model_path: str, out: str) -> dict:
    import tensorflow as tf
    from skimage import data

    from tfcreative.datasets.pix2pix import photo_transforms
    from tfcreative.pix2pix import load_model
    from tfcreative.pix2pix.images import to_uint8, write_png
    from tfcreative.pix2pix.tiling import (
        any_size_generator,
        translate_fully_convolutional,
        translate_tiled,
    )
    from tfcreative.pix2pix.translate import compiled_generator

    model = load_model(model_path)
    tile = model.image_shape
    run = compiled_generator(model.generator)
    any_size = any_size_generator(model.generator)
    photo = data.coffee()
    photos = {"600x400": photo,
              "1024x768": np.asarray(tf.image.resize(photo[:, 33:567], (768, 1024),
                                                     antialias=True), np.uint8)}
    results, pictures = {}, []
    for size, target in photos.items():
        x = photo_transforms.edges(target).astype(np.float32) / 127.5 - 1.0
        ways = {
            "resized": lambda x=x: tf.image.resize(run(tf.image.resize(x[None], tile,
                                                                       antialias=True)),
                                                   x.shape[:2], antialias=True)[0].numpy(),
            "fully convolutional": lambda x=x: translate_fully_convolutional(
                model.generator, x, any_size),
            **{f"tiles, overlap 1/{d}" if d < NO_OVERLAP else "tiles, no overlap":
               (lambda x=x, d=d: translate_tiled(run, x, tile, d))
               for d in (NO_OVERLAP, 8, 4, 2)},
        }
        divisors = {name: int(name.rsplit("/", 1)[1]) if "/" in name else NO_OVERLAP
                    for name in ways}
        row = [to_uint8(x)]
        for name, way in ways.items():
            way()  # warm-up (tracing)
            start = time.perf_counter()
            output = to_uint8(way())
            seconds = time.perf_counter() - start
            real = tf.constant(target, tf.float32)[None] / 255.0
            made = tf.constant(output, tf.float32)[None] / 255.0
            results[f"{size}, {name}"] = {
                "l1": float(tf.reduce_mean(tf.abs(made - real))),
                "psnr": float(tf.image.psnr(made, real, 1.0)[0]),
                "ssim": float(tf.image.ssim(made, real, 1.0)[0]),
                "seam_step": _seam_step(output, tile[1], tile[1] // divisors[name]),
                "seconds": round(seconds, 2)}
            print(size, name, results[f"{size}, {name}"], flush=True)
            row.append(output)
        row.append(target)
        if size == "600x400":
            pictures.append(np.concatenate(row, axis=1))
    write_png(os.path.join(out, "tiling.png"), pictures[0])
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.pix2pix_tiling",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", default=os.path.join("runs", "photos", "tiling"))
    args = parser.parse_args(argv)
    results = measure(args.model, args.out)
    with open(os.path.join(args.out, "tiling.json"), "w") as f:
        json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
