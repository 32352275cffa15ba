"""Drive MNIST Explorer's pages in Chromium: wait for reruns, read what they show.

Streamlit marks its root element with `data-test-script-state`: "running"
while a script or fragment run is in progress and "notRunning" between runs.
The functions here wait on that attribute instead of sleeping a fixed time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

IDLE_SELECTOR = '[data-testid="stApp"][data-test-script-state="notRunning"]'
SIDEBAR = '[data-testid="stSidebar"]'
NAVIGATION = '[data-testid="stSidebarNav"]'

# Reads every status element in one call, so no element can vanish between
# finding it and reading it (a rerun replaces elements at any moment).
READ_STATUS_SCRIPT = """() => {
    const texts = (testId) => [...document.querySelectorAll(
        `[data-testid="${testId}"]`)].map((element) => element.innerText.trim());
    const root = document.querySelector('[data-testid="stApp"]');
    return {
        script_state: root ? root.getAttribute("data-test-script-state") : null,
        progress: texts("stProgress"),
        alerts: texts("stAlert"),
        metrics: [...document.querySelectorAll('[data-testid="stMetric"]')].map(
            (element) => [
                element.querySelector('[data-testid="stMetricLabel"]')
                    ?.innerText.trim() ?? "",
                element.querySelector('[data-testid="stMetricValue"]')
                    ?.innerText.trim() ?? "",
            ]),
        charts: document.querySelectorAll('[data-testid="stVegaLiteChart"]').length,
    };
}"""


@dataclass(frozen=True)
class PageStatus:
    """What a page shows at one moment: progress bars, alerts and metrics."""

    script_state: str | None
    progress: tuple[str, ...]
    alerts: tuple[str, ...]
    metrics: dict[str, str] = field(default_factory=dict)
    # Every metric's label in page order, repeats included.
    metric_labels: tuple[str, ...] = ()
    charts: int = 0

    def has_alert(self, text: str) -> bool:
        """Return True if an alert on the page contains `text`."""
        return any(text in alert for alert in self.alerts)


def read_status(page) -> PageStatus:
    """Read the page's progress bars, alerts and metrics at once."""
    raw = page.evaluate(READ_STATUS_SCRIPT)
    return PageStatus(
        script_state=raw["script_state"],
        progress=tuple(raw["progress"]),
        alerts=tuple(raw["alerts"]),
        metrics={label: value for label, value in raw["metrics"] if label},
        metric_labels=tuple(label for label, _ in raw["metrics"]),
        charts=raw["charts"],
    )


def wait_until_idle(page, timeout: float = 60.0, quiet_seconds: float = 0.75) -> None:
    """Wait until no script run has been in progress for `quiet_seconds`.

    A page with a polling fragment reruns every second, so "idle" means a
    quiet gap between runs, not the end of all runs.
    """
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        if page.locator(IDLE_SELECTOR).count():
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= quiet_seconds:
                return
        else:
            quiet_since = None
        time.sleep(0.1)
    raise TimeoutError(f"the page kept running scripts for {timeout:.0f} s")


def wait_for_status(
    page,
    condition: Callable[[PageStatus], bool],
    timeout: float,
    expectation: str,
    on_status: Callable[[PageStatus], None] | None = None,
) -> PageStatus:
    """Poll the page until `condition` holds; raise TimeoutError naming `expectation`.

    `on_status` receives every status read, so a caller can record progress seen
    on the way.
    """
    deadline = time.monotonic() + timeout
    status = read_status(page)
    while True:
        if on_status is not None:
            on_status(status)
        if condition(status):
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{expectation} did not happen within {timeout:.0f} s; the page shows "
                f"progress {status.progress}, alerts {status.alerts}, "
                f"metrics {status.metrics}"
            )
        time.sleep(0.2)
        status = read_status(page)


def open_app_page(page, url: str, heading: str, timeout: float = 60.0) -> None:
    """Load `url` in a new session and wait for its first run to finish."""
    page.goto(url, timeout=timeout * 1000)
    page.get_by_role("heading", name=heading).first.wait_for(timeout=timeout * 1000)
    wait_until_idle(page, timeout)


def click_link(page, link_text: str) -> None:
    """Click a page's link in the sidebar navigation.

    Clicking keeps the browser session (and its trained models), unlike
    loading a new address.
    """
    navigation = page.locator(NAVIGATION)
    navigation.get_by_role("link", name=link_text, exact=True).click()


def wait_for_page(page, heading: str, timeout: float = 60.0) -> None:
    """Wait for a page's heading and for its script run to finish."""
    page.get_by_role("heading", name=heading).first.wait_for(timeout=timeout * 1000)
    wait_until_idle(page, timeout)


def go_to(page, link_text: str, heading: str, timeout: float = 60.0) -> None:
    """Open another page through the sidebar navigation and wait for it."""
    click_link(page, link_text)
    wait_for_page(page, heading, timeout)


def set_number(page, label: str, value: int) -> None:
    """Type `value` into the sidebar number input called `label` and commit it."""
    number_input = page.locator(SIDEBAR).get_by_role("spinbutton", name=label)
    number_input.fill(str(value))
    number_input.press("Enter")
    wait_until_idle(page)
    current = number_input.input_value()
    if current != str(value):
        raise AssertionError(f"{label} shows {current!r} after typing {value}")


def selectbox_text(page, label: str, container: str = "body") -> str:
    """Return the option that the select box called `label` shows."""
    box = page.locator(container).get_by_role("combobox", name=label, exact=True)
    return box.first.input_value()


def navigation_titles(page) -> list[str]:
    """Return the page titles listed in the sidebar navigation."""
    links = page.locator(NAVIGATION).locator('[data-testid="stSidebarNavLink"]')
    titles = []
    for text in links.all_inner_texts():
        # Each link's text is its Material icon's name, then its title.
        titles.append(text.strip().splitlines()[-1].strip())
    return titles


def exception_messages(page) -> list[str]:
    """Return the text of every traceback box Streamlit shows on the page."""
    return page.locator('[data-testid="stException"]').all_inner_texts()


def loaded_image_count(page) -> int:
    """Count the page's images that finished loading with a nonzero size."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stImage"] img')]
            .filter((image) => image.complete && image.naturalWidth > 0).length"""
    )


def image_heights(page) -> list[float]:
    """Return the height, in screen pixels, at which each image is drawn."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stImage"] img')]
            .map((image) => image.getBoundingClientRect().height)"""
    )


def dataframe_rows(frame) -> list[list[str]]:
    """Return the cell texts of each body row of a non-empty `st.dataframe`.

    The grid draws on a canvas but keeps an accessible table in the page,
    which is what this reads.
    """
    # The grid builds its table after the element appears.
    frame.locator('[role="gridcell"]').first.wait_for(state="attached")
    rows = []
    for row in frame.locator('[role="row"]:has([role="gridcell"])').all():
        rows.append(
            [
                cell.strip()
                for cell in row.locator('[role="gridcell"]').all_inner_texts()
            ]
        )
    return rows
