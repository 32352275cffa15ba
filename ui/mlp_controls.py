"""The MLP page's sidebar: hidden layers, output activation and training knobs."""

from __future__ import annotations

import dataclasses

import streamlit as st

from mnist_core.config import (
    ACTIVATIONS,
    MAX_UNITS,
    OUTPUT_ACTIVATIONS,
    DenseLayerSpec,
    MLPConfig,
)
from ui.config_state import PageKeys, reset_widgets, stored_config
from ui.knob_controls import (
    number_with_shortcuts,
    optimizer_controls,
    rate_slider,
    select,
    training_controls,
)

UNIT_SHORTCUTS = (20, 200, 512, 1000)
MAX_HIDDEN_LAYERS = 10


def _replace_layers(keys: PageKeys, layers: tuple[DenseLayerSpec, ...]) -> None:
    config = stored_config(keys)
    st.session_state[keys.config] = dataclasses.replace(config, hidden_layers=layers)
    reset_widgets(keys)


def add_layer(keys: PageKeys) -> None:
    """Append a hidden layer like the last one (a button callback)."""
    layers = stored_config(keys).hidden_layers
    new_layer = layers[-1] if layers else DenseLayerSpec()
    _replace_layers(keys, (*layers, new_layer))


def remove_layer(keys: PageKeys, index: int) -> None:
    """Remove hidden layer `index` (a button callback)."""
    layers = stored_config(keys).hidden_layers
    _replace_layers(keys, layers[:index] + layers[index + 1 :])


def use_softmax_everywhere(keys: PageKeys) -> None:
    """Make every hidden layer and the output softmax (a button callback)."""
    config = stored_config(keys)
    layers = tuple(
        dataclasses.replace(layer, activation="softmax")
        for layer in config.hidden_layers
    )
    st.session_state[keys.config] = dataclasses.replace(
        config, hidden_layers=layers, output_activation="softmax"
    )
    reset_widgets(keys)


def hidden_layer_controls(config: MLPConfig, keys: PageKeys) -> tuple:
    """Draw one box per hidden layer; return the layer specs."""
    layers = []
    for index, spec in enumerate(config.hidden_layers):
        with st.expander(f"Hidden layer {index + 1}", expanded=index == 0):
            units = number_with_shortcuts(
                "Units",
                UNIT_SHORTCUTS,
                spec.units,
                keys.widget(f"units.{index}"),
                max_value=MAX_UNITS,
                help="Number of neurons in this Dense layer",
            )
            activation = select(
                "Activation",
                ACTIVATIONS,
                spec.activation,
                keys.widget(f"activation.{index}"),
                help="Function applied to each unit's weighted sum",
            )
            dropout_rate = rate_slider(
                "Dropout rate after it",
                spec.dropout_rate,
                keys.widget(f"dropout_rate.{index}"),
                help="Share of this layer's outputs set to zero in each training "
                "step; 0 removes the Dropout layer",
            )
            st.button(
                "Remove this layer",
                key=keys.widget(f"remove.{index}"),
                on_click=remove_layer,
                args=(keys, index),
            )
        layers.append(DenseLayerSpec(units, activation, dropout_rate))
    st.button(
        "Add a hidden layer",
        key=keys.widget("add_layer"),
        on_click=add_layer,
        args=(keys,),
        disabled=len(layers) >= MAX_HIDDEN_LAYERS,
        help=f"At most {MAX_HIDDEN_LAYERS} hidden layers",
    )
    return tuple(layers)


def mlp_controls(config: MLPConfig, keys: PageKeys) -> MLPConfig | None:
    """Draw the MLP's knobs in the sidebar; return the config, or None if invalid."""
    with st.sidebar:
        st.header("Layers")
        hidden_layers = hidden_layer_controls(config, keys)
        output_activation = select(
            "Output activation",
            OUTPUT_ACTIVATIONS,
            config.output_activation,
            keys.widget("output_activation"),
            help="Function of the 10-unit output layer; softmax gives probabilities",
        )
        st.button(
            "Softmax on all layers",
            key=keys.widget("softmax_everywhere"),
            on_click=use_softmax_everywhere,
            args=(keys,),
            help="Sets every hidden layer and the output to softmax",
        )
        st.header("Optimizer")
        optimizer_fields = optimizer_controls(config, keys)
        st.header("Training")
        training_fields = training_controls(config, keys)
    try:
        return MLPConfig(
            hidden_layers=hidden_layers,
            output_activation=output_activation,
            image_operation=config.image_operation,
            **optimizer_fields,
            **training_fields,
        )
    except ValueError as error:
        st.sidebar.error(f"These settings are invalid: {error}. Change the value.")
        return None
