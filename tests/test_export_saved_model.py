"""SavedModel export: every signature of both models runs under the four loaders a deployer
uses (Python's object loader, TF Serving's session loader, `saved_model_cli run`, and the C++
`LoadSavedModel` TF Serving is built on, through the C API), in processes that cannot import
tfcreative, and gives what the Keras model gives; so do both shipped presets' exports under the
C++ loader. Also: TF Serving's layout, atomic versions, the warm-up file, and only serving
weights in the checkpoint."""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import compiled_sampler, make_tiny_model
from tests.serving_loaders import LOADER_PARAMS, LoaderError, needs_gcc, run_requests
from tests.test_pix2pix_model import tiny_pix2pix
from tfcreative import presets
from tfcreative.cli.main import main
from tfcreative.datasets.pix2pix import synthetic_facades
from tfcreative.export import warmup
from tfcreative.export.saved_model import export_saved_model
from tfcreative.music.vocabulary import CharVocabulary
from tfcreative.pix2pix.translate import translate_image

VOCAB = CharVocabulary("X:1\nT:abcdefgABCDEFG|2/ é")
# with the characters of a whole tune's header and bar lines (the form's signature)
FORM_VOCAB = CharVocabulary("X:1\nT:abcdefgABCDEFG|2/ éML468K:]R jigor")
LAYERS, UNITS = 2, 16


def signature_names(path: str) -> list[str]:
    from tensorflow.python.saved_model import loader_impl

    meta_graph = loader_impl.parse_saved_model(path).meta_graphs[0]
    return sorted(k for k in meta_graph.signature_def if not k.startswith("__"))


def fit_briefly(model, x, y):
    """One optimizer step, so the optimizer has state the export must leave out."""
    model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)


@pytest.fixture(scope="module")
def music(tmp_path_factory):
    model = make_tiny_model(FORM_VOCAB, layers=LAYERS, units=UNITS)
    ids = np.random.default_rng(0).integers(1, FORM_VOCAB.size, (4, 11)).astype("int32")
    fit_briefly(model, ids[:, :-1], ids[:, 1:])
    return model, export_saved_model(model, str(tmp_path_factory.mktemp("serving")))


@pytest.fixture(scope="module")
def pix2pix(tmp_path_factory):
    from tests.test_pix2pix_model import pairs

    model = tiny_pix2pix(size=32)
    fit_briefly(model, *pairs(n=2))
    base = tmp_path_factory.mktemp("serving")
    return model, export_saved_model(model, str(base), name="facades", version=7)


def test_tf_serving_layout(music, pix2pix):
    assert music[1].endswith(os.path.join("music", "1"))
    assert pix2pix[1].endswith(os.path.join("facades", "7"))
    for _, path in (music, pix2pix):
        assert {"saved_model.pb", "variables", "assets.extra"} <= set(os.listdir(path))
    # Music's first signature, generate, is also the default TF Serving uses without a name.
    assert signature_names(music[1]) == ["generate", "generate_form", "generate_meter",
                                         "serving_default", "step"]
    assert signature_names(pix2pix[1]) == ["serving_default", "translate_png"]


MUSIC_GENERATE = {"seed_text": np.array(b"X:1\nT:", dtype=object), "num_tunes": np.int32(3),
                  "max_length": np.int32(60), "temperature": np.float32(0.9),
                  "random_seed": np.int64(11)}
MUSIC_FORM = {**MUSIC_GENERATE, "max_length": np.int32(400), "parts": np.int32(1),
              "key": np.array(b"Ador", dtype=object), "meter": np.array(b"", dtype=object),
              "tune_type": np.array(b"jig", dtype=object), "chord_symbols": np.bool_(False),
              "repeats": np.bool_(True)}


