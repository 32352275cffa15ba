"""Data: what MNIST looks like to the network, before and after preprocessing."""

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from mnist_core.data import indices_by_class, tile_images
from mnist_core.preprocess import one_hot, reshape_for_cnn, reshape_for_mlp
from ui.data_access import get_dataset
from ui.format import format_count

st.title("The data")
st.write(
    "MNIST holds 28×28 greyscale images of handwritten digits with the digit "
    "each shows as its label. Below: examples of every class, one image as the "
    "grid of numbers the network receives, and the three preprocessing steps "
    "the tutorial applies before training."
)
dataset, _ = get_dataset()


def show_examples_by_class() -> None:
    """Figure 1 of the tutorial: a row of random examples for each digit."""
    st.subheader("Examples of each digit")
    seed = st.number_input("Random seed for the examples", 0, 10_000, 0, step=1)
    indices = indices_by_class(dataset.y_train, per_class=12, seed=int(seed))
    grid = tile_images(dataset.x_train[indices.ravel()], columns=12)
    st.image(grid, width=600, caption="Rows: the digits 0 to 9, from the training set.")


def show_pixel_matrix() -> int:
    """Figure 2 of the tutorial: one digit as its 28x28 matrix of pixel values."""
    st.subheader("One digit as numbers")
    index = st.number_input(
        "Training image number", 0, dataset.num_train - 1, 0, step=1
    )
    image = dataset.x_train[int(index)]
    rows, columns = np.indices(image.shape)
    cells = pd.DataFrame(
        {"row": rows.ravel(), "column": columns.ravel(), "pixel": image.ravel()}
    )
    base = alt.Chart(cells).encode(
        x=alt.X("column:O", axis=None), y=alt.Y("row:O", axis=None)
    )
    heatmap = base.mark_rect().encode(
        color=alt.Color("pixel:Q", scale=alt.Scale(scheme="greys"), legend=None),
        tooltip=["row", "column", "pixel"],
    )
    text = base.mark_text(fontSize=7).encode(
        text="pixel:Q",
        color=alt.condition(
            "datum.pixel > 128", alt.value("white"), alt.value("black")
        ),
    )
    st.altair_chart((heatmap + text).properties(width=620, height=620))
    st.caption(
        f"Label: **{dataset.y_train[int(index)]}**. 0 is background, 255 is full ink."
    )
    return int(index)


def show_preprocessing(index: int) -> None:
    """Show flattening, scaling and one-hot encoding on real rows."""
    st.subheader("Preprocessing, step by step")
    num_train = format_count(dataset.num_train)
    flat = reshape_for_mlp(dataset.x_train[:5])
    st.markdown(
        f"**Reshape.** The MLP reads a flat vector: the training images go from "
        f"shape `({num_train}, 28, 28)` to `({num_train}, 784)`. The CNN keeps "
        f"the grid and adds a channel axis: `({num_train}, 28, 28, 1)` "
        f"(`channels_last`) or `({num_train}, 1, 28, 28)` (`channels_first`); "
        f"here {reshape_for_cnn(dataset.x_train[:5]).shape[1:]} per image."
    )
    ink = np.flatnonzero(flat[0])[:8]
    scaled = flat[0, ink].astype(np.float32) / 255
    st.markdown(
        "**Scale.** Pixels become `float32` and are divided by 255, so they lie "
        "in [0, 1]. The first inked pixels of image 0:"
    )
    st.dataframe(
        pd.DataFrame(
            {"position in the 784": ink, "before": flat[0, ink], "after": scaled}
        ),
        hide_index=True,
    )
    labels = dataset.y_train[index : index + 5]
    encoded = one_hot(labels).astype(int)
    st.markdown(
        "**One-hot encode.** Each label becomes a row of 10 numbers with a 1 in "
        "the label's column, matching the 10 outputs of the softmax layer. "
        f"Labels of images {index} to {index + 4}:"
    )
    table = pd.DataFrame(encoded, columns=[str(digit) for digit in range(10)])
    table.insert(0, "label", labels)
    st.dataframe(table, hide_index=True)


show_examples_by_class()
chosen = show_pixel_matrix()
show_preprocessing(chosen)
