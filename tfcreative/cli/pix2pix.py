"""`tfcreative pix2pix train | translate | evaluate`."""

from __future__ import annotations

import argparse
import os

from tfcreative.cli.common import (
    COUNT,
    FRACTION,
    SEED,
    LazyChoices,
    add_flag,
    add_training_flags,
    checked_path,
    help_formatter,
    integer,
    real,
    train_command,
)
from tfcreative.pix2pix.config import (
    DEFAULT_DATASET,
    DEFAULT_PRESET,
    DIRECTIONS,
    DISCRIMINATORS,
    GAN_MODES,
    NORMS,
    PAPER,
    image_shape,
    unet_depth,
)


def add_parser(subparsers) -> None:
    p2p = subparsers.add_parser(
        "pix2pix", help="image-to-image translation with a conditional GAN (Pix2Pix)",
        description="Train Pix2Pix (U-Net + PatchGAN), translate images, evaluate.")
    commands = p2p.add_subparsers(dest="pix2pix_command", required=True, metavar="COMMAND")
    _add_train(commands)
    _add_translate(commands)
    _add_evaluate(commands)


def _image_size(text: str):
    """--image-size 256 or 256x512 -> 256 or (256, 512), a size the U-Net can take."""
    try:
        height, width = image_shape(text)
        unet_depth((height, width))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("image_size: ")) from None
    return height if height == width else (height, width)


def _add_direction_flag(parser) -> None:
    add_flag(parser, "--direction", default=None, choices=DIRECTIONS,
             help="which half of each pair is the input: A (the left half, or the A/ folder) "
                  "or B. Default: the data set's own (the paper's direction for its data "
                  "sets, e.g. facades BtoA: label map -> photo; AtoB for your pairs and "
                  "synthetic_facades)")


def _datasets():
    from tfcreative.pix2pix.pipeline import DATASETS

    return DATASETS


def _transforms():
    from tfcreative.datasets.pix2pix.photo_transforms import TRANSFORMS

    return (*TRANSFORMS, *(f"photos_{name}" for name in TRANSFORMS))


def _add_data_flags(parser) -> None:
    add_flag(parser, "--dataset", default=DEFAULT_DATASET, choices=LazyChoices(_datasets),
             metavar="NAME",
             help="TFDS config pix2pix/NAME (%(choices)s): synthetic_facades is generated "
                  "offline; the others download the paper's archives")
    add_flag(parser, "--pairs", argument="manual_dir", metavar="DIR", type=checked_path,
             default=None,
             help="your own pairs instead (pix2pix/manual): A/ and B/ folders with matching "
                  "names, or side-by-side A|B images; optional train/, val/, test/ subfolders")
    add_flag(parser, "--photos", argument="photos_dir", metavar="DIR", type=checked_path,
             default=None,
             help="your photos instead (pix2pix/photos_<transform>): any sizes and aspect "
                  "ratios; each input is made from its photo by --transform; optional train/, "
                  "val/, test/ subfolders")
    add_flag(parser, "--transform", default="edges", choices=LazyChoices(_transforms),
             metavar="NAME",
             help="with --photos, what the model learns to undo (%(choices)s): edges -> "
                  "photo, sketch -> photo, grayscale -> colour, masked -> inpainting, "
                  "downscaled / blurred -> detail")
    add_flag(parser, "--strict", action="store_true",
             help="refuse a --pairs or --photos folder holding any file that would be "
                  "skipped (each is listed before anything is built)")
    add_flag(parser, "--data-dir", type=checked_path, default=None,
             help="TFDS data directory (default: TFDS's own, ~/tensorflow_datasets)")


