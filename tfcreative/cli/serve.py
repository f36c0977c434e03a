"""`tfcreative serve`: the in-browser demo page, your TF.js models and the browser libraries."""

from __future__ import annotations

import os

from tfcreative.cli.common import add_flag, help_formatter
from tfcreative.serve import NPM_INSTALL, find_node_modules, make_server, missing_vendor_files


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "serve", help="serve the in-browser demo (static files only)",
        formatter_class=help_formatter,
        description="Serve the demo page, your exported TF.js models (--models: a folder with "
                    "music/ and pix2pix/ from `tfcreative export --format tfjs`) and the "
                    f"browser libraries from node_modules (`{NPM_INSTALL}`).")
    add_flag(p, "--models", default=os.path.join("exported", "tfjs"),
             help="folder holding the TF.js model folders music/ and pix2pix/")
    add_flag(p, "--host", default="127.0.0.1", help="address to bind (keep it local)")
    add_flag(p, "--port", type=int, default=8000, help="port (0: any free port)")
    add_flag(p, "--node-modules", default=None,
             help="node_modules with @tensorflow/tfjs, @tensorflow/tfjs-backend-wasm and "
                  "abcjs (default: the nearest from here up)")
    p.set_defaults(handler=_serve)


def _serve(args) -> int:
    node_modules = args.node_modules or find_node_modules(os.getcwd())
    if node_modules is None:
        raise FileNotFoundError("no node_modules with the demo's browser libraries found here "
                                f"or above: run `npm ci` in the repository or `{NPM_INSTALL}`, "
                                "or pass --node-modules")
    missing = missing_vendor_files(node_modules)
    if missing:
        raise FileNotFoundError(f"--node-modules {node_modules} lacks {', '.join(missing)}: "
                                f"run `{NPM_INSTALL}` there")
    if not os.path.isdir(args.models):
        raise FileNotFoundError(f"--models {args.models}: no such folder (export models with "
                                "`tfcreative export --format tfjs`)")
    server = make_server(args.host, args.port, args.models, node_modules)
    host, port = server.server_address[:2]
    print(f"Serving the demo on http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
