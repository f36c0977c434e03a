"""TFDS tests for abc_tunes: dummy_data (manual config) and the bundled corpus (irish_folk)."""

import tensorflow_datasets as tfds

from tfcreative.datasets.abc_tunes import abc_tunes_dataset_builder


class AbcTunesManualTest(tfds.testing.DatasetBuilderTestCase):
    """dummy_data/ is a messy collection: comments, CRLF, Latin-1, missing X:/K:, no music."""

    DATASET_CLASS = abc_tunes_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["manual"]
    # 7 tunes read; skipped: file header text, "Missing Key" (no K:), "No Reference Line"
    # (no X:), "Only A Header" (no music); not_abc.txt is ignored (wrong suffix). Too few
    # tunes for a validation split (written only when non-empty).
    SPLITS = {"train": 6, "test": 1}


class AbcTunesIrishFolkTest(tfds.testing.DatasetBuilderTestCase):
    """The bundled corpus: 804 tunes (two of them repaired), split 658 / 72 / 74 by a hash of
    each tune's music."""

    DATASET_CLASS = abc_tunes_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["irish_folk"]
    SPLITS = {"train": 658, "validation": 72, "test": 74}


if __name__ == "__main__":
    tfds.testing.test_main()
