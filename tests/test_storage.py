"""Tests for mnist_core.storage: round trips, names, atomic saves, two processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mnist_core import storage
from mnist_core.config import (
    CNNConfig,
    ConvBlockSpec,
    DenseLayerSpec,
    MLPConfig,
    config_from_dict,
)
from mnist_core.data import SAMPLE_PATH, load_from_path
from mnist_core.training import predict_probabilities, train_model

REPOSITORY = Path(__file__).resolve().parent.parent
TINY_CONFIGS = {
    "mlp": MLPConfig(
        hidden_layers=(DenseLayerSpec(units=32),),
        epochs=1,
        train_limit=300,
        precision="float32",
    ),
    "cnn": CNNConfig(
        conv_blocks=(ConvBlockSpec(filters=4), ConvBlockSpec(filters=8, pooling="max")),
        dense_units=16,
        epochs=1,
        train_limit=300,
        precision="float32",
    ),
}


@pytest.fixture(autouse=True)
def models_folder(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    monkeypatch.setenv(storage.MODELS_ENV_VARIABLE, str(folder))
    monkeypatch.setattr(storage, "DEFAULT_MODELS_DIR", tmp_path / "repository")
    return folder


@pytest.fixture(scope="module")
def dataset():
    return load_from_path(SAMPLE_PATH)


@pytest.fixture(scope="module")
def trained(dataset):
    """A tiny trained (record, model) per architecture."""
    return {
        architecture: train_model(config, dataset)
        for architecture, config in TINY_CONFIGS.items()
    }


@pytest.mark.parametrize("architecture", ["mlp", "cnn"])
def test_save_load_round_trip_same_predictions(architecture, trained, dataset):
    record, model = trained[architecture]
    config = TINY_CONFIGS[architecture]
    images = dataset.x_test[:100]
    before = predict_probabilities(model, images, config)

    path = storage.save_model(model, record, f"tiny-{architecture}")
    loaded, metadata = storage.load_model(path)
    after = predict_probabilities(loaded, images, config)

    assert np.array_equal(before, after)
    assert metadata["run_id"] == record["run_id"]
    assert metadata["name"] == f"tiny-{architecture}"
    assert config_from_dict(metadata["config"]) == config


def test_save_model_never_overwrites(trained):
    record, model = trained["mlp"]
    first = storage.save_model(model, record, "taken")
    modified = first.stat().st_mtime_ns

    with pytest.raises(storage.ModelExistsError, match="already exists"):
        storage.save_model(model, record, "taken")
    assert first.stat().st_mtime_ns == modified


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../escape", "escape"),
        ("a/b\\c", "a_b_c"),
        ("..", None),
        ("x..y", "x.y"),
        ("spaces and ünïcode", "spaces_and_n_code"),
        ("n" * 200, "n" * storage.MAX_NAME_LENGTH),
    ],
)
def test_sanitize_name_keeps_names_in_folder(name, expected):
    if expected is None:
        with pytest.raises(ValueError, match="no letters or digits"):
            storage.sanitize_name(name)
    else:
        assert storage.sanitize_name(name) == expected


def test_save_model_hostile_name_stays_inside(trained, models_folder):
    record, model = trained["mlp"]
    path = storage.save_model(model, record, "../../../outside")
    assert path.resolve().parent == (models_folder / "saved").resolve()
    assert not (models_folder.parent / "outside.keras").exists()


def test_list_models_skips_hidden_and_broken_files(trained, models_folder):
    record, model = trained["mlp"]
    good = storage.save_model(model, record, "good")
    folder = good.parent
    (folder / ".good.partial.keras").write_bytes(good.read_bytes()[:100])
    (folder / "truncated.keras").write_bytes(good.read_bytes()[:500])

    names = [entry.name for entry in storage.list_models(folder)]

    assert names == ["good"]


def test_interrupted_save_leaves_no_file(trained, models_folder, monkeypatch):
    record, model = trained["mlp"]

    def interrupt(*arguments, **options):
        raise KeyboardInterrupt

    # The weights are written; the interruption hits while adding the metadata.
    monkeypatch.setattr(zipfile.ZipFile, "writestr", interrupt)
    with pytest.raises(KeyboardInterrupt):
        storage.save_model(model, record, "interrupted")

    assert list((models_folder / "saved").iterdir()) == []


def test_save_removes_stale_temporary_files(trained, models_folder):
    record, model = trained["mlp"]
    folder = models_folder / "saved"
    folder.mkdir(parents=True)
    stale = folder / ".killed.abc.keras"
    fresh = folder / ".running.abc.keras"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))

    storage.save_model(model, record, "next")

    assert stale.exists() is False
    assert fresh.exists()


def test_visible_models_private_shared_and_saved(trained):
    record, model = trained["mlp"]
    own = storage.save_model(model, record, "mine", storage.session_dir("alice"))
    storage.save_model(model, record, "from-cli")
    storage.save_model(model, record, "published", storage.shared_dir())

    alice = {
        entry.name: entry.visibility for entry in storage.list_visible_models("alice")
    }
    bob = {entry.name: entry.visibility for entry in storage.list_visible_models("bob")}

    assert alice == {"mine": "private", "from-cli": "shared", "published": "shared"}
    assert bob == {"from-cli": "shared", "published": "shared"}
    assert own.parent == storage.models_dir() / "sessions" / storage.owner_tag("alice")


def test_session_dir_hashes_session_id():
    folder = storage.session_dir("../shared")

    assert folder.parent == storage.models_dir() / "sessions"
    assert len(folder.name) == 32
    assert folder != storage.session_dir("../shared2")
    with pytest.raises(ValueError, match="must be non-empty"):
        storage.session_dir("")


def test_copy_model_rewrites_name_in_metadata(trained, tmp_path):
    record, model = trained["mlp"]
    source = storage.save_model(model, record, "source")

    copy = storage.copy_model(source, "copy", tmp_path / "other", note="kept")

    metadata = storage.read_metadata(copy)
    assert metadata["name"] == "copy"
    assert metadata["note"] == "kept"
    assert metadata["run_id"] == record["run_id"]
    with zipfile.ZipFile(copy) as archive:
        assert archive.namelist().count(storage.METADATA_MEMBER) == 1


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("", False)])
def test_storage_is_ephemeral_reads_setting(value, expected, monkeypatch):
    monkeypatch.setenv(storage.EPHEMERAL_ENV_VARIABLE, value)
    assert storage.storage_is_ephemeral() is expected


SAVER_SCRIPT = """
import json, sys
import keras
from mnist_core import storage

