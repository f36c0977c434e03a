"""Training runs the music experiments share: one `music train` run directory per run, with a
step budget (epochs of `every` steps: a validation check, a backup and a chance to resume each),
its best checkpoint, its test bits/char."""

from __future__ import annotations

import dataclasses
import os
import time


def with_step_budget(config, steps: int, every: int):
    """`config` trained for `steps` steps (rounded down to whole checks of `every` steps), not
    minutes."""
    every = max(1, min(every, steps))
    return dataclasses.replace(config, epochs=max(1, steps // every), steps_per_epoch=every,
                               minutes=None)


def trained(run_dir: str, config, **train_args):
    """(the run's best checkpoint, its path): the run trained, resumed from its backup if it
    was stopped, or, finished, only loaded."""
    from tfcreative.keras_archive import is_run_directory
    from tfcreative.music import load_model
    from tfcreative.music.training import train

    if not is_run_directory(run_dir):
        start = time.monotonic()
        train(run_dir, config, verbose=2, **train_args)
        print(f"{run_dir}: trained in {time.monotonic() - start:.0f} s", flush=True)
    best = os.path.join(run_dir, "checkpoints", "best.keras")
    path = best if os.path.exists(best) else os.path.join(run_dir, "model.keras")
    return load_model(path), path


def bits_per_char(model, builder, split: str = "test") -> float:
    """The model's bits/char on a split, as `music evaluate` scores it (windows of 100, batch
    8, unknown characters as the unknown id)."""
    from tfcreative.music.evaluation import held_out_loss

    return round(float(held_out_loss(model, builder, split)["bits_per_char"]), 4)


def whole_tunes_bits_per_char(model, builder, split: str = "test") -> float:
    """The model's bits/char on a split's whole tunes, each character given its tune before it
    (`music evaluate`'s second figure; folk-rnn's kind)."""
    from tfcreative.music import pipeline
    from tfcreative.music.evaluation import whole_tunes_loss

    texts = pipeline.read_texts(pipeline.tune_texts(builder, split))
    return round(whole_tunes_loss(model, texts)["bits_per_char"], 4)


def preset_megabytes(model) -> float:
    """The size of a preset folder of this model: its weights in float16 twice (weights.npz
    and the TF.js model), in MB."""
    return round(4 * model.count_params() / 1e6, 1)
