"""Continuing a user's tune: its header and first bars, read from a `.abc` file, become the
seed text the model goes on from (`music generate --continue my_tune.abc`)."""

from __future__ import annotations

import os

from tfcreative.abc_notation import decode_abc_bytes, parse_abc_text
from tfcreative.errors import ArgumentPathNotFound, InvalidArgument

MAX_FILE_BYTES = 1 << 20  # a tune's start is a few hundred bytes
BAR_LINE_ENDS = ":]|"  # characters that may end a bar line (|: :| || |])


def read_tune_start(path: str, argument: str = "path") -> str:
    """The first tune of the file at `path`: its header and its music up to its last bar
    line (a bar cut short is left for the model to write again). InvalidArgument naming
    `argument` (the caller's name for `path`) when the file holds no tune with a header
    (X: ... K:) and at least one bar."""
    if not os.path.exists(path):
        raise ArgumentPathNotFound(argument, f"{path}: no such file")
    if not os.path.isfile(path):
        raise InvalidArgument(argument, f"{path}: not a regular file: expected a .abc file "
                                      "with a tune's header and first bars")
    with open(path, "rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise InvalidArgument(argument, f"{path}: more than {MAX_FILE_BYTES:,} bytes: expected "
                                      "a tune's header and first bars")
    text, _ = decode_abc_bytes(data)
    tunes = parse_abc_text(text).tunes
    if not tunes:
        raise InvalidArgument(argument, f"{path}: no tune (an X: line, a header ending with K:, "
                                      "and its first bars)")
    abc = tunes[0].abc
    header_end = abc.index("\n", abc.index("\nK:") + 1) + 1 if "\nK:" in abc else 0
    header, music = abc[:header_end], abc[header_end:]
    last_bar = music.rfind("|")
    if not header.startswith("X:") or last_bar < 0:
        raise InvalidArgument(argument, f"{path}: the tune has no bar line after its K: line: "
                                      "expected its first bars, each closed by a bar line")
    end = last_bar + 1
    while end < len(music) and music[end] in BAR_LINE_ENDS:
        end += 1
    return header + music[:end]
