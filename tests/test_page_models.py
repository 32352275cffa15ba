"""AppTest tests for the models page: keep, upload, publish, rename, delete."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mnist_core import storage, uploads
from mnist_core.config import config_to_dict
from mnist_core.data import SAMPLE_PATH
from mnist_core.models import build_model
from ui import state

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "app_pages" / "models.py"


@keras.saving.register_keras_serializable(package="page_models_test")
def triple(inputs):
    return inputs * 3


@pytest.fixture
def app(tmp_models_dir, tmp_path, monkeypatch):
    """The models page with an empty models folder and no shipped models."""
    monkeypatch.setattr(storage, "DEFAULT_MODELS_DIR", tmp_path / "shipped")
    return AppTest.from_file(str(PAGE), default_timeout=60)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A tiny MLP as a training job leaves it, with its metadata."""
    folder = tmp_path_factory.mktemp("jobs")
    return save_tiny_model(folder, "job-model")


def save_tiny_model(folder: Path, name: str) -> Path:
    from mnist_core.config import DenseLayerSpec, MLPConfig

    config = MLPConfig(hidden_layers=(DenseLayerSpec(units=8),))
    record = {
        "model": "mlp",
        "run_id": f"run-{name}",
        "config": config_to_dict(config),
        "test_accuracy": 0.5,
        "num_parameters": 6370,
    }
    return storage.save_model(build_model(config), record, name, folder)


def keras_file_bytes(model, folder: Path) -> bytes:
    path = folder / "model.keras"
    model.save(path)
    return path.read_bytes()


def with_member(data: bytes, name: str) -> bytes:
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as reader,
        zipfile.ZipFile(output, "w") as writer,
    ):
        for info in reader.infolist():
            writer.writestr(info, reader.read(info))
        writer.writestr(name, b"x")
    return output.getvalue()


def zip_bomb(data: bytes) -> bytes:
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as reader,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as writer,
    ):
        writer.writestr("config.json", reader.read("config.json"))
        with writer.open("model.weights.h5", "w", force_zip64=True) as weights:
            for _ in range(32):
                weights.write(bytes(1024 * 1024))
    return output.getvalue()


