"""Presets: trained models by name or folder (keras-hub's from_preset), float16 storage, the
command line's --model, and the presets shipped in the package."""

import hashlib
import json
import os
import shutil

import keras
import numpy as np
import pytest

from experiments.presets import RECIPES, data_arguments
from tests.conftest import make_tiny_model, random_ids
from tests.test_pix2pix_model import pairs, tiny_pix2pix
from tfcreative import presets
from tfcreative.cli.main import main
from tfcreative.errors import InvalidArgument, WrongModelType
from tfcreative.music.model import MusicLSTM
from tfcreative.music.vocabulary import CharVocabulary
from tfcreative.pix2pix.model import Pix2Pix

VOCAB = CharVocabulary("X:1\nT:M4/L8K D|abcdefgABCDEFG ")


@pytest.fixture(scope="module")
def music_preset(tmp_path_factory):
    model = make_tiny_model(VOCAB, units=16)
    folder = presets.save_preset(model, str(tmp_path_factory.mktemp("p") / "tiny-folk"),
                                 "a tiny test model", recipe={"steps": 0})
    return model, folder


def test_a_preset_round_trips_in_float16(music_preset):
    model, folder = music_preset
    assert sorted(os.listdir(folder)) == ["config.json", "metadata.json", "weights.npz"]
    assert presets.read_metadata(folder)["recipe"] == {"steps": 0}
    loaded = MusicLSTM.from_preset(folder)
    assert loaded.optimizer is not None  # compiled, ready to train further
    for original, restored in zip(model.get_weights(), loaded.get_weights(), strict=True):
        assert restored.dtype == np.float32
        np.testing.assert_array_equal(restored, original.astype(np.float16).astype(np.float32))
    ids = random_ids(VOCAB, (2, 9))
    np.testing.assert_allclose(loaded(ids), model(ids), atol=2e-2)


def test_float32_presets_are_exact_and_pix2pix_loads_as_pix2pix(tmp_path):
    model = tiny_pix2pix(size=16)
    folder = presets.save_preset(model, str(tmp_path / "facades"), "test", precision="float32")
    loaded = Pix2Pix.from_preset(folder)
    x, _ = pairs(2, 16)
    np.testing.assert_array_equal(loaded(x), model(x))
    with pytest.raises(WrongModelType, match="holds a Pix2Pix model, not a MusicLSTM") as error:
        MusicLSTM.from_preset(folder)
    assert (error.value.argument, error.value.found) == ("preset", "Pix2Pix")
    with pytest.raises(WrongModelType, match="holds a MusicLSTM model, not a Pix2Pix"):
        Pix2Pix.from_preset("folk")


