"""Tests for the exercise presets: settings that apply and sweeps that plan."""

import dataclasses

import pytest

from mnist_core.architecture import count_parameters
from mnist_core.config import CNNConfig, MLPConfig, default_config
from mnist_core.knobs import settings_from_config
from mnist_core.presets import (
    PRESETS,
    RUN_BUDGET_FIELDS,
    apply_preset,
    find_preset,
    presets_for,
)
from mnist_core.sweeps import plan_sweep

PRESET_IDS = [preset.key for preset in PRESETS]


def test_presets_cover_every_exercise_bullet():
    mlp_keys = {preset.key for preset in presets_for("mlp")}
    cnn_keys = {preset.key for preset in presets_for("cnn")}
    assert mlp_keys == {
        "mlp_hidden_20",
        "mlp_hidden_200",
        "mlp_hidden_1000",
        "mlp_relu_output",
        "mlp_sigmoid_output",
        "mlp_softmax_everywhere",
        "mlp_dropout_0",
        "mlp_dropout_0.9",
        "mlp_extra_layer",
        "mlp_learning_rate_0.01",
        "mlp_learning_rate_0.0001",
    }
    assert cnn_keys == {
        "cnn_average_pooling",
        "cnn_global_max_pooling",
        "cnn_kernel_2x2",
        "cnn_flip_10",
        "cnn_flip_50",
    }


def test_preset_keys_unique():
    assert len(PRESET_IDS) == len(set(PRESET_IDS))


@pytest.mark.parametrize("preset", PRESETS, ids=PRESET_IDS)
def test_preset_changes_tutorial_config(preset):
    config = apply_preset(preset, default_config(preset.architecture))

    assert settings_from_config(config)
    assert preset.purpose.endswith("?")
    assert count_parameters(config) > 0


@pytest.mark.parametrize("preset", PRESETS, ids=PRESET_IDS)
def test_preset_sweep_plans_every_value(preset):
    base = apply_preset(preset, default_config(preset.architecture))

    runs = plan_sweep(base, preset.sweep_knob, preset.sweep_values)

    assert [run.value for run in runs] == list(preset.sweep_values)
    assert len({run.config for run in runs}) == len(preset.sweep_values)


# What each preset changes, as the settings that turn the tutorial into it.
EXPECTED_SETTINGS = {
    "mlp_hidden_20": {"hidden_layers": "20:relu:0.2,20:relu:0.2"},
    "mlp_hidden_200": {"hidden_layers": "200:relu:0.2,200:relu:0.2"},
    "mlp_hidden_1000": {"hidden_layers": "1000:relu:0.2,1000:relu:0.2"},
    "mlp_relu_output": {"output_activation": "relu"},
    "mlp_sigmoid_output": {"output_activation": "sigmoid"},
    "mlp_softmax_everywhere": {"hidden_layers": "512:softmax:0.2,512:softmax:0.2"},
    "mlp_dropout_0": {"hidden_layers": "512:relu:0.0,512:relu:0.0"},
    "mlp_dropout_0.9": {"hidden_layers": "512:relu:0.9,512:relu:0.9"},
    "mlp_extra_layer": {"hidden_layers": "512:relu:0.2,512:relu:0.2,128:relu:0.2"},
    "mlp_learning_rate_0.01": {"learning_rate": "0.01"},
    "mlp_learning_rate_0.0001": {"learning_rate": "0.0001"},
    "cnn_average_pooling": {"conv_blocks": "32:3:relu:none:2,64:3:relu:average:2"},
    "cnn_global_max_pooling": {
        "conv_blocks": "32:3:relu:none:2,64:3:relu:global_max:2"
    },
    "cnn_kernel_2x2": {"conv_blocks": "32:2:relu:none:2,64:2:relu:max:2"},
    "cnn_flip_10": {
        "image_operation.name": "flip_horizontal",
        "image_operation.train_share": "0.1",
        "image_operation.test_share": "0.1",
    },
    "cnn_flip_50": {
        "image_operation.name": "flip_horizontal",
        "image_operation.train_share": "0.5",
        "image_operation.test_share": "0.5",
    },
}


@pytest.mark.parametrize("key", sorted(EXPECTED_SETTINGS))
def test_preset_sets_its_knobs(key):
    preset = find_preset(key)

    config = apply_preset(preset, default_config(preset.architecture))

    assert settings_from_config(config) == EXPECTED_SETTINGS[key]


def test_apply_preset_keeps_run_budget():
    current = MLPConfig(
        epochs=1,
        train_limit=300,
        seed=7,
        validation="split",
        validation_split=0.2,
        precision="float32",
        steps_per_execution=4,
        batch_size=32,
    )

    config = apply_preset(find_preset("mlp_dropout_0"), current)

    for name in RUN_BUDGET_FIELDS:
        assert getattr(config, name) == getattr(current, name), name
    assert config.batch_size == 128


def test_apply_preset_resets_model_knobs():
    current = dataclasses.replace(MLPConfig(), output_activation="linear")

    config = apply_preset(find_preset("mlp_hidden_20"), current)

    assert config.output_activation == "softmax"


def test_apply_preset_rejects_other_architecture():
    with pytest.raises(ValueError, match="cnn"):
        apply_preset(find_preset("cnn_kernel_2x2"), MLPConfig())


def test_find_preset_unknown_key():
    with pytest.raises(KeyError, match="no_such_preset"):
        find_preset("no_such_preset")


def test_flip_preset_sweep_sets_both_shares():
    base = apply_preset(find_preset("cnn_flip_10"), CNNConfig())

    runs = plan_sweep(base, find_preset("cnn_flip_10").sweep_knob, ["0.5"])

    operation = runs[0].config.image_operation
    assert operation.train_share == 0.5
    assert operation.test_share == 0.5
