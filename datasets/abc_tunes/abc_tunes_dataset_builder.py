"""abc_tunes dataset: folk tunes in ABC notation, one example per tune."""

from __future__ import annotations

import collections
import dataclasses
import logging

import importlib_resources
import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from tfcreative import abc_notation, abc_transposition
from tfcreative.datasets.abc_tunes import curation, music21_collections
from tfcreative.datasets.abc_tunes.abc_files import content_key, find_abc_files, read_abc_files
from tfcreative.datasets.abc_tunes.curation import SourceTune

logger = logging.getLogger(__name__)

BUNDLED_CONFIG = "irish_folk"  # the corpus shipped in the package
MANUAL_CONFIG = "manual"  # your own files, through TFDS's manual_dir
COMBINED_CONFIG = "combined"  # the bundled corpus and three of music21's public-domain books
# The combined config's collections, in de-duplication order: a tune whose music an earlier
# tune has is dropped, so the bundled corpus keeps all its (distinct) tunes and its splits.
# Kept as in version 1.2.0, so that models trained on it are scored on the same tunes.
COMBINED_COLLECTIONS = (BUNDLED_CONFIG, music21_collections.ONEILLS_1850.config,
                        music21_collections.RYANS_MAMMOTH.config,
                        music21_collections.AIRDS_AIRS.config)
# Every public collection (the bundled corpus and every music21 book), in de-duplication
# order: what the clean configs (and the `folk` preset) read.
ALL_COLLECTIONS = (BUNDLED_CONFIG, *music21_collections.COLLECTIONS)
CLEAN_CONFIG = "combined_clean"
TRANSPOSED_CONFIG = "combined_clean_transposed"
_MIT_HOMEPAGE = "https://github.com/MITDeepLearning/introtodeeplearning"
_MUSIC21_HOMEPAGE = "https://www.music21.org/music21docs/about/referenceCorpus.html"


def bundled_corpus_path() -> epath.Path:
    """The Irish folk corpus shipped inside the tfcreative package."""
    return epath.Path(importlib_resources.files("tfcreative") / "data" / "irish_folk" / "irish.abc")


@dataclasses.dataclass(eq=False)
class AbcTunesConfig(tfds.core.BuilderConfig):
    """Which collections a config reads, in de-duplication order; whether its tune texts
    leave provenance (`Z:` transcriber, `N:` notes, `B:` book, ...) to the `provenance`
    feature (abc_notation.split_provenance) or keep the tune as written; whether they are
    clean training text; the keys the training tunes are also written in."""

    collections: tuple[str, ...] = ()
    without_provenance: bool = False
    # Clean training text (tfcreative/abc_cleaning.py: fingerings and performance marks out
    # of the music, chord symbols kept, header fields in one order); implies
    # without_provenance.
    clean: bool = False
    # Key signatures (sharps, flats negative) every training tune is also written in
    # (tfcreative/abc_transposition.py); validation and test tunes are never transposed.
    transpose_to: tuple[int, ...] = ()
    license: str = ""
    homepage: str = _MIT_HOMEPAGE
    # A user's tunes read from this .abc file or folder rather than TFDS's manual_dir
    # (`tunes_config`), and the key of their content (`content_key`) the files must match.
    tunes_path: str | None = None
    content_key: str | None = None

    def __str__(self) -> str:
        if self.tunes_path:  # how TFDS names a config it does not list, on every load
            return f"{self.name} (the tunes in {self.tunes_path})"
        return repr(self)


def _music21_config(collection: music21_collections.Music21Collection) -> AbcTunesConfig:
    return AbcTunesConfig(
        name=collection.config,
        description=f"{collection.title}: {collection.description} Read from the installed "
                    "music21 (no download).",
        collections=(collection.config,), without_provenance=True, homepage=_MUSIC21_HOMEPAGE,
        license="Public domain (published before 1930); the ABC transcriptions are "
                "distributed in music21's corpus with their encoders' permission "
                f"(tfcreative/data/{collection.config}/LICENSE.md).")