def test_the_command_line_takes_a_preset_for_a_model(music_preset, tmp_path, capsys):
    _, folder = music_preset
    assert main(["music", "generate", "--model", folder, "--num-tunes", "2", "--max-length",
                 "30", "--no-midi", "--out-dir", str(tmp_path / "tunes")]) == 0
    assert sorted(os.listdir(tmp_path / "tunes")) == ["tune_01.abc", "tune_02.abc"]
    assert main(["pix2pix", "translate", "--model", folder, str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"tfcreative: error: --model: {folder}: holds a MusicLSTM model, not a Pix2Pix; use it "
        "with `tfcreative music generate | evaluate | train --from-model`")
    assert main(["music", "generate", "--model", "no-such-preset"]) == 2
    assert "no such file, run directory or preset" in capsys.readouterr().err


SHIPPED = {"folk": MusicLSTM, "synthetic_facades": Pix2Pix}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_shipped_presets_load_by_name_and_fit_in_10_mb(name):
    assert set(presets.list_presets()) == set(SHIPPED)
    folder = presets.preset_folder(name)
    size = sum(os.path.getsize(os.path.join(root, f))
               for root, _, files in os.walk(folder) for f in files)
    assert size <= 10_000_000, f"{name}: {size:,} bytes"
    assert {"config.json", "metadata.json", "weights.npz", "tfjs"} <= set(os.listdir(folder))
    metadata = presets.read_metadata(name)
    assert set(metadata["sha256"]) == {"config.json", "weights.npz"}
    assert metadata["recipe"]["command"] == f"python -m experiments.presets {name}"
    # the data its recipe trained on, which `music evaluate` scores it on by default
    assert metadata["data"] == data_arguments(RECIPES[name]["train"])
    assert metadata["evaluation"]  # measured on the test split when it was made
    model = SHIPPED[name].from_preset(name)
    assert isinstance(model, SHIPPED[name])
    with np.load(os.path.join(folder, "weights.npz")) as stored:  # named, not by position
        assert sorted(stored.files) == sorted(w.path for w in model.weights)
        assert {stored[key].dtype for key in stored.files} == {np.dtype("float16")}


def test_tunes_of_a_preset_go_to_the_current_folder_not_into_a_folder_of_its_name(
        tmp_path, monkeypatch, music_preset):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folk").mkdir()  # the user's own folder, named like the preset
    for model in ("folk", music_preset[1]):
        assert main(["music", "generate", "--model", model, "--num-tunes", "1",
                     "--max-length", "20", "--no-midi"]) == 0
    assert os.listdir(tmp_path / "folk") == []
    assert "tunes" not in os.listdir(music_preset[1])
    # both runs wrote ./tunes, the second numbering on from the first's tune
    assert sorted(os.listdir(tmp_path / "tunes")) == ["tune_01.abc", "tune_02.abc"]


def test_generate_without_a_model_uses_the_folk_preset(tmp_path):
    assert main(["music", "generate", "--num-tunes", "2", "--max-length", "200", "--no-midi",
                 "--out-dir", str(tmp_path)]) == 0
    tunes = [open(tmp_path / name).read() for name in sorted(os.listdir(tmp_path))]
    assert len(tunes) == 2 and all("\nX:1\nT:" in t for t in tunes)


def test_serve_without_models_serves_the_presets_tf_js_models():
    import json
    import threading
    import urllib.request

    from tfcreative.cli.serve import MUSIC_PRESET, PIX2PIX_PRESET, _preset_tfjs
    from tfcreative.serve import make_server

    server = make_server("127.0.0.1", 0, {"music": _preset_tfjs(MUSIC_PRESET),
                                          "pix2pix": _preset_tfjs(PIX2PIX_PRESET)})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        for kind in ("music", "pix2pix"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/models/{kind}/model.json") as r:
                assert json.load(r)["format"] == "graph-model"
    finally:
        server.shutdown()
        server.server_close()


def test_the_recipes_are_commands_the_cli_accepts():
    from tfcreative.cli.main import build_parser

    for name, recipe in RECIPES.items():
        args = build_parser().parse_args([*recipe["train"], "--minutes", "1"])
        assert args.seed == 0, name
    # the shipped presets were made by these recipes
    for name in SHIPPED:
        assert presets.read_metadata(name)["recipe"]["train"].startswith(
            " ".join(["tfcreative", *RECIPES[name]["train"]]))


def test_the_next_folk_recipe_is_a_command_the_cli_accepts(tmp_path):
    """`python -m experiments.presets folk --next`: the clean, transposed data, a step budget,
    and the size `experiments.folk_preset sizes` chose when its results are there."""
    from experiments.presets import NEXT_FOLK, next_folk_recipe, next_folk_size
    from tfcreative.cli.main import build_parser

    args = build_parser().parse_args(next_folk_recipe()["train"])
    assert args.collection == "combined_clean_transposed" and args.seed == 0
    assert args.epochs * args.steps_per_epoch == NEXT_FOLK["steps"] and args.minutes is None
    chosen = {"embedding_dim": 256, "lstm_units": 768, "num_layers": 1, "dropout": 0.2,
              "weight_decay": 0.0}
    (tmp_path / "results.json").write_text(json.dumps({"chosen": {"size": chosen}}))
    assert next_folk_size(str(tmp_path / "results.json")) == chosen
    args = build_parser().parse_args(next_folk_recipe(chosen)["train"])
    assert (args.lstm_units, args.dropout) == (768, 0.2)


def test_every_size_the_sizes_part_can_choose_becomes_the_same_train_command():
    """Each variant of `experiments.folk_preset sizes`, chosen, is trained by `presets folk
    --next` with every setting it was measured with (the learning-rate decay too)."""
    from experiments.folk_preset import SIZES
    from experiments.presets import next_folk_config, next_folk_recipe
    from tfcreative.cli.main import build_parser

    for size in SIZES.values():
        args = vars(build_parser().parse_args(next_folk_recipe(size)["train"]))
        config = next_folk_config(size)
        assert {name: args[name] for name in size} == size
        assert args["decay_to"] == config.decay_to
    assert any("decay_to" in size for size in SIZES.values())
    assert any(size.get("seq_length") == 400 for size in SIZES.values())


def test_the_chosen_sizes_run_is_the_presets_training_run_only_with_the_recipes_settings(
        tmp_path, monkeypatch, tfds_dir, irish_builder):
    """`presets folk --next` makes the preset of the run `folk_preset sizes` chose, not
    training it twice, when that run is finished and has every setting of the recipe."""
    import argparse

    from experiments import folk_preset
    from experiments import presets as recipes

    for key, value in {"collection": "irish_folk", "steps": 2, "every": 2}.items():
        monkeypatch.setitem(recipes.NEXT_FOLK, key, value)  # a tiny recipe, data at hand
    size = {"embedding_dim": 4, "lstm_units": 8, "num_layers": 1, "dropout": 0.0,
            "weight_decay": 0.0}
    run = tmp_path / "variant_0"
    folk_preset.train_variant(str(run), size, "irish_folk",
                              argparse.Namespace(steps=2, data_dir=tfds_dir))
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"chosen": {"size": size, "run": str(run)}}))
    assert recipes.chosen_run(str(results)) == str(run)

    monkeypatch.setitem(recipes.NEXT_FOLK, "steps", 4)  # the recipe changed since
    assert recipes.chosen_run(str(results)) is None
    monkeypatch.setitem(recipes.NEXT_FOLK, "steps", 2)
    (run / "model.keras").unlink()  # not finished
    assert recipes.chosen_run(str(results)) is None


