"""Pix2Pix inference latency per image: the tutorial's eager generator call vs our paths.

Rows (all on one image, batch 1, untrained weights of the paper's sizes):
* eager `generator(x)`: how the tutorial (and `tfcreative pix2pix translate`) call it;
* tf.function and tf.function(jit_compile=True) around the same call;
* the exported SavedModel's `serving_default` (what TF Serving runs);
* the TF.js graph model in headless Chromium, through the demo page (`tfcreative serve`),
  at a smaller size, since TF.js on this CPU has only its WebGL-on-SwiftShader and plain-JS
  backends; its reference is the eager Python call at that size.
Ratios are reference latency / ours (above 1: ours is faster). The Chromium row is skipped,
with the reason in its note, where Chromium, Playwright or `npm ci`'s @tensorflow/tfjs are
missing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading

import keras
import numpy as np
import tensorflow as tf

from benchmarks import roofline
from benchmarks._harness import alternate, row, timed
from tfcreative.pix2pix.model import Pix2Pix
from tfcreative.pix2pix.networks import patchgan_discriminator, unet_generator

FULL = {"python_size": 256, "python_width": 64, "browser_size": 64, "browser_width": 64,
        "repetitions": 5, "browser_timeout_s": 120}
QUICK = {"python_size": 32, "python_width": 8, "browser_size": 32, "browser_width": 8,
         "repetitions": 2, "browser_timeout_s": 60}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _pix2pix(size, width):
    keras.utils.set_random_seed(0)
    model = Pix2Pix(unet_generator(size, ngf=width), patchgan_discriminator(ndf=width))
    model.compile()
    return model


def _image(size):
    return tf.constant(np.random.default_rng(0).uniform(-1, 1, (1, size, size, 3)), tf.float32)


def python_blocks(model, scratch) -> dict:
    """name -> function translating one image (each returns after the result is computed)."""
    from tfcreative.export.saved_model import export_saved_model

    generator = model.generator
    x = _image(model.image_size)
    compiled = tf.function(lambda x: generator(x, training=False))
    xla = tf.function(lambda x: generator(x, training=False), jit_compile=True)
    path = export_saved_model(model, scratch, name=f"pix2pix{model.image_size}", version=1)
    serving = tf.saved_model.load(path).signatures["serving_default"]
    return {
        "eager (tutorial)": lambda: generator(x, training=False).numpy(),
        "tf.function": lambda: compiled(x).numpy(),
        "tf.function jit_compile": lambda: xla(x).numpy(),
        "SavedModel serving_default": lambda: serving(input_image=x)["output_image"].numpy(),
    }


class _Browser:
    """The demo page in headless Chromium, its pix2pix model exported to TF.js."""

    def __init__(self, model, scratch, timeout_s):
        from playwright.sync_api import sync_playwright

        from tfcreative.export.tfjs import export_tfjs
        from tfcreative.music.model import MusicLSTM
        from tfcreative.music.vocabulary import CharVocabulary
        from tfcreative.serve import find_node_modules, make_server

        models = os.path.join(scratch, "tfjs")
        export_tfjs(model, os.path.join(models, "pix2pix"))
        # The page loads a music model too: a tiny one.
        export_tfjs(MusicLSTM(CharVocabulary("X:1\nT:abc"), 4, 8), os.path.join(models, "music"))
        self.server = make_server("127.0.0.1", 0, models, find_node_modules(REPO))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        host, port = self.server.server_address[:2]
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(
            executable_path=shutil.which("chromium") or shutil.which("chromium-browser"),
            headless=True, args=["--no-sandbox", "--disable-background-networking",
                                 "--disable-component-update", "--no-first-run"])
        self.page = self.browser.new_page()
        self.page.set_default_timeout(timeout_s * 1000)
        self.page.goto(f"http://{host}:{port}/")
        self.page.wait_for_function("document.body.dataset.ready")
        if self.page.evaluate("document.body.dataset.ready") != "true":
            raise RuntimeError(self.page.inner_text("#status"))
        self.backend = self.page.evaluate("tf.getBackend()")
        self.page.evaluate("""size => {
            const c = document.getElementById('input-canvas');
            c.width = c.height = size;
            const g = c.getContext('2d');
            for (let i = 0; i < 16; i++) {
              g.fillStyle = `hsl(${i * 40}, 70%, 50%)`;
              g.fillRect((i % 4) * size / 4, Math.floor(i / 4) * size / 4, size / 4, size / 4);
            }}""", model.image_size)
        self.timeout_ms = timeout_s * 1000

    def translate(self) -> float:
        """Milliseconds of one translation, as the page measures it (pixels on the canvas)."""
        return self.page.evaluate("""timeout => Promise.race([
            demo.translateCanvas().then(r => r.ms),
            new Promise((_, reject) => setTimeout(
                () => reject(new Error('translation took over ' + timeout + ' ms')), timeout))
        ])""", self.timeout_ms)

    def close(self):
        self.browser.close()
        self.playwright.stop()
        self.server.shutdown()
        self.server.server_close()


def browser_missing() -> str | None:
    import importlib.util

    from tfcreative.serve import find_node_modules

    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return "no chromium"
    if importlib.util.find_spec("playwright") is None:
        return "no playwright (pip install playwright)"
    if find_node_modules(REPO) is None:
        return "no @tensorflow/tfjs (npm ci)"
    return None


def run(quick: bool) -> dict:
    settings = QUICK if quick else FULL
    matmul = roofline.matmul_gflops(1024 if quick else 2048)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tfcreative-bench-") as scratch:
        big = _pix2pix(settings["python_size"], settings["python_width"])
        blocks = python_blocks(big, scratch)
        first = {name: timed(block) for name, block in blocks.items()}
        seconds = alternate(blocks, settings["repetitions"])
        flops = roofline.keras_forward_flops(big.generator, [[1, big.image_size,
                                                              big.image_size, 3]])
        reference = seconds["eager (tutorial)"]
        for name, value in seconds.items():
            if name == "eager (tutorial)":
                continue
            rows.append(_latency_row(f"{name}, {big.image_size} px ngf {settings['python_width']}",
                                     value, reference, flops,
                                     {"first_call_s": first[name]}))

        small = big  # quick runs: one size for both, so one model (the same seed's weights)
        if (settings["browser_size"], settings["browser_width"]) != (
                settings["python_size"], settings["python_width"]):
            small = _pix2pix(settings["browser_size"], settings["browser_width"])
        case = f"TF.js in Chromium, {small.image_size} px ngf {settings['browser_width']}"
        missing = browser_missing()
        if missing:
            rows.append({**_latency_row(case, None, None, None, {}), "note": f"skipped: {missing}"})
        else:
            browser = _Browser(small, scratch, settings["browser_timeout_s"])
            try:
                x = _image(small.image_size)
                eager = {"eager": lambda: small.generator(x, training=False).numpy()}
                browser_ms: list[float] = []
                first_ms = browser.translate()  # warm-up: shader compilation, weight upload
                both = {**eager, "tfjs": lambda: browser_ms.append(browser.translate())}
                seconds = alternate(both, settings["repetitions"])
                browser_s = float(np.median(browser_ms)) / 1000
                flops = roofline.keras_forward_flops(
                    small.generator, [[1, small.image_size, small.image_size, 3]])
                rows.append({**_latency_row(case, browser_s, seconds["eager"], flops,
                                            {"first_call_ms": first_ms,
                                             "backend": browser.backend}),
                             "note": f"backend {browser.backend}; reference: eager Python"})
            finally:
                browser.close()
    return {"rows": rows, "matmul_gflops": matmul}


def _latency_row(case, seconds, reference_seconds, flops, details) -> dict:
    """Latency in ms/image (lower is better); ratio = reference / ours."""
    result = row(case, "ms/image", 1000 * seconds if seconds else None,
                 1000 * reference_seconds if reference_seconds else None, details=details)
    if seconds and reference_seconds:
        result["ratio"] = reference_seconds / seconds
        result["ours_gflops"] = flops / seconds / 1e9
    return result
