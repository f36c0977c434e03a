"""A Pix2Pix generator's inference in NumPy: its functional Keras config walked layer by layer
and run on the weights of a preset, for translating without importing TensorFlow
(`translation_model`).

Inference mode only, as `generator(x, training=False)`: dropout off, batch normalisation with
its moving statistics, folded into one scale and shift per channel (Keras's own arithmetic,
x * (gamma / sqrt(var + eps)) + (beta - mean * that)). Convolutions are one matrix product each
(float32, NumPy's BLAS): a 4x4 stride-2 Conv2D gathers its patches (im2col) then multiplies;
a Conv2DTranspose multiplies each input pixel by the kernel, then adds the products into the
output at their strided places (col2im). Both pad as TensorFlow's "same" does: the total
padding max((out - 1) * stride + kernel - in, 0), its smaller half before. Rectangular and odd
sizes follow from that rule; `tests/test_numpy_unet.py` checks them against the Keras layers.

Layers: InputLayer, Conv2D, Conv2DTranspose, BatchNormalization, GroupNormalization (the
"instance" norm), LeakyReLU, ReLU, Activation, Dropout and Concatenate, on the last axis, in
float32. Any other layer, setting or weight shape is an InvalidArgument about "preset" (the
caller then loads the model with Keras, whose loader says what is wrong, if anything).
"""

from __future__ import annotations

import numpy as np

from tfcreative.errors import InvalidArgument

ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, np.float32(0)),
    "tanh": np.tanh,
    "sigmoid": lambda x: np.float32(1) / (np.float32(1) + np.exp(-x)),
}


def unsupported(what: str) -> InvalidArgument:
    return InvalidArgument("preset", f"its generator {what}, which the NumPy path does not run")


