"""`tfcreative export`: a trained model -> SavedModel for TF Serving, or a TF.js graph model."""

from __future__ import annotations

import os

from tfcreative.cli.common import (
    COUNT,
    CommandError,
    LazyChoices,
    add_flag,
    checked_path,
    folder_name,
    help_formatter,
)


def _quantizations():
    from tfcreative.export.tfjs import QUANTIZATIONS

    return QUANTIZATIONS


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="export a trained model for TF Serving (SavedModel) or TF.js",
        formatter_class=help_formatter,
        description="savedmodel: write <base-dir>/<name>/<version>/ (saved_model.pb, "
                    "variables/, assets.extra/ with TF Serving's warm-up requests), the layout "
                    "TF Serving watches. tfjs: write a TF.js graph model folder (model.json, "
                    "weight shards, tfcreative.json) to --out-dir. Output folders appear "
                    "atomically.")
    add_flag(p, "--model", argument="path", type=checked_path, required=True,
             help="a music or pix2pix .keras file or run directory")
    add_flag(p, "--format", default="savedmodel", choices=("savedmodel", "tfjs"),
             help="export format")
    add_flag(p, "--base-dir", type=checked_path, default="exported",
             help="TF Serving model base directory")
    add_flag(p, "--out-dir", type=checked_path, default=None,
             help="tfjs: the model folder to create (default: <base-dir>/tfjs/<name>)")
    add_flag(p, "--quantize", argument="quantization", default="float32",
             choices=LazyChoices(_quantizations), metavar="PRECISION",
             help="tfjs: weight precision, %(choices)s (float16 halves the download, uint8 "
                  "quarters)")
    add_flag(p, "--name", type=folder_name, default=None,
             help="model name (folder under --base-dir; default: music or pix2pix)")
    add_flag(p, "--version", type=COUNT, default=None,
             help="version number, 1 to 2^63-1 (TF Serving's int64; default: one more than "
                  "the highest present)")
    p.set_defaults(handler=_export)


def _export(args) -> int:
    from tfcreative.export.saved_model import check_base_dir, export_saved_model, serving_graph
    from tfcreative.saving import load_keras_model

    if args.name and args.format == "savedmodel":
        model_dir = os.path.join(args.base_dir, args.name)
        if os.path.lexists(model_dir) and not os.path.isdir(model_dir):
            raise CommandError(f"--name: {model_dir} exists and is not a folder (model NAME's "
                               "versions go in the folder --base-dir/NAME): choose another name")
    model = load_keras_model(args.path)
    if args.format == "tfjs":
        from tfcreative.export.tfjs import export_tfjs, model_size_bytes

        if args.out_dir is None:
            check_base_dir(args.base_dir)
        name = args.name or serving_graph(model).name
        out_dir = args.out_dir or os.path.join(args.base_dir, "tfjs", name)
        path = export_tfjs(model, out_dir, quantization=args.quantization)
        print(f"TF.js graph model: {path} ({model_size_bytes(path) / 1e6:.2f} MB, "
              f"{args.quantization})")
        return 0
    path = export_saved_model(model, args.base_dir, name=args.name, version=args.version)
    print(f"SavedModel: {path}\nInspect: saved_model_cli show --dir {path} --all")
    return 0
