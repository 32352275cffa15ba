"""A browser session's models: keep, publish, rename and delete them.

Each session has a private folder (storage.session_dir); publishing copies a
model to the shared folder and records a hash of the publishing session
(storage.owner_tag), so that session alone may later rename or delete the
shared copy. Every change
goes through storage.copy_model, which never overwrites a file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mnist_core.storage import (
    ModelExistsError,
    StorageError,
    copy_model,
    current_time,
    owner_tag,
    read_metadata,
    sanitize_name,
    session_dir,
    shared_dir,
)

logger = logging.getLogger(__name__)


def save_to_session(source: Path, name: str, owner: str) -> Path:
    """Keep a trained model (a job's `.keras` file) in the session's folder."""
    return copy_model(source, name, session_dir(owner), saved_at=current_time())


def saved_copy(source: Path, name: str, owner: str) -> Path | None:
    """Return the session's model called `name` if it contains `source`'s run.

    It separates a second save of the same run from a clash with another
    model's name. Runs match by their run_id.
    """
    candidate = session_dir(owner) / f"{sanitize_name(name)}.keras"
    if not candidate.exists():
        return None
    run_id = read_metadata(source).get("run_id")
    if run_id and read_metadata(candidate).get("run_id") == run_id:
        return candidate
    return None


def keep_run(source: Path, name: str, owner: str) -> tuple[Path, bool]:
    """Save a trained model in the session's folder once; return (path, is_new).

    Saving the same run under the same name again returns the earlier copy
    with is_new False, where save_to_session would raise ModelExistsError.
    """
    try:
        return save_to_session(source, name, owner), True
    except ModelExistsError:
        earlier = saved_copy(source, name, owner)
        if earlier is None:
            raise
        return earlier, False


def publish_model(path: Path, owner: str, name: str | None = None) -> Path:
    """Copy one of the session's models to the shared folder; return the copy.

    Raises StorageError unless `path` is in the session's own folder, and
    ModelExistsError if a shared model already has the name.
    """
    path = Path(path)
    if path.resolve().parent != session_dir(owner).resolve():
        raise StorageError(
            f"{path.stem}: only models saved or uploaded in this session "
            "can be published"
        )
    return copy_model(
        path,
        name or path.stem,
        shared_dir(),
        published_by=owner_tag(owner),
        published_at=current_time(),
    )


def can_modify(path: Path, owner: str) -> bool:
    """Return True if `owner` may rename or delete the model at `path`.

    A session may change the models in its own folder and the shared models
    it published; saved/ (the command line's) and the shipped models are
    read-only from the app.
    """
    path = Path(path).resolve()
    if path.suffix != ".keras" or path.name.startswith("."):
        return False
    if path.parent == session_dir(owner).resolve():
        return True
    if path.parent == shared_dir().resolve():
        try:
            publisher = read_metadata(path).get("published_by")
        except StorageError:
            return False
        return publisher == owner_tag(owner)
    return False


def _check_modifiable(path: Path, owner: str) -> None:
    if not can_modify(path, owner):
        raise StorageError(
            f"{Path(path).stem} is read-only here: only models this session "
            "saved, uploaded or published can be renamed or deleted"
        )


def rename_model(path: Path, new_name: str, owner: str) -> Path:
    """Rename one of the session's models without overwriting; return the new path.

    Raises ModelExistsError if the new name is taken and StorageError if the
    model is read-only for `owner`.
    """
    path = Path(path)
    _check_modifiable(path, owner)
    new_path = copy_model(path, new_name, path.parent)
    path.unlink(missing_ok=True)
    logger.info("Renamed model %s to %s", path, new_path)
    return new_path


def delete_model(path: Path, owner: str) -> None:
    """Delete one of the session's models; raises StorageError if read-only."""
    path = Path(path)
    _check_modifiable(path, owner)
    try:
        path.unlink()
    except OSError as error:
        raise StorageError(f"could not delete {path.stem}: {error}") from error
    logger.info("Deleted model %s", path)
