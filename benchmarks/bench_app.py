"""Time the app's start-up and the cost of training with live progress.

Run from the repository root:

    python benchmarks/bench_app.py --json bench-app.json

Start-up: seconds from `streamlit run streamlit_app.py` until the health
check responds, until the page's HTML responds, and until the home page shows
"MNIST Explorer" in headless Chromium (Playwright, /usr/bin/chromium).

Live progress: the same MLP run trained headless (train_model in a fresh
process, as benchmarks/bench_training.py does) and through the app's
scheduler and worker process, with the snapshot polled as the training page
polls it. Runs are interleaved: headless, live, headless, live, ...
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

# Python puts this script's folder on sys.path; mnist_core lives one up.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from bench_training import (  # noqa: E402
    DEFAULT_DATA,
    OtherLoadMeter,
    later_epochs,
    run_in_fresh_process,
)

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
HOME_TITLE = "MNIST Explorer"
# The training page redraws its progress fragment every second.
PAGE_POLL_SECONDS = 1.0
START_TIMEOUT_SECONDS = 120.0


# Start-up


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def _rss_of(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


def _start_server(port: int, data: str, log) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "streamlit_app.py",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    environment = dict(os.environ, MNIST_DATA=data)
    return subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=log, stderr=log, env=environment
    )


def _stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


def _wait_until(check, process: subprocess.Popen, started: float) -> float:
    """Poll `check` every 50 ms; return seconds since `started` when it holds."""
    while time.perf_counter() - started < START_TIMEOUT_SECONDS:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        if check():
            return time.perf_counter() - started
        time.sleep(0.05)
    raise TimeoutError(f"streamlit did not respond in {START_TIMEOUT_SECONDS} s")


def measure_startup(port: int, data: str, browser) -> dict:
    """Start the server once; time health, HTML and (with a browser) the page."""
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        process = _start_server(port, data, log)
        try:
            health_seconds = _wait_until(
                lambda: _answers(f"{url}/_stcore/health"), process, started
            )
            html_seconds = _wait_until(lambda: _answers(url), process, started)
            page_seconds = None
            if browser is not None:
                page = browser.new_page()
                page.goto(url)
                title = page.get_by_role("heading", name=HOME_TITLE)
                title.wait_for(timeout=START_TIMEOUT_SECONDS * 1000)
                page_seconds = time.perf_counter() - started
                page.close()
            server_rss = _rss_of(process.pid)
        finally:
            _stop_server(process)
    return {
        "health_seconds": health_seconds,
        "html_seconds": html_seconds,
        "home_page_seconds": page_seconds,
        "server_rss_bytes": server_rss,
    }


def _launch_browser():
    """Return (playwright, browser), or (None, None) where Playwright is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("Playwright is not installed: timing the HTTP responses only")
        return None, None
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
    )
    return playwright, browser


def run_startups(arguments) -> list[dict]:
    if not _port_is_free(arguments.port):
        raise SystemExit(f"port {arguments.port} is in use; pick another with --port")
    playwright, browser = (None, None)
    if not arguments.no_browser:
        playwright, browser = _launch_browser()
    results = []
    try:
        for attempt in range(1, arguments.startups + 1):
            result = measure_startup(arguments.port, arguments.data, browser)
            results.append(result)
            page = result["home_page_seconds"]
            page_text = "-" if page is None else f"{page:.2f} s"
            print(
                f"start-up {attempt}: health {result['health_seconds']:.2f} s, "
                f"HTML {result['html_seconds']:.2f} s, home page {page_text}",
                flush=True,
            )
    finally:
        if browser is not None:
            browser.close()
            playwright.stop()
    return results


# Training with live progress


def train_live(model_name: str, seed: int, epochs: int, data: str, train_limit):
    """Train through the app's scheduler, polling snapshots as the page does."""
    from mnist_core.config import default_config
    from mnist_core.data import DataSource
    from mnist_core.jobs import Scheduler
    from mnist_core.knobs import apply_knob_settings

    settings = [f"epochs={epochs}", f"seed={seed}"]
    if train_limit is not None:
        settings.append(f"train_limit={train_limit}")
    config = apply_knob_settings(default_config(model_name), settings)
    source = DataSource("file", data, f"file {data}")

    # The meter ends after close(), which waits for the worker process.
    with OtherLoadMeter() as load:
        scheduler = Scheduler()
        try:
            started = time.perf_counter()
            job = scheduler.submit(config, source, owner="benchmark", label="live")
            num_polls = 0
            snapshot = job.snapshot()
            while snapshot.active:
                time.sleep(PAGE_POLL_SECONDS)
                snapshot = job.snapshot()
                num_polls += 1
            submit_to_done = time.perf_counter() - started
        finally:
            scheduler.close()
            shutil.rmtree(scheduler.output_dir, ignore_errors=True)
    if snapshot.record is None:
        raise RuntimeError(f"live run ended {snapshot.state}: {snapshot.error}")
    record = snapshot.record
    return {
        "epoch_seconds": record["epoch_seconds"],
        "test_accuracy": record["test_accuracy"],
        "threads": record["threads"],
        "steps_per_execution": record["steps_per_execution"],
        "submit_to_done_seconds": submit_to_done,
        "num_polls": num_polls,
        "other_processes_cores": load.other_cores,
    }


