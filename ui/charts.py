"""Altair charts of training curves and sweep results."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from mnist_core.sweeps import ValueSummary, value_scale

# Test accuracies to compare with, per architecture: the tutorial's claim and
# what its defaults reach on the full MNIST with Keras 3.15 (MLP: 20 epochs,
# CNN: 12 epochs with Adadelta at 1.0).
REFERENCE_ACCURACIES = {
    "mlp": (
        (0.975, "tutorial: 97.5%"),
        (0.985, "defaults, full data: 98.5%"),
    ),
    "cnn": (
        (0.99, "tutorial: about 99%"),
        (0.992, "defaults, full data: 99.2%"),
    ),
}
METRIC_NAMES = {
    "loss": ("loss", "training"),
    "accuracy": ("accuracy", "training"),
    "val_loss": ("loss", "validation"),
    "val_accuracy": ("accuracy", "validation"),
}


def history_frame(history: dict[str, list[float | None]]) -> pd.DataFrame:
    """Turn a Keras history dict into rows of (epoch, metric, split, value)."""
    rows = []
    for key, values in history.items():
        if key not in METRIC_NAMES:
            continue
        metric, split = METRIC_NAMES[key]
        for epoch, value in enumerate(values, start=1):
            if value is not None:
                rows.append(
                    {"epoch": epoch, "metric": metric, "split": split, "value": value}
                )
    return pd.DataFrame(rows, columns=["epoch", "metric", "split", "value"])


def _metric_chart(frame: pd.DataFrame, metric: str, title: str, epochs: int):
    data = frame[frame["metric"] == metric]
    value_format = ".2%" if metric == "accuracy" else ".4f"
    return (
        alt.Chart(data, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "epoch:Q",
                scale=alt.Scale(domain=[1, max(epochs, 2)]),
                axis=alt.Axis(format="d", tickMinStep=1),
            ),
            y=alt.Y(
                "value:Q",
                title=metric,
                scale=alt.Scale(zero=False),
                axis=alt.Axis(format=".0%" if metric == "accuracy" else ".2f"),
            ),
            color=alt.Color("split:N", title=None),
            tooltip=[
                "epoch:Q",
                "split:N",
                alt.Tooltip("value:Q", title=metric, format=value_format),
            ],
        )
    )


def loss_chart(history: dict[str, list[float | None]], epochs: int):
    """Return the chart of training and validation loss per epoch."""
    return _metric_chart(history_frame(history), "loss", "Loss", epochs)


def accuracy_chart(
    history: dict[str, list[float | None]], epochs: int, architecture: str
):
    """Return the accuracy chart with the tutorial's reference lines."""
    curves = _metric_chart(history_frame(history), "accuracy", "Accuracy", epochs)
    references = pd.DataFrame(
        REFERENCE_ACCURACIES[architecture], columns=["value", "reference"]
    )
    # The two lines lie one point apart: label the lower one below its line.
    references["offset"] = [10, -6]
    rules = (
        alt.Chart(references)
        .mark_rule(strokeDash=[4, 4], color="gray")
        .encode(
            y="value:Q",
            tooltip=["reference:N", alt.Tooltip("value:Q", format=".1%")],
        )
    )
    labels = (
        alt.Chart(references)
        .mark_text(align="left", dx=4, color="gray")
        .encode(
            x=alt.value(0),
            y="value:Q",
            # scale=None: the offsets are pixels, not data values.
            yOffset=alt.YOffset("offset:Q", scale=None),
            text="reference:N",
        )
    )
    return alt.layer(curves, rules, labels)


def _value_axis(values: list[str]) -> alt.X:
    scale = value_scale(values)
    if scale == "categorical":
        return alt.X("value:N", sort=values, title="knob value")
    numbers = [float(value) for value in values]
    return alt.X(
        "number:Q",
        scale=alt.Scale(type=scale, zero=False),
        axis=alt.Axis(values=numbers, format="~g"),
        title="knob value",
    )


def summary_frame(summaries: list[ValueSummary]) -> pd.DataFrame:
    """Return one row per value with the numbers the sweep charts plot."""
    rows: list[dict[str, Any]] = []
    scale = value_scale([summary.value for summary in summaries])
    for summary in summaries:
        if summary.test_accuracy is None:
            continue
        rows.append(
            {
                "value": summary.value,
                "number": float(summary.value) if scale != "categorical" else None,
                "test_accuracy": summary.test_accuracy,
                "accuracy_min": summary.accuracy_min,
                "accuracy_max": summary.accuracy_max,
                "seconds_per_epoch": summary.median_epoch_seconds,
                "runs": summary.num_scored,
            }
        )
    return pd.DataFrame(rows)


def sweep_accuracy_chart(summaries: list[ValueSummary]):
    """Return mean test accuracy against the knob value, with the seed range."""
    frame = summary_frame(summaries)
    x = _value_axis([summary.value for summary in summaries])
    tooltip = [
        "value:N",
        alt.Tooltip("test_accuracy:Q", title="mean test accuracy", format=".2%"),
        alt.Tooltip("accuracy_min:Q", title="lowest", format=".2%"),
        alt.Tooltip("accuracy_max:Q", title="highest", format=".2%"),
        alt.Tooltip("runs:Q", title="runs"),
    ]
    base = alt.Chart(frame, title="Test accuracy").encode(x=x, tooltip=tooltip)
    points = base.mark_line(point=True).encode(
        y=alt.Y(
            "test_accuracy:Q",
            title="test accuracy",
            scale=alt.Scale(zero=False),
            axis=alt.Axis(format=".0%"),
        )
    )
    ranges = base.mark_errorbar().encode(
        y=alt.Y("accuracy_min:Q", title="test accuracy"), y2="accuracy_max:Q"
    )
    return alt.layer(ranges, points)


def sweep_speed_chart(summaries: list[ValueSummary]):
    """Return seconds per epoch (median, first epoch left out) against the value."""
    frame = summary_frame(summaries)
    x = _value_axis([summary.value for summary in summaries])
    return (
        alt.Chart(frame, title="Seconds per epoch")
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("seconds_per_epoch:Q", title="seconds per epoch"),
            tooltip=[
                "value:N",
                alt.Tooltip("seconds_per_epoch:Q", title="seconds", format=".1f"),
            ],
        )
    )


def sweep_curves_chart(rows: list[dict[str, Any]], values: list[str]):
    """Return every run's validation accuracy per epoch, one colour per value."""
    frame = pd.DataFrame(rows, columns=["value", "seed", "epoch", "metric", "number"])
    frame = frame[frame["metric"] == "val_accuracy"]
    return (
        alt.Chart(frame, title="Validation accuracy of every run")
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", axis=alt.Axis(format="d", tickMinStep=1)),
            y=alt.Y(
                "number:Q",
                title="validation accuracy",
                scale=alt.Scale(zero=False),
                axis=alt.Axis(format=".0%"),
            ),
            color=alt.Color("value:N", sort=values, title="knob value"),
            detail="seed:N",
            tooltip=[
                "value:N",
                "seed:Q",
                "epoch:Q",
                alt.Tooltip("number:Q", title="accuracy", format=".2%"),
            ],
        )
    )
