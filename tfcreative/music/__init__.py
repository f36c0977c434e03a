"""Folk-tune generation with a character-level LSTM over ABC notation.

Tokenizer (`CharVocabulary`), model (`MusicLSTM`) and task pieces (`TuneSampler`,
`training.train`) are separate, in the manner of keras-hub. Names are imported lazily, so a
piece loads only what it needs: the sampler never loads tensorflow_datasets, the command
line's --help no TensorFlow.
"""

import importlib

_LAZY = {
    "CharVocabulary": "tfcreative.music.vocabulary",
    "UnknownCharacterError": "tfcreative.music.vocabulary",
    "MusicLSTM": "tfcreative.music.model",
    "Tune": "tfcreative.music.tune",
    "GeneratedTune": "tfcreative.music.tune",
    "Tunes": "tfcreative.music.tune",
    "show_tunes": "tfcreative.music.display",
    "TuneSampler": "tfcreative.music.sampler",
    "MusicTrainConfig": "tfcreative.music.config",
    "train": "tfcreative.music.training",
}

__all__ = [*_LAZY, "load_model"]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tfcreative.music' has no attribute {name!r}")


def load_model(path: str):
    """Loads a MusicLSTM from a .keras file or a run directory (its model.keras)."""
    from tfcreative.music.model import MusicLSTM
    from tfcreative.saving import load_model_of_type

    return load_model_of_type(path, MusicLSTM)
