"""Tests for mnist_core.architecture: shapes and counts agree with built models."""

from __future__ import annotations

import dataclasses

import pytest

from mnist_core.architecture import (
    ArchitectureError,
    check_buildable,
    compare_with_tutorial,
    count_macs,
    count_parameters,
    describe_architecture,
)
from mnist_core.config import CNNConfig, ConvBlockSpec, DenseLayerSpec, MLPConfig
from mnist_core.models import build_model

TUTORIAL_CNN = CNNConfig()
TUTORIAL_MLP = MLPConfig()


def with_every_block(config: CNNConfig, **changes) -> CNNConfig:
    blocks = tuple(
        dataclasses.replace(block, **changes) for block in config.conv_blocks
    )
    return dataclasses.replace(config, conv_blocks=blocks)


def with_last_block(config: CNNConfig, **changes) -> CNNConfig:
    *first, last = config.conv_blocks
    blocks = (*first, dataclasses.replace(last, **changes))
    return dataclasses.replace(config, conv_blocks=blocks)


# The tutorial's models with one knob changed.
ONE_KNOB_CONFIGS = {
    "mlp_tutorial": TUTORIAL_MLP,
    "mlp_units_20": MLPConfig(hidden_layers=(DenseLayerSpec(units=20),) * 2),
    "mlp_units_1000": MLPConfig(hidden_layers=(DenseLayerSpec(units=1000),) * 2),
    "mlp_three_layers": MLPConfig(hidden_layers=(DenseLayerSpec(),) * 3),
    "mlp_dropout_0": MLPConfig(hidden_layers=(DenseLayerSpec(dropout_rate=0.0),) * 2),
    "cnn_tutorial": TUTORIAL_CNN,
    "cnn_kernel_2": with_every_block(TUTORIAL_CNN, kernel_size=2),
    "cnn_kernel_5": with_every_block(TUTORIAL_CNN, kernel_size=5),
    "cnn_average_pooling": with_last_block(TUTORIAL_CNN, pooling="average"),
    "cnn_global_max": with_last_block(TUTORIAL_CNN, pooling="global_max"),
    "cnn_global_average": with_last_block(TUTORIAL_CNN, pooling="global_average"),
    "cnn_no_pooling": with_last_block(TUTORIAL_CNN, pooling="none"),
    "cnn_pool_size_3": with_last_block(TUTORIAL_CNN, pool_size=3),
    "cnn_channels_first": dataclasses.replace(
        TUTORIAL_CNN, data_format="channels_first"
    ),
    "cnn_three_blocks": dataclasses.replace(
        TUTORIAL_CNN,
        conv_blocks=(*TUTORIAL_CNN.conv_blocks, ConvBlockSpec(filters=64)),
    ),
    "cnn_dropout_0": dataclasses.replace(
        TUTORIAL_CNN, conv_dropout_rate=0.0, dense_dropout_rate=0.0
    ),
}


@pytest.fixture(scope="module")
def built_models():
    """Keras models for ONE_KNOB_CONFIGS, built once for the module."""
    return {name: build_model(config) for name, config in ONE_KNOB_CONFIGS.items()}


@pytest.mark.parametrize("name", ONE_KNOB_CONFIGS)
def test_describe_layer_names_match_keras(name, built_models):
    rows = describe_architecture(ONE_KNOB_CONFIGS[name])
    layers = built_models[name].layers
    assert [row.name for row in rows] == [layer.name for layer in layers]


@pytest.mark.parametrize("name", ONE_KNOB_CONFIGS)
def test_describe_layer_types_match_keras(name, built_models):
    rows = describe_architecture(ONE_KNOB_CONFIGS[name])
    layers = built_models[name].layers
    assert [row.layer_type for row in rows] == [
        type(layer).__name__ for layer in layers
    ]


@pytest.mark.parametrize("name", ONE_KNOB_CONFIGS)
def test_describe_output_shapes_match_keras(name, built_models):
    rows = describe_architecture(ONE_KNOB_CONFIGS[name])
    layers = built_models[name].layers
    assert [row.output_shape for row in rows] == [
        tuple(layer.output.shape[1:]) for layer in layers
    ]


