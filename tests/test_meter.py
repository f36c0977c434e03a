"""Meter-aware sampling: the ABC rhythm tracker against hand-counted bars, against abc2midi on
the whole bundled corpus, as TensorFlow graph ops (same masks as NumPy), with no dead ends,
and inside the sampling loop (batched == single, no overfull bar)."""

import concurrent.futures
import dataclasses
import importlib.resources
from fractions import Fraction as F

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import compiled_sampler, make_tiny_model, needs_abc2midi
from tfcreative.abc_notation import TUNE_SEPARATOR, parse_abc_text
from tfcreative.errors import InvalidArgument
from tfcreative.music import abc2midi, abc_grammar, meter, meter_rules
from tfcreative.music.meter_graph import MeterConstraint
from tfcreative.music.sampler import sample_tokens
from tfcreative.music.vocabulary import CharVocabulary


def corpus_text() -> str:
    path = importlib.resources.files("tfcreative") / "data" / "irish_folk" / "irish.abc"
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def corpus_tunes():
    return [tune.abc for tune in parse_abc_text(corpus_text()).tunes]


@pytest.fixture(scope="module")
def vocabulary():
    return CharVocabulary.from_texts([corpus_text(), TUNE_SEPARATOR])


def tune(body, meter_field="M:4/4", unit="L:1/8"):
    header = "\n".join(f for f in ("X:1", "T:t", meter_field, unit, "K:D") if f)
    return f"{header}\n{body}\n"


# Bar lengths (in whole notes) at each bar line, counted by hand.
BARS = [
    # the bundled corpus: a pickup, triplets, and the closing bar that completes the pickup
    ("corpus: Alexander's (hornpipe)", tune(
        "(3ABc|dAFA DFAd|fdcd FAdf|gfge fefd|(3efe (3dcB A2 (3ABc|!\n"
        "dAFA DFAd|fdcd FAdf|gfge fefd|(3efe dc d2:|!", "M:C|"),
     [F(1, 4)] + [F(1)] * 7 + [F(3, 4)]),
    ("corpus: Where Lilies Bloom (ties, broken rhythm, halves)", tune(
        "z|DF/A/ BA|d2-d>c|BA Bc|BA FA|!\nDF/A/ BA|d2-d>c|BA Bc|ed d:|!", "M:2/4"),
     [F(1, 8)] + [F(1, 2)] * 7 + [F(3, 8)]),
    ("corpus: Mairi's Wedding (> and <)", tune("D>E DE|GA B2|AG EG|BA B<d|!", "M:2/4"),
     [F(1, 2)] * 4),
    ("corpus: An Cailin Rua (annotation, variant endings [1 [2)", tune(
        '"Refrain" F/D/|C>D FA|GF DF/D/|C/D/F GA|GF FD|!\n'
        "C>D FA|GF G/A/c|de/d/ cA|[1 GF D:|[2 G z2|]!", "M:2/4"),
     [F(1, 8)] + [F(1, 2)] * 7 + [F(3, 8), F(3, 8)]),
    # the ABC 2.1 standard's example tunes: |1 :|2 endings, |: after an ending, ~ rolls,
    # L: from the meter when absent
    ("ABC 2.1: The Legacy Jig", tune(
        "GFG BAB|gfg gab|GFG BAB|d2A AFD|\nGFG BAB|gfg gab|age edB|1 dBA AFD:|2 dBA ABd|:\n"
        "efe edB|dBA ABd|efe edB|gdB ABd|\nefe edB|d2d def|gfe edB|1 dBA ABd:|2 dBA AFD|]",
        "M:6/8"),
     [F(3, 4)] * 18),
    ("ABC 2.1: Paddy O'Rafferty", tune(
        "dff cee|def gfe|dff cee|dfe dBA|dff cee|def gfe|faf gfe|1 dfe dBA:|2 dfe dcB|]\n"
        "~A3 B3|gfe fdB|AFA B2c|dfe dcB|~A3 ~B3|efe efg|faf gfe|1 dfe dcB:|2 dfe dBA|]\n"
        "fAA eAA|def gfe|fAA eAA|dfe dBA|fAA eAA|def gfe|faf gfe|dfe dBA:|", "M:6/8", None),
     [F(3, 4)] * 26),
    # every other construct of issue 14, written for this table
    ("chords, grace notes, chord symbols, decorations, tuplets (p:q:r and (5)", tune(
        '[CEG]2 {g}A2 "Am"c2 !trill!d2|(3:2:2A2B c2 (5cdefg z2|[C2E2]4 [CE]3/2d/ ~e2|'),
     [F(1)] * 3),
    ("inline [M:] and [L:]", tune("A8|[M:3/4]A6|[L:1/4]A3|", "M:C|"), [F(1), F(3, 4), F(3, 4)]),
    ("no L: under 2/4 means 1/16", tune("A4 B4|c8|", "M:2/4", None), [F(1, 2)] * 2),
    ("broken >> and a line continuation", tune("A>>B c2|AB \\\n cd|", "M:2/4"),
     [F(1, 2), F(1, 2)]),
    (":: joins the closing bar and the next pickup", tune(
        "AB|cdef gabc|defg ab::AB|cdef gabc|defg ab:|"),
     [F(1, 4), F(1), F(3, 4), F(1), F(1), F(3, 4)]),
    ("M:none: no meter to check", tune("A B c d e|f g|", "M:none"), [F(5, 8), F(1, 4)]),
]


