"""The inside page's first tab: a CNN's kernels or an MLP's first-layer weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from mnist_core.inspection import ModelInspector
from ui import inside_charts as charts
from ui import state
from ui.inside_widgets import clamp_number, keep_valid, page_controls, show_table

KERNELS_PER_PAGE = 16
UNITS_PER_PAGE = 64


def kernel_caption(name: str, shape: tuple[int, ...]) -> str:
    """Explain what the kernel grid of one conv layer shows."""
    num_filters, num_channels, height, width = shape
    color_meaning = (
        "Each output value adds up weight x input over the window, so orange "
        "(positive) weights respond to bright input, blue (negative) ones to "
        "its absence, and pale ones barely matter. Hover a cell for its weight."
    )
    if num_channels == 1:
        return (
            f"{name}: {num_filters} filters, each one {height}x{width} kernel "
            f"slid over the image. {color_meaning}"
        )
    return (
        f"{name}: {num_filters} filters, each with a {height}x{width} kernel for "
        f"every one of its {num_channels} input channels (the maps of the layer "
        f"before). Rows are filters and columns input channels. {color_meaning}"
    )


@st.fragment
def show_kernels(inspector: ModelInspector) -> None:
    """Draw one conv layer's kernels as small blue-orange heatmaps."""
    all_kernels = inspector.conv_kernels()
    keep_valid(state.INSIDE_KERNEL_LAYER, list(all_kernels))
    name = st.selectbox("Conv layer", list(all_kernels), key=state.INSIDE_KERNEL_LAYER)
    kernels = all_kernels[name]
    num_filters, num_channels, height, width = kernels.shape
    st.caption(kernel_caption(name, kernels.shape))

    columns = st.columns(2)
    with columns[0]:
        per_page = 64 if num_channels == 1 else KERNELS_PER_PAGE
        filters = page_controls(
            state.INSIDE_KERNEL_FILTERS, num_filters, per_page, "Filters"
        )
    with columns[1]:
        channels = page_controls(
            state.INSIDE_KERNEL_CHANNELS,
            num_channels,
            KERNELS_PER_PAGE,
            "Input channels",
        )
    wrap = 8 if num_channels == 1 else None
    frame = charts.kernel_grid_frame(kernels, filters, channels, columns=wrap)
    chart = charts.kernel_grid_chart(frame, cell_pixels=max(6, 48 // height))
    st.altair_chart(chart, width="content")
    show_table(
        f"kernels of {name}", frame[["filter", "channel", "row", "column", "value"]]
    )


@st.fragment
def show_first_layer_weights(inspector: ModelInspector) -> None:
    """Draw each first-layer unit's 784 weights as a 28x28 image."""
    weights = inspector.first_dense_weights()
    if weights is None:
        st.info(
            "The first Dense layer of this model does not read the 784 pixels directly."
        )
        return
    st.caption(
        "Each image is one unit of the first Dense layer: its 784 weights put "
        "back where their pixels sit. Ink on an orange pixel raises the unit's "
        "input, ink on a blue one lowers it. One color scale for the whole page."
    )
    units = page_controls(state.INSIDE_UNIT_PAGE, len(weights), UNITS_PER_PAGE, "Units")
    page = weights[units.start : units.stop]
    st.image(charts.mosaic_image(page, columns=8, diverging=True))

    clamp_number(state.INSIDE_UNIT, 0, len(weights) - 1)
    unit = st.number_input(
        "Unit to look at closely", 0, len(weights) - 1, key=state.INSIDE_UNIT
    )
    closeup = charts.heatmap_chart(weights[unit], f"Unit {unit}", diverging=True)
    st.altair_chart(closeup, width="content")
    show_table(f"weights of unit {unit}", charts.heatmap_frame(weights[unit]))

    pixels = pd.DataFrame(
        page.reshape(len(page), -1).T, columns=[f"unit {u}" for u in units]
    )
    pixels.insert(0, "pixel", np.arange(len(pixels)))
    show_table(f"weights of units {units.start}–{units.stop - 1}", pixels)
