"""`tfcreative export`: a trained model -> SavedModel for TF Serving."""

from __future__ import annotations

from tfcreative.cli import help_formatter


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="export a trained model as a SavedModel for TF Serving",
        formatter_class=help_formatter,
        description="Write <base-dir>/<name>/<version>/ (saved_model.pb + variables/), the "
                    "layout TF Serving watches. The version folder appears atomically.")
    p.add_argument("--model", required=True,
                   help="a music or pix2pix .keras file or run directory")
    p.add_argument("--format", default="savedmodel", choices=("savedmodel",),
                   help="export format")
    p.add_argument("--base-dir", default="exported", help="TF Serving model base directory")
    p.add_argument("--name", default=None,
                   help="model name (folder under --base-dir; default: music or pix2pix)")
    p.add_argument("--version", type=int, default=None,
                   help="version number (default: one more than the highest present)")
    p.set_defaults(handler=_export)


def _export(args) -> int:
    import keras

    import tfcreative.music.model  # noqa: F401  (registers the classes for loading)
    import tfcreative.pix2pix.model  # noqa: F401
    from tfcreative.export.saved_model import export_saved_model
    from tfcreative.saving import resolve_model_path

    model = keras.models.load_model(resolve_model_path(args.model))
    path = export_saved_model(model, args.base_dir, name=args.name, version=args.version)
    print(f"SavedModel: {path}\nInspect: saved_model_cli show --dir {path} --all")
    return 0
