"""Tests for mnist_core.limits: concurrency defaults, settings and run checks."""

from __future__ import annotations

import logging

import pytest

from mnist_core import hardware, limits
from mnist_core.config import MLPConfig
from mnist_core.limits import (
    DEFAULT_MAX_QUEUED_PER_SESSION,
    LimitError,
    ServerLimits,
    default_concurrency,
    load_limits,
)

GB = 10**9
LIMIT_VARIABLES = (
    "MNIST_MAX_EPOCHS",
    "MNIST_MAX_TRAIN_IMAGES",
    "MNIST_MAX_QUEUED_PER_SESSION",
    "MNIST_MAX_RUN_SECONDS",
    "MNIST_MAX_CONCURRENT_TRAININGS",
    "MNIST_LIMITS_FILE",
)


@pytest.fixture
def machine(monkeypatch):
    """No limit variables set, on a machine of 8 CPUs and 32 GB."""
    for name in LIMIT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hardware, "cpu_quota", lambda: 8.0)
    monkeypatch.setattr(hardware, "memory_limit_bytes", lambda: 32 * GB)
    return monkeypatch


@pytest.mark.parametrize(
    ("cpus", "memory_bytes", "expected"),
    [
        (2, 24 * GB, 1),
        (8, int(2.7 * GB), 1),
        (8, 32 * GB, 4),
        (1, 64 * GB, 1),
        (16, 4 * GB, 2),
    ],
    ids=["2cpu_24gb", "8cpu_2.7gb", "8cpu_32gb", "1cpu_64gb", "16cpu_4gb"],
)
def test_default_concurrency(cpus, memory_bytes, expected):
    assert default_concurrency(cpus, memory_bytes) == expected


def test_default_concurrency_at_least_one_with_little_memory():
    assert default_concurrency(4, 100 * 1024**2) == 1


def test_load_limits_defaults(machine):
    loaded = load_limits()
    assert loaded.max_epochs is None
    assert loaded.max_train_images is None
    assert loaded.max_run_seconds is None
    assert loaded.max_queued_per_session == DEFAULT_MAX_QUEUED_PER_SESSION
    assert loaded.max_concurrent_trainings == 4
    assert loaded.threads_per_training == 2


def test_load_limits_reads_environment(machine):
    machine.setenv("MNIST_MAX_EPOCHS", "5")
    machine.setenv("MNIST_MAX_TRAIN_IMAGES", "10000")
    machine.setenv("MNIST_MAX_QUEUED_PER_SESSION", "3")
    machine.setenv("MNIST_MAX_RUN_SECONDS", "600")
    machine.setenv("MNIST_MAX_CONCURRENT_TRAININGS", "2")
    loaded = load_limits()
    assert loaded.max_epochs == 5
    assert loaded.max_train_images == 10_000
    assert loaded.max_queued_per_session == 3
    assert loaded.max_run_seconds == 600.0
    assert loaded.max_concurrent_trainings == 2
    assert loaded.threads_per_training == 4


def test_load_limits_reads_toml_file(machine, tmp_path):
    path = tmp_path / "limits.toml"
    path.write_text("MNIST_MAX_EPOCHS = 4\nmnist_max_train_images = 2000\n")
    machine.setenv("MNIST_LIMITS_FILE", str(path))
    loaded = load_limits()
    assert loaded.max_epochs == 4
    assert loaded.max_train_images == 2000


def test_environment_overrides_toml_file(machine, tmp_path):
    path = tmp_path / "limits.toml"
    path.write_text("MNIST_MAX_EPOCHS = 4\n")
    machine.setenv("MNIST_LIMITS_FILE", str(path))
    machine.setenv("MNIST_MAX_EPOCHS", "9")
    assert load_limits().max_epochs == 9


def test_broken_toml_file_ignored_with_warning(machine, tmp_path, caplog):
    path = tmp_path / "limits.toml"
    path.write_text("MNIST_MAX_EPOCHS = = 4\n")
    machine.setenv("MNIST_LIMITS_FILE", str(path))
    with caplog.at_level(logging.WARNING, logger=limits.__name__):
        loaded = load_limits()
    assert loaded.max_epochs is None
    assert "limits.toml" in caplog.text


def test_missing_toml_file_ignored(machine, tmp_path):
    machine.setenv("MNIST_LIMITS_FILE", str(tmp_path / "absent.toml"))
    assert load_limits().max_epochs is None


@pytest.mark.parametrize("text", ["many", "0", "-3"], ids=["word", "zero", "negative"])
def test_invalid_setting_ignored_with_warning(machine, caplog, text):
    machine.setenv("MNIST_MAX_EPOCHS", text)
    with caplog.at_level(logging.WARNING, logger=limits.__name__):
        loaded = load_limits()
    assert loaded.max_epochs is None
    assert "MNIST_MAX_EPOCHS" in caplog.text


def test_check_accepts_config_within_limits():
    ServerLimits(max_epochs=5, max_train_images=1000).check(
        MLPConfig(epochs=5, train_limit=1000)
    )


def test_check_rejects_too_many_epochs():
    with pytest.raises(LimitError) as raised:
        ServerLimits(max_epochs=5).check(MLPConfig(epochs=6))
    message = str(raised.value)
    assert "epochs is 6" in message
    assert "at most 5" in message


def test_check_rejects_too_many_images():
    with pytest.raises(LimitError) as raised:
        ServerLimits(max_train_images=1000).check(MLPConfig(train_limit=2000))
    message = str(raised.value)
    assert "2,000" in message
    assert "at most 1,000" in message


def test_check_rejects_all_images_under_image_limit():
    with pytest.raises(LimitError, match="training-set size is all"):
        ServerLimits(max_train_images=1000).check(MLPConfig())


def test_no_limits_accept_tutorial_config():
    ServerLimits().check(MLPConfig())


def test_limit_error_is_value_error():
    assert issubclass(LimitError, ValueError)
