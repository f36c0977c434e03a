"""`tfcreative quickstart`: the README's main job, on the bundled data, in a few CPU minutes.

Trains a small music LSTM on the bundled Irish folk corpus, generates tunes, writes .abc and
.mid files and prints their validity next to the corpus's.
"""

from __future__ import annotations

import os

QUICKSTART_MUSIC = {"embedding_dim": 64, "lstm_units": 256, "seq_length": 100,
                    "batch_size": 32, "learning_rate": 5e-3, "epochs": 1000}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "quickstart", help="train a small model on the bundled data and generate samples",
        description="Train a small music LSTM on the bundled Irish folk tunes for a few "
                    "minutes on CPU, then generate tunes as .abc and .mid files.",
        formatter_class=lambda prog: __import__("argparse").ArgumentDefaultsHelpFormatter(prog))
    p.add_argument("--run-dir", default=os.path.join("runs", "quickstart"),
                   help="output directory (music/ holds the model, logs and tunes/)")
    p.add_argument("--minutes", type=float, default=3.0, help="training time for the model")
    p.add_argument("--num-tunes", type=int, default=5, help="tunes to generate")
    p.add_argument("--data-dir", default=None, help="TFDS data directory")
    p.set_defaults(handler=run)


def run(args) -> int:
    from tfcreative.music import TuneSampler
    from tfcreative.music.config import MusicTrainConfig
    from tfcreative.music.evaluation import format_reports, validity_report
    from tfcreative.music.output import write_tunes
    from tfcreative.music.training import train

    music_dir = os.path.join(args.run_dir, "music")
    print(f"== Music: training a small LSTM on the bundled Irish folk tunes for "
          f"{args.minutes:g} min ({music_dir})")
    config = MusicTrainConfig(**QUICKSTART_MUSIC, minutes=args.minutes)
    model = train(music_dir, config, data_dir=args.data_dir, verbose=2)
    # 0.8: a small model writes noticeably more valid ABC a little below temperature 1.
    tunes = TuneSampler(model).generate(num_tunes=args.num_tunes, temperature=0.8, seed=0)
    print(f"\n== Music: {len(tunes)} generated tunes (temperature 0.8, seeds 0..)")
    write_tunes(tunes, os.path.join(music_dir, "tunes"))
    print("\n" + format_reports({"generated": validity_report(
        [t.abc for t in tunes], [t.complete for t in tunes])}))
    print(f"\nFirst tune:\n{tunes[0].abc}\n\nModel: {music_dir}/model.keras — more tunes with "
          f"`tfcreative music generate --model {music_dir}`")
    return 0
