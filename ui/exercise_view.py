"""Parts shared by the MLP and CNN exercise pages: settings, training, sweep."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from mnist_core.config import RunConfig
from mnist_core.jobs import get_scheduler
from ui.config_state import PageKeys, load_config, show_share_link, store_config
from ui.preset_view import show_presets
from ui.sweep_view import show_sweep
from ui.training_view import show_job, show_train_button

# A function that draws a page's sidebar knobs from a config and returns the
# new config, or None when the knobs do not make a valid one.
Controls = Callable[[RunConfig, PageKeys], RunConfig | None]


def choose_config(
    keys: PageKeys, preset_label: str, controls: Controls
) -> tuple[RunConfig, RunConfig | None]:
    """Draw the presets and the sidebar knobs; return (config, chosen).

    `chosen` is None while the knobs do not make a valid config, and `config`
    is then the last valid one, which the page keeps showing.
    """
    # Start a training process now, so that the first run does not wait for it.
    get_scheduler().warm_up()

    config = load_config(keys)
    show_presets(keys, preset_label)
    chosen = controls(config, keys)
    if chosen is not None:
        store_config(keys, chosen)
        config = chosen
    return config, chosen


def show_training_and_sweep(
    config: RunConfig, chosen: RunConfig | None, keys: PageKeys, buildable: bool
) -> None:
    """Draw the Train section, the one-knob sweep and the share link."""
    st.subheader("Train")
    show_train_button(chosen, keys, buildable)
    show_job(keys)

    st.subheader("Sweep one knob")
    st.markdown(
        "A sweep trains the same model once per value of one knob, with the same "
        "data and seed, and lines the results up: accuracy and seconds per epoch "
        "against the value."
    )
    show_sweep(chosen, keys, buildable)
    show_share_link(config)