def measure_progress_path(num_events: int = 20_000) -> float:
    """Return the CPU microseconds one batch event costs on its way to a page.

    This times the path without training: the worker's JSON line, the
    scheduler's parsing and update of the job, and one snapshot for every
    fourth event (the page polls every second and the worker reports about
    four times a second). Reading the pipe is left out.
    """
    from mnist_core.config import default_config
    from mnist_core.data import DataSource
    from mnist_core.jobs import TrainingJob

    job = TrainingJob(default_config("mlp"), DataSource("file", "", ""), "bench")
    event = {
        "kind": "batch",
        "epoch": 3,
        "epochs": 20,
        "batch": 200,
        "batches": 469,
        "loss": 0.0812,
        "accuracy": 0.9751,
        "elapsed_seconds": 12.5,
    }
    started = time.process_time()
    for index in range(num_events):
        line = json.dumps({"type": "progress", "job_id": "bench", "event": event})
        job.apply_progress(json.loads(line)["event"])
        if index % 4 == 0:
            job.snapshot()
    return (time.process_time() - started) / num_events * 1e6


def run_training_pairs(arguments) -> dict:
    headless_runs = []
    live_runs = []
    for seed in range(arguments.pairs):
        headless = run_in_fresh_process(
            "core",
            arguments.model,
            seed,
            arguments.epochs,
            arguments.data,
            arguments.train_limit,
        )
        headless_runs.append(headless)
        live = train_live(
            arguments.model,
            seed,
            arguments.epochs,
            arguments.data,
            arguments.train_limit,
        )
        live_runs.append(live)
        print(
            f"seed {seed}: headless {_seconds_list(headless['epoch_seconds'])}; "
            f"live {_seconds_list(live['epoch_seconds'])}; other processes "
            f"{headless['other_processes_cores']:.2f} and "
            f"{live['other_processes_cores']:.2f} cores",
            flush=True,
        )
    headless_median = _pooled_median(headless_runs)
    live_median = _pooled_median(live_runs)
    return {
        "headless_median_epoch_seconds": headless_median,
        "live_median_epoch_seconds": live_median,
        "ratio": live_median / headless_median,
        "progress_event_cpu_microseconds": measure_progress_path(),
        "headless_runs": headless_runs,
        "live_runs": live_runs,
    }


def _seconds_list(values: list[float]) -> str:
    return " ".join(f"{value:.2f}" for value in values) + " s"


def _pooled_median(runs: list[dict]) -> float:
    return statistics.median(
        seconds for run in runs for seconds in later_epochs(run["epoch_seconds"])
    )


# Report


def print_summary(startups: list[dict], training: dict | None) -> None:
    print()
    if startups:
        for key, label in (
            ("health_seconds", "health check responds"),
            ("html_seconds", "page HTML responds"),
            ("home_page_seconds", "home page shows its title"),
        ):
            values = [result[key] for result in startups if result[key] is not None]
            if values:
                print(
                    f"start-up to {label}: median {statistics.median(values):.2f} s "
                    f"(min {min(values):.2f}, max {max(values):.2f}, "
                    f"{len(values)} starts)"
                )
        rss = [result["server_rss_bytes"] for result in startups]
        if all(rss):
            print(f"server RSS after the home page: {max(rss) / 1e6:,.0f} MB")
    if training:
        print(
            f"seconds per epoch (median after the first): headless "
            f"{training['headless_median_epoch_seconds']:.2f}, live "
            f"{training['live_median_epoch_seconds']:.2f}, live / headless "
            f"{training['ratio']:.3f}"
        )
        from mnist_core.training import BATCH_REPORT_INTERVAL

        microseconds = training["progress_event_cpu_microseconds"]
        events_per_second = 1 / BATCH_REPORT_INTERVAL
        share = microseconds * events_per_second / 1e6
        print(
            f"progress path: {microseconds:.1f} CPU microseconds per event, "
            f"{100 * share:.4f}% of one core at {events_per_second:.0f} events "
            "a second"
        )


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA, help="MNIST .npz file")
    parser.add_argument(
        "--port", type=int, default=8651, help="127.0.0.1 port for the server"
    )
    parser.add_argument("--startups", type=int, default=3, help="server starts")
    parser.add_argument(
        "--no-browser", action="store_true", help="time the HTTP responses only"
    )
    parser.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    parser.add_argument(
        "--epochs", type=int, default=6, help="epochs per training run (at least 2)"
    )
    parser.add_argument(
        "--pairs", type=int, default=2, help="headless and live run pairs"
    )
    parser.add_argument(
        "--train-limit", type=int, help="use the first N training images"
    )
    parser.add_argument(
        "--skip", choices=("startup", "training"), help="leave out one part"
    )
    parser.add_argument("--json", metavar="PATH", help="write every figure to PATH")
    arguments = parser.parse_args(argv)
    if arguments.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch is left out")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    startups = []
    training = None
    if arguments.skip != "startup":
        startups = run_startups(arguments)
    if arguments.skip != "training":
        training = run_training_pairs(arguments)
    print_summary(startups, training)
    if arguments.json:
        report = {"data": arguments.data, "startups": startups, "training": training}
        Path(arguments.json).write_text(json.dumps(report, indent=2))
        print(f"wrote {arguments.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
