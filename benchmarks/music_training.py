"""Music training throughput (characters/s): our `model.fit` vs the course's tf.function loop.

Same data (our tf.data windows of the bundled corpus), same sizes and initial weights, same
loss (token mean) and optimizer (Adam 5e-3) on both sides. Ours is timed per step inside one
`model.fit` call, as users run it; between our step blocks a callback runs a block of the
reference loop (A B A B ...), so both sides see the same machine load.
"""

from __future__ import annotations

import statistics
import tempfile

import keras

from benchmarks import references, roofline
from benchmarks._harness import interleaved_fit_callback, row, timed
from tfcreative.music import pipeline
from tfcreative.music.config import MusicTrainConfig
from tfcreative.music.training import build_model

# cases: (batch size, steps per block, dropout); blocks of ours and the reference alternate.
# With dropout the reference is the course's model with Keras's own LSTM input dropout.
FULL = {"embedding_dim": 256, "lstm_units": 1024, "seq_length": 100,
        "cases": ((8, 2, 0.0), (64, 1, 0.0), (8, 2, 0.1)), "repetitions": 3}
QUICK = {"embedding_dim": 32, "lstm_units": 64, "seq_length": 20,
         "cases": ((8, 2, 0.0), (32, 2, 0.0), (8, 2, 0.1)), "repetitions": 2}


def measure(texts, vocabulary, settings, batch_size, steps_per_block, dropout) -> dict:
    config = MusicTrainConfig(embedding_dim=settings["embedding_dim"],
                              lstm_units=settings["lstm_units"],
                              seq_length=settings["seq_length"], batch_size=batch_size,
                              dropout=dropout)
    data = pipeline.make_train_dataset(texts, vocabulary, config.seq_length, batch_size,
                                       shuffle=True, seed=0).repeat()
    keras.utils.set_random_seed(0)
    ours = build_model(vocabulary, config)
    course = references.course_music_model(vocabulary.size, config.embedding_dim,
                                           config.lstm_units, dropout=dropout)
    references.copy_music_weights(ours, course)
    course_step = references.course_train_step(
        course, keras.optimizers.Adam(config.learning_rate_for(from_model=False)[0]))
    batches = iter(data)
    history = []

    def reference_block():
        for _ in range(steps_per_block):
            x, y = next(batches)
            history.append(course_step(x, y).numpy().mean())  # as the notebook does

    k, repetitions = steps_per_block, settings["repetitions"]
    reference_first = timed(reference_block)  # tracing + first steps
    interleave = interleaved_fit_callback(k, reference_block)
    ours.fit(data, epochs=1, steps_per_epoch=k * (repetitions + 1), callbacks=[interleave],
             verbose=0, shuffle=False)
    ours_first = sum(interleave.ours[:k])
    ours_step = statistics.median(interleave.ours[k:])
    reference_step = statistics.median(interleave.reference[1:] or interleave.reference)
    chars = batch_size * config.seq_length
    flops = 3 * roofline.lstm_forward_flops(batch_size, config.seq_length, config.embedding_dim,
                                            config.lstm_units, 1, vocabulary.size)
    return row(f"emb {config.embedding_dim}, LSTM {config.lstm_units}, seq "
               f"{config.seq_length}, batch {batch_size}"
               + (f", dropout {dropout} (reference: Keras's LSTM dropout)" if dropout else ""),
               "chars/s", chars / ours_step,
               chars / reference_step, flops_per_unit=flops / chars, target=1.3,
               details={"first_block_s_incl_tracing": {"ours": ours_first,
                                                       "reference": reference_first},
                        "jit_compile": bool(ours.jit_compile), "steps_per_block": k,
                        "repetitions": repetitions})


def run(quick: bool) -> dict:
    settings = QUICK if quick else FULL
    matmul = roofline.matmul_gflops(1024 if quick else 2048)
    with tempfile.TemporaryDirectory(prefix="tfcreative-bench-tfds-") as data_dir:
        builder = pipeline.prepare_builder(data_dir=data_dir)
        texts = pipeline.tune_texts(builder, "train")
        vocabulary = pipeline.build_vocabulary(texts)
        rows = [measure(texts, vocabulary, settings, *case) for case in settings["cases"]]
    return {"rows": rows, "matmul_gflops": matmul}