@pytest.mark.parametrize("text, expected", [b[1:] for b in BARS], ids=[b[0] for b in BARS])
def test_bar_lengths_match_the_hand_count(text, expected):
    report = meter.bar_report(text)
    assert report.followed, f"gave up at {report.lost_at}: {text[report.lost_at - 10:]!r}"
    assert [length for _, length, _ in report.bars] == expected
    assert report.every_bar_fits


@pytest.mark.parametrize("body, meter_field", [
    ("AB|cdef gabc|defg abc2:|", "M:4/4"),  # a full closing bar after a pickup
    ("cdef gabc|defg ab:|", "M:4/4"),  # a short closing bar without a pickup
    ("cdef gabc|defg ab|cdef gabc|", "M:4/4"),  # a short bar mid-tune
    ("cdef gabc|defg abc2 d|", "M:4/4"),  # an overfull bar
    ("cdef gabc|cdef gabc:|\ncdef gabc|[1defg abc2:|[2 defg a4|]", "M:4/4"),  # [1 after :|
])
def test_what_abc2midi_reports_is_a_violation(body, meter_field):
    assert not meter.bar_report(tune(body, meter_field)).every_bar_fits


def test_an_unknown_construct_gives_the_row_up():
    text = tune("A2 B2 c4|d8|", "M:2+3/8")
    report = meter.bar_report(text)
    assert not report.followed and report.lost_at == text.index("+")


@needs_abc2midi
@pytest.mark.slow
def test_every_bar_fits_agrees_with_abc2midi_on_the_corpus(corpus_tunes):
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        checks = list(pool.map(abc2midi.abc_to_midi, corpus_tunes))
    theirs = np.array([c.bars_match_meter for c in checks])
    ours = meter.every_bar_fits(meter.follow_texts(corpus_tunes))
    disagree = [tune.split("\n")[1] for tune, a, b in zip(corpus_tunes, ours, theirs,
                                                          strict=True) if a != b]
    agreement = float(np.mean(ours == theirs))
    print(f"agreement {agreement:.4f} on {len(corpus_tunes)} tunes; disagreements: {disagree}")
    assert agreement >= 0.95
    assert 0.85 < ours.mean() < 0.95  # the corpus itself: about 90 % of tunes fit


# -- the strict grammar: no dead ends ---------------------------------------------------------

def test_every_strict_transition_can_be_followed():
    tables = abc_grammar.build_tables()
    assert not (tables.edges["strict"] & (1 - tables.edges["followed"])).any()
    lost = tables.lost
    assert (tables.edges["next_state"][tables.edges["followed"] == 0] == lost).all()


def test_the_rules_docstring_lists_every_register():
    """meter_rules' table (name, meaning, unit) is the registers' documentation: every one, in
    order, and nothing else."""
    doc = meter_rules.__doc__.split("\n")
    start = next(i for i, line in enumerate(doc) if line.startswith("name ")) + 2
    end = doc.index("", start)
    assert [line.split()[0] for line in doc[start:end]] == list(meter_rules.REGISTERS)
    assert all(len(line.split()) >= 3 for line in doc[start:end])  # with meaning and unit


