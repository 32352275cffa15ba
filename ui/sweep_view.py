"""Sweeps on a training page: the form, progress of every run, and the comparison."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnist_core.config import RunConfig
from mnist_core.jobs import ACTIVE_STATES, get_scheduler
from mnist_core.presets import FLIP_SHARES
from mnist_core.sweeps import (
    MAX_SEEDS,
    Sweep,
    learning_curves,
    noise_notes,
    parse_values,
    plan_sweep,
    submit_sweep,
    summarize,
)
from ui.charts import sweep_accuracy_chart, sweep_curves_chart, sweep_speed_chart
from ui.config_state import PageKeys
from ui.data_access import get_data_source
from ui.format import format_accuracy, format_count, format_loss, format_seconds
from ui.knob_controls import VALIDATION_LABELS, seed_widget
from ui.results_view import record_finished_run
from ui.session import current_session_id, owner_liveness_check

OTHER_KNOB = "another knob path…"
COMMON_KNOBS = {
    "mlp": (
        "hidden_layers.*.units",
        "hidden_layers.*.dropout_rate",
        "hidden_layers.*.activation",
        "output_activation",
        "hidden_layers",
        "learning_rate",
        "optimizer",
        "batch_size",
        "epochs",
        "train_limit",
    ),
    "cnn": (
        "conv_blocks.1.pooling",
        "conv_blocks.*.kernel_size",
        "conv_blocks.*.filters",
        FLIP_SHARES,
        "conv_dropout_rate",
        "dense_units",
        "dense_dropout_rate",
        "data_format",
        "learning_rate",
        "optimizer",
        "batch_size",
        "train_limit",
    ),
}
DEFAULT_SWEEP = {"knob": "learning_rate", "values": "0.01, 0.001, 0.0001"}
POLL_SECONDS = 1.0
# Short table labels for the findings of mnist_core.diagnosis.
FINDING_LABELS = {
    "nan": "NaN loss",
    "chance": "accuracy at chance",
    "flat_loss": "loss not falling",
    "loss_above_uniform": "loss above ln 10",
    "overfitting": "overfitting",
    "slow": "slow learning",
    "training_below_validation": "training below validation",
}


def _sweep_settings(keys: PageKeys) -> dict:
    settings = st.session_state.setdefault(keys.sweep_settings, {})
    for name, value in DEFAULT_SWEEP.items():
        settings.setdefault(name, value)
    settings.setdefault("repeats", 1)
    settings.setdefault("validation", "split")
    return settings


def knob_input(keys: PageKeys, knob: str) -> str:
    """Draw the knob choice: common knobs, or any path typed in; return the path."""
    common = COMMON_KNOBS[keys.architecture]
    seed_widget(keys.widget("sweep_knob"), knob if knob in common else OTHER_KNOB)
    choice = st.selectbox(
        "Knob",
        [*common, OTHER_KNOB],
        key=keys.widget("sweep_knob"),
        help="The setting the sweep changes; '*' means every layer, and 'a+b' "
        "sets two knobs to the same value",
    )
    if choice != OTHER_KNOB:
        return choice
    seed_widget(keys.widget("sweep_knob_path"), "" if knob in common else knob)
    return st.text_input(
        "Knob path",
        key=keys.widget("sweep_knob_path"),
        placeholder="e.g. hidden_layers.0.units",
        help="Any knob of the command line's --set, e.g. hidden_layers.0.units",
    ).strip()


def sweep_form(keys: PageKeys) -> dict:
    """Draw the sweep's knob, values, seeds and validation; return the settings."""
    settings = _sweep_settings(keys)
    knob = knob_input(keys, settings["knob"])
    seed_widget(keys.widget("sweep_values"), settings["values"])
    values = st.text_input(
        "Values",
        key=keys.widget("sweep_values"),
        help="Separate values by commas; separate layer lists by ';'",
    )
    repeats_column, validation_column = st.columns(2)
    seed_widget(keys.widget("sweep_repeats"), settings["repeats"])
    repeats = repeats_column.number_input(
        "Seeds per value",
        min_value=1,
        max_value=MAX_SEEDS,
        key=keys.widget("sweep_repeats"),
        help="Several seeds show how much accuracy varies by chance alone",
    )
    seed_widget(keys.widget("sweep_validation"), settings["validation"])
    validation = validation_column.radio(
        "Validate on",
        list(VALIDATION_LABELS),
        format_func=VALIDATION_LABELS.get,
        key=keys.widget("sweep_validation"),
        help="Choosing a value by its test-set curve would tune on the test set",
    )
    settings.update(
        knob=knob, values=values, repeats=int(repeats), validation=validation
    )
    return settings


def start_sweep(config: RunConfig, keys: PageKeys, settings: dict) -> None:
    """Plan and queue the sweep; show an error naming the bad value if refused."""
    session_id = current_session_id()
    try:
        values = parse_values(settings["values"])
        runs = plan_sweep(
            config,
            settings["knob"],
            values,
            settings["repeats"],
            settings["validation"],
        )
        sweep = submit_sweep(
            settings["knob"],
            runs,
            get_scheduler(),
            get_data_source()[0],
            owner=session_id,
            is_owner_alive=owner_liveness_check(session_id),
        )
    # KnobError, LimitError and a bad values text are all ValueErrors.
    except ValueError as error:
        st.error(f"The sweep was not started: {error}.")
        return
    st.session_state[keys.sweep] = sweep


