"""The model `tfcreative music generate` samples from, and its sampler.

A MusicLSTM runs in NumPy (`numpy_lstm`, `numpy_sampler`: TuneSampler's tunes for the same
seeds, without importing TensorFlow and tracing its loop, which take seconds), from a preset or
from a .keras file or run directory (its config.json and model.weights.h5 read with h5py)
holding a plain float32 MusicLSTM; anything else (another class, a subclass, another dtype
policy, an edited or damaged file) loads with Keras, whose loader also says what is wrong with
it. Nothing here imports TensorFlow until the Keras path is taken.
"""

from __future__ import annotations

import os
import sys

from tfcreative import keras_archive, preset_files
from tfcreative.errors import InvalidArgument
from tfcreative.music.saved_config import MODEL_CLASS, is_music_lstm


def runs_on_numpy(path: str) -> bool:
    """Whether `path` names a preset holding a MusicLSTM, or a .keras file or run directory
    whose config is a MusicLSTM's (then `load_for_generation` reads it without TensorFlow,
    unless its files turn out not to be a plain float32 MusicLSTM)."""
    if preset_files.names_a_preset(path):
        try:
            return preset_files.read_metadata(path)["class"] == MODEL_CLASS
        except (InvalidArgument, OSError):
            return False
    archive = keras_archive.archive_path(path)
    if archive is None:
        return False
    try:
        return is_music_lstm(keras_archive.read_config(archive))
    except InvalidArgument:
        return False


def load_for_generation(path: str):
    """The model's weights in NumPy (`NumpyMusicLSTM`) where `runs_on_numpy`, else the Keras
    MusicLSTM (`tfcreative.music.load_model`)."""
    if runs_on_numpy(path):
        _blas_on_one_thread()
        from tfcreative.music.numpy_lstm import NumpyMusicLSTM

        try:
            if preset_files.names_a_preset(path):
                return NumpyMusicLSTM.from_preset(path)
            return NumpyMusicLSTM.from_keras_file(path)
        except InvalidArgument:
            pass  # not a plain float32 MusicLSTM, edited or damaged: Keras's loader decides
    from tfcreative.music import load_model

    return load_model(path)


def sampler_for(model):
    """NumpySampler for a NumpyMusicLSTM, TuneSampler for a Keras MusicLSTM: the same
    `generate` arguments, the same tunes."""
    from tfcreative.music.numpy_lstm import NumpyMusicLSTM

    if isinstance(model, NumpyMusicLSTM):
        from tfcreative.music.numpy_sampler import NumpySampler

        return NumpySampler(model)
    from tfcreative.music.sampler import TuneSampler

    return TuneSampler(model)


def _blas_on_one_thread() -> None:
    """NumPy's OpenBLAS on one thread for the LSTM's small products ([tunes, 512] by [512,
    2048]): two threads measured 4-6x slower on a busy 2-core machine (docs/benchmarks.md).
    Read when NumPy loads, so only before that; a user's own setting wins."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
