"""tf.data pipeline: windows, shift-by-one targets, separators, batching, the manual config."""

import contextlib
import logging
import os
import signal

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import DUMMY_ABC_DIR
from tfcreative.abc_notation import TUNE_SEPARATOR
from tfcreative.music import pipeline
from tfcreative.music.vocabulary import CharVocabulary


def _texts(*tunes):
    return tf.data.Dataset.from_tensor_slices(list(tunes))


def test_windows_are_shifted_by_one_and_cover_every_transition():
    tunes = ["X:1\nK:D\nabc|", "X:2\nK:G\ndefg|"]
    vocab = CharVocabulary.from_texts(tunes + ["\n"])
    stream = vocab.encode("".join(t + TUNE_SEPARATOR for t in tunes))
    windows = list(pipeline.make_windows(pipeline.encode_tunes(_texts(*tunes), vocab), 5))
    assert len(windows) == (len(stream) // 5) - 1
    for i, (x, y) in enumerate(windows):
        x, y = x.numpy(), y.numpy()
        assert x.shape == y.shape == (5,)
        np.testing.assert_array_equal(x[1:], y[:-1])
        np.testing.assert_array_equal(x, stream[5 * i: 5 * i + 5])  # consecutive chunks
        np.testing.assert_array_equal(y, stream[5 * i + 1: 5 * i + 6])  # next characters


def test_tunes_are_joined_by_a_blank_line():
    vocab = CharVocabulary("ab\n")
    ids = [int(i) for i in pipeline.encode_tunes(_texts("ab", "ba"), vocab)]
    assert vocab.decode(ids) == "ab\n\nba\n\n"


def test_unseen_characters_in_held_out_text_get_the_oov_id():
    vocab = CharVocabulary("ab\n")
    ids = [int(i) for i in pipeline.encode_tunes(_texts("aéb"), vocab)]
    assert ids == [vocab.id_of("a"), 0, vocab.id_of("b"), 1, 1]


def test_dataset_batches_have_global_batch_shape_and_known_length(irish_builder,
                                                                   irish_vocabulary):
    texts = pipeline.tune_texts(irish_builder, "train")
    data = pipeline.make_train_dataset(texts, irish_vocabulary, seq_length=100, batch_size=8,
                                       seed=1)
    num_chars = sum(len(t) + 2 for t in pipeline.read_texts(texts))
    assert int(data.cardinality()) == (num_chars // 100 - 1) // 8
    x, y = next(iter(data))
    assert x.shape == y.shape == (8, 100) and x.dtype == tf.int32
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    assert int(tf.reduce_min(x)) >= 1  # no OOV in training data


def test_vocabulary_of_the_bundled_corpus(irish_vocabulary):
    assert len(irish_vocabulary.characters) == 83  # the course's 83 characters
    assert "\n" in irish_vocabulary.characters


def test_too_little_data_for_one_batch_is_a_clear_error():
    vocab = CharVocabulary("ab\n")
    with pytest.raises(ValueError, match="fewer than one batch of 64"):
        pipeline.make_train_dataset(_texts("abab"), vocab, seq_length=2, batch_size=64)


def test_manual_config_reads_a_folder_of_messy_files(tmp_path):
    builder = pipeline.prepare_builder(abc_path=DUMMY_ABC_DIR, data_dir=str(tmp_path))
    titles = {t.split("\n")[1] for split in builder.info.splits
              for t in pipeline.read_texts(pipeline.tune_texts(builder, split))}
    assert titles == {"T:The Dummy Reel", "T:Jig with 50\\% Percent", "T:Slip Jig",
                      "T:Café Polka", "T:No Blank Line Before Me", "T:Split By A Blank Line",
                      "T:Hornpipe"}


def test_manual_config_rereads_changed_files_and_accepts_a_single_file(tmp_path):
    abc = tmp_path / "mine.abc"
    abc.write_text("X:1\nT:One\nM:4/4\nL:1/8\nK:D\nabcd|\n")
    data_dir = str(tmp_path / "tfds")
    builder = pipeline.prepare_builder(abc_path=str(abc), data_dir=data_dir)
    assert sum(s.num_examples for s in builder.info.splits.values()) == 1
    abc.write_text(abc.read_text() + "\nX:2\nT:Two\nM:4/4\nL:1/8\nK:D\ndcba|\n")
    builder = pipeline.prepare_builder(abc_path=str(abc), data_dir=data_dir)
    assert sum(s.num_examples for s in builder.info.splits.values()) == 2


def test_missing_path_and_file_without_tunes_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.abc: no such file"):
        pipeline.prepare_builder(abc_path=str(tmp_path / "nowhere.abc"))
    empty = tmp_path / "empty.abc"
    empty.write_text("% only a comment\n")
    with pytest.raises(Exception, match=r"empty\.abc: no ABC tune found"):
        pipeline.prepare_builder(abc_path=str(empty), data_dir=str(tmp_path / "d"))
    folder = tmp_path / "no_abc_here"
    folder.mkdir()
    (folder / "readme.txt").write_text("hello")
    with pytest.raises(ValueError, match="no_abc_here: no \\*.abc files found"):
        pipeline.prepare_builder(abc_path=str(folder), data_dir=str(tmp_path / "d2"))
    assert os.path.exists(folder / "readme.txt")


def test_a_collection_is_one_of_the_configs_and_not_with_your_own_files(tmp_path):
    assert pipeline.COLLECTIONS == ("irish_folk", "oneills_1850", "ryans_mammoth", "airds_airs",
                                    "misc_folk", "combined", "combined_clean",
                                    "combined_clean_transposed")
    with pytest.raises(ValueError, match="collection: expected one of irish_folk, .*got 'x'"):
        pipeline.prepare_builder(collection="x")
    with pytest.raises(ValueError, match="collection: give a collection or your own tunes"):
        pipeline.prepare_builder(abc_path=str(tmp_path), collection="irish_folk")


def test_a_config_of_your_own_choice_of_collections_is_prepared_under_its_name(tmp_path):
    """abc_tunes_dataset_builder.collections_config: e.g. every collection but one, for a
    leave-one-out comparison; what the experiments train on."""
    from tfcreative.datasets.abc_tunes.abc_tunes_dataset_builder import collections_config

    config = collections_config("only_misc_folk_clean", ("misc_folk",), clean=True)
    builder = pipeline.prepare_builder(collection=config, data_dir=str(tmp_path))
    assert builder.data_path.parent.name == "only_misc_folk_clean"
    assert {split: info.num_examples for split, info in builder.info.splits.items()} == \
        {"train": 117, "validation": 17, "test": 22}
    assert all("Z:" not in t for t in pipeline.read_texts(pipeline.tune_texts(builder, "test")))
    with pytest.raises(ValueError, match="collections: expected names of irish_folk"):
        collections_config("x", ("nottingham",))

def test_a_tune_filed_twice_under_other_headers_is_one_example(irish_builder):
    """The bundled corpus files two tunes twice under other numbers or titles ("Planxty
    Drury" X:18/X:23, "Paddy on the Turnpike"/"Turnpike" X:282/X:368): the second of each pair
    is dropped before splitting, so every music is in one split, once."""
    from tfcreative.abc_notation import music_body

    split_of = {}
    for split in irish_builder.info.splits:
        for tune in pipeline.read_texts(pipeline.tune_texts(irish_builder, split)):
            split_of.setdefault(music_body(tune), []).append(split)
    assert set(irish_builder.info.splits) == {"train", "validation", "test"}
    assert all(len(splits) == 1 for splits in split_of.values())
    assert len(split_of) == 804 - 2
    titles = pipeline.read_texts(irish_builder.as_dataset(split="train").map(
        lambda example: example["title"]))
    assert titles.count("Planxty Drury") == 1 and titles.count("Paddy on the Turnpike") == 1
    assert "Turnpike" not in titles


def test_the_split_depends_on_the_music_only():
    from tfcreative.datasets.abc_tunes.curation import split_of

    music = "|:A2cA B2AF|E3F ABce|a2ge faec|BABc A4:|"
    variants = [f"X:{i}\nT:Title {i}\nZ:id {i}\nM:C\nL:1/8\nK:A\n" + music.replace("|", " | ")
                for i in range(200)]
    assert {split_of(abc) for abc in variants} == {split_of(variants[0])}
    splits = {split_of(f"X:1\nT:t\nM:C\nL:1/8\nK:D\n{n}abc|") for n in range(300)}
    assert splits == {"train", "validation", "test"}



def test_the_hash_split_is_the_one_the_pix2pix_folders_always_used():
    """datasets/hash_split.py: the pix2pix builder's held-out split of flat folders uses it,
    with the buckets it always had, and so does the tunes' split."""
    from tfcreative.abc_notation import music_body
    from tfcreative.datasets.abc_tunes.curation import split_of
    from tfcreative.datasets.hash_split import split_of_key
    from tfcreative.datasets.pix2pix import pix2pix_dataset_builder as pix2pix

    names = [f"pair_{i:04d}" for i in range(400)]
    splits = [pix2pix._held_out_split(name) for name in names]
    # the buckets the builder has always used (prepared folders keep their splits)
    assert {s: splits.count(s) for s in set(splits)} == {"train": 321, "test": 41,
                                                         "validation": 38}
    assert [(n, s) for n, s in zip(names, splits, strict=True) if s != "train"][:3] == \
        [("pair_0007", "validation"), ("pair_0008", "test"), ("pair_0014", "validation")]
    tune = "X:1\nT:t\nM:C\nL:1/8\nK:D\nabc|"
    assert split_of(tune) == split_of_key(music_body(tune))
    assert split_of_key("ABC", {"validation": 100}) == "validation"
    assert split_of_key("ABC", {}) == "train"

# -- a user's own tunes: prepared apart, reused, never a hang ---------------------------------

def _tune(number: int, title: str) -> str:
    return f"X:{number}\nT:{title}\nM:4/4\nL:1/8\nK:D\n" + "abcd efga|" * (number + 2) + "\n"


def _titles(builder) -> set[str]:
    return {t.split("\n")[1] for split in builder.info.splits
            for t in pipeline.read_texts(pipeline.tune_texts(builder, split))}


def test_two_runs_on_different_tunes_never_share_a_data_set(tmp_path, monkeypatch):
    """A second run prepares its tunes while the first is half-way through preparing its own,
    in the same data_dir: each gets its own tunes, neither breaks the other."""
    from tfcreative.datasets.abc_tunes.abc_tunes_dataset_builder import Builder

    mine, theirs = tmp_path / "mine.abc", tmp_path / "theirs"
    mine.write_text(_tune(1, "Mine"))
    theirs.mkdir()
    (theirs / "a.abc").write_text(_tune(2, "Theirs"))
    data_dir = str(tmp_path / "tfds")
    prepare = Builder._split_generators
    other_run = {}

    def interleaved(self, dl_manager):
        if not other_run:  # the other run, while this one is preparing
            other_run["started"] = True
            other_run["builder"] = pipeline.prepare_builder(abc_path=str(theirs),
                                                            data_dir=data_dir)
        return prepare(self, dl_manager)

    monkeypatch.setattr(Builder, "_split_generators", interleaved)
    builder = pipeline.prepare_builder(abc_path=str(mine), data_dir=data_dir)
    assert _titles(builder) == {"T:Mine"}
    assert _titles(other_run["builder"]) == {"T:Theirs"}


def test_the_same_tunes_prepared_twice_at_once_are_prepared_once(tmp_path, monkeypatch):
    """Two runs on the same tunes at once: the later rename finds the data set in place and
    uses it (the same content, so the same data)."""
    from tfcreative.datasets.abc_tunes.abc_tunes_dataset_builder import Builder

    tunes = tmp_path / "tunes.abc"
    tunes.write_text(_tune(1, "Ours"))
    data_dir = str(tmp_path / "tfds")
    prepare = Builder._split_generators
    other_run = {}

    def interleaved(self, dl_manager):
        if not other_run:
            other_run["started"] = True
            other_run["builder"] = pipeline.prepare_builder(abc_path=str(tunes),
                                                            data_dir=data_dir)
        return prepare(self, dl_manager)

    monkeypatch.setattr(Builder, "_split_generators", interleaved)
    assert _titles(pipeline.prepare_builder(abc_path=str(tunes), data_dir=data_dir)) == \
        {"T:Ours"}
    assert _titles(other_run["builder"]) == {"T:Ours"}


def test_unchanged_tunes_are_prepared_once_and_reused(tmp_path, monkeypatch):
    from tfcreative.datasets.abc_tunes.abc_tunes_dataset_builder import Builder

    folder = tmp_path / "tunes"
    folder.mkdir()
    (folder / "a.abc").write_text(_tune(1, "One"))
    data_dir = str(tmp_path / "tfds")
    first = pipeline.prepare_builder(abc_path=str(folder), data_dir=data_dir)

    def rebuilt(self, dl_manager):
        raise AssertionError("prepared again although the tunes did not change")

    monkeypatch.setattr(Builder, "_split_generators", rebuilt)
    again = pipeline.prepare_builder(abc_path=str(folder), data_dir=data_dir)
    assert _titles(again) == {"T:One"} and again.data_path == first.data_path
    (folder / "b.abc").write_text(_tune(2, "Two"))  # new content: prepared apart
    monkeypatch.undo()
    changed = pipeline.prepare_builder(abc_path=str(folder), data_dir=data_dir)
    assert _titles(changed) == {"T:One", "T:Two"} and changed.data_path != first.data_path


@pytest.mark.parametrize("name", ["empty", "x.abc"])
def test_a_folder_without_abc_files_is_an_error_about_abc_path(name, tmp_path):
    from tfcreative.errors import InvalidArgument

    (tmp_path / name).mkdir()
    with pytest.raises(InvalidArgument) as error:
        pipeline.prepare_builder(abc_path=str(tmp_path / name), data_dir=str(tmp_path))
    assert error.value.argument == "abc_path"
    assert error.value.detail == f"{tmp_path / name}: no *.abc files found (searched recursively)"


def test_an_error_about_one_named_file_names_that_file(tmp_path):
    empty = tmp_path / "empty.abc"
    empty.write_text("% only a comment\n")
    with pytest.raises(ValueError) as error:
        pipeline.prepare_builder(abc_path=str(empty), data_dir=str(tmp_path / "d"))
    assert str(error.value).startswith(f"{empty}: no ABC tune found")


@contextlib.contextmanager
def _deadline(seconds: int):
    """Fails the block if it takes longer than `seconds` (SIGALRM interrupts a blocked open)."""
    def expired(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_pipe_and_a_symlink_cycle_in_the_folder_are_skipped_not_followed(tmp_path, caplog):
    folder = tmp_path / "tunes"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.abc").write_text(_tune(1, "One"))
    (folder / "sub" / "b.abc").write_text(_tune(2, "Two"))
    os.mkfifo(folder / "sub" / "pipe.abc")  # nobody ever writes to it
    (folder / "sub" / "up").symlink_to("..")  # sub/up/sub/up/... for ever
    (folder / "again.abc").symlink_to("a.abc")  # the same file under another name
    with _deadline(60), caplog.at_level(logging.INFO):
        builder = pipeline.prepare_builder(abc_path=str(folder),
                                           data_dir=str(tmp_path / "tfds"))
    assert _titles(builder) == {"T:One", "T:Two"}
    messages = [r.getMessage() for r in caplog.records]
    skipped = [m for m in messages if "only regular files are read, each once" in m]
    assert len(skipped) == 1 and "1 pipe, socket or device: sub/pipe.abc" in skipped[0], \
        messages
    assert any("read 2 tunes from 2 file(s)" in m for m in messages), messages
    assert any("2 tunes read; duplicates dropped: 0 same music, 0 same notes" in m
               for m in messages), messages


def test_a_named_pipe_given_as_the_tunes_is_refused_at_once(tmp_path):
    from tfcreative.errors import InvalidArgument

    os.mkfifo(tmp_path / "pipe.abc")
    with _deadline(60), pytest.raises(InvalidArgument, match=r"abc_path: .*pipe\.abc: not a "
                                                              r"regular file or folder"):
        pipeline.prepare_builder(abc_path=str(tmp_path / "pipe.abc"),
                                 data_dir=str(tmp_path / "tfds"))


@pytest.mark.parametrize("data", [{"collection": "irish_folk"}, {"abc_path": DUMMY_ABC_DIR}])
def test_preparing_data_leaves_the_seeded_random_state_alone(data, tmp_path):
    """A model built after the data starts from the same weights whether the data was
    prepared in this run or an earlier one (Keras's unseeded initializers draw from Python's
    `random`, and TFDS draws from it while preparing)."""
    import random

    import keras

    draws = []
    for _ in ("prepared now", "prepared before"):
        keras.utils.set_random_seed(0)
        pipeline.prepare_builder(**data, data_dir=str(tmp_path))
        draws.append(random.random())
    assert draws[0] == draws[1]
