"""Training a MusicLSTM with `model.fit` (the run directory: tfcreative/training.py).

The music model brings: the tune data (the bundled corpus or your .abc files, as TFDS
abc_tunes), the model built from the training tunes' vocabulary (or a trained model to start
from, fitted to the tunes' characters: fine_tuning.py), the optimizer (the course's from
scratch, the fine-tuning default from a model: config.py), the validation tunes, and
validation loss as the metric that selects best.keras.
"""

from __future__ import annotations

import dataclasses
import logging
import os

from tfcreative import presets
from tfcreative.music import fine_tuning, pipeline
from tfcreative.music.config import MusicTrainConfig
from tfcreative.music.model import MusicLSTM, architecture_of
from tfcreative.music.optimizer import make_optimizer
from tfcreative.training import TrainingPlan, run_training

logger = logging.getLogger(__name__)



def _validation_data(builder, vocabulary, config: MusicTrainConfig, aliases: dict[str, str]):
    """The validation windows, or None (with a warning) when there are too few such tunes."""
    if "validation" not in builder.info.splits:
        logger.warning("no validation split (too few tunes): training without validation")
        return None
    texts = pipeline.map_characters(pipeline.tune_texts(builder, "validation"), aliases)
    try:
        return pipeline.make_test_dataset(texts, vocabulary, config.seq_length, config.batch_size)
    except ValueError as error:
        logger.warning("training without validation: validation split too small: %s", error)
        return None


def build_model(vocabulary, config: MusicTrainConfig) -> MusicLSTM:
    """Model and optimizer; call inside `strategy.scope()` to distribute them."""
    model = MusicLSTM(vocabulary, **architecture_of(config))
    model.compile(optimizer=make_optimizer(config, from_model=False),
                  jit_compile=config.jit_compile)
    return model


def train(run_dir: str, config: MusicTrainConfig, abc_path: str | None = None,
          data_dir: str | None = None, verbose: int | str = "auto",
          model: MusicLSTM | None = None, strategy=None,
          callbacks: list | None = None, collection=None, from_model: str | None = None,
          new_characters: str = "grow") -> MusicLSTM:
    """Trains on the bundled corpus (or another `collection`, or your `abc_path` files: see
    pipeline.prepare_builder) and writes the run directory.

    Pass `model` (e.g. a preset, `MusicLSTM.from_preset("folk")`, or a model loaded with
    keras.models.load_model, in `strategy`'s scope) to start from its weights: fine-tuning.
    Its characters are fitted to the tunes first (fine_tuning.adapt_to_tunes: unknown
    characters counted and said in a line, then `new_characters` "grow" or "map"), and it
    trains with a new optimizer at the fine-tuning defaults (warm-up, 2e-3, cosine decay over
    the planned steps) unless `config` sets learning_rate, warmup_steps or decay_to.
    `from_model`: what it was loaded from (a preset's name, a path), recorded in config.json.
    `strategy` defaults to make_strategy(config.strategy).
    """
    starting = model is not None

    def make_plan(strategy, start_epoch, out_dir):
        nonlocal model
        builder = pipeline.prepare_builder(abc_path=abc_path, data_dir=data_dir,
                                           collection=collection)
        train_texts = pipeline.tune_texts(builder, "train")
        aliases: dict[str, str] = {}
        with strategy.scope():
            if model is None:
                model = build_model(pipeline.build_vocabulary(train_texts), config)
            else:
                model, aliases = fine_tuning.adapt_to_tunes(
                    model, pipeline.read_texts(train_texts), new_characters)
        data, steps = pipeline.make_training_stream(
            pipeline.map_characters(train_texts, aliases), model.vocabulary,
            config.seq_length, config.batch_size, seed=config.seed,
            steps_per_epoch=config.steps_per_epoch, start_epoch=start_epoch)
        with strategy.scope():  # a new optimizer, its schedule over the planned steps
            model.compile(optimizer=make_optimizer(config, starting, steps * config.total_epochs),
                          jit_compile=config.jit_compile)
        return TrainingPlan(model, data, steps,
                            _validation_data(builder, model.vocabulary, config, aliases), "loss")

    settings = run_settings(config, collection, abc_path, model, from_model, new_characters)
    return run_training(run_dir, config, settings, make_plan, strategy=strategy,
                        verbose=verbose, callbacks=callbacks)


def run_settings(config: MusicTrainConfig, collection=None, abc_path: str | None = None,
                 model: MusicLSTM | None = None, from_model: str | None = None,
                 new_characters: str = "grow") -> dict:
    """What a run's config.json records: the config, the learning rate as used and the data;
    for a run started from `model`, its architecture (kept, whatever config's fields say) and
    what it was loaded from."""
    starting = model is not None
    learning_rate, warmup_steps, decay_to = config.learning_rate_for(starting)
    return {**dataclasses.asdict(config), **(architecture_of(model) if starting else {}),
            "learning_rate": learning_rate, "warmup_steps": warmup_steps, "decay_to": decay_to,
            **_data_settings(collection, abc_path),
            "started_from": _started_from(model, from_model) if starting else None,
            "new_characters": new_characters if starting else None}


def _data_settings(collection, abc_path: str | None) -> dict:
    """What config.json records of the data: the collection's name (and, for a config of your
    own choice of collections, what it holds) and the absolute path of your tunes (`music
    evaluate` finds them again from any folder)."""
    settings = {"collection": getattr(collection, "name", collection),
                "abc_path": os.path.abspath(os.path.expanduser(abc_path)) if abc_path else None}
    if collection is not None and not isinstance(collection, str):
        settings["collection_config"] = {"collections": list(collection.collections),
                                         "clean": collection.clean,
                                         "transpose_to": list(collection.transpose_to)}
    return settings


def _started_from(model: MusicLSTM, from_model: str | None) -> dict:
    """The model a run starts from: what it was loaded from (a preset's name and the sha256
    of its weights, a path made absolute) and its size."""
    record = {"model": from_model, "vocabulary_size": model.vocabulary.size,
              "embedding_dim": model.embedding_dim, "lstm_units": model.lstm_units,
              "num_layers": model.num_layers}
    if from_model and presets.is_preset(from_model) and not os.path.exists(from_model):
        metadata = presets.read_metadata(from_model)
        record.update(preset=from_model, sha256=metadata.get("sha256"))
    elif from_model:
        record["model"] = os.path.abspath(os.path.expanduser(from_model))
    return record