def _add_train(commands) -> None:
    p = commands.add_parser("train", help="train with model.fit", formatter_class=help_formatter,
                            description="Train Pix2Pix. Defaults follow the paper.")
    _add_data_flags(p)
    _add_direction_flag(p)
    add_flag(p, "--image-size", type=_image_size, default=PAPER.image_size, metavar="N|HxW",
             help="training resolution: N for N×N, or HxW (e.g. 256x512) where the smaller side "
                  "is a power of two and the larger a multiple of it (images are resized)")
    add_flag(p, "--ngf", type=COUNT, default=PAPER.ngf, help="generator base filters")
    add_flag(p, "--ndf", type=COUNT, default=PAPER.ndf, help="discriminator base filters")
    add_flag(p, "--netd", default=PAPER.netd, choices=DISCRIMINATORS,
             help="discriminator: patch (PatchGAN of --n-layers) or pixel (1x1 PixelGAN)")
    add_flag(p, "--n-layers", type=COUNT, default=PAPER.n_layers,
             help="PatchGAN layers: 1 -> 16x16 patches, 3 -> 70x70, 5 -> 286x286")
    add_flag(p, "--unconditional", argument="conditional", action="store_false",
             help="the discriminator sees the output only, not the (input, output) pair (the "
                  "paper's L1 + GAN ablation)")
    add_flag(p, "--gan-mode", default=PAPER.gan_mode, choices=GAN_MODES,
             help="adversarial loss: vanilla (cross-entropy, the paper's) or lsgan (least "
                  "squares)")
    add_flag(p, "--norm", default=PAPER.norm, choices=NORMS,
             help="normalisation in both networks; sync_batch: batch statistics over the "
                  "global batch under tf.distribute (see docs/distributed_training.md)")
    add_flag(p, "--dropout", type=FRACTION, default=PAPER.dropout,
             help="dropout on the first three generator decoder layers, in [0, 1) (0: none)")
    add_flag(p, "--lambda-l1", type=real(0), default=PAPER.lambda_l1,
             help="weight of the L1 term, >= 0 (0: the cGAN-only ablation)")
    add_flag(p, "--l1-only", argument="adversarial", action="store_false",
             help="train the generator on L1 alone (the paper's baseline)")
    add_flag(p, "--beta-1", type=FRACTION, default=PAPER.beta_1, help="Adam beta_1, in [0, 1)")
    add_training_flags(p, PAPER, "pix2pix", ("--image-size", "--ngf", "--ndf"))
    add_flag(p, "--epochs-decay", type=integer(0), default=PAPER.epochs_decay,
             help="after --epochs at the full learning rate, this many more with the rate "
                  "falling linearly towards zero (junyanz's --n_epochs_decay)")
    p.set_defaults(handler=_train)


def _add_translate(commands) -> None:
    p = commands.add_parser(
        "translate", formatter_class=help_formatter, help="translate an image or a folder",
        description="Translate images of any size and mode (grey, RGBA over white, 16-bit) "
                    "with a trained generator; outputs are PNGs at the input's size (in tiles "
                    "at the image's own scale for models trained on --photos).")
    add_flag(p, "--model", argument="path", type=checked_path, default=DEFAULT_PRESET,
             help="a .keras file, a run directory or a preset's name (default: "
                  f"{DEFAULT_PRESET}, the label map -> facade model shipped with the package)")
    p.add_argument("inputs", nargs="+", type=checked_path,
                   help="image files or folders of images")
    add_flag(p, "--out-dir", type=checked_path, default="translated",
             help="where <name>.png outputs go")
    add_flag(p, "--tiles", argument="tiling", action=argparse.BooleanOptionalAction,
             default=None,
             help="--tiles: overlapping tiles of the model's size at the image's own scale, "
                  "blended at the seams; --no-tiles: each image resized to the model's size "
                  "and back. Default: as the model was trained (tiles for --photos models)")
    add_flag(p, "--transform", default=None, choices=LazyChoices(_transforms), metavar="NAME",
             help="the inputs are photos: make the model's input from each by this transform "
                  "first (%(choices)s), e.g. edges for a model trained with --photos ... "
                  "--transform edges")
    _add_paper_inference_flag(p)
    p.set_defaults(handler=_translate,
                   needs_tensorflow=lambda args: not translates_on_numpy(args))


def _add_paper_inference_flag(parser) -> None:
    add_flag(parser, "--paper-inference", action="store_true",
             help="run the generator as the paper did at test time: dropout on and each batch "
                  "normalised with its own statistics (outputs vary with --seed)")
    add_flag(parser, "--seed", type=SEED, default=0,
             help="random seed of --paper-inference's dropout")


