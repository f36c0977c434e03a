"""ABC -> MIDI in pure Python with music21, so a plain `pip install` writes MIDI files.

music21 parses the tune and writes a Standard MIDI File. Two readings of ABC are made explicit,
as abc2midi (the reference player, tfcreative.music.abc2midi) makes them:

* Accidentals carry to the end of the bar (ABC 2.1). music21 applies that only to files that
  declare `%abc-2.x`, so every tune is read as ABC 2.1.
* A `:|` with no `|:` since the previous `:|` repeats from just after that `:|` (abc2midi:
  "replacing |: with double repeat (::)"), the usual way folk tunes write "A part twice, B part
  twice"; music21 would go back to the start of the tune.

Repeats and first/second endings are then written out in full. A tune whose repeat signs do
not nest is written once through (`MidiTune.repeats_expanded` is False).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import warnings

import music21
from music21 import bar, note, repeat, stream, tempo

from tfcreative.files import write_bytes_atomically

ABC_VERSION_LINE = "%abc-2.1\n"


class MidiConversionError(ValueError):
    """music21 could not turn one tune into MIDI; the message says why."""


@dataclasses.dataclass(frozen=True)
class MidiTune:
    """One tune as a Standard MIDI File."""

    data: bytes
    repeats_expanded: bool  # False: repeat signs that do not nest, played once through


def _imply_start_repeats(part: stream.Stream) -> None:
    """Adds the `|:` that a `:|` without one implies: just after the previous `:|`."""
    measures = list(part.getElementsByClass(stream.Measure))
    section_start, open_repeat = 0, False
    for index, measure in enumerate(measures):
        if isinstance(measure.leftBarline, bar.Repeat) and measure.leftBarline.direction == "start":
            open_repeat = True
        right = measure.rightBarline
        if isinstance(right, bar.Repeat) and right.direction == "end":
            if not open_repeat and 0 < section_start < len(measures):
                measures[section_start].leftBarline = bar.Repeat(direction="start")
            open_repeat, section_start = False, index + 1


def _once_through(score: stream.Stream) -> stream.Stream:
    """The notes, rests and tempo marks at their written offsets, without bars or repeats."""
    flat = stream.Stream()
    for element in score.flatten().getElementsByClass([note.GeneralNote, tempo.MetronomeMark]):
        flat.insert(element.getOffsetInHierarchy(score), copy.deepcopy(element))
    return flat


def _parse(abc: str) -> stream.Score:
    score = music21.converter.parse(ABC_VERSION_LINE + abc, format="abc")
    if isinstance(score, stream.Opus):  # the text holds several tunes: the first
        score = score.scores[0]
    if not score.recurse().notes:
        raise MidiConversionError("no notes in the tune")
    return score


def abc_to_midi(abc: str) -> MidiTune:
    """One ABC tune (header and music) as MIDI; raises MidiConversionError if it has no notes or
    music21 cannot read it."""
    # music21 reports what it skips on stderr; abc2midi, where installed, is the checker.
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            score = _parse(abc)
            for part in score.parts if isinstance(score, stream.Score) else [score]:
                _imply_start_repeats(part)
            try:  # music21's MIDI writer expands repeats and endings itself
                data, expanded = music21.midi.translate.streamToMidiFile(score).writestr(), True
            except repeat.ExpanderException:  # the failed attempt may have changed the score
                once = _once_through(_parse(abc))
                data, expanded = music21.midi.translate.streamToMidiFile(once).writestr(), False
        except MidiConversionError:
            raise
        except Exception as error:  # music21 raises many kinds for input it cannot read
            raise MidiConversionError(f"music21 cannot read the tune: "
                                      f"{type(error).__name__}: {error}") from error
    return MidiTune(data=data, repeats_expanded=expanded)


def write_midi(abc: str, path: str) -> MidiTune:
    """Writes the tune's MIDI file to `path` (whole or not at all)."""
    tune = abc_to_midi(abc)
    write_bytes_atomically(path, tune.data)
    return tune
