"""`tfcreative serve`: the in-browser demo page, your TF.js models and the browser libraries."""

from __future__ import annotations

import errno
import os
import socket

from tfcreative.cli.common import CommandError, add_flag, checked_path, help_formatter, integer
from tfcreative.music.config import DEFAULT_PRESET as MUSIC_PRESET
from tfcreative.pix2pix.config import DEFAULT_PRESET as PIX2PIX_PRESET
from tfcreative.serve import (
    NPM_INSTALL,
    make_server,
    missing_vendor_files,
    node_modules_versions,
    read_vendor_manifest,
)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "serve", help="serve the in-browser demo (static files only)",
        formatter_class=help_formatter,
        description="Serve the demo page, your exported TF.js models (--models: a folder with "
                    "music/ and pix2pix/ from `tfcreative export --format tfjs`) and the "
                    "browser libraries shipped in the package (TF.js, its WebAssembly "
                    "backend, abcjs).")
    add_flag(p, "--models", type=checked_path, default=None,
             help="folder holding the TF.js model folders music/ and pix2pix/ (`tfcreative "
                  "export --format tfjs`); default: the presets shipped in the package "
                  f"({MUSIC_PRESET}, {PIX2PIX_PRESET})")
    add_flag(p, "--host", default="127.0.0.1", help="address to bind (keep it local)")
    add_flag(p, "--port", type=integer(0, 65535), default=8000,
             help="port (0: any free port)")
    add_flag(p, "--node-modules", type=checked_path, default=None,
             help="development: serve @tensorflow/tfjs, @tensorflow/tfjs-backend-wasm "
                  "and abcjs from this node_modules instead of the copies shipped in "
                  "the package")
    p.set_defaults(handler=_serve, needs_tensorflow=False)


def _serve(args) -> int:
    if args.node_modules is None:
        versions = {library["name"]: library["version"]
                    for library in read_vendor_manifest()["libraries"]}
        source = "shipped in the package"
    else:
        missing = missing_vendor_files(args.node_modules)
        if missing:
            raise CommandError(f"--node-modules: {args.node_modules} lacks "
                               f"{', '.join(missing)}: run `{NPM_INSTALL}` there")
        versions = node_modules_versions(args.node_modules)
        source = f"from {args.node_modules}"
    if args.models is None:
        models = {"music": _preset_tfjs(MUSIC_PRESET), "pix2pix": _preset_tfjs(PIX2PIX_PRESET)}
        stand_ins = []
    elif not os.path.isdir(args.models):
        raise CommandError(f"--models: {args.models}: no such folder (export models with "
                           "`tfcreative export --format tfjs`)")
    else:
        models, stand_ins = models_in(args.models)
    server = _listen(args, models)
    host, port = server.server_address[:2]
    print(f"Serving the demo on http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    print(f"Browser libraries {source}: "
          + ", ".join(f"{name} {version}" for name, version in versions.items()), flush=True)
    for line in stand_ins:
        print(line, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _listen(args, models):
    """The server, listening; an address that cannot be had is one line naming its flag."""
    try:
        return make_server(args.host, args.port, models, args.node_modules)
    except OSError as error:
        if isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL:
            raise CommandError(f"--host: {args.host}: {error.strerror}: expected an address "
                               "of this machine (127.0.0.1 by default)") from None
        raise CommandError(f"--port: {args.host}:{args.port}: {error.strerror}: expected a "
                           "free port (0 picks one)") from None


def models_in(folder: str) -> tuple[dict[str, str], list[str]]:
    """The TF.js models of a --models folder, {"music": ..., "pix2pix": ...}, and a line for
    each the folder lacks: the page needs both, so its preset stands in (e.g. you exported
    only your pix2pix model)."""
    presets = {"music": MUSIC_PRESET, "pix2pix": PIX2PIX_PRESET}
    missing = [name for name in presets if not os.path.isdir(os.path.join(folder, name))]
    if len(missing) == len(presets):
        raise CommandError(f"--models: {folder}: holds neither music/ nor pix2pix/ (export "
                           f"a model with `tfcreative export --format tfjs --out-dir "
                           f"{os.path.join(folder, 'pix2pix')}`)")
    models = {name: _preset_tfjs(preset) if name in missing else os.path.join(folder, name)
              for name, preset in presets.items()}
    return models, [f"{name}: the {presets[name]} preset (--models has no {name}/)"
                    for name in missing]


def _preset_tfjs(name: str) -> str:
    from tfcreative import preset_files

    folder = os.path.join(preset_files.preset_folder(name), preset_files.TFJS)
    if not os.path.isdir(folder):
        raise CommandError(f"--models: the {name} preset has no TF.js model ({folder}): pass "
                           "--models")
    return folder
