"""Tests for mnist_core.jobs: the queue, worker processes, stops and limits.

The jobs train tiny models in real worker processes. Most tests share one
scheduler, so that workers start only a few times per test run.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from mnist_core import jobs, storage
from mnist_core.config import CNNConfig, ConvBlockSpec, DenseLayerSpec, MLPConfig
from mnist_core.data import SAMPLE_PATH, DataSource
from mnist_core.jobs import Scheduler, TrainingJob
from mnist_core.limits import LimitError, ServerLimits

# Generous, because a worker starts TensorFlow before its first run and the
# test machines may be busy; a passing test waits far less.
WAIT_SECONDS = 180.0
POLL_SECONDS = 0.02
SAMPLE_SOURCE = DataSource("sample", str(SAMPLE_PATH), "the bundled sample")
# One epoch on 100 images: the smallest run that still trains and saves. It
# validates on 10 of them, not on the 1,000 test images, to save time.
TINY_RUN = MLPConfig(
    hidden_layers=(DenseLayerSpec(units=8),),
    train_limit=100,
    epochs=1,
    precision="float32",
    validation="split",
)
# A run far longer than any test waits, for tests that stop it: 500 epochs of
# 300 images, a batch at a time.
LONG_RUN = dataclasses.replace(TINY_RUN, train_limit=300, epochs=500, batch_size=10)


def wait_for(job: TrainingJob, condition, seconds: float = WAIT_SECONDS):
    """Poll `job` until condition(snapshot) holds; return that snapshot."""
    deadline = time.monotonic() + seconds
    snapshot = job.snapshot()
    while not condition(snapshot):
        if time.monotonic() > deadline:
            pytest.fail(f"job {job.job_id} stayed {snapshot.state}: {snapshot}")
        time.sleep(POLL_SECONDS)
        snapshot = job.snapshot()
    return snapshot


def is_finished(snapshot) -> bool:
    return not snapshot.active


def is_training(snapshot) -> bool:
    """True once the worker reported a batch, so the run is inside fit()."""
    return snapshot.state == jobs.RUNNING and snapshot.batch > 0


@pytest.fixture(scope="module")
def scheduler():
    """One scheduler running one training at a time, shared by the module."""
    shared = Scheduler(
        ServerLimits(max_concurrent_trainings=1, max_queued_per_session=3)
    )
    shared.warm_up()
    yield shared
    shared.close()
    shutil.rmtree(shared.output_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def two_jobs_in_a_row(scheduler):
    """Two jobs of one owner, and the second one's snapshot while the first ran."""
    first = scheduler.submit(LONG_RUN, SAMPLE_SOURCE, "owner-a", "first")
    second = scheduler.submit(TINY_RUN, SAMPLE_SOURCE, "owner-a", "second")
    wait_for(first, is_training)
    second_while_first_runs = second.snapshot()
    first.request_stop()
    wait_for(first, is_finished)
    wait_for(second, is_finished)
    return first, second, second_while_first_runs


def test_second_job_waits_in_queue(two_jobs_in_a_row):
    _, _, waiting = two_jobs_in_a_row
    assert waiting.state == jobs.QUEUED
    assert waiting.queue_position == 1


def test_jobs_run_one_after_another(two_jobs_in_a_row):
    first, second, _ = two_jobs_in_a_row
    assert second.started_at >= first.finished_at


def test_both_jobs_finish_with_records(two_jobs_in_a_row):
    first, second, _ = two_jobs_in_a_row
    assert first.snapshot().state == jobs.STOPPED
    assert second.snapshot().state == jobs.DONE
    assert first.snapshot().record["model"] == "mlp"
    assert second.snapshot().record["epochs_completed"] == 1


def test_finished_job_model_file_loads(two_jobs_in_a_row):
    for job in two_jobs_in_a_row[:2]:
        snapshot = job.snapshot()
        model, metadata = storage.load_model(Path(snapshot.model_path))
        assert model.output_shape == (None, 10)
        assert metadata["test_accuracy"] == snapshot.record["test_accuracy"]


def test_finished_job_snapshot(two_jobs_in_a_row):
    snapshot = two_jobs_in_a_row[1].snapshot()
    assert snapshot.queue_position is None
    assert snapshot.fraction_done == 1.0
    assert snapshot.epoch == 1
    assert len(snapshot.history["loss"]) == 1
    assert snapshot.record["concurrent_trainings"] == 0