@pytest.mark.slow
def test_presets_folk_next_makes_the_preset_of_the_chosen_run(tmp_path, monkeypatch, tfds_dir,
                                                             irish_builder):
    """`python -m experiments.presets folk --next --sizes-results PATH`, end to end on a tiny
    recipe: the chosen run is not trained again; the package's own evaluation runs on it; the
    preset folder (with its TF.js model) loads and records where it came from."""
    import argparse

    from experiments import folk_preset
    from experiments import presets as recipes

    for key, value in {"collection": "irish_folk", "steps": 2, "every": 2}.items():
        monkeypatch.setitem(recipes.NEXT_FOLK, key, value)
    monkeypatch.setattr(recipes, "EVALUATION", {"num_tunes": 2, "max_length": 60,
                                                "temperatures": ("1.0",),
                                                "constraints": ("none", "meter")})
    size = {"embedding_dim": 4, "lstm_units": 8, "num_layers": 1, "dropout": 0.0,
            "weight_decay": 0.0}
    run = tmp_path / "sizes" / "variant_0"
    folk_preset.train_variant(str(run), size, "irish_folk",
                              argparse.Namespace(steps=2, data_dir=tfds_dir))
    history = (run / "history.csv").read_text()
    results = tmp_path / "sizes" / "results.json"
    results.write_text(json.dumps({"chosen": {"size": size, "run": str(run)}}))

    assert recipes.main(["folk", "--next", "--sizes-results", str(results), "--data-dir",
                         tfds_dir, "--work", str(tmp_path / "work"),
                         "--out", str(tmp_path / "presets")]) == 0
    assert (run / "history.csv").read_text() == history  # not trained again
    folder = tmp_path / "presets" / "folk"
    assert sorted(os.listdir(folder)) == ["config.json", "metadata.json", "tfjs",
                                          "weights.npz"]
    assert (folder / "tfjs" / "model.json").is_file()
    model = MusicLSTM.from_preset(str(folder))
    assert model.lstm_units == 8
    metadata = presets.read_metadata(str(folder))
    assert metadata["recipe"]["command"] == "python -m experiments.presets folk --next"
    assert metadata["recipe"]["training_seconds"] is None and metadata["recipe"]["steps"] == 2
    assert "--collection irish_folk" in metadata["recipe"]["train"]
    assert metadata["data"] == {"collection": "irish_folk"}
    evaluation = metadata["evaluation"]
    assert set(evaluation) == {"T=1.0 none", "T=1.0 meter", "test bits/char per collection"}
    assert evaluation["T=1.0 meter"]["generated"]["num_tunes"] == 2, evaluation
    assert evaluation["T=1.0 meter"]["constrain"] == "meter", evaluation
    per_collection = evaluation["test bits/char per collection"]
    assert list(per_collection) == ["irish_folk"], per_collection
    scores = per_collection["irish_folk"]
    # (2 steps: no context to use yet; that whole tunes score lower: test_evaluation)
    assert 0 < scores["bits_per_char_whole_tunes"] <= scores["bits_per_char"] + 0.01, scores


# -- what a preset folder is checked for ----------------------------------------------------