def walk(vocabulary, rows, steps, seed, weigh=None, controls=None, seed_text="X:1\nT:"):
    """Random walks through the strict mask from `seed_text`, with the form rules if
    `controls` are given; `weigh(texts, step)` gives each row's character weights (the mask
    zeroes the rest; None: all equal). Asserts that no row ever has no allowed character and
    that none was lost; returns the texts and which rows ended their tune."""
    t = meter.vocab_tables(vocabulary)
    rng = np.random.default_rng(seed)
    texts = [seed_text] * rows
    r = meter.start_registers(rows, controls)
    for ch in seed_text:
        r = meter.advance(t, r, np.full(rows, vocabulary.id_of(ch), np.int64))
    done = np.zeros(rows, bool)
    for step in range(steps):
        mask = meter.allowed(t, r)
        mask[:, 0] = False
        stalled = ~mask.any(axis=1) & ~done
        assert not stalled.any(), f"no allowed character after {texts[stalled.argmax()]!r}"
        mask[done] = True
        weights = np.where(mask, 1.0 if weigh is None else weigh(texts, step), 0)
        token = np.array([rng.choice(vocabulary.size, p=w / w.sum()) for w in weights])
        token = np.where(done, vocabulary.id_of("\n"), token)
        for row in np.nonzero(~done)[0]:
            texts[row] += vocabulary.characters[token[row] - 1]
            done[row] = texts[row].endswith("\n\n")
        r = meter.advance(t, r, token)
        if done.all():
            break
    assert not (r.state == t.lost).any()
    return texts, done


@pytest.mark.slow
def test_uniform_walks_through_the_strict_mask_never_stall():
    """No dead ends: every allowed character keeps a continuation open, whatever is chosen
    (every allowed character equally likely, over a vocabulary with every construct)."""
    vocabulary = CharVocabulary(set(corpus_text()) | set("{}~+$\\"))
    walk(vocabulary, rows=192, steps=700, seed=5,
         weigh=lambda texts, step: np.ones(vocabulary.size))


@needs_abc2midi
@pytest.mark.slow
def test_tune_like_walks_can_always_end_and_abc2midi_accepts_them(vocabulary):
    """Characters drawn by the corpus's trigram counts among the allowed ones; after 300
    characters a policy steers each row to the end of its tune, which it must reach."""
    ids = vocabulary.encode(corpus_text()[:60000])
    counts = np.zeros((vocabulary.size,) * 3)
    np.add.at(counts, (ids[:-2], ids[1:-1], ids[2:]), 1)
    steer = np.ones(vocabulary.size)
    for rank, ch in enumerate(reversed("\n|:]![2c")):
        steer[vocabulary.id_of(ch)] = 1e3 ** (rank + 1)

    def weigh(texts, step):
        weights = np.array([counts[tuple(vocabulary.encode(x[-2:]))] for x in texts]) + 0.01
        return weights * steer if step >= 300 else weights

    texts, done = walk(vocabulary, rows=48, steps=1500, seed=3, weigh=weigh)
    assert done.all()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        checks = list(pool.map(abc2midi.abc_to_midi, [x.strip() for x in texts]))
    bad = [(x, c.errors, c.bar_mismatches) for x, c in zip(texts, checks, strict=True)
           if not c.bars_match_meter]
    assert not bad, bad[0]


# -- in the sampling loop ---------------------------------------------------------------------

def test_tensorflow_tracker_computes_the_numpy_masks(corpus_tunes):
    """The graph (XLA) step and the NumPy reference give the same masks, step by step, on
    real tunes followed as if they were sampled."""
    texts = corpus_tunes[:6] + [BARS[6][1], BARS[5][1]]
    vocabulary = CharVocabulary.from_texts(texts + [TUNE_SEPARATOR])
    length = max(len(x) for x in texts)
    ids = np.zeros((len(texts), length), np.int64)
    for row, text in enumerate(texts):
        ids[row, :len(text)] = vocabulary.encode(text)
    t = meter.vocab_tables(vocabulary)
    r = meter.start_registers(len(texts))
    constraint = MeterConstraint(vocabulary)
    state = constraint.initial(len(texts))
    masked = []
    for step in range(length):
        r = meter.advance(t, r, ids[:, step])
        expected = meter.allowed(t, r)
        expected |= ~expected.any(axis=1, keepdims=True)  # no row is ever left without one
        state, mask = constraint.step(state, tf.constant(ids[:, step]))
        np.testing.assert_array_equal(mask.numpy(), expected, err_msg=f"step {step}")
        masked.append(1 - expected.mean())
    assert np.mean(masked) > 0.25  # the masks do mask (headers and ends allow nearly all)


@pytest.fixture(scope="module")
def constrained(trained_tiny_model):
    return compiled_sampler(trained_tiny_model)


