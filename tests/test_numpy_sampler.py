"""The NumPy sampler (the command line's light path) against TuneSampler: the same random
numbers bit for bit, the same LSTM outputs within float32 rounding, the same tunes for the same
seeds, free, meter- and form-aware, on a tiny trained model and on the folk preset."""

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import compiled_sampler, keras_only_copy, rewritten
from tfcreative.errors import InvalidArgument, WrongModelType
from tfcreative.model_checks import weights_by_path
from tfcreative.music import numpy_sampler
from tfcreative.music.numpy_lstm import NumpyMusicLSTM
from tfcreative.music.numpy_sampler import NumpySampler
from tfcreative.music.sampler import per_row_uniform, sample_next

CONSTRAINTS = (None, "meter", "form")


def numpy_twin(model) -> NumpyMusicLSTM:
    return NumpyMusicLSTM.from_arrays(model.get_config(), {
        path: variable.numpy() for path, variable in weights_by_path(model, "model").items()})


def test_the_random_numbers_are_tensorflows_bit_for_bit():
    row_seeds = np.array([0, 1, 7, 2**32 + 5, 2**40 + 2**33 + 9, 2**63 - 1], np.int64)
    for step in (0, 1, 999, 2**31 - 1):
        ours = numpy_sampler.per_row_uniform(row_seeds, step, 97)
        theirs = per_row_uniform(tf.constant(row_seeds), tf.constant(step), 97).numpy()
        assert ours.dtype == np.float32 and np.array_equal(ours, theirs), step


@pytest.mark.parametrize("temperature, top_k", [(1.0, 0), (0.7, 5), (1.3, 1), (1.0, 500)])
def test_a_draw_is_tensorflows_for_the_same_logits(temperature, top_k):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(16, 40)).astype(np.float32) * 3
    row_seeds = np.arange(100, 116, dtype=np.int64)
    for step in range(20):
        ours = numpy_sampler.sample_next(logits.copy(), row_seeds, step, temperature, top_k)
        theirs = sample_next(tf.constant(logits), tf.constant(row_seeds), tf.constant(step),
                             tf.constant(temperature, tf.float32), top_k).numpy()
        assert ours.tolist() == theirs.tolist(), step


