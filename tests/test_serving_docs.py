"""The TF Serving section of docs/serving.md is true of real exports: its REST bodies run (as
TF Serving turns JSON into tensors) through the session loader TF Serving uses and answer in
the documented shape, its `saved_model_cli show` excerpts are what the CLI prints, and its
model config parses as TF Serving's own ModelServerConfig naming our exports."""

import base64
import json
import re
import subprocess

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.python.saved_model import loader_impl
from tensorflow_serving.config import model_server_config_pb2

from tests.conftest import make_tiny_model
from tests.readme import SERVING, code_blocks, section
from tests.serving_loaders import LoaderError, run_requests, saved_model_cli_path
from tests.test_pix2pix_model import tiny_pix2pix
from tests.tf_serving_json import request_feeds, response_body
from tfcreative.datasets.pix2pix import synthetic_facades
from tfcreative.export.saved_model import export_saved_model

SECTION = "## Export: SavedModel for TF Serving"
ELLIPSIS = "\u2026elided"  # what a bare `...` in the documented JSON becomes


@pytest.fixture(scope="module")
def exports(irish_vocabulary, tmp_path_factory):
    """Models of the sizes docs/serving.md names: music LSTM 512 over the bundled corpus's
    characters, pix2pix at 128 px (widths do not change the signatures)."""
    base = str(tmp_path_factory.mktemp("serving"))
    music = make_tiny_model(irish_vocabulary, units=512, layers=1)
    return {"music": export_saved_model(music, base),
            "pix2pix": export_saved_model(tiny_pix2pix(size=128), base)}


def signature_defs(path: str) -> dict:
    meta_graph = loader_impl.parse_saved_model(path).meta_graphs[0]

    return {name: {"inputs": {k: _dtype_name(v) for k, v in sig.inputs.items()},
                   "outputs": {k: _dtype_name(v) for k, v in sig.outputs.items()},
                   "shapes": {k: [d.size for d in v.tensor_shape.dim]
                              for k, v in sig.inputs.items()}}
            for name, sig in meta_graph.signature_def.items() if not name.startswith("__")}


def _dtype_name(tensor_info) -> str:
    from tensorflow.core.framework import types_pb2

    return types_pb2.DataType.Name(tensor_info.dtype)


# -- the documented REST bodies ----------------------------------------------------------

def _parse_jsonc(text: str):
    """Bare `...` (outside strings) becomes the ELLIPSIS marker; strings stay as written."""
    token = re.compile(r'"(?:[^"\\]|\\.)*"|\.\.\.')
    return json.loads(token.sub(lambda m: m.group(0) if m.group(0).startswith('"')
                                else json.dumps(ELLIPSIS), text))


def documented_requests() -> list[dict]:
    """[{model, request, response}] from docs/serving.md's jsonc block: a `// <model>, ...` comment,
    the body, then `// -> <response>`."""
    block, = code_blocks(section(SECTION, SERVING), "jsonc")
    entries, body = [], []
    for line in block.splitlines() + [""]:
        if line.startswith("// ->"):
            entries[-1]["request"] = _parse_jsonc("\n".join(body))
            entries[-1]["response"] = _parse_jsonc(line[len("// ->"):])
            body = []
        elif line.startswith("//"):
            entries.append({"model": line[2:].split(",")[0].strip()})
        elif line.strip():
            body.append(line)
    assert [e["model"] for e in entries] == ["music"] * 4 + ["pix2pix"] * 2
    assert all("request" in e for e in entries)
    return entries


def expand(value, shape):
    """Replaces each list's trailing ELLIPSIS by copies of its last element, up to the
    signature's size for that dimension."""
    if not isinstance(value, list):
        return value
    if value and value[-1] == ELLIPSIS:
        explicit = value[:-1]
        assert explicit and shape and shape[0] > 0, f"cannot expand {value} to {shape}"
        value = explicit + [explicit[-1]] * (shape[0] - len(explicit))
    return [expand(v, shape[1:]) for v in value]


def expand_request(request: dict, signature: dict, image_b64: str) -> dict:
    shapes = signature["shapes"]

    def fill(name, value, row):
        if isinstance(value, dict) and set(value) == {"b64"}:
            prefix = value["b64"].removesuffix("...")
            assert value["b64"].endswith("...") and image_b64.startswith(prefix)
            return {"b64": image_b64}
        return expand(value, shapes[name][1:] if row else shapes[name])

    body = dict(request)
    if "inputs" in body:
        body["inputs"] = {k: fill(k, v, False) for k, v in body["inputs"].items()}
    else:
        (only,) = shapes if len(shapes) == 1 else (None,)
        body["instances"] = [
            {k: fill(k, v, True) for k, v in item.items()}
            if isinstance(item, dict) and set(item) != {"b64"} else fill(only, item, True)
            for item in body["instances"]]
    return body


def matches(documented, actual) -> bool:
    """Elided documentation against a real answer: a list ending in ELLIPSIS matches any list
    starting with the listed items; a string ending in '...' matches by prefix; other scalars
    match by JSON type (the values depend on the model's weights)."""
    if isinstance(documented, list):
        if not isinstance(actual, list):
            return False
        if documented and documented[-1] == ELLIPSIS:
            head = documented[:-1]
            return len(actual) >= len(head) and all(map(matches, head, actual))
        return len(actual) == len(documented) and all(map(matches, documented, actual))
    if isinstance(documented, dict):
        return isinstance(actual, dict) and set(documented) == set(actual) and \
            all(matches(documented[k], actual[k]) for k in documented)
    if isinstance(documented, str):
        if documented.endswith("..."):
            return isinstance(actual, str) and actual.startswith(documented[:-3])
        return actual == documented
    if isinstance(documented, bool):
        return isinstance(actual, bool)
    return isinstance(actual, (int, float)) and not isinstance(actual, bool)