def collections_config(name: str, collections: tuple[str, ...], clean: bool = False,
                       transpose_to: tuple[int, ...] = (), description: str = "") -> AbcTunesConfig:
    """A config of your choice of collections (names of `ALL_COLLECTIONS`, in de-duplication
    order) and options, e.g. every collection but one for a leave-one-out comparison:
    `Builder(config=collections_config("without_airds_airs", (...), clean=True))`. Its data
    sits under its own `name`."""
    unknown = [c for c in collections if c not in ALL_COLLECTIONS]
    if unknown or not collections:
        raise ValueError(f"collections: expected names of {', '.join(ALL_COLLECTIONS)}, got "
                         f"{', '.join(unknown) or 'none'}")
    return AbcTunesConfig(name=name, description=description or f"{', '.join(collections)}.",
                          collections=tuple(collections), without_provenance=True, clean=clean,
                          transpose_to=tuple(transpose_to), homepage=_MUSIC21_HOMEPAGE,
                          license="See each collection's LICENSE.md under tfcreative/data/.")


class Builder(tfds.core.GeneratorBasedBuilder):
    """DatasetBuilder for folk tunes in ABC notation."""

    # TFDS guesses the builder's folder (README, CITATIONS, checksums, dummy_data) from its
    # module name; datasets/ installs as tfcreative.datasets via package_dir, which that guess
    # gets wrong in editable installs, so the folder is stated here.
    code_path = epath.Path(__file__)
    pkg_dir_path = epath.Path(__file__).parent

    VERSION = tfds.core.Version("1.3.0")
    RELEASE_NOTES = {
        "1.0.0": "Initial release.",
        "1.1.0": "Train / validation / test (80/10/10) by a hash of each tune's music, so the "
                 "same tune under another number or title never sits on both sides.",
        "1.2.0": "Duplicates removed before splitting: a tune whose music (abc_notation."
                 "music_body: spacing, line breaks, titles, numbers and notes left out) an "
                 "earlier tune has is dropped (irish_folk: 2 training tunes, the second "
                 "'Planxty Drury' and 'Turnpike'; validation and test unchanged). Configs "
                 "oneills_1850, ryans_mammoth, airds_airs (public-domain books in music21's "
                 "corpus) and combined. Features `collection` and `provenance`.",
        "1.3.0": "Config misc_folk (music21's miscFolk: American fife tunes and Northumbrian "
                 "Minstrelsy, public domain). Config fields `clean` (clean training text: "
                 "fingerings, bowings, dynamics, navigation marks and text out of the music, "
                 "chord symbols kept, header fields in one order, keys spelled one way) and "
                 "`transpose_to` (training tunes also written in other key signatures; "
                 "held-out tunes never); configs combined_clean (every collection, clean) "
                 "and combined_clean_transposed (the same, training tunes also in the keys "
                 "of 1 flat to 3 sharps), what the folk preset is trained on. Feature "
                 "`transposition` (semitones; 0 for a tune as written). Other configs: the "
                 "same tunes and splits as 1.2.0.",
    }
    BUILDER_CONFIGS = [
        AbcTunesConfig(
            name=BUNDLED_CONFIG,
            description="804 Irish folk tunes (MIT 6.S191 music lab, MIT licence), bundled; "
                        "802 once two repeated tunes are dropped.",
            collections=(BUNDLED_CONFIG,), license="MIT (tfcreative/data/irish_folk/LICENSE.md)",
        ),
        AbcTunesConfig(
            name=MANUAL_CONFIG,
            description="Your own .abc files: every *.abc under manual_dir.",
            collections=(MANUAL_CONFIG,),
        ),
        *(_music21_config(c) for c in music21_collections.COLLECTIONS.values()),
        AbcTunesConfig(
            name=COMBINED_CONFIG,
            description="The bundled Irish corpus, O'Neill's 1850, Ryan's Mammoth Collection "
                        "and Aird's Airs together, each tune once (the first occurrence in "
                        "that order), tune texts without provenance lines.",
            collections=COMBINED_COLLECTIONS, without_provenance=True,
            homepage=_MUSIC21_HOMEPAGE,
            license="The bundled corpus: MIT; the rest: public domain (see each collection's "
                    "LICENSE.md under tfcreative/data/).",
        ),
        collections_config(
            CLEAN_CONFIG, ALL_COLLECTIONS, clean=True,
            description="Every collection (the bundled Irish corpus, O'Neill's 1850, Ryan's "
                        "Mammoth, Aird's Airs, misc_folk), each tune once, as clean training "
                        "text: fingerings, bowings, dynamics, navigation marks and text out "
                        "of the music, chord symbols kept, header fields in one order."),
        collections_config(
            TRANSPOSED_CONFIG, ALL_COLLECTIONS, clean=True,
            transpose_to=abc_transposition.COMMON_KEY_SIGNATURES,
            description="combined_clean, with every training tune also written in the other "
                        "common keys (1 flat to 3 sharps: F to A major, D to F# minor, G to B "
                        "dorian, C to E mixolydian); validation and test tunes as written. "
                        "The folk preset's training data."),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    For the `manual` config, point `manual_dir` at a folder of `.abc` files (searched
    recursively), e.g.
    `tfds.load("abc_tunes/manual", download_and_prepare_kwargs={"download_config":
    tfds.download.DownloadConfig(manual_dir="~/my_tunes")})`, or use
    `tfcreative music train --abc ~/my_tunes` (a folder or one `.abc` file; each set of
    tunes is then prepared once, as config `manual_<key of their content>`: `tunes_config`).
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
                    "collection": tfds.features.Text(
                        doc="The collection (config name) the tune came from."),
                    "provenance": tfds.features.Text(
                        doc="Header lines other than X T M L Q P V R K U m (transcriber, "
                            "notes, book, source, ...); in configs that keep tunes as "
                            "written, `abc` holds them too."),
                    "transposition": tfds.features.Scalar(
                        dtype=np.int32,
                        doc="Semitones this copy of a training tune was transposed by "
                            "(configs with transpose_to); 0: the tune in its own key."),
                }
            ),
            supervised_keys=None,
            homepage=self.builder_config.homepage,
            license=self.builder_config.license or None,
            metadata=tfds.core.MetadataDict(),
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        config = self.builder_config
        tunes: list[SourceTune] = []
        for name in config.collections:
            tunes.extend(self._read_collection(name, dl_manager))
        kept, dropped = curation.drop_duplicate_tunes(tunes, config.name)
        by_split = curation.split_tunes(kept)
        if config.clean:
            by_split = curation.clean_texts(by_split)
        copies, not_transposed = [], None
        if config.transpose_to:
            copies, not_transposed = curation.transposed_copies(by_split["train"],
                                                                config.transpose_to)
        counts = curation.collection_counts(config.collections, tunes, dropped, by_split,
                                            copies, not_transposed)
        curation.log_counts(config.name, counts)
        self._save_counts(counts)
        by_split["train"] = by_split["train"] + copies
        logger.info("abc_tunes/%s: %s examples", config.name,
                    ", ".join(f"{len(v)} {k}" for k, v in by_split.items()))
        empty = [split for split, items in by_split.items() if not items]
        if empty:  # TFDS cannot write an empty split
            logger.warning("abc_tunes/%s: %d tunes, too few for a %s split (about 1 in 10 "
                           "tunes goes to each)", config.name, len(kept), " or ".join(empty))
        return {split: self._generate_examples(items)
                for split, items in by_split.items() if items}

    def _save_counts(self, counts: dict[str, dict]) -> None:
        """The counts per collection (curation.collection_counts) in `info.metadata`, saved
        with the data set, with music21's version where its books were read."""
        self.info.metadata["collections"] = counts
        if any(name in music21_collections.COLLECTIONS for name in counts):
            self.info.metadata["music21_version"] = music21_collections.music21_version()

    def _read_collection(self, name: str,
                         dl_manager: tfds.download.DownloadManager) -> list[SourceTune]:
        if name == BUNDLED_CONFIG:
            root = bundled_corpus_path()
            return self._read_tunes(name, root, read_abc_files(root, [root]))
        if name == MANUAL_CONFIG:
            return self._read_manual(dl_manager)
        collection = music21_collections.COLLECTIONS[name]
        root = music21_collections.corpus_folder(collection)
        files = [path for path in find_abc_files(root)
                 if path.name not in collection.second_transcriptions]
        if collection.second_transcriptions:
            logger.info("%s: skipped %d file(s) that transcribe the same tunes as another "
                        "file (read that one): %s", root, len(collection.second_transcriptions),
                        ", ".join(f"{skipped} ({kept})" for skipped, kept
                                  in collection.second_transcriptions.items()))
        tunes = self._read_tunes(name, root, read_abc_files(root, files),
                                 source_prefix=f"{collection.folder}/")
        return _without_earlier_versions(tunes, collection)

    def _read_manual(self, dl_manager: tfds.download.DownloadManager) -> list[SourceTune]:
        """A user's tunes: the config's `tunes_path` (which must still hold the content its
        key names), else TFDS's manual_dir."""
        config = self.builder_config
        root = epath.Path(config.tunes_path or dl_manager.manual_dir)
        files = read_abc_files(root, find_abc_files(root))
        if config.content_key and files and content_key(files) != config.content_key:
            raise ValueError(f"{root}: the tunes changed while they were being prepared; run "
                             "again to prepare them as they are now")
        return self._read_tunes(MANUAL_CONFIG, root, files)

    def _read_tunes(self, collection: str, root: epath.Path,
                    files: list[tuple[str, epath.Path, bytes]],
                    source_prefix: str = "") -> list[SourceTune]:
        """Every tune in `files` (under `root`, as read_abc_files read them). Files without a
        tune are skipped, named and counted (real collections hold format includes and notes);
        it is an error when nothing holds a tune, or when `root` is a single file without
        one."""
        if not files:
            raise ValueError(f"{root}: no *.abc files found (searched recursively).")
        without_provenance = self.builder_config.without_provenance or \
            self.builder_config.clean
        tunes = []
        skipped: collections.Counter = collections.Counter()
        files_without_tunes = []
        malformed = 0
        for source, path, data in files:
            try:
                result = abc_notation.parse_abc_bytes(data, source=str(path))
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
            if result.malformed_header_lines:
                logger.warning("%s: dropped %d line(s) inside tune headers that are not "
                               "fields (before K:, e.g. a field letter lost)", path,
                               result.malformed_header_lines)
            malformed += result.malformed_header_lines
            for reason, count in result.skipped.items():
                logger.warning("%s: skipped %d block(s): %s", path, count, reason)
            skipped.update(result.skipped)
            for index, tune in enumerate(result.tunes):
                abc, provenance = abc_notation.split_provenance(tune.abc)
                if without_provenance:
                    tune = dataclasses.replace(tune, abc=abc)
                tunes.append(SourceTune(collection, source_prefix + source, index, tune,
                                        provenance))
        if not tunes:
            raise abc_notation.NoTunesError(
                f"{root}: none of its {len(files)} *.abc files holds an ABC tune "
                f"({', '.join(files_without_tunes)}). Expected tunes that start with an 'X:' "
                "line and whose header ends with a 'K:' line, followed by music.")
        logger.info("abc_tunes/%s: %s: read %d tunes from %d file(s); skipped %d file(s) "
                    "without a tune and %d block(s); dropped %d malformed header line(s)",
                    self.builder_config.name, collection, len(tunes),
                    len(files) - len(files_without_tunes), len(files_without_tunes),
                    sum(skipped.values()), malformed)
        return tunes

    def _generate_examples(self, tunes: list[SourceTune]):
        several = len(self.builder_config.collections) > 1
        for item in tunes:
            tune = item.tune
            key = f"{item.source}#{item.index}"
            if item.transposition:
                key += f"@{item.transposition:+d}"
            yield (f"{item.collection}/{key}" if several else key), {
                "abc": tune.abc,
                "title": tune.title,
                "meter": tune.meter,
                "unit_note_length": tune.unit_note_length,
                "key": tune.key,
                "reference": tune.reference,
                "source_file": item.source,
                "collection": item.collection,
                "provenance": item.provenance,
                "transposition": item.transposition,
            }


