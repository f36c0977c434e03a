"""Generation: seeded, batched == single, stops at the end of a tune, compiled (graph and XLA,
same tunes), correct odds."""

import concurrent.futures
import logging

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import compiled_sampler, make_tiny_model
from tfcreative.errors import InvalidArgument
from tfcreative.music import compiled_loops, numpy_sampler
from tfcreative.music.sampler import (
    XLA_MAX_BATCH,
    TuneSampler,
    per_row_uniform,
    sample_next,
    xla_capacity,
)
from tfcreative.music.vocabulary import CharVocabulary, UnknownCharacterError


@pytest.fixture(scope="module")
def sampler(trained_tiny_model):
    return compiled_sampler(trained_tiny_model)


def test_same_seed_gives_the_same_tunes_and_other_seeds_differ(sampler):
    a = sampler.generate(num_tunes=3, max_length=150, seed=11)
    b = sampler.generate(num_tunes=3, max_length=150, seed=11)
    c = sampler.generate(num_tunes=3, max_length=150, seed=99)
    assert [t.abc for t in a] == [t.abc for t in b]
    assert [t.seed for t in a] == [11, 12, 13]
    assert len({t.abc for t in a}) == 3  # each tune in the batch is different
    assert [t.abc for t in a] != [t.abc for t in c]


def test_batched_generation_equals_single_generations_with_the_same_seeds(sampler):
    batch = sampler.generate(num_tunes=6, max_length=200, temperature=0.9, top_k=20, seed=5)
    singles = [sampler.generate(num_tunes=1, max_length=200, temperature=0.9, top_k=20,
                                seed=5 + i)[0] for i in range(6)]
    assert batch == singles


def test_many_tunes_are_sampled_in_batches_of_bounded_size_with_the_same_results(
        sampler, monkeypatch):
    from tfcreative.music import config

    reference = sampler.generate(num_tunes=10, max_length=60, seed=3)
    sizes, sample = [], sampler._sample

    def counted(inputs, num_tunes, *rest):
        sizes.append(num_tunes)
        return sample(inputs, num_tunes, *rest)

    monkeypatch.setattr(sampler, "_sample", counted)
    monkeypatch.setattr(config, "GENERATION_BATCH", 4)
    batched = sampler.generate(num_tunes=10, max_length=60, seed=3)
    assert sizes == [4, 3, 3]
    assert batched == reference and [t.seed for t in batched] == list(range(3, 13))


def test_every_tune_starts_with_the_seed_and_respects_max_length(sampler):
    for tune in sampler.generate("X:7\nT:Re", num_tunes=4, max_length=40, seed=0):
        assert tune.abc.startswith("X:7\nT:Re")
        assert len(tune.abc) <= len("X:7\nT:Re") + 40
        assert "\n\n" not in tune.abc


def test_the_loop_is_one_compiled_graph_traced_once(trained_tiny_model):
    graph = compiled_sampler(trained_tiny_model, jit_compile=False)
    graph.generate(num_tunes=2, max_length=30, seed=0)
    graph.generate("X:1\nT:Another seed\n", num_tunes=5, max_length=80, seed=1)
    assert graph._loop(None).experimental_get_tracing_count() == 1
    function = graph._loop(None).get_concrete_function().graph
    assert any(op.type in ("While", "StatelessWhile") for op in function.get_operations())
    assert list(graph._loops) == [(None, None)]  # no XLA loop
    # XLA: one traced loop per token buffer size, whatever the batch, seed and max_length
    xla = TuneSampler(trained_tiny_model, jit_compile=True)
    xla.generate(num_tunes=2, max_length=30, seed=0)
    xla.generate("X:1\nT:Another seed\n", num_tunes=5, max_length=60, seed=1)
    (loop,) = xla._loops.values()  # (None, 64): one XLA loop
    assert loop.experimental_get_tracing_count() == 1
    library = loop.get_concrete_function().graph.as_graph_def().library
    assert any(f.attr["_XlaMustCompile"].b for f in library.function)


