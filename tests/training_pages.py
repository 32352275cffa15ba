"""Helpers for the MLP and CNN page tests: open a page and wait for its jobs.

AppTest never fires `st.fragment(run_every=...)`, so the helpers rerun the
whole page until the job, which trains in a real worker process, has ended.
"""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from mnist_core import hardware
from mnist_core.data import SAMPLE_PATH
from mnist_core.models import build_model, compile_model
from ui.config_state import PAGE_KEYS

PAGES_DIR = Path(__file__).resolve().parents[1] / "app_pages"
# Seconds a page test waits for a run; a worker starts in a few seconds and
# a one-epoch run on a few hundred images takes a few more.
JOB_DEADLINE_SECONDS = 120


def open_page(architecture: str, monkeypatch, tmp_path) -> AppTest:
    """Return the page's AppTest with the bundled sample and a fresh models folder."""
    monkeypatch.setenv("MNIST_DATA", str(SAMPLE_PATH))
    monkeypatch.setenv("MNIST_MODELS_DIR", str(tmp_path / "models"))
    page = PAGES_DIR / f"{architecture}.py"
    return AppTest.from_file(str(page), default_timeout=60)


def open_app(monkeypatch, tmp_path) -> AppTest:
    """Return the whole app (navigation included), run once, on the sample."""
    monkeypatch.setenv("MNIST_DATA", str(SAMPLE_PATH))
    monkeypatch.setenv("MNIST_MODELS_DIR", str(tmp_path / "models"))
    app = AppTest.from_file(str(PAGES_DIR.parent / "streamlit_app.py"))
    app.default_timeout = 60
    return app.run()


def config_of(app: AppTest, architecture: str):
    """Return the config the page has stored."""
    return app.session_state[PAGE_KEYS[architecture].config]


def built_model(app: AppTest, architecture: str):
    """Build and compile the page's stored config as training would."""
    config = config_of(app, architecture)
    model = build_model(config, dtype=hardware.resolve_precision(config.precision))
    compile_model(model, config)
    return model


def set_quick_run(app: AppTest, architecture: str, train_limit: int = 300) -> None:
    """Set the page's widgets for one epoch on `train_limit` images."""
    keys = PAGE_KEYS[architecture]
    app.number_input(key=keys.widget("train_limit")).set_value(train_limit)
    app.number_input(key=keys.widget("epochs")).set_value(1)
    app.run()


def wait_for_job(app: AppTest, architecture: str):
    """Rerun the page until its training job has ended; return the last snapshot."""
    job = app.session_state[PAGE_KEYS[architecture].job]
    deadline = time.monotonic() + JOB_DEADLINE_SECONDS
    while job.snapshot().active and time.monotonic() < deadline:
        time.sleep(0.5)
        app.run()
    snapshot = job.snapshot()
    assert not snapshot.active, f"the job is still {snapshot.state}"
    app.run()
    return snapshot


def wait_for_sweep(app: AppTest, architecture: str):
    """Rerun the page until its sweep has ended; return the sweep."""
    sweep = app.session_state[PAGE_KEYS[architecture].sweep]
    deadline = time.monotonic() + JOB_DEADLINE_SECONDS * len(sweep.jobs)
    while sweep.active and time.monotonic() < deadline:
        time.sleep(0.5)
        app.run()
    assert not sweep.active, "the sweep did not finish in time"
    app.run()
    return sweep


def metric_values(app: AppTest) -> dict[str, str]:
    """Return the page's metrics as {label: value}."""
    return {metric.label: metric.value for metric in app.metric}


def dataframe_with_column(app: AppTest, column: str):
    """Return the first table on the page that has `column`."""
    for frame in app.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with a {column!r} column")
