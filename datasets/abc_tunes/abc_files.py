"""Finding and reading a collection's .abc files: regular files only, each once.

A user's folder may hold anything: a named pipe (reading it blocks for ever), a link back up
the tree (a cycle), several names (links) of one file, links to nothing. Only regular files
are read, each real file and folder once; what is left out is counted and named in one line.
Local paths are examined with `os.stat` (the builder itself goes through epath, as TFDS
asks); object stores (gs://, ...) have no links, pipes or devices.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import os
import stat

from etils import epath

logger = logging.getLogger(__name__)

ABC_SUFFIXES = (".abc",)

# Why find_abc_files leaves an entry out, in the order its warning lists them.
_SKIP_REASONS = ("pipe, socket or device", "link to nothing",
                 "second name of a file already found", "link to a folder already searched")


def find_abc_files(root: epath.Path, warn: bool = True) -> list[epath.Path]:
    """`root` itself if it is a regular file, else every *.abc file (any case) below it, sorted.

    Only regular files are read (a named pipe would block for ever), each once: links are
    followed, but never to a file already found or into a folder already searched (a link back
    up the tree would otherwise repeat it ~40 levels deep). What is left out is counted and
    named in one warning (warn=False: not logged)."""
    if not root.is_dir():
        return [root] if _entry(root)[0] == "file" else []
    found: dict = {}
    skipped: dict[str, list[str]] = collections.defaultdict(list)
    _search(root, root, found, {_entry(root)[1]}, skipped)
    if skipped and warn:
        logger.warning("%s: skipped %s (only regular files are read, each once)", root, "; ".join(
            f"{len(skipped[reason])} {reason}: {', '.join(skipped[reason])}"
            for reason in _SKIP_REASONS if reason in skipped))
    return sorted(found.values())


def _search(root: epath.Path, folder: epath.Path, found: dict, searched: set,
            skipped: dict) -> None:
    """Adds folder's *.abc files to `found` (identity -> path), depth first in name order."""
    for child in sorted(folder.iterdir()):  # epath has no rglob on every backend
        kind, identity = _entry(child)
        name = str(child.relative_to(root))
        if kind == "folder":
            if identity in searched:
                skipped["link to a folder already searched"].append(name)
            else:
                searched.add(identity)
                _search(root, child, found, searched, skipped)
        elif child.suffix.lower() not in ABC_SUFFIXES:
            continue
        elif kind == "broken":
            skipped["link to nothing"].append(name)
        elif kind == "other":
            skipped["pipe, socket or device"].append(name)
        elif identity in found:
            skipped["second name of a file already found"].append(name)
        else:
            found[identity] = child


def _entry(path: epath.Path) -> tuple[str, object]:
    """(kind, identity): kind "folder", "file" (a regular file), "other" (pipe, socket,
    device) or "broken" (a link to nothing, or a loop of links); identity is the same for
    every name (link) of one file or folder."""
    text = os.fspath(path)
    if "://" in text:  # an object store (gs://, s3://): no links, pipes or devices
        return ("folder" if path.is_dir() else "file"), text
    try:
        status = os.stat(text)
    except OSError:
        return "broken", text
    kind = "folder" if stat.S_ISDIR(status.st_mode) else \
        "file" if stat.S_ISREG(status.st_mode) else "other"
    return kind, (status.st_dev, status.st_ino)


def read_abc_files(root: epath.Path, files: list[epath.Path]) -> list[tuple[str, epath.Path,
                                                                          bytes]]:
    """(name relative to root, path, bytes) of each file; a single-file root is named by its
    file name."""
    return [(path.name if path == root else str(path.relative_to(root)), path,
             path.read_bytes()) for path in files]


def content_key(files: list[tuple[str, epath.Path, bytes]]) -> str:
    """16 hex digits of a SHA-256 of the files' names (relative) and bytes: the same tunes
    always get the same key, a file added, renamed or edited another."""
    digest = hashlib.sha256()
    for name, _, data in files:
        for part in (name.encode("utf-8"), data):
            digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()[:16]
