"""What the abc_tunes builder does to the tunes it has read before writing them, in order:
duplicates dropped, train / validation / test by a hash of each tune's music (both on the
tunes as written, so every config splits a tune the same way), clean training text (configs
with `clean`), the training tunes written again in other keys (configs with
`transpose_to`: copies of a training tune stay in train, so no held-out tune has a twin in
training), and the counts per collection that the log and `info.metadata["collections"]`
report.

Pure Python over `SourceTune`s (no TFDS): the builder reads the collections, calls these in
order, and writes the examples.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from collections.abc import Callable, Iterable

from tfcreative import abc_cleaning, abc_notation, abc_transposition
from tfcreative.datasets.hash_split import split_of_key

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class SourceTune:
    """A tune as read: where from (collection, file, position in the file) and its text."""

    collection: str
    source: str  # the file, relative to the collection's folder
    index: int
    tune: abc_notation.Tune
    provenance: str  # header lines outside abc_notation.TUNE_FIELDS, one per line
    transposition: int = 0  # semitones from the tune as written (transposed copies)


# -- de-duplication ---------------------------------------------------------------------------

# Tunes with fewer notes than this are compared by their music only: short fragments may
# share their notes by chance (the shortest tune of the combined corpus has 24 notes, the
# shortest pair with the same notes 62).
MIN_NOTES_TO_COMPARE = 32


def duplicate_keys(abc: str) -> dict[str, str]:
    """What two tunes must share to be the same tune: "music", the music as written
    (abc_notation.music_body: numbers, titles, notes, spacing, line breaks left out), or
    "notes", the pitches in order (abc_notation.note_sequence: the same tune written with
    other rhythm notation, ornaments or bar lines; tunes of MIN_NOTES_TO_COMPARE notes or
    more)."""
    keys = {"music": abc_notation.music_body(abc)}
    notes = abc_notation.note_sequence(abc)
    if len(abc_notation.NOTE.findall(notes)) >= MIN_NOTES_TO_COMPARE:
        keys["notes"] = notes
    return keys


def deduplicate(items: Iterable, keys: Callable[[object], dict[str, str]]
                ) -> tuple[list, list[tuple]]:
    """(kept, dropped): the items in order, each dropped that shares a key with an earlier
    kept item; dropped holds (item, the kept item it repeats, the key's name)."""
    first: dict = {}
    kept, dropped = [], []
    for item in items:
        item_keys = keys(item)
        match = next(((name, first[(name, k)]) for name, k in item_keys.items()
                      if (name, k) in first), None)
        if match:
            dropped.append((item, match[1], match[0]))
            continue
        kept.append(item)
        for name, k in item_keys.items():
            first[(name, k)] = item
    return kept, dropped


def drop_duplicate_tunes(tunes: list[SourceTune], config_name: str
                         ) -> tuple[list[SourceTune], list[tuple]]:
    """`deduplicate` over tunes by `duplicate_keys`, each dropped tune named in the log
    (DEBUG)."""
    kept, dropped = deduplicate(tunes, keys=lambda item: duplicate_keys(item.tune.abc))
    for tune, original, key in dropped:
        logger.debug("abc_tunes/%s: dropped %s X:%s %r: same %s as %s X:%s %r", config_name,
                     tune.source, tune.tune.reference, tune.tune.title, key, original.source,
                     original.tune.reference, original.tune.title)
    return kept, dropped


# -- splits -----------------------------------------------------------------------------------

def split_of(abc: str) -> str:
    """"train", "validation" or "test", by a hash of the tune's music (`music_body`: header,
    spacing and notes left out; datasets/hash_split.py): deterministic, independent of file
    order, and the same tune filed twice under other numbers or titles always lands on the
    same side."""
    return split_of_key(abc_notation.music_body(abc))


def split_tunes(tunes: list[SourceTune]) -> dict[str, list[SourceTune]]:
    """The tunes by split (`split_of`, in order); a handful of tunes that all hashed out of
    train are all train."""
    by_split: dict[str, list[SourceTune]] = {split: [] for split in SPLITS}
    for tune in tunes:
        by_split[split_of(tune.tune.abc)].append(tune)
    if not by_split["train"]:
        by_split = {"train": list(tunes), "validation": [], "test": []}
    return by_split


# -- clean text and transposed copies --------------------------------------------------------

def with_text(item: SourceTune, abc: str, transposition: int = 0) -> SourceTune:
    """`item` with another text (its header fields read again from it)."""
    fields = abc_notation.header_fields(abc)
    tune = dataclasses.replace(item.tune, abc=abc, title=fields.get("T", ""),
                               meter=fields.get("M", ""), key=fields.get("K", ""),
                               unit_note_length=fields.get("L", ""))
    return dataclasses.replace(item, tune=tune, transposition=transposition)


def clean_texts(by_split: dict[str, list[SourceTune]]) -> dict[str, list[SourceTune]]:
    """Every tune as clean training text (abc_cleaning.clean_tune)."""
    return {split: [with_text(item, abc_cleaning.clean_tune(item.tune.abc)) for item in items]
            for split, items in by_split.items()}


def transposed_copies(tunes: list[SourceTune], signatures: Iterable[int]
                      ) -> tuple[list[SourceTune], collections.Counter]:
    """Each tune written again with each key signature of `signatures` other than its own
    (abc_transposition.transpose_to), and the tunes it could not transpose, counted by reason
    (a key it does not read, a microtone, ...)."""
    copies, failed = [], collections.Counter()
    for item in tunes:
        try:
            copies.extend(_copies_in_other_keys(item, signatures))
        except abc_transposition.CannotTranspose as error:
            failed[(item.collection, str(error).split(":")[0])] += 1
    return copies, failed


def _copies_in_other_keys(item: SourceTune, signatures: Iterable[int]) -> list[SourceTune]:
    own = abc_transposition.key_signature(item.tune.abc)
    return [with_text(item, abc_transposition.transpose_to(item.tune.abc, signature),
                      abc_transposition.interval(signature - own)[1])
            for signature in signatures if signature != own]


# -- counts -----------------------------------------------------------------------------------

DUPLICATE_KINDS = tuple(f"same_{key}_{where}" for key in ("music", "notes")
                        for where in ("within", "of_earlier"))


def collection_counts(names: Iterable[str], tunes: list[SourceTune], dropped: list[tuple],
                      by_split: dict[str, list[SourceTune]], copies: list[SourceTune] = (),
                      not_transposed: collections.Counter | None = None) -> dict[str, dict]:
    """Per collection: tunes read, duplicates dropped by kind (same music, same notes) and by
    where the kept tune is (the same collection, an earlier one), tunes kept, their
    characters (as the config writes them), split sizes in tunes (`by_split`, without
    copies); with transposition, the copies in other keys (all in train) and the tunes that
    could not be transposed, by reason."""
    counts = {name: {"tunes_read": 0, **dict.fromkeys(DUPLICATE_KINDS, 0), "tunes": 0,
                     "characters": 0, "splits": dict.fromkeys(SPLITS, 0)}
              for name in names}
    for tune in tunes:
        counts[tune.collection]["tunes_read"] += 1
    for tune, original, key in dropped:
        where = "within" if tune.collection == original.collection else "of_earlier"
        counts[tune.collection][f"same_{key}_{where}"] += 1
    for split, items in by_split.items():
        for tune in items:
            count = counts[tune.collection]
            count["splits"][split] += 1
            count["tunes"] += 1
            count["characters"] += len(tune.tune.abc)
    if not_transposed is not None:
        for count in counts.values():
            count.update(transposed_copies=0, transposed_characters=0, not_transposed={})
        for copy in copies:
            counts[copy.collection]["transposed_copies"] += 1
            counts[copy.collection]["transposed_characters"] += len(copy.tune.abc)
        for (name, reason), number in not_transposed.items():
            counts[name]["not_transposed"][reason] = number
    return counts


def log_counts(config_name: str, counts: dict[str, dict]) -> None:
    """One INFO line per collection of `collection_counts`."""
    for name, c in counts.items():
        logger.info("abc_tunes/%s: %s: %d tunes read; duplicates dropped: %d same music, "
                    "%d same notes as a tune of %s, %d same music, %d same notes as an "
                    "earlier collection's; %d kept (%d characters; %d / %d / %d train / "
                    "validation / test)", config_name, name, c["tunes_read"],
                    c["same_music_within"], c["same_notes_within"], name,
                    c["same_music_of_earlier"], c["same_notes_of_earlier"], c["tunes"],
                    c["characters"], *c["splits"].values())
        if "transposed_copies" in c:
            logger.info("abc_tunes/%s: %s: %d training tunes written again in other keys "
                        "(%d copies, %d characters); not transposed: %s", config_name, name,
                        c["splits"]["train"] - sum(c["not_transposed"].values()),
                        c["transposed_copies"], c["transposed_characters"],
                        ", ".join(f"{n} ({reason})" for reason, n
                                  in c["not_transposed"].items()) or "none")
