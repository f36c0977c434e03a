"""The in-browser demo: a real headless Chromium (Debian's) driven by Playwright loads the
exported TF.js models from `tfcreative serve`, generates a tune and translates an image whose
pixels match Python's; the server never serves a file outside its roots."""

import os
import shutil
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import REPO, make_tiny_model
from tests.test_pix2pix_model import tiny_pix2pix
from tfcreative.music.vocabulary import CharVocabulary
from tfcreative.pix2pix import synthetic_facades
from tfcreative.pix2pix.images import to_uint8
from tfcreative.serve import find_node_modules, make_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NODE_MODULES = find_node_modules(REPO)
in_ci = bool(os.environ.get("CI"))
needs_browser = pytest.mark.skipif(
    not in_ci and (CHROMIUM is None or NODE_MODULES is None
                   or __import__("importlib").util.find_spec("playwright") is None),
    reason="needs Debian's chromium, `pip install playwright` and `npm ci`; CI has all three")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from tfcreative.export.tfjs import export_tfjs

    models = tmp_path_factory.mktemp("models")
    music = make_tiny_model(CharVocabulary("X:1\nT:abcdefgABCDEFG|/2 "), layers=1, units=16)
    pix2pix = tiny_pix2pix(size=32)
    export_tfjs(music, str(models / "music"))
    export_tfjs(pix2pix, str(models / "pix2pix"))
    (models / "secret.txt").write_text("inside the models root")
    outside = tmp_path_factory.mktemp("outside") / "private.txt"
    outside.write_text("must never be served")
    os.symlink(outside, models / "escape.txt")
    server = make_server("127.0.0.1", 0, str(models), NODE_MODULES)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield {"url": f"http://{host}:{port}/", "music": music, "pix2pix": pix2pix,
           "tmp": tmp_path_factory.mktemp("files")}
    server.shutdown()
    server.server_close()


def _status(url):
    try:
        with urllib.request.urlopen(url) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_server_only_serves_its_roots(served):
    url = served["url"]
    assert _status(url) == 200
    assert _status(url + "app.js") == 200
    assert _status(url + "models/music/model.json") == 200
    assert _status(url + "models/secret.txt") == 200
    assert _status(url + "models/escape.txt") == 404  # a symlink out of the root
    assert _status(url + "models/") == 404  # no listings
    assert _status(url + "..%2f..%2f..%2fetc%2fpasswd") == 404
    assert _status(url + "models/..%2f..%2fetc%2fpasswd") == 404
    assert _status(url + "vendor/tf.min.js") == (200 if NODE_MODULES else 404)
    assert _status(url + "vendor/package.json") == 404  # only the named library files


@needs_browser
def test_page_generates_a_tune_and_translates_like_python(served):
    from playwright.sync_api import sync_playwright

    labels, _ = synthetic_facades.facade_pair(5, 0, 32)
    png = served["tmp"] / "labels.png"
    png.write_bytes(tf.io.encode_png(labels).numpy())
    expected = to_uint8(served["pix2pix"](labels[None].astype(np.float32) / 127.5 - 1.0)[0])

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(served["url"])
        page.wait_for_function("document.body.dataset.ready", timeout=60_000)
        assert page.evaluate("document.body.dataset.ready") == "true", \
            page.inner_text("#status")

        tune = page.evaluate("demo.generateTune('X:1\\nT:', 1.0, 40, 3)")
        assert tune["abc"].startswith("X:1\nT:") and tune["msPerChar"] > 0
        again = page.evaluate("demo.generateTune('X:1\\nT:', 1.0, 40, 3)")
        assert again["abc"] == tune["abc"]  # seeded in the page too
        page.click("#generate")
        page.wait_for_function("document.getElementById('tune').textContent.length > 0")
        assert page.inner_text("#tune").startswith("X:1")

        page.set_input_files("#label-file", str(png))
        page.wait_for_function(
            "document.getElementById('pix2pix-timing').textContent.includes('ms')")
        pixels = page.evaluate("""() => {
            const c = document.getElementById('output-canvas');
            return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
        }""")
        browser.close()
    assert not errors
    got = np.array(pixels, np.int16).reshape(32, 32, 4)[..., :3]
    assert np.abs(got - expected.astype(np.int16)).max() <= 2
