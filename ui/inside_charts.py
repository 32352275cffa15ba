"""Charts and images for the inside page: Altair charts with their tables, and
NumPy mosaics for grids too large to draw as one mark per value."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

# Vega's "blueorange" scheme (vega-scale 7), the color-blind-safe diverging
# scale of the Altair charts, so the NumPy mosaics use the same colors.
BLUE_ORANGE = np.array(
    [
        [0x13, 0x4B, 0x85],
        [0x2F, 0x78, 0xB3],
        [0x5D, 0xA2, 0xCB],
        [0x9D, 0xCA, 0xE1],
        [0xD2, 0xE5, 0xEF],
        [0xF2, 0xF0, 0xEB],
        [0xFC, 0xE0, 0xBA],
        [0xFB, 0xBF, 0x74],
        [0xE8, 0x93, 0x2F],
        [0xC5, 0x69, 0x0D],
        [0x99, 0x4A, 0x07],
    ],
    dtype=np.float32,
)
GAP_COLOR = np.array([255, 255, 255], dtype=np.uint8)
DIVERGING_SCALE = alt.Scale(scheme="blueorange", domainMid=0)
SELECTION_NAME = "cell"
CORRECT_CELL_COLOR = "#f2f0eb"


def colorize_diverging(values: np.ndarray, limit: float) -> np.ndarray:
    """Map values in [-limit, limit] to blue-orange RGB; NaN becomes the gap color."""
    limit = limit if limit > 0 else 1.0
    position = (np.clip(np.nan_to_num(values) / limit, -1, 1) + 1) / 2
    scaled = position * (len(BLUE_ORANGE) - 1)
    lower = np.floor(scaled).astype(int).clip(0, len(BLUE_ORANGE) - 2)
    weight = (scaled - lower)[..., np.newaxis]
    colors = BLUE_ORANGE[lower] * (1 - weight) + BLUE_ORANGE[lower + 1] * weight
    image = colors.round().astype(np.uint8)
    image[np.isnan(values)] = GAP_COLOR
    return image


def colorize_grey(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to black..white RGB; NaN becomes the gap color."""
    grey = (np.clip(np.nan_to_num(values), 0, 1) * 255).round().astype(np.uint8)
    image = np.repeat(grey[..., np.newaxis], 3, axis=-1)
    image[np.isnan(values)] = GAP_COLOR
    return image


