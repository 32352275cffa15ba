"""Read a Keras model's config.json without Keras: allowed objects and shapes.

`check_config` walks the config of a `.keras` file. Every serialized object
(a dict with "class_name") must be a container, a layer in LAYER_CLASSES or
one of Keras's own dtype policies, initializers, regularizers or constraints,
and may not name a registered custom object ("package>name"). It then follows
the layers in order to find the input and output shapes and to estimate the
number of weights, so a config cannot make Keras allocate gigabytes before
its weights are read.
"""

from __future__ import annotations

import math
from typing import Any

MNIST_INPUT_SHAPES = ((28, 28, 1), (1, 28, 28), (784,))
NUM_OUTPUTS = 10
MAX_PARAMETERS = 20_000_000
MAX_LAYERS = 200
MAX_DEPTH = 40

CONTAINER_CLASSES = ("Sequential", "Functional")
LAYER_CLASSES = (
    "InputLayer",
    "Dense",
    "Dropout",
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalMaxPooling2D",
    "GlobalAveragePooling2D",
    "Flatten",
    "Reshape",
    "Rescaling",
    "BatchNormalization",
    "Activation",
)
# Non-layer objects Keras writes into a layer's config, by module.
HELPER_CLASSES = {
    "keras": ("DTypePolicy", "FloatDTypePolicy"),
    "keras.initializers": (
        "Constant",
        "GlorotNormal",
        "GlorotUniform",
        "HeNormal",
        "HeUniform",
        "Identity",
        "LecunNormal",
        "LecunUniform",
        "Ones",
        "Orthogonal",
        "RandomNormal",
        "RandomUniform",
        "TruncatedNormal",
        "VarianceScaling",
        "Zeros",
    ),
    "keras.regularizers": ("L1", "L1L2", "L2"),
    "keras.constraints": ("MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"),
}
ACTIVATION_NAMES = (
    "celu",
    "elu",
    "exponential",
    "gelu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mish",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "swish",
    "tanh",
)
POOLING_CLASSES = ("MaxPooling2D", "AveragePooling2D")
GLOBAL_POOLING_CLASSES = ("GlobalMaxPooling2D", "GlobalAveragePooling2D")


class ModelCheckError(ValueError):
    """A model config that names a forbidden object or a non-MNIST shape."""


def _check_object(item: dict[str, Any]) -> None:
    class_name = item["class_name"]
    module = str(item.get("module", ""))
    registered_name = item.get("registered_name")
    if class_name == "Lambda":
        raise ModelCheckError(
            "the model contains a Lambda layer, which runs arbitrary Python code; "
            "Lambda layers are not accepted"
        )
    if registered_name not in (None, class_name):
        raise ModelCheckError(
            f"{class_name} is registered as the custom object {registered_name!r}; "
            "custom objects are not accepted"
        )
    if class_name == "function":
        raise ModelCheckError(
            f"the config names the function {item.get('config')!r}, which is not "
            "one of Keras's own; custom functions are not accepted"
        )
    if class_name == "__keras_tensor__":
        return
    if class_name in CONTAINER_CLASSES:
        if module == "keras" or module.startswith("keras.src.models"):
            return
    elif class_name in LAYER_CLASSES:
        if module == "keras.layers" or module.startswith("keras.src.layers"):
            return
    elif class_name in HELPER_CLASSES.get(module, ()):
        return
    raise ModelCheckError(
        f"the object {class_name!r} (module {module!r}) is not accepted; allowed "
        f"layers: {', '.join(LAYER_CLASSES)}"
    )


def _check_value(key: str, value: str) -> None:
    if ">" in value:
        raise ModelCheckError(
            f"{key} names the custom object {value!r}; custom objects are not accepted"
        )
    if key == "activation" and value not in ACTIVATION_NAMES:
        raise ModelCheckError(f"the activation {value!r} is not a Keras activation")


def check_objects(node: Any, key: str = "", depth: int = 0) -> None:
    """Walk a config and raise ModelCheckError at the first forbidden object."""
    if depth > MAX_DEPTH:
        raise ModelCheckError(f"the config is nested deeper than {MAX_DEPTH} levels")
    if isinstance(node, dict):
        if "class_name" in node:
            _check_object(node)
        for child_key, child in node.items():
            check_objects(child, str(child_key), depth + 1)
    elif isinstance(node, list):
        for child in node:
            check_objects(child, key, depth + 1)
    elif isinstance(node, str):
        _check_value(key, node)


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    first, second = value
    return int(first), int(second)