label, count = sys.argv[1], int(sys.argv[2])
model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
saved, lost, bad_listings = [], [], 0
for index in range(count):
    for name in (f"{label}-{index}", f"both-{index}"):
        try:
            storage.save_model(model, {"model": "mlp"}, name)
            saved.append(name)
        except storage.ModelExistsError:
            lost.append(name)
    for entry in storage.list_models(storage.models_dir() / "saved"):
        if entry.metadata.get("model") != "mlp":
            bad_listings += 1
print(json.dumps({"saved": saved, "lost": lost, "bad_listings": bad_listings}))
"""


def run_python(script: str, *arguments: str, **options) -> subprocess.Popen:
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen(
        [sys.executable, "-c", script, *arguments],
        cwd=REPOSITORY,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,
    )


def test_two_processes_save_and_list_without_loss(models_folder):
    count = 15
    processes = [run_python(SAVER_SCRIPT, label, str(count)) for label in ("a", "b")]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=240)
        assert process.returncode == 0, stderr[-2000:]
        results.append(json.loads(stdout.strip().splitlines()[-1]))

    listed = {entry.name for entry in storage.list_models(models_folder / "saved")}
    saved = [name for result in results for name in result["saved"]]
    lost = [name for result in results for name in result["lost"]]
    expected = {f"{label}-{index}" for label in "ab" for index in range(count)}
    expected |= {f"both-{index}" for index in range(count)}
    assert listed == expected
    assert sorted(saved) == sorted(expected)
    assert sorted(lost) == sorted(f"both-{index}" for index in range(count))
    assert all(result["bad_listings"] == 0 for result in results)
    hidden = [path.name for path in (models_folder / "saved").glob(".*")]
    assert hidden == []


KILLED_SAVER_SCRIPT = """
import sys
import keras
from mnist_core import storage

model = keras.Sequential(
    [keras.Input((784,)), keras.layers.Dense(1024), keras.layers.Dense(10)]
)
print("ready", flush=True)
for index in range(10_000):
    storage.save_model(model, {"model": "mlp"}, f"model-{index}")
"""


def test_killed_save_lists_only_loadable_models(models_folder):
    process = run_python(KILLED_SAVER_SCRIPT, start_new_session=True)
    assert process.stdout.readline().strip() == "ready"
    time.sleep(3.0)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    entries = storage.list_models(models_folder / "saved")
    assert entries, "the saver was killed before it saved anything"
    for entry in entries:
        model, metadata = storage.load_model(entry.path)
        assert model.count_params() == 784 * 1024 + 1024 + 1024 * 10 + 10
        assert metadata["name"] == entry.name
