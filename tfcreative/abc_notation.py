"""Reading ABC notation as it is found in the wild, one tune at a time.

Real collections are messy: several tunes per file separated by blank lines, `%` comments,
free text between tunes, Windows line endings, Latin-1 bytes, tunes missing their `X:` or
`K:` line. This module turns such text into clean `Tune`s and says what it skipped and why,
so a data set never silently loses tunes. Pure Python: no TensorFlow here.
"""

from __future__ import annotations

import collections
import dataclasses
import re

# Header fields every generated tune must carry to be a complete tune (abc standard 2.1 §3).
REQUIRED_HEADERS = ("X", "T", "M", "L", "K")
# Tunes in a file are separated by a blank line (abc standard 2.1 §2.2): the training stream
# joins tunes with it, and generation stops when the model writes it.
TUNE_SEPARATOR = "\n\n"

# Information fields that are text about the tune, not its music (abc standard 2.1 §3.1:
# area, book, composer, discography, file, group, history, notes, origin, source, title, words,
# transcription, remark). In the body they are left out of `music_body`.
TEXT_FIELDS = frozenset("ABCDFGHNOSTWZrw")
# Header fields that say what to play and how (reference, title, meter, unit length, tempo,
# parts, voices, rhythm, key; user symbols and macros): `split_provenance` keeps these in the
# tune and moves every other header line (who transcribed it, notes, book, source, composer,
# instructions...) out of it.
TUNE_FIELDS = frozenset("XTMLQPVRKUm")

_FIELD_LINE = re.compile(r"^([A-Za-z]):(.*)$")
_UNESCAPED_PERCENT = re.compile(r"(?<!\\)%")


class NoTunesError(ValueError):
    """Raised when a file holds no ABC tune at all: almost always the wrong file."""


@dataclasses.dataclass(frozen=True)
class Tune:
    """One tune: its cleaned ABC text and the header fields people search by."""

    abc: str
    reference: str
    title: str
    meter: str
    unit_note_length: str
    key: str


@dataclasses.dataclass
class ParseResult:
    """Tunes found in one text, skipped blocks counted by reason, repairs, and the encoding."""

    tunes: list[Tune]
    skipped: collections.Counter
    repaired: int = 0  # tunes whose header and music were split by a stray blank line
    encoding: str = "utf-8"
    # lines inside a header that are not fields (a field letter or its colon lost), dropped
    malformed_header_lines: int = 0

    @property
    def num_skipped(self) -> int:
        return sum(self.skipped.values())


def decode_abc_bytes(data: bytes) -> tuple[str, str]:
    """Decodes file bytes: UTF-8 (with or without BOM), else Windows-1252, else Latin-1.

    Old ABC collections are often Windows-1252 or Latin-1; Latin-1 maps every byte, so decoding
    never fails. Returns (text, encoding name) so callers can log the fallback.
    """
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def _strip_comment(line: str) -> str:
    match = _UNESCAPED_PERCENT.search(line)
    return (line[: match.start()] if match else line).rstrip()


def _clean_lines(text: str) -> list[str]:
    """Normalises line endings and removes comments, keeping blank lines (tune separators)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = []
    for raw in text.split("\n"):
        if raw.lstrip().startswith("%"):
            continue  # whole-line comment or %% directive: not a tune separator
        lines.append(_strip_comment(raw.replace("\t", " ")))
    return lines


def _blocks(lines: list[str]) -> list[list[str]]:
    """Splits at blank lines, and also before an `X:` line, for files that omit blank lines."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if not line.strip() or (line.startswith("X:") and current):
            if current:
                blocks.append(current)
            current = [line] if line.strip() else []
        else:
            current.append(line)
    if current:
        blocks.append(current)
    return blocks


def header_fields(abc: str) -> dict[str, str]:
    """Header fields of a tune: the field lines up to and including the first `K:` line.

    The first occurrence of each field wins (a second `T:` is a subtitle).
    """
    fields: dict[str, str] = {}
    for line in abc.split("\n"):
        match = _FIELD_LINE.match(line)
        if not match:
            break
        fields.setdefault(match.group(1), match.group(2).strip())
        if match.group(1) == "K":
            break
    return fields


