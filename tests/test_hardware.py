"""Tests for mnist_core.hardware: cgroup limits, bf16 detection, precision."""

from __future__ import annotations

import os

import pytest
import tensorflow as tf

from mnist_core import hardware
from mnist_core.config import CNNConfig, MLPConfig
from mnist_core.hardware import (
    cpu_quota,
    device_names,
    memory_limit_bytes,
    resolve_evaluation_batch_size,
    resolve_precision,
    resolve_steps_per_execution,
)

CPU_COUNT = float(len(os.sched_getaffinity(0)))
PHYSICAL_BYTES = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def write_files(root, files: dict[str, str]):
    """Write a fake cgroup folder: {relative path: content}."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content + "\n")
    return root


def test_cpu_quota_cgroup_v2(tmp_path):
    root = write_files(tmp_path, {"cpu.max": "200000 100000"})
    # The quota allows 2 CPUs; a machine with fewer gives what it has.
    assert cpu_quota(root) == min(2.0, CPU_COUNT)


def test_cpu_quota_cgroup_v2_without_limit(tmp_path):
    root = write_files(tmp_path, {"cpu.max": "max 100000"})
    assert cpu_quota(root) == CPU_COUNT


def test_cpu_quota_below_one_cpu_counts_as_one(tmp_path):
    root = write_files(tmp_path, {"cpu.max": "50000 100000"})
    assert cpu_quota(root) == 1.0


def test_cpu_quota_cgroup_v1(tmp_path):
    files = {"cpu/cpu.cfs_quota_us": "100000", "cpu/cpu.cfs_period_us": "100000"}
    assert cpu_quota(write_files(tmp_path, files)) == 1.0


def test_cpu_quota_cgroup_v1_without_limit(tmp_path):
    files = {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}
    assert cpu_quota(write_files(tmp_path, files)) == CPU_COUNT


def test_cpu_quota_without_cgroup_files(tmp_path):
    assert cpu_quota(tmp_path) == CPU_COUNT


def test_memory_limit_cgroup_v2(tmp_path):
    root = write_files(tmp_path, {"memory.max": "2900000000"})
    assert memory_limit_bytes(root) == min(2_900_000_000, PHYSICAL_BYTES)


def test_memory_limit_cgroup_v2_without_limit(tmp_path):
    root = write_files(tmp_path, {"memory.max": "max"})
    assert memory_limit_bytes(root) == PHYSICAL_BYTES


def test_memory_limit_cgroup_v1(tmp_path):
    root = write_files(tmp_path, {"memory/memory.limit_in_bytes": "1000000000"})
    assert memory_limit_bytes(root) == min(1_000_000_000, PHYSICAL_BYTES)


def test_memory_limit_never_above_physical(tmp_path):
    # cgroup v1 writes a huge number when the memory is not limited.
    root = write_files(
        tmp_path, {"memory/memory.limit_in_bytes": "9223372036854771712"}
    )
    assert memory_limit_bytes(root) == PHYSICAL_BYTES


def test_memory_limit_without_cgroup_files(tmp_path):
    assert memory_limit_bytes(tmp_path) == PHYSICAL_BYTES


@pytest.fixture
def bf16_support(monkeypatch):
    """Set what cpu_has_fast_bf16 and gpu_has_fast_bf16 return."""

    def set_support(cpu: bool, gpu: bool) -> None:
        monkeypatch.setattr(hardware, "cpu_has_fast_bf16", lambda: cpu)
        monkeypatch.setattr(hardware, "gpu_has_fast_bf16", lambda: gpu)

    return set_support


def test_resolve_precision_auto_without_bf16(bf16_support):
    bf16_support(cpu=False, gpu=False)
    assert resolve_precision("auto") == "float32"


def test_resolve_precision_auto_with_cpu_bf16(bf16_support):
    bf16_support(cpu=True, gpu=False)
    assert resolve_precision("auto") == "mixed_bfloat16"


def test_resolve_precision_auto_with_gpu_bf16(bf16_support):
    bf16_support(cpu=False, gpu=True)
    assert resolve_precision("auto") == "mixed_bfloat16"


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_resolve_precision_keeps_explicit_choice(bf16_support, precision):
    bf16_support(cpu=True, gpu=False)
    assert resolve_precision(precision) == precision


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("fpu sse2 avx2 avx512f", False),
        ("fpu avx512f avx512_bf16", True),
        ("fpu amx_tile amx_bf16", True),
    ],
    ids=["no_bf16", "avx512_bf16", "amx_bf16"],
)
def test_cpu_has_fast_bf16_reads_flags(monkeypatch, flags, expected):
    cpuinfo = f"processor\t: 0\nflags\t\t: {flags}\n"
    monkeypatch.setattr(hardware, "_read_text", lambda path: cpuinfo)
    # __wrapped__ skips the cache, which stores this machine's result.
    assert hardware.cpu_has_fast_bf16.__wrapped__() is expected


def test_resolve_steps_per_execution_explicit_value_wins():
    assert resolve_steps_per_execution(MLPConfig(steps_per_execution=8)) == 8


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (MLPConfig(), 512),
        (MLPConfig(steps_per_execution=1), 128),
        (MLPConfig(steps_per_execution=2), 256),
        (MLPConfig(batch_size=32), 128),
        (MLPConfig(batch_size=1024), 1024),
        (CNNConfig(), 128),
        (CNNConfig(steps_per_execution=8), 512),
    ],
    ids=[
        "mlp_grouped",
        "tutorial_mode",
        "two_batches",
        "small_batches",
        "batch_over_limit",
        "cnn_one_batch",
        "cnn_grouped",
    ],
)
def test_resolve_evaluation_batch_size(config, expected):
    assert resolve_evaluation_batch_size(config) == expected


def test_device_names_cpu_without_gpu():
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    assert device_names() == ["CPU"]
