"""The model `tfcreative music generate` samples from, and its sampler.

A preset's MusicLSTM runs in NumPy (`numpy_lstm`, `numpy_sampler`: TuneSampler's tunes for the
same seeds, without importing TensorFlow, which takes seconds); a .keras file, a run directory,
or a preset that cannot be read that way (edited, damaged) loads with Keras, whose loader also
says what is wrong with it. Nothing here imports TensorFlow until the Keras path is taken.
"""

from __future__ import annotations

from tfcreative import preset_files
from tfcreative.blas_threads import use_one_blas_thread
from tfcreative.errors import InvalidArgument

MODEL_CLASS = "MusicLSTM"


def runs_on_numpy(path: str) -> bool:
    """Whether `path` names a preset holding a MusicLSTM (then `load_for_generation` reads it
    without TensorFlow, unless its files turn out not to be a plain float32 MusicLSTM)."""
    if not preset_files.names_a_preset(path):
        return False
    try:
        return preset_files.read_metadata(path)["class"] == MODEL_CLASS
    except (InvalidArgument, OSError):
        return False


def load_for_generation(path: str):
    """A preset's weights in NumPy (`NumpyMusicLSTM`) where `runs_on_numpy`, else the Keras
    MusicLSTM (`tfcreative.music.load_model`)."""
    if runs_on_numpy(path):
        use_one_blas_thread()
        from tfcreative.music.numpy_lstm import NumpyMusicLSTM

        try:
            return NumpyMusicLSTM.from_preset(path)
        except InvalidArgument:
            pass  # an edited or damaged preset: Keras's loader says what is wrong with it
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


def one_shot_sampler(model):
    """The sampler for a process that generates once (the quickstart): for a Keras MusicLSTM
    the NumPy loop can run, that loop on its weights (the same tunes, no tracing), not a
    TuneSampler, which would then compile its loop in the background for calls that never
    come, and hold the process at exit until it is done."""
    from tfcreative.music.sampler import numpy_twin, runs_on_numpy

    twin = numpy_twin(model) if runs_on_numpy(model) else None
    return sampler_for(model if twin is None else twin)
