"""Form-aware sampling: the tracker's form rules (tfcreative/music/meter_rules.py) judged by the
independent form counter (tfcreative/music/form.py): parts of 8 or 16 bars that repeat, the
number of parts asked, the last note on the tonic, fixed header values, chord symbols or no
quoted text; no dead ends whatever is chosen; the same masks in TensorFlow; the meter alone
unchanged."""

import concurrent.futures
import hashlib
import importlib.resources
import re

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import compiled_sampler, needs_abc2midi
from tests.test_meter import corpus_text, walk
from tfcreative.abc_notation import TUNE_SEPARATOR, parse_abc_text
from tfcreative.music import abc2midi, meter
from tfcreative.music.abc_grammar import CHORD_QUALITIES
from tfcreative.music.controls import tune_controls
from tfcreative.music.form import read_form
from tfcreative.music.meter_graph import MeterConstraint
from tfcreative.music.vocabulary import CharVocabulary

EVERY_CONSTRUCT = set("{}~+$\\\"^#")


@pytest.fixture(scope="module")
def vocabulary():
    return CharVocabulary(set(corpus_text()) | EVERY_CONSTRUCT)


def allowed_after(text, vocabulary, controls=None):
    """The characters the tracker allows after `text` (one row)."""
    t = meter.vocab_tables(vocabulary)
    r = meter.start_registers(1, controls)
    for ch in text:
        r = meter.advance(t, r, np.array([vocabulary.id_of(ch)], np.int64))
    mask = meter.allowed(t, r)[0]
    return {vocabulary.characters[i - 1] for i in np.nonzero(mask)[0] if i > 0}


def form_walk(vocabulary, controls, rows, steps, seed, weigh=None, seed_text="X:1\nT:"):
    """Walks through the strict mask with the form rules (test_meter.walk); asserts that no
    row is ever left without an allowed character; returns the texts (every one ended)."""
    texts, done = walk(vocabulary, rows, steps, seed, weigh, controls, seed_text)
    assert done.all()
    return texts


def assert_form(texts, controls):
    for text in texts:
        form = read_form(text)
        shape = [(p.bars, p.repeated) for p in form.parts]
        assert len(form.parts) == controls.parts, (shape, text)
        assert form.part_lengths_ok and form.ends_on_tonic, (shape, form.last_note, text)
        if controls.repeats:
            assert all(p.repeated for p in form.parts), (shape, text)


CONTROLS = {
    "two parts": dict(),
    "one part, chord symbols": dict(parts=1, chord_symbols=True),
    "three parts in F#m, 3/4 (16-bar parts too)": dict(parts=3, key="F#m", meter="3/4"),
    "a hornpipe in A Dorian": dict(tune_type="hornpipe", key="Ador"),
    "parts written out": dict(repeats=False, chord_symbols=True),
}


@pytest.mark.slow
@pytest.mark.parametrize("settings", CONTROLS.values(), ids=CONTROLS.keys())
def test_uniform_walks_keep_the_form_and_never_stall(vocabulary, settings):
    """Every allowed character keeps the form reachable, whatever is chosen (every allowed
    character equally likely, over a vocabulary with every construct): each walk ends, with
    the parts asked, of 8 or 16 bars, repeated, on the tonic (by the independent counter)."""
    controls = tune_controls(**settings)
    texts = form_walk(vocabulary, controls, rows=32, steps=4000, seed=7)
    assert_form(texts, controls)
    header = "\n".join(texts[0].split("\nK:")[0].split("\n")[1:])
    if controls.meter:
        assert all(f"\nM:{controls.meter}\n" in x for x in texts), header
    if controls.key:
        assert all(f"\nK:{controls.key}\n" in x for x in texts), header
    if controls.tune_type:
        assert all(f"\nR:{controls.tune_type}\n" in x for x in texts), header
        assert not any(">" in x.split("\nK:")[1] or "<" in x.split("\nK:")[1] for x in texts)
    else:
        assert not any("\nR:" in x for x in texts)
    quoted = [q for x in texts for q in re.findall(r'"([^"]*)"', x.split("\nK:", 1)[1])]
    chord = f"[A-G][#b]?({'|'.join(CHORD_QUALITIES)})?(/[A-G][#b]?)?"
    assert all(re.fullmatch(chord, q) for q in quoted), quoted  # no free text
    assert bool(quoted) == controls.chord_symbols


@needs_abc2midi
@pytest.mark.slow
def test_tune_like_walks_with_the_form_are_read_by_abc2midi(vocabulary):
    """Characters drawn by the corpus's trigram counts among the allowed ones: abc2midi reads
    every tune without an error or a bar out of time, and the counter sees its form."""
    ids = vocabulary.encode(corpus_text()[:60000], on_unknown="oov")
    counts = np.zeros((vocabulary.size,) * 3)
    np.add.at(counts, (ids[:-2], ids[1:-1], ids[2:]), 1)

    def weigh(texts, step):
        return np.array([counts[tuple(vocabulary.encode(x[-2:]))] for x in texts]) + 0.01

    controls = tune_controls(chord_symbols=True)
    texts = form_walk(vocabulary, controls, rows=24, steps=3000, seed=3, weigh=weigh)
    assert_form(texts, controls)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        checks = list(pool.map(abc2midi.abc_to_midi, [x.strip() for x in texts]))
    bad = [(x, c.errors, c.bar_mismatches) for x, c in zip(texts, checks, strict=True)
           if not c.bars_match_meter]
    assert not bad, bad[0]


