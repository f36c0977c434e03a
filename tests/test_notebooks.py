"""The examples/ notebooks run from top to bottom in a real kernel (nbclient, ipykernel) at tiny
sizes (TFCREATIVE_NOTEBOOK_SMALL=1, the documented switch), and their HTML export (nbconvert,
as a user shares a notebook) shows, in Debian's headless Chromium with the network cut and
RequireJS's `define` present (nbconvert's page loads RequireJS when online), sheet music with
SVG noteheads, working audio players and the Pix2Pix image grids."""

import contextlib
import os
import time

import pytest

from tests.conftest import REPO
from tests.test_notebook_display import (
    CHROMIUM,
    PLAYERS,
    needs_browser,
    open_offline,
    wait_until_rendered,
)

EXAMPLES = os.path.join(REPO, "examples")
TIMEOUT_S = 900  # per cell; the whole music notebook takes about a minute on 2 cores

needs_jupyter = pytest.mark.skipif(
    not os.environ.get("CI") and any(
        __import__("importlib").util.find_spec(m) is None
        for m in ("nbclient", "nbconvert", "ipykernel")),
    reason='needs the test extra (pip install -e ".[test]": nbclient, nbconvert, ipykernel)')


def nbconvert_data_dir() -> str | None:
    """The share/jupyter folder of the environment nbconvert is installed in (its HTML
    templates), when that is not this interpreter's own (a venv that borrows packages)."""
    import nbconvert

    prefix = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(nbconvert.__file__))))))
    folder = os.path.join(prefix, "share", "jupyter")
    return folder if os.path.isdir(folder) else None


@pytest.fixture(scope="module")
def run_notebook(tmp_path_factory, tfds_dir):
    """Executes examples/<name> in its own folder, returns (the notebook, its HTML file)."""
    import nbclient
    import nbconvert
    import nbformat

    def run(name: str, monkeypatch):
        work = tmp_path_factory.mktemp(name.split(".")[0])
        monkeypatch.setenv("TFCREATIVE_NOTEBOOK_SMALL", "1")
        monkeypatch.setenv("TFDS_DATA_DIR", tfds_dir)  # prepared once per test session
        monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
        if (extra := nbconvert_data_dir()) is not None:
            monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(
                filter(None, [os.environ.get("JUPYTER_PATH"), extra])))
        notebook = nbformat.read(os.path.join(EXAMPLES, name), as_version=4)
        start = time.perf_counter()
        nbclient.NotebookClient(notebook, timeout=TIMEOUT_S, kernel_name="python3",
                                resources={"metadata": {"path": str(work)}}).execute()
        print(f"\n{name}: executed in {time.perf_counter() - start:.0f} s")
        body, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
        page = work / (name.split(".")[0] + ".html")
        page.write_text(body, encoding="utf-8")
        return notebook, work, page

    return run


# Per sheet-music block of the page: how many noteheads abcjs drew.
NOTEHEADS = ("[...document.querySelectorAll('.tfcreative-tune')].map("
             "e => e.querySelectorAll('svg .abcjs-note').length)")


