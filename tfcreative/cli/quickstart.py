"""`tfcreative quickstart`: the README's main job, on the bundled data, in a few CPU minutes.

Music: trains a small LSTM on the bundled Irish folk corpus, generates tunes, writes .abc and
.mid files and prints their validity. Pix2Pix: trains a small model on the offline synthetic
facades, writes an input | output | target sample grid and prints test-set metrics.
"""

from __future__ import annotations

import dataclasses
import os

from tfcreative.cli.common import POSITIVE, add_flag, checked_path, help_formatter, integer
from tfcreative.music.config import MAX_NUM_TUNES


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "quickstart", help="train a small model on the bundled data and generate samples",
        description="Train a small music LSTM on the bundled Irish folk tunes for a few "
                    "minutes on CPU, then generate tunes as .abc and .mid files.",
        formatter_class=help_formatter)
    add_flag(p, "--run-dir", type=checked_path, default=os.path.join("runs", "quickstart"),
             help="output directory (music/ holds the model, logs and tunes/)")
    add_flag(p, "--minutes", type=POSITIVE, default=3.0, help="training time, music model")
    add_flag(p, "--pix2pix-minutes", type=POSITIVE, default=2.0,
             help="training time, pix2pix model")
    add_flag(p, "--only", choices=("music", "pix2pix"), default=None,
             help="run one of the two parts only")
    add_flag(p, "--num-tunes", type=integer(1, MAX_NUM_TUNES), default=5,
             help=f"tunes to generate (at most {MAX_NUM_TUNES:,})")
    add_flag(p, "--data-dir", type=checked_path, default=None, help="TFDS data directory")
    p.set_defaults(handler=run)


def run(args) -> int:
    if args.only != "pix2pix":
        run_music(args)
    if args.only != "music":
        run_pix2pix(args)
    return 0


def run_music(args) -> None:
    from tfcreative.music.config import DEFAULT_CONSTRAINT, QUICKSTART
    from tfcreative.music.evaluation import format_reports, validity_report
    from tfcreative.music.generation_model import sampler_for
    from tfcreative.music.output import write_tunes
    from tfcreative.music.training import train

    music_dir = os.path.join(args.run_dir, "music")
    print(f"== Music: training a small LSTM on the bundled Irish folk tunes for "
          f"{args.minutes:g} min ({music_dir})")
    config = dataclasses.replace(QUICKSTART, minutes=args.minutes)
    model = train(music_dir, config, data_dir=args.data_dir, verbose=2)
    # 0.8: a small model writes noticeably more valid ABC a little below temperature 1.
    tunes = sampler_for(model).generate(num_tunes=args.num_tunes, temperature=0.8, seed=0,
                                        constrain=DEFAULT_CONSTRAINT)
    print(f"\n== Music: {len(tunes)} generated tunes (temperature 0.8, seeds 0.., "
          f"{DEFAULT_CONSTRAINT}-aware sampling)")
    write_tunes(tunes, os.path.join(music_dir, "tunes"))
    print("\n" + format_reports({"generated": validity_report(
        [t.abc for t in tunes], [t.complete for t in tunes])}))
    print(f"\nFirst tune:\n{tunes[0].abc}\n\nModel: {music_dir}/model.keras — more tunes with "
          f"`tfcreative music generate --model {music_dir}`")


def run_pix2pix(args) -> None:
    from tfcreative.pix2pix import pipeline
    from tfcreative.pix2pix.config import QUICKSTART
    from tfcreative.pix2pix.evaluation import evaluate_generator, format_results
    from tfcreative.pix2pix.training import train

    p2p_dir = os.path.join(args.run_dir, "pix2pix")
    print(f"\n== Pix2Pix: training a small model on synthetic facades (label map -> photo) "
          f"for {args.pix2pix_minutes:g} min ({p2p_dir})")
    config = dataclasses.replace(QUICKSTART, minutes=args.pix2pix_minutes)
    model = train(p2p_dir, config, data_dir=args.data_dir, verbose=2)
    builder = pipeline.prepare_builder(data_dir=args.data_dir)
    test = pipeline.make_test_dataset(builder, model.image_size, batch_size=8,
                                      split=pipeline.splits(builder).test)
    print("\n" + format_results({"pix2pix": evaluate_generator(model.generator, test)}))
    grids = sorted(os.listdir(os.path.join(p2p_dir, "samples")))
    print(f"\nSample grid (input | output | target): "
          f"{os.path.join(p2p_dir, 'samples', grids[-1])}\nModel: {p2p_dir}/model.keras — "
          f"translate your own label maps with `tfcreative pix2pix translate --model {p2p_dir} "
          f"IMAGE...`")
