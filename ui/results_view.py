"""A finished run on its page: scores, timing, what the run shows, and saving."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from mnist_core import runs, storage
from mnist_core.diagnosis import diagnose
from mnist_core.sharing import keep_run
from ui import state
from ui.charts import accuracy_chart, loss_chart
from ui.config_state import PageKeys
from ui.format import format_accuracy, format_count, format_loss, format_seconds
from ui.session import current_session_id, remember_session_model

logger = logging.getLogger(__name__)

STOP_REASONS = {
    "stopped": "on request",
    "nan": "because the loss became NaN",
    "time_limit": "at the server's time limit per run",
    "session_closed": "because its browser tab was closed",
}


def record_finished_run(snapshot, architecture: str | None) -> None:
    """Add a finished run to the run history once; with `architecture`, also make
    its model the session's current one for the draw and inside pages."""
    recorded = st.session_state.setdefault(state.RECORDED_JOBS, set())
    if snapshot.job_id in recorded or snapshot.record is None:
        return
    recorded.add(snapshot.job_id)
    if architecture is not None and snapshot.model_path:
        remember_session_model(
            architecture, snapshot.model_path, snapshot.record, snapshot.label
        )
    try:
        runs.save_run_record(snapshot.record, current_session_id())
    except (OSError, ValueError) as error:
        logger.warning("Could not record run %s: %s", snapshot.job_id, error)
        st.warning(f"This run could not be added to the Runs page: {error}")


def show_scores(record: dict) -> None:
    """Draw test scores, size and timing as metrics, with the run's context."""
    accuracy, loss, parameters = st.columns(3)
    accuracy.metric("Test accuracy", format_accuracy(record.get("test_accuracy")))
    loss.metric("Test loss", format_loss(record.get("test_loss")))
    parameters.metric("Parameters", format_count(record.get("num_parameters")))
    per_epoch, total, precision = st.columns(3)
    per_epoch.metric(
        "Seconds per epoch",
        format_seconds(record.get("median_epoch_seconds")),
        help="Median over the epochs after the first, which includes tracing "
        "the graph; with one epoch, that epoch",
    )
    total.metric("Total seconds", format_seconds(record.get("total_seconds")))
    precision.metric("Precision", str(record.get("precision")))

    source = record.get("data_source", {})
    validation = (
        "a held-out share of the training images"
        if record.get("validation") == "split"
        else "the test set, as in the tutorial"
    )
    st.caption(
        f"{record.get('steps_per_execution', 1)} batch(es) per step, "
        f"{record.get('threads')} CPU thread(s), "
        f"{record.get('concurrent_trainings', 0)} other training(s) at the same "
        f"time. Data: {source.get('description')}: "
        f"{format_count(source.get('num_train'))} training, "
        f"{format_count(source.get('num_validation'))} validation and "
        f"{format_count(source.get('num_test'))} test images; validated on "
        f"{validation}."
    )


def show_operation_scores(record: dict) -> None:
    """For runs with an image operation, score operated and untouched images."""
    operation = record.get("config", {}).get("image_operation", {})
    scores = record.get("image_operation", {})
    if operation.get("name", "none") == "none" or not scores:
        return
    st.markdown(
        f"**{operation['name'].replace('_', ' ').capitalize()}** changed "
        f"{format_count(scores.get('num_train_operated'))} training and "
        f"{format_count(scores.get('num_test_operated'))} test images. Test "
        f"accuracy on the changed images: "
        f"{format_accuracy(scores.get('operated_test_accuracy'))}; on the "
        f"untouched ones: {format_accuracy(scores.get('untouched_test_accuracy'))}."
    )


def show_findings(record: dict) -> None:
    """Show what the run's numbers show and the likely cause."""
    st.markdown("**What this run shows**")
    for finding in diagnose(record):
        if finding.kind == "healthy":
            st.info(finding.message)
        elif finding.kind in ("nan", "chance", "flat_loss"):
            st.error(finding.message)
        else:
            st.warning(finding.message)


def show_history_charts(history: dict, epochs: int, architecture: str) -> None:
    """Draw loss and accuracy per finished epoch side by side."""
    if not history.get("loss"):
        st.caption("The curves appear when the first epoch ends.")
        return
    loss_column, accuracy_column = st.columns(2)
    loss_column.altair_chart(loss_chart(history, epochs))
    accuracy_column.altair_chart(accuracy_chart(history, epochs, architecture))


def save_trained_model(snapshot, name: str) -> None:
    """Copy the job's model file into this session's models; report the result."""
    owner = current_session_id()
    try:
        path, is_new = keep_run(Path(snapshot.model_path), name, owner)
    # ValueError: a name without letters or digits.
    except (ValueError, storage.StorageError) as error:
        st.error(f"The model was not saved: {error}.")
        return
    if is_new:
        st.success(f"Saved as {path.name}. The Models page lists it.")
    else:
        st.info(f"This run is already saved as {path.name}.")


def show_save_form(snapshot, keys: PageKeys) -> None:
    """Draw a name field and a Save button for the trained model."""
    if not snapshot.model_path:
        return
    with st.form(key=f"{keys.architecture}.save_form"):
        name = st.text_input(
            "Model name",
            value=f"{keys.architecture}-{snapshot.job_id[:6]}",
            help="Letters, digits, '-', '_' and '.'; other characters become '_'",
            key=f"{keys.architecture}.save_name",
        )
        submitted = st.form_submit_button("Save model", key=f"{keys.architecture}.save")
    if submitted:
        save_trained_model(snapshot, name)


def show_results(snapshot, keys: PageKeys) -> None:
    """Draw a finished run: how it ended, scores, curves, findings, Save."""
    record = snapshot.record
    st.subheader("Results")
    if record.get("stopped_early"):
        reason = STOP_REASONS.get(record.get("stop_reason"), "")
        st.warning(
            f"Training stopped {reason} after {record.get('epochs_completed')} of "
            f"{snapshot.epochs} epochs; the model keeps what it had learnt."
        )
    show_scores(record)
    show_operation_scores(record)
    show_history_charts(record.get("history", {}), snapshot.epochs, keys.architecture)
    show_findings(record)
    show_save_form(snapshot, keys)