def test_stop_running_job_keeps_record(scheduler):
    job = scheduler.submit(LONG_RUN, SAMPLE_SOURCE, "owner-stop", "stop")
    wait_for(job, is_training)
    job.request_stop()
    snapshot = wait_for(job, is_finished)
    assert snapshot.state == jobs.STOPPED
    assert snapshot.stop_reason == "stopped"
    assert snapshot.record["stopped_early"] is True
    assert snapshot.record["epochs_completed"] < LONG_RUN.epochs


def test_cancel_queued_job(scheduler):
    running = scheduler.submit(LONG_RUN, SAMPLE_SOURCE, "owner-cancel", "runs")
    queued = scheduler.submit(TINY_RUN, SAMPLE_SOURCE, "owner-cancel", "waits")
    wait_for(running, is_training)
    queued.request_stop()
    snapshot = queued.snapshot()
    running.request_stop()
    wait_for(running, is_finished)
    assert snapshot.state == jobs.CANCELLED
    assert snapshot.record is None
    assert scheduler.queue_position(queued) is None


def test_session_queue_limit(scheduler):
    submitted = [
        scheduler.submit(LONG_RUN, SAMPLE_SOURCE, "owner-greedy", f"run {number}")
        for number in range(3)
    ]
    with pytest.raises(LimitError, match="3 runs queued or running"):
        scheduler.submit(TINY_RUN, SAMPLE_SOURCE, "owner-greedy", "one too many")
    other_owner = scheduler.submit(TINY_RUN, SAMPLE_SOURCE, "owner-other", "fits")
    for job in [other_owner, *reversed(submitted)]:
        job.request_stop()
    for job in submitted:
        wait_for(job, is_finished)
    assert other_owner.snapshot().state == jobs.CANCELLED


def test_submit_checks_server_limits():
    strict = Scheduler(ServerLimits(max_epochs=2))
    try:
        with pytest.raises(LimitError, match="epochs is 3"):
            strict.submit(dataclasses.replace(TINY_RUN, epochs=3), SAMPLE_SOURCE, "o")
    finally:
        strict.close()
        shutil.rmtree(strict.output_dir, ignore_errors=True)


def test_orphaned_job_stopped(scheduler, monkeypatch):
    monkeypatch.setattr(jobs, "ORPHAN_GRACE_SECONDS", 0.5)
    owner_alive = threading.Event()
    owner_alive.set()
    job = scheduler.submit(
        LONG_RUN, SAMPLE_SOURCE, "owner-gone", "orphan", owner_alive.is_set
    )
    wait_for(job, is_training)
    owner_alive.clear()
    snapshot = wait_for(job, is_finished)
    assert snapshot.state == jobs.STOPPED
    assert snapshot.stop_reason == "session_closed"
    assert snapshot.record["stopped_early"] is True


def test_queued_orphan_cancelled(scheduler, monkeypatch):
    monkeypatch.setattr(jobs, "ORPHAN_GRACE_SECONDS", 0.5)
    running = scheduler.submit(LONG_RUN, SAMPLE_SOURCE, "owner-here", "runs")
    orphan = scheduler.submit(
        TINY_RUN, SAMPLE_SOURCE, "owner-gone-early", "orphan", lambda: False
    )
    snapshot = wait_for(orphan, is_finished)
    running.request_stop()
    wait_for(running, is_finished)
    assert snapshot.state == jobs.CANCELLED
    assert snapshot.stop_reason == "session_closed"


def test_time_limit_stops_job(scheduler, monkeypatch):
    limited = dataclasses.replace(scheduler.limits, max_run_seconds=1.0)
    monkeypatch.setattr(scheduler, "limits", limited)
    job = scheduler.submit(LONG_RUN, SAMPLE_SOURCE, "owner-slow", "too long")
    snapshot = wait_for(job, is_finished)
    assert snapshot.state == jobs.STOPPED
    assert snapshot.stop_reason == "time_limit"
    assert snapshot.record["stop_reason"] == "time_limit"


def test_killed_worker_fails_job_and_next_runs(scheduler):
    doomed = scheduler.submit(LONG_RUN, SAMPLE_SOURCE, "owner-kill", "doomed")
    wait_for(doomed, is_training)
    (pid,) = scheduler.worker_pids()
    os.kill(pid, signal.SIGKILL)
    failed = wait_for(doomed, is_finished)
    after = scheduler.submit(TINY_RUN, SAMPLE_SOURCE, "owner-kill", "after")
    done = wait_for(after, is_finished)
    assert failed.state == jobs.FAILED
    assert "ended unexpectedly" in failed.error
    assert "-9" in failed.error
    assert done.state == jobs.DONE
    assert scheduler.worker_pids() != [pid]


