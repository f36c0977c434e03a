"""The in-browser demo: a real headless Chromium (Debian's) driven by Playwright loads the
exported TF.js models from `tfcreative serve`, generates a tune that abcjs renders as sheet
music and that plays (rendered offline), lets you draw a label map with the mouse, and
translates it with pixels matching Python's; the server never serves a file outside its roots.

With a model trained on photos the Pix2Pix panel follows its tfcreative.json: for an edges
model a pen of black lines on white, an eraser and "Upload a photo" (its edges made in the
page: Python's pixels), translated in tiles as `translate --tiles`; for a colorization model
an upload, its grey made in the page and its lightness kept. The photos are scikit-image's
sample photographs (CC0 or public domain)."""

import base64
import contextlib
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
from tfcreative.datasets.pix2pix import photo_transforms, synthetic_facades
from tfcreative.datasets.pix2pix.pix2pix_dataset_builder import fit_within
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
           "models": models, "tmp": tmp_path_factory.mktemp("files")}
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
def browser():
    """Headless Chromium (Debian's), for the module's pages."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


@contextlib.contextmanager
def demo_page(browser, url):
    """The demo page at `url`, models loaded (default backend: WebAssembly); no page errors."""
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(url)
    page.wait_for_function("document.body.dataset.ready", timeout=120_000)
    assert page.evaluate("document.body.dataset.ready") == "true", page.inner_text("#status")
    yield page
    page.close()
    assert not errors


@pytest.fixture(scope="module")
def page(browser, served):
    with demo_page(browser, served["url"]) as page:
        yield page


def canvas_pixels(page, canvas_id):
    width, height, data = page.evaluate("""(id) => {
        const c = document.getElementById(id);
        const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        return [c.width, c.height, btoa(Array.from(pixels, (v) => String.fromCharCode(v))
                                        .join(''))];
    }""", canvas_id)
    pixels = np.frombuffer(base64.b64decode(data), np.uint8)
    return pixels.reshape(height, width, 4)[..., :3].astype(np.int16)


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


# -- models trained on photos --------------------------------------------------------------

def photo_model(transform: str, seed: int):
    """A tiny untrained model that says what a `--photos --transform` run records: tiles, its
    inputs' transform, Lab lightness kept for colorization (the page's plumbing is tested).
    Its last layer is amplified: an untrained U-Net's outputs are a nearly uniform grey, which
    any way of running it would match."""
    model = tiny_pix2pix(size=32, seed=seed)
    last = model.generator.get_layer("output")
    last.set_weights([w * 100 for w in last.get_weights()])
    model.tiling = True
    model.input_transform = transform
    model.keep_lightness = transform == "grayscale"
    return model


@contextlib.contextmanager
def serving(models: dict):
    server = make_server("127.0.0.1", 0, models)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def photo_pages(browser, served, tmp_path_factory):
    """{transform: (its page, its model's .keras file)} for an edges and a grayscale model."""
    from tfcreative.export.tfjs import export_tfjs

    folder = tmp_path_factory.mktemp("photo_models")
    with contextlib.ExitStack() as stack:
        pages = {}
        for seed, transform in enumerate(("edges", "grayscale")):
            model = photo_model(transform, seed)
            model.save(folder / f"{transform}.keras")
            export_tfjs(model, str(folder / transform))
            url = stack.enter_context(serving({"music": str(served["models"] / "music"),
                                               "pix2pix": str(folder / transform)}))
            pages[transform] = (stack.enter_context(demo_page(browser, url)),
                                folder / f"{transform}.keras")
        yield pages


def upload(page, path):
    page.set_input_files("#photo-file", str(path))
    page.evaluate("demo.pix2pixSettled()")


def translate_cli(model_path, photo, transform, tmp_path):
    """`tfcreative pix2pix translate --tiles --transform NAME` of `photo` -> uint8."""
    from tfcreative.cli.main import main

    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "in" / "photo.png").write_bytes(tf.io.encode_png(photo).numpy())
    assert main(["pix2pix", "translate", "--model", str(model_path), "--tiles", "--transform",
                 transform, str(tmp_path / "in"), "--out-dir", str(tmp_path / "out")]) == 0
    return tf.io.decode_png((tmp_path / "out" / "photo.png").read_bytes()).numpy()


def sample_photo(name):
    from skimage import data

    return getattr(data, name)()[..., :3]


@needs_browser
def test_an_edges_model_gets_a_pen_an_eraser_and_an_upload_not_the_label_painter(photo_pages):
    page, _ = photo_pages["edges"]
    assert page.evaluate("demo.pix2pixKind") == "drawing"
    assert page.evaluate("demo.pix2pix.meta.input_transform") == "edges"
    assert not page.is_visible("#label-tools") and not page.is_visible("#palette")
    for control in ("#line-tool", "#eraser-size", "#clear", "#photo-file"):
        assert page.is_visible(control) and page.is_enabled(control), control
    assert "edges → photo" in page.inner_text("#pix2pix-title")
    page.click("#clear")
    page.evaluate("demo.pix2pixSettled()")
    assert (canvas_pixels(page, "input-canvas") == 255).all()  # a white page, the model's size
    assert canvas_pixels(page, "input-canvas").shape == (32, 32, 3)


@needs_browser
def test_the_pen_draws_black_lines_the_eraser_clears_them_and_both_translate_like_python(
        photo_pages, served):
    from tfcreative.pix2pix import load_model
    from tfcreative.pix2pix.tiling import translate_tiled

    page, model_path = photo_pages["edges"]
    page.click("#clear")
    page.locator("#input-canvas").scroll_into_view_if_needed()
    box = page.locator("#input-canvas").bounding_box()
    scale = box["width"] / 32

    def stroke(points, steps=3):
        page.mouse.move(*at(*points[0]))
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*at(*point), steps=steps)
        page.mouse.up()

    def at(x, y):  # the centre of canvas pixel (x, y) on the screen
        return box["x"] + (x + 0.5) * scale, box["y"] + (y + 0.5) * scale

    page.select_option("#line-tool", "pen")
    stroke([(4, 10), (27, 10)])  # a fast horizontal stroke: still no gaps
    stroke([(20, 2), (20, 29)])
    drawn = canvas_pixels(page, "input-canvas")
    wanted = np.full((32, 32, 3), 255)
    wanted[10, 4:28] = 0
    wanted[2:30, 20] = 0
    np.testing.assert_array_equal(drawn, wanted)  # black one-pixel lines on white, nothing else

    page.select_option("#line-tool", "eraser")
    page.fill("#eraser-size", "6")
    page.dispatch_event("#eraser-size", "change")
    stroke([(8, 10), (12, 10)])  # white 6x6 squares along it: x 5..14, y 7..12
    erased = canvas_pixels(page, "input-canvas")
    wanted[7:13, 5:15] = 255
    np.testing.assert_array_equal(erased, wanted)

    page.evaluate("demo.translateCanvas()")
    assert "inference" in page.inner_text("#pix2pix-timing")
    got = canvas_pixels(page, "output-canvas")
    generator = load_model(str(model_path)).generator
    python = to_uint8(translate_tiled(generator, erased / 127.5 - 1.0, (32, 32)))
    assert np.abs(got - python).max() <= 1
    assert np.abs(got - python_translation(generator, erased.astype(np.uint8))).max() <= 1