@pytest.fixture(scope="module")
def music_expected(music):
    """What the Keras model itself gives for MUSIC_GENERATE and MUSIC_FORM (free, meter-aware,
    form-aware), computed once for all the loaders (lists of Tunes: read, never changed)."""
    sampler = compiled_sampler(music[0])  # the compiled loop is the reference
    common = {"num_tunes": 3, "temperature": 0.9, "seed": 11}
    return {
        "generate": sampler.generate("X:1\nT:", max_length=60, **common),
        "meter": sampler.generate("X:1\nT:", max_length=60, constrain="meter", **common),
        "form": sampler.generate("X:1\nT:", max_length=400, constrain="form", parts=1,
                                 key="Ador", tune_type="jig", **common)}


@pytest.mark.parametrize("loader", LOADER_PARAMS)
def test_music_signatures_under_every_loader(music, music_expected, loader):
    model, path = music
    ids = np.array([1, 2], np.int32)
    h = np.random.default_rng(1).normal(size=(LAYERS, 2, UNITS)).astype(np.float32)
    c = np.random.default_rng(2).normal(size=(LAYERS, 2, UNITS)).astype(np.float32)
    unknown_seed = {**MUSIC_GENERATE, "seed_text": np.array("X:1\nT:☃".encode(), dtype=object)}
    bad_key = {**MUSIC_FORM, "key": np.array(b"H", dtype=object)}
    generated, default, in_meter, in_form, stepped, refused, no_key = run_requests(
        loader, path, [
            ("generate", MUSIC_GENERATE), ("serving_default", MUSIC_GENERATE),
            ("generate_meter", MUSIC_GENERATE), ("generate_form", MUSIC_FORM),
            ("step", {"ids": ids, "h": h, "c": c}), ("generate", unknown_seed),
            ("generate_form", bad_key)])

    expected = music_expected["generate"]
    assert [s.decode() for s in generated["abc"]] == [t.abc for t in expected]
    assert generated["complete"].tolist() == [t.complete for t in expected]
    assert [s.decode() for s in default["abc"]] == [t.abc for t in expected]
    metered = music_expected["meter"]
    assert [s.decode() for s in in_meter["abc"]] == [t.abc for t in metered]
    assert in_meter["complete"].tolist() == [t.complete for t in metered]
    assert in_meter["unconstrained"].tolist() == [t.unconstrained_fallback for t in metered]
    formed = music_expected["form"]
    assert [s.decode() for s in in_form["abc"]] == [t.abc for t in formed]
    assert in_form["complete"].tolist() == [t.complete for t in formed]
    assert in_form["unconstrained"].tolist() == [t.unconstrained_fallback for t in formed]
    assert isinstance(no_key, LoaderError) and "key: expected a key such as D" in str(no_key)

    logits, states = model.step(tf.constant(ids), [(h[i], c[i]) for i in range(LAYERS)])
    np.testing.assert_allclose(stepped["logits"], logits.numpy(), atol=1e-5)
    np.testing.assert_allclose(stepped["h"], np.stack([s[0] for s in states]), atol=1e-5)
    np.testing.assert_allclose(stepped["c"], np.stack([s[1] for s in states]), atol=1e-5)

    assert isinstance(refused, LoaderError)
    assert "not trained on" in str(refused)


@pytest.mark.parametrize("loader", LOADER_PARAMS)
def test_pix2pix_signatures_under_every_loader(pix2pix, loader):
    model, path = pix2pix
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    labels, _ = synthetic_facades.facade_pair(0, 0, 48)
    images = [labels[:40, :45], labels]  # any size: each output comes back at its input's size
    pngs = np.array([tf.io.encode_png(i).numpy() for i in images], dtype=object)
    floats, encoded = run_requests(loader, path, [
        ("serving_default", {"input_image": x}), ("translate_png", {"image_bytes": pngs})])

    np.testing.assert_allclose(floats["output_image"], model(x).numpy(), atol=1e-5)
    outputs = [tf.io.decode_png(p).numpy() for p in encoded["output_bytes"]]
    for image, output in zip(images, outputs, strict=True):
        expected = translate_image(model.generator, image.astype(np.float32) / 255.0)
        assert output.shape == expected.shape
        assert np.abs(output.astype(int) - expected.astype(int)).max() <= 1


