"""Start a training job from a page and follow it: queue, progress, live charts.

The job runs in a worker process; the page keeps only the job handle in its
session state and draws the job's snapshot on every run, so a page left and
revisited mid-training shows the same progress.
"""

from __future__ import annotations

import streamlit as st

from mnist_core.config import RunConfig
from mnist_core.jobs import CANCELLED, FAILED, QUEUED, STOPPING, get_scheduler
from mnist_core.knobs import settings_from_config
from mnist_core.limits import LimitError
from ui.config_state import PageKeys
from ui.data_access import get_data_source
from ui.format import format_accuracy, format_loss, format_seconds
from ui.results_view import (
    record_finished_run,
    show_history_charts,
    show_results,
)
from ui.session import current_session_id, owner_liveness_check

# Seconds between two redraws of a running job's progress.
POLL_SECONDS = 1.0
MAX_LABEL_LENGTH = 100


def run_label(config: RunConfig) -> str:
    """Name a run by the knobs that differ from the tutorial's."""
    settings = settings_from_config(config)
    if not settings:
        return f"{config.architecture.upper()}, tutorial settings"
    changes = "; ".join(f"{name}={value}" for name, value in settings.items())
    label = f"{config.architecture.upper()}: {changes}"
    if len(label) > MAX_LABEL_LENGTH:
        label = label[: MAX_LABEL_LENGTH - 1] + "…"
    return label


def submit_training(config: RunConfig, keys: PageKeys) -> bool:
    """Queue a run of `config` and keep its job; return False if rejected.

    The page shows a rejection as an error.
    """
    source = get_data_source()[0]
    session_id = current_session_id()
    try:
        job = get_scheduler().submit(
            config,
            source,
            owner=session_id,
            label=run_label(config),
            is_owner_alive=owner_liveness_check(session_id),
        )
    except LimitError as error:
        st.error(f"Training was not started: {error}.")
        return False
    st.session_state[keys.job] = job
    return True


def show_train_button(config: RunConfig | None, keys: PageKeys, buildable: bool):
    """Draw the Train button; a click queues a run of `config`."""
    job = st.session_state.get(keys.job)
    busy = job is not None and job.snapshot().active
    clicked = st.button(
        "Train",
        type="primary",
        key=f"{keys.architecture}.train",
        disabled=config is None or not buildable or busy,
        help="Train this model once with the settings in the sidebar",
    )
    if config is not None and config.validation == "split":
        share = f"{config.validation_split:.0%}"
        st.caption(
            f"The validation curve uses {share} of the training images, held out "
            "from training; the test set is scored once, at the end."
        )
    elif config is not None:
        st.caption(
            "The validation curve uses the test set, as in the tutorial; choose "
            "a held-out share in the sidebar to keep the test set for the end."
        )
    if busy:
        st.caption("A run is in progress: stop it or wait for it to start another.")
    # A click sent before the button was disabled still arrives: `busy` keeps
    # it from queueing a second run. The rerun draws the disabled button.
    # NOTE: AppTest refuses to click a disabled button, so no test covers the
    # late click. Without this check, a burst of browser clicks once queued two
    # runs.
    if clicked and config is not None and not busy and submit_training(config, keys):
        st.rerun()


def show_job(keys: PageKeys) -> None:
    """Draw the page's job: live progress while active, else its final state."""
    job = st.session_state.get(keys.job)
    if job is None:
        return
    snapshot = job.snapshot()
    if snapshot.active:
        live_progress(keys)
    else:
        show_final_state(snapshot, keys)


@st.fragment(run_every=POLL_SECONDS)
def live_progress(keys: PageKeys) -> None:
    """Redraw the job's progress every POLL_SECONDS; rerun the page when it ends."""
    job = st.session_state.get(keys.job)
    if job is None:
        return
    snapshot = job.snapshot()
    if not snapshot.active:
        st.rerun()
    show_progress(snapshot, keys.architecture)
    if st.button(
        "Stop",
        key=f"{keys.architecture}.stop",
        disabled=snapshot.state == STOPPING,
        help="End training after the current batch; the model keeps what it learnt",
    ):
        job.request_stop()
        st.caption("Stopping after the current batch…")


def show_progress(snapshot, architecture: str) -> None:
    """Draw the queue place, or the progress bar, times and curves so far."""
    if snapshot.state == QUEUED:
        ahead = (snapshot.queue_position or 1) - 1 + get_scheduler().running_count()
        if ahead:
            st.info(
                f"Waiting: {ahead} run{'s' if ahead != 1 else ''} ahead of this "
                "one. It starts when a training process is free."
            )
        else:
            st.info(
                "Next in line: waiting for a training process to start, which "
                "loads TensorFlow first and may take a few seconds."
            )
        return
    if snapshot.epoch == 0:
        st.info("Preparing the data and building the model…")
        return

    text = f"Epoch {snapshot.epoch} of {snapshot.epochs}"
    if snapshot.batches:
        text += f", batch {snapshot.batch} of {snapshot.batches}"
    if snapshot.state == STOPPING:
        text += " (stopping)"
    st.progress(snapshot.fraction_done, text=text)
    elapsed, remaining, batch_loss, batch_accuracy = st.columns(4)
    elapsed.metric("Elapsed", format_seconds(snapshot.elapsed_seconds))
    remaining.metric("Estimated time left", format_seconds(snapshot.eta_seconds))
    batch_loss.metric("Loss, current batch", format_loss(snapshot.batch_loss))
    batch_accuracy.metric(
        "Accuracy, current batch", format_accuracy(snapshot.batch_accuracy)
    )
    show_history_charts(snapshot.history, snapshot.epochs, architecture)


def show_final_state(snapshot, keys: PageKeys) -> None:
    """Show how the job ended and, if it left a model, show its results."""
    if snapshot.state == FAILED:
        st.error(
            f"Training failed: {snapshot.error}. Change a setting and press "
            "Train again."
        )
        return
    if snapshot.state == CANCELLED:
        st.info("The run was cancelled before it started.")
        return
    if snapshot.record is None:
        st.warning(
            "Training was stopped, and the training process had to be ended, "
            "so no model was kept."
        )
        return
    record_finished_run(snapshot, keys.architecture)
    show_results(snapshot, keys)
