"""abc_tunes dataset: folk tunes in ABC notation, one example per tune."""

from __future__ import annotations

import collections
import hashlib
import logging

import importlib_resources
import tensorflow_datasets as tfds
from etils import epath

from tfcreative import abc_notation

logger = logging.getLogger(__name__)

BUNDLED_CONFIG = "irish_folk"  # the corpus shipped in the package
MANUAL_CONFIG = "manual"  # your own files, through TFDS's manual_dir
HELD_OUT_PERCENT = {"validation": 10, "test": 10}  # the rest is train
ABC_SUFFIXES = (".abc",)


def split_of(abc: str) -> str:
    """"train", "validation" or "test", by a hash of the tune's music (header and spacing
    left out): deterministic, independent of file order, and the same tune filed twice under
    other numbers or titles always lands on the same side."""
    bucket = int(hashlib.sha256(abc_notation.music_body(abc).encode("utf-8")).hexdigest()[:8],
                 16) % 100
    for split, percent in HELD_OUT_PERCENT.items():
        if bucket < percent:
            return split
        bucket -= percent
    return "train"


def bundled_corpus_path() -> epath.Path:
    """The Irish folk corpus shipped inside the tfcreative package."""
    return epath.Path(importlib_resources.files("tfcreative") / "data" / "irish_folk" / "irish.abc")


def find_abc_files(root: epath.Path) -> list[epath.Path]:
    """`root` itself if it is a file, else every *.abc file (any case) below it, sorted."""
    if not root.is_dir():
        return [root]
    found = []
    for child in root.iterdir():  # epath has no rglob on every backend; recurse by hand
        if child.is_dir():
            found.extend(find_abc_files(child))
        elif child.suffix.lower() in ABC_SUFFIXES:
            found.append(child)
    return sorted(found)


class Builder(tfds.core.GeneratorBasedBuilder):
    """DatasetBuilder for folk tunes in ABC notation."""

    # TFDS guesses the builder's folder (README, CITATIONS, checksums, dummy_data) from its
    # module name; datasets/ installs as tfcreative.datasets via package_dir, which that guess
    # gets wrong in editable installs, so the folder is stated here.
    code_path = epath.Path(__file__)
    pkg_dir_path = epath.Path(__file__).parent

    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {
        "1.0.0": "Initial release.",
        "1.1.0": "Train / validation / test (80/10/10) by a hash of each tune's music, so the "
                 "same tune under another number or title never sits on both sides.",
    }
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(
            name=BUNDLED_CONFIG,
            description="804 Irish folk tunes (MIT 6.S191 music lab, MIT licence), bundled.",
        ),
        tfds.core.BuilderConfig(
            name=MANUAL_CONFIG,
            description="Your own .abc files: every *.abc under manual_dir (or one file).",
        ),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    For the `manual` config, point `manual_dir` at a folder of `.abc` files (searched
    recursively) or at one `.abc` file, e.g.
    `tfds.load("abc_tunes/manual", download_and_prepare_kwargs={"download_config":
    tfds.download.DownloadConfig(manual_dir="~/my_tunes")})`, or use
    `tfcreative music train --abc ~/my_tunes`.
    """

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "abc": tfds.features.Text(doc="The whole tune, header and music."),
                    "title": tfds.features.Text(doc="T: field (empty if absent)."),
                    "meter": tfds.features.Text(doc="M: field (empty if absent)."),
                    "unit_note_length": tfds.features.Text(doc="L: field (empty if absent)."),
                    "key": tfds.features.Text(doc="K: field."),
                    "reference": tfds.features.Text(doc="X: field."),
                    "source_file": tfds.features.Text(doc="File the tune came from."),
                }
            ),
            supervised_keys=None,
            homepage="https://github.com/MITDeepLearning/introtodeeplearning",
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        if self.builder_config.name == BUNDLED_CONFIG:
            root = bundled_corpus_path()
        else:
            root = epath.Path(dl_manager.manual_dir)
        tunes = self._read_tunes(root)
        by_split = {"train": [], "validation": [], "test": []}
        for tune in tunes:
            by_split[split_of(tune[2].abc)].append(tune)
        if not by_split["train"]:  # a handful of tunes that all hashed out: train on them
            by_split = {"train": tunes, "validation": [], "test": []}
        logger.info("abc_tunes/%s: %s tunes", self.builder_config.name,
                    ", ".join(f"{len(v)} {k}" for k, v in by_split.items()))
        empty = [split for split, items in by_split.items() if not items]
        if empty:  # TFDS cannot write an empty split
            logger.warning("abc_tunes/%s: %d tunes, too few for a %s split (about 1 in 10 "
                           "tunes goes to each)", self.builder_config.name, len(tunes),
                           " or ".join(empty))
        return {split: self._generate_examples(items)
                for split, items in by_split.items() if items}

    def _read_tunes(self, root: epath.Path) -> list[tuple[str, int, abc_notation.Tune]]:
        """Every tune under `root`. Files without a tune are skipped, named and counted (real
        collections hold format includes and notes); it is an error when nothing holds a tune,
        or when `root` is a single file without one."""
        files = find_abc_files(root)
        if not files:
            raise ValueError(f"{root}: no *.abc files found (searched recursively).")
        tunes = []
        skipped: collections.Counter = collections.Counter()
        files_without_tunes = []
        for path in files:
            source = path.name if path == root else str(path.relative_to(root))
            try:
                result = abc_notation.parse_abc_bytes(path.read_bytes(), source=str(path))
            except abc_notation.NoTunesError as error:
                if len(files) == 1:  # the whole input, e.g. the one file the user named
                    raise
                logger.warning("%s Skipped this file.", error)
                files_without_tunes.append(source)
                continue
            if result.encoding != "utf-8":
                logger.warning("%s: not UTF-8, decoded as %s", path, result.encoding)
            if result.repaired:
                logger.warning("%s: joined %d tune(s) whose header and music were split by a "
                               "blank line", path, result.repaired)
            for reason, count in result.skipped.items():
                logger.warning("%s: skipped %d block(s): %s", path, count, reason)
            skipped.update(result.skipped)
            tunes.extend((source, i, tune) for i, tune in enumerate(result.tunes))
        if not tunes:
            raise abc_notation.NoTunesError(
                f"{root}: none of its {len(files)} *.abc files holds an ABC tune "
                f"({', '.join(files_without_tunes)}). Expected tunes that start with an 'X:' "
                "line and whose header ends with a 'K:' line, followed by music.")
        logger.info("abc_tunes/%s: read %d tunes from %d file(s); skipped %d file(s) without "
                    "a tune and %d block(s)", self.builder_config.name, len(tunes),
                    len(files) - len(files_without_tunes), len(files_without_tunes),
                    sum(skipped.values()))
        return tunes

    def _generate_examples(self, tunes):
        for source, index, tune in tunes:
            yield f"{source}#{index}", {
                "abc": tune.abc,
                "title": tune.title,
                "meter": tune.meter,
                "unit_note_length": tune.unit_note_length,
                "key": tune.key,
                "reference": tune.reference,
                "source_file": source,
            }
