"""Writing files whole or not at all."""

from __future__ import annotations

import os
import uuid


def write_bytes_atomically(path: str, data: bytes) -> None:
    """Writes `data` to a temporary file beside `path`, then renames it into place: a crash
    leaves the previous file (or none), never a truncated one. The file gets the permissions
    any new file gets (the umask's), unlike a tempfile.mkstemp file (owner only)."""
    folder = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(folder, f".tmp-{uuid.uuid4().hex}-{os.path.basename(path)}")
    try:
        with open(temporary, "xb") as f:
            f.write(data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
