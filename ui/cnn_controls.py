"""The CNN page's sidebar: convolution blocks, dense head, image operation."""

from __future__ import annotations

import dataclasses

import streamlit as st

from mnist_core.config import (
    ACTIVATIONS,
    DATA_FORMATS,
    GLOBAL_POOLINGS,
    IMAGE_SIZE,
    MAX_FILTERS,
    MAX_UNITS,
    OUTPUT_ACTIVATIONS,
    POOLINGS,
    CNNConfig,
    ConvBlockSpec,
)
from ui.config_state import PageKeys, reset_widgets, stored_config
from ui.knob_controls import (
    number_with_shortcuts,
    optimizer_controls,
    rate_slider,
    seed_widget,
    select,
    training_controls,
)
from ui.operation_controls import image_operation_controls

KERNEL_SHORTCUTS = (2, 3, 5)
DENSE_UNIT_SHORTCUTS = (64, 128, 256)
MAX_CONV_BLOCKS = 8
POOLING_LABELS = {
    "none": "none",
    "max": "max",
    "average": "average",
    "global_max": "global max",
    "global_average": "global average",
}
LOCAL_POOLINGS = tuple(name for name in POOLINGS if name not in GLOBAL_POOLINGS)


def _replace_blocks(keys: PageKeys, blocks: tuple[ConvBlockSpec, ...]) -> None:
    config = stored_config(keys)
    st.session_state[keys.config] = dataclasses.replace(config, conv_blocks=blocks)
    reset_widgets(keys)


def add_block(keys: PageKeys) -> None:
    """Append a block like the last one (a button callback).

    Global pooling must stay on the last block, so it moves to the new one.
    """
    blocks = list(stored_config(keys).conv_blocks)
    last = blocks[-1]
    if last.pooling in GLOBAL_POOLINGS:
        blocks[-1] = dataclasses.replace(last, pooling="none")
    _replace_blocks(keys, (*blocks, last))


def remove_block(keys: PageKeys, index: int) -> None:
    """Remove block `index`, keeping at least one (a button callback)."""
    blocks = stored_config(keys).conv_blocks
    if len(blocks) > 1:
        _replace_blocks(keys, blocks[:index] + blocks[index + 1 :])


def _copy_pooling(shortcut_key: str, pooling_key: str) -> None:
    st.session_state[pooling_key] = st.session_state[shortcut_key]


def pooling_shortcut(config: CNNConfig, keys: PageKeys) -> None:
    """Draw a select box that sets the last block's pooling."""
    last = len(config.conv_blocks) - 1
    pooling_key = keys.widget(f"pooling.{last}")
    shortcut_key = keys.widget("pooling_shortcut")
    seed_widget(pooling_key, config.conv_blocks[last].pooling)
    st.session_state[shortcut_key] = st.session_state[pooling_key]
    st.selectbox(
        "Pooling type after the last convolution",
        POOLINGS,
        format_func=POOLING_LABELS.get,
        key=shortcut_key,
        on_change=_copy_pooling,
        args=(shortcut_key, pooling_key),
        help="The tutorial max-pools 2x2 after its second convolution; global "
        "pooling keeps one number per feature map",
    )


def conv_block(block: ConvBlockSpec, index: int, is_last: bool, keys: PageKeys):
    """Draw one block's knobs and return its spec."""
    seed_widget(keys.widget(f"filters.{index}"), block.filters)
    filters = st.number_input(
        "Filters",
        min_value=1,
        max_value=MAX_FILTERS,
        step=1,
        key=keys.widget(f"filters.{index}"),
        help="Number of kernels, and so of feature maps this layer outputs",
    )
    kernel_size = number_with_shortcuts(
        "Kernel size",
        KERNEL_SHORTCUTS,
        block.kernel_size,
        keys.widget(f"kernel_size.{index}"),
        max_value=IMAGE_SIZE,
        help="Width and height of each square kernel, in pixels",
        format_shortcut=lambda size: f"{size}x{size}",
    )
    activation = select(
        "Activation",
        ACTIVATIONS,
        block.activation,
        keys.widget(f"activation.{index}"),
        help="Function applied to each feature-map value",
    )
    pooling = select(
        "Pooling after it",
        POOLINGS if is_last else LOCAL_POOLINGS,
        block.pooling,
        keys.widget(f"pooling.{index}"),
        help="Global pooling is offered on the last block only",
        format_func=POOLING_LABELS.get,
    )
    pool_size = block.pool_size
    if pooling in ("max", "average"):
        seed_widget(keys.widget(f"pool_size.{index}"), block.pool_size)
        pool_size = st.number_input(
            "Pool size",
            min_value=1,
            max_value=IMAGE_SIZE,
            step=1,
            key=keys.widget(f"pool_size.{index}"),
            help="Width and height of the pooling window, in pixels",
        )
    return ConvBlockSpec(int(filters), kernel_size, activation, pooling, int(pool_size))


