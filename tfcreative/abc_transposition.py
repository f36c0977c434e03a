"""Transposing an ABC tune into another key, spelled for the new key signature.

A tune moves by a number of steps round the circle of fifths (`fifths`: +1 from D is A, -1
is G), always by the smaller interval (at most a tritone, up or down). Every note moves by
the same diatonic interval (letter steps and semitones), so a note written without an
accidental stays without one (the new key signature gives it the right pitch), and an
explicit accidental is rewritten for the new letter (`=F` in D becomes `=C` in A, `^c` in G
becomes `^g` in D, `_B` in F becomes `_E` in Bb); accidentals still carry to the end of the
bar as they did. Key fields (`K:` in the header and body, inline `[K:...]`) and chord symbols
(`"Am7"`, `"G/B"`) move with the notes; annotations and other text do not.

folk-rnn (Sturm et al.) transposes its whole training corpus to one tonic; here the abc_tunes
builder writes each training tune again in other common keys (`COMMON_KEY_SIGNATURES`).

Tunes it cannot transpose exactly raise `CannotTranspose` with the reason: a key it does not
read (`K:HP`, `K:none`, explicit accidentals in the key), a microtone, an accidental that would
need a triple sharp or flat.
"""

from __future__ import annotations

import re

from tfcreative import abc_notation

# Key signatures (sharps, flats negative) most folk tunes are played in: F to A major, D to
# F# minor, G to B dorian, C to E mixolydian (1 flat to 3 sharps).
COMMON_KEY_SIGNATURES = tuple(range(-1, 4))
LETTERS = abc_notation.LETTERS
_NATURAL_SEMITONES = abc_notation.NATURAL_SEMITONES
_ACCIDENTALS = abc_notation.ACCIDENTALS
_ACCIDENTAL_OF = {alteration: text for text, alteration in _ACCIDENTALS.items()}
_NOTE = re.compile(r"(\^\^|\^|__|_|=)?([A-Ga-g])([,']*)")
_MICROTONE = re.compile(r"[\^_][0-9/]")
_CHORD_PITCH = re.compile(r"(^\(?|/)([A-G]|[a-g](?=\)?$))([#b]?)")


class CannotTranspose(ValueError):
    """The tune cannot be transposed exactly; the message says why."""


def interval(fifths: int) -> tuple[int, int]:
    """(letter steps, semitones) of a move by `fifths` round the circle of fifths, the
    smaller way: +1 is down a fourth (-3 steps, -5 semitones), +2 up a tone (1, 2)."""
    steps, semitones = (4 * fifths) % 7, (7 * fifths) % 12
    if semitones > 6 or (semitones == 6 and fifths < 0):
        steps, semitones = steps - 7, semitones - 12
    return steps, semitones


def key_signature(abc: str) -> int:
    """The tune's key signature from its header `K:` (sharps, flats negative)."""
    header, _ = abc_notation.split_header(abc)
    return _key(header[-1][2:] if header else "").sharps


def transpose(abc: str, fifths: int) -> str:
    """The tune moved `fifths` steps round the circle of fifths (module docstring): its key
    signature gains `fifths` sharps (loses, if negative). Raises CannotTranspose."""
    steps, semitones = interval(fifths)
    header, body = abc_notation.split_header(abc)
    if not header:
        raise CannotTranspose("no K: line")
    lines = [_move_key_line(line, steps, semitones) if line.startswith("K:") else line
             for line in header]
    for line in body:
        field = abc_notation.field_of(line)
        if field is None:
            lines.append(_move_music(line, steps, semitones))
        elif field[0] == "K":
            lines.append(_move_key_line(line, steps, semitones))
        else:
            lines.append(line)
    return "\n".join(lines)


def transpose_to(abc: str, signature: int) -> str:
    """The tune in the key of the same mode with `signature` sharps (flats negative)."""
    return transpose(abc, signature - key_signature(abc))


