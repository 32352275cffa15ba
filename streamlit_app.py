"""MNIST Explorer's entry point: streamlit run streamlit_app.py"""

import streamlit as st

from ui.sidebar import show_shared_sidebar

st.set_page_config(page_title="MNIST Explorer", page_icon="✍️", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/data.py", title="Data", icon="🔢", url_path="data"),
    st.Page("pages/mlp.py", title="MLP (exercise 1)", icon="🧮", url_path="mlp"),
    st.Page("pages/cnn.py", title="CNN (exercise 2)", icon="🧱", url_path="cnn"),
    st.Page("pages/inside.py", title="Inside the network", icon="🔬", url_path="inside"),
    st.Page("pages/draw.py", title="Draw a digit", icon="✏️", url_path="draw"),
    st.Page("pages/runs.py", title="Runs", icon="📊", url_path="runs"),
    st.Page("pages/models.py", title="Models", icon="💾", url_path="models"),
]

navigation = st.navigation(PAGES)
show_shared_sidebar()
navigation.run()
