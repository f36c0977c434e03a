"""The browser's meter tracker (tfcreative/web/abc_meter.js) against the Python one: the same
texts give the same masks, step by step, and the same verdicts."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from tests.conftest import REPO
from tests.test_meter import BARS, corpus_text, walk
from tests.test_meter_form import EVERY_CONSTRUCT, assert_form, form_walk
from tfcreative.abc_notation import TUNE_SEPARATOR, parse_abc_text
from tfcreative.music import meter, meter_program, meter_rules
from tfcreative.music.controls import tune_controls
from tfcreative.music.vocabulary import CharVocabulary

RUNNER = os.path.join(REPO, "tests", "js", "meter_masks.mjs")
GENERATE = os.path.join(REPO, "tests", "js", "meter_generate.mjs")
needs_node = pytest.mark.skipif(shutil.which("node") is None and not os.environ.get("CI"),
                                reason="node needed; CI has it")


def python_masks(texts, vocabulary, controls=None):
    """The NumPy tracker's mask before every character (and after the last) of each text,
    with the rule that a row never has no allowed character (`controls`: with the form)."""
    t = meter.vocab_tables(vocabulary)
    out = []
    for text in texts:
        r = meter.start_registers(1, controls)
        masks = []
        for ch in text + "\0":
            mask = meter.allowed(t, r)[0]
            masks.append("".join("1" if m else "0" for m in (mask if mask.any() else ~mask)))
            if ch != "\0":
                r = meter.advance(t, r, np.array([vocabulary.id_of(ch)], np.int64))
        out.append({"masks": masks, "lost": bool(r.state[0] == t.lost),
                    "violations": int(r.violations[0])})
    return out


def javascript_masks(texts, vocabulary, controls=None):
    """What `python_masks` gives, from the browser's tracker (Node) over the tables and rules
    as exported now."""
    request = {"tables": json.loads(meter_program.tracker_json()),
               "characters": "".join(vocabulary.characters), "texts": texts,
               "settings": meter.settings_registers(controls)}
    result = subprocess.run(["node", RUNNER], input=json.dumps(request), capture_output=True,
                            text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)["results"]


@needs_node
def test_javascript_tracker_gives_the_python_masks_step_by_step():
    tunes = [t.abc + "\n\n" for t in parse_abc_text(corpus_text()).tunes]
    # corpus tunes of every kind (pickups, endings, the abc2midi quirks, a body M: change),
    # the hand-counted fragments, and text the tracker must give up on
    texts = tunes[:3] + [tunes[i] for i in (241, 261, 377, 456, 491, 523, 801)] + \
        [text for _, text, _ in BARS] + ["X:1\nT:t\nM:2+3/8\nK:D\nabc|\n", "X:1\nT:\u00e9\n"]
    vocabulary = CharVocabulary.from_texts(texts + [TUNE_SEPARATOR])
    vocabulary = CharVocabulary(set(vocabulary.characters) - {"\u00e9"})  # an unknown char
    # and random walks through the strict mask: states the corpus never reaches
    walks, _ = walk(vocabulary, rows=6, steps=400, seed=1,
                    weigh=lambda texts, step: np.ones(vocabulary.size))
    texts += walks
    js = javascript_masks(texts, vocabulary)
    ours = python_masks(texts, vocabulary)
    for text, a, b in zip(texts, ours, js, strict=True):
        for step, (x, y) in enumerate(zip(a["masks"], b["masks"], strict=True)):
            assert x == y, (f"masks differ before character {step} of {text[:40]!r}: "
                            f"{text[max(0, step - 30):step]!r}")
        assert (a["lost"], a["violations"]) == (b["lost"], b["violations"])
    assert sum(r["lost"] for r in ours) == 1 and sum(r["violations"] > 0 for r in ours) >= 3


@needs_node
def test_javascript_tracker_gives_the_python_masks_with_the_form():
    """The form rules and fixed header values run in the browser too: the same masks, step
    by step, on walks that keep the form (states and registers the meter alone never
    reaches) and on corpus tunes."""
    vocabulary = CharVocabulary(set(corpus_text()) | EVERY_CONSTRUCT)
    tunes = [t.abc + "\n\n" for t in parse_abc_text(corpus_text()).tunes]
    for settings in ({"parts": 2, "key": "Ador", "tune_type": "hornpipe"},
                     {"parts": 1, "meter": "3/4", "chord_symbols": True, "repeats": False}):
        controls = tune_controls(**settings)
        texts = form_walk(vocabulary, controls, rows=3, steps=2500, seed=2) + tunes[:2]
        ours = python_masks(texts, vocabulary, controls)
        js = javascript_masks(texts, vocabulary, controls)
        for text, a, b in zip(texts, ours, js, strict=True):
            for step, (x, y) in enumerate(zip(a["masks"], b["masks"], strict=True)):
                assert x == y, (f"masks differ before character {step} of {text[:40]!r}: "
                                f"{text[max(0, step - 30):step]!r}")
            assert (a["lost"], a["violations"]) == (b["lost"], b["violations"])


@needs_node
def test_a_rule_changed_in_python_changes_the_browsers_tracker_too(monkeypatch):
    """The browser runs the Python rules (exported), not a copy of its own: a rule changed in
    meter_rules (here: no broken rhythm) changes both trackers' masks alike."""
    text = "X:1\nT:t\nM:4/4\nL:1/8\nK:D\nA>B c2 d2 e2|\n\n"
    vocabulary = CharVocabulary.from_texts([text])
    after_a = text.index("A>") + 1
    broken = vocabulary.id_of(">")
    assert python_masks([text], vocabulary)[0]["masks"][after_a][broken] == "1"
    original = meter_rules.note_conditions

    def no_broken_rhythm(r, view, form, ops):
        return {**original(r, view, form, ops), "BROKEN_RHYTHM": r.state < 0}

    monkeypatch.setattr(meter_rules, "note_conditions", no_broken_rhythm)
    ours, js = python_masks([text], vocabulary)[0], javascript_masks([text], vocabulary)[0]
    assert ours["masks"][after_a][broken] == "0"
    assert ours["masks"] == js["masks"]


