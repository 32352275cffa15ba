"""MNIST Explorer's core: data, models, training, inspection and saving.

Nothing here imports Streamlit; the pages in `app_pages/` call into it.
"""