def music_body(abc: str) -> str:
    """The tune's music: the text after its header, without whitespace, line continuations
    (a `\\` ending a line), back quotes (beaming spacers, ignored by ABC programs) and text
    fields (`N:`, `W:`, `T:`, ... lines in the body). The same tune filed under another number
    or title, with other `N:` notes, or laid out on other lines gives the same text: it is what
    de-duplication compares and what the data set's split hashes."""
    lines = abc.split("\n")
    header_end = next((i + 1 for i, line in enumerate(lines) if line.startswith("K:")), 0)
    music = []
    for line in lines[header_end:]:
        field = _FIELD_LINE.match(line)
        if field and field.group(1) in TEXT_FIELDS:
            continue
        line = line.rstrip()
        music.append(line[:-1] if line.endswith("\\") else line)
    return "".join("".join(music).replace("`", "").split())


_NOT_NOTES = re.compile(r'"[^"\n]*"|![^!\n]*!|\+[^+\n]*\+|\{[^}]*\}|\[[A-Za-z]:[^\]\n]*\]')
NOTE = re.compile(r"[_^=]*[A-Ga-g][,']*")  # one note's pitch
_NOTE_AND_TIE = re.compile(r"([_^=]*)([A-Ga-g][,']*)[\d/]*(-?)")


def note_sequence(abc: str) -> str:
    """The pitches of the tune's music in order (accidentals and octave marks kept), and
    nothing else: no lengths, rests, bar lines, slurs, grace notes, decorations, chord symbols
    or annotations; a note tied to the same pitch counts once. Two transcriptions of one tune
    that differ only in how they write rhythm, ornaments or bars have the same sequence (tune
    books file one tune twice, under two titles, like that)."""
    lines = abc.split("\n")
    header_end = next((i + 1 for i, line in enumerate(lines) if line.startswith("K:")), 0)
    music = "\n".join(line for line in lines[header_end:] if not _FIELD_LINE.match(line))
    notes, tied_to = [], None
    for accidental, pitch, tie in _NOTE_AND_TIE.findall(_NOT_NOTES.sub("", music)):
        if pitch != tied_to:
            notes.append(accidental + pitch)
        tied_to = pitch if tie else None
    return "".join(notes)


def split_provenance(abc: str) -> tuple[str, str]:
    """(the tune, its provenance): header lines of `TUNE_FIELDS` stay in the tune, written
    `F:value` (no space after the colon); every other header line (`Z:` transcription, `N:`
    notes, `B:` book, `S:` source, `C:` composer, `I:` instructions, ...) goes, as written, to
    the provenance text, one per line. The music after `K:` is unchanged.

    A model trained on the tune text then learns tunes, not transcribers' names, e-mail
    addresses or page numbers it would attach to tunes it writes."""
    lines = abc.split("\n")
    header_end = next((i + 1 for i, line in enumerate(lines) if line.startswith("K:")), 0)
    tune, provenance = [], []
    for line in lines[:header_end]:
        field = _FIELD_LINE.match(line)
        if field and field.group(1) in TUNE_FIELDS:
            tune.append(f"{field.group(1)}:{field.group(2).strip()}")
        else:
            provenance.append(line)
    return "\n".join(tune + lines[header_end:]), "\n".join(provenance)


def split_header(abc: str) -> tuple[list[str], list[str]]:
    """(header lines, body lines): the header ends with the first `K:` line (none: no header)."""
    lines = abc.split("\n")
    header_end = next((i + 1 for i, line in enumerate(lines) if line.startswith("K:")), 0)
    return lines[:header_end], lines[header_end:]


def field_of(line: str) -> tuple[str, str] | None:
    """(letter, value) of a field line such as `K:G` or `w:words`, else None."""
    match = _FIELD_LINE.match(line)
    return (match.group(1), match.group(2)) if match else None


# The parts of a line of music that are not notes: a quoted string (chord symbol or
# annotation, abc standard 2.1 §4.18-19), a decoration `!...!` (or ABC 2.0's `+...+`), an
# inline field such as `[K:G]` (§3.3).
_SEGMENT = re.compile(r'(?P<quoted>"[^"\n]*"?)|(?P<decoration>![^!\n]*!|\+[^+\n]*\+)'
                      r'|(?P<field>\[[A-Za-z]:[^\]\n]*\]?)')


