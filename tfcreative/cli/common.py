"""What the commands share: the parser and its one-line errors, the checks of numeric and path
flags, help formatting, the training flags, one `train` handler, and the translation of the
library's argument names into flag names in error messages."""

from __future__ import annotations

import argparse
import collections.abc
import contextlib
import dataclasses
import errno
import logging
import math
import os
import re
import sys
import tempfile
import time
import warnings

from tfcreative.config import MODEL_SIZE, STRATEGIES, TrainConfig


class CommandError(Exception):
    """Bad input on the command line: printed as one line, exit status 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the command's error format: one line `tfcreative: error: --flag: ...`,
    exit status 2, whichever subcommand's flag was wrong (subparsers are of this class too)."""

    def error(self, message):
        message = re.sub(r"^argument (\S+): ", r"\1: ", message)
        self.exit(2, f"tfcreative: error: {message}\n")


# Checks of numeric flags at parse time (argparse `type=` functions), so a bad value stops the
# command before any work: integer(1) for a count, real(0, low_open=True) for a positive
# finite float, ...

def _interval(low, high, low_open: bool, high_open: bool) -> str:
    if high is None:
        return f"{'>' if low_open else '>='} {low}"
    if low is None:
        return f"{'<' if high_open else '<='} {high}"
    return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"


def integer(low: int | None = None, high: int | None = None):
    """An argparse type: an integer from `low` to `high` (either end may be open: None)."""
    expected = (f"an integer from {low} to {high}" if low is not None and high is not None
                else f"an integer {_interval(low, high, False, False)}")

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    return parse


def real(low: float | None = None, high: float | None = None, *, low_open: bool = False,
         high_open: bool = False):
    """An argparse type: a finite number within the bounds (open or closed at each end)."""
    expected = f"a finite number {_interval(low, high, low_open, high_open)}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not math.isfinite(value) \
                or (low is not None and (value <= low if low_open else value < low)) \
                or (high is not None and (value >= high if high_open else value > high)):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    return parse


COUNT = integer(1)  # batch size, epochs, units, layers, ...
SEED = integer(0, 2**32 - 1)  # what keras.utils.set_random_seed (NumPy's seed) accepts
POSITIVE = real(0, low_open=True)  # learning rate, minutes, temperature
FRACTION = real(0, 1, high_open=True)  # dropout, Adam's beta_1


def checked_path(text: str) -> str:
    """An argparse type for a path flag: a dangling symlink (or a symlink loop), the path
    itself or a folder on its way, is refused at once instead of failing later as "no such
    file" or "file exists"."""
    link = _broken_link(text)
    if link is not None:
        try:
            os.stat(link)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise argparse.ArgumentTypeError(f"{link} is a symlink loop") from None
        raise argparse.ArgumentTypeError(
            f"{link} is a dangling symlink (it points to {os.readlink(link)}, which does not "
            "exist)")
    return text


def folder_name(text: str) -> str:
    """An argparse type for a name that becomes one folder (export's --name): not a path."""
    if text in ("", ".", "..") or "/" in text or os.sep in text or "\0" in text:
        raise argparse.ArgumentTypeError(f"expected a plain folder name (no /, not . or ..), "
                                         f"got {text!r}")
    return text


def _broken_link(text: str) -> str | None:
    """`text` or the folder on its way that is a symlink leading nowhere, if any."""
    current = os.path.normpath(text)
    while current and not os.path.exists(current):
        if os.path.islink(current):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return None


class LazyChoices(collections.abc.Sequence):
    """A flag's choices that live in the library (e.g. the TFDS builders' configs), read on
    first use: when a value is checked or the flag's --help is printed. Building the parser
    then imports no TensorFlow, so `tfcreative --help` answers at once."""

    def __init__(self, load):
        self._load = load
        self._names = None

    def _all(self) -> tuple:
        if self._names is None:
            self._names = tuple(self._load())
        return self._names

    def __getitem__(self, index):
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())


