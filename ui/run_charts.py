"""Altair charts that compare runs: learning curves and accuracy against time."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from mnist_core import runs

CURVE_TITLES = {"val_accuracy": "Validation accuracy", "val_loss": "Validation loss"}
X_AXES = {"epoch": "Epoch", "seconds": "Training seconds since the start"}


def curves_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Return the learning curves of `records` as long rows, without gaps."""
    columns = ["run", "epoch", "seconds", "metric", "value"]
    frame = pd.DataFrame(runs.learning_curve_rows(records), columns=columns)
    return frame.dropna(subset=["value"])


def curve_chart(frame: pd.DataFrame, metric: str, x_field: str) -> alt.Chart:
    """Return one metric of several runs against epochs or cumulative seconds."""
    is_accuracy = metric.endswith("accuracy")
    value_format = ".2%" if is_accuracy else ".4f"
    data = frame[frame["metric"] == metric].dropna(subset=[x_field])
    return (
        alt.Chart(data, title=f"{CURVE_TITLES[metric]} by {x_field}")
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x_field}:Q", title=X_AXES[x_field]),
            y=alt.Y(
                "value:Q",
                title=CURVE_TITLES[metric],
                scale=alt.Scale(zero=False),
                axis=alt.Axis(format=".0%" if is_accuracy else ".2f"),
            ),
            color=alt.Color("run:N", title="Run", legend=alt.Legend(orient="bottom")),
            tooltip=[
                alt.Tooltip("run:N", title="Run"),
                alt.Tooltip("epoch:Q", title="Epoch"),
                alt.Tooltip("seconds:Q", title="Seconds", format=".1f"),
                alt.Tooltip("value:Q", title=CURVE_TITLES[metric], format=value_format),
            ],
        )
    )


def speed_frame(records: list[dict[str, Any]], selected_ids: set[str]) -> pd.DataFrame:
    """Return one row per run with a score and seconds per epoch to plot."""
    rows = [
        {
            "run": runs.run_label(record),
            "model": record.get("model"),
            "test_accuracy": record.get("test_accuracy"),
            "median_epoch_seconds": record.get("median_epoch_seconds"),
            "num_parameters": record.get("num_parameters"),
            "selected": record.get("run_id") in selected_ids,
        }
        for record in records
    ]
    frame = pd.DataFrame(rows)
    return frame.dropna(subset=["test_accuracy", "median_epoch_seconds"])


def speed_chart(frame: pd.DataFrame) -> alt.Chart:
    """Return test accuracy against seconds per epoch; selected runs drawn large."""
    return (
        alt.Chart(frame, title="Test accuracy against seconds per epoch")
        .mark_point(filled=True)
        .encode(
            x=alt.X(
                "median_epoch_seconds:Q",
                title="Seconds per epoch (median)",
                scale=alt.Scale(zero=False),
            ),
            y=alt.Y(
                "test_accuracy:Q",
                title="Test accuracy",
                scale=alt.Scale(zero=False),
                axis=alt.Axis(format=".1%"),
            ),
            color=alt.Color("model:N", title="Model"),
            size=alt.condition("datum.selected", alt.value(160), alt.value(50)),
            tooltip=[
                alt.Tooltip("run:N", title="Run"),
                alt.Tooltip("test_accuracy:Q", title="Test accuracy", format=".2%"),
                alt.Tooltip(
                    "median_epoch_seconds:Q", title="Seconds per epoch", format=".1f"
                ),
                alt.Tooltip("num_parameters:Q", title="Parameters", format=",d"),
            ],
        )
    )