@pytest.mark.parametrize("constrain", [None, "meter", "form"])
def test_the_xla_loop_samples_what_the_graph_loop_samples(trained_tiny_model, constrain):
    xla = TuneSampler(trained_tiny_model, jit_compile=True)
    graph = TuneSampler(trained_tiny_model, jit_compile=False)
    # (one batch size and token buffer: an XLA compilation of the constrained loop is slow)
    for kwargs in ({"seed": 3}, {"seed": 7, "top_k": 5}, {"seed": 11, "temperature": 0.7}):
        tunes = xla.generate(num_tunes=2, max_length=300, constrain=constrain, **kwargs)
        assert tunes == graph.generate(num_tunes=2, max_length=300, constrain=constrain,
                                       **kwargs)
        assert len({t.abc for t in tunes}) == len(tunes)
    assert all(key[1] for key in xla._loops)  # XLA loops only: (constrain, capacity, ...)
    assert not any(key[1] for key in graph._loops)


def no_xla(sampler):
    """`sampler._loop` where XLA cannot compile (its XLA loops raise)."""
    graph_loop = sampler._loop

    def loop_for(constrain, xla_capacity=None, static=()):
        if xla_capacity is None:
            return graph_loop(constrain, static=static)

        def loop(*args):
            raise tf.errors.UnimplementedError(None, None, "XLA is not available here")
        return loop
    return loop_for


def test_auto_uses_xla_for_few_tunes_and_falls_back_where_it_cannot_compile(
        trained_tiny_model, monkeypatch, caplog):
    sampler = compiled_sampler(trained_tiny_model)  # jit_compile="auto"
    assert sampler.uses_xla(1) and sampler.uses_xla(XLA_MAX_BATCH)
    assert not sampler.uses_xla(XLA_MAX_BATCH + 1)
    assert [xla_capacity(n) for n in (1, 64, 65, 1000, 1024, 1025)] == [64, 64, 128, 1024,
                                                                         1024, 2048]

    expected = TuneSampler(trained_tiny_model, jit_compile=False).generate(max_length=40,
                                                                           seed=2)
    monkeypatch.setattr(sampler, "_loop", no_xla(sampler))
    with caplog.at_level(logging.WARNING, logger="tfcreative.music.sampler"):
        assert sampler.generate(max_length=40, seed=2) == expected
    assert "XLA could not compile the sampling loop" in caplog.text
    assert not sampler.uses_xla(1)  # and it does not try again
    strict = TuneSampler(trained_tiny_model, jit_compile=True)
    monkeypatch.setattr(strict, "_loop", no_xla(strict))
    with pytest.raises(tf.errors.UnimplementedError):
        strict.generate(max_length=40, seed=2)
    with pytest.raises(InvalidArgument, match="jit_compile"):
        TuneSampler(trained_tiny_model, jit_compile="yes")


def _forced_model(vocab, favourite):
    """A model whose output always strongly prefers one character."""
    model = make_tiny_model(vocab)
    kernel, bias = model.logits.get_weights()
    bias[:] = -20.0
    bias[vocab.id_of(favourite)] = 20.0
    model.logits.set_weights([np.zeros_like(kernel), bias])
    return model


def test_generation_stops_at_a_blank_line_and_reports_complete_tunes():
    vocab = CharVocabulary("X:1\nTab")
    (tune,) = TuneSampler(_forced_model(vocab, "\n")).generate("X:1\nT:ab", max_length=50,
                                                               seed=0)
    assert tune.abc == "X:1\nT:ab" and tune.complete  # "\n\n" ended it at once


def test_tunes_cut_by_max_length_are_marked_incomplete():
    vocab = CharVocabulary("X:1\nTab")
    tunes = TuneSampler(_forced_model(vocab, "a")).generate("X:1\n", num_tunes=2,
                                                            max_length=25, seed=0)
    assert [t.abc for t in tunes] == ["X:1\n" + "a" * 25] * 2
    assert not any(t.complete for t in tunes)


