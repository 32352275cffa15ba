"""The inside page's third tab: where the model goes wrong on the test set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from mnist_core.inspection import ModelInspector
from mnist_core.mistakes import (
    cell_examples,
    confident_mistakes,
    confusion_matrix,
    per_class_accuracy,
    predicted_labels,
)
from ui import inside_charts as charts
from ui import state
from ui.format import format_accuracy, format_count
from ui.inside_widgets import show_table

EXAMPLES_SHOWN = 12


def show_examples(indices, dataset, probabilities) -> None:
    """Show test images with their true digit and probability bars, six a row."""
    predicted = predicted_labels(probabilities)
    for start in range(0, len(indices), 6):
        columns = st.columns(6)
        for column, index in zip(columns, indices[start : start + 6], strict=False):
            confidence = format_accuracy(probabilities[index, predicted[index]])
            column.image(
                charts.enlarge_image(dataset.x_test[index]),
                caption=f"#{index}: true {dataset.y_test[index]}, "
                f"predicted {predicted[index]} ({confidence})",
            )
            column.altair_chart(
                charts.probability_chart(probabilities[index], height=170)
            )
    rows = pd.DataFrame(
        {
            "test_index": indices,
            "true": dataset.y_test[indices],
            "predicted": predicted[indices],
            "confidence": probabilities[indices, predicted[indices]],
        }
    )
    for digit in range(probabilities.shape[1]):
        rows[f"probability_{digit}"] = probabilities[indices, digit]
    show_table("these images", rows)


def clicked_cell(event) -> tuple[int, int] | None:
    """Return the (true, predicted) cell a click on the confusion matrix selected."""
    points = event.selection.get(charts.SELECTION_NAME) or []
    if not points or "true" not in points[0] or "predicted" not in points[0]:
        return None
    return int(points[0]["true"]), int(points[0]["predicted"])


def cell_controls(matrix: np.ndarray, event) -> tuple[int, int]:
    """Draw the true/predicted select boxes, moved by a click on the matrix."""
    clicked = clicked_cell(event)
    if clicked is not None and clicked != st.session_state.get(state.INSIDE_LAST_CLICK):
        st.session_state[state.INSIDE_LAST_CLICK] = clicked
        st.session_state[state.INSIDE_TRUE_DIGIT] = clicked[0]
        st.session_state[state.INSIDE_PREDICTED_DIGIT] = clicked[1]
    # Start on the most frequent mistake.
    mistakes = matrix - np.diag(np.diag(matrix))
    worst = np.unravel_index(np.argmax(mistakes), matrix.shape)
    st.session_state.setdefault(state.INSIDE_TRUE_DIGIT, int(worst[0]))
    st.session_state.setdefault(state.INSIDE_PREDICTED_DIGIT, int(worst[1]))
    columns = st.columns(2)
    true_label = columns[0].selectbox(
        "True digit", range(10), key=state.INSIDE_TRUE_DIGIT
    )
    predicted = columns[1].selectbox(
        "Predicted digit", range(10), key=state.INSIDE_PREDICTED_DIGIT
    )
    return true_label, predicted


@st.fragment
def show_test_set(inspector: ModelInspector, dataset) -> None:
    """Show where the model goes wrong on the test set."""
    with st.spinner(f"Predicting {format_count(dataset.num_test)} test images…"):
        probabilities, softmaxed = inspector.test_probabilities(
            dataset.x_test, dataset.fingerprint
        )
    if softmaxed:
        st.caption("The model's outputs are not probabilities; a softmax was applied.")
    labels = dataset.y_test
    predicted = predicted_labels(probabilities)
    matrix = confusion_matrix(labels, predicted)
    st.metric("Test accuracy", format_accuracy(float(np.trace(matrix) / matrix.sum())))

    st.subheader("Confusion matrix")
    st.caption(
        "Rows are the true digits, columns the model's answers; the diagonal "
        "holds the correct ones. Click a cell, or pick the two digits below, "
        "to see its images."
    )
    event = st.altair_chart(
        charts.confusion_chart(matrix),
        width="content",
        on_select="rerun",
        key=state.INSIDE_CONFUSION_CHART,
    )
    show_table("confusion matrix", charts.confusion_frame(matrix))
    true_label, predicted_label = cell_controls(matrix, event)
    indices = cell_examples(
        labels, probabilities, true_label, predicted_label, EXAMPLES_SHOWN
    )
    st.markdown(
        f"{format_count(int(matrix[true_label, predicted_label]))} test images of a "
        f"{true_label} were predicted as {predicted_label}; the most confident first."
    )
    show_examples(indices, dataset, probabilities)

    st.subheader("Most confidently wrong")
    show_examples(
        confident_mistakes(labels, probabilities, EXAMPLES_SHOWN),
        dataset,
        probabilities,
    )

    st.subheader("Accuracy per digit")
    frame = charts.per_class_frame(matrix, per_class_accuracy(matrix))
    st.altair_chart(charts.per_class_chart(frame))
    show_table("accuracy per digit", frame)
