"""Tests for mnist_core.config: tutorial defaults, validation, dict round trip."""

from __future__ import annotations

import dataclasses
import json

import pytest

from mnist_core.config import (
    CNNConfig,
    ConvBlockSpec,
    DenseLayerSpec,
    ImageOperation,
    MLPConfig,
    changed_fields,
    config_from_dict,
    config_to_dict,
    default_config,
    default_learning_rate,
)


def test_default_mlp_config_matches_tutorial():
    config = MLPConfig()
    assert config.optimizer == "rmsprop"
    assert config.learning_rate == 0.001
    assert config.batch_size == 128
    assert config.epochs == 20
    assert config.output_activation == "softmax"
    assert config.hidden_layers == (
        DenseLayerSpec(512, "relu", 0.2),
        DenseLayerSpec(512, "relu", 0.2),
    )


def test_default_cnn_config_matches_tutorial():
    config = CNNConfig()
    assert config.optimizer == "adadelta"
    assert config.learning_rate == 1.0
    assert config.batch_size == 128
    assert config.epochs == 12
    assert config.conv_blocks == (
        ConvBlockSpec(filters=32, kernel_size=3, activation="relu", pooling="none"),
        ConvBlockSpec(filters=64, kernel_size=3, activation="relu", pooling="max"),
    )
    assert config.conv_blocks[1].pool_size == 2
    assert config.conv_dropout_rate == 0.25
    assert config.dense_units == 128
    assert config.dense_dropout_rate == 0.5
    assert config.data_format == "channels_last"


@pytest.mark.parametrize("architecture", ["mlp", "cnn"])
def test_default_config_equals_class_defaults(architecture):
    expected = MLPConfig() if architecture == "mlp" else CNNConfig()
    assert default_config(architecture) == expected


def test_default_config_rejects_unknown_architecture():
    with pytest.raises(ValueError, match="architecture"):
        default_config("rnn")


def test_default_learning_rate_adadelta_is_tutorial_value():
    assert default_learning_rate("adadelta") == 1.0


def test_default_learning_rate_adam_is_keras_default():
    assert default_learning_rate("adam") == 0.001


# (field, bad value): each out of its range or of the wrong kind.
TRAINING_FIELD_CASES = [
    ("optimizer", "lbfgs"),
    ("learning_rate", 0.0),
    ("learning_rate", 101.0),
    ("learning_rate", float("nan")),
    ("momentum", 1.0),
    ("batch_size", 0),
    ("batch_size", 60_001),
    ("batch_size", 12.5),
    ("epochs", 0),
    ("epochs", 501),
    ("epochs", True),
    ("train_limit", 9),
    ("seed", -1),
    ("validation", "holdout"),
    ("validation_split", 0.0),
    ("validation_split", 0.6),
    ("precision", "float16"),
    ("steps_per_execution", 0),
    ("output_activation", "tanh"),
]


@pytest.mark.parametrize(
    ("field_name", "value"),
    TRAINING_FIELD_CASES,
    ids=[f"{name}={value!r}" for name, value in TRAINING_FIELD_CASES],
)
@pytest.mark.parametrize("config_class", [MLPConfig, CNNConfig], ids=["mlp", "cnn"])
def test_config_rejects_out_of_range_field(config_class, field_name, value):
    with pytest.raises(ValueError, match=field_name):
        config_class(**{field_name: value})


CNN_FIELD_CASES = [
    ("conv_dropout_rate", 0.96),
    ("dense_units", 0),
    ("dense_units", 4097),
    ("dense_activation", "swish"),
    ("dense_dropout_rate", -0.1),
    ("data_format", "channels_middle"),
]


@pytest.mark.parametrize(
    ("field_name", "value"),
    CNN_FIELD_CASES,
    ids=[f"{name}={value!r}" for name, value in CNN_FIELD_CASES],
)
def test_cnn_config_rejects_out_of_range_field(field_name, value):
    with pytest.raises(ValueError, match=field_name):
        CNNConfig(**{field_name: value})


LAYER_FIELD_CASES = [
    (DenseLayerSpec, "units", 0),
    (DenseLayerSpec, "units", 4097),
    (DenseLayerSpec, "activation", "swish"),
    (DenseLayerSpec, "dropout_rate", 0.99),
    (ConvBlockSpec, "filters", 513),
    (ConvBlockSpec, "kernel_size", 0),
    (ConvBlockSpec, "kernel_size", 29),
    (ConvBlockSpec, "pooling", "median"),
    (ConvBlockSpec, "pool_size", 0),
]


@pytest.mark.parametrize(
    ("spec_class", "field_name", "value"),
    LAYER_FIELD_CASES,
    ids=[f"{cls.__name__}.{name}={value!r}" for cls, name, value in LAYER_FIELD_CASES],
)
def test_layer_spec_rejects_out_of_range_field(spec_class, field_name, value):
    with pytest.raises(ValueError, match=field_name):
        spec_class(**{field_name: value})


OPERATION_FIELD_CASES = [
    ("train_share", 1.5),
    ("test_share", -0.1),
    ("angle", 361.0),
    ("shift_pixels", 28),
    ("noise_std", 2.5),
]


