"""What a `generate` call asks for, checked once for every sampler: the seed's ids, the meter
tracker's settings, the tunes' row seeds batch by batch; and a sampled column of ids made into
a `GeneratedTune`.

`TuneSampler` (TensorFlow) and `NumpySampler` (NumPy, the command line's light path) both
start from a `GenerationRequest` and end with `finished_tune`, so they take the same
arguments, refuse the same values and cut tunes at the same place. No TensorFlow here.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from tfcreative.abc_notation import TUNE_SEPARATOR
from tfcreative.errors import InvalidArgument
from tfcreative.music import config as music_config
from tfcreative.music.config import DEFAULT_SEED_TEXT
from tfcreative.music.controls import TuneControls, tune_controls
from tfcreative.music.meter import settings_vector
from tfcreative.music.tune import GeneratedTune
from tfcreative.music.vocabulary import CharVocabulary, UnknownCharacterError

CONSTRAINTS = (None, "meter", "form")
HEADER_CONTROLS = ("key", "meter", "tune_type", "title")  # with constrain "meter" or "form"
FORM_CONTROLS = ("parts", "chord_symbols", "repeats")  # with "form" only


@dataclasses.dataclass(frozen=True)
class GenerationRequest:
    """A checked `generate` call."""

    seed_text: str
    seed_ids: np.ndarray  # [seed length] ids
    max_length: int
    temperature: float
    top_k: int
    constrain: str | None
    settings: np.ndarray  # meter.settings_vector: the tracker's settings registers
    row_seed_batches: tuple  # [count] int64 row seeds per batch, at most GENERATION_BATCH


def _controls(constrain, seed_text, **given) -> TuneControls | None:
    """The checked controls of `generate` (None: none given), InvalidArgument naming the
    first that `constrain` does not take."""
    given = {name: value for name, value in given.items() if value is not None}
    for name in given:
        if constrain is None or (constrain == "meter" and name in FORM_CONTROLS):
            needs = "'form'" if name in FORM_CONTROLS else "'form' or 'meter'"
            raise InvalidArgument(name, f"needs constrain={needs} (the tracker writes it), "
                                        f"got constrain={constrain!r}")
    if "title" in given and seed_text != DEFAULT_SEED_TEXT:
        raise InvalidArgument("title", "starts the tune: give a title or a seed_text, not both")
    return tune_controls(**given) if given else None


def _check_numbers(seed_text, num_tunes, max_length, temperature, top_k, constrain) -> None:
    if not seed_text:
        raise InvalidArgument("seed_text", "must not be empty (e.g. 'X:1\\nT:')")
    if num_tunes < 1:
        raise InvalidArgument("num_tunes", f"expected >= 1, got {num_tunes}")
    if max_length < 1:
        raise InvalidArgument("max_length", f"expected >= 1, got {max_length}")
    if not temperature > 0:
        raise InvalidArgument("temperature", f"expected > 0, got {temperature}")
    if top_k < 0:
        raise InvalidArgument("top_k", f"expected >= 0 (0 = no limit), got {top_k}")
    if constrain not in CONSTRAINTS:
        raise InvalidArgument("constrain", f"expected one of {CONSTRAINTS}, got {constrain!r}")


def _row_seed_batches(seed: int, num_tunes: int) -> tuple:
    """Tune i gets seed + i; batches of equal sizes (give or take one), at most
    GENERATION_BATCH tunes each, so memory grows with num_tunes by the tunes' text only."""
    batches = -(-num_tunes // music_config.GENERATION_BATCH)
    found, start = [], seed
    for batch in range(batches):
        count = num_tunes // batches + (batch < num_tunes % batches)
        found.append(np.arange(start, start + count, dtype=np.int64))
        start += count
    return tuple(found)


def generation_request(vocabulary: CharVocabulary, seed_text: str, num_tunes: int,
                       max_length: int, temperature: float, top_k: int, seed: int | None,
                       constrain: str | None, **controls) -> GenerationRequest:
    """`TuneSampler.generate`'s arguments (its docstring says what each means), checked."""
    _check_numbers(seed_text, num_tunes, max_length, temperature, top_k, constrain)
    checked = _controls(constrain, seed_text, **controls)
    title = controls.get("title")
    if checked is not None and checked.title is not None:
        seed_text = f"X:1\nT:{checked.title}\n"
    settings = settings_vector(checked if constrain is not None else None,
                               form=constrain == "form")
    if constrain == "form" and checked is None:
        settings = settings_vector(tune_controls())
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "little")
    try:
        seed_ids = vocabulary.encode(seed_text, on_unknown="error")
    except UnknownCharacterError as error:
        raise UnknownCharacterError("title" if title is not None else "seed_text",
                                    error.detail) from None
    return GenerationRequest(seed_text, seed_ids, max_length, temperature, top_k, constrain,
                             settings, _row_seed_batches(seed, num_tunes))


def finished_tune(vocabulary: CharVocabulary, seed_text: str, ids: np.ndarray, row_seed: int,
                  fallback: bool = False) -> GeneratedTune:
    """The tune a row sampled: the seed and its characters up to the first blank line
    (complete), or all of them (cut at max_length: not complete)."""
    text = seed_text + vocabulary.decode(ids)
    end = text.find(TUNE_SEPARATOR, max(len(seed_text) - 1, 0))
    if end >= 0:
        return GeneratedTune(abc=text[:end].rstrip(), seed=row_seed, complete=True,
                             unconstrained_fallback=fallback)
    return GeneratedTune(abc=text.rstrip(), seed=row_seed, complete=False,
                         unconstrained_fallback=fallback)
