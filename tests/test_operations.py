"""Tests for mnist_core.operations: each image operation and the share chooser."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_core.config import ImageOperation
from mnist_core.operations import (
    add_noise,
    apply_operation,
    choose_share,
    flip_horizontal,
    flip_vertical,
    invert,
    rotate,
    shift,
)


@pytest.fixture
def digits(sample_dataset) -> np.ndarray:
    """Twenty real digits from the sample, as a writable copy."""
    return sample_dataset.x_test[:20].copy()


@pytest.fixture
def thousand_images() -> np.ndarray:
    """1,000 images, each filled with its own index mod 256 in one pixel."""
    images = np.zeros((1000, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = np.arange(1000) % 256
    images[:, 5, 5] = 1
    return images


def test_flip_horizontal_reverses_columns(digits):
    np.testing.assert_array_equal(flip_horizontal(digits), digits[:, :, ::-1])


def test_flip_vertical_reverses_rows(digits):
    np.testing.assert_array_equal(flip_vertical(digits), digits[:, ::-1, :])


def test_flip_horizontal_moves_planted_pixel():
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 4, 2] = 255
    flipped = flip_horizontal(image)
    assert flipped[0, 4, 25] == 255
    assert flipped.sum() == 255


def test_flip_twice_restores(digits):
    np.testing.assert_array_equal(flip_vertical(flip_vertical(digits)), digits)


def test_rotate_90_moves_pixel_counter_clockwise():
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 3, 20] = 200  # row 3, column 20: top right
    rotated = rotate(image, 90)
    # Counter-clockwise, the top right goes to the top left: (27 - 20, 3)
    assert rotated[0, 7, 3] == 200
    assert np.count_nonzero(rotated) == 1


def test_rotate_90_moves_block_whole():
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 2:6, 18:22] = 200
    rotated = rotate(image, 90)
    np.testing.assert_array_equal(rotated[0], np.rot90(image[0]))


def test_rotate_45_keeps_ink_near_centre():
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 12:16, 12:16] = 255
    rotated = rotate(image, 45)
    assert rotated[0, 13:15, 13:15].min() == 255
    assert rotated.dtype == np.uint8


def test_rotate_zero_images():
    empty = np.zeros((0, 28, 28), np.uint8)
    assert rotate(empty, 30).shape == (0, 28, 28)


def test_shift_moves_right_and_down():
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 10, 10] = 9
    shifted = shift(image, 4)
    assert shifted[0, 14, 14] == 9
    assert np.count_nonzero(shifted) == 1


def test_shift_negative_moves_left_and_up():
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 10, 10] = 9
    shifted = shift(image, -3)
    assert shifted[0, 7, 7] == 9
    assert np.count_nonzero(shifted) == 1


def test_shift_drops_pixels_off_the_edge():
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 26, 1] = 9
    assert shift(image, 2).sum() == 0


def test_shift_whole_width_empties_image(digits):
    assert shift(digits, 28).sum() == 0


def test_noise_stays_uint8_in_range(digits):
    noisy = add_noise(digits, 0.5, np.random.default_rng(0))
    assert noisy.dtype == np.uint8
    assert noisy.shape == digits.shape


def test_noise_changes_pixels(digits):
    noisy = add_noise(digits, 0.3, np.random.default_rng(0))
    changed = np.mean(noisy != digits)
    assert changed > 0.5


def test_noise_reaches_both_ends(digits):
    noisy = add_noise(digits, 1.0, np.random.default_rng(0))
    assert noisy.min() == 0
    assert noisy.max() == 255


def test_noise_zero_std_keeps_images(digits):
    np.testing.assert_array_equal(
        add_noise(digits, 0.0, np.random.default_rng(0)), digits
    )


def test_invert_is_255_minus_pixel(digits):
    inverted = invert(digits)
    np.testing.assert_array_equal(inverted, 255 - digits.astype(np.int16))
    assert inverted.dtype == np.uint8


def test_choose_share_exact_count():
    mask = choose_share(1000, 0.1, np.random.default_rng(0))
    assert mask.sum() == 100


def test_apply_operation_touches_exact_share(thousand_images):
    operation = ImageOperation("invert", train_share=0.1)
    result, mask = apply_operation(thousand_images, operation, 0.1, seed=0)
    assert mask.sum() == 100
    touched = np.any(result != thousand_images, axis=(1, 2))
    np.testing.assert_array_equal(touched, mask)


def test_apply_operation_same_seed_same_images(thousand_images):
    operation = ImageOperation("flip_vertical", train_share=0.1)
    _, first = apply_operation(thousand_images, operation, 0.1, seed=5)
    _, second = apply_operation(thousand_images, operation, 0.1, seed=5)
    np.testing.assert_array_equal(first, second)


def test_apply_operation_other_seed_other_images(thousand_images):
    operation = ImageOperation("flip_vertical", train_share=0.1)
    _, first = apply_operation(thousand_images, operation, 0.1, seed=5)
    _, second = apply_operation(thousand_images, operation, 0.1, seed=6)
    assert not np.array_equal(first, second)


def test_apply_operation_share_zero_touches_nothing(thousand_images):
    operation = ImageOperation("invert", train_share=0.5)
    result, mask = apply_operation(thousand_images, operation, 0.0, seed=0)
    assert not mask.any()
    np.testing.assert_array_equal(result, thousand_images)


def test_apply_operation_share_one_touches_all(digits):
    operation = ImageOperation("flip_horizontal", train_share=1.0)
    result, mask = apply_operation(digits, operation, 1.0, seed=0)
    assert mask.all()
    np.testing.assert_array_equal(result, digits[:, :, ::-1])


OPERATIONS = [
    ImageOperation("flip_horizontal", 1.0),
    ImageOperation("flip_vertical", 1.0),
    ImageOperation("rotate", 1.0, angle=30.0),
    ImageOperation("shift", 1.0, shift_pixels=-2),
    ImageOperation("noise", 1.0),
    ImageOperation("invert", 1.0),
]


@pytest.mark.parametrize(
    "operation", OPERATIONS, ids=[operation.name for operation in OPERATIONS]
)
def test_apply_operation_never_modifies_input(digits, operation):
    original = digits.copy()
    apply_operation(digits, operation, 0.5, seed=0)
    np.testing.assert_array_equal(digits, original)


@pytest.mark.parametrize(
    "operation", OPERATIONS, ids=[operation.name for operation in OPERATIONS]
)
def test_apply_operation_keeps_shape_and_dtype(digits, operation):
    result, _ = apply_operation(digits, operation, 0.5, seed=0)
    assert result.shape == digits.shape
    assert result.dtype == np.uint8


def test_apply_operation_works_on_read_only_input(sample_dataset):
    operation = ImageOperation("invert", test_share=0.5)
    result, mask = apply_operation(sample_dataset.x_test[:10], operation, 0.5, 0)
    assert mask.sum() == 5
    assert result.flags.writeable
