"""Tests for mnist_core.preprocess: scaling, reshaping and one-hot labels."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mnist_core.preprocess import (
    one_hot,
    preprocess_images,
    reshape_for,
    reshape_for_cnn,
    reshape_for_mlp,
    scale_images,
)


@pytest.fixture
def images() -> np.ndarray:
    """Five (28, 28) uint8 images covering 0 and 255."""
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    images[0, 0, 0] = 0
    images[0, 0, 1] = 255
    return images


def test_preprocess_scales_pixels_to_unit_range(images):
    scaled = scale_images(images)
    assert scaled.dtype == np.float32
    assert scaled.min() == 0.0
    assert scaled.max() == 1.0


def test_scale_images_divides_by_255(images):
    scaled = scale_images(images)
    np.testing.assert_allclose(scaled, images / 255.0, rtol=1e-6)


def test_scale_images_leaves_input_uint8(images):
    scale_images(images)
    assert images.dtype == np.uint8


def test_reshape_for_mlp_flattens_rows(images):
    flat = reshape_for_mlp(images)
    assert flat.shape == (5, 784)
    np.testing.assert_array_equal(flat[2, 28:56], images[2, 1])


def test_reshape_for_cnn_channels_last(images):
    shaped = reshape_for_cnn(images, "channels_last")
    assert shaped.shape == (5, 28, 28, 1)
    np.testing.assert_array_equal(shaped[..., 0], images)


def test_reshape_for_cnn_channels_first(images):
    shaped = reshape_for_cnn(images, "channels_first")
    assert shaped.shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(shaped[:, 0], images)


@pytest.mark.parametrize(
    ("architecture", "data_format", "shape"),
    [
        ("mlp", "channels_last", (5, 784)),
        ("cnn", "channels_last", (5, 28, 28, 1)),
        ("cnn", "channels_first", (5, 1, 28, 28)),
    ],
    ids=["mlp", "cnn_channels_last", "cnn_channels_first"],
)
def test_preprocess_images_shape(images, architecture, data_format, shape):
    assert preprocess_images(images, architecture, data_format).shape == shape
    assert reshape_for(images, architecture, data_format).shape == shape


def test_preprocess_images_float32(images):
    assert preprocess_images(images, "cnn").dtype == np.float32


def test_one_hot_matches_keras_to_categorical():
    labels = np.array([0, 3, 9, 3, 1], dtype=np.uint8)
    expected = keras.utils.to_categorical(labels, 10)
    np.testing.assert_array_equal(one_hot(labels), expected)


def test_one_hot_float32_rows_sum_to_one():
    encoded = one_hot(np.arange(10))
    assert encoded.dtype == np.float32
    np.testing.assert_array_equal(encoded.sum(axis=1), np.ones(10))


def test_one_hot_empty_labels():
    assert one_hot(np.array([], dtype=np.uint8)).shape == (0, 10)


@pytest.mark.parametrize("label", [-1, 10], ids=["negative", "ten"])
def test_one_hot_rejects_label_outside_classes(label):
    with pytest.raises(ValueError, match="0..9"):
        one_hot(np.array([1, label]))
