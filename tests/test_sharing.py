"""Tests for mnist_core.sharing: who may publish, rename and delete which model."""

from __future__ import annotations

import keras
import pytest

from mnist_core import sharing, storage


@pytest.fixture(autouse=True)
def models_folder(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    monkeypatch.setenv(storage.MODELS_ENV_VARIABLE, str(folder))
    monkeypatch.setattr(storage, "DEFAULT_MODELS_DIR", tmp_path / "repository")
    return folder


@pytest.fixture(scope="module")
def model():
    return keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])


@pytest.fixture
def job_file(model, tmp_path):
    """A model file as a training job leaves it."""
    return storage.save_model(model, {"model": "mlp"}, "job-1", tmp_path / "jobs")


def test_save_to_session_is_private(job_file):
    path = sharing.save_to_session(job_file, "first try", "alice")

    assert path == storage.session_dir("alice") / "first_try.keras"
    assert [entry.name for entry in storage.list_visible_models("bob")] == []
    assert storage.read_metadata(path)["name"] == "first_try"


def test_saved_copy_finds_same_run(model, tmp_path):
    source = storage.save_model(
        model, {"model": "mlp", "run_id": "run-a"}, "job-a", tmp_path / "jobs"
    )
    other = storage.save_model(
        model, {"model": "mlp", "run_id": "run-b"}, "job-b", tmp_path / "jobs"
    )
    saved = sharing.save_to_session(source, "kept", "alice")

    assert sharing.saved_copy(source, "kept", "alice") == saved
    assert sharing.saved_copy(other, "kept", "alice") is None
    assert sharing.saved_copy(source, "kept", "bob") is None
    assert sharing.saved_copy(source, "elsewhere", "alice") is None


def test_keep_run_twice_returns_earlier_copy(model, tmp_path):
    source = storage.save_model(
        model, {"model": "mlp", "run_id": "run-a"}, "job-a", tmp_path / "jobs"
    )
    other = storage.save_model(
        model, {"model": "mlp", "run_id": "run-b"}, "job-b", tmp_path / "jobs"
    )

    assert sharing.keep_run(source, "kept", "alice") == (
        storage.session_dir("alice") / "kept.keras",
        True,
    )
    assert sharing.keep_run(source, "kept", "alice") == (
        storage.session_dir("alice") / "kept.keras",
        False,
    )
    with pytest.raises(storage.ModelExistsError):
        sharing.keep_run(other, "kept", "alice")


def test_publish_model_visible_to_all(job_file):
    private = sharing.save_to_session(job_file, "mine", "alice")

    shared = sharing.publish_model(private, "alice")

    bob = {entry.name: entry.visibility for entry in storage.list_visible_models("bob")}
    assert bob == {"mine": "shared"}
    assert shared.parent == storage.shared_dir()
    assert storage.read_metadata(shared)["published_by"] == storage.owner_tag("alice")
    assert "alice" not in shared.read_bytes().decode("latin-1")


def test_publish_model_twice_raises_exists(job_file):
    private = sharing.save_to_session(job_file, "mine", "alice")
    sharing.publish_model(private, "alice")

    with pytest.raises(storage.ModelExistsError, match="already exists"):
        sharing.publish_model(private, "alice")


def test_publish_other_sessions_model_rejected(job_file):
    private = sharing.save_to_session(job_file, "mine", "alice")
    with pytest.raises(storage.StorageError, match="only models saved or uploaded"):
        sharing.publish_model(private, "bob")


def test_rename_model_never_overwrites(job_file):
    first = sharing.save_to_session(job_file, "first", "alice")
    second = sharing.save_to_session(job_file, "second", "alice")

    with pytest.raises(storage.ModelExistsError):
        sharing.rename_model(first, "second", "alice")
    renamed = sharing.rename_model(first, "third", "alice")

    assert first.exists() is False
    assert second.exists()
    assert storage.read_metadata(renamed)["name"] == "third"


def test_delete_other_sessions_model_rejected(job_file):
    private = sharing.save_to_session(job_file, "mine", "alice")
    with pytest.raises(storage.StorageError, match="read-only"):
        sharing.delete_model(private, "bob")
    assert private.exists()


def test_publisher_alone_may_delete_shared_copy(job_file):
    shared = sharing.publish_model(
        sharing.save_to_session(job_file, "mine", "alice"), "alice"
    )

    assert sharing.can_modify(shared, "bob") is False
    sharing.delete_model(shared, "alice")
    assert shared.exists() is False


def test_command_line_saves_read_only(model):
    path = storage.save_model(model, {"model": "mlp"}, "from-cli")
    assert sharing.can_modify(path, "alice") is False
    with pytest.raises(storage.StorageError, match="read-only"):
        sharing.rename_model(path, "taken-over", "alice")


def test_path_outside_session_folder_rejected(job_file):
    sharing.save_to_session(job_file, "mine", "alice")
    escape = storage.session_dir("alice") / ".." / "bob" / "x.keras"
    assert sharing.can_modify(escape, "alice") is False


def test_shipped_models_read_only(model):
    shipped = storage.DEFAULT_MODELS_DIR / storage.SHIPPED_FOLDER
    path = storage.save_model(model, {"model": "mlp"}, "tutorial-mlp", shipped)

    entries = storage.list_visible_models("alice")

    assert [(entry.name, entry.visibility) for entry in entries] == [
        ("tutorial-mlp", "shipped")
    ]
    assert entries[0].read_only is True
    assert sharing.can_modify(path, "alice") is False
    with pytest.raises(storage.StorageError, match="read-only"):
        sharing.delete_model(path, "alice")
