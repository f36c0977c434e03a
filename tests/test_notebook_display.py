"""What tunes and Pix2Pix results show in a notebook: the HTML they write (abcjs from the package,
once per kernel; the notes the player plays; nothing that can break out of its element) and,
in Debian's headless Chromium with the network cut and RequireJS's `define` present (as in
nbconvert's HTML), sheet music with SVG noteheads and players that play the tune's notes."""

import base64
import html.parser
import json
import os
import re
import shutil
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import make_tiny_model
from tests.test_pix2pix_model import tiny_pix2pix
from tests.test_tune_audio import ONE_A, peak_hertz, read_wav
from tfcreative.errors import InvalidArgument
from tfcreative.music import display
from tfcreative.music.sampler import TuneSampler
from tfcreative.music.tune import GeneratedTune, Tune, Tunes
from tfcreative.music.vocabulary import CharVocabulary
from tfcreative.pix2pix.display import TranslationGrid, translation_grid
from tfcreative.pix2pix.images import to_uint8
from tfcreative.serve import packaged_vendor_files, vendor_root

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(
    not os.environ.get("CI") and (CHROMIUM is None
                                  or __import__("importlib").util.find_spec("playwright") is None),
    reason="needs Debian's chromium and `pip install playwright`; CI has both")
TWO_BARS = "X:2\nT:Two bars\nM:6/8\nL:1/8\nK:D\nABc def|gfe dcB|]"


@pytest.fixture
def fresh_kernel(monkeypatch):
    """As in a kernel that has shown no tune yet."""
    monkeypatch.setattr(display, "_loader_written", False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)


class Elements(html.parser.HTMLParser):
    """The start tags of a fragment, and the text inside each <script>."""

    def __init__(self, fragment):
        super().__init__()
        self.tags, self.scripts, self._in_script = [], [], False
        self.feed(fragment)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append([dict(attrs), ""])

    def handle_endtag(self, tag):
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1][1] += data


def tune_data(fragment):
    return [json.loads(text) for attrs, text in Elements(fragment).scripts
            if attrs.get("type") == "application/json"]


def test_a_tune_shows_its_abc_its_notes_and_what_the_sheet_does_not_say(fresh_kernel):
    tune = GeneratedTune(ONE_A, seed=7, complete=False)
    fragment = tune._repr_html_()
    [data] = tune_data(fragment)
    assert data["abc"] == ONE_A
    assert data["notes"] == [{"pitch": 69, "start": 0.0, "duration": 2.0,
                              "volume": round(105 / 127, 3)}]  # a bar's first note
    assert data["notes"] == [{"pitch": n.pitch, "start": n.start, "duration": n.duration,
                              "volume": round(n.volume, 3)} for n in tune.audio().notes]
    assert "seed 7, cut at max_length" in fragment
    assert "<pre>X:1\nT:A\nM:4/4" in fragment  # the ABC text where scripts do not run


def test_abcjs_goes_into_the_first_output_of_a_kernel_only(fresh_kernel, monkeypatch):
    with open(os.path.join(vendor_root(), packaged_vendor_files()[display.ABCJS_FILE])) as f:
        abcjs = f.read()
    first, second = Tune(ONE_A)._repr_html_(), Tunes([ONE_A, TWO_BARS])._repr_html_()
    assert abcjs in first and "window.tfcreativeTunes" in first
    assert abcjs not in second and len(second) < len(first) - len(abcjs)
    assert abcjs in display.tune_html(ONE_A, include_loader=True)  # after clearing that output
    monkeypatch.setitem(sys.modules, "google.colab", object())  # each output its own page
    assert abcjs in Tune(ONE_A)._repr_html_() and abcjs in Tunes([ONE_A])._repr_html_()


def test_no_tune_text_can_break_out_of_its_element(fresh_kernel):
    nasty = ('X:1\nT:</script><script>alert(1)</script> & <b>bold</b>\nM:4/4\nL:1/4\nK:C\n'
             'A4|]<!--')
    fragment = display.tune_html(nasty, include_loader=False)
    parsed = Elements(fragment)
    assert [t for t, _ in parsed.tags].count("script") == 2  # the data block and the starter
    assert "b" not in [t for t, _ in parsed.tags]
    assert tune_data(fragment)[0]["abc"] == nasty


