"""Likely causes of a failed or slow run, in plain words, read from its config.

`mnist_core.diagnosis` decides what a run shows from its numbers; these
helpers name the knob settings that usually explain it.
"""

from __future__ import annotations

from typing import Any

from mnist_core.config import KERAS_DEFAULT_LEARNING_RATES, default_learning_rate


def learning_rate_ratio(config: dict[str, Any]) -> float:
    """Return the learning rate over the app's default for its optimizer."""
    optimizer = config.get("optimizer", "rmsprop")
    rate = float(config.get("learning_rate", 0.001))
    if optimizer not in KERAS_DEFAULT_LEARNING_RATES:
        return 1.0
    return rate / default_learning_rate(optimizer)


def layer_activations(config: dict[str, Any]) -> list[str]:
    """Return the activations of the hidden layers (MLP) or conv and dense (CNN)."""
    if "hidden_layers" in config:
        return [layer["activation"] for layer in config["hidden_layers"]]
    blocks = [block["activation"] for block in config.get("conv_blocks", [])]
    return [*blocks, config.get("dense_activation", "relu")]


def dropout_rates(config: dict[str, Any]) -> list[float]:
    """Return every dropout rate of a config dict, zero ones included."""
    if "hidden_layers" in config:
        return [layer["dropout_rate"] for layer in config["hidden_layers"]]
    return [config.get("conv_dropout_rate", 0.0), config.get("dense_dropout_rate", 0.0)]


def output_cause(config: dict[str, Any]) -> str | None:
    """Explain an output activation that gives no probabilities, if one is set."""
    output = config.get("output_activation", "softmax")
    if output == "relu":
        return (
            "The output layer uses ReLU: its ten outputs can all be 0, and "
            "cross-entropy then divides 0 by 0 and takes the log of 0. Softmax "
            "(or sigmoid) keeps every output positive."
        )
    if output == "linear":
        return (
            "The output layer is linear: its outputs can be negative and do not "
            "sum to 1, so they are not probabilities and cross-entropy clips them "
            "to a tiny value, giving huge losses. Use softmax."
        )
    return None


def learning_rate_cause(config: dict[str, Any], too: str) -> str | None:
    """Explain a learning rate far from the usual one; `too` is "high" or "low".

    "High" means 5 or more times the page's default for the optimizer, "low"
    means 5 or more times smaller.
    """
    ratio = learning_rate_ratio(config)
    optimizer = config.get("optimizer", "rmsprop")
    rate = config.get("learning_rate")
    if too == "high" and ratio >= 5:
        return (
            f"The learning rate {rate:g} is {ratio:.0f} times the usual value for "
            f"{optimizer}: steps that large overshoot. Try 10 times smaller."
        )
    if too == "low" and ratio <= 0.2:
        return (
            f"The learning rate {rate:g} is {1 / ratio:.0f} times smaller than "
            f"the usual value for {optimizer}, so each step changes the weights "
            "very little. Train longer or raise it."
        )
    return None


def softmax_hidden_cause(config: dict[str, Any]) -> str | None:
    """Explain softmax in a hidden layer, if any hidden layer uses it."""
    if "softmax" not in layer_activations(config):
        return None
    return (
        "A hidden layer uses softmax: its outputs always sum to 1, so with "
        "hundreds of units each is tiny and almost the same for every image. "
        "The next layer sees nearly no signal and the gradients vanish. Use "
        "ReLU in hidden layers."
    )


def join_causes(*causes: str | None, fallback: str) -> str:
    """Join the causes found (None for none) into one text, else `fallback`."""
    found = [cause for cause in causes if cause]
    return " ".join(found) if found else fallback
