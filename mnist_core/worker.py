"""A training process: python -m mnist_core.worker --threads N

The app starts a few of these (see `mnist_core.jobs`) so that training never
runs in Streamlit's script thread, memory that TensorFlow keeps after a fit is
returned when a worker is replaced, and a run can be stopped hard.

Protocol: one JSON object per line. The parent writes to standard input:
{"type": "train", "job_id", "config", "source", "output_dir"},
{"type": "stop", "job_id"} and {"type": "exit"}. The worker writes to its
original standard output: {"type": "ready"}, {"type": "progress", "job_id",
"event"}, {"type": "done", "job_id", "record", "model_path"} and
{"type": "failed", "job_id", "error"}. Everything else the libraries print
goes to standard error. End of input (the parent died) stops the worker.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import queue
import sys
import threading
import traceback
from pathlib import Path

logger = logging.getLogger("mnist_core.worker")


class ProtocolWriter:
    """Writes protocol lines to a private copy of the original stdout."""

    def __init__(self) -> None:
        protocol_fd = os.dup(sys.stdout.fileno())
        # Anything printed by the libraries now lands on stderr.
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        self._stream = os.fdopen(protocol_fd, "w", buffering=1)
        self._lock = threading.Lock()

    def send(self, message: dict) -> None:
        line = json.dumps(message, allow_nan=False, default=str)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


def _sanitize(value):
    """Replace NaN and infinity with None so every line is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _sanitize(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_sanitize(item) for item in value]
    return value


def _read_commands(tasks: queue.Queue, stop_requests: dict, lock: threading.Lock):
    for line in sys.stdin:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            logger.warning("Ignoring a malformed command line: %r", line[:200])
            continue
        if message.get("type") == "stop":
            with lock:
                stop_requests[message.get("job_id")] = True
        else:
            tasks.put(message)
    with lock:
        stop_requests["*"] = True
    tasks.put({"type": "exit"})


def _run_task(message: dict, writer: ProtocolWriter, stop_requests, lock) -> None:
    from mnist_core.config import config_from_dict
    from mnist_core.data import DataSource, load_dataset
    from mnist_core.storage import save_model
    from mnist_core.training import train_model

    job_id = message["job_id"]

    def should_stop() -> bool:
        with lock:
            return stop_requests.get(job_id, False) or stop_requests.get("*", False)

    def on_progress(event: dict) -> None:
        writer.send({"type": "progress", "job_id": job_id, "event": _sanitize(event)})

    try:
        config = config_from_dict(message["config"])
        dataset = load_dataset(DataSource(**message["source"]))
        record, model = train_model(config, dataset, on_progress, should_stop)
        output_dir = Path(message["output_dir"])
        model_path = save_model(model, record, job_id, folder=output_dir)
    except Exception as error:  # every failure goes back to the page as text
        logger.error("Job %s failed:\n%s", job_id, traceback.format_exc())
        writer.send({"type": "failed", "job_id": job_id, "error": str(error)})
        return
    writer.send(
        {
            "type": "done",
            "job_id": job_id,
            "record": _sanitize(record),
            "model_path": str(model_path),
        }
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m mnist_core.worker")
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    writer = ProtocolWriter()

    from mnist_core import hardware

    if arguments.threads > 0:
        hardware.configure_tensorflow_threads(arguments.threads)
    import keras  # noqa: F401  (load TensorFlow before saying ready)

    tasks: queue.Queue = queue.Queue()
    stop_requests: dict = {}
    lock = threading.Lock()
    reader = threading.Thread(
        target=_read_commands, args=(tasks, stop_requests, lock), daemon=True
    )
    reader.start()
    writer.send({"type": "ready", "pid": os.getpid()})
    while True:
        message = tasks.get()
        if message.get("type") == "exit":
            return 0
        if message.get("type") == "train":
            _run_task(message, writer, stop_requests, lock)


if __name__ == "__main__":
    sys.exit(main())
