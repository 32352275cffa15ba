"""Export run records as a JSON file and import such a file back, checked.

The file is {"format": EXPORT_FORMAT, "version": 1, "runs": [record, ...]};
a bare list of records is accepted too. An import is untrusted. Each record
must have a valid run_id, architecture and config and a history of numbers,
and each other run record field must have its type. Otherwise the whole file
is rejected with a message that names the run and the field. An import drops
fields that run records do not have.
"""

from __future__ import annotations

import json
import math
from typing import Any

from mnist_core.config import MAX_EPOCHS, config_from_dict
from mnist_core.runs import (
    check_run_id,
    list_run_records,
    public_record,
    save_run_record,
    strict_json,
)
from mnist_core.storage import current_time

EXPORT_FORMAT = "mnist-explorer-runs"
EXPORT_VERSION = 1
MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_IMPORT_RUNS = 1000
# Fields that must be a number (or null), with their allowed range.
NUMBER_FIELDS = {
    "test_accuracy": (0.0, 1.0),
    "test_loss": (0.0, math.inf),
    "median_epoch_seconds": (0.0, math.inf),
    "training_seconds": (0.0, math.inf),
    "total_seconds": (0.0, math.inf),
    "num_parameters": (0, math.inf),
    "macs": (0, math.inf),
    "seed": (0, math.inf),
    "epochs_completed": (0, MAX_EPOCHS),
    "steps_per_execution": (1, math.inf),
    "threads": (0, math.inf),
    "concurrent_trainings": (0, math.inf),
}
# Fields that must be text (or null), and the longest text accepted.
TEXT_FIELDS = (
    "precision",
    "validation",
    "stop_reason",
    "started_at",
    "recorded_at",
    "imported_at",
)
MAX_TEXT_LENGTH = 1000
# Fields that contain an object of text and numbers, or a list of text.
OBJECT_FIELDS = ("data_source", "image_operation", "versions")
LIST_OF_TEXT_FIELDS = ("devices",)
# Every field a run record may have. An import drops the others.
RECORD_FIELDS = {
    "run_id",
    "model",
    "config",
    "history",
    "epoch_seconds",
    "stopped_early",
    "architecture_summary",
    *NUMBER_FIELDS,
    *TEXT_FIELDS,
    *OBJECT_FIELDS,
    *LIST_OF_TEXT_FIELDS,
}


class RunImportError(ValueError):
    """A run file that cannot be imported; the message names the problem."""


def records_to_json(records: list[dict[str, Any]]) -> str:
    """Return the export file for `records`, without their owners."""
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": current_time(),
        "runs": [strict_json(public_record(record)) for record in records],
    }
    return json.dumps(document, indent=1, allow_nan=False)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_history(where: str, history: Any) -> None:
    if not isinstance(history, dict):
        raise RunImportError(f"{where}: history must be an object of lists")
    for metric, values in history.items():
        if not isinstance(values, list) or len(values) > MAX_EPOCHS:
            raise RunImportError(
                f"{where}: history.{metric} must be a list of at most "
                f"{MAX_EPOCHS} values"
            )
        if not all(value is None or _is_number(value) for value in values):
            raise RunImportError(
                f"{where}: history.{metric} contains a value that is not a number"
            )


def _check_numbers(where: str, record: dict[str, Any]) -> None:
    for field, (low, high) in NUMBER_FIELDS.items():
        value = record.get(field)
        if value is None:
            continue
        if not _is_number(value) or not low <= value <= high:
            raise RunImportError(
                f"{where}: {field} must be a number from {low} to {high}, got {value!r}"
            )
    epoch_seconds = record.get("epoch_seconds", [])
    if not isinstance(epoch_seconds, list) or not all(
        value is None or _is_number(value) for value in epoch_seconds
    ):
        raise RunImportError(f"{where}: epoch_seconds must be a list of numbers")


def _is_short_text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TEXT_LENGTH


def _is_plain_value(value: Any) -> bool:
    return value is None or _is_number(value) or _is_short_text(value)