@needs_gcc
def test_the_cpp_loader_refuses_the_old_tf_module_export(tmp_path):
    """The route export replaced (a tf.Module holding the Keras model, `tf.saved_model.save`)
    loads in Python but not in TF Serving: the C++ loader restores Keras's copies of the
    variables and leaves the ones the graph reads uninitialised."""
    model = make_tiny_model(VOCAB, units=8)
    holder = tf.Module()
    holder.model = model
    holder.logits = tf.function(lambda ids: {"logits": model(ids)},
                                input_signature=[tf.TensorSpec([None, None], tf.int32)])
    tf.saved_model.save(holder, str(tmp_path), signatures={"logits": holder.logits})
    refused, = run_requests("capi", str(tmp_path), [("logits", {"ids": np.ones((1, 3), "int32")})])
    assert isinstance(refused, LoaderError)
    assert str(refused).startswith("FAILED_PRECONDITION: Could not find variable")


@pytest.fixture(scope="module")
def shipped_exports(tmp_path_factory):
    """Both shipped presets exported as a user does (`tfcreative export --model <preset>`)."""
    base = str(tmp_path_factory.mktemp("serving"))
    for preset in ("folk", "synthetic_facades"):
        assert main(["export", "--model", preset, "--base-dir", base, "--name", preset]) == 0
    return {preset: os.path.join(base, preset, "1") for preset in ("folk", "synthetic_facades")}


@pytest.mark.slow
@needs_gcc
def test_the_shipped_presets_under_tf_servings_cpp_loader(shipped_exports):
    """All six signatures of the shipped presets' exports, through the C API loader only (the
    other loaders run the tiny models above)."""
    folk = presets.load_preset("folk")
    request = {**MUSIC_GENERATE, "num_tunes": np.int32(2), "max_length": np.int32(150)}
    ids = np.array([folk.vocabulary.size - 1, 1], np.int32)
    h, c = np.random.default_rng(3).normal(size=(2, 1, 2, folk.lstm_units)).astype(np.float32)
    form_request = {**MUSIC_FORM, "num_tunes": np.int32(2), "max_length": np.int32(150)}
    generated, in_meter, in_form, stepped = run_requests("capi", shipped_exports["folk"], [
        ("generate", request), ("generate_meter", request), ("generate_form", form_request),
        ("step", {"ids": ids, "h": h, "c": c})])
    sampler = compiled_sampler(folk)
    for outputs, constrain, controls in (
            (generated, None, {}), (in_meter, "meter", {}),
            (in_form, "form", {"parts": 1, "key": "Ador", "tune_type": "jig"})):
        expected = sampler.generate("X:1\nT:", num_tunes=2, max_length=150, temperature=0.9,
                                    seed=11, constrain=constrain, **controls)
        assert [s.decode() for s in outputs["abc"]] == [t.abc for t in expected]
        assert outputs["complete"].tolist() == [t.complete for t in expected]
        if constrain:
            assert outputs["unconstrained"].tolist() == [t.unconstrained_fallback
                                                         for t in expected]
    logits, [(h1, c1)] = folk.step(tf.constant(ids), [(h[0], c[0])])
    for key, value in (("logits", logits), ("h", h1[None]), ("c", c1[None])):
        np.testing.assert_allclose(stepped[key], value.numpy(), atol=1e-4)

    facades = presets.load_preset("synthetic_facades")
    x = np.random.default_rng(0).uniform(-1, 1, (1, 256, 256, 3)).astype(np.float32)
    labels, _ = synthetic_facades.facade_pair(0, 0, 300)
    png = np.array([tf.io.encode_png(labels[:200]).numpy()], dtype=object)
    floats, encoded = run_requests("capi", shipped_exports["synthetic_facades"], [
        ("serving_default", {"input_image": x}), ("translate_png", {"image_bytes": png})])
    np.testing.assert_allclose(floats["output_image"], facades.generator(x).numpy(), atol=1e-4)
    output = tf.io.decode_png(encoded["output_bytes"][0]).numpy()
    expected = translate_image(facades.generator, labels[:200].astype(np.float32) / 255.0)
    assert output.shape == expected.shape == (200, 300, 3)
    assert np.abs(output.astype(int) - expected.astype(int)).max() <= 1