def test_top_k_1_is_greedy_whatever_the_seed(sampler):
    tunes = [sampler.generate(max_length=60, top_k=1, seed=s)[0].abc for s in range(3)]
    assert len(set(tunes)) == 1


def test_sampling_follows_softmax_with_temperature():
    logits = tf.math.log(tf.constant([[0.0001, 0.5, 0.3, 0.2]]))  # id 0 (OOV) never drawn
    rows = 20000
    for temperature in (1.0, 0.5):
        draws = sample_next(tf.repeat(logits, rows, axis=0), tf.range(rows, dtype=tf.int64),
                            tf.constant(3), tf.constant(temperature), tf.constant(0)).numpy()
        p = np.array([0.5, 0.3, 0.2]) ** (1 / temperature)
        p /= p.sum()
        freq = np.bincount(draws, minlength=4) / rows
        assert freq[0] == 0
        np.testing.assert_allclose(freq[1:], p, atol=0.015)
    top2 = sample_next(tf.repeat(logits, 2000, axis=0), tf.range(2000, dtype=tf.int64),
                       tf.constant(0), tf.constant(1.0), tf.constant(2)).numpy()
    assert set(top2) == {1, 2}


def test_top_k_keeps_the_k_best_eagerly_and_under_xla():
    logits = tf.random.stateless_normal([40, 12], seed=[1, 2])
    seeds = tf.range(40, dtype=tf.int64)
    compiled = tf.function(sample_next, jit_compile=True)
    for k in (0, 1, 3, 11, 12, 20):
        args = (logits, seeds, tf.constant(4), tf.constant(1.0), tf.constant(k))
        draws = sample_next(*args).numpy()
        np.testing.assert_array_equal(compiled(*args).numpy(), draws)
        # id 0 (OOV) is never drawn; the others are drawn from the k best
        best = np.argsort(-logits.numpy()[:, 1:], axis=1)[:, :k if 0 < k < 11 else 11] + 1
        assert all(d in row for d, row in zip(draws, best, strict=True))
        if k == 1:
            np.testing.assert_array_equal(draws, best[:, 0])
    assert compiled.experimental_get_tracing_count() == 1


def test_per_row_noise_is_uniform_and_independent_of_the_batch():
    u = per_row_uniform(tf.range(4000, dtype=tf.int64), tf.constant(7), 50).numpy()
    assert 0 < u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    single = per_row_uniform(tf.constant([123], tf.int64), tf.constant(7), 50).numpy()
    np.testing.assert_array_equal(single[0], u[123])
    assert not np.array_equal(u[0], per_row_uniform(tf.constant([0], tf.int64),
                                                     tf.constant(8), 50).numpy()[0])


def test_bad_arguments_are_clear_errors(sampler):
    with pytest.raises(UnknownCharacterError, match="'€'") as info:
        sampler.generate("X:1\nT:€")
    assert isinstance(info.value, InvalidArgument) and info.value.argument == "seed_text"
    assert str(info.value).startswith("seed_text: contains characters the model was not "
                                      "trained on: '€' (U+20AC)")
    for kwargs, message in [({"temperature": 0}, "temperature"), ({"num_tunes": 0}, "num_tunes"),
                            ({"max_length": 0}, "max_length"), ({"top_k": -1}, "top_k"),
                            ({"seed_text": ""}, "seed_text")]:
        with pytest.raises(ValueError, match=message):
            sampler.generate(**kwargs)


class HeldWarmUps:
    """Stands in for compiled_loops' background thread: runs its tasks only when told."""

    def __init__(self):
        self.tasks = []

    def submit(self, task):
        future = concurrent.futures.Future()
        self.tasks.append((task, future))
        return future

    def run(self):
        for task, future in self.tasks:
            task()
            future.set_result(None)


