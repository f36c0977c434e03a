"""A training's claim on its run directory: one training at a time, never a finished run.

`claim_run_dir` refuses a run directory that is a file (or sits in one) and one that holds a
finished run (its model.keras: training it again in place would start from scratch and append
to its history), and, for the process that writes the run directory (the chief), takes
`<run dir>/run.lock` for as long as training runs:

* The lock is an `flock` on that file, which holds the owner's PID, host and start time. A
  second training into the directory is refused, naming them. The kernel drops the lock when
  its process ends in any way, so the file of a killed training (SIGKILL, power cut) does not
  block the next one: it takes the lock over and says whose it was, in one line.
* It is released on every way out of the block (an error, Ctrl-C), and the file deleted; so
  are the folders the claim created, if nothing else was written into them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time

from tfcreative.errors import FinishedRun, RunDirectoryInUse
from tfcreative.files import require_folder
from tfcreative.keras_archive import is_run_directory

try:
    import fcntl
except ImportError:  # Windows: no flock; trainings are not kept apart there
    fcntl = None

logger = logging.getLogger(__name__)

LOCK_FILE = "run.lock"


@contextlib.contextmanager
def claim_run_dir(run_dir: str, lock: bool = True):
    """Checks `run_dir` can take a training (InvalidArgument on run_dir otherwise: a file,
    RunDirectoryInUse, FinishedRun) and holds its lock for the block (lock=False: the checks
    only, for a worker that does not write the run directory)."""
    require_folder(run_dir, "run_dir", "a run directory (a new folder, or an unfinished run's)")
    if not lock or fcntl is None:
        _refuse_finished(run_dir)
        yield
        return
    created = _make_folders(run_dir)
    path = os.path.join(run_dir, LOCK_FILE)
    try:
        descriptor = _acquire(path, run_dir)
    except BaseException:
        _remove_empty(created)
        raise
    try:
        _refuse_finished(run_dir)
        yield
    finally:
        if descriptor is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # while still holding it: see _acquire
            os.close(descriptor)
        _remove_empty(created)


def _refuse_finished(run_dir: str) -> None:
    if is_run_directory(run_dir):
        raise FinishedRun(run_dir)


def _acquire(path: str, run_dir: str) -> int | None:
    """Locks `path` (created if need be) and writes our PID, host and time into it; None (said
    in a warning) on a file system that cannot lock."""
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _owner(descriptor)
            os.close(descriptor)
            raise RunDirectoryInUse(run_dir, owner or "its owner not yet written", path) \
                from None
        except OSError as error:  # e.g. ENOLCK on a network file system without locks
            os.close(descriptor)
            logger.warning("%s: cannot lock it (%s): nothing keeps a second training out of "
                           "%s", path, error.strerror, run_dir)
            return None
        # The owner deletes the file before it lets go: a lock taken on a file that is no
        # longer at `path` is worthless, take the one there now.
        if _is_at(descriptor, path):
            break
        os.close(descriptor)
    left = _owner(descriptor)
    if left:
        logger.warning("%s: taking over the lock of %s, which ended without releasing it", path,
                       left)
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                      "since": time.strftime("%Y-%m-%d %H:%M:%S")}).encode(), 0)
    return descriptor


def _is_at(descriptor: int, path: str) -> bool:
    try:
        here = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(descriptor)
    return (held.st_dev, held.st_ino) == (here.st_dev, here.st_ino)


def _owner(descriptor: int) -> str:
    """"PID 12 on host, since 2026-01-01 10:00:00", from the lock file ("" if unreadable)."""
    try:
        owner = json.loads(os.pread(descriptor, 4096, 0))
        return f"PID {owner['pid']} on {owner['host']}, since {owner['since']}"
    except (ValueError, KeyError, TypeError):
        return ""


def _make_folders(path: str) -> list[str]:
    """Creates `path` and its missing parents; returns those it created, deepest first."""
    created, folder = [], os.path.abspath(os.path.expanduser(path))
    while not os.path.exists(folder):
        created.append(folder)
        folder = os.path.dirname(folder)
    os.makedirs(path, exist_ok=True)
    return created


def _remove_empty(created: list[str]) -> None:
    """Removes the folders a claim created, deepest first, while they are empty."""
    for folder in created:
        try:
            os.rmdir(folder)
        except OSError:
            return
