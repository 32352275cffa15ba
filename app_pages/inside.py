"""Inside the network: kernels, weights, feature maps, saliency and mistakes."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from mnist_core.inspection import ModelInspector
from mnist_core.model_layers import InspectionError
from ui import state
from ui.data_access import get_dataset
from ui.inside_input import show_one_input
from ui.inside_mistakes import show_test_set
from ui.inside_weights import show_first_layer_weights, show_kernels
from ui.model_picker import choose_model, load_choice


@st.cache_resource(show_spinner="Preparing the model for inspection…", max_entries=8)
def get_inspector(path: str, modified: float, _model) -> ModelInspector:
    """Build one inspector per model file and modification time, shared by all."""
    return ModelInspector(_model)


st.title("Inside the network")
st.markdown(
    "Open up a trained model. A CNN's first layer learns small kernels that "
    "light up on strokes and edges; later layers combine those maps. An MLP's "
    "first layer weighs every pixel, so each unit's weights form a picture of "
    "what it looks for. Then see which test images fool the model, and how sure "
    "it was."
)

choice = choose_model(state.INSIDE_MODEL)
loaded = load_choice(choice) if choice is not None else None
if loaded is None:
    st.stop()
model, metadata = loaded
try:
    inspector = get_inspector(choice.path, Path(choice.path).stat().st_mtime, model)
except InspectionError as error:
    st.error(f"Cannot look inside {choice.label}: {error}.")
    st.stop()
dataset, _ = get_dataset()

is_cnn = inspector.kind == "cnn"
weights_tab, input_tab, test_tab = st.tabs(
    [
        "Kernels" if is_cnn else "First-layer weights",
        "One input, layer by layer",
        "Mistakes",
    ]
)
with weights_tab:
    if is_cnn:
        show_kernels(inspector)
    else:
        show_first_layer_weights(inspector)
with input_tab:
    show_one_input(inspector, dataset)
with test_tab:
    show_test_set(inspector, dataset)