@contextlib.contextmanager
def offline_page(page_file):
    """(page, errors): the notebook's HTML export open in headless Chromium, network cut."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page, errors, _ = open_offline(browser, page_file)
            yield page, errors
        finally:
            browser.close()


def outputs_of(notebook, kind: str) -> list:
    return [o for cell in notebook.cells if cell.cell_type == "code"
            for o in cell.get("outputs", []) if kind in o.get("data", {})]


def test_both_notebooks_are_tested_and_start_with_the_switch():
    import nbformat

    assert sorted(os.listdir(EXAMPLES)) == ["music_generation.ipynb", "pix2pix.ipynb",
                                            "presets.ipynb"]
    for name in os.listdir(EXAMPLES):
        notebook = nbformat.read(os.path.join(EXAMPLES, name), as_version=4)
        settings = next(c for c in notebook.cells if c.cell_type == "code")
        assert "parameters" in settings.metadata.get("tags", []), name
        assert 'os.environ.get("TFCREATIVE_NOTEBOOK_SMALL") == "1"' in settings.source, name
        assert not any(c.get("outputs") for c in notebook.cells if c.cell_type == "code"), \
            f"{name}: saved with outputs"


@pytest.mark.slow
@needs_jupyter
@needs_browser
def test_music_notebook_shows_and_sounds_its_tunes(run_notebook, monkeypatch):
    notebook, work, page_file = run_notebook("music_generation.ipynb", monkeypatch)
    html_outputs = outputs_of(notebook, "text/html")
    loaders = [o for o in html_outputs if "window.tfcreativeTunes" in o["data"]["text/html"]
               and "abcjs_basic v6.7.2" in o["data"]["text/html"]]
    assert len(loaders) == 1  # abcjs written once, in the first tune's output
    for name in ("model.keras", "tune_01.mid", "tune_01.wav", "tune_04.mid", "tune_04.wav"):
        assert (work / "runs" / "music_lab" / name).stat().st_size > 0, name

    with offline_page(page_file) as (page, errors):
        wait_until_rendered(page)
        noteheads = page.evaluate(NOTEHEADS)
        # the training tune, the gallery of 4, the single tune
        assert len(noteheads) == 6 and min(noteheads) > 0, noteheads
        players = page.evaluate(PLAYERS)
    sheet_players = [p for p in players if p["className"] == "tfcreative-tune-audio"]
    python_players = [p for p in players if p["className"] == "tfcreative-audio"]
    assert len(sheet_players) == 6 and len(python_players) == 1
    assert all(p["controls"] and p["duration"] > 1 for p in players)
    # tunes[0] shown alone plays as long as its audio() rendered in Python
    assert sheet_players[5]["duration"] == pytest.approx(python_players[0]["duration"], abs=0.05)
    assert not errors


@pytest.mark.slow
@needs_jupyter
@needs_browser
def test_pix2pix_notebook_shows_its_grids(run_notebook, monkeypatch):
    notebook, work, page_file = run_notebook("pix2pix.ipynb", monkeypatch)
    assert (work / "runs" / "pix2pix_lab" / "test_grid.png").stat().st_size > 0
    [metrics] = [o for o in outputs_of(notebook, "text/plain") if "'psnr'" in
                 o["data"]["text/plain"]]
    assert "'ssim'" in metrics["data"]["text/plain"]

    with offline_page(page_file) as (page, errors):
        grids = page.evaluate("[...document.querySelectorAll('.tfcreative-translations')].map("
                              "t => [[...t.querySelectorAll('th')].map(h => h.textContent),"
                              " [...t.querySelectorAll('img')].map(i => i.naturalWidth)])")
    rows = 4  # NUM_SHOWN
    assert grids == [[["label map", "photo"], [32] * 2 * rows],
                     [["input", "output", "target"], [32] * 3 * rows],
                     [["input", "output", "target"], [32] * 3 * rows]]
    assert not errors


@pytest.mark.slow
@needs_jupyter
@needs_browser
def test_presets_notebook_plays_the_shipped_models(run_notebook, monkeypatch):
    notebook, _, page_file = run_notebook("presets.ipynb", monkeypatch)
    [scores] = [o for o in outputs_of(notebook, "text/plain")
                if "'oneills_1850'" in o["data"]["text/plain"]]
    assert "'irish_folk'" in scores["data"]["text/plain"]

    with offline_page(page_file) as (page, errors):
        wait_until_rendered(page)
        noteheads = page.evaluate(NOTEHEADS)
        players = page.evaluate(PLAYERS)
        grids = page.evaluate("[...document.querySelectorAll('.tfcreative-translations')].map("
                              "t => [...t.querySelectorAll('img')].map(i => i.naturalWidth))")
    assert len(noteheads) == 3 and min(noteheads) > 0, noteheads  # a gallery of 2, one more
    assert sum(p["className"] == "tfcreative-audio" for p in players) == 1
    assert all(p["controls"] and p["duration"] > 1 for p in players)
    assert grids == [[256] * 3 * 2]  # input | output | target, NUM_SHOWN rows, at 256 px
    assert not errors
