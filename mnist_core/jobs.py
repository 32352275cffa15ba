"""Training jobs: a queue, a few worker processes, and progress snapshots.

The page submits a config and keeps the returned TrainingJob in its session
state; it reads `job.snapshot()` on each poll. A scheduler thread hands queued
jobs to idle workers (`python -m mnist_core.worker`), at most
`ServerLimits.max_concurrent_trainings` at a time, and replaces a worker after
RUNS_PER_WORKER runs so that memory TensorFlow keeps does not accumulate.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnist_core.config import RunConfig, config_to_dict
from mnist_core.data import DataSource
from mnist_core.limits import LimitError, ServerLimits, load_limits

logger = logging.getLogger(__name__)

RUNS_PER_WORKER = 8
# Workers that may die before they are ready, in a row, before queued jobs fail.
MAX_FAILED_STARTS = 3
# Trained models kept in the scheduler's folder; older ones are deleted, and a
# page that still points at one then reports it as missing. Saved models live
# in the models folder and are not affected.
MAX_KEPT_MODEL_FILES = 200
# Seconds a stop request may take before the worker process is killed.
STOP_GRACE_SECONDS = 20.0
# Seconds a job may go on after its owner's browser session is gone.
ORPHAN_GRACE_SECONDS = 30.0
SCHEDULER_TICK_SECONDS = 0.5
PROJECT_ROOT = Path(__file__).resolve().parent.parent

QUEUED = "queued"
RUNNING = "running"
STOPPING = "stopping"
DONE = "done"
STOPPED = "stopped"
FAILED = "failed"
CANCELLED = "cancelled"
ACTIVE_STATES = (QUEUED, RUNNING, STOPPING)


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's progress for one page render."""

    job_id: str
    label: str
    architecture: str
    state: str
    queue_position: int | None  # 1 = next to start; None unless queued
    epoch: int  # epoch in progress or last finished, 1-based; 0 before start
    epochs: int
    batch: int
    batches: int
    elapsed_seconds: float
    eta_seconds: float | None
    batch_loss: float | None
    batch_accuracy: float | None
    # Per finished epoch: loss, accuracy, val_loss, val_accuracy, seconds.
    history: dict[str, list[float | None]]
    record: dict[str, Any] | None
    model_path: str | None
    error: str | None
    stop_reason: str | None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def fraction_done(self) -> float:
        if self.state in (DONE, STOPPED):
            return 1.0
        if not self.epochs or not self.batches:
            return 0.0
        finished = (self.epoch - 1) + min(1.0, self.batch / self.batches)
        return max(0.0, min(1.0, finished / self.epochs))


@dataclass
class TrainingJob:
    """One training run; the scheduler writes it and pages read snapshots."""

    config: RunConfig
    source: DataSource
    owner: str
    label: str = ""
    is_owner_alive: Callable[[], bool] | None = None
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    state: str = QUEUED
    submitted_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    finished_at: float | None = None
    epoch: int = 0
    batch: int = 0
    batches: int = 0
    batch_loss: float | None = None
    batch_accuracy: float | None = None
    history: dict[str, list[float | None]] = field(default_factory=dict)
    record: dict[str, Any] | None = None
    model_path: str | None = None
    error: str | None = None
    stop_reason: str | None = None
    stop_requested_at: float | None = None
    max_concurrent_others: int = 0
    owner_gone_since: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _scheduler: Scheduler | None = field(default=None, repr=False)

    def request_stop(self, reason: str = "stopped") -> None:
        """Ask the job to end after its current batch; a queued job is cancelled."""
        if self._scheduler is not None:
            self._scheduler.stop_job(self, reason)

    def snapshot(self, queue_position: int | None = None) -> JobSnapshot:
        # Ask the scheduler before taking the job's lock: the scheduler thread
        # takes its own lock first and then the job's, so the reverse order
        # here could deadlock a page against the scheduler.
        if queue_position is None and self._scheduler is not None:
            queue_position = self._scheduler.queue_position(self)
        with self._lock:
            if self.state != QUEUED:
                # The job may have started after queue_position() returned.
                queue_position = None
            now = self.finished_at or time.monotonic()
            elapsed = now - self.started_at if self.started_at else 0.0
            return JobSnapshot(
                job_id=self.job_id,
                label=self.label,
                architecture=self.config.architecture,
                state=self.state,
                queue_position=queue_position,
                epoch=self.epoch,
                epochs=self.config.epochs,
                batch=self.batch,
                batches=self.batches,
                elapsed_seconds=elapsed,
                eta_seconds=self._estimate_remaining(elapsed),
                batch_loss=self.batch_loss,
                batch_accuracy=self.batch_accuracy,
                history={key: list(values) for key, values in self.history.items()},
                record=self.record,
                model_path=self.model_path,
                error=self.error,
                stop_reason=self.stop_reason,
            )

    def _estimate_remaining(self, elapsed: float) -> float | None:
        if self.state != RUNNING or not self.batches or self.epoch == 0:
            return None
        done = (self.epoch - 1) + self.batch / self.batches
        if done <= 0:
            return None
        return elapsed / done * (self.config.epochs - done)

    def apply_progress(self, event: dict[str, Any]) -> None:
        with self._lock:
            self.epoch = int(event.get("epoch", self.epoch))
            if event.get("kind") == "batch":
                self.batch = int(event.get("batch", 0))
                self.batches = int(event.get("batches", self.batches))
                self.batch_loss = event.get("loss")
                self.batch_accuracy = event.get("accuracy")
                return
            self.batch = self.batches
            metrics = dict(event.get("metrics", {}))
            metrics["seconds"] = event.get("seconds")
            for key in ("loss", "accuracy", "val_loss", "val_accuracy", "seconds"):
                self.history.setdefault(key, []).append(metrics.get(key))


