"""`tfcreative serve` under malformed input: a seeded fuzzer sends raw requests over loopback
to the real command (a subprocess) and every one gets an HTTP 4xx answer, or a clean close for
bytes that hold no request line at all; nothing reaches stderr as a traceback, and the server
answers a normal request afterwards."""

import collections
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, run_python_json
from tfcreative.serve import MAX_TARGET_LENGTH, request_target_problem

NUM_REQUESTS = 1200
SEED = 13
TIME_LIMIT_S = 240  # the whole fuzz run; it normally takes a few seconds
STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")
CRLF = b"\r\n"
METHODS_NOT_ALLOWED = [b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"TRACE", b"CONNECT",
                       b"PROPFIND", b"MKCOL", b"LOCK", b"MOVE", b"get", b"Head", b"BREW"]
BAD_METHOD_TOKENS = [b"GE(T", b"G\x01T", b"[]", b"GET,", b"G\"T", b"\x00", b"G{T}", b"@"]
BAD_VERSIONS = [b"HTTP/2.0", b"HTTP/3", b"HTTP/1.1.1", b"HTTPS/1.1", b"HTTP/x.y", b"http/1.1",
                b"HTTP/1.1 extra", b"HTTP/01.1x", b"HTTP/", b"HTTP/9.9", b"HTTP/1.-1"]
BAD_PERCENT = [b"%", b"%z1", b"%1", b"%%41", b"%g0", b"%-1", b"%+F", b"%0", b"% 4"]
NOT_UTF8 = [b"%ff", b"%c0%af", b"%ed%a0%80", b"%e9t%e9", b"%80", b"%f8%88%80%80%80", b"%c3%28"]
CONTROL = [b"%00", b"%0a", b"%0d%0a", b"%1b[31m", b"%7f", b"%09", b"\x00", b"\x01", b"\x1b",
           b"\x7f", b"\x0b"]
BAD_TARGET_FORMS = [b"*", b"http://example.com/", b"//x/y", b"x", b"../etc/passwd",
                    b"..%2f..%2fetc%2fpasswd", b"?a=1", b"#frag", b"//"]
NAMES = [b"index.html", b"app.js", b"models", b"vendor", b"models/music/model.json",
         b"vendor/tf.min.js", b"..", b".", b"a b", b"\xc3\xa9t\xc3\xa9"]


def _path(rng, *inserts):
    """A plausible path with the given defects spliced in at random places."""
    parts = [rng.choice(NAMES) for _ in range(rng.randint(0, 3))]
    for insert in inserts:
        parts.insert(rng.randint(0, len(parts)), insert)
    return b"/" + b"/".join(parts)


def _request(rng, method=b"GET", target=None, version=b"HTTP/1.1", headers=None):
    target = _path(rng) if target is None else target
    headers = [b"Host: 127.0.0.1", b"User-Agent: fuzz"] if headers is None else headers
    return method + b" " + target + b" " + version + CRLF + CRLF.join(headers) + CRLF + CRLF


def nasty_request(rng: random.Random) -> tuple[str, bytes]:
    """(kind, raw bytes): every request is malformed for this server in at least one way."""
    kind = rng.choice(["control", "bad_percent", "not_utf8", "raw_non_ascii", "long_target",
                       "long_line", "method_not_allowed", "bad_method", "bad_version",
                       "bad_header", "many_headers", "long_header", "target_form", "http_0_9",
                       "not_http"])
    if kind == "control":
        return kind, _request(rng, target=_path(rng, rng.choice(CONTROL)))
    if kind == "bad_percent":
        return kind, _request(rng, target=_path(rng, b"x" + rng.choice(BAD_PERCENT)))
    if kind == "not_utf8":
        return kind, _request(rng, target=_path(rng, rng.choice(NOT_UTF8)))
    if kind == "raw_non_ascii":
        raw = bytes(rng.randint(0x80, 0xFF) for _ in range(rng.randint(1, 8)))
        return kind, _request(rng, target=_path(rng, raw))
    if kind == "long_target":
        length = rng.randint(MAX_TARGET_LENGTH + 1, 60_000)
        return kind, _request(rng, target=b"/" + b"a" * (length - 1))
    if kind == "long_line":  # longer than the standard library's 64 KiB request line
        return kind, _request(rng, target=b"/" + b"b" * rng.randint(65_537, 70_000))
    if kind == "method_not_allowed":
        body = [b"Content-Length: 4"] if rng.random() < 0.5 else []
        return kind, _request(rng, method=rng.choice(METHODS_NOT_ALLOWED),
                              headers=[b"Host: 127.0.0.1", *body]) + b"data"
    if kind == "bad_method":
        return kind, _request(rng, method=rng.choice(BAD_METHOD_TOKENS))
    if kind == "bad_version":
        return kind, _request(rng, version=rng.choice(BAD_VERSIONS))
    if kind == "bad_header":
        header = rng.choice([b"NoColon", b"Host : x", b"X: a\x00b", b": empty", b"X: a\x1bb",
                             b" folded-first", b"X: a\r\n continued", b"X:\x7f"])
        return kind, _request(rng, target=b"/", headers=[b"Host: 127.0.0.1", header])
    if kind == "many_headers":
        count = rng.randint(101, 300)
        return kind, _request(rng, headers=[b"X-%d: y" % i for i in range(count)])
    if kind == "long_header":
        return kind, _request(rng, headers=[b"X: " + b"z" * rng.randint(65_537, 70_000)])
    if kind == "target_form":
        return kind, _request(rng, target=rng.choice(BAD_TARGET_FORMS))
    if kind == "http_0_9":
        return kind, b"GET " + _path(rng) + CRLF
    # Bytes that are not HTTP: a TLS ClientHello start, random binary, printable noise, blank.
    noise = rng.choice([
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + rng.randbytes(32),
        rng.randbytes(rng.randint(1, 2000)),
        bytes(rng.choice(b"abcdefgh /:\t") for _ in range(rng.randint(1, 300))) + CRLF,
        b"", CRLF, b"   " + CRLF + CRLF,
    ])
    return "not_http", noise


