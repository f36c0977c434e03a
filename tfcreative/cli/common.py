"""What the commands share: help formatting, the training flags, one `train` handler, and the
translation of the library's argument names into flag names in error messages."""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

from tfcreative.config import STRATEGIES, TrainConfig


class CommandError(Exception):
    """Bad input on the command line: printed as one line, exit status 2."""


def help_formatter(prog):
    """--help shows each default once: after help texts that do not already say it."""
    return argparse.ArgumentDefaultsHelpFormatter(prog, max_help_position=32)


def add_flag(parser, flag: str, *, argument: str | None = None, **kwargs):
    """parser.add_argument(flag, dest=argument, ...), remembering which library argument the
    flag feeds so errors about that argument can name the flag."""
    dest = argument or flag.lstrip("-").replace("-", "_")
    flags = parser.get_default("flags") or {}
    parser.set_defaults(flags={**flags, dest: flag})
    return parser.add_argument(flag, dest=dest, **kwargs)


def add_training_flags(parser, defaults: TrainConfig, run_name: str) -> None:
    """The flags every trainer has, with the model's own defaults."""
    add_flag(parser, "--run-dir", default=None,
             help="where model.keras, checkpoints/, logs/ (TensorBoard) and history.csv go "
                  f"(default: runs/{run_name}-<date>-<time>)")
    add_flag(parser, "--batch-size", type=int, default=defaults.batch_size,
             help="global batch size (split across replicas under tf.distribute)")
    add_flag(parser, "--learning-rate", type=float, default=defaults.learning_rate,
             help="Adam step size")
    add_flag(parser, "--epochs", type=int, default=defaults.epochs, help="training epochs")
    add_flag(parser, "--steps-per-epoch", type=int, default=None,
             help="batches per epoch (default: one pass over the training data)")
    add_flag(parser, "--minutes", type=float, default=None,
             help="stop after this many minutes of training, mid-epoch if need be")
    add_flag(parser, "--seed", type=int, default=defaults.seed,
             help="random seed (weights, shuffling, augmentation)")
    add_flag(parser, "--strategy", default=defaults.strategy, metavar="NAME",
             help=f"tf.distribute strategy, one of {', '.join(STRATEGIES)}: default (one "
                  "device), mirrored (all local GPUs/CPU), multi_worker "
                  "(MultiWorkerMirroredStrategy from TF_CONFIG), tpu or tpu:NAME")
    add_flag(parser, "--from-model", argument="path", default=None, metavar="PATH",
             help="continue training this .keras model or run directory instead of starting "
                  "from scratch (its architecture is kept)")


def config_from_args(config_class: type, args) -> TrainConfig:
    fields = {f.name for f in dataclasses.fields(config_class)}
    return config_class(**{k: v for k, v in vars(args).items() if k in fields})


def train_command(args, config_class: type, train, load_model, run_name: str,
                  data: dict, next_steps) -> int:
    """The `train` handler of both models: settings from the flags, the strategy, an optional
    model to continue, training, then what to do next (`next_steps(run_dir)`)."""
    from tfcreative.distribute import make_strategy

    config = config_from_args(config_class, args)
    run_dir = args.run_dir or os.path.join("runs", time.strftime(f"{run_name}-%Y%m%d-%H%M%S"))
    strategy = make_strategy(config.strategy)
    model = None
    if args.path:
        with strategy.scope():
            model = load_model(args.path)
    train(run_dir, config, **data, model=model, strategy=strategy)
    print(next_steps(run_dir))
    return 0