def test_constrained_batched_generation_equals_single_generations(constrained):
    batch = constrained.generate(num_tunes=4, max_length=300, temperature=1.0, seed=21,
                                 constrain="meter")
    singles = [constrained.generate(num_tunes=1, max_length=300, temperature=1.0, seed=21 + i,
                                    constrain="meter")[0] for i in range(4)]
    assert batch == singles
    free = constrained.generate(num_tunes=4, max_length=300, temperature=1.0, seed=21)
    assert [t.abc for t in free] != [t.abc for t in batch]


def test_a_constrained_sample_has_no_overfull_bar(constrained):
    """A briefly trained model writes no bar longer than its meter when constrained (the
    tracker's own count), and that count does see an overfull bar (one note added)."""
    def overfull(tunes):
        return sum(meter.bar_report(t.abc + "\n", constrained.vocabulary).overfull
                   for t in tunes)

    for seed_text in ("X:1\nT:", "X:1\nT:Reel\nM:4/4\nL:1/8\nK:D\n"):
        # 12 tunes of 400 characters (200-400 bars): with the mask off, or with the pending
        # note counted at half its length, most tunes fall back and bars overflow here as at
        # 24 x 600
        tunes = constrained.generate(seed_text, num_tunes=12, max_length=400, seed=0,
                                     constrain="meter")
        assert not any(t.unconstrained_fallback for t in tunes)
        reports = [meter.bar_report(t.abc + "\n", constrained.vocabulary) for t in tunes]
        assert all(r.followed and r.violations == 0 for r in reports)
        assert sum(len(r.bars) for r in reports) > 100  # they do have bars
        assert overfull(tunes) == 0
    # the count does see an overfull bar: one more note before the first bar line
    body = tunes[0].abc.index("K:D\n") + 4
    first_bar = tunes[0].abc.index("|", body)
    extra = dataclasses.replace(tunes[0], abc=tunes[0].abc[:first_bar] + "c8" +
                                tunes[0].abc[first_bar:])
    assert overfull([extra]) == 1


def test_a_seed_the_tracker_cannot_follow_is_counted_and_sampled_freely(constrained):
    tunes = constrained.generate("X:1\nT:a\nM:3x8\n", num_tunes=2, max_length=50, seed=0,
                                 constrain="meter")
    assert all(t.unconstrained_fallback for t in tunes)
    fine = constrained.generate(num_tunes=2, max_length=50, seed=0, constrain="meter")
    assert not any(t.unconstrained_fallback for t in fine)


def test_a_saved_model_generates_constrained_without_xla(constrained, tmp_path):
    """The loop with the tracker as plain graph ops (what TF Serving runs without XLA) saves,
    loads and samples exactly what TuneSampler samples."""
    model = constrained.model
    signature = [tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int64),
                 tf.TensorSpec([], tf.int32)]
    module = tf.Module()
    module.model = model  # tracked: its variables are saved
    module.generate = tf.function(lambda ids, seeds, length: sample_tokens(
        model, ids, seeds, length, 1.0, 0, constrain="meter", meter_jit_compile=False)[0],
        input_signature=signature)
    tf.saved_model.save(module, str(tmp_path / "m"))
    graph = module.generate.get_concrete_function().graph.as_graph_def()
    assert not any(f.attr["_XlaMustCompile"].b for f in graph.library.function)
    loaded = tf.saved_model.load(str(tmp_path / "m"))
    ids = model.vocabulary.encode("X:1\nT:")
    tokens = loaded.generate(tf.constant([ids] * 3), tf.constant([4, 5, 6], tf.int64),
                             tf.constant(200)).numpy()
    tunes = constrained.generate(num_tunes=3, max_length=200, seed=4, constrain="meter")
    for column, tune in zip(tokens.T, tunes, strict=True):
        text = "X:1\nT:" + model.vocabulary.decode(column)
        assert text.startswith(tune.abc)


def test_sample_tokens_keeps_its_positional_api_and_reports_fallback_rows(vocabulary):
    model = make_tiny_model(vocabulary)
    args = (tf.constant([vocabulary.encode("X:1\nT:")] * 3), tf.constant([1, 2, 3], tf.int64),
            tf.constant(40), tf.constant(1.0), tf.constant(0))
    tokens, steps, unconstrained = sample_tokens(model, *args)  # one shape, free or not
    assert tokens.shape == (int(steps), 3) and unconstrained.shape == (3,)
    assert not unconstrained.numpy().any()
    tokens, steps, unconstrained = sample_tokens(model, *args, constrain="meter")
    assert tokens.shape == (int(steps), 3) and unconstrained.shape == (3,)
    with pytest.raises(InvalidArgument, match="constrain: expected one of"):
        sample_tokens(model, *args, constrain="rhyme")