def exchange(address, data: bytes, timeout: float = 10.0) -> bytes:
    """Sends `data`, half-closes, and reads the answer until the server closes."""
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def status_of(answer: bytes) -> int | None:
    match = STATUS_LINE.match(answer)
    return int(match.group(1)) if match else None


@pytest.fixture(scope="module")
def serve_process(tmp_path_factory):
    """`tfcreative serve` on a free loopback port, stderr in a file; stopped with Ctrl-C."""
    tmp_path = tmp_path_factory.mktemp("serve")
    models = tmp_path / "models"
    (models / "music").mkdir(parents=True)
    (models / "music" / "model.json").write_text("{}")
    stderr_path = tmp_path / "stderr.txt"
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "tfcreative", "serve", "--port", "0", "--models", str(models)],
            stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=str(tmp_path),
            env={**os.environ, "PYTHONPATH": REPO})
    try:
        line = process.stdout.readline()
        match = re.search(r"http://([\d.]+):(\d+)/", line)
        assert match, f"no address printed: {line!r}; stderr: {stderr_path.read_text()[-2000:]}"
        yield process, (match.group(1), int(match.group(2))), stderr_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_malformed_requests_get_4xx_and_the_server_keeps_serving(serve_process):
    process, address, stderr_path = serve_process
    rng = random.Random(SEED)
    statuses = collections.Counter()
    by_kind = collections.defaultdict(collections.Counter)
    wrong = []
    start = time.monotonic()
    for number in range(NUM_REQUESTS):
        assert time.monotonic() - start < TIME_LIMIT_S, f"fuzz took too long ({number} sent)"
        kind, data = nasty_request(rng)
        answer = exchange(address, data)
        status = status_of(answer)
        outcome = "clean close" if not answer else status
        statuses[outcome] += 1
        by_kind[kind][outcome] += 1
        if not (status is not None and 400 <= status < 500) and \
                not (kind == "not_http" and not answer):
            wrong.append((kind, data[:120], answer[:120]))
    seconds = time.monotonic() - start
    print(f"\nfuzz: {NUM_REQUESTS} requests in {seconds:.1f} s, outcomes "
          f"{dict(sorted(statuses.items(), key=str))}")
    for kind, counts in sorted(by_kind.items()):
        print(f"  {kind}: {dict(sorted(counts.items(), key=str))}")

    assert not wrong, f"{len(wrong)} answers not 4xx, e.g. {wrong[:5]}"
    assert process.poll() is None, "the server stopped"
    assert status_of(exchange(address, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")) == 200
    answer = exchange(address, b"GET /models/music/model.json HTTP/1.0\r\n\r\n")
    assert status_of(answer) == 200 and answer.endswith(b"\r\n\r\n{}")
    log = stderr_path.read_text(errors="replace")
    assert "Traceback" not in log and "failed:" not in log, log[-3000:]
    assert log.count('" 4') >= NUM_REQUESTS - statuses["clean close"]  # every 4xx logged


def test_each_kind_of_refusal_has_its_status(serve_process):
    _, address, stderr_path = serve_process
    cases = {
        b"GET /%00 HTTP/1.1\r\n\r\n": 400,
        b"GET /a%zz HTTP/1.1\r\n\r\n": 400,
        b"GET /%ff HTTP/1.1\r\n\r\n": 400,
        b"GET /" + b"a" * MAX_TARGET_LENGTH + b" HTTP/1.1\r\n\r\n": 414,
        b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi": 405,
        b"DELETE /index.html HTTP/1.1\r\n\r\n": 405,
        b"BREW / HTTP/1.1\r\n\r\n": 405,
        b"GET / HTTP/2.0\r\n\r\n": 400,
        b"GET /\r\n": 400,
        b"GET / HTTP/1.1\r\nNoColon\r\n\r\n": 400,
        b"\x16\x03\x01\x02\x00\x01\x00": 400,
        b"GET /no-such-file HTTP/1.1\r\n\r\n": 404,
        b"GET / HTTP/1.1\r\n\r\n": 200,
        b"HEAD /app.js HTTP/1.1\r\n\r\n": 200,
    }
    for request, expected in cases.items():
        answer = exchange(address, request)
        assert status_of(answer) == expected, (request[:60], answer[:200])
    assert b"Allow: GET, HEAD" in exchange(address, b"PUT /x HTTP/1.1\r\n\r\n")
    assert exchange(address, b"") == b""  # nothing sent: closed without an answer
    assert "Traceback" not in stderr_path.read_text(errors="replace")


def test_request_targets_are_checked_before_any_file_is_looked_up():
    assert request_target_problem("/models/music/model.json?v=1") is None
    assert request_target_problem("/caf%C3%A9.txt") is None
    for target in ("/%00", "/a%2", "/%e9", "/\x00", "/é", "//host/x", "*",
                   "/" + "a" * MAX_TARGET_LENGTH):
        assert request_target_problem(target) is not None, target


def test_an_http_0_9_request_is_answered_at_once_without_waiting_for_headers(serve_process):
    """`GET /` and nothing more, the connection left open: the standard library would wait
    for header lines such a client never sends (60 s, the handler's timeout)."""
    _, address, _ = serve_process
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(b"GET /\r\n")
        answer = sock.recv(65536)  # no half-close: a server waiting for more times this out
    assert status_of(answer) == 400 and b"HTTP/0.9 requests are not served" in answer


def test_an_address_that_cannot_be_had_is_one_line_naming_its_flag(capsys):
    from tfcreative.cli.main import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err == (f"tfcreative: error: --port: 127.0.0.1:{port}: Address already in use: "
                   "expected a free port (0 picks one)\n")
    assert main(["serve", "--host", "no-such-host.invalid"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tfcreative: error: --host: no-such-host.invalid: ") and \
        err.count("\n") == 1


def test_a_models_folder_with_one_model_gets_the_other_from_its_preset(tmp_path, capsys):
    """`export --format tfjs --out-dir exported/tfjs/pix2pix`, then `serve --models
    exported/tfjs`: the page needs a music model too, the folk preset's stands in."""
    from tfcreative.cli.main import main
    from tfcreative.cli.serve import MUSIC_PRESET, _preset_tfjs, models_in

    (tmp_path / "pix2pix").mkdir()
    models, lines = models_in(str(tmp_path))
    assert models == {"music": _preset_tfjs(MUSIC_PRESET), "pix2pix": str(tmp_path / "pix2pix")}
    assert lines == [f"music: the {MUSIC_PRESET} preset (--models has no music/)"]
    (tmp_path / "empty").mkdir()
    assert main(["serve", "--models", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "holds neither music/ nor pix2pix/" in err and err.count("\n") == 1


# The command as `tfcreative serve --port 0` runs it, in a thread of a fresh process; the page is
# fetched once the server listens, then what that process imported is reported.
SERVE_IN_A_FRESH_PROCESS = r"""
import json, sys, threading, time, urllib.request
from tfcreative.cli import main, serve

servers = []
listen = serve.make_server
serve.make_server = lambda *args: servers.append(listen(*args)) or servers[-1]
threading.Thread(target=main.main, args=(["serve", "--port", "0"],), daemon=True).start()
deadline = time.monotonic() + 60
while not servers and time.monotonic() < deadline:
    time.sleep(0.05)
host, port = servers[0].server_address[:2]
page = urllib.request.urlopen(f"http://{host}:{port}/", timeout=60).read().decode()
model = urllib.request.urlopen(f"http://{host}:{port}/models/music/model.json", timeout=60)
print(json.dumps({"page": "<html" in page.lower(), "model": model.status,
                  "loaded": [name for name in ("tensorflow", "keras", "numpy")
                             if name in sys.modules]}))
"""


def test_serve_loads_no_tensorflow_and_still_serves_the_page_and_the_presets():
    """It serves static files: TensorFlow's import (seconds) is not what a user should wait
    for before the page answers."""
    out = run_python_json(SERVE_IN_A_FRESH_PROCESS)
    assert out == {"page": True, "model": 200, "loaded": []}, out
