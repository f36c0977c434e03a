"""TFDS tests for abc_tunes: dummy_data (manual config), the bundled corpus (irish_folk), the
public-domain books in music21's corpus and the combined config (real data: music21 ships it);
files without a tune in a collection (skipped, named, counted) or as the whole input (errors);
duplicates dropped before splitting."""

import json
import logging
import os

import pytest
import tensorflow_datasets as tfds

from tfcreative import abc_notation
from tfcreative.abc_notation import NoTunesError
from tfcreative.datasets.abc_tunes import abc_tunes_dataset_builder, music21_collections
from tfcreative.datasets.abc_tunes.curation import SourceTune, deduplicate, duplicate_keys


class AbcTunesManualTest(tfds.testing.DatasetBuilderTestCase):
    """dummy_data/ is a messy collection: comments, CRLF, Latin-1, missing X:/K:, no music."""

    DATASET_CLASS = abc_tunes_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["manual"]
    # 7 tunes read; skipped: file header text, "Missing Key" (no K:), "No Reference Line"
    # (no X:), "Only A Header" (no music); not_abc.txt is ignored (wrong suffix);
    # format_notes.abc holds no tune and is skipped. Too few tunes for a validation split
    # (a split is written only when non-empty).
    SPLITS = {"train": 6, "test": 1}


class AbcTunesIrishFolkTest(tfds.testing.DatasetBuilderTestCase):
    """The bundled corpus: 804 tunes (two of them repaired), two of them twice (both pairs in
    train), so 802 split 656 / 72 / 74 by a hash of each tune's music."""

    DATASET_CLASS = abc_tunes_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["irish_folk"]
    SPLITS = {"train": 656, "validation": 72, "test": 74}


class AbcTunesOneills1850Test(tfds.testing.DatasetBuilderTestCase):
    """O'Neill's 1850 in music21 10.5: 2,009 tunes in 39 files; 6 files transcribe 166 tunes a
    second time and are skipped; of 1,843, 2 have the same music and 2 the same notes as
    another: 1,839."""

    DATASET_CLASS = abc_tunes_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["oneills_1850"]
    SPLITS = {"train": 1471, "validation": 177, "test": 191}


class AbcTunesRyansMammothTest(tfds.testing.DatasetBuilderTestCase):
    """Ryan's Mammoth Collection in music21 10.5: 1,059 files of one tune; 14 repeat another's
    music (the same tune under two file names), 5 its notes: 1,040."""

    DATASET_CLASS = abc_tunes_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["ryans_mammoth"]
    SPLITS = {"train": 847, "validation": 99, "test": 94}


class AbcTunesAirdsAirsTest(tfds.testing.DatasetBuilderTestCase):
    """Aird's Airs in music21 10.5: 1,180 tunes in 6 books (8 header lines without their
    field letter dropped); 2 repeat another's notes: 1,178."""

    DATASET_CLASS = abc_tunes_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["airds_airs"]
    SPLITS = {"train": 981, "validation": 91, "test": 106}


class AbcTunesCombinedTest(tfds.testing.DatasetBuilderTestCase):
    """All four, each tune once: 802 + 1,838 + 1,031 + 1,176 = 4,847 tunes."""

    DATASET_CLASS = abc_tunes_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["combined"]
    SPLITS = {"train": 3946, "validation": 436, "test": 465}


class AbcTunesMiscFolkTest(tfds.testing.DatasetBuilderTestCase):
    """music21's miscFolk: 185 tunes in 2 files; the 28 earlier versions the fife file appends
    (X:101 on) are skipped; of 157, 1 repeats another's music: 156."""

    DATASET_CLASS = abc_tunes_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["misc_folk"]
    SPLITS = {"train": 117, "validation": 17, "test": 22}


