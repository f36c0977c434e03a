"""Held-out splits by a hash of each example's key, shared by the tfcreative builders.

An example's split depends on its own key only: not on file order, not on the other
examples, not on the machine. Adding examples never moves one already split, and the same
key (the same tune filed twice, the same pair under one name) always lands on the same side.
"""

from __future__ import annotations

import hashlib

# Percent of examples held out per split, in the order the buckets are assigned; the rest is
# "train".
HELD_OUT_PERCENT = {"validation": 10, "test": 10}


def split_of_key(key: str, held_out_percent: dict[str, int] | None = None) -> str:
    """The split of the example `key` names: the first 8 hex digits of its SHA-256 pick one of
    100 buckets, assigned to the held-out splits in order (the default 0-9 validation, 10-19
    test), the rest to "train"."""
    percents = HELD_OUT_PERCENT if held_out_percent is None else held_out_percent
    bucket = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % 100
    for split, percent in percents.items():
        if bucket < percent:
            return split
        bucket -= percent
    return "train"
