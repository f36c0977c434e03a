"""`tfcreative`: the command, its exit statuses, and bad input reported in one line.

Exit status: 0 done; 1 training stopped on a NaN/Inf loss; 2 bad input (a message naming the
flag or file and what was expected, never a traceback); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys

from tfcreative import __version__
from tfcreative.cli.common import (
    CommandError,
    native_stderr_muted,
    quiet_libraries,
    quiet_progress_bars,
)
from tfcreative.errors import FinishedRun, InvalidArgument, WrongModelType

VERBOSE_FLAGS = ("-v", "--verbose")


def build_parser() -> argparse.ArgumentParser:
    # No TensorFlow import here: flags whose choices come from the library read them when a
    # value is checked or their --help is printed (common.LazyChoices).
    from tfcreative.cli import export, music, pix2pix, quickstart, serve

    parser = argparse.ArgumentParser(
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


def _message(error: Exception, flags: dict) -> str:
    """A library error in the command line's terms: its argument becomes the flag that fed it."""
    message = str(error)
    if isinstance(error, InvalidArgument) and error.argument in flags:
        message = f"{flags[error.argument]}: {error.detail}"
    if isinstance(error, WrongModelType) and error.found in COMMANDS_FOR_MODEL:
        message += f"; use it with `{COMMANDS_FOR_MODEL[error.found]}`"
    if isinstance(error, FinishedRun) and flags.get("path") == "--from-model":
        message += f"; to train it further: --from-model {error.run_dir} --run-dir <a new folder>"
    return message


def _verbose(argv: list[str]) -> bool:
    """-v/--verbose before the command: known before the parser (which loads TensorFlow)."""
    for token in argv:
        if not token.startswith("-"):
            return False
        if token in VERBOSE_FLAGS:
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = _verbose(argv)
    if not verbose:
        quiet_libraries()
    with contextlib.nullcontext() if verbose else native_stderr_muted():
        # --help, --version and bad flags end here, before TensorFlow loads (a flag's
        # choices may load it, inside this block too).
        args = build_parser().parse_args(argv)
        import tensorflow  # noqa: F401  (its C++ start-up lines are written as it loads)

        if not verbose:
            quiet_progress_bars()
        logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
        return _run(args)


def _run(args) -> int:
    from tfcreative.fault_tolerance import NonFiniteLossError, TrainingInterrupted

    try:
        return args.handler(args)
    except NonFiniteLossError as error:
        print(f"tfcreative: {error}", file=sys.stderr)
        return 1
    except TrainingInterrupted as interrupt:
        where = f": weights saved to {interrupt.checkpoint}" if interrupt.checkpoint else ""
        print(f"tfcreative: interrupted{where}; run the same command again to resume from the "
              "last finished epoch", file=sys.stderr)
        return 130
    except (CommandError, ValueError, FileNotFoundError, FileExistsError) as error:
        # Bad input: say what was wrong, without a traceback.
        print(f"tfcreative: error: {_message(error, getattr(args, 'flags', {}))}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tfcreative: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
