"""The in-browser demo: a real headless Chromium (Debian's) driven by Playwright loads the
exported TF.js models from `tfcreative serve`, generates a tune that abcjs renders as sheet
music and that plays (rendered offline), lets you draw a label map with the mouse, and
translates it with pixels matching Python's; the server never serves a file outside its roots."""

import os
import shutil
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import make_tiny_model
from tests.test_pix2pix_model import tiny_pix2pix
from tfcreative.datasets.pix2pix import synthetic_facades
from tfcreative.datasets.pix2pix.synthetic_facades import CLASSES, PALETTE
from tfcreative.music.vocabulary import CharVocabulary
from tfcreative.pix2pix.images import to_uint8
from tfcreative.serve import VENDOR_FILES, make_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
in_ci = bool(os.environ.get("CI"))
needs_browser = pytest.mark.skipif(
    not in_ci and (CHROMIUM is None
                   or __import__("importlib").util.find_spec("playwright") is None),
    reason="needs Debian's chromium and `pip install playwright`; CI has both")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from tfcreative.export.tfjs import export_tfjs

    models = tmp_path_factory.mktemp("models")
    # Untrained, but every character is ABC: after a header seed it writes notes and bars.
    music = make_tiny_model(CharVocabulary("X:1\nT:M6/8L:K D abcdefgABCDEFG|/2 []"), layers=1,
                            units=16)
    pix2pix = tiny_pix2pix(size=32)
    export_tfjs(music, str(models / "music"))
    export_tfjs(pix2pix, str(models / "pix2pix"))
    (models / "music" / "notes.txt").write_text("inside a model's folder")
    (models / "secret.txt").write_text("beside the models, not in one")
    outside = tmp_path_factory.mktemp("outside") / "private.txt"
    outside.write_text("must never be served")
    os.symlink(outside, models / "music" / "escape.txt")
    server = make_server("127.0.0.1", 0, str(models))  # the libraries shipped in the package
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
    assert _status(url + "models/music/notes.txt") == 200
    assert _status(url + "models/secret.txt") == 404  # only the music/ and pix2pix/ models
    assert _status(url + "models/music/escape.txt") == 404  # a symlink out of the root
    assert _status(url + "models/") == 404  # no listings
    assert _status(url + "models/music/") == 404
    assert _status(url + "..%2f..%2f..%2fetc%2fpasswd") == 404
    assert _status(url + "models/..%2f..%2fetc%2fpasswd") == 404
    for name in VENDOR_FILES:
        assert _status(url + "vendor/" + name) == 200, name
    assert _status(url + "vendor/manifest.json") == 404  # only the named library files
    assert _status(url + "vendor/tfjs@4.22.0/LICENSE") == 404


