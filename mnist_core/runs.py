"""Run history: one JSON file per finished run, and the tables that compare runs.

Each record is the dict `mnist_core.training.train_model` returns, plus the
`owner` field (the browser session that ran it), stored as
`models_dir()/runs/<run_id>.json`. Files are written to a hidden temporary
name and moved into place with os.replace, so a reader never sees half a
record, and saving the same run again replaces its file. The JSON is strict:
NaN and infinity become null.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import logging
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from mnist_core.config import config_to_dict, default_config
from mnist_core.storage import models_dir

logger = logging.getLogger(__name__)

RUNS_FOLDER = "runs"
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Scores and costs of a run, in the order the tables show them.
SCORE_FIELDS = (
    "test_accuracy",
    "test_loss",
    "median_epoch_seconds",
    "training_seconds",
    "num_parameters",
    "epochs_completed",
)
CURVE_METRICS = ("val_accuracy", "val_loss", "accuracy", "loss")


def runs_dir() -> Path:
    """Return the folder of run records inside the models folder."""
    return models_dir() / RUNS_FOLDER


def strict_json(value: Any) -> Any:
    """Return `value` as plain JSON data, with NaN and infinity as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): strict_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(item) for item in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    if hasattr(value, "item"):
        # NumPy scalars
        return strict_json(value.item())
    return str(value)


def check_run_id(run_id: Any) -> str:
    """Return `run_id` if it is a safe file stem, else raise ValueError."""
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id):
        raise ValueError(
            f"run_id {run_id!r} must be 1 to 64 letters, digits, '-' or '_'"
        )
    return run_id


def _record_path(run_id: str) -> Path:
    return runs_dir() / f"{check_run_id(run_id)}.json"


