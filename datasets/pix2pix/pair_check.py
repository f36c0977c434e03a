"""The check of a user's folder before anything is built or trained: every file that would be
skipped, with the reason, one line each.

`manual` pairs: files that are no image (by suffix, or not a regular file: folders, pipes),
names with no partner in the other folder, images that do not decode, and pairs whose sizes
differ. `photos_*`: files that are no image and images that do not decode. The folder layout
is the builder's (optional train/, val/, test/ subfolders; A/ and B/ folders or side-by-side
A|B images), so the check sees exactly the files the builder reads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat

import tensorflow as tf
from etils import epath

from tfcreative.datasets.pix2pix.pix2pix_dataset_builder import (
    IMAGE_SUFFIXES,
    SPLIT_FOLDERS,
    decode_rgb,
    is_regular_file,
)


@dataclasses.dataclass(frozen=True)
class Problem:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclasses.dataclass
class FolderReport:
    """What a folder holds: `usable` pairs (or photos) and the `problems`, one per file, in
    the order of their paths."""

    folder: str
    usable: int
    problems: list[Problem]

    def summary(self) -> str:
        what = "file" if len(self.problems) == 1 else "files"
        return (f"{self.folder}: {self.usable} usable, {len(self.problems)} {what} "
                "would be skipped")


def _folders(root: epath.Path) -> list[epath.Path]:
    splits = [root / f for f in SPLIT_FOLDERS if (root / f).is_dir()]
    return splits or [root]


def _sorted_entries(folder: epath.Path, skip=()) -> tuple[list[epath.Path], list[Problem]]:
    """(image files, problems for everything else) of one folder."""
    images, problems = [], []
    for path in sorted(folder.iterdir()):
        if path.name in skip:
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            problems.append(Problem(str(path), "not an image file (expected "
                                               f"{', '.join(IMAGE_SUFFIXES)})"))
        elif not is_regular_file(path):
            problems.append(Problem(str(path), "not a regular file"))
        else:
            images.append(path)
    return images, problems


def _shape(path: epath.Path) -> tuple[int, int] | None:
    """(height, width), or None if the file does not decode."""
    try:
        return decode_rgb(path.read_bytes()).shape[:2]
    except tf.errors.InvalidArgumentError:
        return None


def _check_pair_folder(folder: epath.Path) -> tuple[int, list[Problem]]:
    if not ((folder / "A").is_dir() and (folder / "B").is_dir()):
        images, problems = _sorted_entries(folder, skip=SPLIT_FOLDERS)
        usable = 0
        for path in images:
            shape = _shape(path)
            if shape is None:
                problems.append(Problem(str(path), "corrupt or truncated image"))
            elif shape[1] < 2:
                problems.append(Problem(str(path), "too narrow to be a side-by-side A|B image"))
            else:
                usable += 1
        return usable, problems
    a_images, problems = _sorted_entries(folder / "A")
    b_images, b_problems = _sorted_entries(folder / "B")
    problems += b_problems
    a_files, b_files = {p.stem: p for p in a_images}, {p.stem: p for p in b_images}
    for stem in sorted(set(a_files) ^ set(b_files)):
        lonely = a_files.get(stem) or b_files[stem]
        other = "B" if stem in a_files else "A"
        problems.append(Problem(str(lonely), f"no file named {stem}.* in {other}/"))
    usable = 0
    for stem in sorted(set(a_files) & set(b_files)):
        shapes = {side: _shape(files[stem]) for side, files in (("A", a_files), ("B", b_files))}
        broken = [side for side, shape in shapes.items() if shape is None]
        for side in broken:
            files = a_files if side == "A" else b_files
            problems.append(Problem(str(files[stem]), "corrupt or truncated image"))
        if broken:
            continue
        if shapes["A"] != shapes["B"]:
            (ah, aw), (bh, bw) = shapes["A"], shapes["B"]
            problems.append(Problem(str(b_files[stem]), f"size mismatch: A/{a_files[stem].name} "
                                                        f"is {aw}x{ah}, B/ is {bw}x{bh}"))
            continue
        usable += 1
    return usable, problems


def check_pairs(root: str) -> FolderReport:
    """The `manual` config's folder: see the module docstring."""
    usable, problems = 0, []
    for folder in _folders(epath.Path(root)):
        count, found = _check_pair_folder(folder)
        usable, problems = usable + count, problems + found
    return FolderReport(str(root), usable, sorted(problems, key=lambda p: p.path))


def check_photos(root: str) -> FolderReport:
    """A `photos_*` config's folder: see the module docstring."""
    usable, problems = 0, []
    for folder in _folders(epath.Path(root)):
        images, found = _sorted_entries(folder, skip=SPLIT_FOLDERS)
        problems += found
        for path in images:
            if _shape(path) is None:
                problems.append(Problem(str(path), "corrupt or truncated image"))
            else:
                usable += 1
    return FolderReport(str(root), usable, sorted(problems, key=lambda p: p.path))


def content_key(root: str) -> str:
    """16 hex digits of a SHA-256 of every regular file under `root` (its path relative to
    `root`, and its bytes), in path order: the same folder always gets the same key, a file
    added, renamed or edited another. Folder symlinks are not followed (no cycles), and pipes,
    sockets and devices are never read."""
    digest = hashlib.sha256()
    for directory, folders, files in os.walk(root):
        folders.sort()
        for name in sorted(files):
            path = os.path.join(directory, name)
            try:
                if not stat.S_ISREG(os.stat(path).st_mode):
                    continue
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:  # a dangling link, or gone meanwhile: the builder skips it too
                continue
            for part in (os.path.relpath(path, root).encode("utf-8", "surrogateescape"), data):
                digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()[:16]
