"""What the app may use: CPU quota, memory limit, bf16 support, devices.

Limits come from the container's cgroup files where they exist (cgroup v2
`cpu.max` and `memory.max`, or cgroup v1's quota files), not from the host's
totals, which a container on Streamlit Community Cloud does not get.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

from mnist_core.architecture import count_macs

logger = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
# CPU flags that mean bfloat16 matrix work runs fast (Intel AMX, AVX-512 BF16).
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
# Batches of at most this many forward multiply-adds are grouped
# GROUPED_STEPS_PER_EXECUTION to a Python round trip. The tutorial's MLP has
# 86 million per batch of 128 and its CNN 1,535 million. Measured by
# alternating epochs of each setting in one process on 2 AMD EPYC cores (AVX2,
# no bf16) with TensorFlow 2.21 and Keras 3.15: grouping 4 batches cut the
# MLP's CPU seconds per epoch by 12 to 14% (8 batches: about 17%) and
# changed the CNN's by 2% or less. docs/performance.md has the figures.
SMALL_BATCH_MACS = 200_000_000
# Four batches keep a stop request within four batches of the press.
GROUPED_STEPS_PER_EXECUTION = 4
# The largest batch of the validation pass and the test predictions when
# training groups batches. A forward pass keeps no gradients, so a larger
# batch costs little memory and saves round trips. Measured with the
# tutorial's MLP on 2 AMD EPYC cores with avx512_bf16: validation batches of
# 500 images made an epoch 6 to 7% faster than batches of 128, with the same
# accuracy.
GROUPED_EVALUATION_BATCH_LIMIT = 512


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def cpu_quota(cgroup_root: Path = CGROUP_ROOT) -> float:
    """Return the CPUs this process may use: the cgroup quota or the CPU count."""
    available = float(len(os.sched_getaffinity(0)))
    quota = None
    cpu_max = _read_text(cgroup_root / "cpu.max")
    if cpu_max:
        limit, _, period = cpu_max.partition(" ")
        if limit != "max" and period:
            quota = int(limit) / int(period)
    else:
        limit_v1 = _read_text(cgroup_root / "cpu" / "cpu.cfs_quota_us")
        period_v1 = _read_text(cgroup_root / "cpu" / "cpu.cfs_period_us")
        if limit_v1 and period_v1 and int(limit_v1) > 0:
            quota = int(limit_v1) / int(period_v1)
    if quota is None:
        return available
    return max(1.0, min(available, quota))


def memory_limit_bytes(cgroup_root: Path = CGROUP_ROOT) -> int:
    """Return the memory this process may use: the cgroup limit or physical RAM."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for relative in ("memory.max", "memory/memory.limit_in_bytes"):
        text = _read_text(cgroup_root / relative)
        if text and text != "max" and text.isdigit():
            return min(physical, int(text))
    return physical


@functools.cache
def cpu_has_fast_bf16() -> bool:
    """Return True if the CPU advertises bf16 matrix instructions."""
    cpuinfo = _read_text(Path("/proc/cpuinfo")) or ""
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
            break
    return any(flag in flags for flag in BF16_CPU_FLAGS)


def gpu_names() -> list[str]:
    """Return TensorFlow's visible GPUs (imports TensorFlow)."""
    import tensorflow as tf

    return [device.name for device in tf.config.list_physical_devices("GPU")]


@functools.cache
def gpu_has_fast_bf16() -> bool:
    """Return True if a visible GPU has compute capability 8.0 or newer."""
    import tensorflow as tf

    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        capability = details.get("compute_capability") or (0, 0)
        if tuple(capability) >= (8, 0):
            return True
    return False


def resolve_precision(requested: str) -> str:
    """Turn "auto" into "mixed_bfloat16" where bf16 is fast, else "float32".

    On CPUs without bf16 instructions mixed_bfloat16 runs slower than float32,
    so "auto" only picks it where the hardware advertises support.
    """
    if requested != "auto":
        return requested
    if cpu_has_fast_bf16() or gpu_has_fast_bf16():
        return "mixed_bfloat16"
    return "float32"


def resolve_steps_per_execution(config) -> int:
    """Return the batches per Python round trip for `config`.

    An explicit `config.steps_per_execution` always wins. Otherwise a model
    whose batch is cheap (at most SMALL_BATCH_MACS forward multiply-adds)
    runs GROUPED_STEPS_PER_EXECUTION batches per round trip, because Keras's
    fixed cost per round trip is then a large share of each batch. Other
    models run one batch at a time, so progress and stop checks follow every
    batch.
    """
    if config.steps_per_execution is not None:
        return config.steps_per_execution
    batch_macs = count_macs(config) * config.batch_size
    if batch_macs <= SMALL_BATCH_MACS:
        return GROUPED_STEPS_PER_EXECUTION
    return 1


def resolve_evaluation_batch_size(config) -> int:
    """Return the batch size of the validation pass and the test predictions.

    Where training runs one batch per round trip (the tutorial's mode, and
    models with costly batches) it is the training batch size. Where it groups
    batches, the validation pass takes a group as one batch, up to
    GROUPED_EVALUATION_BATCH_LIMIT images. Accuracy does not depend on it.
    """
    steps = resolve_steps_per_execution(config)
    grouped = min(config.batch_size * steps, GROUPED_EVALUATION_BATCH_LIMIT)
    return max(config.batch_size, grouped)


def configure_tensorflow_threads(num_threads: int) -> None:
    """Size TensorFlow's thread pools; must run before TensorFlow starts work."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(num_threads)
        tf.config.threading.set_inter_op_parallelism_threads(num_threads)
    except RuntimeError as error:
        logger.warning("TensorFlow thread pools already fixed: %s", error)


def tensorflow_threads() -> int:
    """Return TensorFlow's intra-op threads, or the CPU quota when left at 0."""
    import tensorflow as tf

    configured = tf.config.threading.get_intra_op_parallelism_threads()
    return configured or int(cpu_quota())


def device_names() -> list[str]:
    """Return the devices training runs on, GPUs first, for the run record."""
    gpus = gpu_names()
    return gpus if gpus else ["CPU"]
