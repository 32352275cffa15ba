"""Four students train at about the same time, each in a browser session of their own.

The server trains one run at a time (MNIST_MAX_CONCURRENT_TRAININGS=1, the
default on a two-core machine), so three of the four runs wait in its queue.
Each student changes the first hidden layer's units, which gives each model
its own parameter count: a page showing another student's results shows the
wrong count.
"""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from mnist_core.architecture import count_parameters
from mnist_core.config import DenseLayerSpec, RunConfig, default_config
from mnist_core.knobs import settings_from_config
from mnist_core.limits import APP_MEMORY_BYTES, TRAINING_MEMORY_BYTES
from tests.browser.conftest import AppServer, new_browser_page, screenshot
from tests.browser.page_actions import (
    SIDEBAR,
    PageStatus,
    click_link,
    exception_messages,
    read_status,
    selectbox_text,
    wait_for_page,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

MAX_CONCURRENT_TRAININGS = 1
# Units of the first hidden layer, one value per student.
HIDDEN_UNITS = (16, 32, 64, 128)
# Seconds for all four runs, one after another, on a busy two-core machine.
TRAINING_TIMEOUT = 300
PAGE_LOAD_TIMEOUT = 120
# Room above the product's own memory budget (APP_MEMORY_BYTES plus
# TRAINING_MEMORY_BYTES per concurrent training) for measurement noise.
MEMORY_MARGIN = 1.2
WAITING_PATTERN = re.compile(r"Waiting: (\d+) runs? ahead")


@dataclasses.dataclass
class Student:
    """One browser session, what it trains and what it saw."""

    page: object
    config: RunConfig
    queue_places: set[int] = dataclasses.field(default_factory=set)
    progress_while_waiting: list[str] = dataclasses.field(default_factory=list)
    final: PageStatus | None = None
    draw_model: str = ""
    inside_model: str = ""

    @property
    def layers_setting(self) -> str:
        return "hidden_layers=" + settings_from_config(self.config)["hidden_layers"]

    @property
    def expected_parameters(self) -> str:
        return f"{count_parameters(self.config):,}"

    def note(self, status: PageStatus) -> None:
        """Record the queue places and any progress bar shown while waiting."""
        for alert in status.alerts:
            match = WAITING_PATTERN.search(alert)
            if match:
                self.queue_places.add(int(match.group(1)))
                self.progress_while_waiting.extend(status.progress)


def student_config(index: int, units: int) -> RunConfig:
    config = default_config("mlp")
    return dataclasses.replace(
        config,
        hidden_layers=(DenseLayerSpec(units=units), *config.hidden_layers[1:]),
        epochs=1,
        train_limit=300,
        seed=index + 1,
    )


def process_tree(root_pid: int) -> list[int]:
    """Return `root_pid` and the ids of all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = stat_file.read_text()
        except OSError:
            # The process ended while the folder was being listed.
            continue
        # The command name sits in brackets and may contain spaces. The state
        # and the parent's id follow it.
        parent_pid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent_pid, []).append(int(stat_file.parent.name))
    tree = [root_pid]
    for pid in tree:
        tree.extend(children.get(pid, []))
    return tree


def resident_bytes(pid: int) -> int:
    """Return the process's resident memory (VmRSS), or 0 once it has ended."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def tree_resident_bytes(root_pid: int) -> int:
    return sum(resident_bytes(pid) for pid in process_tree(root_pid))


@dataclasses.dataclass
class ClassRun:
    """What the shared run of all four students left behind."""

    students: list[Student]
    max_memory_bytes: int
    seconds: float


def train_all(server: AppServer, students: list[Student]) -> ClassRun:
    """Click Train in every session, then follow all pages until all show results."""
    for student in students:
        student.page.get_by_role("button", name="Train", exact=True).click()
    started = time.monotonic()
    max_memory = 0
    waiting = list(students)
    while waiting:
        if time.monotonic() - started > TRAINING_TIMEOUT:
            pending = [student.layers_setting for student in waiting]
            raise TimeoutError(
                f"runs {pending} showed no results within {TRAINING_TIMEOUT} s"
            )
        max_memory = max(max_memory, tree_resident_bytes(server.process.pid))
        for student in list(waiting):
            status = read_status(student.page)
            student.note(status)
            if "Test accuracy" in status.metrics:
                waiting.remove(student)
        time.sleep(0.2)
    seconds = time.monotonic() - started
    for index, student in enumerate(students):
        wait_until_idle(student.page)
        student.final = read_status(student.page)
        screenshot(student.page, f"many-users-{index + 1}-results")
    return ClassRun(students, max_memory, seconds)


def look_at_other_pages(server: AppServer, run: ClassRun) -> None:
    """Read which model each session's draw and inside pages offer first.

    All sessions switch page at once and are then waited for in turn, so the
    server loads their pages side by side, as it would for a class. The
    inside page's model picker comes before its pictures, so only the first
    session waits for those; that wait loads Keras into the app's process.
    """
    for student in run.students:
        click_link(student.page, "Draw a digit")
    for index, student in enumerate(run.students):
        wait_for_page(student.page, "Draw a digit", PAGE_LOAD_TIMEOUT)
        student.draw_model = selectbox_text(student.page, "MLP", SIDEBAR)
        screenshot(student.page, f"many-users-{index + 1}-draw")
    for student in run.students:
        click_link(student.page, "Inside the network")
    for student in run.students:
        picker = student.page.get_by_role("combobox", name="Model", exact=True)
        picker.wait_for(timeout=PAGE_LOAD_TIMEOUT * 1000)
        student.inside_model = picker.input_value()
    first = run.students[0].page
    first.locator('[data-testid="stImage"] img').first.wait_for(
        timeout=PAGE_LOAD_TIMEOUT * 1000
    )
    wait_until_idle(first, PAGE_LOAD_TIMEOUT)
    screenshot(first, "many-users-1-inside")
    run.max_memory_bytes = max(
        run.max_memory_bytes, tree_resident_bytes(server.process.pid)
    )


@pytest.fixture(scope="module")
def class_run(chromium, tmp_path_factory):
    server = AppServer(
        {
            "MNIST_MODELS_DIR": str(tmp_path_factory.mktemp("many-users-models")),
            "MNIST_MAX_CONCURRENT_TRAININGS": str(MAX_CONCURRENT_TRAININGS),
        }
    )
    students = [
        Student(new_browser_page(chromium), student_config(index, units))
        for index, units in enumerate(HIDDEN_UNITS)
    ]
    try:
        started = time.monotonic()
        for student in students:
            query = urlencode(settings_from_config(student.config), safe=":,")
            student.page.goto(f"{server.url}/mlp?{query}")
        for student in students:
            student.page.get_by_role("button", name="Train", exact=True).wait_for(
                timeout=PAGE_LOAD_TIMEOUT * 1000
            )
            wait_until_idle(student.page, PAGE_LOAD_TIMEOUT)
        loaded = time.monotonic()
        run = train_all(server, students)
        trained = time.monotonic()
        look_at_other_pages(server, run)
        print(
            f"pages loaded in {loaded - started:.1f} s, four runs took "
            f"{run.seconds:.1f} s, draw and inside pages "
            f"{time.monotonic() - trained:.1f} s; the server's processes "
            f"peaked at {run.max_memory_bytes / 2**30:.2f} GiB"
        )
        yield run
    finally:
        for student in students:
            student.page.context.close()
        server.stop()


def test_each_session_shows_own_results(class_run):
    for student in class_run.students:
        metrics = student.final.metrics
        assert metrics.get("Parameters") == student.expected_parameters, (
            student.layers_setting,
            metrics,
        )


def test_each_session_shows_one_result(class_run):
    for student in class_run.students:
        labels = student.final.metric_labels
        assert labels.count("Test accuracy") == 1, (student.layers_setting, labels)


def test_sessions_show_no_tracebacks(class_run):
    for student in class_run.students:
        assert exception_messages(student.page) == [], student.layers_setting


def test_waiting_runs_show_queue_place(class_run):
    waited = [student for student in class_run.students if student.queue_places]
    places = sorted(set().union(*(student.queue_places for student in waited)))
    print(f"queue places shown: {places}")
    assert len(waited) >= len(HIDDEN_UNITS) - MAX_CONCURRENT_TRAININGS
    assert max(places) >= 2


def test_waiting_runs_show_no_progress(class_run):
    for student in class_run.students:
        assert student.progress_while_waiting == [], student.layers_setting


def test_draw_page_offers_own_model(class_run):
    for student in class_run.students:
        assert student.draw_model.startswith("Trained in this session"), (
            student.draw_model
        )
        assert student.layers_setting in student.draw_model, student.draw_model


def test_inside_page_offers_own_model(class_run):
    for student in class_run.students:
        assert student.inside_model.startswith("Trained in this session"), (
            student.inside_model
        )
        assert student.layers_setting in student.inside_model, student.inside_model


def test_server_memory_stays_under_budget(class_run):
    budget = APP_MEMORY_BYTES + MAX_CONCURRENT_TRAININGS * TRAINING_MEMORY_BYTES
    cap = MEMORY_MARGIN * budget
    assert class_run.max_memory_bytes < cap, (
        f"{class_run.max_memory_bytes / 2**30:.2f} GiB used, cap {cap / 2**30:.2f} GiB"
    )
