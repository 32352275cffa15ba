"""Streamlit helpers shared by the pages: session keys, formatting, widgets."""
