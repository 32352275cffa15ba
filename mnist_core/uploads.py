"""Check an uploaded `.keras` file before Keras sees it, then load it safely.

An upload is untrusted. `check_archive` reads only the zip directory and two
small JSON members: it rejects files over MAX_UPLOAD_BYTES, data that are no
complete zip archive, members with unexpected names or paths outside the
archive, and members that would decompress to far more than they store (zip
bombs). `check_model_config` walks the model's config.json: only the layer
classes in LAYER_CLASSES and Keras's own initializers, regularizers,
constraints and activations may appear, so no Lambda layer and no object
registered with `keras.saving.register_keras_serializable` gets through,
although Keras's safe mode loads both. The config must describe an MNIST
input (28x28x1, 1x28x28 or 784) and 10 outputs. Only then does Keras load the
file, with safe_mode=True, and the loaded model's shapes are checked again.
"""

from __future__ import annotations

import io
import json
import logging
import re
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

from mnist_core import model_checks
from mnist_core.config import config_from_dict, config_to_dict, default_config
from mnist_core.models import input_shape_for
from mnist_core.storage import (
    METADATA_MEMBER,
    StorageError,
    current_time,
    sanitize_name,
    save_archive,
    session_dir,
)

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
# A member larger than this may expand at most MAX_COMPRESSION_RATIO times.
RATIO_CHECK_BYTES = 1024 * 1024
MAX_COMPRESSION_RATIO = 100
MAX_JSON_BYTES = 2 * 1024 * 1024
WEIGHTS_MEMBERS = ("model.weights.h5", "model.weights.npz")
ALLOWED_MEMBERS = ("config.json", "metadata.json", METADATA_MEMBER, *WEIGHTS_MEMBERS)
# Longest Keras error text an UploadError quotes.
MAX_REASON_CHARS = 300
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
# Metadata values the pages format as numbers.
NUMERIC_METADATA = ("test_accuracy", "test_loss", "median_epoch_seconds")


class UploadError(StorageError):
    """An uploaded model file that was rejected; the message gives the reason."""


def _check_member_names(archive: zipfile.ZipFile) -> None:
    names = [info.filename for info in archive.infolist()]
    for name in names:
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or ":" in name:
            raise UploadError(
                f"the archive member {name!r} points outside the archive; "
                "a .keras file never does"
            )
        if name not in ALLOWED_MEMBERS:
            raise UploadError(
                f"the archive contains an unexpected member {name!r}; a .keras "
                f"model of this app contains only {', '.join(ALLOWED_MEMBERS)}"
            )
    if len(set(names)) != len(names):
        raise UploadError("the archive lists a member twice")
    if "config.json" not in names:
        raise UploadError("the archive has no config.json, so it is no Keras model")
    if sum(name in WEIGHTS_MEMBERS for name in names) != 1:
        raise UploadError("the archive must hold exactly one weights file")


def _check_member_sizes(archive: zipfile.ZipFile) -> None:
    total = 0
    for info in archive.infolist():
        if info.flag_bits & 0x1:
            raise UploadError(f"the archive member {info.filename!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UploadError(
                f"the archive member {info.filename!r} uses an unsupported "
                "compression method"
            )
        expands_too_much = (
            info.file_size > RATIO_CHECK_BYTES
            and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1)
        )
        if expands_too_much:
            raise UploadError(
                f"the archive member {info.filename!r} would expand from "
                f"{info.compress_size:,} to {info.file_size:,} bytes; this "
                "looks like a zip bomb"
            )
        total += info.file_size
    if total > MAX_UNCOMPRESSED_BYTES:
        raise UploadError(
            f"the archive would expand to {total:,} bytes; the limit is "
            f"{MAX_UNCOMPRESSED_BYTES:,}"
        )


def _read_json_member(archive: zipfile.ZipFile, name: str) -> Any:
    if archive.getinfo(name).file_size > MAX_JSON_BYTES:
        raise UploadError(f"{name} is larger than {MAX_JSON_BYTES:,} bytes")
    try:
        return json.loads(archive.read(name))
    except (ValueError, RecursionError) as error:
        raise UploadError(f"{name} is not valid JSON ({error})") from error


