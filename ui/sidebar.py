"""The sidebar every page shares: the data in use and the training queue."""

from __future__ import annotations

import streamlit as st

from ui.data_access import get_dataset
from ui.format import format_count


def show_data_status() -> None:
    """Say which data set is in use and how many images it holds."""
    dataset, warning = get_dataset()
    st.sidebar.caption(
        f"**Data:** {dataset.source.description}: "
        f"{format_count(dataset.num_train)} training and "
        f"{format_count(dataset.num_test)} test images."
    )
    if dataset.source.kind == "sample":
        st.sidebar.caption(
            "For the full 60,000 images, start the app with MNIST_DATA set to an "
            "`mnist.npz` file, or on a machine that can reach Keras's download."
        )
    if warning:
        st.sidebar.warning(warning)


def show_queue_status() -> None:
    """Show how busy the trainer is, without starting it."""
    from mnist_core import jobs

    scheduler = jobs._scheduler
    if scheduler is None:
        return
    running = scheduler.running_count()
    queued = scheduler.queued_count()
    if running or queued:
        st.sidebar.caption(
            f"**Trainings on this server:** {running} running, {queued} waiting."
        )


def adopt_finished_runs() -> None:
    """Make a single run that ended while another page was open the current model.

    Without this, the draw and inside pages would keep using the shipped
    models until the user reopened the training page.
    """
    from ui import state

    for key in (state.MLP_JOB, state.CNN_JOB):
        job = st.session_state.get(key)
        if job is None or not hasattr(job, "snapshot"):
            continue
        snapshot = job.snapshot()
        if not snapshot.active and snapshot.record is not None:
            # Imported here: it pulls in Altair and pandas, which the home
            # page's first paint should not wait for.
            from ui.results_view import record_finished_run

            record_finished_run(snapshot, snapshot.architecture)


def show_shared_sidebar() -> None:
    """Draw the parts of the sidebar that every page shows."""
    show_data_status()
    show_queue_status()
    adopt_finished_runs()
