"""Tests for ui.inside_charts: chart data, mosaics and colors."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_core.config import CNNConfig, ConvBlockSpec
from mnist_core.inspection import ModelInspector
from mnist_core.models import build_cnn
from ui import inside_charts as charts


@pytest.fixture(scope="module")
def planted_kernels():
    """conv_2 kernels, all zero except a 1..9 pattern at filter 5, channel 2."""
    config = CNNConfig(
        conv_blocks=(ConvBlockSpec(filters=4), ConvBlockSpec(filters=6)),
        dense_units=8,
    )
    model = build_cnn(config)
    layer = model.get_layer("conv_2")
    kernel, bias = layer.get_weights()
    kernel[:] = 0
    kernel[:, :, 2, 5] = np.arange(1, 10).reshape(3, 3)
    layer.set_weights([kernel, bias])
    return ModelInspector(model).conv_kernels()["conv_2"]


def test_kernel_grid_frame_holds_planted_kernel(planted_kernels):
    frame = charts.kernel_grid_frame(planted_kernels, range(6), range(4))
    planted = frame[(frame["filter"] == 5) & (frame["channel"] == 2)]

    assert len(frame) == 6 * 4 * 9
    assert len(planted) == 9
    values = planted.sort_values(["row", "column"])["value"].to_numpy()
    np.testing.assert_array_equal(values, np.arange(1, 10))
    assert (frame.loc[frame["value"] != 0, "filter"] == 5).all()


def test_kernel_grid_frame_places_tiles(planted_kernels):
    frame = charts.kernel_grid_frame(planted_kernels, range(4, 6), range(1, 3))
    corner = frame[
        (frame["filter"] == 5)
        & (frame["channel"] == 2)
        & (frame["row"] == 0)
        & (frame["column"] == 0)
    ]

    # Second selected filter and second selected channel: tile (1, 1), 4 apart.
    assert corner["left"].item() == 4
    assert corner["top"].item() == 4
    assert corner["value"].item() == 1.0


def test_kernel_grid_frame_wraps_first_layer_filters():
    kernels = np.zeros((10, 1, 3, 3), dtype=np.float32)

    frame = charts.kernel_grid_frame(kernels, range(10), range(1), columns=8)
    ninth = frame[(frame["filter"] == 9) & (frame["row"] == 0) & (frame["column"] == 0)]

    assert ninth["left"].item() == 4
    assert ninth["top"].item() == 4


def test_tile_maps_puts_gaps_between_maps():
    maps = np.ones((3, 2, 2), dtype=np.float32)

    mosaic = charts.tile_maps(maps, columns=2)

    assert mosaic.shape == (5, 5)
    assert np.isnan(mosaic[2]).all()
    assert np.isnan(mosaic[:, 2]).all()
    assert np.isnan(mosaic[3:, 3:]).all()  # the empty fourth place
    assert mosaic[3, 0] == 1.0


def test_colorize_diverging_centers_zero():
    values = np.array([-1.0, 0.0, 1.0, np.nan])

    colors = charts.colorize_diverging(values, limit=1.0)

    np.testing.assert_array_equal(colors[0], charts.BLUE_ORANGE[0])
    np.testing.assert_array_equal(colors[1], charts.BLUE_ORANGE[5])
    np.testing.assert_array_equal(colors[2], charts.BLUE_ORANGE[-1])
    np.testing.assert_array_equal(colors[3], charts.GAP_COLOR)


def test_mosaic_image_enlarges_by_whole_pixels():
    maps = np.random.default_rng(0).random((4, 5, 5)).astype(np.float32)

    image = charts.mosaic_image(maps, columns=2, min_width=100)

    # 2 maps of 5 plus a 1-pixel gap = 11 pixels, enlarged 10 times.
    assert image.shape == (110, 110, 3)
    assert image.dtype == np.uint8


def test_confusion_frame_counts_and_shares():
    matrix = np.array([[3, 1], [0, 4]])

    frame = charts.confusion_frame(matrix)

    assert frame["count"].sum() == 8
    row = frame[(frame["true"] == 0) & (frame["predicted"] == 1)]
    assert row["share_of_true"].item() == 0.25


def test_confusion_chart_has_cell_selection():
    spec = charts.confusion_chart(np.eye(10, dtype=int)).to_dict()

    # Altair moves a layer's selection parameters to the top of the spec.
    selection = [param for param in spec["params"] if param["name"] == "cell"]
    assert charts.SELECTION_NAME == "cell"
    assert selection[0]["select"]["fields"] == ["true", "predicted"]


def test_layer_output_frame_channel_statistics():
    maps = np.array([[[0.0, 2.0], [4.0, 6.0]], [[-1.0, -1.0], [-1.0, 3.0]]])

    frame = charts.layer_output_frame(maps)

    assert frame["max"].tolist() == [6.0, 3.0]
    assert frame["mean"].tolist() == [3.0, 0.0]
    assert frame["active_share"].tolist() == [0.75, 0.25]


def test_layer_output_frame_units():
    frame = charts.layer_output_frame(np.array([0.5, 0.0, 2.0]))

    assert frame["unit"].tolist() == [0, 1, 2]
    assert frame["activation"].tolist() == [0.5, 0.0, 2.0]
