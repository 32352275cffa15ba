"""Small widgets the inside page's sections share: pages of items and tables."""

from __future__ import annotations

import pandas as pd
import streamlit as st


def keep_valid(key: str, options) -> None:
    """Forget a widget's stored value when the current model no longer offers it."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]


def clamp_number(key: str, low: int, high: int) -> None:
    """Move a number input's stored value into [low, high] before it is drawn."""
    if key in st.session_state:
        st.session_state[key] = min(max(st.session_state[key], low), high)


def page_controls(key: str, total: int, per_page: int, label: str) -> range:
    """Draw a select box of pages when `total` items do not fit on one page."""
    if total <= per_page:
        return range(total)
    pages = [
        range(start, min(start + per_page, total))
        for start in range(0, total, per_page)
    ]
    names = [f"{page.start}–{page.stop - 1}" for page in pages]
    keep_valid(key, names)
    name = st.selectbox(label, names, key=key)
    return pages[names.index(name)]


def show_table(title: str, frame: pd.DataFrame) -> None:
    """Show a chart's numbers in a closed expander."""
    with st.expander(f"Numbers: {title}"):
        st.dataframe(frame, hide_index=True)
