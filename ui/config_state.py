"""The MLP and CNN pages' config in session state, shareable links and presets.

The stored config is the page's source of truth. Widgets take their starting
values from it and are re-created from it after a preset, a link or a layer
edit, because Streamlit drops a widget's own state when its page is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import streamlit as st

from mnist_core.config import RunConfig, default_config
from mnist_core.knobs import (
    LIST_FIELDS,
    KnobError,
    apply_knob_setting,
    settings_from_config,
)
from mnist_core.presets import apply_preset, find_preset
from ui import state

# Query parameters Streamlit itself reads; they are not knobs.
STREAMLIT_QUERY_PARAMETERS = ("embed", "embed_options")


@dataclass(frozen=True)
class PageKeys:
    """The session-state keys of one training page."""

    architecture: str
    config: str
    job: str
    sweep: str
    widget_prefix: str
    query_applied: str
    query_warnings: str
    sweep_settings: str

    def widget(self, name: str) -> str:
        """Return the session-state key of the widget called `name`."""
        return self.widget_prefix + name


PAGE_KEYS = {
    "mlp": PageKeys(
        "mlp",
        state.MLP_CONFIG,
        state.MLP_JOB,
        state.MLP_SWEEP,
        state.MLP_WIDGET_PREFIX,
        state.MLP_QUERY_APPLIED,
        state.MLP_QUERY_WARNINGS,
        state.MLP_SWEEP_SETTINGS,
    ),
    "cnn": PageKeys(
        "cnn",
        state.CNN_CONFIG,
        state.CNN_JOB,
        state.CNN_SWEEP,
        state.CNN_WIDGET_PREFIX,
        state.CNN_QUERY_APPLIED,
        state.CNN_QUERY_WARNINGS,
        state.CNN_SWEEP_SETTINGS,
    ),
}


def reset_widgets(keys: PageKeys) -> None:
    """Forget the page's widget values so the next run re-seeds them."""
    for key in list(st.session_state):
        if str(key).startswith(keys.widget_prefix):
            del st.session_state[key]


def stored_config(keys: PageKeys) -> RunConfig:
    """Return the page's stored config, the tutorial's before the first change."""
    if keys.config not in st.session_state:
        st.session_state[keys.config] = default_config(keys.architecture)
    return st.session_state[keys.config]


def store_config(keys: PageKeys, config: RunConfig) -> None:
    """Keep `config` for the next run and write its knobs into the address bar."""
    st.session_state[keys.config] = config
    settings = settings_from_config(config)
    if st.query_params.to_dict() != settings:
        st.query_params.from_dict(settings)


def config_from_link(
    architecture: str, settings: dict[str, str]
) -> tuple[RunConfig, list[str]]:
    """Apply link settings one by one; return the config and a message per bad one.

    Whole layer lists go first, so that a per-layer setting refers to the
    list the link describes.
    """
    config = default_config(architecture)
    problems = []
    ordered = sorted(settings.items(), key=lambda item: item[0] not in LIST_FIELDS)
    for name, value in ordered:
        try:
            config = apply_knob_setting(config, f"{name}={value}")
        except KnobError as error:
            problems.append(f"Link parameter {name}={value!r} was ignored: {error}")
    return config, problems


def load_config(keys: PageKeys) -> RunConfig:
    """Return the page's config, applying the link's settings on first load."""
    if not st.session_state.get(keys.query_applied):
        st.session_state[keys.query_applied] = True
        settings = {
            name: st.query_params[name]
            for name in st.query_params
            if name not in STREAMLIT_QUERY_PARAMETERS
        }
        if settings:
            config, problems = config_from_link(keys.architecture, settings)
            st.session_state[keys.config] = config
            st.session_state[keys.query_warnings] = problems
            reset_widgets(keys)
    for problem in st.session_state.pop(keys.query_warnings, []):
        st.warning(problem)
    return stored_config(keys)


def share_link(config: RunConfig) -> str:
    """Return the page's address with the knobs that differ from the tutorial."""
    query = urlencode(settings_from_config(config), safe=":,*")
    base = st.context.url or f"/{config.architecture}"
    return f"{base}?{query}" if query else base


def show_share_link(config: RunConfig) -> None:
    """Show a copyable link that opens the page with these settings."""
    with st.expander("Copy link to these settings"):
        st.caption(
            "The link carries every knob that differs from the tutorial. Moving "
            "to another page drops the settings from the address bar, so copy "
            "the link from here."
        )
        st.code(share_link(config), language=None)


def load_preset(keys: PageKeys, preset_key: str) -> None:
    """Set the stored config and the sweep form from a preset (a button callback)."""
    preset = find_preset(preset_key)
    config = apply_preset(preset, stored_config(keys))
    st.session_state[keys.config] = config
    separator = "; " if any("," in value for value in preset.sweep_values) else ", "
    st.session_state[keys.sweep_settings] = {
        **st.session_state.get(keys.sweep_settings, {}),
        "knob": preset.sweep_knob,
        "values": separator.join(preset.sweep_values),
        "preset": preset.key,
    }
    reset_widgets(keys)