def _add_evaluate(commands) -> None:
    p = commands.add_parser(
        "evaluate", formatter_class=help_formatter,
        help="L1, PSNR, SSIM and sharpness on the test pairs",
        description="L1, PSNR, SSIM and a sharpness ratio (high-frequency energy of outputs / "
                    "targets) on the test split, which training never reads (checkpoints are "
                    "chosen on the validation split), and with --fcn-score the paper's "
                    "FCN-score; give several --model to compare them. Pairs made from --photos "
                    "add their task's numbers (edges, sketch: the output's lines against the "
                    "input's; grayscale: colourfulness and Lab a/b error).")
    add_flag(p, "--model", argument="path", type=checked_path, required=True, action="append",
             help="a .keras file or run directory; repeat to compare models")
    p.set_defaults(flags={**p.get_default("flags"), "paths": "--model"})  # evaluate_models'
    _add_data_flags(p)
    _add_direction_flag(p)
    add_flag(p, "--json", type=checked_path, default=None, metavar="PATH",
             help="also write the numbers here")
    add_flag(p, "--grid", type=checked_path, default=None, metavar="PNG",
             help="also write a grid of the first --grid-rows test pairs: input | each "
                  "model's output | target")
    add_flag(p, "--grid-rows", type=COUNT, default=4, help="rows of the --grid image")
    add_flag(p, "--fcn-score", action="store_true",
             help="also the FCN-score (Isola et al., Table 1): how well a segmentation network "
                  "trained on the real training photos recovers the input label maps from "
                  "each model's outputs (per-pixel and per-class accuracy, class IoU), with a "
                  "'real photos' column as the ceiling; the segmenter trains once per data set "
                  "and size (a few minutes) and is cached beside the data")
    add_flag(p, "--input-baseline", action="store_true",
             help="also a column for the trivial baseline: the input itself as the output")
    _add_paper_inference_flag(p)
    p.set_defaults(handler=_evaluate)


def _train(args) -> int:
    from tfcreative.pix2pix import load_model
    from tfcreative.pix2pix.config import Pix2PixTrainConfig
    from tfcreative.pix2pix.training import train

    def next_steps(run_dir):
        return (f"\nModel: {os.path.join(run_dir, 'model.keras')}\n"
                f"Samples: {os.path.join(run_dir, 'samples')}/\n"
                f"Translate: tfcreative pix2pix translate --model {run_dir} IMAGE...")

    data = {"dataset": args.dataset, "manual_dir": args.manual_dir, "data_dir": args.data_dir,
            "photos_dir": args.photos_dir, "transform": args.transform, "strict": args.strict}
    return train_command(args, Pix2PixTrainConfig, train, load_model, "pix2pix", data,
                         next_steps)


def translates_on_numpy(args) -> bool:
    """Whether `translate` runs without TensorFlow (pix2pix.translation_model: a preset, in
    inference mode, its inputs given as they are: --transform's photo transforms load TFDS)."""
    from tfcreative.pix2pix.translation_model import runs_on_numpy

    return args.transform is None and runs_on_numpy(args.path, args.paper_inference)


def _translate(args) -> int:
    from tfcreative.pix2pix.translation_model import load_for_translation

    if not translates_on_numpy(args):
        import keras

        keras.utils.set_random_seed(args.seed)  # before loading: dropout's seed state is made
    model = load_for_translation(args.path, args.paper_inference)  # (before NumPy loads)
    from tfcreative.pix2pix.translate import translate_paths

    for source, target in translate_paths(model, args.inputs, args.out_dir,
                                          args.paper_inference, args.tiling, args.transform):
        print(f"{source} -> {target}")
    return 0


def _evaluate(args) -> int:
    from tfcreative.pix2pix.evaluation import evaluate_models
    from tfcreative.pix2pix.images import write_png

    evaluation = evaluate_models(
        args.path, dataset=args.dataset, manual_dir=args.manual_dir, data_dir=args.data_dir,
        photos_dir=args.photos_dir, transform=args.transform, strict=args.strict,
        direction=args.direction, paper_inference=args.paper_inference, seed=args.seed,
        fcn_score=args.fcn_score, grid_rows=args.grid_rows if args.grid else 0,
        input_baseline=args.input_baseline)
    print(evaluation.table())
    if args.grid:
        write_png(args.grid, evaluation.grid)
        print(f"grid ({' | '.join(evaluation.grid_titles)}): {args.grid}")
    if args.json:
        evaluation.write_json(args.json)
    return 0