@pytest.fixture(scope="module")
def page(served):
    """The demo page in headless Chromium, models loaded (default backend: WebAssembly)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.goto(served["url"])
        page.wait_for_function("document.body.dataset.ready", timeout=120_000)
        assert page.evaluate("document.body.dataset.ready") == "true", \
            page.inner_text("#status")
        yield page
        browser.close()
    assert not errors


def canvas_pixels(page, canvas_id):
    pixels = page.evaluate("""(id) => {
        const c = document.getElementById(id);
        return [c.width, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)];
    }""", canvas_id)
    size, data = pixels
    return np.array(data, np.int16).reshape(size, size, 4)[..., :3]


def python_translation(pix2pix, labels):
    return to_uint8(pix2pix(labels[None].astype(np.float32) / 127.5 - 1.0)[0]).astype(np.int16)


@needs_browser
def test_page_uses_webassembly_and_the_facade_palette(page):
    assert "backend wasm" in page.inner_text("#status")
    classes = page.evaluate("demo.facadeClasses")
    assert [c["name"] for c in classes] == list(CLASSES)
    assert [c["rgb"] for c in classes] == PALETTE.tolist()


@needs_browser
def test_page_generates_a_tune_that_renders_and_plays(page):
    seed = "X:1\nT:D\nM:6/8\nL:1/8\nK:D\n"
    tune = page.evaluate("([s]) => demo.generateTune(s, 1.0, 60, 3)", [seed])
    assert tune["abc"].startswith(seed) and tune["msPerChar"] > 0
    again = page.evaluate("([s]) => demo.generateTune(s, 1.0, 60, 3)", [seed])
    assert again["abc"] == tune["abc"]  # seeded in the page too
    shown = page.evaluate("([abc]) => demo.showTune(abc)", [tune["abc"]])
    assert shown["noteheads"] > 0 and len(shown["notes"]) > 0
    assert page.locator("#sheet svg").count() == 1
    assert page.get_attribute("#midi-link", "href").startswith("blob:")

    # The buttons: generate, render, play.
    page.fill("#seed", seed)
    page.fill("#max-length", "60")
    page.click("#generate")
    page.wait_for_function("document.getElementById('tune').textContent.startsWith('X:1')")
    assert "ms per character" in page.inner_text("#music-timing")
    assert page.locator("#sheet .abcjs-note").count() > 0
    assert page.is_enabled("#play")
    page.click("#play")
    assert page.is_enabled("#stop")
    page.click("#stop")

    # What Play sends to the speakers: one A (MIDI 69) held for 2 s at 120 crotchets a minute.
    one_a = "X:1\\nT:A\\nM:4/4\\nL:1/4\\nQ:1/4=120\\nK:C\\nA4|]"
    audio = page.evaluate(f"demo.renderTuneAudio('{one_a}')")
    [note] = audio["notes"]
    assert note["pitch"] == 69 and note["duration"] == pytest.approx(2.0, abs=1e-3)
    samples = np.array(audio["samples"], np.float32)
    rate = audio["sampleRate"]
    held = samples[int(0.1 * rate):int(1.9 * rate)]
    assert np.sqrt(np.mean(held ** 2)) > 0.02
    spectrum = np.abs(np.fft.rfft(held))
    assert np.fft.rfftfreq(len(held), 1 / rate)[spectrum.argmax()] == pytest.approx(440, abs=2)
    assert np.abs(samples[int(2.2 * rate):]).max() < 1e-3  # silent after the note


@needs_browser
def test_the_meter_keeps_every_bar_in_time(page):
    from tfcreative.music.meter import bar_report

    vocabulary = CharVocabulary(page.evaluate("demo.music.meta.characters"))
    seed = "X:1\nT:D\nM:6/8\nL:1/8\nK:D\n"
    for random_seed in range(4):
        kept = page.evaluate("([s, r]) => demo.generateTune(s, 1.0, 120, r, true)",
                             [seed, random_seed])
        free = page.evaluate("([s, r]) => demo.generateTune(s, 1.0, 120, r, false)",
                             [seed, random_seed])
        assert kept["abc"] != free["abc"]
        report = bar_report(kept["abc"], vocabulary)
        assert report.followed and report.violations == 0, kept["abc"]


@needs_browser
def test_the_page_writes_whole_tunes_by_default_with_the_controls_asked(page):
    """The Shape menu starts on whole tunes: two parts of 8 bars that repeat, ending on the
    tonic (the independent counter), here from an untrained model; the header controls are
    written as asked."""
    from tests.test_meter_form import assert_form
    from tfcreative.music.controls import tune_controls

    assert page.input_value("#constrain") == "form"
    for random_seed in (1, 2):
        tune = page.evaluate("([r]) => demo.generateTune('X:1\\nT:', 1.0, 4000, r, 'form')",
                             [random_seed])
        assert not tune["unconstrained"]
        assert_form([tune["abc"] + "\n"], tune_controls())
    fixed = page.evaluate("demo.generateTune('X:1\\nT:', 1.0, 4000, 5, 'form', "
                          "{parts: 1, key: 'G', meter: '6/8'})")
    assert "\nM:6/8\n" in fixed["abc"] and "\nK:G\n" in fixed["abc"]
    assert_form([fixed["abc"] + "\n"], tune_controls(parts=1))
    error = page.evaluate("() => { try { demo.generateTune('X:1\\nT:', 1, 10, 1, 'form', "
                          "{key: 'H'}); } catch (e) { return String(e); } }")
    assert "key: expected a key such as D" in error


@needs_browser
def test_clicking_a_note_writes_the_tune_again_from_its_bar(page):
    page.select_option("#constrain", "form")
    page.fill("#seed", "X:1\nT:")
    page.fill("#max-length", "4000")
    page.fill("#random-seed", "3")
    page.click("#generate")
    page.wait_for_function("document.getElementById('tune').textContent.includes('K:')")
    before = page.inner_text("#tune")
    # abcjs listens on the whole sheet and finds the note nearest the pointer: a real click
    box = page.locator("#sheet .abcjs-note").nth(12).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("([t]) => document.getElementById('tune').textContent !== t",
                           arg=[before])
    after = page.inner_text("#tune")
    assert page.input_value("#random-seed") == "4"
    common = next((i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
                  min(len(before), len(after)))
    kept = before[:common]
    body = before.index("\n", before.index("\nK:") + 1) + 1
    cut = kept.rstrip(":]").rfind("|")
    assert cut > body and kept.count("|") >= 2, (before, after)


@needs_browser
def test_drawing_a_label_map_translates_like_python(page, served):
    size = 32
    page.locator("#input-canvas").scroll_into_view_if_needed()
    box = page.locator("#input-canvas").bounding_box()  # in the viewport: the mouse reaches it
    scale = box["width"] / size

    def at(x, y):  # the centre of label-map pixel (x, y) on the screen
        return box["x"] + (x + 0.5) * scale, box["y"] + (y + 0.5) * scale

    window, door = CLASSES.index("window"), CLASSES.index("door")
    page.click(f"#palette button[data-class-index='{window}']")
    page.select_option("#tool", "rect")
    page.mouse.move(*at(4, 5))
    page.mouse.down()
    page.mouse.move(*at(10, 8), steps=3)
    page.mouse.move(*at(12, 14), steps=3)
    page.mouse.up()
    page.click(f"#palette button[data-class-index='{door}']")
    page.select_option("#tool", "brush")
    page.fill("#brush-size", "1")
    page.dispatch_event("#brush-size", "change")
    page.mouse.move(*at(20, 2))
    page.mouse.down()
    page.mouse.move(*at(20, 28), steps=2)  # a fast stroke: still no gaps
    page.mouse.up()
    page.evaluate("demo.translateCanvas()")

    labels = canvas_pixels(page, "input-canvas")
    assert (labels[5:15, 4:13] == PALETTE[window]).all()
    assert (labels[2:29, 20] == PALETTE[door]).all()
    colours = {tuple(p) for p in labels.reshape(-1, 3)}
    assert colours <= {tuple(p) for p in PALETTE.tolist()}  # only class colours, no blending
    got = canvas_pixels(page, "output-canvas")
    assert np.abs(got - python_translation(served["pix2pix"], labels)).max() <= 2
    assert "inference" in page.inner_text("#pix2pix-timing")


@needs_browser
def test_uploaded_label_map_translates_like_python(page, served):
    labels, _ = synthetic_facades.facade_pair(5, 0, 32)
    png = served["tmp"] / "labels.png"
    png.write_bytes(tf.io.encode_png(labels).numpy())
    page.set_input_files("#label-file", str(png))
    page.wait_for_function(
        "() => { const c = document.getElementById('input-canvas').getContext('2d');"
        f" const p = c.getImageData(0, 0, 1, 1).data; return p[0] === {labels[0, 0, 0]}"
        f" && p[1] === {labels[0, 0, 1]} && p[2] === {labels[0, 0, 2]}; }}")
    page.evaluate("demo.translateCanvas()")
    assert (canvas_pixels(page, "input-canvas") == labels).all()
    got = canvas_pixels(page, "output-canvas")
    assert np.abs(got - python_translation(served["pix2pix"], labels)).max() <= 2


def test_serve_names_missing_libraries_and_models(tmp_path, capsys):
    from tfcreative.cli.main import main

    partial = tmp_path / "node_modules" / "@tensorflow" / "tfjs" / "dist"
    partial.mkdir(parents=True)
    (partial / "tf.min.js").write_text("")
    models = tmp_path / "models"
    models.mkdir()
    assert main(["serve", "--models", str(models),
                 "--node-modules", str(tmp_path / "node_modules")]) == 2
    error = capsys.readouterr().err
    assert "lacks" in error and "abcjs-basic-min.js" in error and "npm install" in error
    assert main(["serve", "--models", str(tmp_path / "nowhere")]) == 2
    assert "--models" in capsys.readouterr().err


@needs_browser
@pytest.mark.slow
def test_the_folk_presets_default_tunes_in_the_page_are_whole_tunes(tmp_path):
    """Issue 22's demo target: the page's default (Shape: whole tunes, seed box X:1 T:,
    1,000 characters) with the shipped preset writes a whole tune for random seeds 1-10:
    two parts of 8 or 16 bars that repeat and end on the tonic (the independent counter)."""
    from playwright.sync_api import sync_playwright

    from tests.test_meter_form import assert_form
    from tfcreative.export.tfjs import export_tfjs
    from tfcreative.music.controls import tune_controls
    from tfcreative.presets import load_preset

    export_tfjs(load_preset("folk"), str(tmp_path / "models" / "music"))
    export_tfjs(tiny_pix2pix(size=32), str(tmp_path / "models" / "pix2pix"))  # the page has both
    server = make_server("127.0.0.1", 0, str(tmp_path / "models"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.goto(f"http://{host}:{port}/")
            page.wait_for_function("document.body.dataset.ready", timeout=120_000)
            assert page.evaluate("document.body.dataset.ready") == "true", \
                page.inner_text("#status")
            assert page.input_value("#constrain") == "form"
            defaults = [page.input_value(f"#{name}") for name in ("seed", "max-length")]
            tunes = page.evaluate("""async ([seed, length]) => {
                const tunes = [];
                for (let r = 1; r <= 10; r += 1) {
                    tunes.push(await demo.generateTune(seed, 1.0, Number(length), r, 'form'));
                }
                return tunes; }""", defaults)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    assert all(not t["unconstrained"] for t in tunes)
    assert_form([t["abc"] + "\n" for t in tunes], tune_controls())
