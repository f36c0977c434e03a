"""`tfcreative music train | generate | evaluate`."""

from __future__ import annotations

import dataclasses
import json
import os
import time

from tfcreative.cli import add_strategy_argument, help_formatter

DEFAULTS_NOTE = "Defaults follow the MIT 6.S191 course configuration."


def add_parser(subparsers) -> None:
    music = subparsers.add_parser(
        "music", help="folk tunes in ABC notation with a character-level LSTM",
        description="Train a character-level LSTM on ABC tunes, generate tunes, evaluate.",
    )
    commands = music.add_subparsers(dest="music_command", required=True, metavar="COMMAND")
    _add_train(commands)
    _add_generate(commands)
    _add_evaluate(commands)


def _add_data_flags(parser) -> None:
    parser.add_argument("--abc", metavar="PATH", default=None,
                        help="your own tunes: a .abc file or a folder searched recursively for "
                             "*.abc (TFDS config abc_tunes/manual). Default: the bundled Irish "
                             "folk corpus (abc_tunes/irish_folk)")
    parser.add_argument("--data-dir", default=None,
                        help="TFDS data directory where the prepared dataset is stored "
                             "(default: TFDS's own, ~/tensorflow_datasets)")


def _add_sampling_flags(parser, num_tunes: int) -> None:
    parser.add_argument("--seed-text", default="X:1\\nT:",
                        help="text every tune starts with; \\n means a newline")
    parser.add_argument("--num-tunes", type=int, default=num_tunes,
                        help="tunes generated in parallel (one batch)")
    parser.add_argument("--max-length", type=int, default=1000,
                        help="most characters generated after the seed text")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="softmax temperature: <1 is safer, >1 more adventurous")
    parser.add_argument("--top-k", type=int, default=0,
                        help="sample only among the k most likely characters (0: all)")
    parser.add_argument("--random-seed", type=int, default=0,
                        help="tune i uses random seed RANDOM_SEED+i, so runs are reproducible")


def _add_train(commands) -> None:
    from tfcreative.music.config import MusicTrainConfig

    d = MusicTrainConfig()
    p = commands.add_parser("train", help="train a model with model.fit",
                            description="Train a MusicLSTM. " + DEFAULTS_NOTE,
                            formatter_class=help_formatter)
    p.add_argument("--run-dir", default=None,
                   help="where model.keras, checkpoints/, logs/ (TensorBoard) and history.csv "
                        "go (default: runs/music-<date>-<time>)")
    _add_data_flags(p)
    p.add_argument("--embedding-dim", type=int, default=d.embedding_dim, help="embedding size")
    p.add_argument("--lstm-units", type=int, default=d.lstm_units, help="units per LSTM layer")
    p.add_argument("--num-layers", type=int, default=d.num_layers, help="stacked LSTM layers")
    p.add_argument("--dropout", type=float, default=d.dropout, help="dropout on LSTM inputs")
    p.add_argument("--seq-length", type=int, default=d.seq_length,
                   help="characters per training window")
    p.add_argument("--batch-size", type=int, default=d.batch_size,
                   help="global batch size (split across replicas under tf.distribute)")
    p.add_argument("--learning-rate", type=float, default=d.learning_rate, help="Adam step size")
    p.add_argument("--epochs", type=int, default=d.epochs, help="training epochs")
    p.add_argument("--steps-per-epoch", type=int, default=None,
                   help="batches per epoch (default: one pass over the training windows)")
    p.add_argument("--minutes", type=float, default=None,
                   help="stop after this many minutes of training, mid-epoch if need be")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (weights, shuffling)")
    add_strategy_argument(p, d.strategy)
    p.add_argument("--from-model", default=None, metavar="PATH",
                   help="continue training this .keras model or run directory instead of "
                        "starting from scratch (its architecture and vocabulary are kept)")
    p.set_defaults(handler=_train)


def _add_generate(commands) -> None:
    p = commands.add_parser("generate", help="generate tunes as .abc and .mid files",
                            description="Generate tunes from a trained model.",
                            formatter_class=help_formatter)
    p.add_argument("--model", required=True, help="a .keras file or a run directory")
    p.add_argument("--out-dir", default=None,
                   help="where tune_NN.abc/.mid go (default: <run dir>/tunes, or ./tunes)")
    _add_sampling_flags(p, num_tunes=5)
    p.add_argument("--no-midi", action="store_true", help="write .abc files only")
    p.set_defaults(handler=_generate)