def copy_of(folder, tmp_path, name="preset"):
    return shutil.copytree(folder, tmp_path / name)


def edit_arrays(folder, edit):
    with np.load(folder / "weights.npz") as stored:
        arrays = {key: stored[key] for key in stored.files}
    edit(arrays)
    np.savez(folder / "weights.npz", **arrays)


def edit_config(folder, edit):
    config = json.loads((folder / "config.json").read_text())
    edit(config["config"])
    (folder / "config.json").write_text(json.dumps(config))


def resign(folder):
    """New checksums, as a user who edits a preset on purpose would write them: so what is
    checked next is the files' content, not their checksum."""
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata["sha256"] = {name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
                          for name in ("config.json", "weights.npz")}
    (folder / "metadata.json").write_text(json.dumps(metadata))


def load_error(folder, capsys) -> str:
    """load_preset's error, checked to be the CLI's one line (exit 2, --model) too."""
    with pytest.raises(InvalidArgument) as error:
        presets.load_preset(str(folder))
    assert error.value.argument == "preset"
    assert main(["music", "generate", "--model", str(folder), "--no-midi"]) == 2
    assert capsys.readouterr().err == f"tfcreative: error: --model: {error.value.detail}\n"
    return error.value.detail


def test_save_preset_writes_only_its_own_files_and_refuses_a_folder_of_others(
        music_preset, tmp_path, monkeypatch):
    model = make_tiny_model(VOCAB, units=16)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.png").write_bytes(b"png")
    for folder in (".", str(tmp_path), str(tmp_path / "photos")):
        with pytest.raises(InvalidArgument, match="holds files and is not a preset"):
            presets.save_preset(model, folder, "x")
    assert sorted(os.listdir(tmp_path)) == ["notes.txt", "photos"]
    assert os.listdir(tmp_path / "photos") == ["a.png"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidArgument, match="exists and is not a folder"):
        presets.save_preset(model, "file", "x")
    # an empty folder, and over a preset: only the three files are written
    (tmp_path / "empty").mkdir()
    presets.save_preset(model, "empty", "x")
    preset = copy_of(music_preset[1], tmp_path)
    (preset / "tfjs").mkdir()
    (preset / "README.txt").write_text("the user's own")
    presets.save_preset(model, str(preset), "written again", precision="float32")
    assert sorted(os.listdir(preset)) == ["README.txt", "config.json", "metadata.json",
                                          "tfjs", "weights.npz"]
    assert presets.read_metadata(str(preset))["precision"] == "float32"
    ids = random_ids(VOCAB, (2, 9))
    for folder in ("empty", str(preset)):
        np.testing.assert_allclose(presets.load_preset(folder)(ids), model(ids), atol=2e-2)


def test_a_crash_while_saving_leaves_the_previous_preset(music_preset, tmp_path,
                                                         monkeypatch):
    preset = copy_of(music_preset[1], tmp_path)
    before = {name: (preset / name).read_bytes() for name in os.listdir(preset)}

    def crash(path, **arrays):
        open(path, "wb").write(b"half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", crash)
    with pytest.raises(OSError, match="disk full"):
        presets.save_preset(make_tiny_model(VOCAB, units=16, seed=1), str(preset), "x")
    assert {name: (preset / name).read_bytes() for name in os.listdir(preset)} == before
    presets.load_preset(str(preset))


@keras.saving.register_keras_serializable(package="tests")
class TwoBranches(keras.Model):
    """a(x) - b(x), its layers set in either order: the order of its weights."""

    def __init__(self, order="ab", **kwargs):
        super().__init__(**kwargs)
        self.order = order
        for name in order:
            setattr(self, name, keras.layers.Dense(4, name=name))
            getattr(self, name).build((None, 4))

    def call(self, x):
        return self.a(x) - self.b(x)

    def get_config(self):
        return {**super().get_config(), "order": self.order}


def test_weights_are_matched_by_path_not_by_position(tmp_path):
    keras.utils.set_random_seed(0)
    model = TwoBranches("ab", name="two_branches")
    folder = tmp_path / "branches"
    presets.save_preset(model, str(folder), "test", precision="float32")
    edit_config(folder, lambda config: config.update(order="ba"))  # b's weights come first
    resign(folder)
    loaded = presets.load_preset(str(folder))
    assert [w.path for w in loaded.weights] == ["b/kernel", "b/bias", "a/kernel", "a/bias"]
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    np.testing.assert_array_equal(loaded(x), model(x))


