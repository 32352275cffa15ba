"""The models folder: save and load Keras models with their metadata.

A saved model is one `.keras` file. Its metadata (config, scores, history,
data source, versions, time saved) travels inside the same zip archive as the
extra member METADATA_MEMBER, so a downloaded file carries it too; Keras's
loader ignores members it does not know. Saves are atomic: the archive is
written to a hidden temporary file and then hard-linked to its final name,
which fails if the name exists, so nothing is overwritten and no half-written
model is ever listed.

Folders under models_dir(): `sessions/<owner_tag(session id)>/` contains the
models one browser session saved or uploaded (private). `shared/` contains
the models sessions published, and `saved/` the command line's saves (both
listed as shared). The repository's `models/defaults/` contains the shipped
tutorial models (read-only).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

MODELS_ENV_VARIABLE = "MNIST_MODELS_DIR"
DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
METADATA_MEMBER = "mnist_explorer_metadata.json"
EPHEMERAL_ENV_VARIABLE = "MNIST_EPHEMERAL_STORAGE"
MAX_NAME_LENGTH = 64
# A hidden temporary file older than this belongs to a save that was killed.
STALE_TEMPORARY_SECONDS = 3600
SHIPPED_FOLDER = "defaults"
SAVED_FOLDER = "saved"
SHARED_FOLDER = "shared"
SESSIONS_FOLDER = "sessions"


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
    # "private" (this session's), "shared" or "shipped"
    visibility: str = "shared"


def models_dir() -> Path:
    """Return the models folder: MNIST_MODELS_DIR, or `models/` in the repository."""
    return Path(os.environ.get(MODELS_ENV_VARIABLE) or DEFAULT_MODELS_DIR)


def current_time() -> str:
    """Return the UTC time in ISO 8601, to the second."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def storage_is_ephemeral() -> bool:
    """Return True when MNIST_EPHEMERAL_STORAGE marks saved files as temporary.

    NOTE: Streamlit documents no variable that tells its Community Cloud
    apart, so deployments there set MNIST_EPHEMERAL_STORAGE=1 themselves.
    """
    value = os.environ.get(EPHEMERAL_ENV_VARIABLE, "").strip().lower()
    return value in ("1", "true", "yes", "on")


def owner_tag(owner: str) -> str:
    """Return a fixed-length hash of a browser session id.

    It names the session's folder and marks the models it publishes, so no
    session id (which could let someone take over a disconnected session)
    is written into a file name or a shared file. Raises ValueError for an
    empty id.
    """
    if not isinstance(owner, str) or not owner:
        raise ValueError(f"session id {owner!r} must be non-empty text")
    return hashlib.sha256(owner.encode()).hexdigest()[:32]


def session_dir(owner: str) -> Path:
    """Return the private models folder of the browser session `owner`."""
    # NOTE: nothing deletes the folders of sessions that ended; a server that
    # runs for months needs a cron job or a restart with a fresh folder.
    return models_dir() / SESSIONS_FOLDER / owner_tag(owner)


def shared_dir() -> Path:
    """Return the folder of models published to every session."""
    return models_dir() / SHARED_FOLDER


def sanitize_name(name: str) -> str:
    """Turn a user's model name into a safe file stem; raises ValueError if empty.

    Keeps letters, digits, '-', '_' and '.', turns anything else (path
    separators included) into '_', collapses runs of dots, strips leading
    dots and underscores so no name reads as '..' or a hidden file, and
    limits the length to MAX_NAME_LENGTH characters.
    """
    if not isinstance(name, str):
        raise ValueError(f"a model name must be text, got {type(name).__name__}")
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name.strip())
    cleaned = re.sub(r"\.{2,}", ".", cleaned)
    cleaned = cleaned.lstrip("._")[:MAX_NAME_LENGTH].rstrip(".")
    if not cleaned.strip("_"):
        raise ValueError(
            f"model name {name!r} has no letters or digits; use e.g. 'mlp-20-units'"
        )
    return cleaned


def _strip_optimizer(model):
    """Return an uncompiled copy of `model`, so the file contains no optimizer state."""
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
    metadata["saved_at"] = current_time()
    metadata["saved_with_keras"] = keras.__version__
    return metadata