class AbcTunesCombinedCleanTransposedTest(tfds.testing.DatasetBuilderTestCase):
    """All five collections, clean: 4,063 / 453 / 487 tunes; the training tunes also in the
    other keys of 1 flat to 3 sharps: 16,433 copies (3 tunes cannot be transposed)."""

    DATASET_CLASS = abc_tunes_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["combined_clean_transposed"]
    SPLITS = {"train": 4063 + 16433, "validation": 453, "test": 487}


TUNE = "X:1\nT:One\nM:4/4\nL:1/8\nK:D\nabcd|\n"
NOTES = "%%pagewidth 21cm\nWhere these tunes come from: free text, no tune.\n"


def build_manual(manual_dir, data_dir):
    """abc_tunes/manual as a TFDS user builds it."""
    builder = tfds.builder("abc_tunes/manual", data_dir=str(data_dir))
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
    return builder


def test_files_without_a_tune_are_skipped_named_and_counted(tmp_path, caplog):
    folder = tmp_path / "collection"
    (folder / "includes").mkdir(parents=True)
    (folder / "tunes.abc").write_text(TUNE + "\n" + TUNE.replace("X:1", "X:2").replace("d|", "e|"))
    (folder / "notes.abc").write_text(NOTES)
    (folder / "includes" / "format.abc").write_text("%%titlefont Times-Bold 18\n")
    with caplog.at_level(logging.INFO):
        builder = build_manual(folder, tmp_path / "tfds")
    assert sum(split.num_examples for split in builder.info.splits.values()) == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for name in ("notes.abc", "includes/format.abc"):
        assert any(str(folder / name) in w and "no ABC tune found" in w for w in warnings), name
    assert any("read 2 tunes from 1 file(s); skipped 2 file(s) without a tune" in r.getMessage()
               for r in caplog.records)


def test_no_tune_in_the_whole_input_is_an_error_naming_the_folder(tmp_path):
    folder = tmp_path / "only_notes"
    folder.mkdir()
    (folder / "a.abc").write_text(NOTES)
    (folder / "b.abc").write_text("")
    with pytest.raises(NoTunesError, match=r"only_notes: none of its 2 \*\.abc files holds an "
                                           r"ABC tune \(a\.abc, b\.abc\)"):
        build_manual(folder, tmp_path / "tfds")


def test_a_single_named_file_without_a_tune_is_an_error_naming_it(tmp_path):
    from tfcreative.music import pipeline

    notes = tmp_path / "notes.abc"
    notes.write_text(NOTES)
    with pytest.raises(NoTunesError, match=r"notes\.abc: no ABC tune found"):
        pipeline.prepare_builder(abc_path=str(notes), data_dir=str(tmp_path / "tfds"))


# The counts per collection (music21 10.5): tunes read, duplicates dropped by kind and by
# where the tune kept is, tunes kept, characters, split sizes. The "~2,009" O'Neill's
# entries hold 166 second transcriptions of the same tune numbers (files skipped).
COMBINED_COUNTS = {
    "irish_folk": (804, 2, 0, 0, 0, 802, 181_020, (656, 72, 74)),
    "oneills_1850": (1843, 2, 0, 2, 1, 1838, 528_579, (1470, 177, 191)),
    "ryans_mammoth": (1059, 14, 0, 5, 9, 1031, 320_061, (841, 96, 94)),
    "airds_airs": (1180, 0, 0, 2, 2, 1176, 335_640, (979, 91, 106)),
}


@pytest.fixture(scope="module")
def combined(tmp_path_factory):
    builder = tfds.builder("abc_tunes/combined", data_dir=str(tmp_path_factory.mktemp("tfds")))
    builder.download_and_prepare()
    return builder


def test_the_combined_config_counts_each_collection(combined):
    counts = {name: (c["tunes_read"], c["same_music_within"], c["same_music_of_earlier"],
                     c["same_notes_within"], c["same_notes_of_earlier"], c["tunes"],
                     c["characters"], tuple(c["splits"].values()))
              for name, c in combined.info.metadata["collections"].items()}
    assert counts == COMBINED_COUNTS
    assert combined.info.metadata["music21_version"].startswith("10.5")


