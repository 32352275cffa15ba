"""Look inside a trained model: feature maps, activations and saliency for one
input, and the predictions on the whole test set, with the Keras graphs built
once per model."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import numpy as np

from mnist_core.config import IMAGE_SIZE, NUM_CLASSES
from mnist_core.model_layers import (
    InspectionError,
    as_probabilities,
    conv_kernels,
    conv_layers,
    dense_layers,
    first_dense_weights,
    flat_layers,
    is_dense_layer,
    is_feature_map_layer,
    model_input_shape,
    model_kind,
    prepare_inputs,
)

# Rows of the test set sent through the model per compiled call.
PREDICT_BATCH_SIZE = 500


@dataclass(frozen=True)
class LayerOutput:
    """One layer's output for one input image.

    `values` is (channels, height, width) for a conv or pooling layer whatever
    its data_format, and (units,) for a Dense or global pooling layer.
    """

    name: str
    layer_type: str
    output_shape: tuple[int, ...]  # as Keras reports it, without the batch axis
    values: np.ndarray


def _to_channels_first(layer, values: np.ndarray) -> np.ndarray:
    """Return one image's conv or pooling output as (channels, height, width)."""
    if values.ndim == 3 and getattr(layer, "data_format", None) != "channels_first":
        return values.transpose(2, 0, 1)
    return values


def build_extractor(model, layers: list):
    """Build one keras.Model from the model's input to `layers`' outputs and its own.

    A Sequential model (also one loaded from a file) is rebuilt as a
    functional graph by applying its layers to a new keras.Input, so its
    weights are shared and nothing depends on the model having been called.
    Raises InspectionError for a functional model whose probed layers sit
    in a nested model.
    """
    import keras

    if isinstance(model, keras.Sequential):
        inputs = keras.Input(shape=model_input_shape(model))
        tensor = inputs
        outputs = []
        for layer in flat_layers(model):
            tensor = layer(tensor)
            if layer in layers:
                outputs.append(tensor)
        return keras.Model(inputs, [*outputs, tensor])
    # NOTE: a functional model that nests a model is not opened here: its
    # inner layers' outputs are not connected to the outer model's input.
    try:
        outputs = [layer.output for layer in layers]
        return keras.Model(model.inputs, [*outputs, *model.outputs])
    except (AttributeError, ValueError) as error:
        raise InspectionError(
            f"cannot read the layer outputs of this functional model ({error})"
        ) from error


def needs_xla(model) -> bool:
    """Tell whether the model has a channels_first Conv2D layer.

    TensorFlow 2.21's CPU Conv2D kernel accepts only NHWC: a channels_first
    convolution raises UnimplementedError eagerly and inside tf.function,
    while an XLA-compiled function runs it (measured on this project's CPU).
    """
    return any(layer.data_format == "channels_first" for layer in conv_layers(model))


class ModelInspector:
    """One model's views for the inside page, with its Keras graphs built once.

    Safe to share between threads: the test-set predictions are computed
    once per data set under a lock, and the compiled functions only read
    weights.
    """

    def __init__(self, model) -> None:
        import tensorflow as tf

        self.model = model
        self.kind = model_kind(model)
        self.input_shape = model_input_shape(model)
        output_shape = tuple(model.output_shape[1:])
        if output_shape != (NUM_CLASSES,):
            raise InspectionError(
                f"the model outputs shape {output_shape}; it needs (10,), "
                "one value per digit"
            )
        # Conv, pooling and hidden Dense layers; the last Dense layer's output
        # is the model's own, which the extractor returns anyway.
        last_dense = dense_layers(model)[-1] if dense_layers(model) else None
        self.probed_layers = [
            layer
            for layer in flat_layers(model)
            if is_feature_map_layer(layer)
            or (is_dense_layer(layer) and layer is not last_dense)
        ]
        extractor = build_extractor(model, self.probed_layers)

        # Keras models called without `training` run in inference mode.
        jit_compile = needs_xla(model)
        self._extract = tf.function(extractor, jit_compile=jit_compile)
        self._predict = tf.function(model, jit_compile=jit_compile)
        self._gradient = tf.function(
            functools.partial(_top_class_gradient, model), jit_compile=jit_compile
        )
        self._lock = threading.Lock()
        self._test_probabilities: dict[str, tuple[np.ndarray, bool]] = {}

    def layer_outputs(self, image: np.ndarray) -> tuple[list[LayerOutput], np.ndarray]:
        """Run one (28, 28) image forward; return every probed layer's output and
        the (10,) probabilities."""
        inputs = prepare_inputs(self.model, image[np.newaxis])
        results = self._extract(inputs)
        outputs = []
        for layer, result in zip(self.probed_layers, results[:-1], strict=True):
            values = np.asarray(result, dtype=np.float32)[0]
            outputs.append(
                LayerOutput(
                    name=layer.name,
                    layer_type=type(layer).__name__,
                    output_shape=tuple(result.shape[1:]),
                    values=_to_channels_first(layer, values),
                )
            )
        probabilities, _ = as_probabilities(np.asarray(results[-1], np.float32)[0])
        return outputs, probabilities

    def saliency(self, image: np.ndarray) -> np.ndarray:
        """Return how much each pixel moves the predicted class's output, in [0, 1].

        The map is |d output[predicted] / d pixel| for one (28, 28) image,
        divided by its maximum (all zeros if the gradient is zero).
        """
        inputs = prepare_inputs(self.model, image[np.newaxis])
        gradient = np.asarray(self._gradient(inputs), dtype=np.float32)
        saliency = np.abs(gradient).reshape(IMAGE_SIZE, IMAGE_SIZE)
        peak = float(saliency.max())
        return saliency / peak if peak > 0 else saliency

    def conv_kernels(self) -> dict[str, np.ndarray]:
        """Return each Conv2D layer's kernels by layer name; see conv_kernels."""
        return {layer.name: conv_kernels(layer) for layer in conv_layers(self.model)}

    def first_dense_weights(self) -> np.ndarray | None:
        """Return the first Dense layer's weights as images; see first_dense_weights."""
        return first_dense_weights(self.model)

    def test_probabilities(
        self, images: np.ndarray, data_key: str
    ) -> tuple[np.ndarray, bool]:
        """Return (num_samples, 10) probabilities for uint8 test images.

        They are computed once per `data_key` (the data set's fingerprint).
        The flag is True when a softmax was applied to the model's outputs.
        """
        with self._lock:
            if data_key not in self._test_probabilities:
                outputs = self._predict_in_batches(prepare_inputs(self.model, images))
                self._test_probabilities[data_key] = as_probabilities(outputs)
            return self._test_probabilities[data_key]

    def _predict_in_batches(self, inputs: np.ndarray) -> np.ndarray:
        """Run the model over `inputs` in batches of one fixed size."""
        batches = []
        for start in range(0, len(inputs), PREDICT_BATCH_SIZE):
            batch = inputs[start : start + PREDICT_BATCH_SIZE]
            # Pad the last batch so one compiled shape serves every call.
            padding = PREDICT_BATCH_SIZE - len(batch)
            padded = np.pad(batch, [(0, padding)] + [(0, 0)] * (batch.ndim - 1))
            outputs = np.asarray(self._predict(padded), dtype=np.float32)
            batches.append(outputs[: len(batch)])
        return np.concatenate(batches)


def _top_class_gradient(model, inputs):
    """Return d output[predicted class] / d inputs for a batch of one."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = tf.cast(model(inputs, training=False), tf.float32)
        score = tf.gather(outputs[0], tf.argmax(outputs[0]))
    return tape.gradient(score, inputs)
