"""Tunes in Jupyter: engraved sheet music (abcjs) with an audio player, one tune or a gallery.

Everything ships in the package and works offline, in a saved notebook and in its HTML export:
abcjs is the copy the demo page uses (web/vendor/, see tfcreative.serve), written into the
notebook once per kernel (about 0.5 MB) inside a loader that keeps it out of the page's globals
and out of RequireJS's way; each later output only holds its ABC text and its notes. The player
renders those notes in the browser (the demo page's synthesizer, web/tune_player.js) into a WAV
file in memory, so outputs stay small. The notes are read in Python from the tune's MIDI file
(tfcreative.music.midi), so the player plays what `tune.to_midi` / `tune.to_wav` write.

Where each output is its own page (Google Colab), the loader goes into every output. Where the
notebook's JavaScript does not run (an untrusted notebook), the ABC text shows instead.
"""

from __future__ import annotations

import html
import json
import os
import re
import sys
import uuid

from tfcreative.errors import InvalidArgument
from tfcreative.music.audio import SAMPLE_RATE, midi_notes
from tfcreative.music.midi import MidiConversionError, abc_to_midi
from tfcreative.serve import packaged_vendor_files, vendor_root, web_root

ABCJS_FILE = "abcjs-basic-min.js"
_HERE = os.path.dirname(os.path.abspath(__file__))
_loader_written = False  # the loader went into an output of this kernel already

STYLE = """<style>
.tfcreative-tunes{display:grid;grid-template-columns:repeat(var(--tfc-columns),minmax(0,1fr));
gap:12px 20px}
.tfcreative-tune{max-width:760px}
.tfcreative-tune audio{width:100%;max-width:420px;height:32px;display:block}
.tfcreative-tune-caption,.tfcreative-tune-hint{font-size:85%;opacity:.75}
.tfcreative-tune-abc summary{cursor:pointer;font-size:85%;opacity:.75}
.tfcreative-tune-abc pre{white-space:pre-wrap;font-size:85%;margin:2px 0}
</style>"""


def _script_text(source: str) -> str:
    """JavaScript safe inside an HTML <script> element."""
    return re.sub(r"</(script)", r"<\\/\1", source, flags=re.IGNORECASE)


def _player_functions() -> str:
    """web/tune_player.js (an ES module) as plain function declarations."""
    with open(os.path.join(web_root(), "tune_player.js"), encoding="utf-8") as f:
        source = f.read()
    source = re.sub(r"^export (async function|function) ", r"\1 ", source, flags=re.MULTILINE)
    if re.search(r"^\s*(import|export)\b", source, flags=re.MULTILINE):
        raise RuntimeError("web/tune_player.js: expected function declarations only")
    return source


def loader_html() -> str:
    """The <script> that defines window.tfcreativeTunes: abcjs, the synthesizer, display.js.

    abcjs is a UMD bundle: under RequireJS (classic Notebook, nbconvert's HTML) it would register
    itself as an anonymous AMD module and never be reachable. The wrapper hides `define`,
    `module` and `exports` from it and hands it an object of ours as its global."""
    with open(os.path.join(vendor_root(), packaged_vendor_files()[ABCJS_FILE]),
              encoding="utf-8") as f:
        abcjs = f.read()
    with open(os.path.join(_HERE, "display.js"), encoding="utf-8") as f:
        display = f.read()
    return ("<script>(function () {\n"
            "if (window.tfcreativeTunes) return;\n"
            "var abcjsGlobal = {};\n"
            f"(function (define, module, exports) {{\n{abcjs}\n}}).call(abcjsGlobal);\n"
            "var ABCJS = abcjsGlobal.ABCJS;\n"
            f"{_player_functions()}\n{display}\n"
            "})();</script>")


def _json_block(value) -> str:
    """JSON that cannot close the <script> element holding it."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _abc_of(tune) -> str:
    if isinstance(tune, str):
        return tune
    if hasattr(tune, "abc"):
        return tune.abc
    raise InvalidArgument("tunes", f"expected tunes or ABC strings, got a {type(tune).__name__}")


def caption(tune) -> str:
    """What the sheet does not show: a generated tune's seed and whether it ended."""
    parts = []
    if hasattr(tune, "seed"):
        parts.append(f"seed {tune.seed}")
    if getattr(tune, "complete", True) is False:
        parts.append("cut at max_length")
    if getattr(tune, "unconstrained_fallback", False):
        parts.append("partly sampled without the meter constraint")
    return ", ".join(parts)


