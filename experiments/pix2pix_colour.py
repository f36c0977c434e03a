"""Colorization: RGB out, or Lab (the input's lightness kept, the model's colour only)?

    python -m experiments.pix2pix_colour --minutes 10

Trains one grayscale -> colour model (photos_grayscale) on the photos of
experiments/pix2pix_photos.py (the same split by photo; 128 px, ngf = ndf = 32, L1 + cGAN,
pinned to one core), then scores its outputs on the test tiles two ways: as they are (RGB),
and with their Lab lightness replaced by the input's (so only a and b come from the model, as
junyanz's `colorization` mode predicts ab from L). The input itself is the trivial baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from experiments.pix2pix_photos import COMMON, tfcreative, write_photos


def _lab_recombined(inputs_uint8: np.ndarray, outputs_uint8: np.ndarray) -> np.ndarray:
    from skimage.color import lab2rgb, rgb2lab

    made = []
    for grey, colour in zip(inputs_uint8, outputs_uint8, strict=True):
        lab = rgb2lab(colour / 255.0)
        lab[..., 0] = grey[..., 0] / 255.0 * 100.0  # the input is Lab's L as grey
        made.append(np.clip(np.round(lab2rgb(lab) * 255.0), 0, 255).astype(np.uint8))
    return np.stack(made)


def score(model_path: str, photos: str, tfds_dir: str) -> dict:
    import tensorflow as tf

    from tfcreative.pix2pix import load_model, pipeline, task_metrics
    from tfcreative.pix2pix.evaluation import evaluate_generator
    from tfcreative.pix2pix.images import to_uint8

    model = load_model(model_path)
    builder = pipeline.prepare_builder(photos_dir=photos, transform="grayscale",
                                       data_dir=tfds_dir)
    data = pipeline.make_test_dataset(builder, model.image_size, 8, pipeline.splits(builder).test)
    measures = task_metrics.measures_for("grayscale")

    def lab(x, training=None):
        rgb = to_uint8(model.generator(x, training=False))
        return tf.constant(_lab_recombined(to_uint8(x), rgb), tf.float32) / 127.5 - 1.0

    return {"RGB": evaluate_generator(model.generator, data, measures),
            "Lab (input's L kept)": evaluate_generator(lab, data, measures),
            "input itself": evaluate_generator(lambda x, training=None: x, data, measures)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.pix2pix_colour",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join("runs", "photos"))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--core", type=int, default=1)
    args = parser.parse_args(argv)
    photos, tfds_dir = os.path.join(args.out, "photos"), os.path.join(args.out, "tfds")
    if not os.path.isdir(photos):
        write_photos(photos)
    run = os.path.join(args.out, "colour")
    if not os.path.exists(os.path.join(run, "model.keras")):
        common = [flag if flag != "edges" else "grayscale" for flag in COMMON]
        tfcreative("pix2pix", "train", "--run-dir", run, "--photos", photos, "--data-dir",
                   tfds_dir, *common, "--minutes", str(args.minutes), core=args.core,
                   log=os.path.join(args.out, "colour.log"))
    results = score(os.path.join(run, "checkpoints", "best.keras"), photos, tfds_dir)
    from tfcreative.pix2pix.evaluation import format_results

    print(format_results(results))
    with open(os.path.join(args.out, "colour.json"), "w") as f:
        json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
