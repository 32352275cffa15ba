"""AppTest tests for the inside page with tiny trained models in session state."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mnist_core import storage
from mnist_core.config import CNNConfig, ConvBlockSpec, DenseLayerSpec, MLPConfig
from mnist_core.data import SAMPLE_PATH, load_from_path
from mnist_core.training import train_model
from ui import state

PAGE = Path(__file__).resolve().parents[1] / "app_pages" / "inside.py"

TINY_CONFIGS = {
    "cnn": CNNConfig(
        conv_blocks=(
            ConvBlockSpec(filters=4),
            ConvBlockSpec(filters=20, pooling="max"),
        ),
        dense_units=16,
        epochs=1,
        train_limit=500,
        batch_size=64,
        optimizer="adam",
        learning_rate=0.005,
        precision="float32",
    ),
    "mlp": MLPConfig(
        hidden_layers=(DenseLayerSpec(units=80), DenseLayerSpec(units=12)),
        epochs=1,
        train_limit=500,
        batch_size=64,
        precision="float32",
    ),
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Tiny trained models saved to files: {architecture: (entry, model)}."""
    dataset = load_from_path(SAMPLE_PATH)
    folder = tmp_path_factory.mktemp("session-models")
    models = {}
    for architecture, config in TINY_CONFIGS.items():
        record, model = train_model(config, dataset)
        path = storage.save_model(model, record, f"tiny-{architecture}", folder)
        entry = {"path": str(path), "record": record, "label": f"tiny {architecture}"}
        models[architecture] = (entry, model)
    return models


@pytest.fixture
def app(monkeypatch, tmp_path):
    """The inside page with the bundled sample and no saved or shipped models."""
    monkeypatch.setenv("MNIST_DATA", str(SAMPLE_PATH))
    monkeypatch.setenv("MNIST_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setattr(storage, "DEFAULT_MODELS_DIR", tmp_path / "shipped")
    return AppTest.from_file(str(PAGE), default_timeout=180)


def with_model(app: AppTest, trained, architecture: str) -> AppTest:
    entry, _ = trained[architecture]
    app.session_state[state.SESSION_MODELS] = {architecture: entry}
    return app.run()


def markdown_text(app: AppTest) -> str:
    return "\n".join(element.value for element in app.markdown)


def test_inside_page_without_model(app):
    app.run()

    assert not app.exception
    assert "No model yet" in app.info[0].value


def test_inside_page_with_cnn(app, trained):
    with_model(app, trained, "cnn")

    assert not app.exception
    assert not app.error
    assert [tab.label for tab in app.tabs][0] == "Kernels"
    text = markdown_text(app)
    assert "**conv_1** (Conv2D), output 26 x 26 x 4" in text
    assert "**pool_2** (MaxPooling2D), output 12 x 12 x 20" in text


def test_inside_page_with_mlp(app, trained):
    with_model(app, trained, "mlp")

    assert not app.exception
    assert not app.error
    assert [tab.label for tab in app.tabs][0] == "First-layer weights"
    text = markdown_text(app)
    assert "**dense_1** (Dense), output 80" in text
    assert "**dense_2** (Dense), output 12" in text


def test_inside_page_kernel_channel_pages(app, trained):
    with_model(app, trained, "cnn")
    app.selectbox(key=state.INSIDE_KERNEL_LAYER).set_value("conv_2").run()

    assert not app.exception
    filters = app.selectbox(key=state.INSIDE_KERNEL_FILTERS)
    assert filters.options == ["0–15", "16–19"]


def test_inside_page_switches_test_image(app, trained):
    with_model(app, trained, "cnn")
    app.number_input(key=state.INSIDE_TEST_INDEX).set_value(7).run()

    assert not app.exception
    assert "Test image 7 (true digit" in markdown_text(app)


def test_inside_page_preselects_drawn_digit(app, trained):
    drawn = np.zeros((28, 28), dtype=np.float32)
    drawn[6:22, 13:15] = 1.0  # a vertical stroke, roughly a 1
    app.session_state[state.DRAWN_DIGIT] = drawn
    app.session_state[state.INSIDE_INPUT_REQUEST] = {"kind": "drawn"}
    with_model(app, trained, "cnn")

    assert not app.exception
    assert app.radio(key=state.INSIDE_INPUT_KIND).value == "drawn"
    assert app.session_state[state.INSIDE_INPUT_REQUEST] is None


def test_inside_page_cell_count_matches_predictions(app, trained):
    entry, model = trained["cnn"]
    dataset = load_from_path(SAMPLE_PATH)
    images = dataset.x_test[..., np.newaxis].astype(np.float32) / 255.0
    predicted = model.predict(images, verbose=0).argmax(axis=1)
    expected = int(np.sum((dataset.y_test == 4) & (predicted == 9)))

    with_model(app, trained, "cnn")
    app.selectbox(key=state.INSIDE_TRUE_DIGIT).set_value(4)
    app.selectbox(key=state.INSIDE_PREDICTED_DIGIT).set_value(9).run()

    assert not app.exception
    assert f"{expected} test images of a 4 were predicted as 9" in markdown_text(app)


def test_inside_page_rerun_time_after_input_change(app, trained):
    """Record how long a full rerun takes after the input changes (no assert on
    the time: timing targets belong in benchmarks)."""
    with_model(app, trained, "cnn")
    start = time.perf_counter()
    app.number_input(key=state.INSIDE_TEST_INDEX).set_value(3).run()
    seconds = time.perf_counter() - start

    assert not app.exception
    print(f"inside page rerun after an input change: {seconds:.2f} s")


def test_inside_page_closeup_channel_follows_layer(app, trained):
    with_model(app, trained, "cnn")
    app.selectbox(key=state.INSIDE_CLOSEUP_LAYER).set_value("conv_2").run()
    app.number_input(key=state.INSIDE_CLOSEUP_CHANNEL).set_value(15).run()
    app.selectbox(key=state.INSIDE_CLOSEUP_LAYER).set_value("conv_1").run()

    assert not app.exception
    assert app.number_input(key=state.INSIDE_CLOSEUP_CHANNEL).value == 3
