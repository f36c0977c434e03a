"""Clean training text: a tune's music and the fields that say how to play it, written one way.

Tune books carry their editors' habits into the text a model learns: Ryan's Mammoth writes
violin fingerings and performance marks as quoted strings (`"4"` 1,739 times, `"^Segno"`,
`"SEGUE"`, `"D.C."`: 3.8 per tune) and bowings (`u`, `v`), O'Neill's writes accents and
dynamics as quoted text (`">"`, `"p"`), the bundled corpus spells keys `K:G Major` where the
books write `K:G`, and each book orders its header fields its own way. A model trained on that
text writes such marks into its own tunes (free text where a musician expects chord symbols)
and spends its capacity on the editors rather than the music.

`clean_tune` keeps the music and rewrites the rest one way:

* header: only the fields that say what to play (`abc_notation.TUNE_FIELDS`), in the order
  of `HEADER_ORDER` (titles in their order; `K:` last, as the standard wants), keys written
  tonic + mode abbreviation (`K:G Major` -> `K:G`, `K:E Minor` -> `K:Em`, `K:A Dorian` ->
  `K:Ador`), rhythms (`R:`) in lower case;
* body: chord symbols kept (a quoted string that reads as one, `"Am7"`, `"G/B"`); every
  other quoted string (fingerings, annotations `"^..."`, free text) removed; decorations
  kept when they are ornaments or articulations (`KEPT_DECORATIONS`, `~`, `.`, `T`, `H`,
  ...), removed when they are fingerings, bowings, dynamics or navigation marks
  (`!4!`, `u`, `v`, `!mf!`, `!D.C.!`, `!segno!`, `S`, `O`); text fields in the body (`N:`,
  `W:`, `w:` lyrics, ...) removed; a line left empty is dropped (a blank line would end the
  tune).

Pure Python; the abc_tunes builder applies it to the configs with `clean=True`.
"""

from __future__ import annotations

import re

from tfcreative import abc_notation

# Header fields in the order clean text writes them (fields of one letter keep their order).
HEADER_ORDER = "XTRMLQPUmVK"
# Decorations (abc standard 2.1 §4.14) that are part of the music: ornaments and
# articulations. Every other `!...!` (fingerings !0!-!5!, dynamics, bowings, navigation,
# crescendo marks, ...) is a performance mark and is removed.
KEPT_DECORATIONS = frozenset({
    "trill", "trill(", "trill)", "roll", "turn", "turnx", "invertedturn", "invertedturnx",
    "mordent", "lowermordent", "uppermordent", "pralltriller", "fermata", "invertedfermata",
    "accent", "emphasis", ">", "tenuto", "wedge", "slide", "arpeggio", "breath", "staccato",
    "tr", "shortphrase", "mediumphrase", "longphrase",
})
# Decoration shorthands removed from the music: bowings and navigation marks.
_REMOVED_SHORTHANDS = re.compile(r"[uvSO]")


def clean_tune(abc: str) -> str:
    """The tune as clean training text (module docstring): header fields of the tune only, in
    `HEADER_ORDER`, keys and rhythms spelled one way; chord symbols kept, fingerings,
    bowings, dynamics, navigation marks and text removed from the body."""
    header, body = abc_notation.split_header(abc)
    lines = _clean_header(header)
    for line in body:
        cleaned = _clean_body_line(line)
        if cleaned.strip():
            lines.append(cleaned)
    return "\n".join(lines)


def normal_key(value: str) -> str:
    """`K:` value with the tonic and mode written one way (`G Major` -> `G`, `E Minor` ->
    `Em`, `ADor` -> `Ador`); what follows (clef, explicit accidentals) kept; a value it does
    not read (`HP`, `none`) unchanged."""
    key = abc_notation.parse_key(value)
    return value.strip() if key is None else key.text()


def _clean_header(header: list[str]) -> list[str]:
    fields = []
    for line in header:
        field = abc_notation.field_of(line)
        if field is None or field[0] not in abc_notation.TUNE_FIELDS:
            continue
        letter, value = field[0], field[1].strip()
        if letter == "K":
            value = normal_key(value)
        elif letter == "R":
            value = value.lower()
        fields.append((HEADER_ORDER.index(letter), letter, value))
    fields.sort(key=lambda field: field[0])  # stable: one letter's lines keep their order
    return [f"{letter}:{value}" for _, letter, value in fields]


def _clean_body_line(line: str) -> str:
    field = abc_notation.field_of(line)
    if field is not None:
        letter, value = field
        if letter in abc_notation.TEXT_FIELDS:
            return ""
        return f"K:{normal_key(value)}" if letter == "K" else line
    pieces = []
    for kind, text in abc_notation.music_segments(line):
        if kind == "quoted":
            pieces.append(text if abc_notation.is_chord_symbol(text) else "")
        elif kind == "decoration":
            pieces.append(text if text[1:-1] in KEPT_DECORATIONS else "")
        elif kind == "music":
            pieces.append(_REMOVED_SHORTHANDS.sub("", text))
        else:
            pieces.append(text)
    return "".join(pieces).rstrip()
