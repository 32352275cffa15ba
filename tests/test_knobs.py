"""Tests for mnist_core.knobs: "name=value" settings in every form."""

from __future__ import annotations

import pytest

from mnist_core import knobs
from mnist_core.config import (
    CNNConfig,
    ConvBlockSpec,
    DenseLayerSpec,
    ImageOperation,
    MLPConfig,
)
from mnist_core.knobs import (
    KnobError,
    apply_knob_setting,
    apply_knob_settings,
    config_from_settings,
    format_layer_list,
    parse_layer_list,
    settings_from_config,
)


def test_top_level_float_knob():
    config = apply_knob_setting(MLPConfig(), "learning_rate=0.01")
    assert config.learning_rate == 0.01


def test_top_level_int_knob():
    config = apply_knob_setting(MLPConfig(), "epochs=3")
    assert config.epochs == 3


def test_top_level_int_knob_accepts_whole_float_text():
    config = apply_knob_setting(MLPConfig(), "batch_size=64.0")
    assert config.batch_size == 64


def test_top_level_text_knob():
    config = apply_knob_setting(CNNConfig(), "data_format=channels_first")
    assert config.data_format == "channels_first"


def test_spaces_around_name_and_value_are_ignored():
    config = apply_knob_setting(MLPConfig(), " epochs = 4 ")
    assert config.epochs == 4


def test_train_limit_takes_whole_number():
    config = apply_knob_setting(MLPConfig(), "train_limit=300")
    assert config.train_limit == 300


@pytest.mark.parametrize("text", ["none", "None", "all", ""])
def test_train_limit_none_after_number(text):
    # A knob whose default is None takes "none" again after it was set.
    config = MLPConfig(train_limit=300)
    assert apply_knob_setting(config, f"train_limit={text}").train_limit is None


def test_train_limit_rejects_fraction():
    with pytest.raises(KnobError, match="train_limit"):
        apply_knob_setting(MLPConfig(), "train_limit=300.5")


def test_float_knob_set_after_whole_value():
    # A float knob holding a whole number (here 1) still takes a fraction.
    config = MLPConfig(learning_rate=1)
    assert apply_knob_setting(config, "learning_rate=0.5").learning_rate == 0.5


def test_steps_per_execution_back_to_none():
    config = MLPConfig(steps_per_execution=8)
    updated = apply_knob_setting(config, "steps_per_execution=none")
    assert updated.steps_per_execution is None


def test_one_layer_field():
    config = apply_knob_setting(MLPConfig(), "hidden_layers.1.units=20")
    assert config.hidden_layers[0].units == 512
    assert config.hidden_layers[1].units == 20


def test_every_layer_field():
    config = apply_knob_setting(MLPConfig(), "hidden_layers.*.dropout_rate=0")
    assert [layer.dropout_rate for layer in config.hidden_layers] == [0.0, 0.0]


def test_conv_block_field():
    config = apply_knob_setting(CNNConfig(), "conv_blocks.0.kernel_size=5")
    assert config.conv_blocks[0].kernel_size == 5
    assert config.conv_blocks[1].kernel_size == 3


def test_hidden_layers_compact_form():
    config = apply_knob_setting(MLPConfig(), "hidden_layers=64:tanh:0.1,32")
    assert config.hidden_layers == (
        DenseLayerSpec(64, "tanh", 0.1),
        DenseLayerSpec(32, "relu", 0.2),
    )


def test_conv_blocks_compact_form():
    config = apply_knob_setting(CNNConfig(), "conv_blocks=16:5:elu:average:3")
    assert config.conv_blocks == (ConvBlockSpec(16, 5, "elu", "average", 3),)


def test_hidden_layers_compact_form_empty_list():
    config = apply_knob_setting(MLPConfig(), "hidden_layers=")
    assert config.hidden_layers == ()


def test_image_operation_field():
    config = apply_knob_setting(MLPConfig(), "image_operation.name=flip_vertical")
    config = apply_knob_setting(config, "image_operation.train_share=0.5")
    assert config.image_operation == ImageOperation("flip_vertical", 0.5)


def test_image_operation_int_field():
    config = apply_knob_setting(MLPConfig(), "image_operation.shift_pixels=-3")
    assert config.image_operation.shift_pixels == -3


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("1", True), ("On", True), ("false", False), ("no", False)],
)
def test_convert_bool_text(text, expected):
    # No config field is a bool today; the conversion is ready for one.
    assert knobs._convert(text, False, "flag") is expected


def test_convert_rejects_other_bool_text():
    with pytest.raises(KnobError, match="flag"):
        knobs._convert("maybe", False, "flag")


def test_apply_knob_settings_in_order():
    config = apply_knob_settings(MLPConfig(), ["epochs=3", "epochs=5"])
    assert config.epochs == 5


def test_settings_leave_input_config_unchanged():
    config = MLPConfig()
    apply_knob_setting(config, "epochs=3")
    assert config.epochs == 20