class WorkerProcess:
    """A `mnist_core.worker` child process and the job it runs."""

    def __init__(self, scheduler: Scheduler, threads: int) -> None:
        self.scheduler = scheduler
        self.log = tempfile.NamedTemporaryFile(
            prefix="mnist-worker-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mnist_core.worker", "--threads", str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=PROJECT_ROOT,
            text=True,
            bufsize=1,
        )
        self.ready = False
        self.job: TrainingJob | None = None
        self.runs = 0
        self.reader = threading.Thread(target=self._read_messages, daemon=True)
        self.reader.start()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def idle(self) -> bool:
        return self.ready and self.job is None and self.alive

    def send(self, message: dict[str, Any]) -> bool:
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def _read_messages(self) -> None:
        for line in self.process.stdout:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            self.scheduler.handle_message(self, message)

    def log_tail(self, num_chars: int = 600) -> str:
        try:
            text = Path(self.log.name).read_text(errors="replace")
        except OSError:
            return ""
        return text[-num_chars:]

    def kill(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait(timeout=10)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def close(self) -> None:
        """Ask the worker to exit; kill it if it does not within 5 seconds."""
        self.send({"type": "exit"})
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.kill()


class Scheduler:
    """Runs submitted jobs in worker processes, at most max_concurrent at once."""

    def __init__(self, limits: ServerLimits | None = None) -> None:
        self.limits = limits or load_limits()
        self.output_dir = Path(tempfile.mkdtemp(prefix="mnist-jobs-"))
        self._lock = threading.RLock()
        self._queue: list[TrainingJob] = []
        self._jobs: dict[str, TrainingJob] = {}
        self._workers: list[WorkerProcess] = []
        self._wake = threading.Event()
        self._closed = False
        self._failed_starts = 0
        self._thread = threading.Thread(
            target=self._run, name="mnist-scheduler", daemon=True
        )
        self._thread.start()

    # Submitting and stopping

    def submit(
        self,
        config: RunConfig,
        source: DataSource,
        owner: str,
        label: str = "",
        is_owner_alive: Callable[[], bool] | None = None,
    ) -> TrainingJob:
        """Queue a training run; raises LimitError if it breaks a server limit."""
        self.limits.check(config)
        with self._lock:
            waiting = [
                job
                for job in self._jobs.values()
                if job.owner == owner and job.state in ACTIVE_STATES
            ]
            if len(waiting) >= self.limits.max_queued_per_session:
                raise LimitError(
                    f"this session already has {len(waiting)} runs queued or "
                    f"running; the server allows "
                    f"{self.limits.max_queued_per_session}. Wait or stop one"
                )
            job = TrainingJob(config, source, owner, label, is_owner_alive)
            job._scheduler = self
            self._jobs[job.job_id] = job
            self._queue.append(job)
        logger.info("Queued job %s (%s) for %s", job.job_id, label, owner)
        self._wake.set()
        return job

    def stop_job(self, job: TrainingJob, reason: str = "stopped") -> None:
        with self._lock:
            if job.state == QUEUED:
                self._queue.remove(job)
                self._finish(job, CANCELLED, stop_reason=reason)
                return
            if job.state != RUNNING:
                return
            with job._lock:
                job.state = STOPPING
                job.stop_reason = reason
                job.stop_requested_at = time.monotonic()
            worker = self._worker_of(job)
        if worker is not None:
            worker.send({"type": "stop", "job_id": job.job_id})

    def queue_position(self, job: TrainingJob) -> int | None:
        with self._lock:
            if job in self._queue:
                return self._queue.index(job) + 1
        return None

    def jobs_of(self, owner: str) -> list[TrainingJob]:
        with self._lock:
            return [job for job in self._jobs.values() if job.owner == owner]

    def running_count(self) -> int:
        with self._lock:
            return sum(1 for worker in self._workers if worker.job is not None)

    def queued_count(self) -> int:
        with self._lock:
            return len(self._queue)

    def warm_up(self) -> None:
        """Start one worker ahead of the first run, so it starts without waiting."""
        with self._lock:
            if not self._workers and not self._closed:
                self._workers.append(self._new_worker())

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [worker.process.pid for worker in self._workers if worker.alive]

    def close(self) -> None:
        """Stop all jobs and worker processes."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
        self._wake.set()
        for worker in workers:
            worker.close()

    # Messages from workers

    def handle_message(self, worker: WorkerProcess, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "ready":
            worker.ready = True
            self._wake.set()
            return
        job = self._jobs.get(message.get("job_id", ""))
        if job is None:
            return
        if kind == "progress":
            job.apply_progress(message["event"])
        elif kind == "done":
            record = message["record"]
            record["concurrent_trainings"] = job.max_concurrent_others
            if job.stop_reason is not None and record.get("stopped_early"):
                record["stop_reason"] = job.stop_reason
            state = STOPPED if record.get("stopped_early") else DONE
            with self._lock:
                worker.job = None
                worker.runs += 1
            self._finish(
                job,
                state,
                record=record,
                model_path=message["model_path"],
                stop_reason=record.get("stop_reason"),
            )
        elif kind == "failed":
            with self._lock:
                worker.job = None
                worker.runs += 1
            self._finish(job, FAILED, error=message.get("error", "unknown error"))
        self._wake.set()

    # The scheduler thread

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(SCHEDULER_TICK_SECONDS)
            self._wake.clear()
            try:
                self._tick()
            except Exception:  # the scheduler must outlive any one bad job
                logger.exception("Scheduler tick failed")

    def _tick(self) -> None:
        with self._lock:
            self._reap_dead_workers()
            self._retire_used_workers()
            self._enforce_time_and_owners()
            self._start_queued_jobs()

    def _new_worker(self) -> WorkerProcess:
        return WorkerProcess(self, self.limits.threads_per_training)

    def _worker_of(self, job: TrainingJob) -> WorkerProcess | None:
        for worker in self._workers:
            if worker.job is job:
                return worker
        return None

    def _reap_dead_workers(self) -> None:
        for worker in list(self._workers):
            if worker.alive:
                continue
            self._workers.remove(worker)
            self._note_failed_start(worker)
            job = worker.job
            worker.job = None
            if job is not None and job.state in ACTIVE_STATES:
                if job.state == STOPPING:
                    self._finish(job, STOPPED, stop_reason=job.stop_reason)
                else:
                    code = worker.process.returncode
                    self._finish(
                        job,
                        FAILED,
                        error=(
                            f"the training process ended unexpectedly (exit code "
                            f"{code}; out of memory?). {worker.log_tail(300)}"
                        ),
                    )
            worker.kill()

    def _note_failed_start(self, worker: WorkerProcess) -> None:
        """Count workers that die before they are ready; fail the queue if many do.

        Without this, a worker that cannot start (a broken install, no memory)
        would be restarted on every tick while its jobs wait forever.
        """
        if worker.ready:
            self._failed_starts = 0
            return
        self._failed_starts += 1
        if self._failed_starts < MAX_FAILED_STARTS:
            return
        reason = (
            f"the training process failed to start {self._failed_starts} times in "
            f"a row (exit code {worker.process.returncode}). {worker.log_tail(300)}"
        )
        logger.error("Failing all queued jobs: %s", reason)
        for job in list(self._queue):
            self._queue.remove(job)
            self._finish(job, FAILED, error=reason)
        self._failed_starts = 0

    def _retire_used_workers(self) -> None:
        for worker in list(self._workers):
            if worker.idle and worker.runs >= RUNS_PER_WORKER:
                self._workers.remove(worker)
                threading.Thread(target=worker.close, daemon=True).start()

    def _enforce_time_and_owners(self) -> None:
        now = time.monotonic()
        limit = self.limits.max_run_seconds
        for job in list(self._jobs.values()):
            if job.state not in ACTIVE_STATES:
                continue
            if self._owner_gone_too_long(job, now):
                logger.info("Stopping job %s: its browser session is gone", job.job_id)
                job.is_owner_alive = None
                self.stop_job(job, "session_closed")
                continue
            if job.state == RUNNING and limit and job.started_at:
                if now - job.started_at > limit:
                    self.stop_job(job, "time_limit")
            if job.state == STOPPING and job.stop_requested_at is not None:
                if now - job.stop_requested_at > STOP_GRACE_SECONDS:
                    worker = self._worker_of(job)
                    if worker is not None:
                        logger.warning("Killing worker of job %s", job.job_id)
                        worker.process.kill()

    def _owner_gone_too_long(self, job: TrainingJob, now: float) -> bool:
        """Return True once the owner's session has been gone for the grace time.

        A browser that reconnects within ORPHAN_GRACE_SECONDS keeps its job.
        """
        if job.is_owner_alive is None:
            return False
        if job.is_owner_alive():
            job.owner_gone_since = None
            return False
        if job.owner_gone_since is None:
            job.owner_gone_since = now
        return now - job.owner_gone_since > ORPHAN_GRACE_SECONDS

    def _start_queued_jobs(self) -> None:
        busy = [worker for worker in self._workers if worker.job is not None]
        while self._queue and len(busy) < self.limits.max_concurrent_trainings:
            idle = [worker for worker in self._workers if worker.idle]
            if not idle:
                starting = [w for w in self._workers if not w.ready and w.alive]
                if len(busy) + len(starting) < self.limits.max_concurrent_trainings:
                    self._workers.append(self._new_worker())
                return
            worker = idle[0]
            job = self._queue.pop(0)
            self._dispatch(job, worker)
            busy.append(worker)
        for worker in busy:
            others = len(busy) - 1
            if worker.job is not None:
                worker.job.max_concurrent_others = max(
                    worker.job.max_concurrent_others, others
                )

    def _dispatch(self, job: TrainingJob, worker: WorkerProcess) -> None:
        with job._lock:
            job.state = RUNNING
            job.started_at = time.monotonic()
        worker.job = job
        sent = worker.send(
            {
                "type": "train",
                "job_id": job.job_id,
                "config": config_to_dict(job.config),
                "source": {
                    "kind": job.source.kind,
                    "path": job.source.path,
                    "description": job.source.description,
                },
                "output_dir": str(self.output_dir),
            }
        )
        if not sent:
            worker.job = None
            self._finish(job, FAILED, error="could not reach the training process")
        logger.info("Started job %s on worker %d", job.job_id, worker.process.pid)

    def _finish(self, job: TrainingJob, state: str, **fields: Any) -> None:
        with job._lock:
            job.state = state
            job.finished_at = time.monotonic()
            for name, value in fields.items():
                setattr(job, name, value)
        logger.info("Job %s ended: %s", job.job_id, state)
        if state in (DONE, STOPPED):
            self._prune_model_files()

    def _prune_model_files(self) -> None:
        """Delete the oldest job model files beyond MAX_KEPT_MODEL_FILES."""
        try:
            files = [
                (path.stat().st_mtime, path)
                for path in self.output_dir.glob("*.keras")
                if not path.name.startswith(".")
            ]
            for _, path in sorted(files)[:-MAX_KEPT_MODEL_FILES]:
                path.unlink(missing_ok=True)
                logger.info("Deleted old job model %s", path)
        except OSError as error:
            logger.warning(
                "Could not prune job models in %s: %s", self.output_dir, error
            )


_scheduler: Scheduler | None = None
_scheduler_lock = threading.Lock()


def get_scheduler() -> Scheduler:
    """Return the process-wide scheduler, starting it on first use."""
    global _scheduler
    with _scheduler_lock:
        if _scheduler is None:
            _scheduler = Scheduler()
        return _scheduler
