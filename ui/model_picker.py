"""A select box of every model this session may use, and loading the chosen one."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from mnist_core import storage
from ui.data_access import load_model_file
from ui.session import current_session_id
from ui.state import SESSION_MODELS


@dataclass(frozen=True)
class ModelChoice:
    """A model the user can pick: where it comes from and its file."""

    label: str
    path: str
    architecture: str
    origin: str  # "session", "saved" or "shipped"


# Labels for where a listed model comes from; uploaded models are private.
VISIBILITY_LABELS = {
    "private": "Saved or uploaded in this session",
    "shared": "Shared",
    "shipped": "Shipped",
}


def available_models(
    architectures: tuple[str, ...] = ("mlp", "cnn"),
) -> list[ModelChoice]:
    """List this session's trained models, then its saved and uploaded ones,
    shared ones and shipped ones."""
    choices = []
    for architecture, entry in st.session_state.get(SESSION_MODELS, {}).items():
        if architecture in architectures:
            label = f"Trained in this session: {entry['label']}"
            choices.append(ModelChoice(label, entry["path"], architecture, "session"))
    for entry in storage.list_visible_models(current_session_id()):
        if entry.architecture in architectures:
            origin = "shipped" if entry.read_only else "saved"
            where = VISIBILITY_LABELS.get(entry.visibility, "Saved")
            label = f"{where}: {entry.name}"
            choices.append(
                ModelChoice(label, str(entry.path), entry.architecture, origin)
            )
    return choices


def choose_model(
    key: str,
    architectures: tuple[str, ...] = ("mlp", "cnn"),
    label: str = "Model",
) -> ModelChoice | None:
    """Draw a select box of models; return the choice, or None if there is none."""
    choices = available_models(architectures)
    if not choices:
        st.info(
            "No model yet: train one on the MLP or CNN page, or load a saved one "
            "on the Models page."
        )
        return None
    index = st.selectbox(
        label,
        range(len(choices)),
        format_func=lambda position: choices[position].label,
        key=key,
    )
    return choices[index]


def load_choice(choice: ModelChoice):
    """Load the chosen model; returns (model, metadata) or None after an error."""
    try:
        return load_model_file(choice.path)
    except (storage.StorageError, OSError) as error:
        st.error(f"Could not load {choice.label}: {error}")
        return None