@needs_browser
@pytest.mark.parametrize("name", ["coffee", "retina"])  # 400x600; 1411x1411: scaled to 1024
def test_an_uploaded_photos_edges_are_pythons_and_its_tiles_translate_as_translate_tiles(
        photo_pages, name, tmp_path):
    page, model_path = photo_pages["edges"]
    photo = sample_photo(name)
    (tmp_path / f"{name}.png").write_bytes(tf.io.encode_png(photo).numpy())
    upload(page, tmp_path / f"{name}.png")
    fitted = fit_within(photo, 1024)  # what training did to a photo this large
    np.testing.assert_array_equal(canvas_pixels(page, "photo-canvas"), fitted)
    edges = canvas_pixels(page, "input-canvas")
    python_edges = photo_transforms.edges(fitted)
    assert (edges == python_edges).all(-1).mean() >= 0.9999  # docs/pix2pix_photos.md: 100 %
    assert (edges == 0).any()
    got = canvas_pixels(page, "output-canvas")
    python = translate_cli(model_path, fitted, "edges", tmp_path)
    assert got.shape == python.shape == fitted.shape  # any size in, the same size out
    assert np.abs(got - python).max() <= 2 and np.abs(got - python).mean() < 0.05
    tiles = len(tiling_starts(fitted.shape[0])) * len(tiling_starts(fitted.shape[1]))
    assert f"in {tiles} tiles of 32×32" in page.inner_text("#pix2pix-timing")
    # the pen draws on the upload's edges; Start again gives a white page of the model's size
    assert page.evaluate("document.getElementById('input-canvas').width") == fitted.shape[1]
    page.click("#clear")
    page.evaluate("demo.pix2pixSettled()")
    assert canvas_pixels(page, "input-canvas").shape == (32, 32, 3)
    assert page.is_hidden("#photo-figure")