def tile_maps(maps: np.ndarray, columns: int) -> np.ndarray:
    """Lay (count, height, width) maps out in rows of `columns`, NaN between them."""
    count, height, width = maps.shape
    rows = -(-count // columns)
    mosaic = np.full(
        (rows * (height + 1) - 1, columns * (width + 1) - 1), np.nan, np.float32
    )
    for index in range(count):
        top = (index // columns) * (height + 1)
        left = (index % columns) * (width + 1)
        mosaic[top : top + height, left : left + width] = maps[index]
    return mosaic


def mosaic_image(
    maps: np.ndarray,
    columns: int,
    diverging: bool = False,
    scale_each: bool = False,
    min_width: int = 640,
) -> np.ndarray:
    """Return (count, height, width) maps as one RGB image, enlarged without blur
    to at least `min_width` pixels.

    Values are scaled by the largest magnitude of all maps, or of each map
    when `scale_each` is set.
    """
    maps = np.asarray(maps, dtype=np.float32)
    magnitude = np.abs(maps).max(axis=(1, 2), keepdims=True)
    if not scale_each:
        magnitude = np.full_like(magnitude, np.abs(maps).max())
    maps = maps / np.where(magnitude > 0, magnitude, 1.0)

    mosaic = tile_maps(maps, columns)
    image = colorize_diverging(mosaic, 1.0) if diverging else colorize_grey(mosaic)
    factor = max(1, -(-min_width // image.shape[1]))
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def enlarge_image(image: np.ndarray, factor: int = 4) -> np.ndarray:
    """Enlarge a (28, 28) image by whole pixels so the browser does not blur it."""
    return np.asarray(image).repeat(factor, axis=0).repeat(factor, axis=1)


def saliency_overlay(image: np.ndarray, saliency: np.ndarray) -> np.ndarray:
    """Blend a (28, 28) image in [0, 1] toward orange where the saliency is high."""
    grey = colorize_grey(image).astype(np.float32)
    orange = BLUE_ORANGE[-3]
    weight = np.clip(saliency, 0, 1)[..., np.newaxis]
    return (grey * (1 - weight) + orange * weight).round().astype(np.uint8)


def kernel_grid_frame(
    kernels: np.ndarray, filters: range, channels: range, columns: int | None = None
) -> pd.DataFrame:
    """Return one row per kernel weight with its place in the grid of small images.

    `kernels` is (filters, input_channels, height, width). With `columns`,
    the single-channel kernels wrap in rows of that many filters. Without it,
    each filter is a row and each input channel a column.
    """
    selected = kernels[np.ix_(list(filters), list(channels))]
    height, width = selected.shape[2:]
    filter_position, channel_position, row, column = np.indices(selected.shape)
    if columns:
        tile_row, tile_column = np.divmod(filter_position, columns)
    else:
        tile_row, tile_column = filter_position, channel_position
    left = tile_column * (width + 1) + column
    top = tile_row * (height + 1) + row
    return pd.DataFrame(
        {
            "filter": np.asarray(filters)[filter_position].ravel(),
            "channel": np.asarray(channels)[channel_position].ravel(),
            "row": row.ravel(),
            "column": column.ravel(),
            "value": selected.astype(np.float64).ravel(),
            "left": left.ravel(),
            "right": left.ravel() + 1,
            "top": top.ravel(),
            "bottom": top.ravel() + 1,
        }
    )


def kernel_grid_chart(frame: pd.DataFrame, cell_pixels: int = 10) -> alt.Chart:
    """Draw a kernel grid frame as small heatmaps, blue below and orange above zero."""
    no_axis = alt.Axis(labels=False, ticks=False, title=None, grid=False, domain=False)
    width = int(frame["right"].max()) * cell_pixels
    height = int(frame["bottom"].max()) * cell_pixels
    return (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X("left:Q", axis=no_axis, scale=alt.Scale(nice=False)),
            x2="right:Q",
            y=alt.Y("top:Q", axis=no_axis, scale=alt.Scale(reverse=True, nice=False)),
            y2="bottom:Q",
            color=alt.Color(
                "value:Q",
                scale=DIVERGING_SCALE,
                title="weight",
                legend=alt.Legend(gradientLength=max(60, min(200, height - 20))),
            ),
            tooltip=["filter", "channel", "row", "column", alt.Tooltip("value:Q")],
        )
        .properties(width=width, height=height)
        .configure_view(strokeWidth=0)
    )


def heatmap_frame(values: np.ndarray) -> pd.DataFrame:
    """Return a (height, width) array as rows of (row, column, value)."""
    height, width = values.shape
    rows, columns = np.mgrid[0:height, 0:width]
    return pd.DataFrame(
        {
            "row": rows.ravel(),
            "column": columns.ravel(),
            "value": np.asarray(values, dtype=np.float64).ravel(),
        }
    )


def heatmap_chart(
    values: np.ndarray, title: str, diverging: bool, size: int = 280
) -> alt.Chart:
    """Draw one 2D array as a heatmap with each value in its tooltip."""
    if diverging:
        scale = DIVERGING_SCALE
    else:
        scale = alt.Scale(scheme="greys", reverse=True)
    return (
        alt.Chart(heatmap_frame(values), title=title)
        .mark_rect()
        .encode(
            x=alt.X("column:O", axis=None),
            y=alt.Y("row:O", axis=None),
            color=alt.Color("value:Q", scale=scale),
            tooltip=["row", "column", alt.Tooltip("value:Q", format=".4f")],
        )
        .properties(width=size, height=size)
    )


def probability_frame(probabilities: np.ndarray) -> pd.DataFrame:
    """Return the ten class probabilities as rows of (digit, probability)."""
    return pd.DataFrame(
        {"digit": np.arange(len(probabilities)), "probability": probabilities}
    )


def probability_chart(
    probabilities: np.ndarray, height: int = 220, highlight: int | None = None
) -> alt.Chart:
    """Draw the ten class probabilities as horizontal bars, the top one in orange."""
    frame = probability_frame(probabilities)
    top = int(np.argmax(probabilities)) if highlight is None else highlight
    frame["top"] = frame["digit"] == top
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), title=None),
            y=alt.Y("digit:O", title=None, axis=alt.Axis(labelOverlap=False)),
            color=alt.Color(
                "top:N",
                scale=alt.Scale(domain=[False, True], range=["#5da2cb", "#e8932f"]),
                legend=None,
            ),
            tooltip=["digit", alt.Tooltip("probability:Q", format=".4f")],
        )
        .properties(height=height)
    )