BAD_SETTINGS = {
    "unknown_knob": (MLPConfig(), "neurons=3", "neurons"),
    "cnn_knob_on_mlp": (MLPConfig(), "dense_units=3", "dense_units"),
    "no_equals": (MLPConfig(), "epochs", "name=value"),
    "empty_name": (MLPConfig(), "=3", "name=value"),
    "not_a_number": (MLPConfig(), "epochs=many", "epochs"),
    "fraction_for_int": (MLPConfig(), "epochs=2.5", "epochs"),
    "out_of_range": (MLPConfig(), "epochs=0", "epochs"),
    "bad_choice": (MLPConfig(), "optimizer=lbfgs", "optimizer"),
    "index_too_large": (MLPConfig(), "hidden_layers.2.units=3", "hidden_layers.2"),
    "negative_index": (MLPConfig(), "hidden_layers.-1.units=3", "hidden_layers.-1"),
    "unknown_layer_field": (MLPConfig(), "hidden_layers.0.filters=3", "filters"),
    "layer_value_out_of_range": (MLPConfig(), "hidden_layers.0.units=0", "units"),
    "unknown_operation_field": (MLPConfig(), "image_operation.blur=1", "blur"),
    "operation_share_too_large": (
        MLPConfig(),
        "image_operation.test_share=2",
        "test_share",
    ),
    "too_many_compact_values": (
        MLPConfig(),
        "hidden_layers=64:relu:0.2:9",
        "hidden_layers layer 1",
    ),
    "bad_compact_value": (CNNConfig(), "conv_blocks=16:x", "kernel_size"),
    "empty_conv_blocks": (CNNConfig(), "conv_blocks=", "conv_blocks"),
    "two_level_path": (MLPConfig(), "hidden_layers.0=3", "hidden_layers.0"),
    "whole_image_operation": (MLPConfig(), "image_operation=rotate", "image_operation"),
}


@pytest.mark.parametrize(
    ("config", "setting", "named"), BAD_SETTINGS.values(), ids=BAD_SETTINGS
)
def test_bad_setting_raises_knob_error(config, setting, named):
    with pytest.raises(KnobError, match=named.replace(".", r"\.")):
        apply_knob_setting(config, setting)


def test_knob_error_is_value_error():
    assert issubclass(KnobError, ValueError)


def test_unknown_knob_error_lists_knobs():
    with pytest.raises(KnobError, match="learning_rate"):
        apply_knob_setting(MLPConfig(), "neurons=3")


def test_format_layer_list_compact_form():
    layers = CNNConfig().conv_blocks
    assert (
        format_layer_list("conv_blocks", layers) == "32:3:relu:none:2,64:3:relu:max:2"
    )


def test_parse_layer_list_inverts_format():
    layers = (DenseLayerSpec(20, "sigmoid", 0.0), DenseLayerSpec(7))
    text = format_layer_list("hidden_layers", layers)
    assert parse_layer_list("hidden_layers", text) == layers


def test_settings_from_tutorial_config_empty():
    assert settings_from_config(MLPConfig()) == {}


def test_settings_from_config_writes_changed_knobs():
    config = MLPConfig(epochs=3, train_limit=500)
    assert settings_from_config(config) == {"epochs": "3", "train_limit": "500"}


NON_DEFAULT_CONFIGS = {
    "mlp": MLPConfig(
        hidden_layers=(DenseLayerSpec(64, "tanh", 0.0), DenseLayerSpec(32)),
        output_activation="sigmoid",
        optimizer="sgd",
        learning_rate=0.05,
        momentum=0.9,
        batch_size=32,
        train_limit=500,
        seed=11,
        validation="split",
        validation_split=0.2,
        precision="float32",
        image_operation=ImageOperation("rotate", 0.5, 0.25, angle=-45.0),
    ),
    "cnn": CNNConfig(
        conv_blocks=(
            ConvBlockSpec(16, 5, "elu", "average", 3),
            ConvBlockSpec(8, 2, "relu", "global_max"),
        ),
        conv_dropout_rate=0.0,
        dense_units=20,
        dense_activation="tanh",
        data_format="channels_first",
        optimizer="adam",
        learning_rate=0.0005,
        epochs=2,
        steps_per_execution=4,
        image_operation=ImageOperation("noise", 1.0, 0.0, noise_std=0.5),
    ),
}


@pytest.mark.parametrize(
    "config", NON_DEFAULT_CONFIGS.values(), ids=NON_DEFAULT_CONFIGS
)
def test_settings_round_trip(config):
    settings = settings_from_config(config)
    assert config_from_settings(config.architecture, settings) == config


@pytest.mark.parametrize(
    "config", NON_DEFAULT_CONFIGS.values(), ids=NON_DEFAULT_CONFIGS
)
def test_settings_values_are_text(config):
    settings = settings_from_config(config)
    assert all(isinstance(value, str) for value in settings.values())


def test_config_from_settings_rejects_bad_value():
    with pytest.raises(KnobError, match="epochs"):
        config_from_settings("mlp", {"epochs": "zero"})
