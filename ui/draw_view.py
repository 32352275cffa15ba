"""The draw page's results: the preprocessing steps and each model's reading."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from mnist_core import drawing
from ui.format import format_probability
from ui.model_picker import ModelChoice, load_choice

# Okabe-Ito blue and orange, distinguishable also with red-green colour blindness.
METHOD_COLOURS = {"MNIST-style": "#0072B2", "Naive resize": "#E69F00"}


def enlarge(image: np.ndarray, side: int = 112) -> np.ndarray:
    """Repeat pixels so a small image shows sharp squares, not a blur."""
    factor = max(1, side // max(image.shape))
    return np.kron(image, np.ones((factor, factor), np.float32))


def square(image: np.ndarray) -> np.ndarray:
    """Centre a grey image on a mid-grey square, which shows where the crop ends.

    st.image stretches a picture to its column's width, so an unpadded thin
    "1" would be drawn more than a thousand pixels high.
    """
    height, width = image.shape
    side = max(height, width)
    top, left = (side - height) // 2, (side - width) // 2
    padded = np.full((side, side), 0.5, np.float32)
    padded[top : top + height, left : left + width] = image
    return padded


def show_steps(steps: drawing.DigitSteps) -> None:
    """Show the cropped, scaled and framed digit side by side."""
    height, width = steps.cropped.shape
    cropped, scaled, framed = st.columns(3)
    cropped.image(
        square(enlarge(steps.cropped)), caption=f"1. Cropped: {height}x{width}"
    )
    scaled.image(square(enlarge(steps.scaled)), caption="2. Longer side 20 pixels")
    framed.image(enlarge(steps.framed), caption="3. Centred in 28x28")


def probability_chart(table: pd.DataFrame) -> alt.Chart:
    """Return bars of each digit's probability, one colour per preprocessing."""
    methods = list(table["method"].unique())
    colour = alt.Color(
        "method:N",
        title="Preprocessing",
        legend=alt.Legend(orient="bottom", direction="vertical"),
        scale=alt.Scale(domain=methods, range=[METHOD_COLOURS[m] for m in methods]),
    )
    return (
        alt.Chart(table)
        .mark_bar()
        .encode(
            x=alt.X(
                "digit:O",
                title="Digit",
                axis=alt.Axis(labelAngle=0, labelOverlap=False),
            ),
            xOffset="method:N",
            y=alt.Y(
                "probability:Q", title="Probability", scale=alt.Scale(domain=[0, 1])
            ),
            color=colour,
            tooltip=["method", "digit", alt.Tooltip("probability:Q", format=".1%")],
        )
        .properties(height=260)
    )


def show_prediction(choice: ModelChoice, inputs: dict[str, np.ndarray]) -> None:
    """Show one model's reading of each prepared input."""
    st.subheader(choice.architecture.upper())
    st.caption(choice.label)
    loaded = load_choice(choice)
    if loaded is None:
        return
    model, metadata = loaded
    output_activation = metadata.get("config", {}).get("output_activation")
    if output_activation not in (None, "softmax"):
        st.caption(
            f"This model's output layer uses {output_activation}, not softmax, so "
            "the bars show a softmax of its outputs."
        )
    rows = []
    for method, image in inputs.items():
        try:
            probabilities = drawing.predict_digit(model, image)
        except drawing.PredictionError as error:
            st.error(f"{choice.label} cannot read the digit: {error}")
            return
        guess = int(probabilities.argmax())
        probability_text = format_probability(float(probabilities[guess]))
        st.metric(f"{method} reads", guess)
        st.caption(f"with {probability_text} probability")
        rows += [(method, d, float(p)) for d, p in enumerate(probabilities)]

    table = pd.DataFrame(rows, columns=["method", "digit", "probability"])
    st.altair_chart(probability_chart(table), use_container_width=True)
    with st.expander("Probabilities as numbers"):
        # One row per digit, one column per preprocessing.
        by_digit = table.pivot(index="digit", columns="method", values="probability")
        st.dataframe(by_digit[list(inputs)].map(format_probability))