def test_readme_rest_bodies_run_under_the_session_loader(exports):
    labels, _ = synthetic_facades.facade_pair(0, 0, 96)
    image_b64 = base64.b64encode(tf.io.encode_png(labels).numpy()).decode()
    by_model: dict[str, list] = {}
    for entry in documented_requests():
        defs = signature_defs(exports[entry["model"]])
        name = entry["request"].get("signature_name", "serving_default")
        body = expand_request(entry["request"], defs[name], image_b64)
        signature, feeds, layout = request_feeds(body, defs)
        by_model.setdefault(entry["model"], []).append((entry, signature, feeds, layout))
    for model, requests in by_model.items():
        results = run_requests("session", exports[model], [(s, f) for _, s, f, _ in requests])
        for (entry, signature, _, layout), outputs in zip(requests, results, strict=True):
            assert not isinstance(outputs, LoaderError), (signature, outputs)
            answer = response_body(outputs, layout)
            assert matches(entry["response"], answer), (signature, entry["response"])
    generate = next(f for e, s, f, _ in by_model["music"] if s == "generate")
    assert generate["num_tunes"].dtype == np.int32 and generate["seed_text"].shape == ()


def test_the_json_rules_refuse_what_tf_serving_refuses(exports):
    defs = signature_defs(exports["music"])
    good = {"seed_text": "X:1\nT:", "num_tunes": 1, "max_length": 5, "temperature": 1.0,
            "random_seed": 0}
    assert request_feeds({"signature_name": "generate", "inputs": good}, defs)[2] == "columnar"
    for bad in ({"signature_name": "generate", "inputs": {**good, "num_tunes": 1.5}},
                {"signature_name": "generate", "inputs": {"seed_text": "X"}},
                {"signature_name": "generate", "inputs": good, "instances": [good]},
                {"signature_name": "nope", "inputs": good},
                {"signature_name": "step", "instances": [{"ids": 1}]}):
        with pytest.raises(ValueError):
            request_feeds(bad, defs)
    # Row format stacks each scalar into a [1] tensor: not what `generate`'s scalars take.
    _, feeds, _ = request_feeds({"signature_name": "generate", "instances": [good]}, defs)
    assert feeds["num_tunes"].shape == (1,)


# -- `saved_model_cli show` ----------------------------------------------------------------

_SIGNATURE = re.compile(r"^signature_def\['([^']+)'\]:$")
_DOC_TENSOR = re.compile(r"^\s+(inputs|outputs)\['([^']+)'\]\s+dtype: (\w+)\s+shape: (\(.*\))$")


def cli_show(path: str) -> dict:
    """{signature: {(inputs|outputs, key): (dtype, shape)}} from `saved_model_cli show --all`."""
    text = subprocess.run([saved_model_cli_path(), "show", "--dir", path, "--all"],
                          capture_output=True, text=True, check=True, timeout=120).stdout
    text = text.split("Concrete Functions:")[0]
    found, signature, tensor = {}, None, None
    for line in text.splitlines():
        if m := _SIGNATURE.match(line):
            signature = m.group(1)
            found[signature] = {}
        elif m := re.match(r"^\s+(inputs|outputs)\['([^']+)'\] tensor_info:$", line):
            tensor = (m.group(1), m.group(2))
        elif m := re.match(r"^\s+dtype: (\w+)$", line):
            dtype = m.group(1)
        elif m := re.match(r"^\s+shape: (\(.*\)|unknown_rank)$", line):
            found[signature][tensor] = (dtype, m.group(1))
    return {k: v for k, v in found.items() if not k.startswith("__")}


def readme_show_blocks() -> dict[str, dict]:
    blocks = [b for b in code_blocks(section(SECTION, SERVING), "")
              if b.startswith("signature_def")]
    assert len(blocks) == 2
    parsed = {}
    for model, block in zip(("music", "pix2pix"), blocks, strict=True):
        signatures, signature = {}, None
        for line in block.splitlines():
            if m := _SIGNATURE.match(line):
                signature = m.group(1)
                signatures[signature] = {}
            elif m := _DOC_TENSOR.match(line):
                signatures[signature][(m.group(1), m.group(2))] = (m.group(3), m.group(4))
            elif m := re.match(r"^\s+\(the same as (\w+)\)$", line):
                signatures[signature] = m.group(1)
            else:
                raise AssertionError(f"unexpected line in the documented show block: {line!r}")
        parsed[model] = signatures
    return parsed


def test_readme_saved_model_cli_show_is_what_the_cli_prints(exports):
    for model, documented in readme_show_blocks().items():
        real = cli_show(exports[model])
        assert set(documented) == set(real), model
        for signature, tensors in documented.items():
            expected = real[tensors] if isinstance(tensors, str) else tensors
            assert real[signature] == expected, (model, signature)


# -- the model config ----------------------------------------------------------------------

def test_readme_model_config_is_a_tf_serving_config_for_our_exports(exports):
    block, = code_blocks(section(SECTION, SERVING), "pbtxt")
    config = text_format.Parse(block, model_server_config_pb2.ModelServerConfig())
    models = {c.name: c for c in config.model_config_list.config}
    assert set(models) == set(exports)  # the names `tfcreative export` uses by default
    for name, model in models.items():
        assert model.base_path.endswith("/" + name) and model.model_platform == "tensorflow"
    music = models["music"]
    versions = set(music.model_version_policy.specific.versions)
    assert versions == {1, 2} and set(music.version_labels.values()) <= versions
