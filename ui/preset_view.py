"""A button per exercise bullet that loads its settings and its sweep."""

from __future__ import annotations

import streamlit as st

from mnist_core.presets import find_preset, presets_for
from ui.config_state import PageKeys, load_preset

BUTTONS_PER_ROW = 4


def show_presets(keys: PageKeys, title: str) -> None:
    """Draw the preset buttons and show which preset is loaded."""
    presets = presets_for(keys.architecture)
    with st.expander(title, expanded=True):
        st.caption(
            "Each button loads the tutorial's model with one change and fills "
            "in the sweep of that question below. Your epochs, training-set "
            "size, seed, validation and speed settings stay as they are."
        )
        for start in range(0, len(presets), BUTTONS_PER_ROW):
            row = presets[start : start + BUTTONS_PER_ROW]
            for column, preset in zip(st.columns(BUTTONS_PER_ROW), row, strict=False):
                column.button(
                    preset.name,
                    key=f"preset.{preset.key}",
                    help=preset.purpose,
                    on_click=load_preset,
                    args=(keys, preset.key),
                    width="stretch",
                )
        loaded = st.session_state.get(keys.sweep_settings, {}).get("preset")
        if loaded:
            preset = find_preset(loaded)
            st.info(
                f"**{preset.name}** loaded. {preset.purpose} Press Train for one "
                "run, or run the sweep below to compare "
                f"{', '.join(preset.sweep_values)}."
            )
