"""Home: what MNIST Explorer is, the data in use, and where to start."""

import streamlit as st

from ui.data_access import get_dataset
from ui.format import format_count

st.title("MNIST Explorer")
st.write(
    "A workbench for the Keras MNIST tutorial. Train its multi-layer perceptron "
    "(MLP) and its convolutional network (CNN), change every setting the "
    "exercises ask about, and compare what each change does to accuracy and to "
    "speed, with numbers. Then look inside the trained network and draw your "
    "own digits for it to read."
)

dataset, warning = get_dataset()
if warning:
    st.warning(warning)
st.info(
    f"Data in use: {dataset.source.description}, with "
    f"{format_count(dataset.num_train)} training and "
    f"{format_count(dataset.num_test)} test images."
)
if dataset.source.kind == "sample":
    st.caption(
        "The bundled sample is a stratified subset of MNIST, enough to try every "
        "setting quickly. Accuracy on it is lower than on the full data set. For "
        "the full 60,000 training images, whoever runs the server sets "
        "`MNIST_DATA` to a Keras-layout `mnist.npz` (or a folder of the original "
        "IDX files), or runs the app where Keras can download MNIST."
    )

st.subheader("Where to start")
first, second = st.columns(2)
with first:
    st.page_link(
        "app_pages/data.py", label="Look at the data", icon=":material/grid_on:"
    )
    st.caption("What a digit looks like to the network: pixels, shapes, labels.")
    st.page_link("app_pages/mlp.py", label="Exercise 1: the MLP", icon=":material/hub:")
    st.caption("Hidden units, activations, dropout, extra layers, learning rate.")
    st.page_link(
        "app_pages/cnn.py", label="Exercise 2: the CNN", icon=":material/view_module:"
    )
    st.caption("Pooling, kernel size, and flipped or rotated images.")
with second:
    st.page_link(
        "app_pages/inside.py", label="Inside the network", icon=":material/biotech:"
    )
    st.caption("Kernels, feature maps, saliency, and the digits it gets wrong.")
    st.page_link("app_pages/draw.py", label="Draw a digit", icon=":material/draw:")
    st.caption("Write a digit with the mouse and watch the model read it.")
    st.page_link(
        "app_pages/runs.py", label="Compare runs", icon=":material/monitoring:"
    )
    st.caption("Every run you made, side by side: accuracy against time.")

st.subheader("The two reference models")
st.markdown(
    "- **MLP**: 784 pixels → Dense(512, ReLU) → Dropout(0.2) → Dense(512, ReLU) → "
    "Dropout(0.2) → Dense(10, softmax); RMSprop, batch 128, 20 epochs; "
    "669,706 parameters. The tutorial promises 97.5% test accuracy; today's "
    "Keras reaches about 98.5% on the full data.\n"
    "- **CNN**: Conv2D(32, 3×3, ReLU) → Conv2D(64, 3×3, ReLU) → MaxPooling(2×2) → "
    "Dropout(0.25) → Flatten → Dense(128, ReLU) → Dropout(0.5) → Dense(10, "
    "softmax); Adadelta at learning rate 1.0, batch 128, 12 epochs; 1,199,882 "
    "parameters; about 99% on the full data."
)
