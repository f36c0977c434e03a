"""Writing files whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
import uuid

from tfcreative.errors import InvalidArgument


@contextlib.contextmanager
def file_written_whole(path: str):
    """Yields a temporary path beside `path` (ending in `path`'s name, so its suffix too):
    when the block ends without an error, that file is renamed to `path`, else removed. A
    crash leaves the previous file (or none), never a truncated one."""
    folder = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(folder, f".tmp-{uuid.uuid4().hex}-{os.path.basename(path)}")
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def write_bytes_atomically(path: str, data: bytes) -> None:
    """Writes `data` to `path` whole or not at all (`file_written_whole`). The file gets the
    permissions any new file gets (the umask's), unlike a tempfile.mkstemp file (owner
    only)."""
    with file_written_whole(path) as temporary, open(temporary, "xb") as f:
        f.write(data)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def scratch_folder(parent: str, label: str):
    """Yields an empty scratch folder `.tmp-<label>-*` in `parent` (created if need be),
    removed at the end unless it was renamed away (`publish_folder`). It gets the permissions
    any new folder gets (the umask's), unlike a tempfile.mkdtemp folder (owner only): a
    SavedModel version or a data cache must stay readable by the server or user that reads
    it."""
    os.makedirs(parent, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=f".tmp-{label}-", dir=parent)
    try:
        os.chmod(scratch, 0o777 & ~_umask())
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def publish_folder(scratch: str, folder: str) -> None:
    """Renames the finished `scratch` folder to `folder`, which must not exist: FileExistsError
    (naming `folder`) if it does, also when it appeared a moment ago (another process)."""
    if os.path.lexists(folder):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), folder)
    try:
        os.rename(scratch, folder)  # atomic; fails on a folder that is not empty
    except OSError as error:
        if error.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR):
            raise
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), folder) from None


@contextlib.contextmanager
def folder_written_whole(folder: str, replace: bool = False):
    """Yields an empty scratch folder beside `folder` (`scratch_folder`): when the block ends
    without an error, the scratch folder is renamed to `folder`, else removed, so `folder` is
    never seen half written. replace: an existing `folder` is moved aside first and then
    deleted; otherwise a `folder` that exists by then (made meanwhile by another process) is a
    FileExistsError naming it."""
    folder = os.path.abspath(folder)
    parent = os.path.dirname(folder)
    with scratch_folder(parent, os.path.basename(folder)) as scratch:
        yield scratch
        if replace and os.path.exists(folder):
            old = tempfile.mkdtemp(prefix=f".old-{os.path.basename(folder)}-", dir=parent)
            os.rename(folder, os.path.join(old, "folder"))
            os.rename(scratch, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            publish_folder(scratch, folder)


def require_folder(path: str, argument: str, expected: str) -> None:
    """Raises InvalidArgument(argument) when `path`, or the nearest part of it that exists, is
    not a folder (a file in its place or above it): nothing could be written there."""
    given = os.path.normpath(os.path.expanduser(path))
    existing = given
    while existing and not os.path.exists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    if existing and os.path.exists(existing) and not os.path.isdir(existing):
        where = "not a folder" if existing == given else f"{existing} is not a folder"
        raise InvalidArgument(argument, f"{path}: {where}; expected {expected}")


def sha256(path: str) -> str:
    """The hex SHA-256 of a file's bytes, read in blocks of 1 MiB."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