@contextlib.contextmanager
def native_stderr_muted():
    """Hides what C/C++ code writes to stderr inside the block (TensorFlow's and absl's log
    lines: CUDA factories and computation placer at start-up, XLA's service at its first
    compile), written before or outside any log level Python can set. Python's own stderr
    (our messages, warnings, logging) stays visible. If the block fails with an unexpected
    error, what was hidden is shown after all."""
    sys.stderr.flush()
    saved = os.dup(2)
    python_stderr = sys.stderr
    visible = None
    if _writes_to_fd_2(python_stderr):  # else (e.g. under pytest) it does not use fd 2
        visible = open(os.dup(saved), "w", buffering=1, encoding=python_stderr.encoding,
                       errors="backslashreplace")
        sys.stderr = visible
    with tempfile.TemporaryFile() as hidden:
        os.dup2(hidden.fileno(), 2)
        try:
            yield
        except (Exception, KeyboardInterrupt) as error:
            os.dup2(saved, 2)
            if not isinstance(error, KeyboardInterrupt):
                hidden.seek(0)
                (visible or python_stderr).write(hidden.read().decode(errors="replace"))
            raise
        finally:
            sys.stderr = python_stderr
            if visible is not None:
                visible.close()
            os.dup2(saved, 2)
            os.close(saved)


def _writes_to_fd_2(stream) -> bool:
    try:
        return stream.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False


def quiet_libraries() -> None:
    """A normal run shows our output and Keras's progress only (`-v` shows everything)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for name in ("tensorflow", "absl", "tensorflow_datasets"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # Loading a model saved before its first training step: Keras has no optimizer slots to
    # restore yet and says so; harmless.
    warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")


def quiet_progress_bars() -> None:
    """No progress bars while TFDS prepares a data set (it imports TensorFlow: called once the
    command line is parsed)."""
    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """--help shows each default once: not for switches or flags without a default, and not
    where the help text already says it in words."""

    def _get_help_string(self, action):
        if action.nargs == 0 or action.default is None \
                or "default" in (action.help or "").lower():
            return action.help
        return super()._get_help_string(action)


def help_formatter(prog):
    return HelpFormatter(prog, max_help_position=32)


def add_flag(parser, flag: str, *, argument: str | None = None, aliases: tuple = (),
             **kwargs):
    """parser.add_argument(*aliases, flag, dest=argument, ...), remembering which library
    argument the flag feeds so errors about that argument can name the flag (`flag`, whichever
    alias was typed)."""
    dest = argument or flag.lstrip("-").replace("-", "_")
    flags = parser.get_default("flags") or {}
    parser.set_defaults(flags={**flags, dest: flag})
    return parser.add_argument(*aliases, flag, dest=dest, **kwargs)


def add_training_flags(parser, defaults: TrainConfig, run_name: str,
                       size_flags: tuple[str, ...],
                       learning_rate_help: str = "Adam step size",
                       from_model_help: str = "continue training this .keras model or run "
                                              "directory instead of starting from scratch "
                                              "(its architecture is kept)") -> None:
    """The flags every trainer has, with the model's own defaults. size_flags: the flags that
    set the model's sizes, named together when the model they describe does not fit in
    memory (the library's MODEL_SIZE argument)."""
    parser.set_defaults(flags={**(parser.get_default("flags") or {}),
                               MODEL_SIZE: " / ".join(size_flags)})
    add_flag(parser, "--run-dir", type=checked_path, default=None,
             help="where model.keras, checkpoints/, logs/ (TensorBoard) and history.csv go "
                  f"(default: runs/{run_name}-<date>-<time>)")
    add_flag(parser, "--batch-size", type=COUNT, default=defaults.batch_size,
             help="global batch size (split across replicas under tf.distribute)")
    add_flag(parser, "--learning-rate", type=POSITIVE, default=defaults.learning_rate,
             help=learning_rate_help)
    add_flag(parser, "--epochs", type=COUNT, default=defaults.epochs, help="training epochs")
    add_flag(parser, "--steps-per-epoch", type=COUNT, default=None,
             help="batches per epoch (default: one pass over the training data)")
    add_flag(parser, "--minutes", type=POSITIVE, default=None,
             help="stop after this many minutes of training, mid-epoch if need be")
    add_flag(parser, "--seed", type=SEED, default=defaults.seed,
             help="random seed (weights, shuffling, augmentation)")
    add_flag(parser, "--strategy", default=defaults.strategy, metavar="NAME",
             help=f"tf.distribute strategy, one of {', '.join(STRATEGIES)}: "
                  f"{defaults.strategy!r} (the default: one device), mirrored (all local "
                  "GPUs/CPU), multi_worker (MultiWorkerMirroredStrategy from TF_CONFIG), tpu "
                  "or tpu:NAME")
    add_flag(parser, "--from-model", argument="path", aliases=("--from",), type=checked_path,
             default=None, metavar="MODEL", help=from_model_help)


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