@pytest.mark.parametrize(
    ("field_name", "value"),
    OPERATION_FIELD_CASES,
    ids=[f"{name}={value!r}" for name, value in OPERATION_FIELD_CASES],
)
def test_image_operation_rejects_out_of_range_field(field_name, value):
    with pytest.raises(ValueError, match=field_name):
        ImageOperation(name="rotate", **{field_name: value})


def test_image_operation_rejects_unknown_name():
    with pytest.raises(ValueError, match="image operation"):
        ImageOperation(name="blur")


def test_range_error_names_value_and_range():
    with pytest.raises(ValueError) as raised:
        MLPConfig(epochs=501)
    message = str(raised.value)
    assert "501" in message
    assert "1 and 500" in message


def test_mlp_config_rejects_eleven_hidden_layers():
    with pytest.raises(ValueError, match="hidden layers"):
        MLPConfig(hidden_layers=(DenseLayerSpec(),) * 11)


def test_mlp_config_rejects_list_of_layers():
    with pytest.raises(ValueError, match="hidden_layers"):
        MLPConfig(hidden_layers=[DenseLayerSpec()])


def test_cnn_config_rejects_empty_conv_blocks():
    with pytest.raises(ValueError, match="conv_blocks"):
        CNNConfig(conv_blocks=())


def test_cnn_config_rejects_global_pooling_before_last_block():
    blocks = (ConvBlockSpec(pooling="global_max"), ConvBlockSpec())
    with pytest.raises(ValueError, match="conv block 1"):
        CNNConfig(conv_blocks=blocks)


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        MLPConfig().epochs = 3


NON_DEFAULT_CONFIGS = {
    "mlp": MLPConfig(
        hidden_layers=(DenseLayerSpec(64, "tanh", 0.0),),
        optimizer="sgd",
        learning_rate=0.05,
        momentum=0.9,
        train_limit=500,
        validation="split",
        image_operation=ImageOperation("rotate", 0.5, 0.25, angle=45.0),
    ),
    "cnn": CNNConfig(
        conv_blocks=(
            ConvBlockSpec(16, 5, "elu", "average", 3),
            ConvBlockSpec(8, 2, "relu", "global_max"),
        ),
        data_format="channels_first",
        dense_units=20,
        seed=7,
        steps_per_execution=4,
    ),
}


@pytest.mark.parametrize(
    "config", NON_DEFAULT_CONFIGS.values(), ids=NON_DEFAULT_CONFIGS
)
def test_config_dict_round_trip(config):
    data = config_to_dict(config)
    assert data["architecture"] == config.architecture
    assert config_from_dict(data) == config


@pytest.mark.parametrize(
    "config", NON_DEFAULT_CONFIGS.values(), ids=NON_DEFAULT_CONFIGS
)
def test_config_json_round_trip(config):
    text = json.dumps(config_to_dict(config))
    assert config_from_dict(json.loads(text)) == config


@pytest.mark.parametrize("architecture", ["mlp", "cnn"])
def test_default_config_dict_round_trip(architecture):
    config = default_config(architecture)
    assert config_from_dict(config_to_dict(config)) == config


def test_config_from_dict_rejects_unknown_field():
    data = config_to_dict(MLPConfig())
    data["neurons"] = 3
    with pytest.raises(ValueError, match="^the config has unknown fields: neurons$"):
        config_from_dict(data)


@pytest.mark.parametrize(
    ("architecture", "field", "value", "message"),
    [
        ("mlp", "hidden_layers", [{"units": 8, "size": 2}], "a hidden layer has"),
        ("cnn", "conv_blocks", [{"filters": 4, "evil": 1}], "a convolution block has"),
        (
            "mlp",
            "image_operation",
            {"name": "none", "rotate": 1},
            "image_operation has",
        ),
        ("cnn", "conv_blocks", [7], "a convolution block must be a mapping"),
    ],
    ids=["hidden_layer", "conv_block", "image_operation", "block_not_mapping"],
)
def test_config_from_dict_names_nested_field(architecture, field, value, message):
    data = config_to_dict(default_config(architecture))
    data[field] = value
    with pytest.raises(ValueError, match=message):
        config_from_dict(data)


def test_config_from_dict_rejects_missing_architecture():
    data = config_to_dict(MLPConfig())
    del data["architecture"]
    with pytest.raises(ValueError, match="architecture"):
        config_from_dict(data)


def test_config_from_dict_rejects_non_mapping():
    with pytest.raises(ValueError, match="mapping"):
        config_from_dict(["mlp"])


def test_changed_fields_lists_only_changed_knobs():
    config = MLPConfig(epochs=3, optimizer="adam")
    assert changed_fields(config) == {
        "epochs": (20, 3),
        "optimizer": ("rmsprop", "adam"),
    }


def test_changed_fields_empty_for_tutorial_config():
    assert changed_fields(CNNConfig()) == {}


def test_changed_fields_reports_whole_layer_list():
    config = MLPConfig(hidden_layers=(DenseLayerSpec(units=20),))
    changes = changed_fields(config)
    assert list(changes) == ["hidden_layers"]
    assert changes["hidden_layers"][1] == (
        {"units": 20, "activation": "relu", "dropout_rate": 0.2},
    )
