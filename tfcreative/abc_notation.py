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
    """The tune's music without its header and without any whitespace: the same tune filed
    under another number or title (or laid out on other lines) gives the same text."""
    lines = abc.split("\n")
    header_end = next((i + 1 for i, line in enumerate(lines) if line.startswith("K:")), 0)
    return "".join("".join(lines[header_end:]).split())


def has_required_headers(abc: str) -> bool:
    """True when the tune starts with X: and its header has T:, M:, L: and ends with K:."""
    fields = header_fields(abc)
    return abc.startswith("X:") and all(name in fields for name in REQUIRED_HEADERS)


_NO_MUSIC = "no music after the K: line"


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
    repaired = 0
    blocks = _blocks(_clean_lines(text))
    index = 0
    while index < len(blocks):
        block = blocks[index]
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
    return ParseResult(tunes=tunes, skipped=skipped, repaired=repaired)


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
