"""Tests for mnist_core.models: the tutorial's layers, counts and optimizers."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from mnist_core.config import CNNConfig, DenseLayerSpec, MLPConfig
from mnist_core.models import (
    build_cnn,
    build_mlp,
    build_model,
    build_optimizer,
    compile_model,
    input_shape_for,
    needs_xla,
)


@pytest.fixture(scope="module")
def tutorial_mlp():
    return build_mlp()


@pytest.fixture(scope="module")
def tutorial_cnn():
    return build_cnn()


def layer_summary(model) -> list[tuple]:
    """(class name, the layer's knobs) for each layer, in forward order."""
    rows = []
    for layer in model.layers:
        name = type(layer).__name__
        if name == "Dense":
            rows.append((name, layer.units, layer.activation.__name__))
        elif name == "Dropout":
            rows.append((name, layer.rate))
        elif name == "Conv2D":
            activation = layer.activation.__name__
            rows.append((name, layer.filters, layer.kernel_size, activation))
        elif name == "MaxPooling2D":
            rows.append((name, layer.pool_size))
        else:
            rows.append((name,))
    return rows


def test_build_mlp_default_parameter_count(tutorial_mlp):
    assert tutorial_mlp.count_params() == 669_706


def test_build_cnn_default_parameter_count(tutorial_cnn):
    assert tutorial_cnn.count_params() == 1_199_882


def test_build_mlp_default_layers_in_tutorial_order(tutorial_mlp):
    assert layer_summary(tutorial_mlp) == [
        ("Dense", 512, "relu"),
        ("Dropout", 0.2),
        ("Dense", 512, "relu"),
        ("Dropout", 0.2),
        ("Dense", 10, "softmax"),
    ]


def test_build_cnn_default_layers_in_tutorial_order(tutorial_cnn):
    assert layer_summary(tutorial_cnn) == [
        ("Conv2D", 32, (3, 3), "relu"),
        ("Conv2D", 64, (3, 3), "relu"),
        ("MaxPooling2D", (2, 2)),
        ("Dropout", 0.25),
        ("Flatten",),
        ("Dense", 128, "relu"),
        ("Dropout", 0.5),
        ("Dense", 10, "softmax"),
    ]


@pytest.mark.parametrize("architecture", ["mlp", "cnn"])
def test_build_model_output_shape(architecture, tutorial_mlp, tutorial_cnn):
    model = tutorial_mlp if architecture == "mlp" else tutorial_cnn
    assert model.output_shape == (None, 10)


def test_build_mlp_input_shape(tutorial_mlp):
    assert tutorial_mlp.input_shape == (None, 784)


def test_build_cnn_input_shape(tutorial_cnn):
    assert tutorial_cnn.input_shape == (None, 28, 28, 1)


def test_build_cnn_channels_first_input_shape():
    model = build_cnn(CNNConfig(data_format="channels_first"))
    assert model.input_shape == (None, 1, 28, 28)


def test_build_cnn_channels_first_sets_every_conv_layer():
    model = build_cnn(CNNConfig(data_format="channels_first"))
    formats = {
        layer.data_format for layer in model.layers if hasattr(layer, "data_format")
    }
    assert formats == {"channels_first"}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (MLPConfig(), (784,)),
        (CNNConfig(), (28, 28, 1)),
        (CNNConfig(data_format="channels_first"), (1, 28, 28)),
    ],
    ids=["mlp", "cnn_channels_last", "cnn_channels_first"],
)
def test_input_shape_for(config, expected):
    assert input_shape_for(config) == expected


def test_build_mlp_without_dropout_has_no_dropout_layers():
    config = MLPConfig(hidden_layers=(DenseLayerSpec(dropout_rate=0.0),))
    model = build_mlp(config)
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense"]


def test_build_mlp_mixed_precision_keeps_float32_output():
    model = build_mlp(MLPConfig(), dtype="mixed_bfloat16")
    assert model.get_layer("dense_1").compute_dtype == "bfloat16"
    assert model.get_layer("output").compute_dtype == "float32"


def test_same_seed_builds_same_weights():
    config = MLPConfig(hidden_layers=(DenseLayerSpec(units=16),), seed=3)
    first = build_mlp(config).get_layer("dense_1").get_weights()[0]
    second = build_mlp(config).get_layer("dense_1").get_weights()[0]
    np.testing.assert_array_equal(first, second)


def test_other_seed_builds_other_weights():
    config = MLPConfig(hidden_layers=(DenseLayerSpec(units=16),), seed=3)
    other = dataclasses.replace(config, seed=4)
    first = build_mlp(config).get_layer("dense_1").get_weights()[0]
    second = build_mlp(other).get_layer("dense_1").get_weights()[0]
    assert not np.array_equal(first, second)


def test_build_model_picks_architecture():
    assert build_model(MLPConfig()).name == "mlp"
    assert build_model(CNNConfig()).name == "cnn"


@pytest.mark.parametrize(
    ("config", "optimizer_class", "learning_rate"),
    [
        (MLPConfig(), keras.optimizers.RMSprop, 0.001),
        (CNNConfig(), keras.optimizers.Adadelta, 1.0),
    ],
    ids=["mlp_rmsprop", "cnn_adadelta"],
)
def test_tutorial_optimizer_and_learning_rate(config, optimizer_class, learning_rate):
    optimizer = build_optimizer(config)
    assert type(optimizer) is optimizer_class
    assert float(optimizer.learning_rate) == pytest.approx(learning_rate)


def test_tutorial_batch_size_and_epochs():
    assert MLPConfig().batch_size == 128
    assert CNNConfig().batch_size == 128
    assert MLPConfig().epochs == 20
    assert CNNConfig().epochs == 12


def test_build_optimizer_sgd_gets_momentum():
    optimizer = build_optimizer(MLPConfig(optimizer="sgd", momentum=0.9))
    assert type(optimizer) is keras.optimizers.SGD
    assert float(optimizer.momentum) == pytest.approx(0.9)


def test_compile_model_uses_tutorial_loss_and_optimizer():
    model = build_mlp(MLPConfig(hidden_layers=(DenseLayerSpec(units=8),)))
    compile_model(model, MLPConfig())
    assert model.loss == "categorical_crossentropy"
    assert type(model.optimizer) is keras.optimizers.RMSprop


@pytest.mark.parametrize(
    "config", [MLPConfig(), CNNConfig()], ids=["mlp", "cnn_channels_last"]
)
def test_needs_xla_false_for_channels_last(config):
    assert needs_xla(config) is False


def test_needs_xla_for_channels_first_without_gpu():
    if tf.config.list_logical_devices("GPU"):
        pytest.skip("with a GPU, TensorFlow trains channels_first without XLA")
    assert needs_xla(CNNConfig(data_format="channels_first")) is True
