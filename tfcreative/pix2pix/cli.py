"""`tfcreative pix2pix train | translate | evaluate`."""

from __future__ import annotations

import dataclasses
import json
import os
import time

from tfcreative.cli import add_strategy_argument, help_formatter

DATASETS = ("synthetic_facades", "facades", "cityscapes", "maps", "edges2shoes",
            "edges2handbags", "night2day")


def add_parser(subparsers) -> None:
    p2p = subparsers.add_parser(
        "pix2pix", help="image-to-image translation with a conditional GAN (Pix2Pix)",
        description="Train Pix2Pix (U-Net + PatchGAN), translate images, evaluate.")
    commands = p2p.add_subparsers(dest="pix2pix_command", required=True, metavar="COMMAND")
    _add_train(commands)
    _add_translate(commands)
    _add_evaluate(commands)


def _add_data_flags(parser) -> None:
    parser.add_argument("--dataset", default="synthetic_facades", choices=DATASETS,
                        help="TFDS config pix2pix/<name>: synthetic_facades is generated "
                             "offline; the others download the paper's archives")
    parser.add_argument("--pairs", metavar="DIR", default=None,
                        help="your own pairs instead (pix2pix/manual): A/ and B/ folders with "
                             "matching names, or side-by-side A|B images; optional train/, "
                             "val/, test/ subfolders")
    parser.add_argument("--data-dir", default=None,
                        help="TFDS data directory (default: TFDS's own, ~/tensorflow_datasets)")


def _add_train(commands) -> None:
    from tfcreative.pix2pix.config import Pix2PixTrainConfig

    d = Pix2PixTrainConfig()
    p = commands.add_parser("train", help="train with model.fit", formatter_class=help_formatter,
                            description="Train Pix2Pix. Defaults follow the paper.")
    p.add_argument("--run-dir", default=None,
                   help="where model.keras, checkpoints/, logs/, samples/ and history.csv go "
                        "(default: runs/pix2pix-<date>-<time>)")
    _add_data_flags(p)
    p.add_argument("--image-size", type=int, default=d.image_size,
                   help="training resolution, a power of two (images are resized)")
    p.add_argument("--ngf", type=int, default=d.ngf, help="generator base filters")
    p.add_argument("--ndf", type=int, default=d.ndf, help="discriminator base filters")
    p.add_argument("--n-layers", type=int, default=d.n_layers,
                   help="PatchGAN layers (3: 70x70 patches)")
    p.add_argument("--norm", default=d.norm, choices=("batch", "sync_batch", "instance", "none"),
                   help="normalisation in both networks; sync_batch: batch statistics over the "
                        "global batch under tf.distribute (see README)")
    p.add_argument("--dropout", type=float, default=d.dropout,
                   help="dropout on the first three generator decoder layers (0: none)")
    p.add_argument("--lambda-l1", type=float, default=d.lambda_l1, help="weight of the L1 term")
    p.add_argument("--l1-only", dest="adversarial", action="store_false",
                   help="train the generator on L1 alone (the paper's baseline)")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="global batch size")
    p.add_argument("--learning-rate", type=float, default=d.learning_rate,
                   help="Adam step size (both networks)")
    p.add_argument("--beta-1", type=float, default=d.beta_1, help="Adam beta_1")
    p.add_argument("--epochs", type=int, default=d.epochs, help="training epochs")
    p.add_argument("--steps-per-epoch", type=int, default=None,
                   help="batches per epoch (default: one pass over the training pairs)")
    p.add_argument("--minutes", type=float, default=None,
                   help="stop after this many minutes of training")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed")
    add_strategy_argument(p, d.strategy)
    p.add_argument("--from-model", default=None, metavar="PATH",
                   help="continue training this .keras model or run directory")
    p.set_defaults(handler=_train)


def _add_translate(commands) -> None:
    p = commands.add_parser(
        "translate", formatter_class=help_formatter, help="translate an image or a folder",
        description="Translate images of any size and mode (grey, RGBA over white, 16-bit) "
                    "with a trained generator; outputs are PNGs at the input's size.")
    p.add_argument("--model", required=True, help="a .keras file or a run directory")
    p.add_argument("inputs", nargs="+", help="image files or folders of images")
    p.add_argument("--out-dir", default="translated", help="where <name>.png outputs go")
    p.set_defaults(handler=_translate)


