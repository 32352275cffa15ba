"""The models folder: save and load Keras models with their metadata.

A saved model is one `.keras` file. Its metadata (config, scores, history,
data source, versions, time saved) travels inside the same zip archive as the
extra member METADATA_MEMBER, so a downloaded file carries it too; Keras's
loader ignores members it does not know. Saves are atomic: the archive is
written to a hidden temporary file and then hard-linked to its final name,
which fails if the name exists, so nothing is overwritten and no half-written
model is ever listed.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

MODELS_ENV_VARIABLE = "MNIST_MODELS_DIR"
DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
METADATA_MEMBER = "mnist_explorer_metadata.json"
MAX_NAME_LENGTH = 64
SHIPPED_FOLDER = "defaults"


class StorageError(OSError):
    """A model that cannot be saved or loaded, with the reason."""


class ModelExistsError(StorageError):
    """A save under a name that is already taken."""


@dataclass(frozen=True)
class ModelEntry:
    """A saved model as the pages list it."""

    name: str
    path: Path
    architecture: str
    test_accuracy: float | None
    saved_at: str
    read_only: bool
    metadata: dict[str, Any]


def models_dir() -> Path:
    """Return the models folder: MNIST_MODELS_DIR, or `models/` in the repository."""
    return Path(os.environ.get(MODELS_ENV_VARIABLE) or DEFAULT_MODELS_DIR)


def sanitize_name(name: str) -> str:
    """Turn a user's model name into a safe file stem; raises ValueError if empty.

    Keeps letters, digits, '-', '_' and '.', turns anything else (path
    separators included) into '_', strips leading dots so '..' cannot escape
    the folder, and limits the length to MAX_NAME_LENGTH characters.
    """
    if not isinstance(name, str):
        raise ValueError(f"a model name must be text, got {type(name).__name__}")
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name.strip())
    cleaned = cleaned.lstrip(".")[:MAX_NAME_LENGTH].rstrip(".")
    if not cleaned.strip("_"):
        raise ValueError(
            f"model name {name!r} has no letters or digits; use e.g. 'mlp-20-units'"
        )
    return cleaned


def _strip_optimizer(model):
    """Return an uncompiled copy of `model`, so the file holds no optimizer state."""
    # keras.models.clone_model keeps the compiled optimizer (Keras 3.15), and
    # its variables would double the file; from_config builds a bare copy.
    copy = model.__class__.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def _json_ready(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def build_metadata(record: dict[str, Any], name: str) -> dict[str, Any]:
    """Return the metadata stored with a model: its run record plus save details."""
    import keras

    metadata = dict(_json_ready(record))
    metadata["name"] = name
    metadata["saved_at"] = datetime.datetime.now(datetime.UTC).isoformat(
        timespec="seconds"
    )
    metadata["saved_with_keras"] = keras.__version__
    return metadata


def save_model(
    model, record: dict[str, Any], name: str, folder: Path | None = None
) -> Path:
    """Save `model` with `record` as `<folder>/<name>.keras` and return the path.

    Raises ModelExistsError if the name is taken and StorageError if the disk
    refuses the write; in both cases no partial file is left behind.
    """
    stem = sanitize_name(name)
    folder = Path(folder) if folder is not None else models_dir() / "saved"
    folder.mkdir(parents=True, exist_ok=True)
    final_path = folder / f"{stem}.keras"
    if final_path.exists():
        raise ModelExistsError(
            f"a model named {stem!r} already exists; pick another name"
        )

    metadata = build_metadata(record, stem)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{stem}.", suffix=".keras", dir=folder
    )
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        _strip_optimizer(model).save(temporary_path)
        with zipfile.ZipFile(temporary_path, "a") as archive:
            archive.writestr(METADATA_MEMBER, json.dumps(metadata, indent=2))
        temporary_path.chmod(0o644)
        os.link(temporary_path, final_path)
    except FileExistsError as error:
        raise ModelExistsError(
            f"a model named {stem!r} was saved at the same moment; pick another name"
        ) from error
    except OSError as error:
        raise StorageError(
            f"could not save model {stem!r} in {folder}: {error}"
        ) from error
    finally:
        temporary_path.unlink(missing_ok=True)
    logger.info("Saved model %s", final_path)
    return final_path


def read_metadata(path: Path) -> dict[str, Any]:
    """Return the metadata stored inside a `.keras` file, or {} if it has none."""
    try:
        with zipfile.ZipFile(path) as archive:
            if METADATA_MEMBER not in archive.namelist():
                return {}
            return json.loads(archive.read(METADATA_MEMBER))
    except (OSError, zipfile.BadZipFile, json.JSONDecodeError, KeyError) as error:
        raise StorageError(
            f"{path.name}: cannot read its metadata ({error})"
        ) from error


def load_model(path: Path):
    """Load a `.keras` file with safe mode on; return (model, metadata)."""
    import keras

    path = Path(path)
    metadata = read_metadata(path)
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a broken archive
        raise StorageError(f"{path.name}: Keras could not load it ({error})") from error
    return model, metadata


def _entry_for(path: Path, read_only: bool) -> ModelEntry | None:
    try:
        metadata = read_metadata(path)
    except StorageError as error:
        logger.warning("Skipping unreadable model %s: %s", path, error)
        return None
    return ModelEntry(
        name=path.stem,
        path=path,
        architecture=str(metadata.get("model", "unknown")),
        test_accuracy=metadata.get("test_accuracy"),
        saved_at=str(metadata.get("saved_at", "")),
        read_only=read_only,
        metadata=metadata,
    )


def list_models(folder: Path) -> list[ModelEntry]:
    """List the complete `.keras` files in `folder`, newest first."""
    if not folder.is_dir():
        return []
    read_only = folder.name == SHIPPED_FOLDER
    entries = []
    for path in folder.glob("*.keras"):
        if path.name.startswith("."):
            continue
        entry = _entry_for(path, read_only)
        if entry is not None:
            entries.append(entry)
    return sorted(entries, key=lambda entry: entry.saved_at, reverse=True)


def shipped_models() -> list[ModelEntry]:
    """List the trained tutorial models that ship in `models/defaults/`."""
    return list_models(DEFAULT_MODELS_DIR / SHIPPED_FOLDER)


def list_visible_models(owner: str) -> list[ModelEntry]:
    """List the models a browser session may pick: saved ones, then shipped ones."""
    return list_models(models_dir() / "saved") + shipped_models()