def _window_output(size: int, window: int, stride: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    return (size - window) // stride + 1


def _spatial_layer(class_name: str, config: dict, shape: tuple) -> tuple[tuple, int]:
    """Return (output shape, weights) of a Conv2D or 2D pooling layer."""
    channels_first = config.get("data_format") == "channels_first"
    channels, height, width = shape if channels_first else (shape[2], *shape[:2])
    if class_name == "Conv2D":
        window = _pair(config["kernel_size"])
        strides = _pair(config.get("strides", 1))
        out_channels = int(config["filters"])
        weights = window[0] * window[1] * channels * out_channels + out_channels
    else:
        window = _pair(config["pool_size"])
        strides = _pair(config.get("strides") or window)
        out_channels = channels
        weights = 0
    padding = config.get("padding", "valid")
    out_height = _window_output(height, window[0], strides[0], padding)
    out_width = _window_output(width, window[1], strides[1], padding)
    if out_height < 1 or out_width < 1:
        raise ModelCheckError(f"a {class_name} window is larger than its input")
    if channels_first:
        return (out_channels, out_height, out_width), weights
    return (out_height, out_width, out_channels), weights


def _reshape_output(target_shape: list, shape: tuple) -> tuple:
    """Return Reshape's output, filling in its one -1 entry as Keras does."""
    known = math.prod(size for size in target_shape if size != -1)
    return tuple(
        math.prod(shape) // known if size == -1 else size for size in target_shape
    )


def _layer_output(layer: dict, shape: tuple) -> tuple[tuple, int]:
    """Return (output shape, number of weights) of one layer for input `shape`."""
    class_name = layer["class_name"]
    config = layer["config"]
    if class_name in CONTAINER_CLASSES:
        return _container_output(layer, shape)
    if class_name == "InputLayer":
        batch_shape = config.get("batch_shape") or config["batch_input_shape"]
        return tuple(batch_shape[1:]), 0
    if class_name == "Dense":
        units = int(config["units"])
        bias = units if config.get("use_bias", True) else 0
        return (*shape[:-1], units), shape[-1] * units + bias
    if class_name == "Conv2D" or class_name in POOLING_CLASSES:
        return _spatial_layer(class_name, config, shape)
    if class_name in GLOBAL_POOLING_CLASSES:
        channels_first = config.get("data_format") == "channels_first"
        return (shape[0] if channels_first else shape[-1],), 0
    if class_name == "Flatten":
        return (math.prod(shape),), 0
    if class_name == "Reshape":
        return _reshape_output(config["target_shape"], shape), 0
    if class_name == "BatchNormalization":
        return shape, 4 * shape[config.get("axis", -1)]
    return shape, 0


def _container_output(container: dict, shape: tuple | None) -> tuple[tuple, int]:
    config = container["config"]
    layers = config["layers"]
    if not isinstance(layers, list) or len(layers) > MAX_LAYERS:
        raise ModelCheckError(f"a model may have at most {MAX_LAYERS} layers")
    if shape is None and config.get("build_input_shape"):
        shape = tuple(config["build_input_shape"][1:])
    total = 0
    for layer in layers:
        if shape is None and layer["class_name"] != "InputLayer":
            raise ModelCheckError("the model's input shape is not recorded")
        shape, weights = _layer_output(layer, shape)
        if not all(isinstance(size, int) and size > 0 for size in shape):
            raise ModelCheckError(
                f"layer {layer['class_name']} would output the shape {shape}"
            )
        total += weights
        if total > MAX_PARAMETERS:
            raise ModelCheckError(f"the model has more than {MAX_PARAMETERS:,} weights")
    if shape is None:
        raise ModelCheckError("the model has no layers")
    return shape, total


def _input_shape(model_config: dict) -> tuple:
    config = model_config["config"]
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            layer_config = layer["config"]
            batch_shape = layer_config.get("batch_shape")
            return tuple((batch_shape or layer_config["batch_input_shape"])[1:])
    if config.get("build_input_shape"):
        return tuple(config["build_input_shape"][1:])
    raise ModelCheckError("the model's input shape is not recorded")


def check_config(model_config: dict[str, Any]) -> int:
    """Return the config's number of weights; raise ModelCheckError if not allowed.

    Allowed is a Sequential or Functional MNIST classifier built from
    LAYER_CLASSES with at most MAX_PARAMETERS weights.
    """
    if model_config.get("class_name") not in CONTAINER_CLASSES:
        raise ModelCheckError(
            "the file must hold a Sequential or Functional model, not "
            f"{model_config.get('class_name')!r}"
        )
    check_objects(model_config)
    try:
        input_shape = _input_shape(model_config)
        if input_shape not in MNIST_INPUT_SHAPES:
            raise ModelCheckError(
                f"the model takes inputs of shape {input_shape}; MNIST models take "
                "(28, 28, 1), (1, 28, 28) or (784,)"
            )
        output_shape, num_weights = _container_output(model_config, input_shape)
    except (
        KeyError,
        TypeError,
        ValueError,
        IndexError,
        ZeroDivisionError,  # a stride, pool size or Reshape entry of 0
        OverflowError,  # an infinite size, which int() cannot convert
    ) as error:
        if isinstance(error, ModelCheckError):
            raise
        raise ModelCheckError(f"a layer's config cannot be read ({error})") from error
    if output_shape != (NUM_OUTPUTS,):
        raise ModelCheckError(
            f"the model outputs shape {output_shape}; MNIST models output (10,)"
        )
    return num_weights
