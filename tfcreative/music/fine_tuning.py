"""Starting from a trained model (a preset such as `folk`, or a model of yours) on new tunes.

A model knows the characters of the tunes it was trained on. Tunes of another editor bring
others (accents in titles, curly quotes, `%` or `@` in notes); training on them as they are
would turn each into the unknown id (0) without a word. `adapt_to_tunes` counts them, says so
in one line, and does one of two things (`NEW_CHARACTERS`):

* "grow" (the default): the vocabulary grows by those characters. The new model has one more
  embedding row and one more output row per character, every other weight kept: a new
  character's embedding starts as that of its plain letter where it has one (é as e, else
  the mean embedding), its output row as the unknown id's (which training never chose, so
  the model starts out finding it improbable and its predictions of the other characters
  unchanged); fine-tuning then learns them.
* "map": each is written as the character of the vocabulary it stands for (é → e, ’ → ',
  – → -: Unicode's decomposition without accents, and typographic quotes and dashes); the
  model is unchanged, and what has no such character stays unknown (said in the line).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import unicodedata

import numpy as np

from tfcreative.errors import InvalidArgument
from tfcreative.music.config import NEW_CHARACTERS
from tfcreative.music.model import MusicLSTM, architecture_of
from tfcreative.music.vocabulary import OOV_ID, CharVocabulary

logger = logging.getLogger(__name__)

# Typographic characters and what they are written as in plain ABC text.
_TYPOGRAPHIC = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "\u2013": "-",
                "\u2014": "-", "\u2212": "-", "\u00a0": " ", "\u2026": "."}


@dataclasses.dataclass
class UnknownCharacters:
    """Characters of some tunes outside a vocabulary: occurrences of each, and how many
    tunes hold any."""

    counts: collections.Counter
    tunes: int
    total_tunes: int

    def __bool__(self) -> bool:
        return bool(self.counts)

    def describe(self, limit: int = 12) -> str:
        """"412 characters in 37 of 1,000 tunes are not in the model's vocabulary: é ×300
        (U+00E9), ñ ×112 (U+00F1)"."""
        shown = ", ".join(f"{c} ×{n} (U+{ord(c):04X})"
                          for c, n in self.counts.most_common(limit))
        more = f" and {len(self.counts) - limit} more" if len(self.counts) > limit else ""
        return (f"{sum(self.counts.values()):,} characters in {self.tunes:,} of "
                f"{self.total_tunes:,} tunes are not in the model's vocabulary: {shown}{more}")


def unknown_characters(texts: list[str], vocabulary: CharVocabulary) -> UnknownCharacters:
    counts: collections.Counter = collections.Counter()
    tunes = 0
    for text in texts:
        unknown = [c for c in text if vocabulary.id_of(c) == OOV_ID]
        counts.update(unknown)
        tunes += bool(unknown)
    return UnknownCharacters(counts, tunes, len(texts))


def plain_character(char: str, vocabulary: CharVocabulary) -> str | None:
    """The character of `vocabulary` that `char` stands for (é → e, ’ → '), or None."""
    if char in _TYPOGRAPHIC:
        candidate = _TYPOGRAPHIC[char]
    else:
        candidate = "".join(c for c in unicodedata.normalize("NFKD", char)
                            if not unicodedata.combining(c))
    return candidate if len(candidate) == 1 and vocabulary.id_of(candidate) != OOV_ID \
        else None


def grow_vocabulary(model: MusicLSTM, characters) -> MusicLSTM:
    """A new MusicLSTM whose vocabulary also holds `characters`, every weight of `model` kept
    (module docstring: how the new rows start). Call in the strategy's scope."""
    old = model.vocabulary
    vocabulary = CharVocabulary(set(old.characters) | set(characters))
    grown = MusicLSTM(vocabulary, **architecture_of(model), dtype=model.dtype_policy,
                      name=model.name)
    for source, target in zip(model.lstm_layers, grown.lstm_layers, strict=True):
        target.set_weights(source.get_weights())
    embedding = np.asarray(model.embedding.embeddings)
    kernel, bias = (np.asarray(w) for w in model.logits.weights)
    rows = [OOV_ID] + [old.id_of(c) for c in vocabulary.characters]  # old id of each new id
    new_embedding, new_kernel, new_bias = embedding[rows], kernel[:, rows], bias[rows]
    mean = embedding[1:].mean(axis=0)
    for char in set(vocabulary.characters) - set(old.characters):
        new_id, plain = vocabulary.id_of(char), plain_character(char, old)
        new_embedding[new_id] = embedding[old.id_of(plain)] if plain else mean
    grown.embedding.embeddings.assign(new_embedding)
    grown.logits.kernel.assign(new_kernel)
    grown.logits.bias.assign(new_bias)
    return grown


def adapt_to_tunes(model: MusicLSTM, texts: list[str], new_characters: str = "grow"
                   ) -> tuple[MusicLSTM, dict[str, str]]:
    """(the model to train on `texts`, the characters to map before encoding them): unknown
    characters counted and said in one warning, then the vocabulary grown or the characters
    mapped (module docstring). Call in the strategy's scope."""
    if new_characters not in NEW_CHARACTERS:
        raise InvalidArgument("new_characters", f"expected one of {', '.join(NEW_CHARACTERS)},"
                                                f" got {new_characters!r}")
    unknown = unknown_characters(texts, model.vocabulary)
    if not unknown:
        return model, {}
    if new_characters == "grow":
        logger.warning("%s; the vocabulary grows by these %d characters (new embedding and "
                       "output rows, every other weight kept; new_characters='map' writes "
                       "them as the plain characters they stand for instead)",
                       unknown.describe(), len(unknown.counts))
        return grow_vocabulary(model, unknown.counts), {}
    aliases = {c: plain for c in unknown.counts
               if (plain := plain_character(c, model.vocabulary))}
    unmapped = sorted(set(unknown.counts) - set(aliases))
    logger.warning("%s; written as %s%s (new_characters='grow' adds them to the vocabulary "
                   "instead)", unknown.describe(),
                   ", ".join(f"{c} → {p}" for c, p in sorted(aliases.items())) or "nothing",
                   f"; no plain character for {' '.join(unmapped)}: they stay unknown (id 0)"
                   if unmapped else "")
    return model, aliases