def test_a_first_call_runs_in_numpy_and_its_loop_is_made_ready_in_the_background(
        trained_tiny_model, irish_vocabulary, monkeypatch):
    """Issue 25: TuneSampler's first call does not wait for tracing; the same tunes."""
    model = make_tiny_model(irish_vocabulary, layers=2)  # a model no loop was made for
    model.set_weights(trained_tiny_model.get_weights())
    held = HeldWarmUps()
    monkeypatch.setattr(compiled_loops, "_worker", lambda: held)
    kwargs = {"num_tunes": 2, "max_length": 200, "seed": 4, "temperature": 0.9}
    sampler = TuneSampler(model)
    assert sampler.numpy_first
    first = sampler.generate(**kwargs)
    (loop,) = sampler._loops.values()  # the XLA loop for 2 tunes: not traced yet
    assert loop.experimental_get_tracing_count() == 0 and len(held.tasks) == 1
    assert TuneSampler(model).generate(**kwargs) == first  # not ready: NumPy again
    assert len(held.tasks) == 1  # one warm-up per loop and batch size

    held.run()  # the background thread's work: traced and run once
    assert loop.experimental_get_tracing_count() == 1

    def no_numpy(*args):
        raise AssertionError("the NumPy loop ran where the compiled loop is ready")

    monkeypatch.setattr(numpy_sampler, "sample_tokens", no_numpy)
    assert TuneSampler(model).generate(**kwargs) == first  # a new sampler: the same loop
    assert loop.experimental_get_tracing_count() == 1
    assert first == compiled_sampler(model, jit_compile=True).generate(**kwargs)
    with pytest.raises(AssertionError, match="NumPy loop ran"):
        TuneSampler(model).generate(**{**kwargs, "num_tunes": 3})  # 3 tunes: not ready


def test_a_loop_that_fails_in_the_background_is_run_by_the_caller(
        trained_tiny_model, irish_vocabulary, monkeypatch, caplog):
    """XLA failing on the background thread: the next call runs XLA itself, warns and goes on
    without it, as a sampler without the NumPy loop does."""
    model = make_tiny_model(irish_vocabulary, layers=2)
    model.set_weights(trained_tiny_model.get_weights())
    held = HeldWarmUps()
    monkeypatch.setattr(compiled_loops, "_worker", lambda: held)
    sampler = TuneSampler(model)
    monkeypatch.setattr(sampler, "_loop", no_xla(sampler))
    first = sampler.generate(max_length=40, seed=2)  # NumPy, the XLA loop's warm-up held
    held.run()  # it fails: recorded, not raised on the background thread
    assert sampler._compiled.failed((None, 64), 1)
    with caplog.at_level(logging.WARNING, logger="tfcreative.music.sampler"):
        assert sampler.generate(max_length=40, seed=2) == first
    assert "XLA could not compile the sampling loop" in caplog.text
    assert not sampler.uses_xla(1)


def test_samplers_of_one_model_share_their_compiled_loops(trained_tiny_model):
    first = compiled_sampler(trained_tiny_model, jit_compile=False)
    first.generate(num_tunes=5, max_length=30, seed=0)
    again = compiled_sampler(trained_tiny_model, jit_compile=False)
    again.generate(num_tunes=5, max_length=30, seed=0)
    assert again._loops is first._loops
    assert again._loop(None).experimental_get_tracing_count() == 1


def test_only_a_plain_float32_music_lstm_runs_in_numpy_first(irish_vocabulary):
    from tfcreative.music.model import MusicLSTM

    class Stepper(MusicLSTM):
        pass

    model = make_tiny_model(irish_vocabulary)
    assert TuneSampler(model).numpy_first
    assert not TuneSampler(model, jit_compile=True).numpy_first
    assert not TuneSampler(model, jit_compile=False).numpy_first
    assert not TuneSampler(Stepper(irish_vocabulary, 8, 32)).numpy_first
    assert not TuneSampler(MusicLSTM(irish_vocabulary, 8, 32, dtype="mixed_bfloat16")
                           ).numpy_first


def test_the_shared_loops_do_not_keep_a_model_alive(irish_vocabulary):
    import gc
    import weakref

    model = make_tiny_model(irish_vocabulary)
    compiled_sampler(model, jit_compile=False).generate(num_tunes=5, max_length=20, seed=0)
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None
