"""The README and docs/ as the tests read them: sections by heading, and their fenced code
blocks."""

from __future__ import annotations

import os
import re

from tests.conftest import REPO

README = os.path.join(REPO, "README.md")
DOCS = os.path.join(REPO, "docs")
SERVING = os.path.join(DOCS, "serving.md")


def documents() -> list[str]:
    """The README and every Markdown document in docs/: what a user reads."""
    return [README, *sorted(os.path.join(DOCS, name) for name in os.listdir(DOCS)
                            if name.endswith(".md"))]
_FENCE = re.compile(r"^```([\w+-]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def section(heading: str, path: str = README) -> str:
    """The text of document `path` under `heading` (e.g. "## Export: TF.js") up to the next
    heading of its level or above; `#` lines inside fenced code are not headings."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    level = len(heading) - len(heading.lstrip("#"))
    start = lines.index(heading)
    fenced = False
    for stop in range(start + 1, len(lines)):
        line = lines[stop]
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(rf"#{{1,{level}}} ", line):
            break
    else:
        stop = len(lines)
    return "\n".join(lines[start:stop]) + "\n"


def code_blocks(text: str, language: str | None = None) -> list[str]:
    """Fenced blocks of `text`, optionally only those tagged with `language`."""
    return [body for lang, body in _FENCE.findall(text) if language is None or lang == language]
