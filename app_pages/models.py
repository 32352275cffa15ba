"""Models: keep, list, download, upload, publish, rename and delete models."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnist_core import storage, uploads
from ui import state
from ui.model_actions import (
    entry_label,
    keep_trained_model,
    report,
    show_actions,
    show_message,
)
from ui.run_tables import ACCURACY_COLUMN
from ui.session import current_session_id


def show_storage_notice() -> None:
    """Tell who can use saved models, and warn where the disk does not last."""
    st.caption(
        "Models you save or upload here are private to this browser tab: a "
        "reload starts a new session. Publish a model to list it for every "
        "session on this server."
    )
    if storage.storage_is_ephemeral():
        st.warning(
            "This server does not keep its files: saved and uploaded models "
            "vanish when the app restarts. Download each model you want to "
            "keep, and upload it again later."
        )


def show_keep_form(owner: str) -> None:
    """Offer to save the models trained in this session under a name."""
    trained = st.session_state.get(state.SESSION_MODELS, {})
    show_message("keep")
    if not trained:
        st.info("Models you train on the MLP and CNN pages can be saved here.")
        return
    with st.form("models.keep_form"):
        st.selectbox(
            "Trained model",
            list(trained),
            # A run's label starts with its architecture, e.g. "MLP: epochs=1".
            format_func=lambda name: trained[name]["label"],
            key=state.MODELS_KEEP_CHOICE,
        )
        st.text_input(
            "Name",
            key=state.MODELS_KEEP_NAME,
            help="Letters, digits, '-', '_' and '.'; other characters become '_'",
        )
        st.form_submit_button(
            "Save", on_click=keep_trained_model, args=(trained, owner)
        )


def choose_entry(entries: list[storage.ModelEntry]) -> storage.ModelEntry | None:
    """Draw the list of models and a picker; return the picked model."""
    rows = [
        {
            "name": entry.name,
            "where": entry_label(entry).split(":")[0],
            "model": entry.architecture,
            "test_accuracy": None
            if entry.test_accuracy is None
            else 100 * entry.test_accuracy,
            "saved_at": entry.saved_at,
        }
        for entry in entries
    ]
    st.dataframe(
        pd.DataFrame(rows),
        column_config={
            "name": st.column_config.TextColumn("Name"),
            "where": st.column_config.TextColumn("Where"),
            "model": st.column_config.TextColumn("Model"),
            "test_accuracy": ACCURACY_COLUMN,
            "saved_at": st.column_config.TextColumn("Saved at (UTC)"),
        },
        hide_index=True,
    )
    by_path = {str(entry.path): entry for entry in entries}
    if st.session_state.get(state.MODELS_SELECTED) not in by_path:
        st.session_state.pop(state.MODELS_SELECTED, None)
    path = st.selectbox(
        "Model",
        list(by_path),
        format_func=lambda key: entry_label(by_path[key]),
        key=state.MODELS_SELECTED,
    )
    return by_path.get(path)


def show_upload(owner: str) -> None:
    """Check an uploaded `.keras` file and keep it among the session's models."""
    uploaded = st.file_uploader(
        "Upload a .keras model",
        type=["keras"],
        key=state.MODELS_UPLOAD,
        max_upload_size=max(1, uploads.MAX_UPLOAD_BYTES // (1024 * 1024)),
        help="An MNIST classifier: input 28x28x1, 1x28x28 or 784, 10 outputs, "
        "built from standard Keras layers",
    )
    show_message("upload")
    handled = st.session_state.get(state.MODELS_UPLOADED_FILE)
    if uploaded is None or uploaded.file_id == handled:
        return
    st.session_state[state.MODELS_UPLOADED_FILE] = uploaded.file_id
    try:
        path = uploads.store_upload(uploaded.getvalue(), uploaded.name, owner)
    except storage.StorageError as error:
        report("upload", "error", f"{uploaded.name} was rejected: {error}.")
    else:
        report(
            "upload",
            "success",
            f"Uploaded as {path.stem}. Every page that takes a model lists it.",
        )
    st.rerun()


st.title("Models")
st.markdown(
    "A saved model is one `.keras` file that carries its settings and scores. "
    "Keep the models you train, download them to keep them for good, upload "
    "them again later, or publish one for everybody on this server."
)
show_storage_notice()
owner = current_session_id()

st.subheader("Keep a model trained in this session")
show_keep_form(owner)

st.subheader("Models you can use")
entries = storage.list_visible_models(owner)
if entries:
    entry = choose_entry(entries)
    if entry is not None:
        show_actions(entry, owner)
else:
    show_message("actions")
    st.info("No saved models yet.")

st.subheader("Upload a model")
show_upload(owner)
