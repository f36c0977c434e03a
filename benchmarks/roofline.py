"""The machine's dense float32 matmul rate, measured in the same process as each benchmark.

Every benchmark divides its model FLOPs per second by this rate, so a figure reads as "x% of
what this machine's best kernel does": near 100% nothing is left to win; far below it, the work
is bound by memory traffic or overhead (small matrices, recurrences, elementwise ops).
FLOPs are counted for matrix products and convolutions only (2 per multiply-add); a backward
pass costs twice its forward pass, so a training step is counted as 3x the forward FLOPs.
"""

from __future__ import annotations

import time

import tensorflow as tf


def matmul_gflops(size: int = 2048, repetitions: int = 5) -> float:
    """Best of `repetitions` timings of a [size, size] @ [size, size] float32 product."""
    a = tf.random.normal([size, size])
    b = tf.random.normal([size, size])
    product = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
    product(a, b).numpy()
    best = float("inf")
    for _ in range(repetitions):
        start = time.perf_counter()
        product(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def memory_gbps(megabytes: int = 256, repetitions: int = 5) -> float:
    """Best rate of summing a float32 array far larger than the caches (bytes read per second).

    The roof for work that streams its weights once per step, e.g. generating one tune: an
    LSTM step at batch 1 reads every weight for a few FLOPs each.
    """
    data = tf.random.normal([megabytes * 2**20 // 4])
    total = tf.function(tf.reduce_sum)
    total(data).numpy()
    best = float("inf")
    for _ in range(repetitions):
        start = time.perf_counter()
        total(data).numpy()
        best = min(best, time.perf_counter() - start)
    return megabytes * 2**20 / best / 1e9


def lstm_forward_flops(batch: int, steps: int, embedding_dim: int, units: int,
                       num_layers: int, vocab_size: int) -> float:
    """Matmul FLOPs of MusicLSTM over [batch, steps] ids (embedding lookups are free)."""
    per_token = 0
    features = embedding_dim
    for _ in range(num_layers):
        per_token += 2 * (features + units) * 4 * units
        features = units
    per_token += 2 * units * vocab_size
    return float(batch * steps * per_token)


def keras_forward_flops(model, input_shapes: list) -> float:
    """Conv/matmul FLOPs of one forward pass of a Keras model at the given input shapes.

    Counted by TensorFlow's profiler on the frozen inference graph (2 FLOPs per multiply-add).
    """
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    specs = [tf.TensorSpec(shape, tf.float32) for shape in input_shapes]
    inputs = specs[0] if len(specs) == 1 else specs
    function = tf.function(lambda x: model(x, training=False)).get_concrete_function(inputs)
    graph = convert_variables_to_constants_v2(function).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return float(tf.compat.v1.profiler.profile(graph, options=options).total_float_ops)


def run(quick: bool) -> dict:
    size = 1024 if quick else 2048
    rate = matmul_gflops(size)
    from benchmarks._harness import row

    line = row(f"tf.matmul {size}x{size} float32", "GFLOP/s", rate, None,
               details={"size": size})
    line["ours_gflops"] = rate
    megabytes = 64 if quick else 256
    bandwidth = memory_gbps(megabytes)
    memory = row(f"tf.reduce_sum over {megabytes} MiB float32", "GB/s read", bandwidth, None,
                 details={"megabytes": megabytes})
    return {"rows": [line, memory], "matmul_gflops": rate, "memory_gbps": bandwidth}
