"""Tests for mnist_core.mistakes on small hand-made predictions."""

from __future__ import annotations

import numpy as np

from mnist_core.mistakes import (
    cell_examples,
    confident_mistakes,
    confusion_matrix,
    per_class_accuracy,
    predicted_labels,
)

# Five test images of three classes; rows are probabilities over the classes.
LABELS = np.array([0, 1, 1, 2, 2])
PROBABILITIES = np.array(
    [
        [0.9, 0.1, 0.0],  # right
        [0.6, 0.4, 0.0],  # 1 taken for 0, confidence 0.6
        [0.1, 0.9, 0.0],  # right
        [0.0, 0.2, 0.8],  # right
        [0.0, 0.95, 0.05],  # 2 taken for 1, confidence 0.95
    ]
)


def test_confusion_matrix_counts_cells():
    matrix = confusion_matrix(LABELS, predicted_labels(PROBABILITIES), num_classes=3)

    expected = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]])
    np.testing.assert_array_equal(matrix, expected)


def test_confusion_matrix_full_size_by_default():
    matrix = confusion_matrix(np.array([3]), np.array([7]))

    assert matrix.shape == (10, 10)
    assert matrix[3, 7] == 1


def test_per_class_accuracy_nan_for_absent_class():
    matrix = np.array([[2, 0, 0], [1, 3, 0], [0, 0, 0]])

    accuracy = per_class_accuracy(matrix)

    assert accuracy[0] == 1.0
    assert accuracy[1] == 0.75
    assert np.isnan(accuracy[2])


def test_confident_mistakes_most_confident_first():
    indices = confident_mistakes(LABELS, PROBABILITIES, count=10)

    np.testing.assert_array_equal(indices, [4, 1])


def test_confident_mistakes_limited_to_count():
    indices = confident_mistakes(LABELS, PROBABILITIES, count=1)

    np.testing.assert_array_equal(indices, [4])


def test_cell_examples_only_that_cell():
    indices = cell_examples(LABELS, PROBABILITIES, 2, 1, count=10)

    np.testing.assert_array_equal(indices, [4])


def test_cell_examples_diagonal_sorted_by_confidence():
    labels = np.array([1, 1, 1])
    probabilities = np.array([[0.3, 0.7], [0.1, 0.9], [0.2, 0.8]])

    indices = cell_examples(labels, probabilities, 1, 1, count=10)

    np.testing.assert_array_equal(indices, [1, 2, 0])
