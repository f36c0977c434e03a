"""Character vocabulary: one character = one token, saved inside the model's config.

Id 0 is reserved for characters the model never saw (OOV). Training data never produces it
(the vocabulary is built from the training split); held-out text may, and is scored with it.
Seed strings for generation are stricter: an unknown character is an error that names it,
because silently replacing a user's seed would generate from something they did not write.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from tfcreative.errors import InvalidArgument

if TYPE_CHECKING:
    import tensorflow as tf

OOV_ID = 0
OOV_DISPLAY = "\ufffd"  # what decode() prints for the OOV id


class UnknownCharacterError(InvalidArgument):
    """A text argument holds characters outside the vocabulary (an InvalidArgument naming
    that argument, so a ValueError too)."""


class CharVocabulary:
    """Maps characters to ids 1..N (sorted by code point) and id 0 to "unknown"."""

    def __init__(self, characters: Iterable[str]):
        chars = sorted(set(characters))
        bad = [c for c in chars if len(c) != 1]
        if bad:
            raise ValueError(f"vocabulary entries must be single characters, got {bad[:5]!r}")
        if not chars:
            raise ValueError("vocabulary is empty: no characters given")
        self.characters: tuple[str, ...] = tuple(chars)
        self._ids = {c: i + 1 for i, c in enumerate(self.characters)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> CharVocabulary:
        chars: set[str] = set()
        for text in texts:
            chars.update(text)
        return cls(chars)

    @property
    def size(self) -> int:
        """Number of ids, the OOV id included: the width of the model's output layer."""
        return len(self.characters) + 1

    def __len__(self) -> int:
        return self.size

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharVocabulary) and other.characters == self.characters

    def __repr__(self) -> str:
        return f"CharVocabulary({len(self.characters)} characters + OOV)"

    def id_of(self, char: str) -> int:
        return self._ids.get(char, OOV_ID)

    def unknown_characters(self, text: str) -> list[str]:
        return sorted({c for c in text if c not in self._ids})

    def encode(self, text: str, on_unknown: str = "error") -> np.ndarray:
        """Text -> int32 ids. on_unknown="error" raises naming the characters; "oov" maps to 0."""
        if on_unknown not in ("error", "oov"):
            raise ValueError(f"on_unknown must be 'error' or 'oov', got {on_unknown!r}")
        if on_unknown == "error":
            unknown = self.unknown_characters(text)
            if unknown:
                shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in unknown)
                raise UnknownCharacterError(
                    "text", f"contains characters the model was not trained on: {shown}. "
                            f"Known characters: {''.join(self.characters)!r}")
        return np.array([self.id_of(c) for c in text], dtype=np.int32)

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(
            self.characters[i - 1] if 0 < i <= len(self.characters) else OOV_DISPLAY
            for i in (int(i) for i in ids)
        )

    def id_table(self) -> tf.lookup.StaticHashTable:
        """A TensorFlow table code point -> id (unknown -> OOV_ID), for in-graph encoding."""
        import tensorflow as tf  # here: the vocabulary is used without TensorFlow too

        keys = tf.constant([ord(c) for c in self.characters], dtype=tf.int32)
        values = tf.range(1, len(self.characters) + 1, dtype=tf.int32)
        return tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(keys, values), default_value=OOV_ID
        )

    def get_config(self) -> dict:
        return {"characters": "".join(self.characters)}

    @classmethod
    def from_config(cls, config: dict) -> CharVocabulary:
        return cls(config["characters"])