def test_the_counts_are_saved_with_the_data_set(combined):
    """info.metadata is written beside the data: a later tfds.builder reads it back."""
    with open(combined.data_path / "metadata.json") as f:
        assert json.load(f)["collections"]["ryans_mammoth"]["tunes"] == 1031
    again = tfds.builder("abc_tunes/combined", data_dir=str(combined.data_dir_root))
    assert again.info.metadata["collections"]["airds_airs"]["tunes"] == 1176


def test_no_two_tunes_of_the_combined_config_share_their_music_or_notes(combined):
    """What de-duplication is for: no held-out tune has a twin in training (nor anywhere)."""
    seen: dict = {}
    for split in ("train", "validation", "test"):
        for example in tfds.as_numpy(combined.as_dataset(split=split)):
            for key in duplicate_keys(example["abc"].decode()).items():
                assert key not in seen, (split, example["title"], seen.get(key))
                seen[key] = (split, example["title"])
    assert len({k for k in seen if k[0] == "music"}) == 4847


def test_tunes_of_the_public_domain_books_keep_their_provenance_apart(combined):
    """Transcribers' names, e-mail addresses and notes stay with each tune, outside its text."""
    by_collection: dict = {}
    for example in tfds.as_numpy(combined.as_dataset(split="train")):
        by_collection.setdefault(example["collection"].decode(), example)
    assert set(by_collection) == set(COMBINED_COUNTS)
    for example in by_collection.values():
        abc = example["abc"].decode()
        header = abc.split("\nK:")[0].split("\n")
        assert abc.startswith("X:") and all(line[0] in "XTMLQPVRUm" for line in header)
        assert "@" not in abc
    ryan = by_collection["ryans_mammoth"]
    assert ryan["source_file"].decode().startswith("ryansMammoth/")
    assert "Z:" in ryan["provenance"].decode()