def _add_evaluate(commands) -> None:
    p = commands.add_parser(
        "evaluate", help="held-out loss and validity of generated tunes vs the corpus",
        description="Validation loss / bits-per-character on held-out tunes, and the validity "
                    "of generated tunes (headers, abc2midi parse, bars vs meter) next to the "
                    "same numbers for the real corpus.",
        formatter_class=help_formatter)
    p.add_argument("--model", required=True, help="a .keras file or a run directory")
    _add_data_flags(p)
    p.add_argument("--seq-length", type=int, default=100, help="window length for the loss")
    p.add_argument("--batch-size", type=int, default=8, help="batch size for the loss")
    _add_sampling_flags(p, num_tunes=50)
    p.add_argument("--json", default=None, metavar="PATH", help="also write the numbers here")
    p.set_defaults(handler=_evaluate)


def _seed_text(args) -> str:
    return args.seed_text.replace("\\n", "\n")


def _train(args) -> int:
    from tfcreative.distribute import make_strategy
    from tfcreative.music import load_model
    from tfcreative.music.config import MusicTrainConfig
    from tfcreative.music.training import train

    fields = {f.name for f in dataclasses.fields(MusicTrainConfig)}
    config = MusicTrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
    run_dir = args.run_dir or os.path.join("runs", time.strftime("music-%Y%m%d-%H%M%S"))
    strategy = make_strategy(config.strategy)
    model = None
    if args.from_model:
        with strategy.scope():
            model = load_model(args.from_model)
    train(run_dir, config, abc_path=args.abc, data_dir=args.data_dir, model=model,
          strategy=strategy)
    print(f"\nModel: {os.path.join(run_dir, 'model.keras')}\n"
          f"TensorBoard: tensorboard --logdir {os.path.join(run_dir, 'logs')}\n"
          f"Generate: tfcreative music generate --model {run_dir}")
    return 0


def default_tunes_dir(model_path: str) -> str:
    return os.path.join(model_path, "tunes") if os.path.isdir(model_path) else "tunes"


def _generate(args) -> int:
    from tfcreative.music import TuneSampler, load_model
    from tfcreative.music.output import write_tunes

    sampler = TuneSampler(load_model(args.model))
    tunes = sampler.generate(_seed_text(args), num_tunes=args.num_tunes,
                             max_length=args.max_length, temperature=args.temperature,
                             top_k=args.top_k, seed=args.random_seed)
    out_dir = args.out_dir or default_tunes_dir(args.model)
    write_tunes(tunes, out_dir, midi=not args.no_midi)
    return 0


def _evaluate(args) -> int:
    from tfcreative.music import TuneSampler, load_model, pipeline
    from tfcreative.music.evaluation import format_reports, validation_loss, validity_report

    model = load_model(args.model)
    builder = pipeline.prepare_tune_builder(abc_path=args.abc, data_dir=args.data_dir)
    loss = validation_loss(model, builder, args.seq_length, args.batch_size)
    num_validation = builder.info.splits["validation"].num_examples
    print(f"Validation ({num_validation} held-out tunes): loss {loss['loss']:.4f}, "
          f"bits/char {loss['bits_per_char']:.4f}")

    tunes = TuneSampler(model).generate(
        _seed_text(args), num_tunes=args.num_tunes, max_length=args.max_length,
        temperature=args.temperature, top_k=args.top_k, seed=args.random_seed)
    corpus = [t for split in builder.info.splits
              for t in pipeline.read_texts(pipeline.tune_texts(builder, split))]
    reports = {
        "generated": validity_report([t.abc for t in tunes], [t.complete for t in tunes]),
        "corpus": validity_report(corpus),
    }
    print(format_reports(reports))
    if reports["generated"].parses is None:
        from tfcreative.music.abc2midi import INSTALL_HINT

        print(f"(parser columns need abc2midi: {INSTALL_HINT})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"validation": loss,
                       **{k: dataclasses.asdict(v) for k, v in reports.items()}}, f, indent=2)
    return 0