@needs_gcc
@pytest.mark.parametrize("kind", ["music", "pix2pix"])
def test_warmup_requests_cover_every_signature_and_run_as_tf_serving_would(kind, request):
    """TF Serving runs the warm-up file's requests through its C++ loader before it serves."""
    _, path = request.getfixturevalue(kind)
    requests = warmup.read_warmup_requests(path)
    signatures = [r.model_spec.signature_name for r in requests]
    named = {"music": ["generate", "generate_meter", "generate_form", "step"],
             "pix2pix": ["serving_default", "translate_png"]}
    assert signatures == named[kind]  # the music default is generate itself
    assert {r.model_spec.name for r in requests} == {os.path.basename(os.path.dirname(path))}
    results = run_requests("capi", path, [
        (r.model_spec.signature_name, {k: tf.make_ndarray(v) for k, v in r.inputs.items()})
        for r in requests])
    assert not [r for r in results if isinstance(r, LoaderError)], results


def checkpoint_variables(path: str) -> dict[str, list[int]]:
    return {name: shape for name, shape in
            tf.train.list_variables(os.path.join(path, "variables", "variables"))
            if name != "_CHECKPOINTABLE_OBJECT_GRAPH"}


def test_only_the_weights_serving_reads_are_saved(music, pix2pix):
    """No optimizer state, no metrics, no discriminator: exactly the served network's weights."""
    for network, path in ((music[0], music[1]), (pix2pix[0].generator, pix2pix[1])):
        saved = sorted(int(np.prod(s)) for s in checkpoint_variables(path).values())
        assert saved == sorted(int(np.prod(w.shape)) for w in network.weights)
    assert music[0].optimizer.variables and pix2pix[0].optimizer.variables


@pytest.fixture
def copied_writes(music, monkeypatch):
    """For the tests of version folders: export_saved_model writes each SavedModel as a copy of
    the `music` fixture's export (its saved_model.pb and variables) instead of tracing and
    saving the graphs again (~10 s each); the choice of folders, the warm-up file and the
    renames are export_saved_model's own."""
    from tfcreative.export import saved_model

    def copy(serving, path):
        assert serving.name == "music"
        shutil.copytree(music[1], path, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("assets.extra"))

    monkeypatch.setattr(saved_model, "write_saved_model", copy)


def test_versions_increment_and_are_never_overwritten(tmp_path, copied_writes):
    model = make_tiny_model(VOCAB, units=8)
    assert export_saved_model(model, str(tmp_path)).endswith(os.path.join("music", "1"))
    assert export_saved_model(model, str(tmp_path)).endswith(os.path.join("music", "2"))
    with pytest.raises(FileExistsError, match="never overwritten"):
        export_saved_model(model, str(tmp_path), version=2)
    assert sorted(os.listdir(tmp_path / "music")) == ["1", "2"]


