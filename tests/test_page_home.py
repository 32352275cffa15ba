"""AppTest of the home and data pages, through the real navigation."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from mnist_core import data

ROOT = Path(__file__).resolve().parent.parent
# Libraries the home page must not wait for: TensorFlow alone takes seconds.
HEAVY_LIBRARIES = ("tensorflow", "keras", "altair", "pandas")


@pytest.fixture(autouse=True)
def fresh_caches():
    """Forget the data source that an earlier test resolved in this process."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture()
def offline(monkeypatch, tmp_path):
    """Make every download fail fast and hide any Keras cache."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv(data.DATA_ENV_VARIABLE, raising=False)

    def refuse(*args, **kwargs):
        raise OSError("network unreachable (test)")

    monkeypatch.setattr(socket, "create_connection", refuse)


def run_page(page: str) -> AppTest:
    # Generous: the first run imports the app on a machine that may be busy.
    app = AppTest.from_file("../streamlit_app.py", default_timeout=180)
    app.run()
    if page != "app_pages/home.py":
        app.switch_page(page)
        app.run()
    return app


def test_home_page_offline_names_sample(offline):
    app = run_page("app_pages/home.py")
    assert not app.exception
    messages = " ".join(info.value for info in app.info)
    assert "bundled sample" in messages
    assert "6,000 training" in messages


def test_home_page_uses_mnist_data_file(monkeypatch, tmp_path):
    monkeypatch.setenv(data.DATA_ENV_VARIABLE, str(data.SAMPLE_PATH))
    app = run_page("app_pages/home.py")
    assert not app.exception
    messages = " ".join(info.value for info in app.info)
    assert f"file {data.SAMPLE_PATH}" in messages


def test_home_page_reports_broken_data_file(monkeypatch, tmp_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not an npz archive")
    monkeypatch.setenv(data.DATA_ENV_VARIABLE, str(broken))
    app = run_page("app_pages/home.py")
    assert not app.exception
    warnings = " ".join(warning.value for warning in app.warning)
    assert "broken.npz" in warnings
    assert "bundled sample" in warnings


def test_data_page_shows_preprocessing(offline):
    app = run_page("app_pages/data.py")
    assert not app.exception
    assert app.title[0].value == "The data"
    assert len(app.dataframe) == 2


def test_data_page_changes_image_number(offline):
    app = run_page("app_pages/data.py")
    app.number_input[1].set_value(7).run()
    assert not app.exception
    assert "Label: **" in " ".join(caption.value for caption in app.caption)


def test_home_page_imports_no_heavy_library():
    # A fresh process, so that other tests' imports do not count.
    script = (
        "import json, sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        "app = AppTest.from_file('streamlit_app.py', default_timeout=120).run()\n"
        "assert not app.exception, app.exception\n"
        "assert app.title[0].value == 'MNIST Explorer'\n"
        f"print(json.dumps([name for name in {HEAVY_LIBRARIES!r} "
        "if name in sys.modules]))\n"
    )
    environment = dict(os.environ, MNIST_DATA=str(data.SAMPLE_PATH))
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.splitlines()[-1]) == []
