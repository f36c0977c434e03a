"""Public-domain tune books that music21 ships inside its wheel, as ABC files in its corpus.

music21 (a dependency: MIDI files) installs `music21/corpus/<folder>/*.abc`; the abc_tunes
configs read them from the installed package, so they build offline with nothing to download.
Where they come from and why they are public domain: `tfcreative/data/<config>/ATTRIBUTION.md`
and `LICENSE.md`.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util

from etils import epath


class Music21CorpusNotFoundError(FileNotFoundError):
    """music21 is missing, or installed without its corpus (some redistributions strip it)."""


@dataclasses.dataclass(frozen=True)
class Music21Collection:
    """One tune book in music21's corpus."""

    config: str  # the abc_tunes config that reads it
    folder: str  # under music21/corpus/
    title: str
    description: str
    # Files that transcribe tunes another file of the folder transcribes too (the same tune
    # numbers, another transcriber): skipped, so a tune is read once. file -> the file kept.
    second_transcriptions: dict[str, str] = dataclasses.field(default_factory=dict)
    # Files that append earlier versions of their own tunes, numbered on: file -> the first
    # reference number (X:) of those versions, which are skipped.
    earlier_versions_from: dict[str, int] = dataclasses.field(default_factory=dict)


ONEILLS_1850 = Music21Collection(
    config="oneills_1850",
    folder="oneills1850",
    title="O'Neill's Music of Ireland (\"the 1850\")",
    description="Francis O'Neill (ed.), O'Neill's Music of Ireland: Eighteen Hundred and Fifty "
                "Melodies, Chicago: Lyon & Healy, 1903; public domain. ABC transcriptions by "
                "the volunteers of the O'Neill's Project (1997-99), shipped in music21's "
                "corpus.",
    # music21 ships six ranges of tune numbers twice, by two transcribers; the file covering
    # the wider range is read (for equal ranges: the first by name).
    second_transcriptions={
        "0626-0635.abc": "0626-0700.abc",
        "0732-0758_mh.abc": "0732-0758_bs.abc",
        "1116-1135_ml.abc": "1116-1135_mh.abc",
        "1556-1576.abc": "1556-1624.abc",
        "1577-1624.abc": "1556-1624.abc",
        "1710-1750.abc": "1701-1780.abc",
    },
)
RYANS_MAMMOTH = Music21Collection(
    config="ryans_mammoth",
    folder="ryansMammoth",
    title="Ryan's Mammoth Collection",
    description="William Bradbury Ryan (comp.), Ryan's Mammoth Collection: 1050 Reels and "
                "Jigs, Hornpipes, Clogs, Walk-arounds, Essences, Strathspeys, Highland Flings "
                "and Contra Dances, Boston: Elias Howe, 1883; public domain. ABC "
                "transcriptions by John Chambers and contributors, shipped in music21's "
                "corpus.",
)
AIRDS_AIRS = Music21Collection(
    config="airds_airs",
    folder="airdsAirs",
    title="Aird's Airs",
    description="James Aird (publ.), A Selection of Scotch, English, Irish and Foreign Airs, "
                "6 volumes, Glasgow, 1778-1803; public domain. ABC transcriptions by Jack "
                "Campin (2003-09), shipped in music21's corpus with his permission.",
)
MISC_FOLK = Music21Collection(
    config="misc_folk",
    folder="miscFolk",
    title="Miscellaneous folk: American fife tunes and Northumbrian Minstrelsy",
    description="Two of Jack Campin's editions, shipped in music21's corpus as 'miscFolk': "
                "Colonial and Civil War American fife music (2000; tunes of the 18th and 19th "
                "centuries) and the tunes of J. Collingwood Bruce and John Stokoe (eds.), "
                "Northumbrian Minstrelsy, Newcastle, 1882 (2007); public domain.",
    # Campin appended "something close to the original file" he edited, its tunes numbered
    # from 101: earlier, unplayable versions of his own (his header says so).
    earlier_versions_from={"americanfifeopus.abc": 101},
)
COLLECTIONS = {c.config: c for c in (ONEILLS_1850, RYANS_MAMMOTH, AIRDS_AIRS, MISC_FOLK)}


def music21_version() -> str:
    try:
        return importlib.metadata.version("music21")
    except importlib.metadata.PackageNotFoundError:
        raise Music21CorpusNotFoundError(
            "music21 is not installed: the public-domain tune collections are read from its "
            "corpus (pip install 'music21~=10.5')") from None


def corpus_folder(collection: Music21Collection) -> epath.Path:
    """The collection's folder inside the installed music21 (found without importing music21,
    which takes seconds); an error saying what to do when it is not there."""
    version = music21_version()
    spec = importlib.util.find_spec("music21")
    folder = epath.Path(list(spec.submodule_search_locations)[0]) / "corpus" / collection.folder
    if not folder.is_dir():
        raise Music21CorpusNotFoundError(
            f"{folder}: not found. music21 {version} is installed without its corpus, where "
            f"{collection.title} ships; reinstall it from PyPI (pip install --force-reinstall "
            "'music21~=10.5').")
    for skipped, kept in collection.second_transcriptions.items():
        missing = [name for name in (skipped, kept) if not (folder / name).is_file()]
        if missing:  # music21 reorganised its corpus: the rule above needs a look
            raise Music21CorpusNotFoundError(
                f"{folder}: music21 {version} has no {', '.join(missing)}, which the "
                f"abc_tunes/{collection.config} config expects (tested with music21 10.5).")
    return folder
