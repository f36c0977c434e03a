"""TF Serving's REST JSON rules for `:predict`, for checking documented request bodies.

From TF Serving's RESTful API page (tensorflow_serving/g3doc/api_rest.md):
* `signature_name` defaults to "serving_default"; a body has `instances` or `inputs`, not both.
* Row format, `instances`: one item per example; with several named inputs each item is an
  object naming all of them; each input's items are stacked along a new 0-th dimension.
* Columnar format, `inputs`: an object of named tensors (or the one tensor), taken as is.
* `{"b64": ...}` is a value (bytes of a DT_STRING tensor), never a named-input object.
* Responses: row requests get `predictions` (per example; a single output loses its name),
  columnar requests get `outputs` (a single output loses its name). Outputs whose names end in
  `_bytes` are sent as `{"b64": ...}`.

Feeds follow the signature's dtypes; values the dtype cannot hold are errors, as in the server.
"""

from __future__ import annotations

import base64

import numpy as np

_DTYPES = {"DT_FLOAT": np.float32, "DT_DOUBLE": np.float64, "DT_INT32": np.int32,
           "DT_INT64": np.int64, "DT_BOOL": np.bool_, "DT_STRING": object}


class RequestError(ValueError):
    """The body is not one TF Serving would accept for this signature."""


def _is_b64(value) -> bool:
    return isinstance(value, dict) and set(value) == {"b64"}


def _leaf(value, dtype_name: str):
    if dtype_name == "DT_STRING":
        if _is_b64(value):
            return base64.b64decode(value["b64"], validate=True)
        if isinstance(value, str):
            return value.encode("utf-8")
        raise RequestError(f"expected a string or {{'b64': ...}} for DT_STRING, got {value!r}")
    if isinstance(value, dict) or isinstance(value, str):
        raise RequestError(f"expected a {dtype_name} number, got {value!r}")
    if dtype_name == "DT_BOOL":
        if not isinstance(value, bool):
            raise RequestError(f"expected true/false for DT_BOOL, got {value!r}")
        return value
    if isinstance(value, bool):
        raise RequestError(f"expected a number for {dtype_name}, got {value!r}")
    if dtype_name in ("DT_INT32", "DT_INT64") and not isinstance(value, int):
        raise RequestError(f"expected an integer for {dtype_name}, got {value!r}")
    return value


def to_tensor(value, dtype_name: str) -> np.ndarray:
    """A JSON value (nested lists of leaves) -> an array of the signature's dtype."""
    def convert(v):
        return [convert(x) for x in v] if isinstance(v, list) else _leaf(v, dtype_name)

    converted = convert(value)
    if dtype_name == "DT_STRING":
        array = np.array(converted, dtype=object)
        if isinstance(converted, list) and array.dtype != object:
            raise RequestError("ragged string tensor")
        return array
    array = np.array(converted)
    if array.dtype == object:
        raise RequestError("ragged tensor: nested lists of different lengths")
    return array.astype(_DTYPES[dtype_name])


def request_feeds(body: dict, signature_defs: dict) -> tuple[str, dict[str, np.ndarray], str]:
    """(signature name, input name -> array, "row" or "columnar") for a :predict body.

    signature_defs: name -> {"inputs": {name: dtype name}, "outputs": {name: dtype name}}.
    """
    unknown = set(body) - {"signature_name", "instances", "inputs"}
    if unknown:
        raise RequestError(f"unknown keys {sorted(unknown)}")
    if ("instances" in body) == ("inputs" in body):
        raise RequestError("a body has exactly one of 'instances' and 'inputs'")
    name = body.get("signature_name", "serving_default")
    if name not in signature_defs:
        raise RequestError(f"no signature {name!r}")
    inputs = signature_defs[name]["inputs"]
    if "inputs" in body:
        given = body["inputs"]
        if not isinstance(given, dict) or _is_b64(given):
            if len(inputs) != 1:
                raise RequestError("a bare value needs a signature with exactly one input")
            given = {next(iter(inputs)): given}
        _check_names(given, inputs)
        return name, {k: to_tensor(v, inputs[k]) for k, v in given.items()}, "columnar"
    instances = body["instances"]
    if not isinstance(instances, list) or not instances:
        raise RequestError("'instances' must be a non-empty list")
    named = [isinstance(i, dict) and not _is_b64(i) for i in instances]
    if any(named) and not all(named):
        raise RequestError("either every instance is an object of named inputs, or none")
    if not all(named):
        if len(inputs) != 1:
            raise RequestError("plain instances need a signature with exactly one input")
        instances = [{next(iter(inputs)): i} for i in instances]
    for instance in instances:
        _check_names(instance, inputs)
    feeds = {k: to_tensor([i[k] for i in instances], dtype) for k, dtype in inputs.items()}
    return name, feeds, "row"


def _check_names(given: dict, inputs: dict) -> None:
    if set(given) != set(inputs):
        raise RequestError(f"inputs {sorted(given)} do not match the signature's "
                           f"{sorted(inputs)}")


def _json_value(name: str, array: np.ndarray):
    def leaf(x):
        if isinstance(x, bytes):
            return {"b64": base64.b64encode(x).decode()} if name.endswith("_bytes") \
                else x.decode("utf-8")
        return x.item() if isinstance(x, np.generic) else x

    def walk(a):
        return [walk(x) for x in a] if isinstance(a, np.ndarray) and a.ndim else \
            leaf(a.item() if isinstance(a, np.ndarray) else a)

    return walk(np.asarray(array))


def response_body(outputs: dict[str, np.ndarray], layout: str) -> dict:
    """The JSON TF Serving answers with, for the signature's outputs."""
    if layout == "columnar":
        values = {k: _json_value(k, v) for k, v in outputs.items()}
        return {"outputs": next(iter(values.values())) if len(values) == 1 else values}
    rows = len(next(iter(outputs.values())))
    if len(outputs) == 1:
        (key, value), = outputs.items()
        return {"predictions": [_json_value(key, value[i]) for i in range(rows)]}
    return {"predictions": [{k: _json_value(k, v[i]) for k, v in outputs.items()}
                            for i in range(rows)]}
