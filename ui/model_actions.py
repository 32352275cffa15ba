"""What the Models page does to one model: details, download, publish, rename, delete.

Each action that changes the folder runs as a widget callback, before the
page reruns, so the list drawn after it is fresh; its outcome is kept as a
message that shows once beside the control that caused it.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from mnist_core import runs, sharing, storage
from ui import state
from ui.format import format_accuracy, format_count

VISIBILITY_LABELS = {"private": "Yours", "shared": "Shared", "shipped": "Shipped"}


def report(place: str, kind: str, text: str) -> None:
    """Keep a message for `place` to show after the next rerun."""
    st.session_state[state.MODELS_MESSAGE] = {
        "place": place,
        "kind": kind,
        "text": text,
    }


def show_message(place: str) -> None:
    """Show, once, the message kept for `place`."""
    message = st.session_state.get(state.MODELS_MESSAGE)
    if message and message["place"] == place:
        getattr(st, message["kind"])(message["text"])
        del st.session_state[state.MODELS_MESSAGE]


def entry_label(entry: storage.ModelEntry) -> str:
    """Return how the list names a model, e.g. 'Yours: mlp-20-units'."""
    return f"{VISIBILITY_LABELS.get(entry.visibility, 'Shared')}: {entry.name}"


def show_details(entry: storage.ModelEntry) -> None:
    """Say what the model is: architecture, score, size, changed knobs, data."""
    metadata = entry.metadata
    changed = runs.changed_knobs(metadata) if "config" in metadata else []
    data_source = metadata.get("data_source") or {}
    lines = [
        f"**{entry.name}**: {entry.architecture.upper()}, test accuracy "
        f"{format_accuracy(entry.test_accuracy)}, "
        f"{format_count(metadata.get('num_parameters'))} parameters.",
        f"Changed from the tutorial: {', '.join(changed) or 'nothing'}.",
    ]
    if data_source.get("description"):
        lines.append(f"Trained on {data_source['description']}.")
    if metadata.get("config_inferred"):
        lines.append("Uploaded without this app's metadata; its knobs are unknown.")
    st.markdown("  \n".join(lines))


def show_download(entry: storage.ModelEntry) -> None:
    """Offer the `.keras` file, metadata included, as a download."""
    st.download_button(
        f"Download {entry.name}.keras",
        entry.path.read_bytes(),
        file_name=f"{entry.name}.keras",
        mime="application/octet-stream",
        on_click="ignore",
        help="The file carries its metadata; upload it here again to use it.",
    )


def publish(entry: storage.ModelEntry, owner: str) -> None:
    """Copy one of the session's models to the shared list (a callback)."""
    try:
        sharing.publish_model(entry.path, owner)
    except storage.StorageError as error:
        report("actions", "error", f"{entry.name} was not published: {error}.")
    else:
        report("actions", "success", f"{entry.name} is now listed for everyone.")


def rename(entry: storage.ModelEntry, owner: str) -> None:
    """Rename the model to the name typed in the form (a callback)."""
    new_name = st.session_state.get(state.MODELS_NEW_NAME, "")
    try:
        new_path = sharing.rename_model(entry.path, new_name, owner)
    except (ValueError, storage.StorageError) as error:
        report("actions", "error", f"{entry.name} was not renamed: {error}.")
    else:
        st.session_state[state.MODELS_SELECTED] = str(new_path)
        report("actions", "success", f"Renamed {entry.name} to {new_path.stem}.")


def delete(entry: storage.ModelEntry, owner: str) -> None:
    """Delete the model (a callback)."""
    try:
        sharing.delete_model(entry.path, owner)
    except storage.StorageError as error:
        report("actions", "error", f"{entry.name} was not deleted: {error}.")
    else:
        st.session_state.pop(state.MODELS_SELECTED, None)
        st.session_state.pop(state.MODELS_CONFIRM_DELETE, None)
        report("actions", "success", f"Deleted {entry.name}.")


def show_rename_form(entry: storage.ModelEntry, owner: str) -> None:
    """Draw a new-name field; the model is renamed on submit, never overwriting."""
    with st.form("models.rename_form"):
        st.text_input(
            "New name",
            value=entry.name,
            key=state.MODELS_NEW_NAME,
            help="Letters, digits, '-', '_' and '.'; other characters become '_'",
        )
        st.form_submit_button("Rename", on_click=rename, args=(entry, owner))


def show_delete(entry: storage.ModelEntry, owner: str) -> None:
    """Draw a Delete button that works once the user ticks the confirmation."""
    confirmed = st.checkbox(
        f"Yes, delete {entry.name}", key=state.MODELS_CONFIRM_DELETE
    )
    st.button("Delete", disabled=not confirmed, on_click=delete, args=(entry, owner))


def show_actions(entry: storage.ModelEntry, owner: str) -> None:
    """Draw what the session may do with one model."""
    show_message("actions")
    show_details(entry)
    show_download(entry)
    if entry.visibility == "private":
        st.button("Publish to all sessions", on_click=publish, args=(entry, owner))
    if sharing.can_modify(entry.path, owner):
        show_rename_form(entry, owner)
        show_delete(entry, owner)
    elif entry.visibility == "shipped":
        st.caption("Shipped with the app: read-only.")
    else:
        st.caption(
            "Shared by another session or saved from the command line: read-only here."
        )


def keep_trained_model(trained: dict, owner: str) -> None:
    """Copy the model picked in the keep form into the session's folder.

    `trained` is the session's SESSION_MODELS dict; runs as a callback.
    """
    entry = trained[st.session_state[state.MODELS_KEEP_CHOICE]]
    name = st.session_state.get(state.MODELS_KEEP_NAME, "")
    try:
        saved, is_new = sharing.keep_run(Path(entry["path"]), name, owner)
    except (ValueError, storage.StorageError) as error:
        report("keep", "error", f"The model was not saved: {error}.")
    else:
        if is_new:
            report("keep", "success", f"Saved as {saved.stem}.")
        else:
            report("keep", "info", f"This run is already saved as {saved.stem}.")