def test_a_second_transcription_file_is_skipped_and_named(tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        builder = tfds.builder("abc_tunes/oneills_1850", data_dir=str(tmp_path))
        builder.download_and_prepare()
    messages = [r.getMessage() for r in caplog.records]
    assert any("skipped 6 file(s) that transcribe the same tunes as another file" in m
               and "1577-1624.abc (1556-1624.abc)" in m for m in messages)
    sources = {ex["source_file"].decode() for ex in tfds.as_numpy(builder.as_dataset(
        split="train"))}
    assert "oneills1850/1556-1624.abc" in sources
    assert not sources & {f"oneills1850/{name}" for name in
                          music21_collections.ONEILLS_1850.second_transcriptions}


def test_music21_without_its_corpus_is_an_error_saying_what_to_do(monkeypatch, tmp_path):
    fake = tmp_path / "site-packages" / "music21"
    fake.mkdir(parents=True)

    class Spec:
        submodule_search_locations = [str(fake)]

    monkeypatch.setattr(music21_collections.importlib.util, "find_spec", lambda name: Spec)
    with pytest.raises(music21_collections.Music21CorpusNotFoundError,
                       match=r"music21/corpus/ryansMammoth: not found\. music21 .* is installed "
                             r"without its corpus.*reinstall it from PyPI"):
        music21_collections.corpus_folder(music21_collections.RYANS_MAMMOTH)


# De-duplication, by hand-written tunes.
REEL = "X:1\nT:The Reel\nZ:id:1\nM:4/4\nL:1/8\nK:D\n|:dAFA dAFA|dfed cAGF|dAFA dAFA|dfed cAGF:|"


def tune(text: str, collection: str = "a", source: str = "a.abc", index: int = 0) -> SourceTune:
    (parsed,) = abc_notation.parse_abc_text(text).tunes
    return SourceTune(collection, source, index, parsed, "")


def keys(item: SourceTune) -> dict:
    return duplicate_keys(item.tune.abc)


def test_identical_tunes_are_one_tune():
    kept, dropped = deduplicate([tune(REEL), tune(REEL, index=1)], keys)
    assert [t.index for t in kept] == [0]
    assert [(t.index, first.index, key) for t, first, key in dropped] == [(1, 0, "music")]


@pytest.mark.parametrize("variant", [
    REEL.replace("X:1\nT:The Reel\nZ:id:1", "X:99\nT:Another Name\nT:And Another\nZ:id:2"),
    REEL.replace("|dfed", "|\ndfed").replace("|:", "|: ").replace("dAFA|", "dAFA |"),
    REEL.replace("cAGF|", "cAGF|\\\n").replace("dA", "d`A"),  # continuation, beaming spacer
    REEL.replace("K:D\n", "K:D\nN:a note in the body\n") + "\nW:some words",
])
def test_tunes_identical_after_normalising_layout_titles_and_numbers_are_one_tune(variant):
    kept, dropped = deduplicate([tune(REEL), tune(variant, index=1)], keys)
    assert len(kept) == 1 and dropped[0][2] == "music"


def test_the_same_notes_written_with_other_rhythm_or_ornaments_are_one_tune():
    variant = REEL.replace("|:dAFA", '|:"D"!trill!dA{g}FA').replace("cAGF:|", "c>AG-GF:|")
    kept, dropped = deduplicate([tune(REEL), tune(variant, index=1)], keys)
    assert len(kept) == 1 and dropped[0][2] == "notes"


def test_other_tunes_and_short_tunes_with_the_same_notes_are_kept():
    other = REEL.replace("cAGF:|", "cAGE:|")
    short = "X:1\nT:s\nM:4/4\nL:1/8\nK:D\n|:dAFA dAFA:|"  # 8 notes: compared by music only
    short_other_rhythm = short.replace("dAFA dAFA", "d2AF A2dA")
    kept, dropped = deduplicate(
        [tune(t, index=i) for i, t in enumerate([REEL, other, short, short_other_rhythm])], keys)
    assert len(kept) == 4 and dropped == []


def test_across_collections_the_earlier_collections_tune_is_kept():
    later = tune(REEL.replace("X:1", "X:7"), collection="b", source="b.abc")
    earlier = tune(REEL.replace("The Reel", "Reel of the Earlier Book"), collection="a")
    kept, dropped = deduplicate([earlier, later], keys)
    assert kept == [earlier] and dropped == [(later, earlier, "music")]


def test_a_users_collection_is_de_duplicated_before_splitting(tmp_path, caplog):
    """Through the builder (the manual config): the same tune in two files under other
    numbers and titles is one example, and the log counts the duplicate."""
    folder = tmp_path / "collection"
    folder.mkdir()
    tunes = [REEL.replace("X:1", f"X:{i}").replace("dAFA dAFA|dfed", f"dAFA dAFA|{n}fed")
             for i, n in enumerate("defgabc", start=1)]
    (folder / "one.abc").write_text("\n\n".join(tunes))
    twin = REEL.replace("X:1\nT:The Reel", "X:50\nT:Its Other Name").replace("|", " | ")
    (folder / "two.abc").write_text(twin)
    with caplog.at_level(logging.INFO):
        builder = build_manual(folder, tmp_path / "tfds")
    assert sum(split.num_examples for split in builder.info.splits.values()) == 7
    assert builder.info.metadata["collections"]["manual"]["same_music_within"] == 1
    assert any("8 tunes read; duplicates dropped: 1 same music" in r.getMessage()
               for r in caplog.records)


def test_find_abc_files_reads_regular_files_once_and_never_loops(tmp_path, caplog):
    """A pipe, a link to nothing, a second name of a file and a link back up the tree (a
    cycle) are skipped, counted and named in one line; each real file is found once."""
    from etils import epath

    from tfcreative.datasets.abc_tunes.abc_files import find_abc_files

    root = tmp_path / "tunes"
    (root / "sub").mkdir(parents=True)
    (root / "a.abc").write_text(TUNE)
    (root / "sub" / "b.ABC").write_text(TUNE)
    (root / "sub" / "up").symlink_to("..")
    (root / "again.abc").symlink_to("a.abc")
    (root / "broken.abc").symlink_to("nowhere.abc")
    os.mkfifo(root / "pipe.abc")
    with caplog.at_level(logging.WARNING):
        files = find_abc_files(epath.Path(root))
    assert [str(path.relative_to(root)) for path in files] == ["a.abc", "sub/b.ABC"]
    assert [r.getMessage() for r in caplog.records] == [
        f"{root}: skipped 1 pipe, socket or device: pipe.abc; 1 link to nothing: broken.abc; "
        "1 second name of a file already found: again.abc; 1 link to a folder already "
        "searched: sub/up (only regular files are read, each once)"]


if __name__ == "__main__":
    tfds.testing.test_main()


# -- clean text and transposed copies ---------------------------------------------------------

@pytest.fixture(scope="module")
def transposed(tmp_path_factory):
    builder = tfds.builder("abc_tunes/combined_clean_transposed",
                           data_dir=str(tmp_path_factory.mktemp("tfds")))
    builder.download_and_prepare()
    return builder


def _examples(builder, split):
    return list(tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False)))


