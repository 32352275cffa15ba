"""Fixtures for end-to-end tests: a real `streamlit run` server and Chromium.

The browser is Debian's Chromium at /usr/bin/chromium, driven by Playwright;
no browser is downloaded. Screenshots of each step go to
test-artifacts/screenshots/ for a person to look at when a test fails.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_PATH = "/usr/bin/chromium"
SCREENSHOT_DIR = PROJECT_ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_SECONDS = 60
VIEWPORT = {"width": 1400, "height": 1000}
# Milliseconds Playwright waits for one element; generous, because the
# machine may be busy.
DEFAULT_TIMEOUT_MS = 30_000
MAX_SCREENSHOT_HEIGHT = 8000
CONTENT_HEIGHT_SCRIPT = """() => Math.max(...["stMain", "stSidebarContent"].map(
    (testId) => document.querySelector(`[data-testid="${testId}"]`)?.scrollHeight ?? 0
))"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_health(url: str, process: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} in time")


class AppServer:
    """A `streamlit run streamlit_app.py` process on 127.0.0.1."""

    def __init__(self, environment: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = SCREENSHOT_DIR.parent / f"streamlit-{self.port}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, **(environment or {}))
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "streamlit_app.py",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(self.port),
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for_health(self.url, self.process, time.monotonic() + SERVER_START_SECONDS)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM_PATH).exists():
        pytest.skip(f"{CHROMIUM_PATH} is missing; install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def models_folder(tmp_path_factory) -> Path:
    """A models folder of the browser tests' own, so tests never touch models/."""
    return tmp_path_factory.mktemp("browser-models")


@pytest.fixture(scope="session")
def app_server(models_folder):
    """One app server shared by the walk-through tests."""
    server = AppServer({"MNIST_MODELS_DIR": str(models_folder)})
    yield server
    server.stop()


def new_browser_page(browser):
    """Open a page in a context of its own, which is a browser session of its own.

    The caller closes it with `page.context.close()`.
    """
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    browser_page = context.new_page()
    browser_page.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return browser_page


@pytest.fixture()
def page(chromium):
    browser_page = new_browser_page(chromium)
    yield browser_page
    browser_page.context.close()


def screenshot(browser_page, name: str) -> Path:
    """Save a screenshot of the whole page under test-artifacts/screenshots/.

    Streamlit scrolls inside its main area and sidebar, not the document, so
    the viewport is stretched to their content for the shot and then restored.
    """
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    size = browser_page.viewport_size
    height = size["height"]
    try:
        # Elements may still grow while they lay themselves out at the new
        # size, so measure again until the height settles.
        for _ in range(3):
            content_height = browser_page.evaluate(CONTENT_HEIGHT_SCRIPT)
            needed = min(max(content_height, size["height"]), MAX_SCREENSHOT_HEIGHT)
            if needed == height:
                break
            height = needed
            browser_page.set_viewport_size({"width": size["width"], "height": height})
            browser_page.wait_for_timeout(500)
        browser_page.screenshot(path=str(path), full_page=True)
    finally:
        browser_page.set_viewport_size(size)
    return path