def test_a_tune_music21_cannot_read_shows_without_a_player_and_says_why(fresh_kernel):
    fragment = display.tune_html("X:1\nT:Empty\nM:4/4\nL:1/4\nK:C\n", include_loader=False)
    assert tune_data(fragment)[0]["notes"] is None
    assert "no audio: no notes in the tune" in fragment


def test_generate_returns_a_gallery(fresh_kernel):
    model = make_tiny_model(CharVocabulary("X:1\nT:M6/8L:K D abcdefgABCDEFG|/2 "))
    tunes = TuneSampler(model).generate("X:1\nT:A\nM:6/8\nL:1/8\nK:D\n", num_tunes=3,
                                        max_length=40, seed=3)
    assert isinstance(tunes, Tunes) and all(isinstance(t, GeneratedTune) for t in tunes)
    assert tunes == list(tunes)  # still a plain list to every other use
    fragment = tunes._repr_html_()
    assert [d["abc"] for d in tune_data(fragment)] == [t.abc for t in tunes]
    assert fragment.count('class="tfcreative-tune"') == 3
    assert 'class="tfcreative-tunes" style="--tfc-columns:2"' in fragment
    with pytest.raises(InvalidArgument, match="columns"):
        display.gallery_html(tunes, columns=0)
    with pytest.raises(InvalidArgument, match="tunes: .* int"):
        display.gallery_html([1])


def decode_images(fragment):
    sources = re.findall(r'<img src="data:image/png;base64,([^"]+)"', fragment)
    return [tf.io.decode_png(base64.b64decode(s)).numpy() for s in sources]


def test_translation_grids_hold_each_input_output_and_target(tmp_path):
    model = tiny_pix2pix(size=32)
    rng = np.random.default_rng(0)
    inputs = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    targets = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    grid = translation_grid(model, inputs, targets)
    expected = model(tf.constant(inputs, tf.float32) / 127.5 - 1.0, training=False).numpy()
    shown = decode_images(grid._repr_html_())
    assert len(shown) == 6 and "<th" in grid._repr_html_() and ">target</th>" in grid._repr_html_()
    for row in range(2):
        assert (shown[3 * row] == inputs[row]).all()
        assert (shown[3 * row + 1] == to_uint8(expected[row])).all()
        assert (shown[3 * row + 2] == targets[row]).all()
    # floats in [-1, 1], the pipeline's range, give the same outputs
    floats = translation_grid(model, inputs.astype(np.float32) / 127.5 - 1.0)
    assert len(floats.columns) == 2 and (floats.columns[1] == grid.columns[1]).all()
    path = grid.save(str(tmp_path / "grid.png"))
    assert (tf.io.decode_png(tf.io.read_file(path)).numpy() == grid.image).all()
    assert grid.image.shape == (64, 96, 3)
    with pytest.raises(InvalidArgument, match="targets: expected as many images"):
        TranslationGrid(inputs, inputs, targets[:1])
    with pytest.raises(InvalidArgument, match="inputs: expected RGB images"):
        translation_grid(model, inputs[..., :1])


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


def open_offline(browser, path):
    """A page with the network cut and RequireJS's `define` present (it makes UMD bundles
    such as abcjs register as AMD modules instead of globals)."""
    page = browser.new_page()
    errors, requests = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def only_local(route):
        requests.append(route.request.url)
        if route.request.url.startswith(("file:", "blob:", "data:")):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", only_local)
    page.add_init_script("window.define = function () { window.amdDefines += 1; };"
                         "window.define.amd = {}; window.amdDefines = 0;")
    page.goto(f"file://{path}")
    return page, errors, requests


SETTLED = ("[...document.querySelectorAll('.tfcreative-tune')].every("
           "e => ['true', 'error'].includes(e.dataset.rendered))")
RENDERED = ("[...document.querySelectorAll('.tfcreative-tune')].map("
            "e => e.dataset.rendered === 'true' || e.textContent)")