def _add_evaluate(commands) -> None:
    p = commands.add_parser(
        "evaluate", formatter_class=help_formatter,
        help="L1, PSNR, SSIM and sharpness on held-out pairs",
        description="L1, PSNR, SSIM and a sharpness ratio (high-frequency energy of outputs / "
                    "targets) on the test split; give several --model to compare them.")
    p.add_argument("--model", required=True, action="append",
                   help="a .keras file or run directory; repeat to compare models")
    _add_data_flags(p)
    p.add_argument("--json", default=None, metavar="PATH", help="also write the numbers here")
    p.add_argument("--grid", default=None, metavar="PNG",
                   help="also write a grid of the first --grid-rows test pairs: input | each "
                        "model's output | target")
    p.add_argument("--grid-rows", type=int, default=4, help="rows of the --grid image")
    p.set_defaults(handler=_evaluate)


def load_model(path: str):
    """Loads a Pix2Pix model from a .keras file or a run directory."""
    from tfcreative.pix2pix.model import Pix2Pix
    from tfcreative.saving import load_model_of_type

    return load_model_of_type(path, Pix2Pix)


def _train(args) -> int:
    from tfcreative.distribute import make_strategy
    from tfcreative.pix2pix.config import Pix2PixTrainConfig
    from tfcreative.pix2pix.training import train

    fields = {f.name for f in dataclasses.fields(Pix2PixTrainConfig)}
    config = Pix2PixTrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
    run_dir = args.run_dir or os.path.join("runs", time.strftime("pix2pix-%Y%m%d-%H%M%S"))
    strategy = make_strategy(config.strategy)
    model = None
    if args.from_model:
        with strategy.scope():
            model = load_model(args.from_model)
    train(run_dir, config, dataset=args.dataset, manual_dir=args.pairs,
          data_dir=args.data_dir, model=model, strategy=strategy)
    print(f"\nModel: {os.path.join(run_dir, 'model.keras')}\n"
          f"Samples: {os.path.join(run_dir, 'samples')}/\n"
          f"Translate: tfcreative pix2pix translate --model {run_dir} IMAGE...")
    return 0


def _translate(args) -> int:
    from tfcreative.pix2pix.translate import translate_paths

    model = load_model(args.model)
    for source, target in translate_paths(model, args.inputs, args.out_dir):
        print(f"{source} -> {target}")
    return 0


def _evaluate(args) -> int:
    import numpy as np

    from tfcreative.pix2pix import pipeline
    from tfcreative.pix2pix.evaluation import evaluate_generator, format_results

    builder = pipeline.prepare_builder(args.dataset, data_dir=args.data_dir,
                                       manual_dir=args.pairs)
    split = pipeline.held_out_split(builder)
    results, columns = {}, []
    for path in args.model:
        model = load_model(path)
        data = pipeline.make_test_dataset(builder, model.image_size, batch_size=8, split=split)
        name = os.path.basename(os.path.normpath(path))
        results[name if name not in results else path] = evaluate_generator(model.generator,
                                                                            data)
        if args.grid:
            inputs, targets = next(iter(pipeline.make_test_dataset(
                builder, model.image_size, args.grid_rows, split, cache=False)))
            columns.append(model(inputs, training=False))
    print(f"{builder.name}/{builder.builder_config.name}, split {split}:")
    print(format_results(results))
    if args.grid:
        from tfcreative.pix2pix.images import to_uint8, write_png

        if len({c.shape for c in columns}) > 1:
            raise ValueError("--grid needs models of the same image size")
        panels = [inputs, *columns, targets]
        write_png(args.grid, np.concatenate(
            [np.concatenate([to_uint8(p[i]) for p in panels], axis=1)
             for i in range(int(inputs.shape[0]))], axis=0))
        print(f"grid (input | {' | '.join(results)} | target): {args.grid}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0
