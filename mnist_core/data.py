"""MNIST sources (a server-named file, the Keras download, the bundled sample).

Sources are tried in that order. The file comes from the MNIST_DATA
environment variable (or the --data flag of the command line), never from a
page, so visitors cannot probe the server's files. The Keras download is
reached only after a short network check, because Keras's own download has no
timeout. The bundled sample makes the app work with no network at all.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import logging
import math
import os
import socket
import threading
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_core.config import IMAGE_SIZE, NUM_CLASSES

logger = logging.getLogger(__name__)

DATA_ENV_VARIABLE = "MNIST_DATA"
SAMPLE_PATH = Path(__file__).parent / "sample" / "mnist_sample.npz"
# Host and port of the URL keras.datasets.mnist.load_data() downloads from.
KERAS_DOWNLOAD_HOST = ("storage.googleapis.com", 443)
NETWORK_CHECK_SECONDS = 2.0
DOWNLOAD_TIMEOUT_SECONDS = 120.0
MAX_DATA_FILE_BYTES = 500 * 1024 * 1024
IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
# Errors np.load raises for a file that is not an .npz archive or is damaged.
# A truncated zip raises BadZipFile and a damaged member raises zlib.error.
# numpy allocates the shape a member's header declares before reading its
# data, so a header with a huge shape raises MemoryError, or OverflowError
# past 2**63 elements.
_ARCHIVE_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    zipfile.BadZipFile,
    zlib.error,
    MemoryError,
    OverflowError,
)
MNIST_SOURCE_NOTE = (
    "MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, "
    "licensed CC BY-SA 3.0"
)


class DataError(ValueError):
    """A data file that is missing, unreadable or not MNIST-shaped."""


@dataclass(frozen=True)
class DataSource:
    """The origin of a data set: kind is "file", "keras" or "sample"."""

    kind: str
    path: str
    description: str


@dataclass(frozen=True)
class Dataset:
    """MNIST as uint8 images (num_samples, 28, 28) and uint8 labels 0..9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: DataSource
    fingerprint: str  # sha256 prefix of the arrays, to tell data sets apart

    @property
    def num_train(self) -> int:
        return len(self.x_train)

    @property
    def num_test(self) -> int:
        return len(self.x_test)