def test_the_lstm_gives_the_models_logits_within_float32_rounding(trained_tiny_model,
                                                                  irish_vocabulary):
    ids = irish_vocabulary.encode("X:1\nT:The Kesh\nM:6/8\nK:G\n|:GAG GAB|")[None, :]
    ids = np.tile(ids, (3, 1))
    logits, _ = trained_tiny_model.forward(tf.constant(ids))
    ours, _ = numpy_twin(trained_tiny_model).forward(ids)
    np.testing.assert_allclose(ours, logits.numpy()[:, -1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("constrain", CONSTRAINTS)
def test_the_same_tunes_as_tune_sampler_on_a_tiny_model(trained_tiny_model, constrain):
    """Two layers (the first from its input table, the second multiplying), batches of one
    and of many, temperature and top-k."""
    ours, theirs = (NumpySampler(numpy_twin(trained_tiny_model)),
                    compiled_sampler(trained_tiny_model))
    for kwargs in ({"num_tunes": 1, "seed": 3}, {"num_tunes": 6, "seed": 40,
                                                  "temperature": 0.8, "top_k": 12}):
        expected = theirs.generate(max_length=300, constrain=constrain, **kwargs)
        assert ours.generate(max_length=300, constrain=constrain, **kwargs) == expected


def test_controls_and_their_errors_are_tune_samplers(trained_tiny_model):
    ours, theirs = (NumpySampler(numpy_twin(trained_tiny_model)),
                    compiled_sampler(trained_tiny_model))
    kwargs = {"num_tunes": 3, "seed": 8, "max_length": 300, "constrain": "form", "key": "D",
              "tune_type": "jig", "title": "Test", "parts": 3, "chord_symbols": True}
    assert ours.generate(**kwargs) == theirs.generate(**kwargs)
    with pytest.raises(InvalidArgument, match="^parts: needs constrain='form'"):
        ours.generate(parts=2, constrain="meter")
    with pytest.raises(InvalidArgument, match="^top_k: "):
        ours.generate(top_k=-1)


def test_a_preset_of_another_class_is_refused_by_name():
    with pytest.raises(WrongModelType):
        NumpyMusicLSTM.from_preset("synthetic_facades")


@pytest.mark.slow
@pytest.mark.parametrize("constrain", CONSTRAINTS)
def test_the_same_tunes_as_tune_sampler_on_the_folk_preset(constrain):
    """The shipped model, as `tfcreative music generate` runs it (defaults: 1000 characters at
    most, temperature 1), 8 tunes: none differs (float32 rounding could flip a draw where two
    noisy logits tie within a rounding; that has not happened on these seeds)."""
    from tfcreative.music.model import MusicLSTM

    model = MusicLSTM.from_preset("folk")
    ours = NumpySampler(NumpyMusicLSTM.from_preset("folk")).generate(
        num_tunes=8, seed=0, constrain=constrain)
    theirs = compiled_sampler(model).generate(num_tunes=8, seed=0, constrain=constrain)
    differing = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
    assert differing == [], differing


def test_weights_other_than_the_config_describes_are_refused(trained_tiny_model):
    """The command line then loads the preset with Keras, whose loader names the problem."""
    config = trained_tiny_model.get_config()
    arrays = {path: variable.numpy()
              for path, variable in weights_by_path(trained_tiny_model, "model").items()}
    bias = next(path for path in arrays if path.endswith("logits/bias"))
    broken = {"missing": {k: v for k, v in arrays.items() if k != bias},
              "extra": {**arrays, "extra": np.zeros(2, np.float32)},
              "misshapen": {**arrays, bias: arrays[bias][:-1]},
              "nan": {**arrays, bias: np.full_like(arrays[bias], np.nan)}}
    for name, edited in broken.items():
        with pytest.raises(InvalidArgument) as error:
            NumpyMusicLSTM.from_arrays(config, edited)
        assert error.value.argument == "preset", name
    with pytest.raises(InvalidArgument, match="not a MusicLSTM's"):
        NumpyMusicLSTM.from_arrays({**config, "lstm_units": "many"}, arrays)


@pytest.fixture(scope="module")
def tiny_keras_file(trained_tiny_model, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("keras_file") / "tiny.keras")
    trained_tiny_model.save(path)
    return path


@pytest.mark.parametrize("constrain", CONSTRAINTS)
def test_a_keras_file_runs_on_numpy_with_tune_samplers_tunes(tiny_keras_file, constrain):
    """`music generate --model x.keras` (or a run directory): the weights read with h5py are
    the model's exactly, and the tunes are TuneSampler's on the model Keras loads."""
    from tfcreative.music import load_model
    from tfcreative.music.generation_model import load_for_generation, runs_on_numpy

    assert runs_on_numpy(tiny_keras_file)
    ours, keras_model = load_for_generation(tiny_keras_file), load_model(tiny_keras_file)
    assert isinstance(ours, NumpyMusicLSTM)
    twin = numpy_twin(keras_model)
    for name in ("input_table", "logits_kernel", "logits_bias"):
        assert np.array_equal(getattr(ours, name), getattr(twin, name)), name
    for layer, twin_layer in zip(ours.layers, twin.layers, strict=True):
        for name in ("kernel", "recurrent_kernel", "bias"):
            assert np.array_equal(getattr(layer, name), getattr(twin_layer, name)), name
    for kwargs in ({"num_tunes": 1, "seed": 5}, {"num_tunes": 5, "seed": 70,
                                                  "temperature": 0.9, "top_k": 10}):
        expected = compiled_sampler(keras_model).generate(max_length=300, constrain=constrain,
                                                     **kwargs)
        assert NumpySampler(ours).generate(max_length=300, constrain=constrain,
                                           **kwargs) == expected


def test_a_keras_file_numpy_does_not_run_as_keras_would_loads_with_keras(tiny_keras_file,
                                                                         tmp_path):
    """Another class (or a subclass), another dtype policy, weights laid out otherwise or
    unreadable: Keras's loader takes the file (and says what is wrong with it)."""
    import json
    import zipfile

    from tfcreative.music.generation_model import load_for_generation, runs_on_numpy
    from tfcreative.music.model import MusicLSTM

    with zipfile.ZipFile(tiny_keras_file) as archive:
        config = json.loads(archive.read("config.json"))
    subclass = {**config, "class_name": "MyLSTM", "registered_name": "mine>MyLSTM"}
    assert not runs_on_numpy(rewritten(tiny_keras_file, tmp_path / "subclass.keras",
                                       config_json=json.dumps(subclass)))
    mixed = json.loads(json.dumps(config))
    mixed["config"]["dtype"]["config"]["name"] = "mixed_bfloat16"
    path = rewritten(tiny_keras_file, tmp_path / "mixed.keras", config_json=json.dumps(mixed))
    assert runs_on_numpy(path) and isinstance(load_for_generation(path), MusicLSTM)

    path = keras_only_copy(tiny_keras_file, tmp_path / "extra.keras")
    with pytest.raises(InvalidArgument, match="not laid out as a MusicLSTM's"):
        NumpyMusicLSTM.from_keras_file(path)
    assert isinstance(load_for_generation(path), MusicLSTM)

    path = rewritten(tiny_keras_file, tmp_path / "damaged.keras", weights=b"not HDF5")
    with pytest.raises(InvalidArgument, match="no readable model.weights.h5"):
        NumpyMusicLSTM.from_keras_file(path)
    with pytest.raises(InvalidArgument, match="Keras can load") as error:
        load_for_generation(path)  # Keras's loader, in its own words
    assert error.value.argument == "path"
