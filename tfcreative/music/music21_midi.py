"""ABC -> MIDI with music21: for tunes `tfcreative.music.performance` does not play (several
voices, parts in an order, keys with explicit accidentals ...; `midi.abc_to_midi` decides).

music21 parses the tune and writes a Standard MIDI File. Two readings of ABC are made explicit,
as abc2midi (the reference player, tfcreative.music.abc2midi) makes them:

* Accidentals carry to the end of the bar (ABC 2.1). music21 applies that only to files that
  declare `%abc-2.x`, so every tune is read as ABC 2.1.
* A `:|` with no `|:` since the previous `:|` repeats from just after that `:|` (abc2midi:
  "replacing |: with double repeat (::)"), the usual way folk tunes write "A part twice, B part
  twice"; music21 would go back to the start of the tune.

Repeats and first/second endings are then written out in full. A tune whose repeat signs do
not nest is written once through (`repeats_expanded` False).

music21 reads only what it plays (`music_for_music21`): the fields that set the music (X:
M: L: Q: K:, in the header and the body), the notes, and chord symbols; text (titles,
annotations such as "^Segno", notes and lyrics) is left out, since music21 misreads some of
it as music ("^cB, GAB|]" inside an annotation: "Cannot make a step out of '^'"; a `[` in a
C: field: "Bad chord indicator").
"""

from __future__ import annotations

import contextlib
import copy
import io
import re
import warnings

import music21
from music21 import bar, clef, key, meter, note, repeat, stream, tempo

ABC_VERSION_LINE = "%abc-2.1\n"
PLAYED_FIELDS = "XMLQK"  # fields music21 needs to play a tune
_FIELD = re.compile(r"^([A-Za-z]):")
_QUOTED = re.compile(r'"([^"\n]*)"')
_CHORD_SYMBOL = re.compile(r"[A-G][#b]?[a-z0-9+#()]{0,8}(/[A-G][#b]?)?")
_INLINE_FIELD = re.compile(r"\[([A-Za-z]):[^\]\n]*\]")


class Music21Error(ValueError):
    """music21 could not turn the tune into MIDI; the message says why."""


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


def _unshare_signatures(part: stream.Stream) -> None:
    """Gives each measure its own copy of a time or key signature music21's ABC reader put
    in several measures (around a short bar after a mid-tune `|]`): its MIDI writer refuses
    to place one object twice ("... is already found in this Stream")."""
    seen = set()
    for measure in part.getElementsByClass(stream.Measure):
        for sign in list(measure.getElementsByClass([meter.TimeSignature, key.KeySignature,
                                                      clef.Clef])):
            if id(sign) in seen:
                measure.replace(sign, copy.deepcopy(sign))
            seen.add(id(sign))


def _once_through(score: stream.Stream) -> stream.Stream:
    """The notes, rests and tempo marks at their written offsets, without bars or repeats."""
    flat = stream.Stream()
    for element in score.flatten().getElementsByClass([note.GeneralNote, tempo.MetronomeMark]):
        flat.insert(element.getOffsetInHierarchy(score), copy.deepcopy(element))
    return flat


def music_for_music21(abc: str) -> str:
    """The tune as music21 is given it: only the fields that set the music (`PLAYED_FIELDS`,
    header and body), the music, and quoted strings that are chord symbols."""
    lines, in_header = [], True
    for line in abc.split("\n"):
        field = _FIELD.match(line)
        is_field = field is not None and (in_header or field.group(1) not in "ABCDEFGabcdefg")
        if is_field:
            if field.group(1) in PLAYED_FIELDS:
                lines.append(line)
            in_header = in_header and field.group(1) != "K"
            continue
        if in_header:
            continue  # (text between header fields)
        line = _QUOTED.sub(lambda m: m.group(0) if _CHORD_SYMBOL.fullmatch(m.group(1)) else "",
                           line)
        lines.append(_INLINE_FIELD.sub(
            lambda m: m.group(0) if m.group(1) in PLAYED_FIELDS else "", line))
    return "\n".join(lines)


@contextlib.contextmanager
def _parts_not_beamed():
    """music21's ABC reader beams every part it reads (`Part.makeBeams`, stems included): for
    sheet music, not MIDI, and most of the reading time (measured: 9.8 of 14.4 s of profiled
    reading for 64 tunes, and the copies made to expand repeats hold the beams). Here the parts
    read are not beamed: the MIDI file is byte for byte the one music21 writes from a beamed
    part (tests/test_midi.py)."""
    own = stream.Part.__dict__.get("makeBeams")  # None: Part inherits Stream's
    stream.Part.makeBeams = lambda self, *args, **kwargs: None
    try:
        yield
    finally:
        if own is None:
            del stream.Part.makeBeams
        else:
            stream.Part.makeBeams = own


def _parse(abc: str) -> stream.Score:
    with _parts_not_beamed():
        score = music21.converter.parse(ABC_VERSION_LINE + music_for_music21(abc), format="abc")
    if isinstance(score, stream.Opus):  # the text holds several tunes: the first
        score = score.scores[0]
    if not score.recurse().notes:
        raise Music21Error("no notes in the tune")
    return score


def abc_to_midi(abc: str) -> tuple[bytes, bool]:
    """(the MIDI file, whether its repeats were written out); raises Music21Error if the tune
    has no notes or music21 cannot read it."""
    # music21 reports what it skips on stderr; abc2midi, where installed, is the checker.
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            score = _parse(abc)
            for part in score.parts if isinstance(score, stream.Score) else [score]:
                _imply_start_repeats(part)
                _unshare_signatures(part)
            try:  # music21's MIDI writer expands repeats and endings itself
                return music21.midi.translate.streamToMidiFile(score).writestr(), True
            except repeat.ExpanderException:  # the failed attempt may have changed the score
                once = _once_through(_parse(abc))
                return music21.midi.translate.streamToMidiFile(once).writestr(), False
        except Music21Error:
            raise
        except Exception as error:  # music21 raises many kinds for input it cannot read
            raise Music21Error(f"music21 cannot read the tune: "
                               f"{type(error).__name__}: {error}") from error
