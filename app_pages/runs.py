"""Compare runs: learning curves, accuracy against time, exports, a run's code."""

from __future__ import annotations

import streamlit as st

from mnist_core import runs
from mnist_core.config import config_from_dict
from ui import state
from ui.run_charts import curve_chart, curves_frame, speed_chart, speed_frame
from ui.run_code import show_script
from ui.run_files import show_export, show_import
from ui.run_tables import (
    COMPARISON_COLUMNS,
    RUNS_COLUMNS,
    comparison_frame,
    runs_frame,
)
from ui.session import current_session_id


def list_controls() -> bool:
    """Draw the toggle between this session's runs and all; return show_all."""
    return st.toggle(
        "Include all runs on this server",
        key=state.RUNS_SHOW_ALL,
        help="Runs from other browser tabs and earlier app starts as well",
    )


def select_runs(records: list[dict]) -> list[dict]:
    """Draw the table of runs; return the runs the user selected in it."""
    table_key = f"{state.RUNS_TABLE_PREFIX}{st.session_state[state.RUNS_SHOW_ALL]}"
    event = st.dataframe(
        runs_frame(records),
        column_config=RUNS_COLUMNS,
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key=table_key,
    )
    return [records[row] for row in event.selection.rows if row < len(records)]


def show_speed_chart(records: list[dict], selected: list[dict]) -> None:
    """Plot every listed run's accuracy against its seconds per epoch."""
    selected_ids = {record["run_id"] for record in selected}
    frame = speed_frame(records, selected_ids)
    if frame.empty:
        return
    st.altair_chart(speed_chart(frame))
    st.caption(
        "Is it worth the time? Runs to the upper left learn more per second. "
        "Selected runs are drawn larger."
    )


def show_comparison(selected: list[dict]) -> None:
    """Overlay the selected runs' curves and tabulate how they differ."""
    warning = runs.data_mismatch_warning(selected)
    if warning:
        st.warning(warning)
    frame = curves_frame(selected)
    for metric in ("val_accuracy", "val_loss"):
        by_epoch, by_seconds = st.columns(2)
        by_epoch.altair_chart(curve_chart(frame, metric, "epoch"))
        by_seconds.altair_chart(curve_chart(frame, metric, "seconds"))
    knobs = runs.differing_knobs(selected)
    st.markdown(
        "**Knobs that differ:** " + (", ".join(f"`{knob}`" for knob in knobs) or "none")
    )
    st.dataframe(
        comparison_frame(selected), column_config=COMPARISON_COLUMNS, hide_index=True
    )


def show_run_code(selected: list[dict]) -> None:
    """Show the Keras script of one selected run."""
    labels = [runs.run_label(record) for record in selected]
    index = st.selectbox(
        "Run",
        range(len(selected)),
        format_func=lambda position: labels[position],
        key=state.RUNS_CODE_RUN,
    )
    try:
        config = config_from_dict(selected[index or 0].get("config"))
    except ValueError as error:
        st.error(f"This run's config cannot be turned into a script: {error}")
        return
    show_script(config, key="runs.download_script")


st.title("Runs")
st.markdown(
    "Every finished or stopped training lands here. Select two or more rows to "
    "lay their learning curves over each other, against epochs and against "
    "seconds, and to see which knobs differ. Select one to read it as a plain "
    "Keras script."
)

owner = current_session_id()
show_all = list_controls()
records = runs.list_run_records(None if show_all else owner)
# Oldest first, so the rows keep their positions when new runs arrive.
records.sort(key=lambda record: str(record.get("recorded_at", "")))
if not records:
    st.info(
        "No runs yet: train a model on the MLP or CNN page, turn on all runs, "
        "or import runs below."
    )
else:
    selected = select_runs(records)
    show_speed_chart(records, selected)
    if len(selected) >= 2:
        st.subheader("Comparison")
        show_comparison(selected)
    elif selected:
        st.info("Select a second run to compare curves and knobs.")
    if selected:
        st.subheader("The code of a run")
        show_run_code(selected)
    st.subheader("Export")
    st.caption(
        "The selected runs, or all listed runs when none is selected. The JSON "
        "file can be imported here again, on this or another server."
    )
    show_export(selected or records)

st.subheader("Import")
show_import(owner)
