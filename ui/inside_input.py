"""The inside page's second tab: one input image, layer by layer."""

from __future__ import annotations

import numpy as np
import streamlit as st

from mnist_core.inspection import LayerOutput, ModelInspector
from ui import inside_charts as charts
from ui import state
from ui.format import format_accuracy, format_count
from ui.inside_widgets import clamp_number, keep_valid, show_table

INPUT_KINDS = {
    "index": "Test image by index",
    "random": "Random test image",
    "class": "Test image of a digit",
    "drawn": "Digit drawn on the Draw page",
}


def apply_input_request() -> None:
    """Preselect the drawn digit once when the Draw page requests it."""
    if st.session_state.get(state.INSIDE_INPUT_REQUEST) == {"kind": "drawn"}:
        st.session_state[state.INSIDE_INPUT_KIND] = "drawn"
        st.session_state[state.INSIDE_INPUT_REQUEST] = None


def input_controls(dataset) -> tuple[np.ndarray, int | None, str] | None:
    """Draw the input choice; return (image in [0, 1], label or None, description)."""
    apply_input_request()
    kind = st.radio(
        "Input",
        list(INPUT_KINDS),
        format_func=INPUT_KINDS.get,
        horizontal=True,
        key=state.INSIDE_INPUT_KIND,
    )
    if kind == "drawn":
        drawn = st.session_state.get(state.DRAWN_DIGIT)
        if drawn is None:
            st.info("No digit drawn yet: draw one on the Draw page, then come back.")
            return None
        return np.asarray(drawn, dtype=np.float32), None, "the digit you drew"

    index = test_index_controls(kind, dataset)
    if index is None:
        return None
    image = dataset.x_test[index].astype(np.float32) / 255.0
    return image, int(dataset.y_test[index]), f"test image {index}"


def test_index_controls(kind: str, dataset) -> int | None:
    """Draw the controls of one way to pick a test image; return its index."""
    last = dataset.num_test - 1
    if kind == "random":
        first_visit = state.INSIDE_RANDOM_INDEX not in st.session_state
        if st.button("Pick another") or first_visit:
            random_index = np.random.default_rng().integers(last + 1)
            st.session_state[state.INSIDE_RANDOM_INDEX] = int(random_index)
        return min(st.session_state[state.INSIDE_RANDOM_INDEX], last)

    if kind == "class":
        digit = st.selectbox("Digit", range(10), key=state.INSIDE_CLASS_DIGIT)
        matches = np.flatnonzero(dataset.y_test == digit)
        if not len(matches):
            st.warning(f"The test set has no image of a {digit}; pick another digit.")
            return None
        clamp_number(state.INSIDE_CLASS_POSITION, 1, len(matches))
        position = st.number_input(
            f"Which {digit} (1 to {format_count(len(matches))})",
            1,
            len(matches),
            key=state.INSIDE_CLASS_POSITION,
        )
        return int(matches[position - 1])

    clamp_number(state.INSIDE_TEST_INDEX, 0, last)
    return st.number_input("Test image index", 0, last, key=state.INSIDE_TEST_INDEX)


def show_layer(output: LayerOutput, scale_each: bool) -> None:
    """Draw one layer's output: a grid of maps, or one bar per unit."""
    shape = " x ".join(str(size) for size in output.output_shape)
    st.markdown(f"**{output.name}** ({output.layer_type}), output {shape}")
    if output.values.ndim == 3:
        columns = 8 if len(output.values) <= 32 else 16
        image = charts.mosaic_image(output.values, columns, scale_each=scale_each)
        st.image(image)
    else:
        st.altair_chart(charts.activation_chart(output.values))
    show_table(output.name, charts.layer_output_frame(output.values))


@st.fragment
def show_closeup(outputs: list[LayerOutput]) -> None:
    """Draw one feature map as a heatmap with values on hover, and its numbers.

    A fragment of its own, so picking another map reruns only this part.
    """
    maps = {output.name: output.values for output in outputs if output.values.ndim == 3}
    if not maps:
        return
    columns = st.columns(2)
    keep_valid(state.INSIDE_CLOSEUP_LAYER, list(maps))
    name = columns[0].selectbox(
        "Layer to look at closely", list(maps), key=state.INSIDE_CLOSEUP_LAYER
    )
    clamp_number(state.INSIDE_CLOSEUP_CHANNEL, 0, len(maps[name]) - 1)
    channel = columns[1].number_input(
        "Channel", 0, len(maps[name]) - 1, key=state.INSIDE_CLOSEUP_CHANNEL
    )
    title = f"{name}, channel {channel}"
    closeup = charts.heatmap_chart(maps[name][channel], title, diverging=False)
    st.altair_chart(closeup, width="content")
    show_table(f"{name}, channel {channel}", charts.heatmap_frame(maps[name][channel]))


@st.fragment
def show_one_input(inspector: ModelInspector, dataset) -> None:
    """Send one image through the model and show what each layer makes of it."""
    chosen = input_controls(dataset)
    if chosen is None:
        return
    image, label, description = chosen
    outputs, probabilities = inspector.layer_outputs(image)
    saliency = inspector.saliency(image)
    predicted = int(np.argmax(probabilities))

    columns = st.columns(3)
    truth = "" if label is None else f" (true digit {label})"
    confidence = format_accuracy(probabilities[predicted])
    columns[0].image(charts.enlarge_image(charts.colorize_grey(image), 6))
    columns[1].markdown(
        f"{description.capitalize()}{truth}: **predicted {predicted}** ({confidence})"
    )
    columns[1].altair_chart(charts.probability_chart(probabilities))
    columns[2].image(
        charts.enlarge_image(charts.saliency_overlay(image, saliency), 6),
        caption="Which pixels mattered: orange where a small change moves the "
        f"probability of {predicted} most (gradient size, scaled to the largest).",
    )
    show_table("probabilities", charts.probability_frame(probabilities))
    show_table("saliency", charts.heatmap_frame(saliency))

    st.subheader("Layer by layer")
    scale_each = False
    if any(output.values.ndim == 3 for output in outputs):
        scale_each = st.toggle(
            "Scale each map on its own",
            key=state.INSIDE_SCALE_EACH,
            help="Off: one brightness scale per layer, so weak maps look dark. "
            "On: each map is stretched to its own strongest value.",
        )
    for output in outputs:
        show_layer(output, scale_each)
    show_closeup(outputs)
