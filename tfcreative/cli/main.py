"""`tfcreative`: the command, its exit statuses, and bad input reported in one line.

Exit status: 0 done; 1 training stopped on a NaN/Inf loss; 2 bad input (a message naming the
flag or file and what was expected, never a traceback); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys

from tfcreative import __version__
from tfcreative.cli.common import (
    ArgumentParser,
    CommandError,
    native_stderr_muted,
    quiet_libraries,
    quiet_progress_bars,
)
from tfcreative.errors import FinishedRun, InvalidArgument, WrongModelType

VERBOSE_FLAGS = ("-v", "--verbose")


def build_parser() -> ArgumentParser:
    # No TensorFlow import here: flags whose choices come from the library read them when a
    # value is checked or their --help is printed (common.LazyChoices).
    from tfcreative.cli import export, music, pix2pix, quickstart, serve

    parser = ArgumentParser(
        prog="tfcreative",
        description="Train, sample and ship generative models for music and images (Keras 3).",
    )
    parser.add_argument("--version", action="version", version=f"tfcreative {__version__}")
    parser.add_argument(*VERBOSE_FLAGS, action="store_true",
                        help="show everything: TensorFlow's start-up and log lines, progress "
                             "bars of data preparation, INFO messages")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (music, pix2pix, export, serve, quickstart):
        command.add_parser(subparsers)
    return parser


# Which commands take a model of each class, for a file given to the wrong one.
COMMANDS_FOR_MODEL = {"MusicLSTM": "tfcreative music generate | evaluate | train --from-model",
                      "Pix2Pix": "tfcreative pix2pix translate | evaluate | train --from-model"}


def _message(error: Exception, args) -> str:
    """A library error in the command line's terms: its argument becomes the flag that fed it;
    an operating system's error about a path names the flag that gave that path."""
    flags = getattr(args, "flags", {})
    message = str(error)
    if isinstance(error, InvalidArgument) and error.argument in flags:
        message = f"{flags[error.argument]}: {error.detail}"
    elif isinstance(error, OSError) and error.filename is not None:
        message = _os_error_message(error, args, flags)
    if isinstance(error, WrongModelType) and error.found in COMMANDS_FOR_MODEL:
        message += f"; use it with `{COMMANDS_FOR_MODEL[error.found]}`"
    if isinstance(error, FinishedRun) and flags.get("path") == "--from-model":
        message += f"; to train it further: --from-model {error.run_dir} --run-dir <a new folder>"
    return message


def _os_error_message(error: OSError, args, flags: dict) -> str:
    """`--out-dir: /sys/tunes: Operation not permitted: ...`: the flag whose path holds (or
    is held by) the file the system refused, and what was expected of it."""
    name = error.filename
    path = os.fsdecode(name) if isinstance(name, (str, bytes, os.PathLike)) else str(name)
    blocking = _file_in_the_way(path)
    if isinstance(error, (FileExistsError, NotADirectoryError)) and blocking:
        detail = f"{blocking} exists and is not a folder"
    elif isinstance(error, PermissionError) or error.errno == errno.EROFS:
        detail = f"{path}: {error.strerror}: expected a place you may write to"
    else:
        detail = f"{path}: {error.strerror}"
    flag = _flag_of_path(path, args, flags)
    return f"{flag}: {detail}" if flag else detail


def _file_in_the_way(path: str) -> str | None:
    """`path` or the nearest folder on its way that exists, if that is not a folder."""
    current = os.path.abspath(path)
    while not os.path.lexists(current) and os.path.dirname(current) != current:
        current = os.path.dirname(current)
    return None if os.path.isdir(current) else current


def _flag_of_path(path: str, args, flags: dict) -> str | None:
    """The flag whose value is `path`, a folder holding it or a path inside it (the most
    specific one)."""
    target = os.path.abspath(path)
    found = []
    for dest, flag in flags.items():
        values = getattr(args, dest, None)
        for value in values if isinstance(values, list) else [values]:
            if not isinstance(value, str) or not value:
                continue
            value = os.path.abspath(value)
            if target == value or _inside(target, value) or _inside(value, target):
                found.append((len(value), flag))
    return max(found)[1] if found else None


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip(os.sep) + os.sep)


def _verbose(argv: list[str]) -> bool:
    """-v/--verbose before the command: known before the parser (which loads TensorFlow)."""
    for token in argv:
        if not token.startswith("-"):
            return False
        if token in VERBOSE_FLAGS:
            return True
    return False


def needs_tensorflow(args) -> bool:
    """Whether the command parsed loads TensorFlow (then it is loaded here, while its C++
    start-up lines are muted). A command that never does says so with
    `set_defaults(needs_tensorflow=False)`, or a function of the parsed arguments when that
    depends on its flags."""
    needs = getattr(args, "needs_tensorflow", True)
    return needs(args) if callable(needs) else needs


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = _verbose(argv)
    if not verbose:
        quiet_libraries()
    with contextlib.nullcontext() if verbose else native_stderr_muted():
        # --help, --version and bad flags end here, before TensorFlow loads (a flag's
        # choices may load it, inside this block too).
        args = build_parser().parse_args(argv)
        if needs_tensorflow(args):
            import tensorflow  # noqa: F401  (its C++ start-up lines are written as it loads)

            if not verbose:
                quiet_progress_bars()
        logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
        return _run(args)


def _training_stops(args) -> tuple:
    """fault_tolerance's NonFiniteLossError and TrainingInterrupted; for a command that loads
    no TensorFlow, nothing (`except ()` catches nothing): only training raises them, and
    fault_tolerance imports Keras."""
    if not needs_tensorflow(args):
        return (), ()
    from tfcreative.fault_tolerance import NonFiniteLossError, TrainingInterrupted

    return NonFiniteLossError, TrainingInterrupted


def _run(args) -> int:
    non_finite_loss, training_interrupted = _training_stops(args)
    try:
        return args.handler(args)
    except non_finite_loss as error:
        print(f"tfcreative: {error}", file=sys.stderr)
        return 1
    except training_interrupted as interrupt:
        where = f": weights saved to {interrupt.checkpoint}" if interrupt.checkpoint else ""
        print(f"tfcreative: interrupted{where}; run the same command again to resume from the "
              "last finished epoch", file=sys.stderr)
        return 130
    except (CommandError, ValueError, OSError) as error:
        if isinstance(error, OSError) and error.filename is None \
                and not isinstance(error, (FileNotFoundError, FileExistsError)):
            raise  # not about a path we were given (a socket, ...): not bad input
        # Bad input: say what was wrong, without a traceback.
        print(f"tfcreative: error: {_message(error, args)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tfcreative: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