def _check_text_and_objects(where: str, record: dict[str, Any]) -> None:
    for field in TEXT_FIELDS:
        value = record.get(field)
        if value is not None and not _is_short_text(value):
            raise RunImportError(
                f"{where}: {field} must be text of at most {MAX_TEXT_LENGTH} "
                f"characters, got {str(value)[:40]!r}"
            )
    for field in OBJECT_FIELDS:
        value = record.get(field, {})
        if not isinstance(value, dict) or not all(
            _is_plain_value(item) for item in value.values()
        ):
            raise RunImportError(
                f"{where}: {field} must be an object of text and numbers"
            )
    for field in LIST_OF_TEXT_FIELDS:
        value = record.get(field, [])
        if not isinstance(value, list) or not all(map(_is_short_text, value)):
            raise RunImportError(f"{where}: {field} must be a list of text")
    if not isinstance(record.get("stopped_early", False), bool):
        raise RunImportError(f"{where}: stopped_early must be true or false")


def _is_layer_row(row: Any) -> bool:
    if not isinstance(row, dict):
        return False
    for field, value in row.items():
        if field == "output_shape":
            if not isinstance(value, list) or not all(map(_is_plain_value, value)):
                return False
        elif not _is_plain_value(value):
            return False
    return True


def _check_architecture_summary(where: str, rows: Any) -> None:
    if not isinstance(rows, list) or not all(map(_is_layer_row, rows)):
        raise RunImportError(
            f"{where}: architecture_summary must be a list of layer rows"
        )


def check_record(record: Any, index: int) -> dict[str, Any]:
    """Return `record` if it is a valid run record, else raise RunImportError."""
    where = f"run {index + 1}"
    if not isinstance(record, dict):
        raise RunImportError(f"{where} is not a JSON object")
    try:
        check_run_id(record.get("run_id"))
        config = config_from_dict(record.get("config"))
    except ValueError as error:
        raise RunImportError(f"{where}: {error}") from error
    if record.get("model") != config.architecture:
        raise RunImportError(
            f"{where}: model is {record.get('model')!r} but its config is "
            f"a {config.architecture}"
        )
    _check_history(where, record.get("history", {}))
    _check_numbers(where, record)
    _check_text_and_objects(where, record)
    _check_architecture_summary(where, record.get("architecture_summary", []))
    return {field: value for field, value in record.items() if field in RECORD_FIELDS}


def records_from_json(data: bytes | str) -> list[dict[str, Any]]:
    """Parse and check an exported run file; raises RunImportError."""
    if len(data) > MAX_IMPORT_BYTES:
        raise RunImportError(
            f"the file has {len(data):,} bytes; the limit is {MAX_IMPORT_BYTES:,}"
        )
    try:
        # NaN and Infinity are not JSON, but Python's json writes them: read
        # them as null.
        document = json.loads(data, parse_constant=lambda constant: None)
    except (ValueError, RecursionError) as error:
        raise RunImportError(f"the file is not valid JSON ({error})") from error
    if isinstance(document, dict):
        if document.get("format") != EXPORT_FORMAT:
            raise RunImportError(
                f"the file's format is {document.get('format')!r}; expected "
                f"{EXPORT_FORMAT!r}, as the Runs page exports it"
            )
        document = document.get("runs")
    if not isinstance(document, list) or not document:
        raise RunImportError("the file contains no list of runs")
    if len(document) > MAX_IMPORT_RUNS:
        raise RunImportError(
            f"the file contains {len(document)} runs; at most {MAX_IMPORT_RUNS} "
            "can be imported at once"
        )
    return [
        strict_json(check_record(record, index))
        for index, record in enumerate(document)
    ]


def import_run_records(records: list[dict[str, Any]], owner: str) -> tuple[int, int]:
    """Save checked records for `owner`; return (imported, already present).

    A run whose run_id is already stored is left as it is.
    """
    present = {record.get("run_id") for record in list_run_records()}
    imported = 0
    for record in records:
        if record["run_id"] in present:
            continue
        imported_record = dict(record, imported_at=current_time())
        # A new recorded_at lists the import after the runs already stored.
        imported_record.pop("recorded_at", None)
        save_run_record(imported_record, owner)
        present.add(record["run_id"])
        imported += 1
    return imported, len(records) - imported
