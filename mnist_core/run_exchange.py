"""Export run records as a JSON file and import such a file back, checked.

The file is {"format": EXPORT_FORMAT, "version": 1, "runs": [record, ...]};
a bare list of records is accepted too. An import is untrusted: each record
must have a valid run_id, architecture and config, a history of numbers and
scores of the right types, or the whole file is rejected with a message that
names the run and the field.
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
    "num_parameters": (0, math.inf),
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
    data_source = record.get("data_source", {})
    if not isinstance(data_source, dict):
        raise RunImportError(f"{where}: data_source must be an object")
    return record


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
