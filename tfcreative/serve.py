"""`tfcreative serve`: the in-browser demo as static files, on 127.0.0.1 by default.

Three read-only roots, by URL prefix: `/` the demo page shipped in the package, `/models/` the
TF.js models you exported, `/vendor/` the named files of the browser libraries from an npm
install (`@tensorflow/tfjs`, its WebAssembly backend, `abcjs`; the repository's package.json
pins them). Only files under those roots are served: paths are resolved (symlinks included)
and anything that lands outside its root is a 404. No directory listings, no uploads.

Requests are checked before any file is looked up, so malformed input gets an HTTP error and
the server keeps serving: methods other than GET/HEAD get 405; over-long request targets 414;
a request line that is not three parts joined by single spaces, bad percent-encoding,
non-UTF-8 or control characters in the path, malformed headers or control characters in them,
HTTP/0.9 and unknown HTTP versions get 400.
"""

from __future__ import annotations

import functools
import http.server
import importlib.resources
import os
import posixpath
import re
import sys
import urllib.parse
from http import HTTPStatus

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


# Longest request target answered (a browser's paths here are < 200 characters); the standard
# library refuses request lines over 64 KiB itself.
MAX_TARGET_LENGTH = 2048
ALLOWED_METHODS = ("GET", "HEAD")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an HTTP method is a token (RFC 9110)
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_TAB = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def request_target_problem(target: str) -> tuple[HTTPStatus, str] | None:
    """Why a request target cannot name a file here, as (status, reason), or None if it can.

    The reasons are fixed texts: nothing from the request goes back into a response line.
    """
    if len(target) > MAX_TARGET_LENGTH:
        return HTTPStatus.REQUEST_URI_TOO_LONG, "Request target too long"
    if not target.startswith("/") or target.startswith("//"):
        return HTTPStatus.BAD_REQUEST, "Request target must be a path starting with one /"
    if not target.isascii() or _CONTROL.search(target):
        return HTTPStatus.BAD_REQUEST, "Request target holds characters that must be encoded"
    path = urllib.parse.urlsplit(target).path
    if _BAD_PERCENT.search(path):
        return HTTPStatus.BAD_REQUEST, "Bad percent-encoding in the path"
    try:
        decoded = urllib.parse.unquote(path, errors="strict")
    except UnicodeDecodeError:
        return HTTPStatus.BAD_REQUEST, "Path is not UTF-8 after percent-decoding"
    if _CONTROL.search(decoded):
        return HTTPStatus.BAD_REQUEST, "Control character in the path"
    return None


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
    timeout = 60  # seconds a client may stay silent before its connection is dropped

    def parse_request(self) -> bool:
        """The standard parsing, then this server's refusals (see the module docstring)."""
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":
            problem = HTTPStatus.BAD_REQUEST, "HTTP/0.9 requests are not served"
        elif self.requestline != f"{self.command} {self.path} {self.request_version}":
            # The standard library splits at any whitespace (vertical tab, NBSP, ...) and
            # folds leading slashes; a request line is three parts joined by single spaces.
            problem = HTTPStatus.BAD_REQUEST, "Malformed request line"
        elif not _TOKEN.fullmatch(self.command):
            problem = HTTPStatus.BAD_REQUEST, "Malformed method"
        elif self.command not in ALLOWED_METHODS:
            problem = HTTPStatus.METHOD_NOT_ALLOWED, "Only GET and HEAD are served"
        elif self.headers.defects or any(_CONTROL_BUT_TAB.search(value)
                                         for value in self.headers.values()):
            problem = HTTPStatus.BAD_REQUEST, "Malformed header"
        else:
            problem = request_target_problem(self.path)
        if problem is not None:
            self.send_error(*problem)
            return False
        return True

    def send_error(self, code, message=None, explain=None):
        # An HTTP/2 request never arrives as a text request line: such a line is malformed
        # here, and the standard library would answer 505 (a server error) to it.
        if code == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED:
            code, message = HTTPStatus.BAD_REQUEST, "Bad HTTP version"
        if getattr(self, "request_version", None) == "HTTP/0.9":
            # The standard library assumes HTTP/0.9 until a request line parses, and an
            # HTTP/0.9 answer has no status line: answer in HTTP/1.0 so clients see the error.
            self.request_version = "HTTP/1.0"
        self._error_code = code
        super().send_error(code, message, explain)

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
        if getattr(self, "_error_code", None) == HTTPStatus.METHOD_NOT_ALLOWED:
            self.send_header("Allow", ", ".join(ALLOWED_METHODS))
        self.send_header("Cache-Control", "no-store")
        # Cross-origin isolation lets the WebAssembly backend use threads (SharedArrayBuffer);
        # everything the page loads comes from this server, so nothing is blocked by it.
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 (signature of the base class)
        if os.environ.get("TFCREATIVE_SERVE_QUIET") != "1":
            super().log_message(format, *args)


class DemoServer(http.server.ThreadingHTTPServer):
    """One line on stderr for a request that failed in the handler, never a traceback; a
    client that went away is not an error."""

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            return
        print(f"tfcreative serve: request from {client_address[0]} failed: "
              f"{type(error).__name__}: {error}", file=sys.stderr, flush=True)


def make_server(host: str, port: int, models_dir: str | None,
                node_modules: str | None) -> DemoServer:
    roots = {"web": web_root(), "models": models_dir, "vendor": node_modules}
    handler = type("BoundDemoHandler", (DemoHandler,), {"roots": roots})
    return DemoServer((host, port), functools.partial(handler))


def add_parser(subparsers) -> None:
    from tfcreative.cli import help_formatter

    p = subparsers.add_parser(
        "serve", help="serve the in-browser demo (static files only)",
        formatter_class=help_formatter,
        description="Serve the demo page, your exported TF.js models (--models: a folder with "
                    "music/ and pix2pix/ from `tfcreative export --format tfjs`) and the "
                    f"browser libraries from node_modules (`{NPM_INSTALL}`).")
    p.add_argument("--models", default=os.path.join("exported", "tfjs"),
                   help="folder holding the TF.js model folders music/ and pix2pix/")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (keep it local)")
    p.add_argument("--port", type=int, default=8000, help="port (0: any free port)")
    p.add_argument("--node-modules", default=None,
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
