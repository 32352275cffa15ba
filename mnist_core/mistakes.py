"""Test-set mistakes of a model: confusion matrix, per-class accuracy and the
test images behind each mistake."""

from __future__ import annotations

import numpy as np

from mnist_core.config import NUM_CLASSES


def predicted_labels(probabilities: np.ndarray) -> np.ndarray:
    """Return the class with the highest probability for each row."""
    return np.asarray(probabilities).argmax(axis=1)


def confusion_matrix(
    labels: np.ndarray, predicted: np.ndarray, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """Return (num_classes, num_classes) counts: rows are true, columns predicted."""
    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    cells = labels * num_classes + predicted
    counts = np.bincount(cells, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Return each true class's share of correct predictions, NaN if it is absent."""
    totals = matrix.sum(axis=1)
    correct = np.diag(matrix).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, correct / totals, np.nan)


def confident_mistakes(
    labels: np.ndarray, probabilities: np.ndarray, count: int
) -> np.ndarray:
    """Return the indices of up to `count` wrong predictions, most confident first."""
    predicted = predicted_labels(probabilities)
    wrong = np.flatnonzero(predicted != np.asarray(labels))
    confidence = np.asarray(probabilities)[wrong, predicted[wrong]]
    # Stable sort so equal confidences keep test-set order.
    order = np.argsort(-confidence, kind="stable")
    return wrong[order[:count]]


def cell_examples(
    labels: np.ndarray,
    probabilities: np.ndarray,
    true_label: int,
    predicted_label: int,
    count: int,
) -> np.ndarray:
    """Return indices of up to `count` test images of `true_label` predicted as
    `predicted_label`, the most confident prediction first."""
    predicted = predicted_labels(probabilities)
    in_cell = (np.asarray(labels) == true_label) & (predicted == predicted_label)
    indices = np.flatnonzero(in_cell)
    confidence = np.asarray(probabilities)[indices, predicted_label]
    order = np.argsort(-confidence, kind="stable")
    return indices[order[:count]]
