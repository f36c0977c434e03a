"""`tfcreative serve`: the in-browser demo as static files, on 127.0.0.1 by default.

Three read-only roots, by URL prefix: `/` the demo page shipped in the package, `/models/` the
TF.js models you exported, `/vendor/` the named files of the browser libraries the page loads
(`@tensorflow/tfjs`, its WebAssembly backend, `abcjs`). Those ship inside the package, copied
from the npm lockfile's versions by tools/vendor_web_libs.py into web/vendor/<name>@<version>/
with their licences and a manifest of checksums; a node_modules folder can replace them for
development. Only files under those roots are served: paths are resolved (symlinks included)
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
import json
import os
import posixpath
import re
import socket
import sys
import time
import urllib.parse
from http import HTTPStatus

# The npm packages the page loads, and the files of each it needs (paths inside the package).
# The served name of a file is its base name: index.html loads vendor/tf.min.js, ...
VENDOR_LIBRARIES = {
    "@tensorflow/tfjs": ("dist/tf.min.js",),
    "@tensorflow/tfjs-backend-wasm": (
        "dist/tf-backend-wasm.min.js", "dist/tfjs-backend-wasm.wasm",
        "dist/tfjs-backend-wasm-simd.wasm", "dist/tfjs-backend-wasm-threaded-simd.wasm"),
    "abcjs": ("dist/abcjs-basic-min.js",),
}
# served name -> path inside a node_modules folder
VENDOR_FILES = {posixpath.basename(path): os.path.join(*package.split("/"), *path.split("/"))
                for package, paths in VENDOR_LIBRARIES.items() for path in paths}
NPM_INSTALL = "npm install @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0 abcjs@6.7.2"
VENDOR_MANIFEST = "manifest.json"
MODEL_NAMES = ("music", "pix2pix")  # the page loads /models/music/ and /models/pix2pix/


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


def vendor_root() -> str:
    """The browser libraries shipped in the package (web/vendor/)."""
    return os.path.join(web_root(), "vendor")


def vendor_folder(package: str, version: str) -> str:
    """Where one library's files go under web/vendor/: `tfjs@4.22.0`, `abcjs@6.7.2`."""
    return f"{package.rsplit('/', 1)[-1]}@{version}"


def read_vendor_manifest(root: str | None = None) -> dict:
    """web/vendor/manifest.json: name, version, lockfile integrity and files (with sha256) of
    each shipped library."""
    with open(os.path.join(root or vendor_root(), VENDOR_MANIFEST), encoding="utf-8") as f:
        return json.load(f)


def packaged_vendor_files(root: str | None = None) -> dict[str, str]:
    """Served name -> path under web/vendor/ of every shipped library file."""
    return {name: posixpath.join(library["folder"], name)
            for library in read_vendor_manifest(root)["libraries"]
            for name in library["files"]}


def node_modules_versions(node_modules: str) -> dict[str, str]:
    """Version of each page library installed in `node_modules` (from its package.json)."""
    versions = {}
    for package in VENDOR_LIBRARIES:
        with open(os.path.join(node_modules, *package.split("/"), "package.json"),
                  encoding="utf-8") as f:
            versions[package] = json.load(f)["version"]
    return versions


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
    models: dict[str, str] = {}  # model name (music, pix2pix) -> its TF.js folder
    vendor_files: dict[str, str] = {}  # served name -> path under roots["vendor"]
    timeout = 60  # seconds a client may stay silent before its connection is dropped

    def parse_request(self) -> bool:
        """The standard parsing, then this server's refusals (see the module docstring)."""
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        if len(line.split()) == 2:
            # HTTP/0.9 ("GET /", no version): refused at once. The standard library would read
            # header lines first, which such a client never sends: it would wait for them
            # until the timeout.
            self.command, self.request_version = None, self.default_request_version
            self.requestline, self.close_connection = line, True
            self.send_error(HTTPStatus.BAD_REQUEST, "HTTP/0.9 requests are not served")
            return False
        if not super().parse_request():
            return False
        if self.requestline != f"{self.command} {self.path} {self.request_version}":
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
        if parts[:1] == ["vendor"]:  # only the named library files, from either source
            if len(parts) != 2 or parts[1] not in self.vendor_files:
                return ""
            root = self.roots.get("vendor")
            parts = self.vendor_files[parts[1]].split("/")
        elif parts[:1] == ["models"] and len(parts) > 1:  # /models/<music|pix2pix>/...
            root, parts = self.models.get(parts[1]), parts[2:]
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
    client that went away is not an error.

    Connections close gracefully: after the answer the server stops writing and reads what the
    client still sends (at most LINGER_BYTES for LINGER_SECONDS) before closing. Closing with
    unread request bytes (a refused upload, an over-long line) would reset the connection, and
    a reset can destroy the answer before the client reads it (RFC 9112, section 9.6).
    """

    LINGER_SECONDS = 2.0
    LINGER_BYTES = 1 << 20

    def shutdown_request(self, request):
        try:
            request.shutdown(socket.SHUT_WR)
            request.settimeout(self.LINGER_SECONDS)
            deadline = time.monotonic() + self.LINGER_SECONDS
            drained = 0
            while drained < self.LINGER_BYTES and time.monotonic() < deadline:
                chunk = request.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:
            pass
        self.close_request(request)

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            return
        print(f"tfcreative serve: request from {client_address[0]} failed: "
              f"{type(error).__name__}: {error}", file=sys.stderr, flush=True)


def make_server(host: str, port: int, models: str | dict[str, str] | None,
                node_modules: str | None = None) -> DemoServer:
    """The demo server. models: a folder holding music/ and pix2pix/ TF.js models, or a map
    {"music": folder, "pix2pix": folder} (e.g. the presets' tfjs/ folders). The browser
    libraries come from the package unless `node_modules` is given (a folder where `npm ci`
    or `npm install` put them)."""
    if isinstance(models, (str, os.PathLike)):
        models = {name: os.path.join(models, name) for name in MODEL_NAMES}
    if node_modules is None:
        vendor, vendor_files = vendor_root(), packaged_vendor_files()
    else:
        vendor = node_modules
        vendor_files = {name: path.replace(os.sep, "/") for name, path in VENDOR_FILES.items()}
    roots = {"web": web_root(), "vendor": vendor}
    handler = type("BoundDemoHandler", (DemoHandler,), {
        "roots": roots, "models": dict(models or {}), "vendor_files": vendor_files})
    return DemoServer((host, port), functools.partial(handler))
