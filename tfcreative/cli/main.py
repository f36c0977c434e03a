"""`tfcreative`: the command, its exit statuses, and bad input reported in one line.

Exit status: 0 done; 1 training stopped on a NaN/Inf loss; 2 bad input (a message naming the
flag or file and what was expected, never a traceback); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import logging
import sys

from tfcreative import __version__
from tfcreative.cli import export, music, pix2pix, quickstart, serve
from tfcreative.cli.common import CommandError
from tfcreative.errors import InvalidArgument


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tfcreative",
        description="Train, sample and ship generative models for music and images (Keras 3).",
    )
    parser.add_argument("--version", action="version", version=f"tfcreative {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log INFO messages")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (music, pix2pix, export, serve, quickstart):
        command.add_parser(subparsers)
    return parser


def _message(error: Exception, flags: dict) -> str:
    """A library error in the command line's terms: its argument becomes the flag that fed it."""
    if isinstance(error, InvalidArgument) and error.argument in flags:
        return f"{flags[error.argument]}: {error.detail}"
    return str(error)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
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
