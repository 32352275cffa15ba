"""MNIST Explorer's entry point: streamlit run streamlit_app.py"""

import streamlit as st

from ui.sidebar import show_shared_sidebar

st.set_page_config(
    page_title="MNIST Explorer", page_icon=":material/draw:", layout="wide"
)

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page(
        "app_pages/data.py", title="Data", icon=":material/grid_on:", url_path="data"
    ),
    st.Page(
        "app_pages/mlp.py",
        title="MLP (exercise 1)",
        icon=":material/hub:",
        url_path="mlp",
    ),
    st.Page(
        "app_pages/cnn.py",
        title="CNN (exercise 2)",
        icon=":material/view_module:",
        url_path="cnn",
    ),
    st.Page(
        "app_pages/inside.py",
        title="Inside the network",
        icon=":material/biotech:",
        url_path="inside",
    ),
    st.Page(
        "app_pages/draw.py",
        title="Draw a digit",
        icon=":material/draw:",
        url_path="draw",
    ),
    st.Page(
        "app_pages/runs.py", title="Runs", icon=":material/monitoring:", url_path="runs"
    ),
    st.Page(
        "app_pages/models.py", title="Models", icon=":material/save:", url_path="models"
    ),
]

navigation = st.navigation(PAGES)
show_shared_sidebar()
navigation.run()
