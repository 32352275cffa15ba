"""Export runs as CSV and JSON, and import a JSON export, on the Runs page."""

from __future__ import annotations

import streamlit as st

from mnist_core import run_exchange, runs
from ui import state


def show_export(records: list[dict]) -> None:
    """Offer the runs as CSV (one row per run) and as JSON (re-importable)."""
    csv_column, json_column = st.columns(2)
    csv_column.download_button(
        "Download as CSV",
        runs.records_to_csv(records),
        file_name="mnist-runs.csv",
        mime="text/csv",
        on_click="ignore",
    )
    json_column.download_button(
        "Download as JSON",
        run_exchange.records_to_json(records),
        file_name="mnist-runs.json",
        mime="application/json",
        on_click="ignore",
    )


def show_import(owner: str) -> None:
    """Import runs from a JSON file exported here; report the outcome."""
    uploaded = st.file_uploader(
        "Import runs from a JSON file exported on this page",
        type=["json"],
        key=state.RUNS_IMPORT,
        max_upload_size=run_exchange.MAX_IMPORT_BYTES // (1024 * 1024),
    )
    result = st.session_state.get(state.RUNS_IMPORT_RESULT)
    if uploaded is not None and (result or {}).get("file_id") != uploaded.file_id:
        try:
            imported = run_exchange.records_from_json(uploaded.getvalue())
            added, present = run_exchange.import_run_records(imported, owner)
            result = {"kind": "success", "text": f"Imported {added} run(s)."}
            if present:
                result["text"] += f" {present} run(s) were already listed."
        except (run_exchange.RunImportError, OSError) as error:
            result = {"kind": "error", "text": f"The file was not imported: {error}"}
        result["file_id"] = uploaded.file_id
        st.session_state[state.RUNS_IMPORT_RESULT] = result
        if result["kind"] == "success":
            st.rerun()
    if uploaded is not None and result and result["file_id"] == uploaded.file_id:
        getattr(st, result["kind"])(result["text"])