def show_sweep(config: RunConfig | None, keys: PageKeys, buildable: bool) -> None:
    """Draw the sweep form, its Start button and the current sweep."""
    sweep = st.session_state.get(keys.sweep)
    active = sweep is not None and sweep.active
    settings = sweep_form(keys)
    if settings["validation"] == "split":
        st.caption(
            "Each run validates on a held-out share of its training images, so "
            "the test set plays no part in picking a value."
        )
    else:
        st.caption(
            "Each run validates on the test set, as the tutorial does: picking "
            "the value with the best validation curve then tunes on the test set."
        )
    clicked = st.button(
        "Run sweep",
        key=f"{keys.architecture}.start_sweep",
        disabled=config is None or not buildable or active,
        help="Train one model per value (and seed), one after another",
    )
    if clicked and config is not None:
        start_sweep(config, keys, settings)
        sweep = st.session_state.get(keys.sweep)
    if sweep is None:
        return
    if sweep.active:
        live_sweep(keys)
    else:
        show_sweep_results(sweep, keys)


@st.fragment(run_every=POLL_SECONDS)
def live_sweep(keys: PageKeys) -> None:
    """Redraw the sweep's runs every POLL_SECONDS; rerun the page when it ends."""
    sweep = st.session_state.get(keys.sweep)
    if sweep is None:
        return
    if not sweep.active:
        st.rerun()
    results = sweep.results()
    finished = sum(1 for result in results if result.state not in ACTIVE_STATES)
    st.progress(
        finished / len(results), text=f"{finished} of {len(results)} runs finished"
    )
    st.dataframe(run_status_frame(results), hide_index=True)
    if st.button("Stop sweep", key=f"{keys.architecture}.stop_sweep"):
        sweep.stop()
        st.caption("Stopping: queued runs are cancelled, finished ones are kept.")
    show_sweep_results(sweep, keys)


def run_status_frame(results) -> pd.DataFrame:
    """Return one row per run: value, seed, state and epoch."""
    rows = []
    for result in results:
        if result.state == "queued":
            progress = f"place {result.queue_position} in the queue"
        elif result.state in ("running", "stopping") and result.epoch == 0:
            progress = "preparing the data and the model"
        elif result.state in ("running", "stopping"):
            progress = f"epoch {result.epoch} of {result.epochs}"
        else:
            progress = result.error or ""
        rows.append(
            {
                "Value": result.value,
                "Seed": result.seed,
                "State": result.state,
                "Progress": progress,
            }
        )
    return pd.DataFrame(rows)


def _or_blank(format_number, value) -> str:
    """Format `value`, or leave the cell empty while a value has no result yet."""
    return "" if value is None else format_number(value)


def summary_table(summaries) -> pd.DataFrame:
    """Return the sweep's table, one row per value, with formatted numbers."""
    rows = []
    for summary in summaries:
        spread = ""
        if summary.num_scored > 1:
            spread = (
                f"{format_accuracy(summary.accuracy_min)} .. "
                f"{format_accuracy(summary.accuracy_max)}"
            )
        runs = f"{summary.num_scored} of {summary.num_runs} ({summary.states})"
        rows.append(
            {
                "Value": summary.value,
                "Runs": runs,
                "Test accuracy": _or_blank(format_accuracy, summary.test_accuracy),
                "Range over seeds": spread,
                "Test loss": _or_blank(format_loss, summary.test_loss),
                "Seconds per epoch": _or_blank(
                    format_seconds, summary.median_epoch_seconds
                ),
                "Total seconds": _or_blank(format_seconds, summary.total_seconds),
                "Parameters": _or_blank(format_count, summary.num_parameters),
                "Runs show": ", ".join(
                    FINDING_LABELS.get(kind, kind) for kind in summary.findings
                ),
            }
        )
    return pd.DataFrame(rows)


def show_noise_notes(summaries) -> None:
    """Show which values differ by less than the spread between seeds."""
    if all(summary.num_scored < 2 for summary in summaries):
        st.caption(
            "With one seed per value, a small difference may be chance: run "
            "two or more seeds per value to see the spread."
        )
        return
    for note in noise_notes(summaries):
        st.info(
            f"{note.first} and {note.second} differ by "
            f"{100 * note.difference:.2f} points of mean test accuracy, less than "
            f"the {100 * note.spread:.2f} points between seeds of one value: this "
            "difference may be chance."
        )


def show_sweep_results(sweep: Sweep, keys: PageKeys) -> None:
    """Draw the sweep's table, its charts and the learning curves of all runs."""
    results = sweep.results()
    for result, job in zip(results, sweep.jobs, strict=True):
        if result.record is not None and result.state not in ACTIVE_STATES:
            record_finished_run(job.snapshot(), None)
    summaries = summarize(sweep.values, results)
    st.markdown(f"**Sweep over `{sweep.knob}`**")
    st.dataframe(summary_table(summaries), hide_index=True)
    st.caption(
        "Seconds per epoch: the median over epochs after the first (the first "
        "includes tracing the graph), averaged over seeds. Validated on "
        f"{VALIDATION_LABELS[sweep.validation].lower()}. Train a value alone "
        "to read what its run shows in full."
    )
    show_noise_notes(summaries)
    if not any(summary.test_accuracy is not None for summary in summaries):
        return
    accuracy_column, speed_column = st.columns(2)
    accuracy_column.altair_chart(sweep_accuracy_chart(summaries))
    speed_column.altair_chart(sweep_speed_chart(summaries))
    st.altair_chart(sweep_curves_chart(learning_curves(results), list(sweep.values)))