def tune_notes(abc: str) -> tuple[list[dict] | None, str | None]:
    """The notes the player plays (from the tune's MIDI file), or None and why not."""
    try:
        notes = midi_notes(abc_to_midi(abc).data)
    except MidiConversionError as error:
        return None, str(error)
    return [{"pitch": n.pitch, "start": round(n.start, 4), "duration": round(n.duration, 4),
             "volume": round(n.volume, 3)} for n in notes], None


def _include_loader(include_loader: bool | None) -> bool:
    global _loader_written
    if include_loader is None:  # once per kernel; every output where each is its own page
        include_loader = not _loader_written or "google.colab" in sys.modules
    _loader_written = _loader_written or include_loader
    return include_loader


def _tune_block(tune) -> str:
    abc = _abc_of(tune)
    notes, problem = tune_notes(abc)
    element_id = f"tfcreative-tune-{uuid.uuid4().hex}"
    note = caption(tune) if not isinstance(tune, str) else ""
    if problem:
        problem = problem if len(problem) <= 160 else problem[:159] + "…"
        note = "; ".join(filter(None, [note, f"no audio: {problem}"]))
    data = {"abc": abc, "notes": notes, "sampleRate": SAMPLE_RATE}
    start = ("(function(){var go=function(){window.tfcreativeTunes.render("
             f"{json.dumps(element_id)})}};if(window.tfcreativeTunes)go();else"
             "(window.tfcreativeTunesWaiting=window.tfcreativeTunesWaiting||[]).push(go)})();")
    return (f'<div class="tfcreative-tune" id="{element_id}">'
            '<div class="tfcreative-tune-sheet"></div>'
            + (f'<div class="tfcreative-tune-caption">{html.escape(note)}</div>' if note else "")
            + '<details class="tfcreative-tune-abc" open><summary>ABC</summary>'
            f"<pre>{html.escape(abc)}</pre></details>"
            '<div class="tfcreative-tune-hint">Sheet music and the player show when the '
            "notebook's JavaScript runs (a trusted notebook).</div>"
            f'<script type="application/json" class="tfcreative-tune-data">{_json_block(data)}'
            f"</script><script>{start}</script></div>")


def tune_html(tune, include_loader: bool | None = None) -> str:
    """One tune (a Tune, GeneratedTune or ABC text) as sheet music with a player.

    include_loader None: abcjs and the player's code go into the first output of the kernel
    only (every output on Colab); True/False to force it, e.g. after clearing that output."""
    loader = loader_html() if _include_loader(include_loader) else ""
    return f"{loader}{STYLE}{_tune_block(tune)}"


def gallery_html(tunes, columns: int = 2, include_loader: bool | None = None) -> str:
    """Several tunes side by side, `columns` to a row (see tune_html)."""
    if columns < 1:
        raise InvalidArgument("columns", f"expected >= 1, got {columns}")
    blocks = "".join(_tune_block(tune) for tune in tunes)
    loader = loader_html() if _include_loader(include_loader) else ""
    return (f'{loader}{STYLE}<div class="tfcreative-tunes" style="--tfc-columns:{columns}">'
            f"{blocks}</div>")


class TuneGallery:
    """Shows as a gallery in a notebook (the value of a cell, or `IPython.display.display`)."""

    def __init__(self, tunes, columns: int = 2):
        self.tunes, self.columns = list(tunes), columns

    def _repr_html_(self) -> str:
        return gallery_html(self.tunes, self.columns)


def show_tunes(tunes, columns: int = 2) -> None:
    """Displays tunes (or ABC strings) as a gallery in the running notebook."""
    try:
        from IPython.display import display
    except ImportError:
        raise RuntimeError("show_tunes displays in Jupyter (IPython is not installed); "
                           "elsewhere gallery_html(tunes) gives the HTML") from None
    display(TuneGallery(tunes, columns))