def _without_earlier_versions(tunes: list[SourceTune],
                              collection: music21_collections.Music21Collection
                              ) -> list[SourceTune]:
    """The tunes without those a file appends as earlier versions of its own tunes (numbered
    from `collection.earlier_versions_from[file]`), counted in the log."""
    def earlier(item: SourceTune) -> bool:
        first = collection.earlier_versions_from.get(item.source.rpartition("/")[2])
        return first is not None and item.tune.reference.isdigit() and \
            int(item.tune.reference) >= first
    kept = [item for item in tunes if not earlier(item)]
    for name, first in collection.earlier_versions_from.items():
        logger.info("abc_tunes/%s: skipped %d tune(s) numbered from X:%d in %s: earlier "
                    "versions of the file's own tunes", collection.config,
                    sum(earlier(t) and t.source.endswith(name) for t in tunes), first, name)
    return kept


def tunes_config(path: str) -> AbcTunesConfig:
    """The config of one set of a user's tunes (a .abc file or a folder searched
    recursively): the `manual` config, named `manual_<content_key>` and reading `path` itself.

    Its data sits in a version folder of its own, keyed by the tunes' content: runs on other
    tunes never share (or overwrite) it, and a run on unchanged tunes reuses it as prepared.
    """
    root = epath.Path(path)
    key = content_key(read_abc_files(root, find_abc_files(root, warn=False)))
    manual = Builder.builder_configs[MANUAL_CONFIG]
    return dataclasses.replace(manual, name=f"{MANUAL_CONFIG}_{key}", tunes_path=path,
                               content_key=key, description=f"Your own tunes: {path}.")