def music_segments(line: str) -> list[tuple[str, str]]:
    """A line of music as (kind, text) pieces that join back to the line: "quoted",
    "decoration", "field" (inline) or "music" (notes, rests, bar lines, ... : the rest)."""
    pieces, position = [], 0
    for match in _SEGMENT.finditer(line):
        if match.start() > position:
            pieces.append(("music", line[position:match.start()]))
        pieces.append((match.lastgroup, match.group()))
        position = match.end()
    if position < len(line):
        pieces.append(("music", line[position:]))
    return pieces


# Modes of a `K:` field as written (abc standard 2.1 §3.1.14: any case, full or three
# letters) -> the abbreviation clean text writes ("" major, "m" minor).
MODES = {"": "", "maj": "", "major": "", "ion": "", "ionian": "", "m": "m", "min": "m",
         "minor": "m", "aeo": "m", "aeolian": "m", "dor": "dor", "dorian": "dor",
         "phr": "phr", "phrygian": "phr", "lyd": "lyd", "lydian": "lyd", "mix": "mix",
         "mixolydian": "mix", "loc": "loc", "locrian": "loc"}
# Sharps (flats negative) of each major tonic's signature, and what each mode adds to its
# tonic's major signature (A dorian: A major's 3 sharps - 2 = 1 sharp).
_TONIC_SHARPS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F": -1}
# Pitch spelling: the note letters in scale order and each one's semitones above C; what an
# accidental does (^ sharp, _ flat, = natural); the letters a key signature sharpens or
# flattens, in order.
LETTERS = "CDEFGAB"
NATURAL_SEMITONES = (0, 2, 4, 5, 7, 9, 11)
ACCIDENTALS = {"^^": 2, "^": 1, "=": 0, "_": -1, "__": -2}
NAME_ACCIDENTALS = {"#": 1, "b": -1, "": 0}  # in the names of keys and chords: F#m, Bb7
SHARPS_ORDER, FLATS_ORDER = "FCGDAEB", "BEADGCF"
_MODE_SHARPS = {"": 0, "m": -3, "dor": -2, "phr": -4, "lyd": 1, "mix": -1, "loc": -5}
_KEY = re.compile(r"^([A-G])([#b]?)(\s*)([A-Za-z]*)(.*)$")


@dataclasses.dataclass(frozen=True)
class Key:
    """A `K:` value read: tonic letter and accidental ("#", "b" or ""), mode (as `MODES`
    writes it) and whatever follows (clef, explicit accidentals), as written."""

    letter: str
    accidental: str
    mode: str
    rest: str = ""

    @property
    def sharps(self) -> int:
        """The key signature: number of sharps, flats negative (A dorian: 1)."""
        return _TONIC_SHARPS[self.letter] + 7 * NAME_ACCIDENTALS[self.accidental] + \
            _MODE_SHARPS[self.mode]

    def text(self) -> str:
        key = f"{self.letter}{self.accidental}{self.mode}"
        return f"{key} {self.rest}" if self.rest else key


def key_signature_alterations(sharps: int) -> dict[str, int]:
    """The letters a key signature alters (upper case) and by how much: 2 sharps {F: 1, C: 1}."""
    if sharps >= 0:
        return dict.fromkeys(SHARPS_ORDER[:sharps], 1)
    return dict.fromkeys(FLATS_ORDER[:-sharps], -1)


def parse_key(value: str) -> Key | None:
    """The `K:` value read (`G`, `G Major`, `Ador`, `F# Minor`, `D clef=bass`, `D exp ^f`), or
    None for one without a tonic and mode (`HP`, `none`, a lower-case tonic)."""
    match = _KEY.match(value.strip())
    if not match:
        return None
    letter, accidental, space, word, rest = match.groups()
    if word.lower() in MODES:
        return Key(letter, accidental, MODES[word.lower()], rest.strip())
    if space or not word:  # a major key followed by something else: `D exp ^f`, `D clef=...`
        return Key(letter, accidental, "", (word + rest).strip())
    return None


# A chord symbol (abc standard 2.1 §4.18): root, optional quality and extensions, optional
# bass note; optionally in parentheses (an alternative chord).
CHORD_SYMBOL = re.compile(r"^\(?[A-G][#b]?(?:m|min|maj|M|dim|aug|sus|add|\+|o|-|[0-9]|\(|\)|#|b)*"
                          r"(?:/[A-Ga-g][#b]?)?\)?$")