@needs_browser
def test_an_upload_that_is_no_image_is_one_line_naming_it(photo_pages, tmp_path):
    page, _ = photo_pages["edges"]
    (tmp_path / "notes.txt").write_text("not a photo")
    upload(page, tmp_path / "notes.txt")
    assert page.inner_text("#pix2pix-timing") == \
        "Error: notes.txt: not an image this browser can read (PNG, JPEG, ...)"
    page.click("#clear")  # the panel still works
    page.evaluate("demo.pix2pixSettled()")
    assert "inference" in page.inner_text("#pix2pix-timing")


def tiling_starts(length):
    from tfcreative.pix2pix.tiling import tile_starts

    return tile_starts(length, 32, 8)


@needs_browser
def test_a_colorization_model_takes_an_upload_made_grey_in_the_page_and_keeps_its_lightness(
        photo_pages, tmp_path):
    page, model_path = photo_pages["grayscale"]
    assert page.evaluate("demo.pix2pixKind") == "photo"
    assert page.evaluate("demo.pix2pix.meta.keep_lightness") is True
    assert not page.is_visible("#drawing-tools") and not page.is_visible("#label-tools")
    assert page.is_enabled("#photo-file")
    photo = sample_photo("chelsea")
    (tmp_path / "chelsea.png").write_bytes(tf.io.encode_png(photo).numpy())
    upload(page, tmp_path / "chelsea.png")
    grey = canvas_pixels(page, "input-canvas")
    python_grey = photo_transforms.grayscale(photo)
    assert (grey == python_grey).all(-1).mean() >= 0.9999
    assert np.abs(grey - python_grey).max() <= 1
    got = canvas_pixels(page, "output-canvas")
    python = translate_cli(model_path, photo, "grayscale", tmp_path)
    assert got.shape == python.shape == photo.shape
    assert np.abs(got - python).max() <= 2 and np.abs(got - python).mean() < 0.05


@needs_browser
@pytest.mark.slow
def test_the_folk_presets_default_tunes_in_the_page_are_whole_tunes(page, tmp_path):
    """Issue 22's demo target: the page's default (Shape: whole tunes, seed box X:1 T:,
    1,000 characters) with the shipped preset writes a whole tune for random seeds 1-10:
    two parts of 8 or 16 bars that repeat and end on the tonic (the independent counter)."""
    from tests.test_meter_form import assert_form
    from tfcreative.export.tfjs import export_tfjs
    from tfcreative.music.controls import tune_controls
    from tfcreative.presets import load_preset

    export_tfjs(load_preset("folk"), str(tmp_path / "models" / "music"))
    export_tfjs(tiny_pix2pix(size=32), str(tmp_path / "models" / "pix2pix"))  # the page has both
    server = make_server("127.0.0.1", 0, str(tmp_path / "models"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    folk = page.context.browser.new_page()  # the module's browser, another server
    try:
        folk.goto(f"http://{host}:{port}/")
        folk.wait_for_function("document.body.dataset.ready", timeout=120_000)
        assert folk.evaluate("document.body.dataset.ready") == "true", \
            folk.inner_text("#status")
        assert folk.input_value("#constrain") == "form"
        defaults = [folk.input_value(f"#{name}") for name in ("seed", "max-length")]
        tunes = folk.evaluate("""async ([seed, length]) => {
            const tunes = [];
            for (let r = 1; r <= 10; r += 1) {
                tunes.push(await demo.generateTune(seed, 1.0, Number(length), r, 'form'));
            }
            return tunes; }""", defaults)
    finally:
        folk.close()
        server.shutdown()
        server.server_close()
    assert all(not t["unconstrained"] for t in tunes)
    assert_form([t["abc"] + "\n" for t in tunes], tune_controls())