def test_a_failed_export_leaves_no_version_behind(tmp_path, monkeypatch, copied_writes):
    def broken_write(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(warmup, "write_warmup_requests", broken_write)
    with pytest.raises(RuntimeError, match="disk full"):
        export_saved_model(make_tiny_model(VOCAB, units=8), str(tmp_path))
    assert os.listdir(tmp_path / "music") == []


def test_export_cli(tmp_path, capsys):
    model = make_tiny_model(VOCAB, units=8)
    model.save(tmp_path / "m.keras")
    assert main(["export", "--model", str(tmp_path / "m.keras"), "--base-dir",
                 str(tmp_path / "serving")]) == 0
    assert "saved_model_cli show --dir" in capsys.readouterr().out
    assert os.path.exists(tmp_path / "serving" / "music" / "1" / "saved_model.pb")
    assert main(["export", "--model", str(tmp_path / "m.keras"), "--base-dir",
                 str(tmp_path / "serving"), "--version", "1"]) == 2
    assert "never overwritten" in capsys.readouterr().err


def _export_meanwhile(monkeypatch, model, base_dir, **kwargs):
    """The next export, while it writes, lets another export of `model` run to the end (two
    `tfcreative export` at once); returns what that one gave (a path or an error)."""
    write = warmup.write_warmup_requests
    other = {}

    def interleaved(*args, **kw):
        if not other:
            other["started"] = True
            other["result"] = export_saved_model(model, base_dir, **kwargs)
        return write(*args, **kw)

    monkeypatch.setattr(warmup, "write_warmup_requests", interleaved)
    return other


def test_two_exports_at_once_each_take_the_next_free_version(tmp_path, monkeypatch,
                                                             copied_writes):
    model = make_tiny_model(VOCAB, units=8)
    other = _export_meanwhile(monkeypatch, model, str(tmp_path))
    path = export_saved_model(model, str(tmp_path))
    assert other["result"] == str(tmp_path / "music" / "1")
    assert path == str(tmp_path / "music" / "2")
    assert sorted(os.listdir(tmp_path / "music")) == ["1", "2"]  # no scratch folder left
    assert signature_names(path) == signature_names(other["result"])


def test_an_explicit_version_taken_meanwhile_is_never_overwritten(tmp_path, monkeypatch,
                                                                  copied_writes):
    model = make_tiny_model(VOCAB, units=8)
    other = _export_meanwhile(monkeypatch, model, str(tmp_path), version=3)
    with pytest.raises(FileExistsError, match=r"music/3 exists: a served version is never "
                                              r"overwritten"):
        export_saved_model(model, str(tmp_path), version=3)
    assert other["result"] == str(tmp_path / "music" / "3")
    assert os.listdir(tmp_path / "music") == ["3"]
    assert "saved_model.pb" in os.listdir(tmp_path / "music" / "3")


@pytest.mark.parametrize("version", [0, -1, 2**63])
def test_a_version_tf_serving_cannot_hold_is_refused(version, tmp_path):
    from tfcreative.errors import InvalidArgument

    with pytest.raises(InvalidArgument) as error:
        export_saved_model(make_tiny_model(VOCAB, units=8), str(tmp_path), version=version)
    assert error.value.argument == "version"
    assert error.value.detail == ("expected a version from 1 to 9223372036854775807 (TF "
                                  f"Serving's versions are int64), got {version}")
    assert not os.path.exists(tmp_path / "music")


def test_the_largest_int64_version_is_the_last(tmp_path, copied_writes):
    from tfcreative.errors import InvalidArgument

    model = make_tiny_model(VOCAB, units=8)
    assert export_saved_model(model, str(tmp_path), version=2**63 - 1).endswith(
        str(2**63 - 1))
    with pytest.raises(InvalidArgument, match="the next version would be 9223372036854775808"):
        export_saved_model(model, str(tmp_path))
    assert os.listdir(tmp_path / "music") == [str(2**63 - 1)]


def test_export_cli_refuses_a_base_dir_that_is_a_file_and_a_version_above_int64(tmp_path,
                                                                                 capsys):
    model = make_tiny_model(VOCAB, units=8)
    model.save(tmp_path / "m.keras")
    mine = tmp_path / "notes.txt"
    mine.write_text("mine")
    for fmt in ("savedmodel", "tfjs"):
        assert main(["export", "--model", str(tmp_path / "m.keras"), "--base-dir", str(mine),
                     "--format", fmt]) == 2
        assert capsys.readouterr().err == (f"tfcreative: error: --base-dir: {mine}: not a "
                                           "folder; expected a folder for the exported models\n")
    assert main(["export", "--model", str(tmp_path / "m.keras"), "--base-dir",
                 str(tmp_path / "serving"), "--version", str(2**63)]) == 2
    assert capsys.readouterr().err == (
        "tfcreative: error: --version: expected a version from 1 to 9223372036854775807 (TF "
        "Serving's versions are int64), got 9223372036854775808\n")
    assert mine.read_text() == "mine" and not (tmp_path / "serving").exists()
