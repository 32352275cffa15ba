"""AppTest tests for the runs page with real tiny runs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mnist_core import run_exchange, runs
from mnist_core.config import DenseLayerSpec, MLPConfig
from mnist_core.data import Dataset, DataSource, fingerprint_arrays
from mnist_core.training import train_model
from ui import state

PAGE = Path(__file__).resolve().parents[1] / "app_pages" / "runs.py"
SHOW_ALL_TABLE = f"{state.RUNS_TABLE_PREFIX}True"
SMALL_MLP = MLPConfig(
    hidden_layers=(DenseLayerSpec(units=32),),
    epochs=2,
    train_limit=300,
    precision="float32",
)


@pytest.fixture(scope="module")
def records(sample_dataset):
    """Three tiny runs: an MLP, a wider MLP, the MLP on reversed data."""
    arrays = {
        "x_train": sample_dataset.x_train[::-1].copy(),
        "y_train": sample_dataset.y_train[::-1].copy(),
        "x_test": sample_dataset.x_test,
        "y_test": sample_dataset.y_test,
    }
    source = DataSource("file", "reversed.npz", "the sample, reversed")
    reversed_data = Dataset(
        **arrays, source=source, fingerprint=fingerprint_arrays(arrays)
    )
    wider = dataclasses.replace(SMALL_MLP, hidden_layers=(DenseLayerSpec(units=64),))
    return [
        train_model(SMALL_MLP, sample_dataset)[0],
        train_model(wider, sample_dataset)[0],
        train_model(SMALL_MLP, reversed_data)[0],
    ]


@pytest.fixture
def app(tmp_models_dir):
    return AppTest.from_file(str(PAGE), default_timeout=60)


@pytest.fixture
def app_with_runs(app, records):
    """The page listing all runs, which another session recorded."""
    for record in records:
        runs.save_run_record(record, "another-session")
    app.session_state[state.RUNS_SHOW_ALL] = True
    return app


def select_rows(app: AppTest, rows: list[int]) -> AppTest:
    app.session_state[SHOW_ALL_TABLE] = {
        "selection": {"rows": rows, "columns": [], "cells": []}
    }
    return app.run()


def markdown_text(app: AppTest) -> str:
    return "\n".join(element.value for element in app.markdown)


def test_runs_page_without_runs(app):
    app.run()

    assert not app.exception
    assert "No runs yet" in app.info[0].value


def test_runs_page_hides_other_sessions_by_default(app, records):
    runs.save_run_record(records[0], "another-session")
    app.run()

    assert not app.exception
    assert "No runs yet" in app.info[0].value
    app.toggle(key=state.RUNS_SHOW_ALL).set_value(True).run()
    assert len(app.dataframe[0].value) == 1


def test_runs_page_lists_runs_with_scores(app_with_runs, records):
    app_with_runs.run()

    assert not app_with_runs.exception
    table = app_with_runs.dataframe[0].value
    assert len(table) == 3
    assert table["test_accuracy"][0] == pytest.approx(100 * records[0]["test_accuracy"])
    assert table["changed_knobs"][0].startswith("epochs, hidden_layers.0.units")


def test_runs_page_selecting_two_runs_shows_diff(app_with_runs):
    select_rows(app_with_runs.run(), [0, 1])

    assert not app_with_runs.exception
    assert "**Knobs that differ:** `hidden_layers.0.units`" in markdown_text(
        app_with_runs
    )
    comparison = app_with_runs.dataframe[1].value
    assert list(comparison["hidden_layers.0.units"]) == ["32", "64"]
    assert not app_with_runs.warning


def test_runs_page_warns_about_different_data(app_with_runs):
    select_rows(app_with_runs.run(), [0, 2])

    assert not app_with_runs.exception
    assert "2 different data sets" in app_with_runs.warning[0].value


def test_runs_page_one_run_shows_code(app_with_runs):
    select_rows(app_with_runs.run(), [1])

    assert not app_with_runs.exception
    script = app_with_runs.code[0].value
    assert 'keras.layers.Dense(64, activation="relu"),  # changed' in script
    captions = [caption.value for caption in app_with_runs.caption]
    assert any("differ from the script of the tutorial's model" in c for c in captions)


def test_runs_page_offers_exports(app_with_runs):
    app_with_runs.run()

    labels = [button.label for button in app_with_runs.get("download_button")]
    assert labels == ["Download as CSV", "Download as JSON"]


def test_runs_page_bad_import_shows_error(app):
    app.run()
    app.file_uploader(key=state.RUNS_IMPORT).upload("runs.json", b"{not json").run()

    assert not app.exception
    assert "The file was not imported: the file is not valid JSON" in (
        app.error[0].value
    )


def test_runs_page_import_lists_runs_as_own(app, records):
    exported = run_exchange.records_to_json(records[:2]).encode()
    app.run()
    app.file_uploader(key=state.RUNS_IMPORT).upload("runs.json", exported).run()

    assert not app.exception
    assert app.success[0].value == "Imported 2 run(s)."
    assert len(app.dataframe[0].value) == 2
    stored = json.loads((runs.runs_dir() / f"{records[0]['run_id']}.json").read_text())
    assert stored["owner"] not in ("", "another-session")