HEAD = "X:1\nT:t\nM:4/4\nL:1/8\nK:D\n"
BAR = "dAFA DFAF|"


def test_a_part_closes_after_8_bars_and_must_close_there(vocabulary):
    form = tune_controls()
    seven = HEAD + BAR * 7 + "dAFA DFA"
    assert {"|", ":"} <= allowed_after(seven + "F", vocabulary)  # the meter alone
    assert ":" in allowed_after(seven + "F", vocabulary, form)
    assert "|" not in allowed_after(seven + "F", vocabulary, form)  # only :| (repeats)
    assert "|" in allowed_after(seven + "F", vocabulary, tune_controls(repeats=False))
    four = HEAD + BAR * 3 + "dAFA DFAF"  # 4 bars: | goes on, no :| || |] |: closes
    assert ":" not in allowed_after(four, vocabulary, form)
    assert not set("|]:") & allowed_after(four + "|", vocabulary, tune_controls(repeats=False))
    assert {":", "|"} <= allowed_after(four, vocabulary) and "|" in allowed_after(four + "|",
                                                                                   vocabulary)


def test_the_last_part_ends_on_the_tonic_then_the_tune_ends(vocabulary):
    one = tune_controls(parts=1)
    last_unit = HEAD + BAR * 7 + "dAFA DFA"
    notes = allowed_after(last_unit, vocabulary, one) & set("ABCDEFGabcdefgz^_=[")
    assert notes == {"D", "d"}  # only the tonic takes the last unit
    assert set("ABCDEFGabcdefg") <= allowed_after(last_unit, vocabulary)
    assert allowed_after(last_unit + "F:", vocabulary, one) == set()  # not on the tonic
    assert allowed_after(last_unit + "D:|", vocabulary, one) == {"\n", "!"}
    assert allowed_after(last_unit + "D:|\n", vocabulary, one) == {"\n"}
    # before the last part's end no blank line: a new part starts
    two = allowed_after(last_unit + "D:|\n", vocabulary, tune_controls(parts=2))
    assert "\n" not in two and "d" in two


def test_quoted_text_is_a_chord_symbol_or_nothing(vocabulary):
    body = HEAD + "dAFA "
    assert {'"'} <= allowed_after(body, vocabulary)
    assert '"' not in allowed_after(body, vocabulary, tune_controls())
    chords = tune_controls(chord_symbols=True)
    assert allowed_after(body + '"', vocabulary, chords) == set("ABCDEFG")
    assert "^" in allowed_after(body + '"', vocabulary)  # the meter alone: annotations
    assert allowed_after(body + '"E', vocabulary, chords) == set('"#b/m7da6s9')
    assert allowed_after(body + '"Em/', vocabulary, chords) == set("ABCDEFG")
    assert allowed_after(body + '"Em/B', vocabulary, chords) == set('"#b')


def test_fixed_header_values_are_written_as_asked(vocabulary):
    jig = tune_controls(tune_type="jig", key="Ador")
    assert allowed_after("X:1\nT:t\nM:", vocabulary, jig) == {"6"}
    assert allowed_after("X:1\nT:t\nM:6/8", vocabulary, jig) == {"\n"}
    assert allowed_after("X:1\nT:t\nR:", vocabulary, jig) == {"j"}
    assert allowed_after("X:1\nT:t\nM:6/8\nL:1/8\nK:A D", vocabulary, jig) == {"o"}
    # K: only after the R: the type asks for; R: not written without a type
    assert "K" not in allowed_after("X:1\nT:t\nM:6/8\nL:1/8\n", vocabulary, jig)
    assert "R" not in allowed_after("X:1\nT:t\nM:6/8\nL:1/8\n", vocabulary, tune_controls())
    assert "R" in allowed_after("X:1\nT:t\nM:6/8\nL:1/8\n", vocabulary)


def corpus_masks_digest(controls=None):
    """sha256 of the tracker's masks before each character of 41 corpus tunes, tune after tune
    (each tune its own row of one batch: the rows are independent)."""
    text = (importlib.resources.files("tfcreative") / "data" / "irish_folk" / "irish.abc"
            ).read_text(encoding="utf-8")
    tunes = [t.abc + "\n\n" for t in parse_abc_text(text).tunes][::20]
    vocabulary = CharVocabulary.from_texts([text, TUNE_SEPARATOR, '"^{}'])
    t = meter.vocab_tables(vocabulary)
    length = max(map(len, tunes))
    # rows that have ended read more newlines (their masks are not counted)
    ids = np.array([[vocabulary.id_of(ch) for ch in tune.ljust(length, "\n")]
                    for tune in tunes], np.int64)
    r, masks = meter.start_registers(len(tunes), controls), []
    for step in range(length):
        masks.append(meter.allowed(t, r))  # [tunes, vocabulary]
        r = meter.advance(t, r, ids[:, step])
    masks = np.stack(masks, axis=1)
    digest = hashlib.sha256()
    for row, tune in enumerate(tunes):
        for step in range(len(tune)):
            digest.update(np.packbits(masks[row, step]).tobytes())
    return digest.hexdigest()


