"""Fixtures shared by the test modules: the bundled sample, folders, tiny configs.

Every fixture here is generic; a fixture that serves one test module lives in
that module.
"""

from __future__ import annotations

import socket

import pytest

from mnist_core.config import CNNConfig, ConvBlockSpec, DenseLayerSpec, MLPConfig
from mnist_core.data import SAMPLE_PATH, Dataset, load_from_path


@pytest.fixture(scope="session")
def sample_dataset() -> Dataset:
    """The bundled sample (6,000 training and 1,000 test images), read-only."""
    return load_from_path(SAMPLE_PATH)


@pytest.fixture
def tmp_models_dir(tmp_path, monkeypatch):
    """An empty models folder that MNIST_MODELS_DIR points to for one test."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("MNIST_MODELS_DIR", str(folder))
    return folder


@pytest.fixture
def offline_data_environment(tmp_path, monkeypatch):
    """No MNIST_DATA, an empty Keras cache folder, and no network.

    `mnist_core.data.resolve_source()` then picks the bundled sample at once,
    whatever the machine's own ~/.keras holds. Returns the KERAS_HOME folder.
    """
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.delenv("MNIST_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))

    def refuse_connection(*arguments, **keywords):
        raise OSError("network disabled by the offline_data_environment fixture")

    monkeypatch.setattr(socket, "create_connection", refuse_connection)
    return keras_home


@pytest.fixture
def tiny_mlp_config() -> MLPConfig:
    """An MLP with one 32-unit hidden layer on 300 images for one epoch."""
    return MLPConfig(
        hidden_layers=(DenseLayerSpec(units=32),),
        train_limit=300,
        epochs=1,
        precision="float32",
    )


@pytest.fixture
def tiny_cnn_config() -> CNNConfig:
    """A CNN with 4 and 8 filters and 16 dense units on 300 images for one epoch."""
    return CNNConfig(
        conv_blocks=(
            ConvBlockSpec(filters=4),
            ConvBlockSpec(filters=8, pooling="max"),
        ),
        dense_units=16,
        train_limit=300,
        epochs=1,
        precision="float32",
    )
