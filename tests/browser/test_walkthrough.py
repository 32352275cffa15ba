"""A student's first visit, step by step, in one browser tab against one server.

The steps share the tab, so each starts where the previous one stopped (the
trained model, the saved model). They run in file order, and a failed step
leaves the later ones without what they need. Trainings stay tiny: a few
hundred to a thousand images, set in the sidebar as a student would.
"""

import json
import time
import zipfile

import pytest

from tests.browser.conftest import new_browser_page, screenshot
from tests.browser.page_actions import (
    SIDEBAR,
    dataframe_rows,
    exception_messages,
    go_to,
    image_heights,
    loaded_image_count,
    navigation_titles,
    open_app_page,
    read_status,
    selectbox_text,
    set_number,
    wait_for_status,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

# Seconds; a training waits for a worker process that loads TensorFlow first,
# which takes long on a busy machine.
# Generous: a shared CI machine can be slow, and a timeout only delays a failure.
TRAINING_TIMEOUT = 300
MLP_PAGE = "MLP (exercise 1)"
MLP_HEADING = "Exercise 1"
TUTORIAL_MLP_PARAMETERS = "669,706"
SAVED_MODEL_NAME = "walkthrough-mlp"
METADATA_MEMBER = "mnist_explorer_metadata.json"
DROPOUT_SLIDER = "Dropout rate after it"
# The draw page's step pictures are about 120 to 190 pixels high at this
# window size. A picture stretched out of shape is many times as high.
MAX_STEP_PICTURE_HEIGHT = 400


@pytest.fixture(scope="module")
def student(chromium):
    """One browser tab, and so one Streamlit session, for every step."""
    browser_page = new_browser_page(chromium)
    yield browser_page
    browser_page.context.close()


def has_results(status) -> bool:
    return "Test accuracy" in status.metrics


def click_train(page) -> None:
    page.get_by_role("button", name="Train", exact=True).click()


def dropout_slider(page):
    slider = page.locator(SIDEBAR).locator('[data-testid="stSlider"]')
    return slider.filter(has_text=DROPOUT_SLIDER).first.get_by_role("slider")


def test_home_page_lists_pages(student, app_server):
    open_app_page(student, app_server.url, "MNIST Explorer")
    screenshot(student, "walkthrough-01-home")
    assert MLP_PAGE in navigation_titles(student)
    assert student.get_by_text("Data in use:").count() == 1
    assert exception_messages(student) == []


def test_data_page_shows_digits(student):
    go_to(student, "Data", "The data")
    screenshot(student, "walkthrough-02-data")
    assert student.get_by_role("heading", name="Examples of each digit").count() == 1
    assert loaded_image_count(student) >= 1
    assert exception_messages(student) == []


def test_mlp_training_shows_progress(student):
    go_to(student, MLP_PAGE, MLP_HEADING)
    # Long enough (about 560 batches) for a progress update on a fast machine,
    # where 300 images for 2 epochs ended before the first one.
    set_number(student, "Training images", 3000)
    set_number(student, "Epochs", 3)
    set_number(student, "Batch size", 16)
    screenshot(student, "walkthrough-03-mlp-settings")

    progress_seen = []

    def note_progress(status) -> None:
        if status.progress and not has_results(status):
            if not progress_seen:
                screenshot(student, "walkthrough-03-mlp-progress")
            progress_seen.extend(
                text for text in status.progress if text not in progress_seen
            )

    click_train(student)
    final = wait_for_status(
        student, has_results, TRAINING_TIMEOUT, "the MLP's results", note_progress
    )
    wait_until_idle(student)
    screenshot(student, "walkthrough-03-mlp-results")
    print(f"progress texts seen during training: {progress_seen}")
    assert progress_seen, "no progress bar was seen before the results"
    assert final.metrics["Test accuracy"].endswith("%")
    assert final.metrics["Parameters"] == TUTORIAL_MLP_PARAMETERS
    assert read_status(student).charts >= 2
    assert exception_messages(student) == []


def test_training_survives_slider_and_page_switch(student):
    set_number(student, "Training images", 1000)
    click_train(student)
    stop_button = student.get_by_role("button", name="Stop", exact=True)
    stop_button.wait_for(timeout=TRAINING_TIMEOUT * 1000)

    slider = dropout_slider(student)
    slider.focus()
    slider.press("ArrowRight")
    slider.press("ArrowRight")
    wait_until_idle(student)
    running_when_left = student.get_by_role("button", name="Stop").count() == 1
    screenshot(student, "walkthrough-04-slider-moved")
    go_to(student, "Data", "The data")
    screenshot(student, "walkthrough-04-data-while-training")
    go_to(student, MLP_PAGE, MLP_HEADING)

    final = wait_for_status(
        student, has_results, TRAINING_TIMEOUT, "the results after a page switch"
    )
    wait_until_idle(student)
    screenshot(student, "walkthrough-04-results-after-switch")
    print(f"the run was still training when the page was left: {running_when_left}")
    assert final.metrics["Test accuracy"].endswith("%")
    assert dropout_slider(student).input_value() == "0.22"
    assert exception_messages(student) == []


def test_stop_keeps_stopped_model(student):
    set_number(student, "Epochs", 5)
    click_train(student)
    wait_for_status(
        student,
        lambda status: bool(status.progress),
        TRAINING_TIMEOUT,
        "the progress bar of the run to stop",
    )
    student.get_by_role("button", name="Stop", exact=True).click()

    final = wait_for_status(
        student, has_results, TRAINING_TIMEOUT, "the stopped run's results"
    )
    wait_until_idle(student)
    screenshot(student, "walkthrough-05-stopped")
    assert final.has_alert("Training stopped on request"), final.alerts
    assert final.metrics["Test accuracy"].endswith("%")
    assert exception_messages(student) == []


def test_sweep_lists_two_values(student):
    set_number(student, "Epochs", 1)
    set_number(student, "Training images", 300)
    values = student.get_by_role("textbox", name="Values", exact=True)
    values.fill("0.01, 0.001")
    values.press("Enter")
    wait_until_idle(student)
    student.get_by_role("button", name="Run sweep").click()
    finished_reads = []

    def sweep_finished(status) -> bool:
        # A rerun of the polling fragment can drop its progress bar for a
        # moment, so the end must show in several reads in a row.
        running = any("runs finished" in text for text in status.progress)
        stop_shown = student.get_by_role("button", name="Stop sweep").count() > 0
        table_shown = student.get_by_text("Sweep over").count() == 1
        rows_pending = (
            student.get_by_text("(running)").count()
            + student.get_by_text("(queued)").count()
        )
        if table_shown and not running and not stop_shown and not rows_pending:
            finished_reads.append(status)
        else:
            finished_reads.clear()
        return len(finished_reads) >= 3

    wait_for_status(student, sweep_finished, 2 * TRAINING_TIMEOUT, "the sweep")
    wait_until_idle(student)
    screenshot(student, "walkthrough-06-sweep")
    table = student.locator('[data-testid="stDataFrame"]').filter(
        has_text="Range over seeds"
    )
    rows = dataframe_rows(table)
    assert [row[0] for row in rows] == ["0.01", "0.001"]
    assert all("(done)" in row[1] for row in rows), rows
    assert exception_messages(student) == []


def test_saved_model_listed_on_models_page(student):
    student.get_by_role("textbox", name="Model name").fill(SAVED_MODEL_NAME)
    student.get_by_role("button", name="Save model").click()
    student.get_by_text(f"Saved as {SAVED_MODEL_NAME}.keras").wait_for()
    screenshot(student, "walkthrough-07-saved")

    go_to(student, "Models", "Models")
    screenshot(student, "walkthrough-07-models")
    trained = selectbox_text(student, "Trained model")
    table = student.locator('[data-testid="stDataFrame"]').first
    names = [row[0] for row in dataframe_rows(table)]
    assert SAVED_MODEL_NAME in names
    assert selectbox_text(student, "Model") == f"Yours: {SAVED_MODEL_NAME}"
    assert trained.startswith("MLP: "), trained
    assert not trained.startswith("MLP: MLP"), trained
    assert exception_messages(student) == []


def test_inside_page_shows_session_model(student):
    go_to(student, "Inside the network", "Inside the network", TRAINING_TIMEOUT)
    student.get_by_role("tab", name="First-layer weights").wait_for()
    student.locator('[data-testid="stImage"] img').first.wait_for()
    wait_until_idle(student, TRAINING_TIMEOUT)
    screenshot(student, "walkthrough-08-inside")
    model = selectbox_text(student, "Model")
    assert model.startswith("Trained in this session: MLP"), model
    assert loaded_image_count(student) >= 1
    assert exception_messages(student) == []


def draw_vertical_stroke(page) -> None:
    """Draw a "1" down the middle of the canvas with the mouse."""
    # Fabric.js puts its mouse-catching canvas above the drawing one.
    canvas = page.locator("canvas.upper-canvas")
    box = canvas.bounding_box()
    middle = box["x"] + box["width"] / 2
    page.mouse.move(middle, box["y"] + 0.2 * box["height"])
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(middle, box["y"] + (0.2 + 0.03 * step) * box["height"])
    page.mouse.up()


def test_drawn_digit_gets_prediction(student):
    go_to(student, "Draw a digit", "Draw a digit")
    mlp_model = selectbox_text(student, "MLP", SIDEBAR)
    student.locator("canvas.upper-canvas").wait_for()

    draw_vertical_stroke(student)
    stroke_ended = time.monotonic()
    student.get_by_text("MNIST-style reads").first.wait_for()
    print(f"prediction shown {time.monotonic() - stroke_ended:.2f} s after the stroke")
    wait_until_idle(student)
    screenshot(student, "walkthrough-09-drawn")
    drawn = read_status(student)
    tallest_picture = max(image_heights(student))

    student.get_by_role("button", name="Clear").click()
    wait_for_status(
        student,
        lambda status: "MNIST-style reads" not in status.metrics,
        60,
        "the prediction to go after Clear",
    )
    wait_until_idle(student)
    cleared = read_status(student)
    screenshot(student, "walkthrough-09-cleared")
    assert mlp_model.startswith("Trained in this session: MLP"), mlp_model
    assert drawn.metrics["MNIST-style reads"] in [str(digit) for digit in range(10)]
    assert tallest_picture <= MAX_STEP_PICTURE_HEIGHT
    assert "MNIST-style reads" not in cleared.metrics
    assert cleared.has_alert("Draw a digit"), cleared.alerts
    assert exception_messages(student) == []


def test_model_download_is_zip_with_metadata(student):
    go_to(student, "Models", "Models")
    with student.expect_download() as download_info:
        student.get_by_role("button", name=f"Download {SAVED_MODEL_NAME}.keras").click()
    download = download_info.value
    screenshot(student, "walkthrough-10-download")
    assert download.suggested_filename == f"{SAVED_MODEL_NAME}.keras"
    path = download.path()
    assert zipfile.is_zipfile(path)
    with zipfile.ZipFile(path) as archive:
        assert METADATA_MEMBER in archive.namelist()
        metadata = json.loads(archive.read(METADATA_MEMBER))
    assert metadata["name"] == SAVED_MODEL_NAME
    assert metadata["config"]["architecture"] == "mlp"
