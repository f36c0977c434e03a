"""Pix2Pix training throughput (images/s): our `model.fit` vs the TF tutorial's train_step.

Same data (our tf.data pipeline over the synthetic facades TFDS builder; in --quick mode a few
in-memory facade pairs, to skip building the data set), same networks and initial weights,
Adam(2e-4, β1 0.5) for both networks on both sides, batch 1 as in the paper. The maths differ
in one place, by design: ours steps D, then G against the updated D (one more D forward pass);
the tutorial updates both from one forward pass (see references.py). FLOPs are counted for
each side's own work: ours 3·G + 9·D, the tutorial's 3·G + 8·D, with G and D the forward
FLOPs of the generator and of the discriminator on one pair.
"""

from __future__ import annotations

import statistics
import tempfile

import keras
import numpy as np
import tensorflow as tf

from benchmarks import references, roofline
from benchmarks._harness import interleaved_fit_callback, row, timed
from tfcreative.datasets.pix2pix import synthetic_facades
from tfcreative.pix2pix import pipeline
from tfcreative.pix2pix.config import Pix2PixTrainConfig
from tfcreative.pix2pix.model import default_optimizer
from tfcreative.pix2pix.training import build_model

FULL = {"cases": ((256, 64), (128, 64)), "steps_per_block": 2, "repetitions": 3}
QUICK = {"cases": ((32, 8),), "steps_per_block": 2, "repetitions": 2}


def _copy(network: keras.Model) -> keras.Model:
    twin = keras.models.clone_model(network)
    twin.set_weights(network.get_weights())
    return twin


def _quick_data(image_size):
    pairs = [synthetic_facades.facade_pair(0, i, image_size) for i in range(4)]
    images = np.stack([p for pair in pairs for p in pair]).astype(np.float32) / 127.5 - 1.0
    data = tf.data.Dataset.from_tensor_slices((images[0::2], images[1::2]))
    return data.batch(1).repeat()


def measure(builder, image_size, width, settings) -> dict:
    config = Pix2PixTrainConfig(image_size=image_size, ngf=width, ndf=width, batch_size=1)
    keras.utils.set_random_seed(0)
    ours = build_model(config)
    generator, discriminator = _copy(ours.generator), _copy(ours.discriminator)
    tutorial_step = references.tutorial_train_step(generator, discriminator,
                                                   default_optimizer(), default_optimizer())
    if builder is None:
        data = _quick_data(image_size)
    else:
        data = pipeline.make_train_dataset(builder, image_size, 1, seed=0).repeat()
    batches = iter(data.enumerate())
    k, repetitions = settings["steps_per_block"], settings["repetitions"]

    def reference_block():
        for _ in range(k):
            step, (input_image, target) = next(batches)
            tutorial_step(input_image, target, step).numpy()

    reference_first = timed(reference_block)
    interleave = interleaved_fit_callback(k, reference_block)
    ours.fit(data, epochs=1, steps_per_epoch=k * (repetitions + 1), callbacks=[interleave],
             verbose=0, shuffle=False)
    ours_step = statistics.median(interleave.ours[k:])
    reference_step = statistics.median(interleave.reference[1:] or interleave.reference)
    shape = [1, image_size, image_size, 3]
    g = roofline.keras_forward_flops(ours.generator, [shape])
    d = roofline.keras_forward_flops(ours.discriminator, [shape, shape])
    return row(f"{image_size}×{image_size}, ngf=ndf={width}, batch 1", "images/s",
               1 / ours_step, 1 / reference_step, flops_per_unit=3 * g + 9 * d,
               reference_flops_per_unit=3 * g + 8 * d, target=1.3,
               details={"first_block_s_incl_tracing": {"ours": sum(interleave.ours[:k]),
                                                       "reference": reference_first},
                        "jit_compile": bool(ours.jit_compile),
                        "generator_forward_gflop": g / 1e9,
                        "discriminator_forward_gflop": d / 1e9,
                        "steps_per_block": k, "repetitions": repetitions})


def run(quick: bool) -> dict:
    settings = QUICK if quick else FULL
    matmul = roofline.matmul_gflops(1024 if quick else 2048)
    with tempfile.TemporaryDirectory(prefix="tfcreative-bench-tfds-") as data_dir:
        builder = None if quick else pipeline.prepare_builder(data_dir=data_dir)
        rows = [measure(builder, size, width, settings) for size, width in settings["cases"]]
    return {"rows": rows, "matmul_gflops": matmul}
