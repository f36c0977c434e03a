"""What a user may fix of a tune the model writes: its key, meter, type, title and number of
parts, and whether it carries chord symbols. Pure Python, no TensorFlow.

Each fixed header value is checked and written the one way the tracker's strict grammar
writes it (`canonical_key("Ador") == "A Dorian"`); the tracker then forces that value's
characters when the model writes the field (`FIXED_VALUES`, `meter_rules`). A tune type
fixes its meter too, as the tunes of that type are written (a jig is in 6/8; a hornpipe in
C, 4/4 or 2/4, the meters abc2midi plays R:hornpipe in), unless a meter of the type is given.
"""

from __future__ import annotations

import dataclasses
import re

from tfcreative.errors import InvalidArgument

# K: values: a tonic, its accidental and a mode, written as the strict grammar writes them
TONICS = "ABCDEFG"
MODE_SPELLINGS = {"": "", "maj": "", "major": "", "ion": "", "ionian": "", "m": "m",
                  "min": "m", "minor": "m", "aeo": "m", "aeolian": "m", "dor": " Dorian",
                  "dorian": " Dorian", "mix": " Mixolydian", "mixolydian": " Mixolydian",
                  "lyd": " Lydian", "lydian": " Lydian", "phr": " Phrygian",
                  "phrygian": " Phrygian", "loc": " Locrian", "locrian": " Locrian"}
KEYS = tuple(tonic + accidental + mode for tonic in TONICS for accidental in ("", "#", "b")
             for mode in dict.fromkeys(MODE_SPELLINGS.values()))
# M: values the strict grammar writes: C (4/4), C| (2/2), n/d for n 1-16 and d 2, 4, 8
METERS = ("C", "C|") + tuple(f"{n}/{d}" for d in (2, 4, 8) for n in range(1, 17))
# R: values, and the meters tunes of that type are written in (the first: the default)
TUNE_TYPES = {
    "reel": ("C|", "C", "4/4", "2/2"), "jig": ("6/8",), "double jig": ("6/8",),
    "single jig": ("6/8", "12/8"), "slip jig": ("9/8",), "slide": ("12/8",),
    "hornpipe": ("C", "4/4", "2/4"), "polka": ("2/4",), "waltz": ("3/4",),
    "mazurka": ("3/4",), "march": ("2/4", "6/8", "C"), "strathspey": ("C",),
    "barndance": ("C",), "air": (),
}
# abc2midi swings R:hornpipe's pairs of notes itself and rejects some written broken rhythms
# with it: a hornpipe is written without > and <
NO_BROKEN_RHYTHM = ("hornpipe",)
MAX_PARTS = 8
MAX_TITLE = 60  # abc_grammar.HEADER_TEXT_CAP: the strict grammar's longest field text

# The values the tracker may force, each then a newline, as ASCII codes: row i of a table
# [len(FIXED_VALUES), FIXED_WIDTH] (-1 after the newline); row 0: nothing fixed. (One row
# per text: the key C and the meter C are one.)
FIXED_VALUES = tuple(dict.fromkeys(("",) + KEYS + METERS + tuple(TUNE_TYPES)))
FIXED_WIDTH = 16


def fixed_codes() -> tuple[int, ...]:
    """`FIXED_VALUES` as the tracker's flat table of character codes."""
    codes = []
    for value in FIXED_VALUES:
        text = [ord(c) for c in value + "\n"] if value else []
        assert len(text) <= FIXED_WIDTH, value
        codes.extend(text + [-1] * (FIXED_WIDTH - len(text)))
    return tuple(codes)


def fixed_index(value: str | None) -> int:
    """The row of `FIXED_VALUES` that forces `value` (a canonical one); 0 for None."""
    return 0 if value is None else FIXED_VALUES.index(value)


def key_spellings() -> dict[str, str]:
    """Every K: value `canonical_key` takes that a client would write (tonics as capitals;
    modes in lower case, Capitalised or CAPITALS, with or without a space), with the value
    it stands for: the table a serving graph looks keys up in."""
    spellings = {}
    for tonic in TONICS:
        for accidental in ("", "#", "b"):
            for mode in MODE_SPELLINGS:
                for written in {mode, mode.capitalize(), mode.upper()}:
                    for space in ("", " "):
                        text = tonic + accidental + (space + written if written else "")
                        spellings[text] = canonical_key(text)
    return spellings


