"""Find a Keras model's layers by type and read their weights and input shape.

Layers are found by their Keras class and shape, never by their names, so a
model built elsewhere (other layer names, channels_first, a functional graph)
is read the same way as one this app built.
"""

from __future__ import annotations

import numpy as np

from mnist_core.config import IMAGE_SIZE

NUM_PIXELS = IMAGE_SIZE * IMAGE_SIZE


class InspectionError(ValueError):
    """A model whose input, output or layers cannot be inspected, with the reason."""


def _pooling_classes() -> tuple[type, ...]:
    import keras

    return (
        keras.layers.MaxPooling2D,
        keras.layers.AveragePooling2D,
        keras.layers.GlobalMaxPooling2D,
        keras.layers.GlobalAveragePooling2D,
    )


def is_conv_layer(layer) -> bool:
    """Tell whether `layer` is a Conv2D layer."""
    import keras

    return isinstance(layer, keras.layers.Conv2D)


def is_feature_map_layer(layer) -> bool:
    """Tell whether `layer` outputs feature maps: Conv2D or 2D pooling."""
    return is_conv_layer(layer) or isinstance(layer, _pooling_classes())


def is_dense_layer(layer) -> bool:
    """Tell whether `layer` is a Dense layer."""
    import keras

    return isinstance(layer, keras.layers.Dense)


def flat_layers(model) -> list:
    """Return the model's layers in forward order, nested Sequential models opened."""
    import keras

    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.Sequential):
            layers.extend(flat_layers(layer))
        else:
            layers.append(layer)
    return layers


def conv_layers(model) -> list:
    """Return the model's Conv2D layers in forward order."""
    return [layer for layer in flat_layers(model) if is_conv_layer(layer)]


def dense_layers(model) -> list:
    """Return the model's Dense layers in forward order, the output layer included."""
    return [layer for layer in flat_layers(model) if is_dense_layer(layer)]


def model_kind(model) -> str:
    """Return "cnn" for a model with a Conv2D layer, "mlp" for Dense layers only.

    Raises InspectionError for a model with neither.
    """
    if conv_layers(model):
        return "cnn"
    if dense_layers(model):
        return "mlp"
    raise InspectionError(
        "the model has no Conv2D or Dense layer, so there are no kernels or "
        "weights to show"
    )


def model_input_shape(model) -> tuple[int, ...]:
    """Return the input shape without the batch axis; it must contain 784 pixels.

    Raises InspectionError for several inputs, an unknown input shape, or a
    shape that a 28x28 image cannot be reshaped to.
    """
    try:
        shape = model.input_shape
    except (AttributeError, ValueError) as error:
        raise InspectionError(f"the model has no known input shape ({error})") from None
    if isinstance(shape, list):
        raise InspectionError(f"the model takes {len(shape)} inputs; it needs one")
    shape = tuple(shape[1:])
    if None in shape or int(np.prod(shape)) != NUM_PIXELS:
        raise InspectionError(
            f"the model expects inputs of shape {shape}; an MNIST image has "
            f"28 x 28 = {NUM_PIXELS} pixels, e.g. (784,), (28, 28, 1) or (1, 28, 28)"
        )
    return shape


def prepare_inputs(model, images: np.ndarray) -> np.ndarray:
    """Scale and reshape (num_samples, 28, 28) images to the model's input shape.

    uint8 images are divided by 255; float images must already lie in [0, 1].
    """
    images = np.asarray(images)
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise InspectionError(
            f"images must have shape (num_samples, 28, 28), got {images.shape}"
        )
    if images.dtype == np.uint8:
        images = images.astype(np.float32) / 255.0
    # (num_samples, *input_shape): a single channel lets one reshape serve both
    # channels_last and channels_first.
    return images.astype(np.float32).reshape((len(images), *model_input_shape(model)))


def conv_kernels(layer) -> np.ndarray:
    """Return a Conv2D layer's kernels as (filters, input_channels, height, width)."""
    # Keras keeps (height, width, input_channels, filters) in both data formats.
    kernel = np.asarray(layer.get_weights()[0], dtype=np.float32)
    return kernel.transpose(3, 2, 0, 1)


def first_dense_weights(model) -> np.ndarray | None:
    """Return the first Dense layer's weights as (units, 28, 28) images.

    Returns None when that layer does not read the pixels directly: in a model
    with Conv2D layers, or when its kernel does not have 784 rows.
    """
    if conv_layers(model) or not dense_layers(model):
        return None
    kernel = np.asarray(dense_layers(model)[0].get_weights()[0], dtype=np.float32)
    if kernel.shape[0] != NUM_PIXELS:
        return None
    # (784, units) -> (units, 28, 28): Flatten keeps row-major pixel order.
    return kernel.T.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)


def as_probabilities(outputs: np.ndarray) -> tuple[np.ndarray, bool]:
    """Return softmax probabilities and whether a softmax had to be applied.

    A model from elsewhere may end in logits. Rows that are not already
    non-negative with a sum of one get a softmax, so the bars stay readable.
    """
    outputs = np.asarray(outputs, dtype=np.float32)
    row_sums = outputs.sum(axis=-1)
    if outputs.min() >= 0 and np.allclose(row_sums, 1.0, atol=1e-3):
        return outputs, False
    shifted = np.exp(outputs - outputs.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True), True