def conv_block_controls(config: CNNConfig, keys: PageKeys) -> tuple:
    """Draw one box per convolution block and the add button; return the specs."""
    blocks = []
    count = len(config.conv_blocks)
    for index, block in enumerate(config.conv_blocks):
        with st.expander(f"Convolution block {index + 1}", expanded=index == 0):
            blocks.append(conv_block(block, index, index == count - 1, keys))
            st.button(
                "Remove this block",
                key=keys.widget(f"remove.{index}"),
                on_click=remove_block,
                args=(keys, index),
                disabled=count == 1,
            )
    st.button(
        "Add a convolution block",
        key=keys.widget("add_block"),
        on_click=add_block,
        args=(keys,),
        disabled=count >= MAX_CONV_BLOCKS,
        help=f"At most {MAX_CONV_BLOCKS} blocks",
    )
    return tuple(blocks)


def dense_head_controls(config: CNNConfig, keys: PageKeys) -> dict:
    """Draw the dropouts, the dense layer and the output; return the fields."""
    return {
        "conv_dropout_rate": rate_slider(
            "Dropout after the convolutions",
            config.conv_dropout_rate,
            keys.widget("conv_dropout_rate"),
            help="Share of the last feature maps' values set to zero in each "
            "training step",
        ),
        "dense_units": number_with_shortcuts(
            "Dense units",
            DENSE_UNIT_SHORTCUTS,
            config.dense_units,
            keys.widget("dense_units"),
            max_value=MAX_UNITS,
            help="Neurons in the hidden Dense layer after Flatten",
        ),
        "dense_activation": select(
            "Dense activation",
            ACTIVATIONS,
            config.dense_activation,
            keys.widget("dense_activation"),
            help="Function applied to each dense unit's weighted sum",
        ),
        "dense_dropout_rate": rate_slider(
            "Dropout after the dense layer",
            config.dense_dropout_rate,
            keys.widget("dense_dropout_rate"),
            help="Share of the dense layer's outputs set to zero in each step",
        ),
        "output_activation": select(
            "Output activation",
            OUTPUT_ACTIVATIONS,
            config.output_activation,
            keys.widget("output_activation"),
            help="Function of the 10-unit output layer; softmax gives probabilities",
        ),
        "data_format": select(
            "Data format",
            DATA_FORMATS,
            config.data_format,
            keys.widget("data_format"),
            help="Where the channel axis sits: (28, 28, 1) or (1, 28, 28). Each "
            "layer gets it explicitly and the images are reshaped to match. "
            "TensorFlow's CPU convolutions are much slower with channels_first",
        ),
    }


def cnn_controls(config: CNNConfig, keys: PageKeys) -> CNNConfig | None:
    """Draw the CNN's knobs in the sidebar; return the config, or None if invalid."""
    with st.sidebar:
        st.header("Convolutions")
        pooling_shortcut(config, keys)
        conv_blocks = conv_block_controls(config, keys)
        st.header("Dense layers")
        head_fields = dense_head_controls(config, keys)
        st.header("Optimizer")
        optimizer_fields = optimizer_controls(config, keys)
        st.header("Training")
        training_fields = training_controls(config, keys)
        st.header("Image operation")
        image_operation = image_operation_controls(config, keys)
    try:
        return CNNConfig(
            conv_blocks=conv_blocks,
            image_operation=image_operation,
            **head_fields,
            **optimizer_fields,
            **training_fields,
        )
    except ValueError as error:
        st.sidebar.error(f"These settings are invalid: {error}. Change the value.")
        return None
