"""Presets: trained models by name or folder (keras-hub's from_preset), float16 storage, the
command line's --model, and the presets shipped in the package."""

import os

import numpy as np
import pytest

from experiments.presets import RECIPES, data_arguments
from tests.conftest import make_tiny_model, random_ids
from tests.test_pix2pix_model import pairs, tiny_pix2pix
from tfcreative import presets
from tfcreative.cli.main import main
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
    with pytest.raises(ValueError, match="holds a Pix2Pix model, not a MusicLSTM"):
        MusicLSTM.from_preset(folder)


def test_the_command_line_takes_a_preset_for_a_model(music_preset, tmp_path, capsys):
    _, folder = music_preset
    assert main(["music", "generate", "--model", folder, "--num-tunes", "2", "--max-length",
                 "30", "--no-midi", "--out-dir", str(tmp_path / "tunes")]) == 0
    assert sorted(os.listdir(tmp_path / "tunes")) == ["tune_01.abc", "tune_02.abc"]
    assert main(["pix2pix", "translate", "--model", folder, str(tmp_path)]) == 2
    assert "holds a MusicLSTM model, not a Pix2Pix" in capsys.readouterr().err
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
    assert metadata["recipe"]["command"] == f"python -m experiments.presets {name}"
    # the data its recipe trained on, which `music evaluate` scores it on by default
    assert metadata["data"] == data_arguments(RECIPES[name]["train"])
    assert metadata["evaluation"]  # measured on the test split when it was made
    model = SHIPPED[name].from_preset(name)
    assert isinstance(model, SHIPPED[name])


def test_tunes_of_a_preset_go_to_the_current_folder_not_into_a_folder_of_its_name(
        tmp_path, monkeypatch, music_preset):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folk").mkdir()  # the user's own folder, named like the preset
    for model in ("folk", music_preset[1]):
        assert main(["music", "generate", "--model", model, "--num-tunes", "1",
                     "--max-length", "20", "--no-midi"]) == 0
    assert os.listdir(tmp_path / "folk") == []
    assert "tunes" not in os.listdir(music_preset[1])
    assert os.listdir(tmp_path / "tunes") == ["tune_01.abc"]


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
