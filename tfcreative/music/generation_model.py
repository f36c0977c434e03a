"""The model `tfcreative music generate` samples from, and its sampler.

A MusicLSTM runs in NumPy (`numpy_lstm`, `numpy_sampler`: TuneSampler's tunes for the same
seeds, without importing TensorFlow and tracing its loop, which take seconds), from a preset or
from a .keras file or run directory (its config.json and model.weights.h5 read with h5py)
holding a plain float32 MusicLSTM; anything else (another class, a subclass, another dtype
policy, an edited or damaged file) loads with Keras, whose loader also says what is wrong with
it. Nothing here imports TensorFlow until the Keras path is taken.
"""

from __future__ import annotations

from tfcreative import keras_archive, preset_files
from tfcreative.blas_threads import use_one_blas_thread
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
        use_one_blas_thread()
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
    """The sampler for a command that generates once (`music generate`, the quickstart):
    NumpySampler for a NumpyMusicLSTM, and for a Keras MusicLSTM the NumPy loop can run, on
    its weights (the same tunes, no tracing); else TuneSampler. (A TuneSampler's first call
    would run in NumPy too, then compile its loop in the background for later calls that
    never come in a command, holding the process at exit until done.)"""
    from tfcreative.music.numpy_lstm import NumpyMusicLSTM
    from tfcreative.music.numpy_sampler import NumpySampler

    if isinstance(model, NumpyMusicLSTM):
        return NumpySampler(model)
    from tfcreative.music.sampler import TuneSampler, numpy_loop_fits, numpy_twin

    twin = numpy_twin(model) if numpy_loop_fits(model) else None
    return TuneSampler(model) if twin is None else NumpySampler(twin)
