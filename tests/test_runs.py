"""Tests for mnist_core.runs and mnist_core.run_exchange with real tiny runs."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mnist_core import run_exchange, runs, storage
from mnist_core.config import CNNConfig, ConvBlockSpec, DenseLayerSpec, MLPConfig
from mnist_core.data import (
    SAMPLE_PATH,
    Dataset,
    DataSource,
    fingerprint_arrays,
    load_from_path,
)
from mnist_core.training import train_model

REPOSITORY = Path(__file__).resolve().parent.parent
SMALL_MLP = MLPConfig(
    hidden_layers=(DenseLayerSpec(units=32),),
    epochs=2,
    train_limit=300,
    precision="float32",
)
SMALL_CNN = CNNConfig(
    conv_blocks=(ConvBlockSpec(filters=4), ConvBlockSpec(filters=8, pooling="max")),
    dense_units=16,
    epochs=1,
    train_limit=300,
    precision="float32",
)


@pytest.fixture(autouse=True)
def models_folder(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    monkeypatch.setenv(storage.MODELS_ENV_VARIABLE, str(folder))
    return folder


@pytest.fixture(scope="module")
def sample():
    return load_from_path(SAMPLE_PATH)


@pytest.fixture(scope="module")
def other_data(sample):
    """The sample with its training images in reverse order: other data."""
    arrays = {
        "x_train": sample.x_train[::-1].copy(),
        "y_train": sample.y_train[::-1].copy(),
        "x_test": sample.x_test,
        "y_test": sample.y_test,
    }
    source = DataSource("file", "reversed.npz", "the sample, reversed")
    return Dataset(**arrays, source=source, fingerprint=fingerprint_arrays(arrays))


@pytest.fixture(scope="module")
def records(sample, other_data):
    """Records of four tiny runs: two MLPs, a CNN, an MLP on other data."""
    wider = dataclasses.replace(SMALL_MLP, hidden_layers=(DenseLayerSpec(units=64),))
    return {
        "mlp": train_model(SMALL_MLP, sample)[0],
        "wider": train_model(wider, sample)[0],
        "cnn": train_model(SMALL_CNN, sample)[0],
        "other_data": train_model(SMALL_MLP, other_data)[0],
    }


def test_save_run_record_writes_strict_json(records):
    record = dict(records["mlp"], test_loss=float("nan"))

    path = runs.save_run_record(record, "alice")

    def reject(constant):
        raise ValueError(f"non-strict JSON constant {constant}")

    stored = json.loads(path.read_text(), parse_constant=reject)
    assert stored["test_loss"] is None
    assert stored["owner"] == "alice"
    assert path.name == f"{record['run_id']}.json"


def test_save_run_record_idempotent_by_run_id(records):
    runs.save_run_record(records["mlp"], "alice")
    runs.save_run_record(records["mlp"], "alice")

    stored = runs.list_run_records()
    assert [record["run_id"] for record in stored] == [records["mlp"]["run_id"]]
    assert list(runs.runs_dir().glob(".*")) == []


def test_list_run_records_filters_by_owner(records):
    runs.save_run_record(records["mlp"], "alice")
    runs.save_run_record(records["cnn"], "bob")

    alice = [record["run_id"] for record in runs.list_run_records("alice")]
    everyone = {record["run_id"] for record in runs.list_run_records()}

    assert alice == [records["mlp"]["run_id"]]
    assert everyone == {records["mlp"]["run_id"], records["cnn"]["run_id"]}


def test_list_run_records_skips_broken_file(records):
    runs.save_run_record(records["mlp"], "alice")
    (runs.runs_dir() / "broken.json").write_text("{not json")
    assert len(runs.list_run_records()) == 1


def test_save_run_record_rejects_unsafe_run_id(records):
    with pytest.raises(ValueError, match="run_id"):
        runs.save_run_record(dict(records["mlp"], run_id="../escape"), "alice")


def test_run_record_survives_restart(records, models_folder):
    runs.save_run_record(records["mlp"], "alice")
    script = (
        "import json; from mnist_core import runs; "
        "print(json.dumps([r['run_id'] for r in runs.list_run_records('alice')]))"
    )
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY))
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout) == [records["mlp"]["run_id"]]


def test_differing_knobs_names_changed_units(records):
    knobs = runs.differing_knobs([records["mlp"], records["wider"]])
    assert knobs == ["hidden_layers.0.units"]


def test_differing_knobs_across_architectures(records):
    knobs = runs.differing_knobs([records["mlp"], records["cnn"]])
    assert "architecture" in knobs
    assert "conv_blocks.0.filters" in knobs
    assert "hidden_layers.0.units" in knobs


def test_comparison_rows_scores_and_knobs(records):
    rows = runs.comparison_rows([records["mlp"], records["wider"]])

    assert [row["hidden_layers.0.units"] for row in rows] == [32, 64]
    assert rows[0]["test_accuracy"] == records["mlp"]["test_accuracy"]
    assert rows[1]["num_parameters"] == 784 * 64 + 64 + 64 * 10 + 10
    assert rows[0]["median_epoch_seconds"] > 0


def test_data_mismatch_warning_for_other_data(records):
    same = runs.data_mismatch_warning([records["mlp"], records["wider"]])
    different = runs.data_mismatch_warning([records["mlp"], records["other_data"]])

    assert same is None
    assert "2 different data sets" in different
    assert "the sample, reversed" in different


def test_learning_curve_rows_cumulative_seconds(records):
    record = records["mlp"]
    rows = runs.learning_curve_rows([record])

    accuracy_rows = [row for row in rows if row["metric"] == "val_accuracy"]
    assert [row["epoch"] for row in accuracy_rows] == [1, 2]
    expected_seconds = np.cumsum(record["epoch_seconds"])
    assert [row["seconds"] for row in accuracy_rows] == pytest.approx(expected_seconds)
    assert accuracy_rows[1]["value"] == record["history"]["val_accuracy"][1]


def test_records_to_csv_one_row_per_run(records):
    text = runs.records_to_csv([records["mlp"], records["cnn"]])

    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2
    assert rows[0]["run_id"] == records["mlp"]["run_id"]
    assert rows[0]["config.hidden_layers.0.units"] == "32"
    assert rows[0]["config.conv_blocks.0.filters"] == ""
    assert rows[1]["config.conv_blocks.1.pooling"] == "max"
    assert float(rows[1]["test_accuracy"]) == records["cnn"]["test_accuracy"]


def test_export_import_round_trip(records):
    runs.save_run_record(records["mlp"], "alice")
    exported = run_exchange.records_to_json(runs.list_run_records("alice"))
    assert "alice" not in exported
    runs.delete_run_record(records["mlp"]["run_id"])

    imported = run_exchange.records_from_json(exported)
    counts = run_exchange.import_run_records(imported, "bob")

    assert counts == (1, 0)
    stored = runs.load_run_record(records["mlp"]["run_id"])
    assert stored["owner"] == "bob"
    assert stored["history"] == records["mlp"]["history"]
    assert run_exchange.import_run_records(imported, "bob") == (0, 1)


def test_import_keeps_record_fields_only(records):
    record = dict(records["mlp"], owner="mallory", extra={"a": 1})

    imported = run_exchange.records_from_json(json.dumps([record]))[0]

    assert "owner" not in imported
    assert "extra" not in imported
    assert imported == runs.strict_json(records["mlp"])


def test_import_reads_nan_as_null(records):
    text = json.dumps([dict(records["mlp"], test_loss=float("nan"))])
    imported = run_exchange.records_from_json(text)
    assert imported[0]["test_loss"] is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"format": "other", "runs": []}', "expected 'mnist-explorer-runs'"),
        ("[]", "no list of runs"),
        ("[1]", "run 1 is not a JSON object"),
    ],
)
def test_import_rejects_bad_file(text, message):
    with pytest.raises(run_exchange.RunImportError, match=message):
        run_exchange.records_from_json(text)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"run_id": "../x"}, "run_id"),
        ({"config": {"architecture": "rnn"}}, "architecture must be"),
        ({"model": "cnn"}, "but its config is a mlp"),
        (
            {"history": {"loss": ["high"]}},
            "history.loss contains a value that is not a number",
        ),
        ({"test_accuracy": 7}, "test_accuracy must be a number from 0.0 to 1.0"),
        ({"epoch_seconds": "slow"}, "epoch_seconds"),
        ({"epochs_completed": "all"}, "epochs_completed must be a number"),
        ({"threads": [2]}, "threads must be a number"),
        ({"precision": {"kind": "float32"}}, "precision must be text"),
        ({"started_at": "x" * 5000}, "started_at must be text"),
        ({"stopped_early": "no"}, "stopped_early must be true or false"),
        ({"data_source": {"kind": ["file"]}}, "data_source must be an object"),
        ({"versions": "3.15"}, "versions must be an object"),
        ({"devices": "CPU"}, "devices must be a list of text"),
        ({"architecture_summary": [{"name": {}}]}, "architecture_summary"),
        ({"architecture_summary": [{"output_shape": 7}]}, "architecture_summary"),
    ],
)
def test_import_rejects_bad_record(records, change, message):
    record = runs.strict_json(dict(records["mlp"], **change))
    with pytest.raises(run_exchange.RunImportError, match=message):
        run_exchange.records_from_json(json.dumps([record]))