@pytest.mark.parametrize("name", ONE_KNOB_CONFIGS)
def test_describe_parameter_counts_match_keras(name, built_models):
    rows = describe_architecture(ONE_KNOB_CONFIGS[name])
    layers = built_models[name].layers
    assert [row.num_parameters for row in rows] == [
        layer.count_params() for layer in layers
    ]


@pytest.mark.parametrize("name", ONE_KNOB_CONFIGS)
def test_count_parameters_matches_keras_total(name, built_models):
    model = built_models[name]
    assert count_parameters(ONE_KNOB_CONFIGS[name]) == model.count_params()


def test_count_parameters_tutorial_mlp():
    assert count_parameters(TUTORIAL_MLP) == 669_706


def test_count_parameters_tutorial_cnn():
    assert count_parameters(TUTORIAL_CNN) == 1_199_882


def test_count_macs_tutorial_cnn_by_hand():
    conv_1 = 26 * 26 * (3 * 3 * 1) * 32  # 26x26 outputs, 3x3x1 kernel, 32 filters
    conv_2 = 24 * 24 * (3 * 3 * 32) * 64
    dense = (12 * 12 * 64) * 128  # flattened 12x12x64 map after 2x2 pooling
    output = 128 * 10
    assert count_macs(TUTORIAL_CNN) == conv_1 + conv_2 + dense + output


def test_count_macs_tutorial_mlp_by_hand():
    expected = 784 * 512 + 512 * 512 + 512 * 10
    assert count_macs(TUTORIAL_MLP) == expected


def test_compare_with_tutorial_reports_both_counts():
    config = MLPConfig(hidden_layers=(DenseLayerSpec(units=20),) * 2)
    comparison = compare_with_tutorial(config)
    assert comparison["parameters"] == (669_706, 16_330)
    assert comparison["macs"][0] == count_macs(TUTORIAL_MLP)


IMPOSSIBLE_CONFIGS = {
    # 28x28 -> conv 3x3 -> 26x26 -> pool 2x2 -> 13x13, too small for 28x28
    "kernel_28_after_pooling": (
        CNNConfig(
            conv_blocks=(
                ConvBlockSpec(filters=8, pooling="max"),
                ConvBlockSpec(filters=8, kernel_size=28),
            )
        ),
        "conv_2",
    ),
    # 28x28 -> conv 20x20 -> 9x9, too small for a 10x10 pooling window
    "pool_10_on_9x9_map": (
        CNNConfig(
            conv_blocks=(ConvBlockSpec(kernel_size=20, pooling="max", pool_size=10),)
        ),
        "pool_1",
    ),
}


@pytest.mark.parametrize(
    ("config", "layer_name"), IMPOSSIBLE_CONFIGS.values(), ids=IMPOSSIBLE_CONFIGS
)
def test_describe_rejects_impossible_config(config, layer_name):
    with pytest.raises(ArchitectureError, match=layer_name):
        describe_architecture(config)


@pytest.mark.parametrize(
    ("config", "layer_name"), IMPOSSIBLE_CONFIGS.values(), ids=IMPOSSIBLE_CONFIGS
)
def test_build_rejects_impossible_config(config, layer_name):
    with pytest.raises(ArchitectureError, match=layer_name):
        build_model(config)


def test_check_buildable_accepts_tutorial_cnn():
    check_buildable(TUTORIAL_CNN)


def test_architecture_error_is_value_error():
    assert issubclass(ArchitectureError, ValueError)


def test_global_pooling_before_last_block_names_block():
    blocks = (ConvBlockSpec(pooling="global_average"), ConvBlockSpec())
    with pytest.raises(ValueError, match="conv block 1"):
        CNNConfig(conv_blocks=blocks)


def test_kernel_equal_to_map_leaves_one_pixel():
    config = CNNConfig(conv_blocks=(ConvBlockSpec(kernel_size=28),))
    conv_row = describe_architecture(config)[0]
    assert conv_row.output_shape == (1, 1, 32)