def test_clean_configs_hold_out_the_same_tunes_as_the_tunes_as_written(transposed, combined):
    """The split is made on the tunes as written: every held-out tune of `combined` is held out
    in the clean config too, in the same split (its text cleaned), so models trained on
    either are scored on the same tunes."""
    for split in ("validation", "test"):
        clean = {(ex["collection"], ex["source_file"], ex["reference"])
                 for ex in _examples(transposed, split)}
        written = {(ex["collection"], ex["source_file"], ex["reference"])
                   for ex in _examples(combined, split)}
        assert written <= clean
        assert {c for c, _, _ in clean - written} == {b"misc_folk"}


def test_transposed_copies_are_training_tunes_only(transposed):
    train = _examples(transposed, "train")
    copies = [ex for ex in train if ex["transposition"] != 0]
    assert len(copies) == 16433 and all(-6 <= ex["transposition"] <= 6 for ex in copies)
    originals = {(ex["source_file"], ex["reference"]) for ex in train if ex["transposition"] == 0}
    assert {(ex["source_file"], ex["reference"]) for ex in copies} <= originals
    held_out = [ex for split in ("validation", "test") for ex in _examples(transposed, split)]
    assert all(ex["transposition"] == 0 for ex in held_out)
    # no held-out tune has a transposed twin in training: its notes moved are not there
    from tfcreative.abc_transposition import CannotTranspose, transpose_to

    train_notes = {duplicate_keys(ex["abc"].decode()).get("notes") for ex in train}
    for ex in held_out[::10]:
        for signature in range(-1, 4):
            try:
                moved = transpose_to(ex["abc"].decode(), signature)
            except CannotTranspose:
                continue
            assert duplicate_keys(moved).get("notes") not in train_notes - {None}


def test_clean_text_holds_no_fingerings_and_counts_its_copies(transposed):
    counts = transposed.info.metadata["collections"]
    assert counts["ryans_mammoth"]["transposed_copies"] == 3453
    assert counts["ryans_mammoth"]["not_transposed"] == {
        "a microtone": 1, "explicit accidentals in the key": 1}
    assert counts["ryans_mammoth"]["characters"] == 301_597  # 320,061 as written
    ryan = [ex["abc"].decode() for ex in _examples(transposed, "train")
            if ex["collection"] == b"ryans_mammoth"]
    assert not any('"4"' in abc or '"^Segno"' in abc or "!mf!" in abc for abc in ryan)
    assert all(abc.split("\n")[2].startswith(("M:", "R:", "T:", "L:")) for abc in ryan)