def same_padding(size: int, kernel: int, stride: int, out: int) -> tuple[int, int]:
    """TensorFlow's "same" padding (before, after) of a side of `size` for `out` outputs."""
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv2d(x: np.ndarray, kernel: np.ndarray, stride: tuple[int, int],
           padding: str) -> np.ndarray:
    """[b, h, w, c] by a Keras Conv2D kernel [kh, kw, c, filters] -> [b, oh, ow, filters]."""
    (kh, kw), (sh, sw) = kernel.shape[:2], stride
    batch, height, width, channels = x.shape
    if padding == "same":
        oh, ow = -(-height // sh), -(-width // sw)
        pads = (same_padding(height, kh, sh, oh), same_padding(width, kw, sw, ow))
        x = np.pad(x, ((0, 0), *pads, (0, 0)))
    else:
        oh, ow = (height - kh) // sh + 1, (width - kw) // sw + 1
    patches = np.stack([x[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
                        for i in range(kh) for j in range(kw)], axis=3)
    columns = patches.reshape(batch * oh * ow, kh * kw * channels)
    return (columns @ kernel.reshape(kh * kw * channels, -1)).reshape(batch, oh, ow, -1)


def conv2d_transpose(x: np.ndarray, kernel: np.ndarray, stride: tuple[int, int],
                     padding: str) -> np.ndarray:
    """[b, h, w, c] by a Keras Conv2DTranspose kernel [kh, kw, filters, c] -> [b, h * sh,
    w * sw, filters] ("same"), or the whole [(h - 1) * sh + kh, ...] ("valid")."""
    (kh, kw, filters, channels), (sh, sw) = kernel.shape, stride
    batch, height, width, _ = x.shape
    products = x.reshape(-1, channels) @ kernel.transpose(3, 0, 1, 2).reshape(channels, -1)
    products = products.reshape(batch, height, width, kh, kw, filters)
    full = np.zeros((batch, (height - 1) * sh + kh, (width - 1) * sw + kw, filters), np.float32)
    for i in range(kh):
        for j in range(kw):
            full[:, i:i + sh * (height - 1) + 1:sh, j:j + sw * (width - 1) + 1:sw] += \
                products[:, :, :, i, j]
    if padding == "valid":
        return full
    oh, ow = height * sh, width * sw
    top, left = same_padding(oh, kh, sh, height)[0], same_padding(ow, kw, sw, width)[0]
    return full[:, top:top + oh, left:left + ow]


def _pair(value, what: str) -> tuple[int, int]:
    pair = tuple(value) if isinstance(value, (list, tuple)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, int) and v >= 1 for v in pair):
        raise unsupported(f"has {what} {value!r}")
    return pair


def _activation(config: dict):
    name = config.get("activation", "linear")
    if name not in ACTIVATIONS:
        raise unsupported(f"uses the activation {name!r}")
    return ACTIVATIONS[name]


def _check_settings(config: dict, expected: dict) -> None:
    """Each setting of `expected` has its value (absent counts as the Keras default)."""
    for key, value in expected.items():
        found = config.get(key, value)
        if (list(found) if isinstance(found, tuple) else found) != value:
            raise unsupported(f"sets {key}={config.get(key)!r} in {config.get('name')!r}")


def _channels_last_axis(config: dict) -> None:
    axis = config.get("axis", -1)
    if axis not in (-1, 3, [-1], [3]):
        raise unsupported(f"normalises or joins on axis {axis!r} in {config.get('name')!r}")


class _LayerWeights:
    """One layer's arrays of a preset (by the weight's name in the layer, "kernel", ...), in
    float32 as Keras assigns them; each read once with its expected shape."""

    def __init__(self, layer: str, arrays: dict[str, np.ndarray]):
        self.layer = layer
        self.arrays = {key.split("/", 1)[1]: value for key, value in arrays.items()
                       if key.split("/", 1)[0] == layer and "/" in key}
        self.read = set()

    def get(self, name: str, shape: tuple) -> np.ndarray:
        value = self.arrays.get(name)
        if value is None or value.shape != shape:
            found = "none" if value is None else f"shape {value.shape}"
            raise InvalidArgument("preset", f"weight {self.layer}/{name}: expected shape "
                                            f"{shape}, found {found}")
        value = np.asarray(value, np.float32)
        if not np.isfinite(value).all():
            raise InvalidArgument("preset", f"weight {self.layer}/{name} holds NaN or Inf")
        self.read.add(name)
        return value

    def check_all_read(self) -> None:
        if set(self.arrays) - self.read:
            raise InvalidArgument("preset", f"weights {sorted(set(self.arrays) - self.read)} "
                                            f"of {self.layer!r} are not the layer's")


def _conv(config: dict, weights: dict, channels: list[int], transpose: bool):
    name, filters = config["name"], config["filters"]
    size, stride = _pair(config["kernel_size"], "kernel_size"), _pair(config["strides"], "strides")
    _check_settings(config, {"data_format": "channels_last", "dilation_rate": [1, 1],
                             "groups": 1, "output_padding": None})
    if config.get("padding") not in ("same", "valid") or size[0] < stride[0] \
            or size[1] < stride[1]:
        raise unsupported(f"pads {config.get('padding')!r} with kernel {size} and strides "
                          f"{stride} in {name!r}")
    shape = (*size, filters, channels[0]) if transpose else (*size, channels[0], filters)
    kernel = weights.get("kernel", shape)
    bias = weights.get("bias", (filters,)) if config.get("use_bias", True) else None
    activation, run = _activation(config), conv2d_transpose if transpose else conv2d

    def op(x):
        y = run(x, kernel, stride, config["padding"])
        return activation(y + bias if bias is not None else y)
    return op, filters


def _batch_norm(config: dict, weights: dict, channels: list[int]):
    """Inference: the moving statistics folded into one scale and shift per channel."""
    _channels_last_axis(config)
    shape = (channels[0],)
    mean = weights.get("moving_mean", shape)
    inverse = np.float32(1) / np.sqrt(weights.get("moving_variance", shape)
                                      + np.float32(config.get("epsilon", 1e-3)))
    if config.get("scale", True):
        inverse = inverse * weights.get("gamma", shape)
    shift = -mean * inverse
    if config.get("center", True):
        shift = shift + weights.get("beta", shape)
    return (lambda x: x * inverse + shift), channels[0]


def _group_norm(config: dict, weights: dict, channels: list[int]):
    """GroupNormalization (groups=-1: one group per channel, instance normalisation): each
    image's groups normalised by their own mean and variance, as Keras computes them."""
    _channels_last_axis(config)
    name, count = config["name"], channels[0]
    groups = count if config.get("groups", 32) == -1 else config.get("groups", 32)
    if not isinstance(groups, int) or groups < 1 or count % groups:
        raise unsupported(f"has {groups!r} groups of {count} channels in {name!r}")
    gamma = weights.get("gamma", (count,)) if config.get("scale", True) else None
    beta = weights.get("beta", (count,)) if config.get("center", True) else None
    epsilon = np.float32(config.get("epsilon", 1e-3))

    def op(x):
        grouped = x.reshape(*x.shape[:-1], groups, count // groups)
        mean = grouped.mean(axis=(1, 2, 4), keepdims=True)
        variance = np.square(grouped - mean).mean(axis=(1, 2, 4), keepdims=True)
        inverse = np.float32(1) / np.sqrt(variance + epsilon)
        if gamma is not None:
            inverse = inverse * gamma.reshape(groups, -1)
        shift = -mean * inverse + (beta.reshape(groups, -1) if beta is not None else 0)
        return (grouped * inverse + shift).reshape(x.shape)
    return op, count


def _leaky_relu(config: dict, weights: dict, channels: list[int]):
    slope = np.float32(config.get("negative_slope", 0.3))
    if not 0 <= slope <= 1:
        raise unsupported(f"has the slope {slope} in {config.get('name')!r}")
    return (lambda x: np.maximum(x, x * slope)), channels[0]


def _relu(config: dict, weights: dict, channels: list[int]):
    _check_settings(config, {"max_value": None, "negative_slope": 0.0, "threshold": 0.0})
    return ACTIVATIONS["relu"], channels[0]


def _activation_layer(config: dict, weights: dict, channels: list[int]):
    return _activation(config), channels[0]


def _dropout(config: dict, weights: dict, channels: list[int]):
    return (lambda x: x), channels[0]  # off at inference


def _concatenate(config: dict, weights: dict, channels: list[int]):
    _channels_last_axis(config)
    return (lambda *xs: np.concatenate(xs, axis=-1)), sum(channels)


LAYERS = {
    "Conv2D": lambda c, w, ch: _conv(c, w, ch, transpose=False),
    "Conv2DTranspose": lambda c, w, ch: _conv(c, w, ch, transpose=True),
    "BatchNormalization": _batch_norm,
    "GroupNormalization": _group_norm,
    "LeakyReLU": _leaky_relu,
    "ReLU": _relu,
    "Activation": _activation_layer,
    "Dropout": _dropout,
    "Concatenate": _concatenate,
}


def _dtype(config: dict):
    dtype = config.get("dtype", "float32")
    return dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype


def _history(tensor) -> str:
    """The layer a serialized Keras tensor comes from (its only output, called once)."""
    try:
        layer, node, index = tensor["config"]["keras_history"]
    except (KeyError, TypeError, ValueError):
        raise unsupported("has an input that is not a Keras tensor") from None
    if (node, index) != (0, 0):
        raise unsupported(f"reuses the layer {layer!r}")
    return layer


def _inputs_of(layer: dict) -> list[str]:
    """The names of the layers whose outputs `layer` takes (one call; of keyword arguments
    only `mask=None` and `training`, which the model's own call overrides: how Keras records
    a BatchNormalization's and a Dropout's calls)."""
    nodes = layer.get("inbound_nodes")
    if not isinstance(nodes, list) or len(nodes) != 1 or any(
            key != "training" and (key, value) != ("mask", None)
            for key, value in nodes[0].get("kwargs", {}).items()):
        raise unsupported(f"calls the layer {layer.get('name')!r} other than once, plainly")
    args = nodes[0].get("args") or []
    tensors = args[0] if len(args) == 1 and isinstance(args[0], list) else args
    return [_history(tensor) for tensor in tensors]


def _single(endpoints) -> str:
    """A functional config's input_layers / output_layers naming one tensor -> its layer."""
    if isinstance(endpoints, list) and len(endpoints) == 1 and isinstance(endpoints[0], list):
        endpoints = endpoints[0]
    if not (isinstance(endpoints, list) and len(endpoints) == 3 and endpoints[1:] == [0, 0]):
        raise unsupported(f"has the inputs or outputs {endpoints!r} (expected one of each)")
    return endpoints[0]


class NumpyUNet:
    """A functional generator's layers as NumPy operations; called like the Keras model in
    inference mode: [b, h, w, c] float32 -> the output (`training` is ignored)."""

    def __init__(self, input_shape: tuple, source: str, steps: list, output: str):
        self.input_shape = input_shape  # (None, height, width, channels), as Keras's
        self.source = source  # the input layer's name
        self.steps = steps  # (layer name, operation, the names of its inputs), in order
        self.output = output

    @classmethod
    def from_config(cls, config: dict, arrays: dict[str, np.ndarray]) -> NumpyUNet:
        """From a functional model's config (`serialize_keras_object(generator)["config"]`)
        and weights by Keras path ("down1_conv/kernel", ...; float16 or float32, others
        ignored). What this module does not run is an InvalidArgument about "preset"."""
        try:
            return cls._built(config, arrays)
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            if isinstance(error, InvalidArgument):
                raise
            raise unsupported(f"config cannot be read ({type(error).__name__}: {error})") \
                from None

    @classmethod
    def _built(cls, config: dict, arrays: dict[str, np.ndarray]) -> NumpyUNet:
        source, output = _single(config["input_layers"]), _single(config["output_layers"])
        channels, steps, input_shape = {}, [], None
        for layer in config["layers"]:
            kind, settings, name = layer["class_name"], layer["config"], layer["name"]
            if _dtype(settings) != "float32" or name in channels:
                raise unsupported(f"computes {name!r} in {_dtype(settings)!r} or names it twice")
            if kind == "InputLayer":
                input_shape = tuple(settings["batch_shape"])
                if name != source or len(input_shape) != 4 \
                        or not all(isinstance(side, int) for side in input_shape[1:]):
                    raise unsupported(f"takes the input {name!r} of shape {input_shape}")
                channels[name] = input_shape[3]
                continue
            if kind not in LAYERS or layer.get("module") != "keras.layers":
                raise unsupported(f"has the layer {kind!r}")
            inputs = _inputs_of(layer)
            if not inputs or any(i not in channels for i in inputs):
                raise unsupported(f"takes {inputs} in {name!r} before they are computed")
            if len(inputs) > 1 and kind != "Concatenate":
                raise unsupported(f"gives {name!r} {len(inputs)} inputs")
            weights = _LayerWeights(name, arrays)
            operation, channels[name] = LAYERS[kind](settings, weights,
                                                     [channels[i] for i in inputs])
            weights.check_all_read()
            steps.append((name, operation, inputs))
        if input_shape is None or output not in channels or not steps:
            raise unsupported(f"has no path from {source!r} to {output!r}")
        return cls(input_shape, source, steps, output)

    def __call__(self, x, training=None) -> np.ndarray:
        values = {self.source: np.asarray(x, np.float32)}
        for name, operation, inputs in self.steps:
            values[name] = operation(*(values[i] for i in inputs))
        return values[self.output]