def test_a_rule_the_browser_could_not_run_is_refused_at_export(monkeypatch):
    """A Python branch on a register (which NumPy would take for a single row) cannot be
    traced into the browser's programs: the export says so instead of dropping a branch."""
    original = meter_rules.start_note

    def branching(r, edge, ops):
        return original(r, edge, ops) if r.note_pending == 0 else r

    monkeypatch.setattr(meter_rules, "start_note", branching)
    with pytest.raises(TypeError, match="no truth value"):
        meter_program.tracker_json()


@needs_node
def test_the_demo_generates_with_the_meter_and_every_bar_fits():
    """generateTune (web/music.js) with a MeterTracker, from a model whose logits are all
    equal: the meter alone makes a tune in which every bar fits; without it, none."""
    vocabulary = CharVocabulary.from_texts([corpus_text(), TUNE_SEPARATOR])
    tables = json.loads(meter_program.tracker_json())

    def generate(use_meter, random_seed):
        request = {"tables": tables, "characters": "".join(vocabulary.characters),
                   "seed": "X:1\nT:", "max_length": 3000, "random_seed": random_seed,
                   "meter": use_meter}
        result = subprocess.run(["node", GENERATE], input=json.dumps(request),
                                capture_output=True, text=True, cwd=REPO, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout)

    for random_seed in (1, 2, 3):
        tune = generate(True, random_seed)
        report = meter.bar_report(tune["abc"], vocabulary)
        assert not tune["unconstrained"] and report.followed
        assert report.violations == 0 and len(report.bars) >= 2
        free = meter.bar_report(generate(False, random_seed)["abc"], vocabulary)
        assert not free.followed or free.violations > 0


@needs_node
def test_the_demo_generates_a_whole_tune_with_its_parts():
    """generateTune with the form's tracker (what the page runs by default), from a model
    whose logits are all equal: the tracker alone makes each tune a whole one, two parts of
    8 bars repeated, ending on the tonic (by the independent counter)."""
    vocabulary = CharVocabulary.from_texts([corpus_text(), TUNE_SEPARATOR])
    controls = tune_controls()
    request = {"tables": json.loads(meter_program.tracker_json()),
               "characters": "".join(vocabulary.characters), "seed": "X:1\nT:",
               "max_length": 5000, "meter": True,
               "settings": meter.settings_registers(controls)}
    for random_seed in (1, 2, 3):
        result = subprocess.run(["node", GENERATE], input=json.dumps(
            {**request, "random_seed": random_seed}), capture_output=True, text=True, cwd=REPO,
            timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        tune = json.loads(result.stdout)
        assert not tune["unconstrained"]
        assert_form([tune["abc"]], controls)


def test_the_page_ships_the_grammars_tables():
    """tfcreative/web/abc_meter_tables.json (tools/write_meter_tables.py) is the Python
    grammar's tables and rules."""
    import json

    shipped = os.path.join(REPO, "tfcreative", "web", "abc_meter_tables.json")
    with open(shipped, encoding="utf-8") as f:
        assert json.load(f) == json.loads(meter_program.tracker_json())