def test_swapped_arrays_or_an_edited_vocabulary_are_refused_by_the_checksum(tmp_path, capsys):
    model = make_tiny_model(VOCAB, units=8)  # the LSTM's two kernels have one shape: (8, 32)
    folder = tmp_path / "preset"
    presets.save_preset(model, str(folder), "test")
    swapped, edited = copy_of(folder, tmp_path, "swapped"), copy_of(folder, tmp_path, "edited")
    with np.load(folder / "weights.npz") as stored:  # so only the checksum can tell
        kernel, recurrent = [key for key in stored.files if stored[key].shape == (8, 32)]
    edit_arrays(swapped, lambda a: a.update({kernel: a[recurrent], recurrent: a[kernel]}))
    edit_config(edited, lambda config: config["vocabulary"].update(
        characters=config["vocabulary"]["characters"][::-1]))
    for preset, file in ((swapped, "weights.npz"), (edited, "config.json")):
        assert load_error(preset, capsys) == (
            f"{preset / file}: changed or damaged since the preset was written (its sha256 is "
            "not the one metadata.json records)")
    metadata = json.loads((folder / "metadata.json").read_text())
    del metadata["sha256"]  # e.g. a folder written by an older tfcreative
    (folder / "metadata.json").write_text(json.dumps(metadata))
    assert "metadata.json: records no sha256 of config.json and weights.npz" in \
        load_error(folder, capsys)


def last(arrays):
    return list(arrays)[-1]  # the model's last weight: the logits' bias


def of_shape(arrays, shape):
    return next(key for key, array in arrays.items() if array.shape == shape)


def test_a_missing_misshapen_or_non_finite_weight_is_named_with_its_file(music_preset, tmp_path,
                                                                         capsys):
    model, original = music_preset
    logits = f"{model.name}/logits/bias"
    kernel = f"{model.name}/lstm_0/lstm_cell/kernel"  # of shape (8, 64)
    cases = {
        "missing": (lambda a: a.pop(last(a)), None,
                    f"no array for the model's weight {logits}; it holds 5 arrays, the model "
                    "has 6 weights"),
        "unknown": (lambda a: a.update(extra=np.zeros(2, np.float16)), None,
                    "an array for no weight of the model in config.json: extra; it holds 7 "
                    "arrays, the model has 6 weights"),
        "misshapen": (None, lambda config: config.update(lstm_units=8),
                      f"{kernel} has shape (8, 64), the model in config.json (8, 32)"),
        "nan": (lambda a: a[of_shape(a, (8, 64))].__setitem__((0, 0), np.nan), None,
                f"weight {kernel} holds NaN or Inf values (a diverged or damaged model)"),
        "inf": (lambda a: a[last(a)].__setitem__(0, np.inf), None,
                f"weight {logits} holds NaN or Inf values (a diverged or damaged model)"),
    }
    for name, (arrays, config, message) in cases.items():
        folder = copy_of(original, tmp_path, name)
        if arrays:
            edit_arrays(folder, arrays)
        if config:
            edit_config(folder, config)
        resign(folder)
        assert load_error(folder, capsys) == f"{folder / 'weights.npz'}: {message}", name


def test_a_model_with_non_finite_weights_is_not_saved(tmp_path):
    model = make_tiny_model(VOCAB, units=8)
    bias = model.logits.bias
    bias.assign(np.full(bias.shape, 1e6, "float32"))  # beyond float16's ±65504
    with pytest.raises(InvalidArgument, match=f"{bias.path} has values beyond float16's range"):
        presets.save_preset(model, str(tmp_path / "a"), "x")
    bias.assign(np.full(bias.shape, np.nan, "float32"))
    with pytest.raises(InvalidArgument, match=f"{bias.path} holds NaN or Inf"):
        presets.save_preset(model, str(tmp_path / "b"), "x", precision="float32")
    assert os.listdir(tmp_path) == []


def test_a_preset_too_large_for_memory_is_one_line(music_preset, tmp_path, capsys):
    # 4e15 LSTM gates: more bytes than any address space, so TensorFlow refuses at once,
    # even where memory is overcommitted; nothing is allocated.
    folder = copy_of(music_preset[1], tmp_path)
    edit_config(folder, lambda config: config.update(lstm_units=1e15))
    resign(folder)
    assert load_error(folder, capsys) == (
        f"{folder / 'config.json'}: the model it describes does not fit in memory (a weight of "
        "shape [8, 4000000000000000] alone): is its config edited or damaged?")
