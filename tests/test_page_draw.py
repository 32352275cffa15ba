"""AppTest of the draw page: empty canvas, uploads, predictions, hand-over."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from mnist_core import drawing, storage
from mnist_core.config import CNNConfig, ConvBlockSpec, DenseLayerSpec, MLPConfig
from mnist_core.data import SAMPLE_PATH, load_from_path
from mnist_core.models import build_model
from ui import state

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_SECONDS = 60


@pytest.fixture(scope="module")
def session_models(tmp_path_factory):
    """Save an untrained tiny MLP and CNN as this session's models."""
    folder = tmp_path_factory.mktemp("models")
    configs = {
        "mlp": MLPConfig(hidden_layers=(DenseLayerSpec(units=8),)),
        "cnn": CNNConfig(
            conv_blocks=(ConvBlockSpec(filters=4, pooling="max"),), dense_units=8
        ),
    }
    models = {}
    for architecture, config in configs.items():
        record = {"model": architecture, "test_accuracy": None}
        path = storage.save_model(
            build_model(config), record, f"tiny-{architecture}", folder
        )
        label = f"tiny {architecture}"
        models[architecture] = {"path": str(path), "record": record, "label": label}
    return models


@pytest.fixture
def app(session_models, tmp_path, monkeypatch):
    # An empty models folder: only the session's models and shipped ones show.
    monkeypatch.setenv(storage.MODELS_ENV_VARIABLE, str(tmp_path))
    app_test = AppTest.from_file(
        str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=TIMEOUT_SECONDS
    )
    app_test.session_state[state.SESSION_MODELS] = session_models
    app_test.switch_page("app_pages/draw.py")
    return app_test.run()


def mnist_png(black_on_white: bool = False) -> bytes:
    """Return the first test image of the bundled sample as PNG bytes."""
    image = load_from_path(SAMPLE_PATH).x_test[0]
    if black_on_white:
        image = 255 - image
    buffer = io.BytesIO()
    Image.fromarray(image).resize((140, 140)).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(app: AppTest, name: str, content: bytes) -> AppTest:
    app.file_uploader(key=state.DRAW_UPLOAD).upload(name, content, "image/png")
    return app.run()


def test_draw_page_renders_without_exception(app):
    assert not app.exception
    assert app.title[0].value == "Draw a digit"


def test_draw_page_empty_canvas_asks_for_digit(app):
    assert any("Draw a digit" in info.value for info in app.info)
    assert len(app.metric) == 0


def test_draw_page_defaults_to_session_models(app):
    labels = [box.format_func(box.value) for box in app.sidebar.selectbox]
    assert any("tiny mlp" in label for label in labels)
    assert any("tiny cnn" in label for label in labels)


def test_draw_page_upload_shows_predictions(app):
    upload(app, "digit.png", mnist_png())
    assert not app.exception
    assert not app.error
    # One guess per model, and the three preprocessing steps as images.
    assert len(app.metric) == 2
    captions = [caption for image in app.get("image") for caption in image.captions]
    assert any(caption.startswith("1. Cropped") for caption in captions)
    assert any(caption.startswith("3. Centred") for caption in captions)


def test_draw_page_naive_comparison_adds_guesses(app):
    upload(app, "digit.png", mnist_png(black_on_white=True))
    app.toggle(key=state.DRAW_COMPARE_NAIVE).set_value(True).run()
    assert not app.exception
    assert len(app.metric) == 4


def test_draw_page_rejects_text_upload(app):
    upload(app, "notes.png", b"not a picture at all")
    assert any("not a PNG or JPEG" in error.value for error in app.error)
    assert len(app.metric) == 0


def test_draw_page_rejects_decompression_bomb(app):
    image = Image.new("L", (1, 1))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    # Declare 20000 x 20000 pixels in the IHDR chunk and fix its checksum.
    bomb = bytearray(buffer.getvalue())
    bomb[16:24] = (20000).to_bytes(4, "big") * 2
    bomb[29:33] = zlib.crc32(bomb[12:29]).to_bytes(4, "big")
    upload(app, "bomb.png", bytes(bomb))
    assert any("pixels" in error.value for error in app.error)


def test_draw_page_blank_upload_asks_for_digit(app):
    buffer = io.BytesIO()
    Image.new("L", (100, 100), 255).save(buffer, format="PNG")
    upload(app, "blank.png", buffer.getvalue())
    assert any("Draw a digit" in info.value for info in app.info)


def test_draw_page_sends_digit_to_inside_page(app):
    upload(app, "digit.png", mnist_png())
    buttons = [button for button in app.button if "inside the CNN" in button.label]
    buttons[0].click().run()
    drawn = app.session_state[state.DRAWN_DIGIT]
    expected = drawing.preprocess_image(drawing.read_upload(mnist_png())).framed
    assert drawn.shape == (28, 28)
    assert drawn.dtype == np.float32
    assert np.allclose(drawn, expected)
    # The inside page now runs, and takes the request as soon as it reads it.
    assert all(title.value != "Draw a digit" for title in app.title)
    request = app.session_state[state.INSIDE_INPUT_REQUEST]
    request_consumed = state.INSIDE_INPUT_KIND in app.session_state and (
        app.session_state[state.INSIDE_INPUT_KIND] == "drawn"
    )
    assert request == {"kind": "drawn"} or request_consumed
