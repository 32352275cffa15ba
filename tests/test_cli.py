"""Tests for the command line, `python -m mnist_core train`, run as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_core import storage
from mnist_core.data import SAMPLE_PATH

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
RECORD_KEYS = {
    "model",
    "test_accuracy",
    "test_loss",
    "num_parameters",
    "epoch_seconds",
    "history",
    "config",
    "data_source",
}


def run_command(*arguments: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python -m mnist_core` with `arguments` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "mnist_core", *arguments],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def mlp_parameters(hidden_units: list[int]) -> int:
    """Dense layers from 784 inputs through `hidden_units` to 10 outputs."""
    widths = [28 * 28, *hidden_units, 10]
    return sum(
        inputs * outputs + outputs
        for inputs, outputs in zip(widths, widths[1:], strict=False)
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A two-epoch MLP run with 20-unit layers, saved and written as JSON."""
    folder = tmp_path_factory.mktemp("cli")
    result = run_command(
        "train",
        "--model",
        "mlp",
        "--epochs",
        "2",
        "--train-limit",
        "300",
        "--data",
        str(SAMPLE_PATH),
        "--json",
        str(folder / "out.json"),
        "--set",
        "hidden_layers.*.units=20",
        "--set",
        "precision=float32",
        "--save",
        "cli mlp",
        "--save-dir",
        str(folder / "saved"),
    )
    return result, folder


def test_train_exits_zero(trained):
    result, _ = trained
    assert result.returncode == 0, result.stderr


def test_train_prints_one_line_per_epoch(trained):
    result, _ = trained
    epoch_lines = [
        line for line in result.stdout.splitlines() if line.startswith("epoch ")
    ]
    assert len(epoch_lines) == 2
    assert epoch_lines[0].startswith("epoch 1/2")
    assert "val_accuracy" in epoch_lines[1]


def test_train_names_data_source(trained):
    result, _ = trained
    assert f"file {SAMPLE_PATH}" in result.stdout


def test_train_json_has_record_keys(trained):
    _, folder = trained
    record = json.loads((folder / "out.json").read_text())
    assert RECORD_KEYS <= set(record)


def test_train_json_values(trained):
    _, folder = trained
    record = json.loads((folder / "out.json").read_text())
    assert record["model"] == "mlp"
    assert record["num_parameters"] == mlp_parameters([20, 20])
    assert record["num_parameters"] == 16_330
    assert len(record["epoch_seconds"]) == 2
    assert len(record["history"]["loss"]) == 2
    assert record["config"]["train_limit"] == 300
    assert record["data_source"]["num_train"] == 300
    assert 0.0 <= record["test_accuracy"] <= 1.0


def test_train_saves_loadable_model(trained):
    _, folder = trained
    path = folder / "saved" / "cli_mlp.keras"
    model, metadata = storage.load_model(path)
    assert model.count_params() == 16_330
    assert metadata["name"] == "cli_mlp"


def test_train_reports_saved_path(trained):
    result, folder = trained
    assert str(folder / "saved" / "cli_mlp.keras") in result.stdout


def assert_clean_refusal(result: subprocess.CompletedProcess, words: str) -> None:
    assert result.returncode == 2
    assert words in result.stderr
    assert "Traceback" not in result.stderr


BAD_COMMANDS = {
    "unknown_knob": (["--set", "neurons=3"], "no knob 'neurons'"),
    "bad_value": (["--set", "epochs=many"], "epochs"),
    "no_equals_sign": (["--set", "epochs"], "name=value"),
    "zero_epochs": (["--epochs", "0"], "epochs must be between"),
    "kernel_larger_than_map": (
        ["--model", "cnn", "--set", "conv_blocks.1.kernel_size=27"],
        "conv_2",
    ),
    "missing_data_file": (["--data", "/nonexistent/mnist.npz"], "no such file"),
    "nameless_save": (["--save", "..."], "model name"),
}


@pytest.mark.parametrize(
    ("arguments", "words"), BAD_COMMANDS.values(), ids=BAD_COMMANDS
)
def test_train_rejects_bad_input(arguments, words):
    model = [] if "--model" in arguments else ["--model", "mlp"]
    result = run_command("train", *model, "--data", str(SAMPLE_PATH), *arguments)
    assert_clean_refusal(result, words)


def test_train_rejects_taken_save_name_before_training(tmp_path):
    (tmp_path / "taken.keras").write_bytes(b"")
    result = run_command(
        "train",
        "--model",
        "mlp",
        "--data",
        str(SAMPLE_PATH),
        "--save",
        "taken",
        "--save-dir",
        str(tmp_path),
    )
    assert_clean_refusal(result, "already exists")
    assert "epoch" not in result.stdout


def test_train_rejects_config_file_not_a_mapping(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("[1, 2]")
    result = run_command("train", "--model", "mlp", "--config", str(path))
    assert_clean_refusal(result, "mapping")


def test_help_example_knob_is_valid():
    result = run_command("train", "--help")
    assert "hidden_layers.0.units=20" in result.stdout
