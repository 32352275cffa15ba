"""Tests for mnist_core.uploads and mnist_core.model_checks on hostile files."""

from __future__ import annotations

import io
import json
import zipfile

import keras
import numpy as np
import pytest

from mnist_core import model_checks, storage, uploads
from mnist_core.config import CNNConfig, MLPConfig, config_to_dict
from mnist_core.models import build_model


@pytest.fixture(autouse=True)
def models_folder(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    monkeypatch.setenv(storage.MODELS_ENV_VARIABLE, str(folder))
    monkeypatch.setattr(storage, "DEFAULT_MODELS_DIR", tmp_path / "repository")
    return folder


@keras.saving.register_keras_serializable(package="uploads_test")
def double(inputs):
    return inputs * 2


def keras_file_bytes(model, tmp_path) -> bytes:
    path = tmp_path / "model.keras"
    model.save(path)
    return path.read_bytes()


def app_file_bytes(config, tmp_path) -> bytes:
    record = {"model": config.architecture, "config": config_to_dict(config)}
    path = storage.save_model(build_model(config), record, "upload", tmp_path)
    return path.read_bytes()


def rewrite_archive(data: bytes, extra: dict[str, bytes]) -> bytes:
    """Return `data` as a zip with the members of `extra` added or replaced."""
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as reader,
        zipfile.ZipFile(output, "w") as writer,
    ):
        for info in reader.infolist():
            if info.filename not in extra:
                writer.writestr(info, reader.read(info))
        for name, content in extra.items():
            writer.writestr(name, content)
    return output.getvalue()


@pytest.mark.parametrize(
    "config",
    [MLPConfig(), CNNConfig(), CNNConfig(data_format="channels_first")],
    ids=["mlp", "cnn", "cnn-channels-first"],
)
def test_load_upload_accepts_app_models(config, tmp_path):
    model, metadata = uploads.load_upload(app_file_bytes(config, tmp_path))

    assert model.count_params() == build_model(config).count_params()
    assert metadata["model"] == config.architecture
    assert "config_inferred" not in metadata


@pytest.mark.parametrize(
    "config",
    [MLPConfig(), CNNConfig(), CNNConfig(data_format="channels_first")],
    ids=["mlp", "cnn", "cnn-channels-first"],
)
def test_check_config_estimates_parameters(config, tmp_path):
    data = app_file_bytes(config, tmp_path)
    model_config, _ = uploads.check_archive(data)

    estimate = model_checks.check_config(model_config)

    assert estimate == build_model(config).count_params()


