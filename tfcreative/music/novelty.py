"""Memorisation: how much of a tune is copied, bar for bar, from one training tune.

A "bar" is the music between two bar lines, spaces and line breaks removed (so layout does not
count), with bar lines of any kind (`|`, `||`, `|]`, `:|`, `|:`, `::`, endings `[1`, `|2`)
as separators. A tune copies n bars from a training tune when n consecutive bars of it appear,
in the same order, consecutively in that training tune; an exact copy is a tune whose whole
music equals a training tune's (`abc_notation.music_body`). Folk tunes share stock phrases, so
held-out real tunes scored against the training tunes are the baseline to read a model's
figures against (the MIT lab's users found a "generated" song identical to a training song).
"""

from __future__ import annotations

import dataclasses
import re

from tfcreative.abc_notation import music_body

RUNS = (4, 8)  # consecutive bars
_BAR_LINE = re.compile(r"(?:\[?\|+\]?|:+\|*|\|*:+)(?:\[?\d+(?:[,-]\d+)*)?|\[\d+")


def bars(abc: str) -> tuple[str, ...]:
    """The tune's bars, from its music (after the K: line), without spaces or line breaks."""
    return tuple(bar for bar in _BAR_LINE.split(music_body(abc)) if bar)


def _runs(tune_bars: tuple[str, ...], n: int) -> set[tuple[str, ...]]:
    return {tune_bars[i:i + n] for i in range(len(tune_bars) - n + 1)}


class TrainingTunes:
    """The training tunes indexed for copy checks (every run of n consecutive bars)."""

    def __init__(self, tunes: list[str], runs: tuple[int, ...] = RUNS):
        self.runs = runs
        self.bodies = {music_body(t) for t in tunes}
        parsed = [bars(t) for t in tunes]
        self.index = {n: set().union(*(_runs(b, n) for b in parsed)) for n in runs}

    def copies(self, abc: str, n: int) -> bool:
        """Whether the tune has n consecutive bars that stand consecutively in a training tune."""
        return not _runs(bars(abc), n).isdisjoint(self.index[n])

    def is_exact_copy(self, abc: str) -> bool:
        return music_body(abc) in self.bodies


@dataclasses.dataclass
class NoveltyReport:
    """Fractions (0..1) of `num_tunes` tunes."""

    num_tunes: int
    copies_4_bars: float
    copies_8_bars: float
    exact_copies: float

    ROWS = (("copies_4_bars", "copies 4 bars of one training tune"),
            ("copies_8_bars", "copies 8 bars of one training tune"),
            ("exact_copies", "copy of a whole training tune"))


def novelty_report(tunes: list[str], training: TrainingTunes) -> NoveltyReport:
    if not tunes:
        raise ValueError("no tunes to check")
    n = len(tunes)
    return NoveltyReport(
        num_tunes=n,
        copies_4_bars=sum(training.copies(t, 4) for t in tunes) / n,
        copies_8_bars=sum(training.copies(t, 8) for t in tunes) / n,
        exact_copies=sum(training.is_exact_copy(t) for t in tunes) / n,
    )