def layer_output_frame(values: np.ndarray) -> pd.DataFrame:
    """Return a layer's output as a table: per-channel statistics for maps
    (channels, height, width), or one row per unit for a vector."""
    if values.ndim == 1:
        return pd.DataFrame({"unit": np.arange(len(values)), "activation": values})
    flat = values.reshape(len(values), -1)
    return pd.DataFrame(
        {
            "channel": np.arange(len(values)),
            "min": flat.min(axis=1),
            "mean": flat.mean(axis=1),
            "max": flat.max(axis=1),
            "active_share": (flat > 0).mean(axis=1),
        }
    )


def activation_chart(values: np.ndarray) -> alt.Chart:
    """Draw a Dense layer's activations for one input as one bar per unit."""
    frame = pd.DataFrame({"unit": np.arange(len(values)), "activation": values})
    frame["sign"] = np.where(frame["activation"] < 0, "negative", "positive")
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("unit:O", axis=alt.Axis(labels=False, ticks=False)),
            y=alt.Y("activation:Q"),
            color=alt.Color(
                "sign:N",
                scale=alt.Scale(
                    domain=["negative", "positive"], range=["#2f78b3", "#e8932f"]
                ),
                legend=None,
            ),
            tooltip=["unit", alt.Tooltip("activation:Q", format=".4f")],
        )
        .properties(height=120)
    )


def confusion_frame(matrix: np.ndarray) -> pd.DataFrame:
    """Return a confusion matrix as rows of (true, predicted, count, share of row)."""
    true_labels, predicted = np.indices(matrix.shape)
    totals = matrix.sum(axis=1, keepdims=True)
    shares = matrix / np.where(totals > 0, totals, 1)
    return pd.DataFrame(
        {
            "true": true_labels.ravel(),
            "predicted": predicted.ravel(),
            "count": matrix.ravel(),
            "share_of_true": shares.ravel(),
        }
    )


def confusion_chart(matrix: np.ndarray) -> alt.LayerChart:
    """Draw the confusion matrix as a heatmap with counts; a click selects a cell."""
    frame = confusion_frame(matrix)
    frame["mistakes"] = np.where(frame["true"] == frame["predicted"], 0, frame["count"])
    selection = alt.selection_point(
        name=SELECTION_NAME, fields=["true", "predicted"], on="click"
    )

    base = alt.Chart(frame).encode(
        x=alt.X("predicted:O", title="Predicted digit", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("true:O", title="True digit"),
    )

    # Only mistakes are colored, because the diagonal's counts would swamp
    # the scale. Correct cells stay plain.
    is_correct = alt.datum.true == alt.datum.predicted
    color = (
        alt.when(is_correct)
        .then(alt.value(CORRECT_CELL_COLOR))
        .otherwise(alt.Color("mistakes:Q", scale=alt.Scale(scheme="oranges")))
    )
    cells = base.mark_rect(stroke="black").encode(
        color=color,
        strokeWidth=alt.when(selection, empty=False)
        .then(alt.value(3))
        .otherwise(alt.value(0)),
        tooltip=[
            "true",
            "predicted",
            "count",
            alt.Tooltip("share_of_true:Q", format=".2%", title="share of true digit"),
        ],
    )
    cells = cells.add_params(selection)

    dark_cell = alt.datum.mistakes > 0.6 * max(1, int(frame["mistakes"].max()))
    counts = base.mark_text(fontSize=11).encode(
        text="count:Q",
        color=alt.when(dark_cell)
        .then(alt.value("white"))
        .otherwise(alt.value("black")),
    )
    return (cells + counts).properties(width=420, height=420)


def per_class_frame(matrix: np.ndarray, accuracy: np.ndarray) -> pd.DataFrame:
    """Return per-digit test images, correct predictions and accuracy."""
    return pd.DataFrame(
        {
            "digit": np.arange(len(matrix)),
            "test_images": matrix.sum(axis=1),
            "correct": np.diag(matrix),
            "accuracy": accuracy,
        }
    )


def per_class_chart(frame: pd.DataFrame) -> alt.Chart:
    """Draw per-digit accuracy as bars."""
    return (
        alt.Chart(frame)
        .mark_bar(color="#2f78b3")
        .encode(
            x=alt.X("digit:O", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("accuracy:Q", axis=alt.Axis(format="%")),
            tooltip=[
                "digit",
                "test_images",
                "correct",
                alt.Tooltip("accuracy:Q", format=".2%"),
            ],
        )
        .properties(height=240)
    )