def keras_cache_path() -> Path:
    """Return where keras.datasets.mnist.load_data() keeps its download."""
    keras_home = os.environ.get("KERAS_HOME")
    if keras_home:
        return Path(keras_home) / "datasets" / "mnist.npz"
    return Path.home() / ".keras" / "datasets" / "mnist.npz"


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read(MAX_DATA_FILE_BYTES + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: cannot read IDX file ({error})") from error
    if len(raw) < 8 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes")
    num_dims = raw[3]
    header_end = 4 + 4 * num_dims
    shape = tuple(
        int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(num_dims)
    )
    # math.prod is exact; np.prod would wrap around past 2**63 elements.
    expected = math.prod(shape) if shape else 0
    if len(raw) - header_end != expected:
        raise DataError(
            f"{path}: header says shape {shape} but the file holds "
            f"{len(raw) - header_end} values"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_end).reshape(shape)


def _find_idx(folder: Path, stem: str) -> Path:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    raise DataError(f"{folder}: missing {stem} (or {stem}.gz)")


def _check_expanded_size(archive: np.lib.npyio.NpzFile, path: Path) -> None:
    """Raise DataError if the archive's members expand past MAX_DATA_FILE_BYTES."""
    expanded = sum(info.file_size for info in archive.zip.infolist())
    if expanded > MAX_DATA_FILE_BYTES:
        raise DataError(
            f"{path}: its arrays expand to {expanded:,} bytes; the limit is "
            f"{MAX_DATA_FILE_BYTES:,}"
        )


def _load_arrays_from_path(path: Path) -> dict[str, np.ndarray]:
    if path.is_dir():
        return {
            key: _read_idx(_find_idx(path, stem)) for key, stem in IDX_NAMES.items()
        }
    if not path.is_file():
        raise DataError(f"{path}: no such file or folder")
    if path.stat().st_size > MAX_DATA_FILE_BYTES:
        raise DataError(f"{path}: larger than {MAX_DATA_FILE_BYTES} bytes")
    try:
        archive = np.load(path, allow_pickle=False)
    except _ARCHIVE_ERRORS as error:
        raise DataError(f"{path}: not a readable .npz archive ({error})") from error
    # np.load returns a bare array for a .npy file, which names no arrays.
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(
            f"{path}: contains a single array, not an .npz archive of "
            f"{', '.join(IDX_NAMES)}"
        )
    try:
        with archive:
            missing = [key for key in IDX_NAMES if key not in archive.files]
            if missing:
                raise DataError(f"{path}: missing arrays {', '.join(missing)}")
            _check_expanded_size(archive, path)
            return {key: archive[key] for key in IDX_NAMES}
    except _ARCHIVE_ERRORS as error:
        if isinstance(error, DataError):
            raise
        raise DataError(f"{path}: not a readable .npz archive ({error})") from error


def validate_arrays(arrays: dict[str, np.ndarray], origin: str) -> None:
    """Raise DataError naming `origin` unless the arrays are MNIST-shaped."""
    for split in ("train", "test"):
        images = arrays[f"x_{split}"]
        labels = arrays[f"y_{split}"]
        if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise DataError(
                f"{origin}: x_{split} has shape {images.shape}; "
                f"expected (num_samples, {IMAGE_SIZE}, {IMAGE_SIZE})"
            )
        if images.dtype != np.uint8:
            raise DataError(
                f"{origin}: x_{split} has dtype {images.dtype}; expected uint8"
            )
        if labels.shape != (len(images),):
            raise DataError(
                f"{origin}: y_{split} has shape {labels.shape}; expected "
                f"({len(images)},) to match x_{split}"
            )
        if len(images) == 0:
            raise DataError(f"{origin}: x_{split} holds no images")
        if not np.issubdtype(labels.dtype, np.integer):
            raise DataError(
                f"{origin}: y_{split} has dtype {labels.dtype}; expected integers"
            )
        if labels.min() < 0 or labels.max() >= NUM_CLASSES:
            raise DataError(
                f"{origin}: y_{split} has labels from {labels.min()} to "
                f"{labels.max()}; expected 0 to {NUM_CLASSES - 1}"
            )


def fingerprint_arrays(arrays: dict[str, np.ndarray]) -> str:
    """Return a short sha256 of the four arrays, to tell data sets apart."""
    digest = hashlib.sha256()
    for key in IDX_NAMES:
        digest.update(np.ascontiguousarray(arrays[key]).tobytes())
    return digest.hexdigest()[:16]


def load_from_path(
    path: str | os.PathLike, source: DataSource | None = None
) -> Dataset:
    """Load and check a Keras-layout .npz or a folder of IDX files."""
    path = Path(path)
    arrays = _load_arrays_from_path(path)
    validate_arrays(arrays, str(path))
    arrays = {key: np.ascontiguousarray(value) for key, value in arrays.items()}
    arrays["y_train"] = arrays["y_train"].astype(np.uint8)
    arrays["y_test"] = arrays["y_test"].astype(np.uint8)
    for array in arrays.values():
        array.setflags(write=False)
    if source is None:
        source = DataSource("file", str(path), f"file {path}")
    return Dataset(**arrays, source=source, fingerprint=fingerprint_arrays(arrays))


def network_reachable(
    address: tuple[str, int] = KERAS_DOWNLOAD_HOST,
    timeout: float = NETWORK_CHECK_SECONDS,
) -> bool:
    """Return True if a TCP connection to `address` opens within `timeout` s."""
    try:
        with socket.create_connection(address, timeout=timeout):
            return True
    except OSError:
        return False


def _download_with_keras(timeout: float) -> Path:
    """Run keras.datasets.mnist.load_data() with a deadline; return the cache path."""
    errors: list[BaseException] = []

    def download() -> None:
        try:
            import keras

            keras.datasets.mnist.load_data()
        except Exception as error:  # reported to the caller below
            errors.append(error)

    thread = threading.Thread(target=download, name="mnist-download", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(
            f"the Keras MNIST download did not finish in {timeout:.0f} s"
        )
    if errors:
        raise errors[0]
    return keras_cache_path()


def resolve_source(
    data_path: str | None = None, allow_download: bool = True
) -> DataSource:
    """Pick the first available source; raises DataError for a bad named file.

    Order: `data_path` (or MNIST_DATA), the Keras cache or download, the sample.
    """
    named = data_path or os.environ.get(DATA_ENV_VARIABLE)
    if named:
        path = Path(named).expanduser()
        if not path.exists():
            raise DataError(
                f"{path}: no such file or folder (named by {DATA_ENV_VARIABLE} "
                "or --data); unset it to use the Keras download or the sample"
            )
        return DataSource("file", str(path), f"file {path}")

    cache = keras_cache_path()
    if cache.is_file():
        return DataSource("keras", str(cache), "Keras's MNIST download")
    if allow_download:
        reason = _try_keras_download()
        if reason is None:
            return DataSource("keras", str(cache), "Keras's MNIST download")
        logger.warning("Using the bundled sample: %s", reason)
    return DataSource(
        "sample",
        str(SAMPLE_PATH),
        "the bundled sample of MNIST (no network and no MNIST_DATA file)",
    )


def _try_keras_download() -> str | None:
    """Return None after a successful download, else why it was skipped."""
    if not network_reachable():
        return (
            f"{KERAS_DOWNLOAD_HOST[0]} did not answer within "
            f"{NETWORK_CHECK_SECONDS:.0f} s"
        )
    try:
        _download_with_keras(DOWNLOAD_TIMEOUT_SECONDS)
    except Exception as error:  # any download failure falls over to the sample
        return f"the Keras download failed: {error}"
    if not keras_cache_path().is_file():
        return "the Keras download left no file"
    return None


def describe_source_quickly() -> DataSource:
    """Return the source in use without network access or TensorFlow."""
    return resolve_source(allow_download=False)


_cache: dict[tuple[str, str], Dataset] = {}
_cache_lock = threading.Lock()


def load_dataset(source: DataSource) -> Dataset:
    """Load `source` once per process and return the shared, read-only arrays."""
    key = (source.kind, source.path)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = load_from_path(source.path, source)
            logger.info(
                "Loaded %s: %d training and %d test images",
                source.description,
                _cache[key].num_train,
                _cache[key].num_test,
            )
        # The arrays are shared, but the caller's description of the source is kept.
        return dataclasses.replace(_cache[key], source=source)


def load_default_dataset(data_path: str | None = None) -> Dataset:
    """Resolve the source and load it; raises DataError for a broken file."""
    source = resolve_source(data_path)
    return load_dataset(source)


def indices_by_class(labels: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """Return (10, per_class) indices of random images of each digit, seeded.

    A class with fewer than `per_class` images repeats some of them.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for digit in range(NUM_CLASSES):
        members = np.flatnonzero(labels == digit)
        if len(members) == 0:
            raise DataError(f"the data set has no images of the digit {digit}")
        replace = len(members) < per_class
        rows.append(rng.choice(members, size=per_class, replace=replace))
    return np.stack(rows)


def tile_images(images: np.ndarray, columns: int, gap: int = 2) -> np.ndarray:
    """Arrange (num_images, 28, 28) uint8 images in a grid image with grey gaps."""
    num_images, height, width = images.shape
    rows = -(-num_images // columns)
    grid = np.full(
        (rows * (height + gap) - gap, columns * (width + gap) - gap), 96, np.uint8
    )
    for position, image in enumerate(images):
        row, column = divmod(position, columns)
        top = row * (height + gap)
        left = column * (width + gap)
        grid[top : top + height, left : left + width] = image
    return grid
