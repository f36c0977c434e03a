"""The machine's roofs, measured in the same process as each benchmark.

* The dense float32 matmul rate. Every benchmark divides its model FLOPs per second by it, so
  a figure reads as "x% of what this machine's best kernel does": near 100% nothing is left to
  win; far below it, the work is bound by memory traffic or overhead (small matrices,
  recurrences, elementwise ops). FLOPs are counted for matrix products and convolutions only
  (2 per multiply-add); a backward pass costs twice its forward pass, so a training step is
  counted as 3x the forward FLOPs.
* The batch-1 generation roof: the matrix-vector products one generated character needs (the
  LSTM's recurrent kernel, units x 4*units, and the output layer, units x vocabulary), chained
  step after step in a `tf.while_loop` with nothing else in the loop. At batch 1 a character
  reads every one of those weights once for 2 FLOPs each, so this chain, not the matmul rate,
  bounds it; and the weights of a step stay in cache (17 MB at 1024 units), so a streaming
  read far larger than the caches is not that roof either. Measured both as a graph
  (TensorFlow's kernels) and compiled with XLA (XLA's own matrix-vector product); the faster
  one is the roof.
* The batch-N step roof (music_generation, N = 64): the same chain with N rows, i.e. the two
  matrix products of one step of N tunes, [N x units] by [units x 4*units] and by
  [units x vocabulary]. Products this narrow run below the 2048^2 matmul rate; this row says
  how far, so a generation figure can be read against the products it cannot avoid.
* The streaming read rate of an array far larger than the caches (for reference).
"""

from __future__ import annotations

import importlib.resources
import time

import tensorflow as tf

from tfcreative.abc_notation import TUNE_SEPARATOR
from tfcreative.music.config import COURSE
from tfcreative.music.vocabulary import CharVocabulary


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


def bundled_vocabulary() -> CharVocabulary:
    """The vocabulary of the bundled corpus: the output layer's size in the music benchmarks."""
    corpus = importlib.resources.files("tfcreative") / "data" / "irish_folk" / "irish.abc"
    return CharVocabulary.from_texts([corpus.read_text(encoding="utf-8"), TUNE_SEPARATOR])


def step_chain(units: int, vocab_size: int, jit_compile: bool, batch: int = 1,
               cell: bool = False):
    """`chain(steps)`: a generation roof (module docstring) as a tf.function.

    Each step multiplies h [batch, units] by the recurrent kernel [units, 4*units] and by the
    output kernel [units, vocab_size]; the next h is tanh of the four gate blocks' sum, so
    every weight is read every step (a slice of the product could let XLA read a quarter) and
    step t+1 waits for step t, as in generation. The logits are carried, so they are computed.
    Each side reads the recurrent kernel in the layout it reads fastest, as generation does:
    TensorFlow's kernels (oneDNN) as stored, XLA transposed. At batch 1 these are
    matrix-vector products (the batch-1 roof); at batch N, the products of one step of N tunes.

    cell=True: a diagnostic, not a roof: the next (h, c) come from the LSTM cell's own
    element-wise maths (sigmoid gates, tanh candidate, c = f*c + i*g, h = o*tanh(c)) instead,
    i.e. a generation step without the input lookup and the sampling.
    """
    recurrent = tf.Variable(tf.random.normal([units, 4 * units], stddev=units ** -0.5))
    if jit_compile:
        recurrent = tf.Variable(tf.transpose(recurrent))
    output = tf.Variable(tf.random.normal([units, vocab_size], stddev=units ** -0.5))

    def chain(steps):
        def body(step, h, c, logits):
            gates = tf.matmul(h, recurrent, transpose_b=jit_compile)
            logits = tf.matmul(h, output)
            if cell:
                i, f, g, o = tf.split(gates, 4, axis=-1)
                c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
                h = tf.sigmoid(o) * tf.tanh(c)
            else:
                h = tf.tanh(tf.reduce_sum(tf.reshape(gates, [-1, 4, units]), axis=1))
            return step + 1, h, c, logits

        _, h, c, logits = tf.while_loop(
            lambda step, *_: step < steps, body,
            (tf.constant(0), tf.fill([batch, units], 0.5), tf.zeros([batch, units]),
             tf.zeros([batch, vocab_size])))
        return tf.reduce_sum(h) + tf.reduce_sum(c) + tf.reduce_sum(logits)

    return tf.function(chain, jit_compile=jit_compile)


def step_weight_bytes(units: int, vocab_size: int) -> int:
    """Bytes of weights one batch-1 step reads: the recurrent and output kernels, float32."""
    return 4 * (units * 4 * units + units * vocab_size)


def step_chain_blocks(units: int, vocab_size: int, steps: int, batch: int = 1,
                      kinds=("graph", "XLA"), cell: bool = False) -> dict:
    """{kind: block}: each block runs `steps` steps of `step_chain` (traced and compiled
    here), for `_harness.alternate` next to the generation it bounds. kinds: "graph" and/or
    "XLA"."""
    blocks = {}
    for name in kinds:
        chain = step_chain(units, vocab_size, name == "XLA", batch, cell)
        chain(tf.constant(steps)).numpy()
        blocks[name] = (lambda chain=chain: chain(tf.constant(steps)).numpy())
    return blocks


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
    from benchmarks._harness import alternate, row

    size = 1024 if quick else 2048
    rate = matmul_gflops(size)
    line = row(f"tf.matmul {size}x{size} float32", "GFLOP/s", rate, None,
               details={"size": size})
    line["ours_gflops"] = rate
    units, steps = (64, 200) if quick else (COURSE.lstm_units, 1000)
    vocab_size = bundled_vocabulary().size
    seconds = alternate(step_chain_blocks(units, vocab_size, steps), 3 if quick else 7)
    weight_bytes = step_weight_bytes(units, vocab_size)
    chains = [row(f"batch-1 roof: LSTM {units} recurrent + output matvec chain "
                  f"({units}x{4 * units} + {units}x{vocab_size} float32) in a tf.while_loop, "
                  f"{name}", "steps/s", steps / seconds[name], None,
                  note=f"weights read at {steps / seconds[name] * weight_bytes / 1e9:.1f} GB/s",
                  details={"units": units, "vocab_size": vocab_size, "steps": steps,
                           "seconds": seconds[name], "weight_bytes": weight_bytes})
              for name in seconds]
    megabytes = 64 if quick else 256
    bandwidth = memory_gbps(megabytes)
    memory = row(f"tf.reduce_sum over {megabytes} MiB float32", "GB/s read", bandwidth, None,
                 details={"megabytes": megabytes})
    return {"rows": [line, *chains, memory], "matmul_gflops": rate, "memory_gbps": bandwidth}