def _key(value: str) -> abc_notation.Key:
    key = abc_notation.parse_key(value)
    if key is None:
        raise CannotTranspose(f"a key without tonic and mode: K:{value.strip()}")
    if re.search(r"(^|\s)(exp\b|[_^=][A-Ga-g])", key.rest):
        raise CannotTranspose(f"explicit accidentals in the key: K:{value.strip()}")
    return key


def _move_key_line(line: str, steps: int, semitones: int) -> str:
    return "K:" + _move_key(line[2:], steps, semitones)


def _move_key(value: str, steps: int, semitones: int) -> str:
    key = _key(value)
    letter, alteration = _move_pitch_class(
        key.letter, abc_notation.NAME_ACCIDENTALS[key.accidental], steps, semitones)
    if abs(alteration) > 1:
        raise CannotTranspose(f"K:{value.strip()} would need a double sharp or flat")
    accidental = {1: "#", -1: "b", 0: ""}[alteration]
    return abc_notation.Key(letter, accidental, key.mode, key.rest).text()


def _move_pitch_class(letter: str, alteration: int, steps: int, semitones: int
                      ) -> tuple[str, int]:
    """(new letter, its alteration) of a pitch class (chord root, key tonic)."""
    index = LETTERS.index(letter.upper())
    octaves, new_index = divmod(index + steps, 7)
    natural_move = 12 * octaves + _NATURAL_SEMITONES[new_index] - _NATURAL_SEMITONES[index]
    return LETTERS[new_index], alteration + semitones - natural_move


def _move_music(line: str, steps: int, semitones: int) -> str:
    pieces = []
    for kind, text in abc_notation.music_segments(line):
        if kind == "music":
            if _MICROTONE.search(text):
                raise CannotTranspose(f"a microtone: {text.strip()}")
            text = _NOTE.sub(lambda note: _move_note(note, steps, semitones), text)
        elif kind == "field" and text.startswith("[K:"):
            text = "[K:" + _move_key(text[3:].rstrip("]"), steps, semitones) + "]"
        elif kind == "quoted":
            text = _move_chord_symbol(text, steps, semitones)
        pieces.append(text)
    return "".join(pieces)


def _move_note(note: re.Match, steps: int, semitones: int) -> str:
    accidental, letter, marks = note.groups()
    octave = (1 if letter.islower() else 0) + marks.count("'") - marks.count(",")
    index = LETTERS.index(letter.upper())
    new_octave, new_index = divmod(7 * octave + index + steps, 7)
    written = LETTERS[new_index]
    written = written.lower() + "'" * (new_octave - 1) if new_octave >= 1 else \
        written + "," * -new_octave
    if accidental is None:
        return written
    natural_move = 12 * (new_octave - octave) + _NATURAL_SEMITONES[new_index] - \
        _NATURAL_SEMITONES[index]
    alteration = _ACCIDENTALS[accidental] + semitones - natural_move
    if alteration not in _ACCIDENTAL_OF:
        raise CannotTranspose(f"{note.group()} would need a triple sharp or flat")
    return _ACCIDENTAL_OF[alteration] + written


def _move_chord_symbol(quoted: str, steps: int, semitones: int) -> str:
    """A chord symbol's root and bass moved; any other quoted string as it is."""
    if not abc_notation.is_chord_symbol(quoted):
        return quoted

    def move(pitch: re.Match) -> str:
        before, letter, accidental = pitch.groups()
        new_letter, alteration = _move_pitch_class(
            letter, abc_notation.NAME_ACCIDENTALS[accidental], steps, semitones)
        if abs(alteration) > 2:
            raise CannotTranspose(f"chord {quoted} would need a triple sharp or flat")
        new_letter = new_letter.lower() if letter.islower() else new_letter
        return before + new_letter + ("#" * alteration if alteration > 0 else "b" * -alteration)

    return '"' + _CHORD_PITCH.sub(move, quoted.strip('"')) + '"'
