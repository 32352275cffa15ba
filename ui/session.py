"""The current browser session's id, and a check that a session is still open."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime import get_instance
from streamlit.runtime.scriptrunner import get_script_run_ctx


def current_session_id() -> str:
    """Return this browser session's id (new for each tab and reload)."""
    context = get_script_run_ctx()
    if context is None:
        return "headless"
    return context.session_id


def owner_liveness_check(session_id: str):
    """Return a callable that checks whether `session_id`'s browser is connected."""

    def is_alive() -> bool:
        try:
            runtime = get_instance()
        except RuntimeError:
            return True
        return runtime.is_active_session(session_id)

    return is_alive


def remember_session_model(architecture: str, path: str, record: dict, label: str):
    """Make a newly trained model the current one for its architecture."""
    from ui.state import SESSION_MODELS

    models = st.session_state.setdefault(SESSION_MODELS, {})
    models[architecture] = {"path": path, "record": record, "label": label}