def test_the_meter_alone_allows_what_it_allowed_before_the_form():
    """The meter-aware path samples the same tokens for the same seeds as before the form
    rules: its masks on 41 corpus tunes are the ones the tracker of issue 21 gave (digest)."""
    meter_alone = corpus_masks_digest()
    assert meter_alone == "97d58998ad7fff1885322abfb6c30404b583bc5fddb869709ef43bde9e54f5d4"
    assert corpus_masks_digest(tune_controls()) != meter_alone


def test_tensorflow_tracker_computes_the_numpy_masks_with_the_form(vocabulary):
    """The graph (XLA) step and NumPy give the same masks with the form rules and fixed
    values, step by step, on walks that end their tunes."""
    controls = tune_controls(parts=1, key="Em", meter="6/8", chord_symbols=True)
    texts = form_walk(vocabulary, controls, rows=4, steps=1500, seed=11)
    ids = np.zeros((len(texts), max(map(len, texts))), np.int64)
    for row, text in enumerate(texts):
        ids[row, :len(text)] = vocabulary.encode(text)
    t = meter.vocab_tables(vocabulary)
    r = meter.start_registers(len(texts), controls)
    constraint = MeterConstraint(vocabulary)
    state = constraint.initial(len(texts), controls)
    for step in range(ids.shape[1]):
        r = meter.advance(t, r, ids[:, step])
        expected = meter.allowed(t, r)
        expected |= ~expected.any(axis=1, keepdims=True)
        state, mask = constraint.step(state, tf.constant(ids[:, step]))
        np.testing.assert_array_equal(mask.numpy(), expected, err_msg=f"step {step}")


# -- in the sampling loop ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def sampler(trained_tiny_model):
    return compiled_sampler(trained_tiny_model)


def test_form_aware_sampling_writes_whole_tunes_batched_as_single(sampler):
    """A briefly trained model writes tunes with the form asked, batched as one by one."""
    tunes = sampler.generate(num_tunes=6, max_length=3000, seed=3, constrain="form")
    assert all(t.complete and not t.unconstrained_fallback for t in tunes)
    assert_form([t.abc + "\n" for t in tunes], tune_controls())
    singles = [sampler.generate(num_tunes=1, max_length=3000, seed=3 + i,
                                constrain="form")[0] for i in range(2)]
    assert singles == tunes[:2]
    three = sampler.generate(num_tunes=3, max_length=4000, seed=3, constrain="form", parts=3)
    assert_form([t.abc + "\n" for t in three], tune_controls(parts=3))


def test_the_controls_fix_the_header_while_the_model_writes_the_rest(sampler):
    tunes = sampler.generate(num_tunes=3, max_length=3000, seed=5, constrain="form",
                             key="Ador", tune_type="jig", title="The Test Jig")
    for tune in tunes:
        lines = tune.abc.split("\n")
        assert lines[:2] == ["X:1", "T:The Test Jig"]
        assert {"K:A Dorian", "M:6/8", "R:jig"} <= set(lines), tune.abc
        assert read_form(tune.abc).ends_on_tonic and tune.title == "The Test Jig"
    meter_only = sampler.generate(num_tunes=2, max_length=2000, seed=5, constrain="meter",
                                  meter="3/4")
    assert all("\nM:3/4\n" in t.abc for t in meter_only)


@pytest.mark.parametrize("kwargs, message", [
    (dict(constrain="form", parts=0), "parts: expected a whole number from 1 to 8"),
    (dict(constrain="form", key="H"), "key: expected a key such as D"),
    (dict(constrain="form", meter="5/3"), "meter: expected C, C| or n/d"),
    (dict(constrain="form", tune_type="tango"), "tune_type: expected one of reel, jig"),
    (dict(constrain="form", tune_type="jig", meter="C"), "meter: a jig is written in 6/8"),
    (dict(constrain="form", title="two\nlines"), "title: expected one line"),
    (dict(constrain="form", title="T", seed_text="X:2\nT:"), "title: starts the tune"),
    (dict(key="D"), "key: needs constrain='form' or 'meter'"),
    (dict(constrain="meter", parts=3), "parts: needs constrain='form'"),
    (dict(constrain="form", title="\u00e9t\u00e9"), "title: contains characters the model"),
])
def test_bad_controls_are_one_line_naming_the_argument(sampler, kwargs, message):
    from tfcreative.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match=message):
        sampler.generate(num_tunes=1, max_length=10, seed=0, **kwargs)
