"""Draw a digit (or upload a picture of one) and see how the models read it."""

from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from mnist_core import drawing
from ui import state
from ui.draw_view import enlarge, show_prediction, show_steps
from ui.model_picker import ModelChoice, available_models

CANVAS_KEY = "draw.canvas"

st.title("Draw a digit")
st.write(
    "Draw one digit in the black box and release the mouse: the models read it "
    "after every stroke. First, your drawing is prepared the way MNIST's digits "
    "were: cropped to the ink, shrunk so its longer side is 20 pixels, and placed "
    "in a 28x28 frame with its centre of mass in the middle. The three small "
    "pictures show each step."
)
# Measured by benchmarks/bench_drawing.py --accuracy; see docs/drawing-accuracy.md.
st.caption(
    "Digits by other writers are harder than MNIST's own, and mouse drawings "
    "differ again. On scikit-learn's 8x8 digits, written by 43 people the models "
    "never saw and redrawn on this canvas, the shipped CNN reads 91.1% correctly "
    "and the MLP 81.8%, against 99.0% and 98.3% for MNIST test digits redrawn the "
    "same way."
)


def default_position(choices: list[ModelChoice]) -> int:
    """Prefer a model trained in this session, then a shipped one."""
    for origin in ("session", "shipped"):
        for position, choice in enumerate(choices):
            if choice.origin == origin:
                return position
    return 0


def model_controls() -> list[ModelChoice]:
    """Draw one model select box per architecture; return the chosen models."""
    st.sidebar.subheader("Models that read the digit")
    chosen = []
    for architecture in ("mlp", "cnn"):
        choices = available_models((architecture,))
        if not choices:
            continue
        position = st.sidebar.selectbox(
            architecture.upper(),
            range(len(choices)),
            index=default_position(choices),
            format_func=lambda position, choices=choices: choices[position].label,
            key=state.DRAW_MODEL_PREFIX + architecture,
        )
        chosen.append(choices[position])
    return chosen


def clear_canvas() -> None:
    version = st.session_state.get(state.DRAW_CANVAS_VERSION, 0)
    st.session_state[state.DRAW_CANVAS_VERSION] = version + 1


def canvas_controls() -> np.ndarray | None:
    """Draw the canvas and its controls; return its RGBA pixels, if any."""
    stroke_width = st.slider(
        "Stroke width",
        min_value=4,
        max_value=40,
        value=18,
        key=state.DRAW_STROKE_WIDTH,
        help="Width of the pen in canvas pixels; the canvas is 280 pixels wide.",
    )
    version = st.session_state.get(state.DRAW_CANVAS_VERSION, 0)
    result = st_canvas(
        stroke_width=stroke_width,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=drawing.CANVAS_SIDE,
        width=drawing.CANVAS_SIDE,
        drawing_mode="freedraw",
        return_image_data=True,
        key=f"{CANVAS_KEY}.{version}",
    )
    st.button("Clear", on_click=clear_canvas, icon=":material/delete:")
    st.caption("Hover over the canvas for its toolbar: undo, redo and reset.")
    return result.image_data


def upload_controls() -> tuple[bool, np.ndarray | None]:
    """Draw the file uploader; return (a file is there, its pixels or None)."""
    with st.expander("Or upload a picture of a digit"):
        upload = st.file_uploader(
            "Picture of one digit (PNG or JPEG)",
            type=["png", "jpg", "jpeg"],
            key=state.DRAW_UPLOAD,
            help=f"At most {drawing.MAX_UPLOAD_BYTES // 2**20} MB and "
            f"{drawing.MAX_UPLOAD_PIXELS:,} pixels, dark on light or light on dark.",
        )
        st.caption("While a picture is uploaded, the models read it, not the canvas.")
    if upload is None:
        return False, None
    try:
        return True, drawing.read_upload(upload.getvalue())
    except drawing.UploadError as error:
        st.error(f"Cannot use {upload.name}: {error}.")
        return True, None


def send_to_inside(framed: np.ndarray) -> None:
    st.session_state[state.DRAWN_DIGIT] = framed.astype(np.float32)
    st.session_state[state.INSIDE_INPUT_REQUEST] = {"kind": "drawn"}
    st.switch_page("app_pages/inside.py")


@st.fragment
def show_workbench(choices: list[ModelChoice]) -> None:
    """Draw the input and the predictions, so that a stroke reruns only this part."""
    # A fixed-width column keeps the 280-pixel canvas whole on narrow screens;
    # the results wrap below it when they do not fit beside it.
    row = st.container(horizontal=True, gap="large")
    input_column = row.container(width=drawing.CANVAS_SIDE + 20)
    result_column = row.container()
    with input_column:
        # The canvas stays on the page while a picture is uploaded, so that
        # removing the picture brings the drawing back.
        pixels = canvas_controls()
        uploaded, upload_pixels = upload_controls()
    if uploaded:
        pixels = upload_pixels
    steps = None if pixels is None else drawing.preprocess_image(pixels)

    with result_column:
        if steps is None and not (uploaded and upload_pixels is None):
            st.info("Draw a digit: the models read it when you release the mouse.")
        if steps is None:
            return
        show_steps(steps)
        compare = st.toggle(
            "Compare with a naive resize of the whole picture",
            key=state.DRAW_COMPARE_NAIVE,
        )
        inputs = {"MNIST-style": steps.framed}
        if compare:
            inputs["Naive resize"] = drawing.resize_naively(steps.ink)
            st.image(enlarge(inputs["Naive resize"]), caption="Naive: 28x28")
            st.caption(
                "The naive resize shrinks the whole picture to 28x28 pixels. A small "
                "or off-centre digit becomes a few grey pixels away from the middle, "
                "unlike any digit the models saw in training."
            )
        for column, choice in zip(st.columns(len(choices) or 1), choices, strict=False):
            with column:
                show_prediction(choice, inputs)
        if st.button("See this digit inside the CNN", icon=":material/biotech:"):
            send_to_inside(steps.framed)


chosen_models = model_controls()
if not chosen_models:
    st.info("No model yet: train one on the MLP or CNN page first.")
show_workbench(chosen_models)