def remove_stale_temporary_files(folder: Path) -> None:
    """Delete hidden temporary files that a killed save left over an hour ago."""
    cutoff = time.time() - STALE_TEMPORARY_SECONDS
    for path in folder.glob(".*.keras"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError as error:
            logger.warning("Could not remove stale file %s: %s", path, error)


def _place_new_file(folder: Path, stem: str, write: Callable[[Path], None]) -> Path:
    """Create `<folder>/<stem>.keras` by calling `write` on a hidden temporary file.

    The finished file is hard-linked to its final name, which fails if the
    name exists, so a half-written file is never listed and nothing is
    overwritten. Raises ModelExistsError or StorageError; either way no
    partial file is left behind.
    """
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temporary_files(folder)
    final_path = folder / f"{stem}.keras"
    if final_path.exists():
        raise ModelExistsError(
            f"a model named {stem!r} already exists; pick another name"
        )

    handle, temporary = tempfile.mkstemp(
        prefix=f".{stem}.", suffix=".keras", dir=folder
    )
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        write(temporary_path)
        with open(temporary_path, "rb") as written:
            # The data reach the disk before the name does.
            os.fsync(written.fileno())
        temporary_path.chmod(0o644)
        os.link(temporary_path, final_path)
    except FileExistsError as error:
        raise ModelExistsError(
            f"a model named {stem!r} was saved at the same moment; pick another name"
        ) from error
    except StorageError:
        raise
    except OSError as error:
        raise StorageError(
            f"could not save model {stem!r} in {folder}: {error}"
        ) from error
    finally:
        temporary_path.unlink(missing_ok=True)
    logger.info("Saved model %s", final_path)
    return final_path


def save_model(
    model, record: dict[str, Any], name: str, folder: Path | None = None
) -> Path:
    """Save `model` with `record` as `<folder>/<name>.keras` and return the path.

    Raises ModelExistsError if the name is taken and StorageError if the disk
    refuses the write; in both cases no partial file is left behind.
    """
    stem = sanitize_name(name)
    folder = Path(folder) if folder is not None else models_dir() / SAVED_FOLDER
    metadata = build_metadata(record, stem)

    def write(temporary_path: Path) -> None:
        _strip_optimizer(model).save(temporary_path)
        with zipfile.ZipFile(temporary_path, "a") as archive:
            archive.writestr(METADATA_MEMBER, json.dumps(metadata, indent=2))

    return _place_new_file(folder, stem, write)


def write_archive(source: Path, destination: Path, metadata: dict[str, Any]) -> None:
    """Copy the `.keras` archive `source` to `destination` with new metadata."""
    with (
        zipfile.ZipFile(source) as reader,
        zipfile.ZipFile(destination, "w") as writer,
    ):
        for info in reader.infolist():
            if info.filename == METADATA_MEMBER:
                continue
            with reader.open(info) as member, writer.open(info, "w") as copy:
                shutil.copyfileobj(member, copy)
        writer.writestr(METADATA_MEMBER, json.dumps(metadata, indent=2))


def save_archive(
    source: Path, name: str, folder: Path, metadata: dict[str, Any]
) -> Path:
    """Write the `.keras` archive `source` as `<folder>/<name>.keras` with `metadata`.

    Returns the new path. Raises ModelExistsError if the name is taken and
    StorageError if `source` is no zip archive or the copy cannot be written.
    """
    stem = sanitize_name(name)
    source = Path(source)
    metadata = dict(metadata, name=stem)

    def write(temporary_path: Path) -> None:
        try:
            write_archive(source, temporary_path, metadata)
        except zipfile.BadZipFile as error:
            raise StorageError(f"{source.name} is not a .keras archive") from error

    return _place_new_file(Path(folder), stem, write)


def copy_model(source: Path, name: str, folder: Path, **metadata_updates: Any) -> Path:
    """Copy a saved `.keras` file to `<folder>/<name>.keras`; return the new path.

    The copy keeps the stored metadata, with the new name and
    `metadata_updates`. Raises like save_archive.
    """
    metadata = read_metadata(Path(source))
    metadata.update(metadata_updates)
    return save_archive(source, name, folder, metadata)


def read_metadata(path: Path) -> dict[str, Any]:
    """Return the metadata stored inside a `.keras` file, or {} if it has none."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            if METADATA_MEMBER not in archive.namelist():
                return {}
            metadata = json.loads(archive.read(METADATA_MEMBER))
    except (OSError, zipfile.BadZipFile, json.JSONDecodeError, KeyError) as error:
        raise StorageError(
            f"{path.name}: cannot read its metadata ({error})"
        ) from error
    if not isinstance(metadata, dict):
        raise StorageError(f"{path.name}: its metadata is not a JSON object")
    return metadata


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


def _entry_for(path: Path, visibility: str) -> ModelEntry | None:
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
        read_only=visibility == "shipped",
        metadata=metadata,
        visibility=visibility,
    )


def list_models(folder: Path, visibility: str | None = None) -> list[ModelEntry]:
    """List the complete `.keras` files in `folder`, newest first.

    Hidden files (saves in progress) and files whose metadata cannot be read
    are left out. `visibility` defaults to "shipped" for the shipped folder
    and "shared" elsewhere.
    """
    if not folder.is_dir():
        return []
    if visibility is None:
        visibility = "shipped" if folder.name == SHIPPED_FOLDER else "shared"
    entries = []
    for path in folder.glob("*.keras"):
        if path.name.startswith("."):
            continue
        entry = _entry_for(path, visibility)
        if entry is not None:
            entries.append(entry)
    return sorted(entries, key=lambda entry: entry.saved_at, reverse=True)


def shipped_models() -> list[ModelEntry]:
    """List the trained tutorial models that ship in `models/defaults/`."""
    return list_models(DEFAULT_MODELS_DIR / SHIPPED_FOLDER)


def list_visible_models(owner: str) -> list[ModelEntry]:
    """List the models a browser session may pick: its own, shared, then shipped.

    Shared models are those published from any session and those the
    command line saved in saved/.
    """
    try:
        own = list_models(session_dir(owner), visibility="private")
    except ValueError:
        own = []
    shared = list_models(shared_dir()) + list_models(models_dir() / SAVED_FOLDER)
    shared.sort(key=lambda entry: entry.saved_at, reverse=True)
    return own + shared + shipped_models()
