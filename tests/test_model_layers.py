"""Tests for mnist_core.model_layers: layers by type, inputs, kernels, outputs."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mnist_core.config import CNNConfig, ConvBlockSpec
from mnist_core.model_layers import (
    InspectionError,
    as_probabilities,
    conv_kernels,
    model_kind,
    prepare_inputs,
)
from mnist_core.models import build_cnn


def test_conv_kernels_of_first_layer_shape():
    model = build_cnn(CNNConfig(conv_blocks=(ConvBlockSpec(filters=4),)))

    assert conv_kernels(model.layers[0]).shape == (4, 1, 3, 3)


@pytest.mark.parametrize("shape", [(784,), (28, 28, 1), (1, 28, 28), (28, 28)], ids=str)
def test_prepare_inputs_reads_input_shape(shape):
    model = keras.Sequential(
        [keras.Input(shape=shape), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    images = np.full((2, 28, 28), 255, dtype=np.uint8)

    inputs = prepare_inputs(model, images)

    assert inputs.shape == (2, *shape)
    assert inputs.dtype == np.float32
    assert inputs.max() == 1.0


def test_model_kind_rejects_model_without_weights():
    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Softmax()])
    with pytest.raises(InspectionError, match="no Conv2D or Dense"):
        model_kind(model)


def test_as_probabilities_applies_softmax_to_logits():
    logits = np.array([[2.0, -1.0, 0.5]], dtype=np.float32)
    expected = np.exp(logits) / np.exp(logits).sum()

    probabilities, softmaxed = as_probabilities(logits)

    assert softmaxed
    np.testing.assert_allclose(probabilities, expected, rtol=1e-6)


def test_as_probabilities_keeps_probabilities():
    rows = np.array([[0.25, 0.75], [1.0, 0.0]], dtype=np.float32)

    probabilities, softmaxed = as_probabilities(rows)

    assert not softmaxed
    np.testing.assert_array_equal(probabilities, rows)