def is_chord_symbol(quoted: str) -> bool:
    """A quoted string of the music (quotes included) that reads as a chord symbol: not an
    annotation (`"^Segno"`), a fingering (`"4"`) or other text."""
    return bool(CHORD_SYMBOL.match(quoted.strip('"').strip()))


def has_required_headers(abc: str) -> bool:
    """True when the tune starts with X: and its header has T:, M:, L: and ends with K:."""
    fields = header_fields(abc)
    return abc.startswith("X:") and all(name in fields for name in REQUIRED_HEADERS)


_NO_MUSIC = "no music after the K: line"


def _drop_malformed_header_lines(block: list[str]) -> tuple[list[str], int]:
    """Drops lines inside a header that are not fields: a line before the first `K:` line
    with a field line after it (not only `K:`), such as `3/8=120` for `Q:3/8=120` or `N bars
    13 and 21 ...` (real collections hold a few). Music never stands before `K:`, so these
    lines belong to no part of the tune. Returns (block, lines dropped)."""
    if not block[0].startswith("X:"):
        return block, 0
    key = next((i for i, line in enumerate(block) if line.startswith("K:")), None)
    if key is None:
        return block, 0
    last_field = max((i for i in range(key) if _FIELD_LINE.match(block[i])), default=0)
    kept = [line for i, line in enumerate(block)
            if i >= last_field or _FIELD_LINE.match(line)]
    return kept, len(block) - len(kept)


def _parse_block(block: list[str]) -> Tune | str:
    """Returns a Tune, or the reason this block is not one."""
    fields = header_fields("\n".join(block))
    if "X" not in fields and "K" not in fields:
        return "text outside any tune (no X: or K: line)"
    if not block[0].startswith("X:"):
        return "tune does not start with an X: reference line"
    if "K" not in fields:
        return "no K: key line ending the header"
    header_length = next(i + 1 for i, line in enumerate(block) if line.startswith("K:"))
    body = [line for line in block[header_length:] if line.strip()]
    if not body:
        return _NO_MUSIC
    return Tune(
        abc="\n".join(block),
        reference=fields.get("X", ""),
        title=fields.get("T", ""),
        meter=fields.get("M", ""),
        unit_note_length=fields.get("L", ""),
        key=fields.get("K", ""),
    )


def parse_abc_text(text: str) -> ParseResult:
    """Splits ABC text into tunes; malformed blocks are counted in `skipped` by reason."""
    tunes: list[Tune] = []
    skipped: collections.Counter = collections.Counter()
    repaired = malformed = 0
    blocks = _blocks(_clean_lines(text))
    index = 0
    while index < len(blocks):
        block, dropped = _drop_malformed_header_lines(blocks[index])
        malformed += dropped
        index += 1
        parsed = _parse_block(block)
        if parsed == _NO_MUSIC and index < len(blocks) and _is_headerless_music(blocks[index]):
            # A stray blank line between header and music: join them rather than lose the tune.
            parsed = _parse_block(block + blocks[index])
            index += 1
            repaired += 1
        if isinstance(parsed, Tune):
            tunes.append(parsed)
        else:
            skipped[parsed] += 1
    return ParseResult(tunes=tunes, skipped=skipped, repaired=repaired,
                       malformed_header_lines=malformed)


def _is_headerless_music(block: list[str]) -> bool:
    return not _FIELD_LINE.match(block[0])


def parse_abc_bytes(data: bytes, source: str) -> ParseResult:
    """Decodes and parses one file's bytes; raises NoTunesError naming `source` if it has none."""
    text, encoding = decode_abc_bytes(data)
    result = parse_abc_text(text)
    result.encoding = encoding.replace("utf-8-sig", "utf-8")
    if not result.tunes:
        reasons = ", ".join(f"{n} × {why}" for why, n in result.skipped.items()) or "empty file"
        raise NoTunesError(
            f"{source}: no ABC tune found ({reasons}). Expected tunes that start with an "
            "'X:' line and whose header ends with a 'K:' line, followed by music."
        )
    return result