def save_run_record(record: dict[str, Any], owner: str) -> Path:
    """Save a run record for `owner`; saving the same run_id again replaces it.

    The stored record gets `recorded_at` (when it was saved) unless it has one.

    Returns the record's path. Raises ValueError for a record without a
    usable run_id and OSError if the disk refuses the write.
    """
    path = _record_path(record.get("run_id"))
    data = strict_json(dict(record, owner=owner))
    # Microseconds keep the order of records saved within one second.
    recorded_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds")
    data.setdefault("recorded_at", recorded_at)
    text = json.dumps(data, indent=1, allow_nan=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
    logger.info("Saved run record %s", path)
    return path


def load_run_record(run_id: str) -> dict[str, Any]:
    """Return the stored record of `run_id`; raises FileNotFoundError if none."""
    return json.loads(_record_path(run_id).read_text(encoding="utf-8"))


def delete_run_record(run_id: str) -> None:
    """Delete the stored record of `run_id`, if there is one."""
    _record_path(run_id).unlink(missing_ok=True)


def list_run_records(owner: str | None = None) -> list[dict[str, Any]]:
    """Return stored records, newest first; only `owner`'s unless owner is None.

    Files that cannot be read as a JSON object are skipped with a warning.
    """
    folder = runs_dir()
    if not folder.is_dir():
        return []
    records = []
    for path in folder.glob("*.json"):
        if path.name.startswith("."):
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            logger.warning("Skipping unreadable run record %s: %s", path, error)
            continue
        if not isinstance(record, dict):
            continue
        if owner is None or record.get("owner") == owner:
            records.append(record)
    records.sort(key=lambda record: str(record.get("started_at", "")), reverse=True)
    return records


def run_label(record: dict[str, Any]) -> str:
    """Return a short name for a run: architecture, start time and id."""
    started = str(record.get("started_at", ""))[:16].replace("T", " ")
    return f"{record.get('model', '?')} {started} ({record.get('run_id', '?')})"


def flatten_config(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten a config dict to knob names such as `hidden_layers.0.units`."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_config(value, f"{name}."))
        elif isinstance(value, list | tuple):
            flat[f"{name}.count"] = len(value)
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    flat.update(flatten_config(item, f"{name}.{index}."))
                else:
                    flat[f"{name}.{index}"] = item
        else:
            flat[name] = value
    return flat


def flatten_record(record: dict[str, Any]) -> dict[str, Any]:
    """Return one flat row per run: id, data, scores, then every knob."""
    data_source = record.get("data_source") or {}
    row = {
        "run_id": record.get("run_id"),
        "model": record.get("model"),
        "started_at": record.get("started_at"),
        "data_source": data_source.get("kind"),
        "data_fingerprint": data_source.get("fingerprint"),
        "num_train": data_source.get("num_train"),
        "stopped_early": record.get("stopped_early"),
    }
    for field in SCORE_FIELDS:
        row[field] = record.get(field)
    config = record.get("config") or {}
    for knob, value in flatten_config(config).items():
        row[f"config.{knob}"] = value
    return row


def differing_knobs(records: list[dict[str, Any]]) -> list[str]:
    """Return the knobs whose values are not the same in all `records`."""
    flat_configs = [flatten_config(record.get("config") or {}) for record in records]
    knobs = sorted(set().union(*flat_configs)) if flat_configs else []
    return [
        knob
        for knob in knobs
        if len({json.dumps(flat.get(knob)) for flat in flat_configs}) > 1
    ]


def changed_knobs(record: dict[str, Any]) -> list[str]:
    """Return the knobs of a run that differ from the tutorial's model."""
    config = record.get("config") or {}
    try:
        reference = config_to_dict(default_config(config.get("architecture")))
    except ValueError:
        return []
    flat = flatten_config(config)
    flat_reference = flatten_config(reference)
    knobs = set(flat) | set(flat_reference)
    return sorted(knob for knob in knobs if flat.get(knob) != flat_reference.get(knob))


def comparison_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return one row per run: scores, costs and the values of differing knobs."""
    knobs = differing_knobs(records)
    rows = []
    for record in records:
        flat = flatten_config(record.get("config") or {})
        row = {"run": run_label(record)}
        row.update({field: record.get(field) for field in SCORE_FIELDS})
        row.update({knob: flat.get(knob) for knob in knobs})
        rows.append(row)
    return rows


def data_mismatch_warning(records: list[dict[str, Any]]) -> str | None:
    """Return a warning if the runs were trained on different data, else None."""
    sources: dict[str, list[str]] = {}
    for record in records:
        data_source = record.get("data_source") or {}
        fingerprint = str(data_source.get("fingerprint") or "unknown")
        description = str(data_source.get("description") or data_source.get("kind"))
        sources.setdefault(fingerprint, []).append(
            f"{record.get('run_id')} ({description})"
        )
    if len(sources) < 2:
        return None
    groups = "; ".join(", ".join(runs) for runs in sources.values())
    return (
        f"These runs were trained on {len(sources)} different data sets, so "
        f"their scores are not directly comparable: {groups}."
    )


def learning_curve_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return long-format rows (run, epoch, seconds, metric, value) for charts.

    `seconds` is the training time since the run started, summed over epochs.
    """
    rows = []
    for record in records:
        history = record.get("history") or {}
        epoch_seconds = record.get("epoch_seconds") or []
        elapsed = 0.0
        cumulative = []
        for seconds in epoch_seconds:
            elapsed += seconds or 0.0
            cumulative.append(elapsed)
        for metric in CURVE_METRICS:
            for index, value in enumerate(history.get(metric) or []):
                rows.append(
                    {
                        "run": run_label(record),
                        "epoch": index + 1,
                        "seconds": cumulative[index]
                        if index < len(cumulative)
                        else None,
                        "metric": metric,
                        "value": value,
                    }
                )
    return rows


def records_to_csv(records: list[dict[str, Any]]) -> str:
    """Write one CSV row per run, one column per score and knob."""
    rows = [flatten_record(record) for record in records]
    columns: list[str] = []
    for row in rows:
        columns.extend(column for column in row if column not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def public_record(record: dict[str, Any]) -> dict[str, Any]:
    """Return a record without its owner, ready to leave the server."""
    return {key: value for key, value in record.items() if key != "owner"}