def test_unbuildable_config_fails_with_message(scheduler):
    # Kernel 28 after a 2x2 pooling: the 13x13 map of conv_2 is too small.
    config = CNNConfig(
        conv_blocks=(
            ConvBlockSpec(filters=2, pooling="max"),
            ConvBlockSpec(filters=2, kernel_size=28),
        ),
        train_limit=100,
        epochs=1,
    )
    job = scheduler.submit(config, SAMPLE_SOURCE, "owner-impossible", "impossible")
    snapshot = wait_for(job, is_finished)
    assert snapshot.state == jobs.FAILED
    assert "conv_2" in snapshot.error
    assert snapshot.model_path is None


def test_snapshot_never_waits_for_scheduler_holding_job_lock():
    # The scheduler thread takes its own lock, then a job's. A snapshot that
    # waited for the scheduler's lock while holding the job's would deadlock.
    idle = Scheduler(ServerLimits())
    job = TrainingJob(TINY_RUN, SAMPLE_SOURCE, "owner")
    job._scheduler = idle
    try:
        with idle._lock:
            reader = threading.Thread(target=job.snapshot, daemon=True)
            reader.start()
            reader.join(0.3)  # the snapshot now waits for the scheduler's lock
            job_lock_free = job._lock.acquire(timeout=2)
            if job_lock_free:
                job._lock.release()
        reader.join(5)
        assert job_lock_free
        assert not reader.is_alive()
    finally:
        idle.close()
        shutil.rmtree(idle.output_dir, ignore_errors=True)


def resident_bytes() -> int:
    """Return this process's resident memory from /proc/self/statm."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture(scope="module")
def twenty_runs(scheduler):
    """Twenty tiny runs in a row: (app process RSS after each, worker pid of each).

    The scheduler runs in this process and training in its workers, so this
    process stands for the app.
    """
    rss_after_run = []
    worker_pids = []
    for number in range(20):
        job = scheduler.submit(TINY_RUN, SAMPLE_SOURCE, "owner-many", f"run {number}")
        wait_for(job, lambda snapshot: snapshot.state != jobs.QUEUED)
        # One training at a time, so the one listed worker runs this job.
        (pid,) = scheduler.worker_pids()
        worker_pids.append(pid)
        assert wait_for(job, is_finished).state == jobs.DONE
        rss_after_run.append(resident_bytes())
    return rss_after_run, worker_pids


def test_app_memory_flat_over_twenty_runs(twenty_runs):
    rss_after_run, _ = twenty_runs
    baseline = rss_after_run[1]
    assert max(rss_after_run[2:]) <= baseline * 1.15, rss_after_run


def test_worker_serves_at_most_runs_per_worker(twenty_runs):
    _, worker_pids = twenty_runs
    runs_per_pid = collections.Counter(worker_pids)
    assert max(runs_per_pid.values()) <= jobs.RUNS_PER_WORKER


def test_workers_replaced_during_twenty_runs(twenty_runs):
    _, worker_pids = twenty_runs
    # 20 runs need at least ceil(20 / RUNS_PER_WORKER) workers.
    assert len(set(worker_pids)) >= math.ceil(20 / jobs.RUNS_PER_WORKER)


def test_scheduler_fails_queue_after_repeated_start_failures(monkeypatch, tmp_path):
    broken_python = tmp_path / "python"
    broken_python.write_text("#!/bin/sh\nexit 3\n")
    broken_python.chmod(0o755)
    monkeypatch.setattr(jobs.sys, "executable", str(broken_python))
    scheduler = Scheduler(
        ServerLimits(max_concurrent_trainings=1, threads_per_training=1)
    )
    try:
        source = DataSource("sample", str(SAMPLE_PATH), "sample")
        job = scheduler.submit(MLPConfig(epochs=1, train_limit=100), source, "owner")
        deadline = time.monotonic() + 30
        while job.snapshot().active and time.monotonic() < deadline:
            time.sleep(0.2)
        snapshot = job.snapshot()
        assert snapshot.state == jobs.FAILED
        assert "failed to start 3 times" in snapshot.error
    finally:
        scheduler.close()
