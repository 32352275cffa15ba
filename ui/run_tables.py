"""Tables of runs for the Runs page: the list to select from and the comparison."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from mnist_core import runs

# Formats that agree with ui.format: accuracy in percent with two decimals,
# loss with four, seconds with one, counts with thousands separators.
ACCURACY_COLUMN = st.column_config.NumberColumn("Test accuracy", format="%.2f%%")
LOSS_COLUMN = st.column_config.NumberColumn("Test loss", format="%.4f")
SECONDS_COLUMN = st.column_config.NumberColumn(
    "Seconds per epoch",
    format="%.1f s",
    help="Median over the epochs after the first, which includes tracing the graph",
)
PARAMETERS_COLUMN = st.column_config.NumberColumn("Parameters", format="localized")


def _percent(value: float | None) -> float | None:
    return None if value is None else 100 * value


def runs_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Return one row per run for the table the user selects runs in."""
    rows = []
    for record in records:
        data_source = record.get("data_source") or {}
        rows.append(
            {
                "run": runs.run_label(record),
                "model": record.get("model"),
                "test_accuracy": _percent(record.get("test_accuracy")),
                "test_loss": record.get("test_loss"),
                "median_epoch_seconds": record.get("median_epoch_seconds"),
                "num_parameters": record.get("num_parameters"),
                "epochs_completed": record.get("epochs_completed"),
                "data": data_source.get("kind"),
                "changed_knobs": ", ".join(runs.changed_knobs(record)) or "none",
            }
        )
    return pd.DataFrame(rows)


RUNS_COLUMNS = {
    "run": st.column_config.TextColumn("Run"),
    "model": st.column_config.TextColumn("Model"),
    "test_accuracy": ACCURACY_COLUMN,
    "test_loss": LOSS_COLUMN,
    "median_epoch_seconds": SECONDS_COLUMN,
    "num_parameters": PARAMETERS_COLUMN,
    "epochs_completed": st.column_config.NumberColumn("Epochs"),
    "data": st.column_config.TextColumn(
        "Data", help="sample: the bundled 6,000 images; file or keras: full MNIST"
    ),
    "changed_knobs": st.column_config.TextColumn(
        "Changed from the tutorial", width="large"
    ),
}


def comparison_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Return the comparison of selected runs: scores, costs, differing knobs."""
    frame = pd.DataFrame(runs.comparison_rows(records))
    frame["test_accuracy"] = frame["test_accuracy"].map(_percent)
    knob_columns = frame.columns[len(runs.SCORE_FIELDS) + 1 :]
    # Layer lists and None mix types; text keeps every value readable.
    for column in knob_columns:
        frame[column] = frame[column].map(
            lambda value: "" if value is None else str(value)
        )
    return frame


COMPARISON_COLUMNS = {
    "run": st.column_config.TextColumn("Run"),
    "test_accuracy": ACCURACY_COLUMN,
    "test_loss": LOSS_COLUMN,
    "median_epoch_seconds": SECONDS_COLUMN,
    "training_seconds": st.column_config.NumberColumn(
        "Training seconds", format="%.1f s"
    ),
    "num_parameters": PARAMETERS_COLUMN,
    "epochs_completed": st.column_config.NumberColumn("Epochs"),
}