def wait_until_rendered(page):
    page.wait_for_function(SETTLED, timeout=60_000)
    rendered = page.evaluate(RENDERED)
    assert all(r is True for r in rendered), rendered
PLAYERS = """async () => Promise.all([...document.querySelectorAll('audio')].map(async a => {
    if (a.readyState < 1) await new Promise(r => a.addEventListener('loadedmetadata', r));
    const wav = a.src.startsWith('blob:') ? new Uint8Array(await (await fetch(a.src))
        .arrayBuffer()) : null;
    return {className: a.className, controls: a.controls, duration: a.duration,
            wav: wav && btoa(Array.from(wav, b => String.fromCharCode(b)).join(''))};
}))"""


@needs_browser
def test_in_chromium_tunes_show_as_sheet_music_with_players(browser, tmp_path, fresh_kernel):
    one = Tune(ONE_A)
    gallery = Tunes([TWO_BARS, GeneratedTune(ONE_A, seed=1, complete=True)])
    first = one._repr_html_()  # holds the loader
    # Outputs shown before the one holding the loader wait for it; the Python-rendered player.
    page_html = (f"<!doctype html><meta charset=utf-8><body>{gallery._repr_html_()}{first}"
                 f"{one.audio()._repr_html_()}</body>")
    (tmp_path / "page.html").write_text(page_html, encoding="utf-8")
    page, errors, requests = open_offline(browser, tmp_path / "page.html")
    wait_until_rendered(page)
    noteheads = page.evaluate("[...document.querySelectorAll('.tfcreative-tune')].map("
                              "e => e.querySelectorAll('.tfcreative-tune-sheet svg "
                              ".abcjs-note').length)")
    assert noteheads == [12, 1, 1]  # the gallery's two tunes, then the single one
    players = page.evaluate(PLAYERS)
    assert [p["className"] for p in players] == ["tfcreative-tune-audio"] * 3 \
        + ["tfcreative-audio"]
    assert all(p["controls"] for p in players)
    python = one.audio()
    for player in (players[1], players[2], players[3]):  # one A: as long as Python's audio
        assert player["duration"] == pytest.approx(python.duration, abs=0.01)
    assert players[0]["duration"] == pytest.approx(3.0 + 0.2, abs=0.01)  # 2 bars of 6/8
    # what the sheet's player plays: Python's notes on the page's synthesizer
    samples, rate = read_wav(base64.b64decode(players[2]["wav"]))
    assert rate == python.sample_rate
    assert peak_hertz(samples[int(0.1 * rate):int(1.9 * rate)], rate) == pytest.approx(440, abs=2)
    assert np.abs(samples[int(2.2 * rate) - 10:]).max() < 1e-3
    assert page.evaluate("typeof window.ABCJS") == "undefined"  # no globals but ours
    assert page.evaluate("window.amdDefines") == 0
    assert not page.is_visible(".tfcreative-tune-abc pre")  # folded away once rendered
    assert not [r for r in requests if not r.startswith(("file:", "blob:", "data:"))]
    assert not errors
    page.close()


@needs_browser
def test_in_chromium_translation_grids_show_their_images(browser, tmp_path):
    grid = TranslationGrid(np.zeros((2, 32, 32, 3), np.uint8),
                           np.full((2, 32, 32, 3), 255, np.uint8))
    (tmp_path / "grid.html").write_text(f"<!doctype html><body>{grid._repr_html_()}</body>")
    page, errors, _ = open_offline(browser, tmp_path / "grid.html")
    sizes = page.evaluate("[...document.querySelectorAll('img')].map(i => [i.naturalWidth, "
                          "i.getBoundingClientRect().width])")
    assert sizes == [[32, 128]] * 4  # shown at 128 px, sharp
    assert not errors
    page.close()


def test_the_display_modules_load_lazily():
    from tests.conftest import run_python_json

    out = run_python_json(
        "import json, sys\nfrom tfcreative.music.tune import Tune, Tunes  # noqa: F401\n"
        "print(json.dumps({m: m in sys.modules for m in ('music21', 'tensorflow', "
        "'tfcreative.music.display', 'IPython')}))")
    assert not any(out.values()), out
