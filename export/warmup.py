"""TF Serving's warm-up file: `assets.extra/tf_serving_warmup_requests` in a SavedModel version.

A TFRecord file of `PredictionLog` protos (tensorflow-serving-api's own protos), one
`PredictRequest` per signature. TF Serving runs each request once when it loads the version,
before the version takes traffic, so the first real request does not pay for graph set-up. A
request that fails makes the server refuse the version: the tests run every one of them through
the session loader TF Serving uses.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


def predict_request(model_name: str, signature: str,
                    inputs: dict[str, np.ndarray]) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature))
    for key, value in inputs.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    return request


def write_warmup_requests(saved_model_dir: str, model_name: str,
                          examples: dict[str, dict[str, np.ndarray]]) -> str:
    """Writes one request per signature in `examples` (signature -> input name -> value)."""
    path = os.path.join(saved_model_dir, WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for signature, inputs in examples.items():
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(
                request=predict_request(model_name, signature, inputs)))
            writer.write(log.SerializeToString())
    return path


def read_warmup_requests(saved_model_dir: str) -> list[predict_pb2.PredictRequest]:
    """The requests of a version's warm-up file, in order."""
    requests = []
    for record in tf.data.TFRecordDataset(os.path.join(saved_model_dir, WARMUP_FILE)):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        requests.append(log.predict_log.request)
    return requests