def check_archive(data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check an upload's bytes without Keras; return (model config, metadata).

    Raises UploadError naming the first problem found.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(
            f"the file has {len(data):,} bytes; the limit is {MAX_UPLOAD_BYTES:,}"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_member_names(archive)
            _check_member_sizes(archive)
            broken_member = archive.testzip()
            if broken_member is not None:
                raise UploadError(f"the archive member {broken_member!r} is damaged")
            model_config = _read_json_member(archive, "config.json")
            metadata = {}
            if METADATA_MEMBER in archive.namelist():
                metadata = _read_json_member(archive, METADATA_MEMBER)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as error:
        if isinstance(error, UploadError):
            raise
        raise UploadError(
            "the file is not a complete .keras archive (a zip file); it may be "
            f"truncated or another format ({error})"
        ) from error
    if not isinstance(model_config, dict) or not isinstance(metadata, dict):
        raise UploadError("config.json and the metadata must be JSON objects")
    return model_config, metadata


def check_model_config(model_config: dict[str, Any]) -> None:
    """Raise UploadError unless config.json describes an allowed MNIST model."""
    try:
        model_checks.check_config(model_config)
    except model_checks.ModelCheckError as error:
        raise UploadError(f"config.json: {error}") from error


def check_loaded_model(model) -> str:
    """Check a loaded model's input and output; return "mlp" or "cnn"."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise UploadError("the model must have exactly one input and one output")
    input_shape = tuple(model.inputs[0].shape[1:])
    output_shape = tuple(model.outputs[0].shape[1:])
    if input_shape not in model_checks.MNIST_INPUT_SHAPES:
        raise UploadError(
            f"the model takes inputs of shape {input_shape}; MNIST models take "
            "(28, 28, 1), (1, 28, 28) or (784,)"
        )
    if output_shape != (model_checks.NUM_OUTPUTS,):
        raise UploadError(
            f"the model outputs shape {output_shape}; MNIST models output (10,)"
        )
    return "mlp" if input_shape == (784,) else "cnn"


def _clean_metadata(
    metadata: dict[str, Any], model, architecture: str
) -> dict[str, Any]:
    """Keep the uploaded metadata the pages can trust, checked against `model`."""
    cleaned = dict(metadata)
    input_shape = tuple(model.inputs[0].shape[1:])
    if "config" in metadata:
        try:
            config = config_from_dict(metadata["config"])
        except ValueError as error:
            raise UploadError(f"the metadata's config is invalid: {error}") from error
        if input_shape_for(config) != input_shape:
            raise UploadError(
                f"the metadata describes a {config.architecture} with input "
                f"{input_shape_for(config)}, but the model takes {input_shape}"
            )
    else:
        # A plain Keras file: the pages need a config for the input layout.
        config = default_config(architecture)
        if input_shape == (1, 28, 28):
            config = config_from_dict(
                dict(config_to_dict(config), data_format="channels_first")
            )
        cleaned["config"] = config_to_dict(config)
        cleaned["config_inferred"] = True
    cleaned["model"] = architecture
    cleaned["num_parameters"] = int(model.count_params())
    for key in NUMERIC_METADATA:
        value = cleaned.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            cleaned[key] = None
    if not isinstance(cleaned.get("history"), dict):
        cleaned["history"] = {}
    if not isinstance(cleaned.get("data_source"), dict):
        # The Models page reads the data source's description from a dict.
        cleaned.pop("data_source", None)
    return cleaned


def summarize_keras_error(error: Exception) -> str:
    """Return the innermost cause of a Keras load error on one line.

    Keras nests the error of each layer it deserializes in its parent's and
    dumps every config on the way, some kilobytes in all; the innermost
    "Exception encountered:" part names the actual cause. Terminal colour
    codes are removed and the result is cut to MAX_REASON_CHARS.
    """
    text = ANSI_ESCAPE.sub("", str(error))
    innermost = text.rsplit("Exception encountered:", 1)[-1]
    lines = []
    for line in innermost.splitlines():
        if line.startswith(("Arguments received", "config=")):
            break
        if line.strip():
            lines.append(line.strip())
    reason = " ".join(lines) or type(error).__name__
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - 1] + "…"
    return reason


def load_checked_file(path: Path) -> tuple[Any, dict[str, Any]]:
    """Check and load a model file from disk; return (model, trusted metadata).

    `path` must end in `.keras`. Raises UploadError if any check fails.
    """
    import keras

    model_config, metadata = check_archive(Path(path).read_bytes())
    check_model_config(model_config)
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a broken file
        reason = summarize_keras_error(error)
        raise UploadError(f"Keras could not load the model: {reason}") from error
    architecture = check_loaded_model(model)
    return model, _clean_metadata(metadata, model, architecture)


def load_upload(data: bytes) -> tuple[Any, dict[str, Any]]:
    """Check and load an uploaded file's bytes; return (model, metadata).

    Keras loads from a private temporary file with the `.keras` suffix,
    because it refuses other names. Raises UploadError if any check fails.
    """
    check_model_config(check_archive(data)[0])
    with tempfile.TemporaryDirectory(prefix="mnist-upload-") as folder:
        path = Path(folder) / "upload.keras"
        path.write_bytes(data)
        return load_checked_file(path)


def store_upload(data: bytes, filename: str, owner: str) -> Path:
    """Check an upload and keep it in the session's folder; return its path.

    The model is named after `filename`. Raises UploadError if a check fails
    and ModelExistsError if the session already has a model of that name.
    """
    check_model_config(check_archive(data)[0])
    with tempfile.TemporaryDirectory(prefix="mnist-upload-") as folder:
        path = Path(folder) / "upload.keras"
        path.write_bytes(data)
        _, metadata = load_checked_file(path)
        metadata["uploaded_at"] = current_time()
        metadata["uploaded_as"] = Path(filename).name[:200]
        name = Path(filename).stem
        try:
            sanitize_name(name)
        except ValueError:
            name = "uploaded-model"
        stored = save_archive(path, name, session_dir(owner), metadata)
    logger.info("Stored an uploaded model as %s", stored)
    return stored
