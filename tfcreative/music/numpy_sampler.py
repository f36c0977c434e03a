"""`TuneSampler`'s loop in NumPy: the same tunes for the same seeds, without TensorFlow.

What the command line's `tfcreative music generate` runs for a preset: importing TensorFlow
and tracing the loop take seconds, generating a few tunes a fraction of one. The pieces are
TuneSampler's, ported: the LSTM's step (`numpy_lstm`), the counter-based random numbers and
the Gumbel-max draw (`sampler.per_row_uniform`, `sampler.sample_next`: the same uint32 hash,
so the same noise bit for bit), and the meter tracker, which runs the rules of `meter_rules`
on NumPy arrays already (`meter.NumpyOps`). Each step: sample from the masked logits, mark
rows that wrote a blank line as done (their later characters are the unknown id), step the
LSTM, let the tracker read the character and mask the next logits.

The float32 products round differently from TensorFlow's kernels, so where two characters'
noisy logits are within a rounding of each other the draw can differ; the parity test
(tests/test_numpy_sampler.py) counts such tunes against TuneSampler; docs/benchmarks.md says
what it found.
"""

from __future__ import annotations

import numpy as np

from tfcreative.music import meter
from tfcreative.music import meter_rules as rules
from tfcreative.music.config import DEFAULT_MAX_LENGTH, DEFAULT_SEED_TEXT
from tfcreative.music.generation_request import finished_tune, generation_request
from tfcreative.music.numpy_lstm import NumpyMusicLSTM
from tfcreative.music.tune import Tunes
from tfcreative.music.vocabulary import OOV_ID

_U32 = np.uint32


def _mix32(x: np.ndarray) -> np.ndarray:
    """sampler._mix32 (lowbias32) on uint32 arrays (products wrap as TensorFlow's do)."""
    x = x ^ (x >> _U32(16))
    x = x * _U32(0x7FEB352D)
    x = x ^ (x >> _U32(15))
    x = x * _U32(0x846CA68B)
    return x ^ (x >> _U32(16))


def per_row_uniform(row_seeds: np.ndarray, step: int, width: int) -> np.ndarray:
    """sampler.per_row_uniform: uniform (0, 1) float32 [batch, width] from (row seed, step)."""
    with np.errstate(over="ignore"):
        low = (row_seeds & 0xFFFFFFFF).astype(_U32)
        high = (row_seeds >> 32).astype(_U32)
        key = _mix32(low ^ _mix32(high + _U32(0x9E3779B9)))
        key = _mix32(key + _U32(step) * _U32(0x85EBCA6B))
        columns = _mix32(np.arange(width, dtype=_U32) + _U32(0x632BE5AB))
        bits = _mix32(key[:, None] ^ columns[None, :])
    return ((bits >> _U32(8)).astype(np.float32) + np.float32(0.5)) / np.float32(1 << 24)


def sample_next(logits: np.ndarray, row_seeds: np.ndarray, step: int, temperature: float,
                top_k: int) -> np.ndarray:
    """sampler.sample_next: Gumbel-max from softmax(logits / temperature) (among the top k)."""
    logits = logits / np.float32(temperature)
    logits[:, OOV_ID] = -np.inf  # never a valid output
    if top_k > 0:
        best_first = -np.sort(-logits, axis=1)
        k = min(top_k, logits.shape[1])
        kth_best = best_first[:, k - 1:k]
        logits = np.where(logits < kth_best, np.float32(-np.inf), logits)
    gumbel = -np.log(-np.log(per_row_uniform(row_seeds, step, logits.shape[1])))
    return np.argmax(logits + gumbel, axis=1).astype(np.int64)


class NumpyTracker:
    """meter.MeterConstraint's state and masks on NumPy registers: the same rules, the same
    give-ups (a row the tracker lost, or whose strict mask came out empty, allows everything
    and is reported as unconstrained)."""

    def __init__(self, vocabulary, settings: np.ndarray, batch: int):
        self.tables = meter.vocab_tables(vocabulary)
        self.ops = meter.NumpyOps(self.tables)
        values = {**rules.Registers().values(),
                  **{name: int(settings[i]) for i, name in enumerate(rules.SETTINGS)}}
        self.registers = rules.Registers(**{name: np.full(batch, value, np.int64)
                                            for name, value in values.items()})
        self.stalled = np.zeros(batch, bool)

    def advance(self, token_ids: np.ndarray) -> None:
        self.registers = meter.advance(self.tables, self.registers,
                                       token_ids.astype(np.int64), self.ops)

    def mask_logits(self, logits: np.ndarray) -> np.ndarray:
        """The logits with -inf where the tracker allows no character."""
        allowed = meter.allowed(self.tables, self.registers, self.ops)
        stalled = ~allowed.any(axis=1)
        self.stalled |= stalled
        return np.where(allowed | stalled[:, None], logits, np.float32(-np.inf))

    def unconstrained(self) -> np.ndarray:
        return (self.registers.state == self.tables.lost) | self.stalled


def sample_tokens(model: NumpyMusicLSTM, seed_ids: np.ndarray, row_seeds: np.ndarray,
                  max_length: int, temperature: float, top_k: int, constrain: str | None,
                  settings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sampler.sample_tokens in NumPy: ([steps, batch] ids, [batch] unconstrained)."""
    batch = len(row_seeds)
    seeds = np.tile(seed_ids, (batch, 1))
    logits, states = model.forward(seeds)
    tracker = None
    if constrain is not None:
        tracker = NumpyTracker(model.vocabulary, settings, batch)
        for step in range(seeds.shape[1]):
            tracker.advance(seeds[:, step])
        logits = tracker.mask_logits(logits)
    newline = model.vocabulary.id_of("\n")
    previous, done, tokens = seeds[:, -1], np.zeros(batch, bool), []
    while len(tokens) < max_length and not done.all():
        token = np.where(done, OOV_ID, sample_next(logits, row_seeds, len(tokens), temperature,
                                                   top_k))
        tokens.append(token)
        done |= (previous == newline) & (token == newline)
        previous = token
        logits, states = model.step(token, states)
        if tracker is not None:
            tracker.advance(token)
            logits = tracker.mask_logits(logits)
    unconstrained = tracker.unconstrained() if tracker else np.zeros(batch, bool)
    return np.array(tokens, np.int64).reshape(len(tokens), batch), unconstrained


class NumpySampler:
    """`TuneSampler` for a `NumpyMusicLSTM`: `generate` takes the same arguments and gives the
    same tunes (see the module docstring for where float32 rounding may differ)."""

    def __init__(self, model: NumpyMusicLSTM):
        self.model = model
        self.vocabulary = model.vocabulary

    def generate(self, seed_text: str = DEFAULT_SEED_TEXT, num_tunes: int = 1,
                 max_length: int = DEFAULT_MAX_LENGTH, temperature: float = 1.0,
                 top_k: int = 0, seed: int | None = None, constrain: str | None = None,
                 **controls) -> Tunes:
        """As `TuneSampler.generate` (its docstring says what each argument means)."""
        request = generation_request(self.vocabulary, seed_text, num_tunes, max_length,
                                     temperature, top_k, seed, constrain, **controls)
        tunes = Tunes()
        for row_seeds in request.row_seed_batches:
            tokens, fallback = sample_tokens(
                self.model, request.seed_ids, row_seeds, request.max_length,
                request.temperature, request.top_k, request.constrain, request.settings)
            tunes.extend(finished_tune(self.vocabulary, request.seed_text, column,
                                       int(row_seed), bool(fell_back))
                         for column, row_seed, fell_back in zip(tokens.T, row_seeds, fallback,
                                                                strict=True))
        return tunes
