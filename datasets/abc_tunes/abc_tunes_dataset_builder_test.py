"""TFDS tests for abc_tunes: dummy_data (manual config) and the bundled corpus (irish_folk);
files without a tune in a collection (skipped, named, counted) or as the whole input (errors)."""

import logging

import pytest
import tensorflow_datasets as tfds

from tfcreative.abc_notation import NoTunesError
from tfcreative.datasets.abc_tunes import abc_tunes_dataset_builder


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
    """The bundled corpus: 804 tunes (two of them repaired), split 658 / 72 / 74 by a hash of
    each tune's music."""

    DATASET_CLASS = abc_tunes_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["irish_folk"]
    SPLITS = {"train": 658, "validation": 72, "test": 74}


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
    (folder / "tunes.abc").write_text(TUNE + "\n" + TUNE.replace("X:1", "X:2"))
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
        pipeline.prepare_tune_builder(abc_path=str(notes), data_dir=str(tmp_path / "tfds"))


if __name__ == "__main__":
    tfds.testing.test_main()