def test_load_upload_plain_keras_model_infers_config(tmp_path):
    model = keras.Sequential(
        [keras.Input((1, 28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )

    loaded, metadata = uploads.load_upload(keras_file_bytes(model, tmp_path))

    assert loaded.count_params() == 7850
    assert metadata["model"] == "cnn"
    assert metadata["config"]["data_format"] == "channels_first"
    assert metadata["config_inferred"] is True


def test_upload_random_bytes_rejected():
    data = np.random.default_rng(0).bytes(10_000)
    with pytest.raises(uploads.UploadError, match="not a complete .keras archive"):
        uploads.load_upload(data)


def test_upload_truncated_file_rejected(tmp_path):
    data = app_file_bytes(MLPConfig(), tmp_path)
    with pytest.raises(uploads.UploadError, match="not a complete .keras archive"):
        uploads.load_upload(data[: len(data) // 2])


def test_upload_python_lambda_rejected(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Lambda(lambda inputs: inputs * 2),
            keras.layers.Dense(10),
        ]
    )
    with pytest.raises(uploads.UploadError, match="Lambda layer"):
        uploads.load_upload(keras_file_bytes(model, tmp_path))


def test_upload_registered_function_lambda_rejected(tmp_path):
    model = keras.Sequential(
        [keras.Input((784,)), keras.layers.Lambda(double), keras.layers.Dense(10)]
    )
    data = keras_file_bytes(model, tmp_path)
    # Keras's safe mode alone loads this file.
    path = tmp_path / "lambda.keras"
    path.write_bytes(data)
    assert keras.models.load_model(path, safe_mode=True).count_params() == 7850

    with pytest.raises(uploads.UploadError, match="Lambda layer"):
        uploads.load_upload(data)


def test_upload_registered_activation_rejected(tmp_path):
    model = keras.Sequential(
        [keras.Input((784,)), keras.layers.Dense(10, activation=double)]
    )
    with pytest.raises(uploads.UploadError, match="custom functions"):
        uploads.load_upload(keras_file_bytes(model, tmp_path))


def test_upload_custom_name_in_string_rejected(tmp_path):
    data = app_file_bytes(MLPConfig(), tmp_path)
    model_config, _ = uploads.check_archive(data)
    model_config["config"]["layers"][1]["config"]["activation"] = "uploads_test>double"
    data = rewrite_archive(data, {"config.json": json.dumps(model_config).encode()})

    with pytest.raises(uploads.UploadError, match="custom object"):
        uploads.load_upload(data)


def test_upload_zip_bomb_rejected(tmp_path):
    data = app_file_bytes(MLPConfig(), tmp_path)
    bomb = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as reader,
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as writer,
    ):
        writer.writestr("config.json", reader.read("config.json"))
        with writer.open("model.weights.h5", "w", force_zip64=True) as weights:
            for _ in range(64):
                weights.write(bytes(1024 * 1024))

    with pytest.raises(uploads.UploadError, match="zip bomb"):
        uploads.load_upload(bomb.getvalue())


def test_upload_rgb_input_rejected(tmp_path):
    model = keras.Sequential(
        [keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    with pytest.raises(uploads.UploadError, match=r"inputs of shape \(32, 32, 3\)"):
        uploads.load_upload(keras_file_bytes(model, tmp_path))


def test_upload_five_outputs_rejected(tmp_path):
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(5)])
    with pytest.raises(uploads.UploadError, match=r"outputs shape \(5,\)"):
        uploads.load_upload(keras_file_bytes(model, tmp_path))


def test_upload_over_size_limit_rejected(monkeypatch, tmp_path):
    data = app_file_bytes(MLPConfig(), tmp_path)
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", len(data) - 1)
    with pytest.raises(uploads.UploadError, match="the limit is"):
        uploads.load_upload(data)


def test_upload_file_over_50_megabytes_rejected():
    data = bytes(uploads.MAX_UPLOAD_BYTES + 1)
    with pytest.raises(uploads.UploadError, match="the limit is 52,428,800"):
        uploads.load_upload(data)


@pytest.mark.parametrize(
    "member", ["../config.json", "/etc/passwd", "assets/../../x", "C:evil"]
)
def test_upload_member_outside_archive_rejected(member, tmp_path):
    data = rewrite_archive(app_file_bytes(MLPConfig(), tmp_path), {member: b"x"})
    with pytest.raises(uploads.UploadError, match="points outside the archive"):
        uploads.load_upload(data)


def test_upload_unexpected_member_rejected(tmp_path):
    data = rewrite_archive(app_file_bytes(MLPConfig(), tmp_path), {"run.py": b"x"})
    with pytest.raises(uploads.UploadError, match="unexpected member 'run.py'"):
        uploads.load_upload(data)


def test_upload_huge_layer_rejected_before_keras(tmp_path):
    data = app_file_bytes(MLPConfig(), tmp_path)
    model_config, _ = uploads.check_archive(data)
    model_config["config"]["layers"][1]["config"]["units"] = 100_000_000
    data = rewrite_archive(data, {"config.json": json.dumps(model_config).encode()})

    with pytest.raises(uploads.UploadError, match="more than 20,000,000 weights"):
        uploads.load_upload(data)


def test_upload_metadata_config_must_match_model(tmp_path):
    data = app_file_bytes(MLPConfig(), tmp_path)
    metadata = {"model": "cnn", "config": config_to_dict(CNNConfig())}
    data = rewrite_archive(
        data, {storage.METADATA_MEMBER: json.dumps(metadata).encode()}
    )
    with pytest.raises(uploads.UploadError, match="but the model takes"):
        uploads.load_upload(data)


def test_upload_metadata_numbers_cleaned(tmp_path):
    data = app_file_bytes(MLPConfig(), tmp_path)
    metadata = {"config": config_to_dict(MLPConfig()), "test_accuracy": "high"}
    data = rewrite_archive(
        data, {storage.METADATA_MEMBER: json.dumps(metadata).encode()}
    )
    _, cleaned = uploads.load_upload(data)
    assert cleaned["test_accuracy"] is None
    assert cleaned["num_parameters"] == 669_706


def test_store_upload_keeps_model_in_session_folder(tmp_path):
    data = app_file_bytes(MLPConfig(), tmp_path)

    path = uploads.store_upload(data, "../my model.keras", "alice")

    assert path == storage.session_dir("alice") / "my_model.keras"
    entries = storage.list_visible_models("alice")
    assert [(entry.name, entry.visibility) for entry in entries] == [
        ("my_model", "private")
    ]
    assert storage.read_metadata(path)["uploaded_as"] == "my model.keras"
    with pytest.raises(storage.ModelExistsError):
        uploads.store_upload(data, "my model.keras", "alice")