def canonical_key(key: str) -> str:
    """`D`, `Dm`, `D minor`, `Ador`, `A Dorian`, `F#m`, `Bb mix` ... as the tracker writes
    it (`D`, `Dm`, `Dm`, `A Dorian`, ...); InvalidArgument naming `key` otherwise."""
    match = re.fullmatch(r"\s*([A-Ga-g])([#b]?)\s*([A-Za-z]*)\s*", key or "")
    mode = match.group(3).lower() if match else None
    if mode is not None and mode not in MODE_SPELLINGS:
        mode = next((spelling for spelling in MODE_SPELLINGS
                     if len(mode) >= 3 and len(spelling) > 3 and spelling.startswith(mode)),
                    None)
    if mode is None:
        raise InvalidArgument("key", f"expected a key such as D, Em, Ador, A Dorian or F#m "
                                     f"(a tonic A-G, # or b, and a mode), got {key!r}")
    return match.group(1).upper() + match.group(2) + MODE_SPELLINGS[mode]


def canonical_meter(meter: str) -> str:
    """`6/8`, `C`, `C|`, `4/4`, ... (n/d with n 1-16 and d 2, 4 or 8); InvalidArgument
    naming `meter` otherwise."""
    value = (meter or "").replace(" ", "")
    if value not in METERS:
        raise InvalidArgument("meter", f"expected C, C| or n/d with n from 1 to 16 and d 2, "
                                       f"4 or 8 (e.g. 6/8), got {meter!r}")
    return value


def canonical_tune_type(tune_type: str) -> str:
    value = " ".join((tune_type or "").lower().replace("-", " ").split())
    if value not in TUNE_TYPES:
        raise InvalidArgument("tune_type", f"expected one of {', '.join(TUNE_TYPES)}, got "
                                           f"{tune_type!r}")
    return value


def check_title(title: str) -> str:
    if not title or not title.strip() or len(title) > MAX_TITLE \
            or any(c in title for c in "\n\r%\\"):
        raise InvalidArgument("title", f"expected one line of 1 to {MAX_TITLE} characters "
                                       f"without %, \\ or a line break, got {title!r}")
    return title.strip()


@dataclasses.dataclass(frozen=True)
class TuneControls:
    """What is fixed (None: the model's choice); made by `tune_controls`, which checks it."""

    parts: int = 2
    key: str | None = None
    meter: str | None = None
    tune_type: str | None = None
    title: str | None = None
    chord_symbols: bool = False
    repeats: bool = True  # every part repeats (False: parts may be written out)

    @property
    def no_broken_rhythm(self) -> bool:
        return self.tune_type in NO_BROKEN_RHYTHM


def tune_controls(parts: int = 2, key: str | None = None, meter: str | None = None,
                  tune_type: str | None = None, title: str | None = None,
                  chord_symbols: bool = False, repeats: bool = True) -> TuneControls:
    """Checks and writes the controls the one way the tracker forces them; a tune type fixes
    its usual meter unless `meter` is one of its meters (InvalidArgument otherwise)."""
    if isinstance(parts, bool) or not isinstance(parts, int) or not 1 <= parts <= MAX_PARTS:
        raise InvalidArgument("parts", f"expected a whole number from 1 to {MAX_PARTS}, got "
                                       f"{parts!r}")
    key = None if key is None else canonical_key(key)
    meter = None if meter is None else canonical_meter(meter)
    if tune_type is not None:
        tune_type = canonical_tune_type(tune_type)
        meters = TUNE_TYPES[tune_type]
        if meter is not None and meters and meter not in meters:
            raise InvalidArgument("meter", f"a {tune_type} is written in "
                                           f"{' or '.join(meters)}, not {meter}")
        if meter is None and meters:
            meter = meters[0]
    title = None if title is None else check_title(title)
    return TuneControls(parts, key, meter, tune_type, title, bool(chord_symbols),
                        bool(repeats))