def bad_upload(kind: str, good: bytes, folder: Path) -> bytes:
    """Return the bytes of one kind of file the page must reject."""
    dense = keras.layers.Dense(10)
    if kind == "random bytes":
        return np.random.default_rng(1).bytes(5000)
    if kind == "truncated":
        return good[: len(good) // 2]
    if kind == "python lambda":
        layers = [keras.layers.Lambda(lambda inputs: inputs + 1), dense]
        return keras_file_bytes(
            keras.Sequential([keras.Input((784,)), *layers]), folder
        )
    if kind == "registered lambda":
        layers = [keras.layers.Lambda(triple), dense]
        return keras_file_bytes(
            keras.Sequential([keras.Input((784,)), *layers]), folder
        )
    if kind == "zip bomb":
        return zip_bomb(good)
    if kind == "rgb input":
        layers = [keras.Input((32, 32, 3)), keras.layers.Flatten(), dense]
        return keras_file_bytes(keras.Sequential(layers), folder)
    if kind == "five outputs":
        layers = [keras.Input((784,)), keras.layers.Dense(5)]
        return keras_file_bytes(keras.Sequential(layers), folder)
    if kind == "parent member":
        return with_member(good, "../evil.py")
    raise ValueError(kind)


BAD_UPLOADS = {
    "random bytes": "not a complete .keras archive",
    "truncated": "not a complete .keras archive",
    "python lambda": "Lambda layer",
    "registered lambda": "Lambda layer",
    "zip bomb": "zip bomb",
    "rgb input": "inputs of shape (32, 32, 3)",
    "five outputs": "outputs shape (5,)",
    "parent member": "points outside the archive",
}


def upload(app: AppTest, name: str, data: bytes) -> AppTest:
    return app.file_uploader(key=state.MODELS_UPLOAD).upload(name, data).run()


def test_models_page_without_models(app):
    app.run()

    assert not app.exception
    assert [element.value for element in app.info] == [
        "Models you train on the MLP and CNN pages can be saved here.",
        "No saved models yet.",
    ]
    assert not app.warning


def test_models_page_warns_when_storage_ephemeral(app, monkeypatch):
    monkeypatch.setenv(storage.EPHEMERAL_ENV_VARIABLE, "1")
    app.run()

    assert "Download each model you want to keep" in app.warning[0].value


@pytest.mark.parametrize("kind", BAD_UPLOADS)
def test_models_page_rejects_bad_upload(kind, app, model_file, tmp_path):
    data = bad_upload(kind, model_file.read_bytes(), tmp_path)
    upload(app.run(), f"{kind}.keras", data)

    assert not app.exception
    assert f"{kind}.keras was rejected" in app.error[0].value
    assert BAD_UPLOADS[kind] in app.error[0].value
    assert not app.dataframe


def test_models_page_rejects_file_over_limit(app, model_file, monkeypatch):
    data = model_file.read_bytes()
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", len(data) - 1)
    upload(app.run(), "big.keras", data)

    assert not app.exception
    assert f"the limit is {len(data) - 1:,}" in app.error[0].value


def test_models_page_upload_listed_as_own(app, model_file):
    upload(app.run(), "my upload.keras", model_file.read_bytes())

    assert not app.exception
    assert app.success[0].value.startswith("Uploaded as my_upload.")
    table = app.dataframe[0].value
    assert list(table["name"]) == ["my_upload"]
    assert list(table["where"]) == ["Yours"]
    assert app.get("download_button")[0].label == "Download my_upload.keras"


def test_uploaded_model_offered_on_other_pages(tmp_models_dir, model_file, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(SAMPLE_PATH))
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    app.run()
    app.switch_page("app_pages/models.py").run()
    upload(app, "shared-everywhere.keras", model_file.read_bytes())
    assert not app.exception

    app.switch_page("app_pages/inside.py").run()

    assert not app.exception
    options = app.selectbox(key=state.INSIDE_MODEL).options
    assert "Saved or uploaded in this session: shared-everywhere" in options


def test_models_page_keeps_trained_model(app, model_file):
    app.session_state[state.SESSION_MODELS] = {
        "mlp": {"path": str(model_file), "record": {}, "label": "tiny run"}
    }
    app.run()
    app.text_input(key=state.MODELS_KEEP_NAME).set_value("kept one")
    app.button[0].click().run()

    assert not app.exception
    assert app.success[0].value == "Saved as kept_one."
    assert list(app.dataframe[0].value["name"]) == ["kept_one"]


def test_models_page_second_save_of_same_run(app, model_file, tmp_path):
    other_file = save_tiny_model(tmp_path, "other-job")
    app.session_state[state.SESSION_MODELS] = {
        "mlp": {"path": str(model_file), "record": {}, "label": "tiny run"},
        "cnn": {"path": str(other_file), "record": {}, "label": "other run"},
    }
    app.run()
    app.text_input(key=state.MODELS_KEEP_NAME).set_value("kept")
    app.button[0].click().run()
    app.text_input(key=state.MODELS_KEEP_NAME).set_value("kept")
    app.button[0].click().run()

    assert not app.exception
    assert app.info[0].value == "This run is already saved as kept."
    assert not app.error

    app.selectbox(key=state.MODELS_KEEP_CHOICE).set_value("cnn")
    app.text_input(key=state.MODELS_KEEP_NAME).set_value("kept")
    app.button[0].click().run()

    assert "already exists" in app.error[0].value
    assert list(app.dataframe[0].value["name"]) == ["kept"]


def test_models_page_rename_and_delete(app, model_file):
    upload(app.run(), "first.keras", model_file.read_bytes())
    app.text_input(key=state.MODELS_NEW_NAME).set_value("second")
    app.button(key="FormSubmitter:models.rename_form-Rename").click().run()

    assert not app.exception
    assert app.success[0].value == "Renamed first to second."
    assert list(app.dataframe[0].value["name"]) == ["second"]

    app.checkbox(key=state.MODELS_CONFIRM_DELETE).check().run()
    delete = [button for button in app.button if button.label == "Delete"][0]
    delete.click().run()

    assert not app.exception
    assert app.success[0].value == "Deleted second."
    assert not app.dataframe


def test_models_page_rename_to_taken_name_fails(app, model_file):
    upload(app.run(), "first.keras", model_file.read_bytes())
    upload(app, "second.keras", model_file.read_bytes())
    app.selectbox(key=state.MODELS_SELECTED).select_index(1).run()
    selected = app.selectbox(key=state.MODELS_SELECTED).value
    app.text_input(key=state.MODELS_NEW_NAME).set_value(
        "second" if selected.endswith("first.keras") else "first"
    )
    app.button(key="FormSubmitter:models.rename_form-Rename").click().run()

    assert not app.exception
    assert "already exists" in app.error[0].value
    assert sorted(app.dataframe[0].value["name"]) == ["first", "second"]


def test_models_page_publish(app, model_file):
    upload(app.run(), "mine.keras", model_file.read_bytes())
    publish = [b for b in app.button if b.label == "Publish to all sessions"][0]
    publish.click().run()

    assert not app.exception
    assert app.success[0].value == "mine is now listed for everyone."
    assert sorted(app.dataframe[0].value["where"]) == ["Shared", "Yours"]


def test_models_page_command_line_model_read_only(app, tmp_models_dir):
    save_tiny_model(tmp_models_dir / "saved", "from-cli")
    app.run()

    assert not app.exception
    assert list(app.dataframe[0].value["where"]) == ["Shared"]
    assert "read-only here" in app.caption[-1].value
    assert not [button for button in app.button if button.label == "Delete"]


def test_models_page_download_uploads_again(app, model_file):
    upload(app.run(), "carried.keras", model_file.read_bytes())
    [path] = storage.models_dir().glob("sessions/*/carried.keras")

    model, metadata = uploads.load_upload(path.read_bytes())

    assert metadata["uploaded_as"] == "carried.keras"
    assert metadata["test_accuracy"] == 0.5
    assert metadata["config"]["hidden_layers"][0]["units"] == 8
    assert model.count_params() == 6370
