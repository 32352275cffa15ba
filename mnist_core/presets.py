"""One-click settings for each bullet of the tutorial's Exercises 1 and 2.

A preset is data: the knob settings (`mnist_core.knobs` "name=value" text)
that turn the tutorial's model into the one a bullet asks about, and the
values a sweep over that bullet's knob tries. Loading a preset starts from
the tutorial's model and keeps the run's budget (epochs, training-set size,
seed, validation and speed settings), so a quick run stays quick.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from mnist_core.config import RunConfig, default_config
from mnist_core.knobs import apply_knob_settings

# Knobs that size or time a run rather than define the model; a preset keeps
# the values the user chose for them.
RUN_BUDGET_FIELDS = (
    "epochs",
    "train_limit",
    "seed",
    "validation",
    "validation_split",
    "precision",
    "steps_per_execution",
)
# A sweep knob of several paths joined by "+" sets all of them to each value.
KNOB_SEPARATOR = "+"

TWO_LAYERS = "512:relu:0.2,512:relu:0.2"
FLIP_SHARES = "image_operation.train_share+image_operation.test_share"


@dataclass(frozen=True)
class Preset:
    """A tutorial exercise bullet as knob settings and the sweep that answers it."""

    key: str  # stable identifier, e.g. "mlp_hidden_20"
    architecture: str
    name: str
    purpose: str  # one sentence: what the preset tests
    settings: tuple[str, ...]
    sweep_knob: str  # a knob path, or several joined by KNOB_SEPARATOR
    sweep_values: tuple[str, ...]


def _hidden_units(units: int) -> Preset:
    return Preset(
        key=f"mlp_hidden_{units}",
        architecture="mlp",
        name=f"{units} hidden units",
        purpose=(
            f"How do accuracy and seconds per epoch change with {units} units "
            "in each hidden layer instead of 512?"
        ),
        settings=(f"hidden_layers.*.units={units}",),
        sweep_knob="hidden_layers.*.units",
        sweep_values=("20", "200", "512", "1000"),
    )


def _output_activation(activation: str, label: str) -> Preset:
    return Preset(
        key=f"mlp_{activation}_output",
        architecture="mlp",
        name=f"{label} output",
        purpose=(
            f"Can the network still learn when its output layer uses {label} "
            "instead of softmax?"
        ),
        settings=(f"output_activation={activation}",),
        sweep_knob="output_activation",
        sweep_values=("softmax", "relu", "sigmoid"),
    )


def _dropout(rate: str) -> Preset:
    return Preset(
        key=f"mlp_dropout_{rate}",
        architecture="mlp",
        name=f"Dropout {rate}",
        purpose=(
            f"What does a dropout rate of {rate} after each hidden layer do to "
            "training speed and overfitting?"
        ),
        settings=(f"hidden_layers.*.dropout_rate={rate}",),
        sweep_knob="hidden_layers.*.dropout_rate",
        sweep_values=("0", "0.2", "0.9"),
    )


def _learning_rate(rate: str) -> Preset:
    return Preset(
        key=f"mlp_learning_rate_{rate}",
        architecture="mlp",
        name=f"Learning rate {rate}",
        purpose=(
            f"How does RMSprop with a learning rate of {rate} instead of 0.001 "
            "change accuracy and how fast the loss falls?"
        ),
        settings=(f"learning_rate={rate}",),
        sweep_knob="learning_rate",
        sweep_values=("0.01", "0.001", "0.0001"),
    )


def _pooling(pooling: str, label: str) -> Preset:
    return Preset(
        key=f"cnn_{pooling}_pooling",
        architecture="cnn",
        name=f"{label} pooling",
        purpose=(
            f"How do accuracy and speed change with {label.lower()} pooling "
            "after the second convolution instead of max pooling?"
        ),
        settings=(f"conv_blocks.1.pooling={pooling}",),
        sweep_knob="conv_blocks.1.pooling",
        sweep_values=("max", "average", "global_max"),
    )


def _flip(share: str, percent: int) -> Preset:
    return Preset(
        key=f"cnn_flip_{percent}",
        architecture="cnn",
        name=f"Flip {percent}% of images",
        purpose=(
            f"How much accuracy is lost when {percent}% of the training and "
            "test images are mirrored left to right?"
        ),
        settings=(
            "image_operation.name=flip_horizontal",
            f"image_operation.train_share={share}",
            f"image_operation.test_share={share}",
        ),
        sweep_knob=FLIP_SHARES,
        sweep_values=("0", "0.1", "0.5"),
    )


PRESETS: tuple[Preset, ...] = (
    _hidden_units(20),
    _hidden_units(200),
    _hidden_units(1000),
    _output_activation("relu", "ReLU"),
    _output_activation("sigmoid", "Sigmoid"),
    Preset(
        key="mlp_softmax_everywhere",
        architecture="mlp",
        name="Softmax on all layers",
        purpose="Can the network learn when every layer, hidden ones too, is softmax?",
        settings=("hidden_layers.*.activation=softmax", "output_activation=softmax"),
        sweep_knob="hidden_layers.*.activation",
        sweep_values=("relu", "sigmoid", "softmax"),
    ),
    _dropout("0"),
    _dropout("0.9"),
    Preset(
        key="mlp_extra_layer",
        architecture="mlp",
        name="Extra hidden layer",
        purpose=(
            "Does a third hidden layer of 128 units change accuracy and seconds "
            "per epoch?"
        ),
        settings=(f"hidden_layers={TWO_LAYERS},128:relu:0.2",),
        sweep_knob="hidden_layers",
        sweep_values=(
            TWO_LAYERS,
            f"{TWO_LAYERS},128:relu:0.2",
            f"{TWO_LAYERS},1000:relu:0.2",
        ),
    ),
    _learning_rate("0.01"),
    _learning_rate("0.0001"),
    _pooling("average", "Average"),
    _pooling("global_max", "Global max"),
    Preset(
        key="cnn_kernel_2x2",
        architecture="cnn",
        name="2x2 kernels",
        purpose=(
            "What do 2x2 instead of 3x3 kernels in both convolutions do to "
            "accuracy and speed?"
        ),
        settings=("conv_blocks.*.kernel_size=2",),
        sweep_knob="conv_blocks.*.kernel_size",
        sweep_values=("2", "3", "5"),
    ),
    _flip("0.1", 10),
    _flip("0.5", 50),
)


def presets_for(architecture: str) -> list[Preset]:
    """Return the presets of "mlp" (Exercise 1) or "cnn" (Exercise 2), in order."""
    return [preset for preset in PRESETS if preset.architecture == architecture]


def find_preset(key: str) -> Preset:
    """Return the preset named `key`; raises KeyError if there is none."""
    for preset in PRESETS:
        if preset.key == key:
            return preset
    raise KeyError(f"no preset named {key!r}")


def apply_preset(preset: Preset, current: RunConfig) -> RunConfig:
    """Return the tutorial's config with `preset` applied and `current`'s budget.

    Raises ValueError if `current` is of the other architecture.
    """
    if current.architecture != preset.architecture:
        raise ValueError(
            f"preset {preset.key!r} is for the {preset.architecture}, "
            f"not the {current.architecture}"
        )
    budget = {name: getattr(current, name) for name in RUN_BUDGET_FIELDS}
    config = dataclasses.replace(default_config(preset.architecture), **budget)
    return apply_knob_settings(config, list(preset.settings))
