"""Server limits: how many trainings run at once, and a teacher's class limits.

A teacher sets class limits with environment variables (or the same keys in a
TOML file named by MNIST_LIMITS_FILE):

    MNIST_MAX_EPOCHS               most epochs per run
    MNIST_MAX_TRAIN_IMAGES         most training images per run
    MNIST_MAX_QUEUED_PER_SESSION   most runs one browser session may queue
    MNIST_MAX_RUN_SECONDS          a run is stopped after this many seconds
    MNIST_MAX_CONCURRENT_TRAININGS trainings at once (default: from CPU and memory)
"""

from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from mnist_core import hardware

logger = logging.getLogger(__name__)

LIMITS_FILE_VARIABLE = "MNIST_LIMITS_FILE"
# Memory set aside for the app process itself and for one training process
# (TensorFlow alone takes about 0.6 GB; a full-data CNN run adds up to 0.4 GB).
APP_MEMORY_BYTES = 700 * 1024**2
TRAINING_MEMORY_BYTES = 1100 * 1024**2
DEFAULT_MAX_QUEUED_PER_SESSION = 12


class LimitError(ValueError):
    """A run that exceeds a limit the server sets."""


@dataclass(frozen=True)
class ServerLimits:
    """Limits that apply to every run on this server; None means no limit."""

    max_epochs: int | None = None
    max_train_images: int | None = None
    max_queued_per_session: int = DEFAULT_MAX_QUEUED_PER_SESSION
    max_run_seconds: float | None = None
    max_concurrent_trainings: int = 1
    threads_per_training: int = 1

    def check(self, config) -> None:
        """Raise LimitError if `config` requests more than the server allows."""
        if self.max_epochs is not None and config.epochs > self.max_epochs:
            raise LimitError(
                f"epochs is {config.epochs}, but this server allows at most "
                f"{self.max_epochs} per run; lower epochs"
            )
        if self.max_train_images is not None:
            requested = config.train_limit
            if requested is None or requested > self.max_train_images:
                shown = "all" if requested is None else f"{requested:,}"
                raise LimitError(
                    f"training-set size is {shown}, but this server allows at most "
                    f"{self.max_train_images:,} images per run; lower it"
                )


def default_concurrency(cpus: float, memory_bytes: int) -> int:
    """Return how many trainings may run at once with `cpus` and `memory_bytes`.

    Parallel runs on few cores only share them and distort every seconds-per-
    epoch figure, so each training gets at least two CPUs where possible.
    """
    by_cpu = max(1, int(cpus // 2))
    by_memory = max(1, (memory_bytes - APP_MEMORY_BYTES) // TRAINING_MEMORY_BYTES)
    return int(min(by_cpu, by_memory))


def _read_file_settings() -> dict[str, object]:
    path = os.environ.get(LIMITS_FILE_VARIABLE)
    if not path:
        return {}
    try:
        with Path(path).open("rb") as handle:
            return {key.upper(): value for key, value in tomllib.load(handle).items()}
    except (OSError, tomllib.TOMLDecodeError) as error:
        logger.warning("Ignoring limits file %s: %s", path, error)
        return {}


def _setting(name: str, file_settings: dict[str, object]) -> int | None:
    raw = os.environ.get(name, file_settings.get(name))
    if raw in (None, ""):
        return None
    try:
        value = int(float(str(raw)))
    except ValueError:
        logger.warning("Ignoring %s=%r: not a number", name, raw)
        return None
    if value <= 0:
        logger.warning("Ignoring %s=%r: must be positive", name, raw)
        return None
    return value


def load_limits() -> ServerLimits:
    """Read the limits from the environment, the limits file and the hardware."""
    file_settings = _read_file_settings()
    cpus = hardware.cpu_quota()
    memory = hardware.memory_limit_bytes()
    concurrency = _setting("MNIST_MAX_CONCURRENT_TRAININGS", file_settings)
    if concurrency is None:
        concurrency = default_concurrency(cpus, memory)
    queued = _setting("MNIST_MAX_QUEUED_PER_SESSION", file_settings)
    run_seconds = _setting("MNIST_MAX_RUN_SECONDS", file_settings)
    return ServerLimits(
        max_epochs=_setting("MNIST_MAX_EPOCHS", file_settings),
        max_train_images=_setting("MNIST_MAX_TRAIN_IMAGES", file_settings),
        max_queued_per_session=queued or DEFAULT_MAX_QUEUED_PER_SESSION,
        max_run_seconds=float(run_seconds) if run_seconds else None,
        max_concurrent_trainings=concurrency,
        threads_per_training=max(1, int(cpus // concurrency)),
    )
