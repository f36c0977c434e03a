"""The `tfcreative` command: `tfcreative music ...`, `tfcreative quickstart`."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from tfcreative import __version__


def help_formatter(prog):
    """--help shows every flag's default."""
    return argparse.ArgumentDefaultsHelpFormatter(prog, max_help_position=32)


def add_strategy_argument(parser, default: str) -> None:
    """`--strategy` for the trainers (parsed by tfcreative.distribute.make_strategy)."""
    parser.add_argument("--strategy", default=default, metavar="NAME",
                        help="tf.distribute strategy: default (one device), mirrored (all local "
                             "GPUs/CPU), multi_worker (MultiWorkerMirroredStrategy from "
                             "TF_CONFIG), tpu or tpu:NAME (TPUStrategy)")


def build_parser() -> argparse.ArgumentParser:
    from tfcreative import quickstart, serve
    from tfcreative.export import cli as export_cli
    from tfcreative.music import cli as music_cli
    from tfcreative.pix2pix import cli as pix2pix_cli

    parser = argparse.ArgumentParser(
        prog="tfcreative",
        description="Train, sample and ship generative models for music and images (Keras 3).",
    )
    parser.add_argument("--version", action="version", version=f"tfcreative {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log INFO messages")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    music_cli.add_parser(subparsers)
    pix2pix_cli.add_parser(subparsers)
    export_cli.add_parser(subparsers)
    serve.add_parser(subparsers)
    quickstart.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's C++ start-up noise
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
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        # Bad input: say what was wrong, without a traceback.
        print(f"tfcreative: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tfcreative: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
