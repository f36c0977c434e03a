"""`tfcreative serve`: the in-browser demo as static files, on 127.0.0.1 by default.

Three read-only roots, by URL prefix: `/` the demo page shipped in the package, `/models/` the
TF.js models you exported, `/vendor/` the named files of the browser libraries from an npm
install (`@tensorflow/tfjs`, its WebAssembly backend, `abcjs`; the repository's package.json
pins them). Only files under those roots are served: paths are resolved (symlinks included)
and anything that lands outside its root is a 404. No directory listings, no uploads.
"""

from __future__ import annotations

import functools
import http.server
import importlib.resources
import os
import posixpath
import urllib.parse

_WASM_DIST = os.path.join("@tensorflow", "tfjs-backend-wasm", "dist")
VENDOR_FILES = {
    "tf.min.js": os.path.join("@tensorflow", "tfjs", "dist", "tf.min.js"),
    "tf-backend-wasm.min.js": os.path.join(_WASM_DIST, "tf-backend-wasm.min.js"),
    **{name: os.path.join(_WASM_DIST, name) for name in (
        "tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm",
        "tfjs-backend-wasm-threaded-simd.wasm")},
    "abcjs-basic-min.js": os.path.join("abcjs", "dist", "abcjs-basic-min.js"),
}
NPM_INSTALL = "npm install @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0 abcjs@6.7.2"


def web_root() -> str:
    return str(importlib.resources.files("tfcreative") / "web")


def find_node_modules(start: str) -> str | None:
    """The nearest node_modules holding every library the page needs, from `start` upwards."""
    folder = os.path.abspath(start)
    while True:
        candidate = os.path.join(folder, "node_modules")
        if not missing_vendor_files(candidate):
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def missing_vendor_files(node_modules: str) -> list[str]:
    return [path for path in VENDOR_FILES.values()
            if not os.path.isfile(os.path.join(node_modules, path))]


class DemoHandler(http.server.SimpleHTTPRequestHandler):
    """Maps URL prefixes to roots and refuses anything outside them."""

    roots: dict[str, str] = {}

    def translate_path(self, path: str) -> str:
        path = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
        parts = [p for p in posixpath.normpath(path).split("/") if p and p != "."]
        if ".." in parts:
            return ""
        if parts[:1] == ["vendor"] and len(parts) == 2 and parts[1] in VENDOR_FILES:
            root = self.roots.get("vendor")
            parts = VENDOR_FILES[parts[1]].split(os.sep)
        elif parts[:1] == ["models"]:
            root, parts = self.roots.get("models"), parts[1:]
        else:
            root = self.roots["web"]
        if root is None:
            return ""
        root = os.path.realpath(root)
        target = os.path.realpath(os.path.join(root, *parts))
        if os.path.commonpath([root, target]) != root:
            return ""
        return target

    def list_directory(self, path):
        self.send_error(404, "No directory listings")
        return None

    def send_head(self):
        path = self.translate_path(self.path)
        if not path or not os.path.exists(path):
            self.send_error(404, "Not found")
            return None
        if os.path.isdir(path):
            index = os.path.join(path, "index.html")
            if not os.path.isfile(index):
                return self.list_directory(path)
        return super().send_head()

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        # Cross-origin isolation lets the WebAssembly backend use threads (SharedArrayBuffer);
        # everything the page loads comes from this server, so nothing is blocked by it.
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 (signature of the base class)
        if os.environ.get("TFCREATIVE_SERVE_QUIET") != "1":
            super().log_message(format, *args)


def make_server(host: str, port: int, models_dir: str | None,
                node_modules: str | None) -> http.server.ThreadingHTTPServer:
    roots = {"web": web_root(), "models": models_dir, "vendor": node_modules}
    handler = type("BoundDemoHandler", (DemoHandler,), {"roots": roots})
    return http.server.ThreadingHTTPServer((host, port), functools.partial(handler))
