"""Checking ABC tunes with abc2midi (the abcmidi package), a real ABC parser independent of ours.

MIDI files come from tfcreative's own reader (tfcreative.music.midi), which needs nothing but
pip; abc2midi is the optional, independent check where it is installed. It exits 0 even when
it reports errors, so its output is read: `Error in line-char ...` lines mean the parser
rejected part of the tune; `Bar N has X time units while the time signature has Y` warnings
mean a bar's length does not match the meter (M:). abc2midi treats a short first bar as a
pickup (anacrusis) and does not warn about it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import tempfile

INSTALL_HINT = (
    "abc2midi (from the abcmidi package) checks tunes with an independent ABC parser. Install "
    "it: `sudo apt-get install abcmidi` (Debian/Ubuntu), `brew install abcmidi` (macOS), or see "
    "https://abcmidi.sourceforge.io/"
)

_ERROR = re.compile(r"^Error\b.*$", re.MULTILINE)
_BAR_MISMATCH = re.compile(r"^Warning\b.*Bar \d+ has .* time units.*$", re.MULTILINE)


class Abc2MidiNotFoundError(RuntimeError):
    """abc2midi is not installed; the message says how to install it."""


@dataclasses.dataclass(frozen=True)
class AbcCheck:
    """What abc2midi said about one tune."""

    errors: tuple[str, ...]
    bar_mismatches: tuple[str, ...]
    midi_written: bool

    @property
    def parses(self) -> bool:
        """The parser accepted the whole tune and produced MIDI."""
        return self.midi_written and not self.errors

    @property
    def bars_match_meter(self) -> bool:
        return self.parses and not self.bar_mismatches


def find_abc2midi() -> str:
    path = shutil.which("abc2midi")
    if path is None:
        raise Abc2MidiNotFoundError(INSTALL_HINT)
    return path


def abc2midi_version() -> str:
    """abc2midi's version line with its path, e.g. '4.84 January 20 2023 (/usr/bin/abc2midi)'."""
    executable = find_abc2midi()
    try:
        result = subprocess.run([executable, "-ver"], capture_output=True, text=True,
                                errors="replace", timeout=10, check=False)
        version = result.stdout.strip().removesuffix("abc2midi").strip() or "unknown version"
    except (OSError, subprocess.TimeoutExpired):
        version = "unknown version"
    return f"{version} ({executable})"


def abc_to_midi(abc: str, midi_path: str | None = None, timeout: float = 30.0) -> AbcCheck:
    """Runs abc2midi on one tune; writes `midi_path` if given (else only checks the tune)."""
    executable = find_abc2midi()
    with tempfile.TemporaryDirectory(prefix="tfcreative-abc-") as workdir:
        abc_file = os.path.join(workdir, "tune.abc")
        out_file = os.path.join(workdir, "tune.mid")
        with open(abc_file, "w", encoding="utf-8") as f:
            f.write(abc.rstrip() + "\n")
        try:
            result = subprocess.run(
                [executable, abc_file, "-o", out_file],
                capture_output=True, text=True, errors="replace", timeout=timeout, check=False,
            )
            output = result.stdout + result.stderr
        except subprocess.TimeoutExpired:
            output = f"Error: abc2midi did not finish within {timeout:.0f} s"
        midi_written = os.path.exists(out_file) and os.path.getsize(out_file) > 0
        if midi_written and midi_path is not None:
            shutil.move(out_file, midi_path)
    return AbcCheck(
        errors=tuple(_ERROR.findall(output)),
        bar_mismatches=tuple(_BAR_MISMATCH.findall(output)),
        midi_written=midi_written,
    )
