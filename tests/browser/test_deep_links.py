"""Deep links and query parameters on a freshly started server."""

import pytest

from tests.browser.conftest import AppServer, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture()
def fresh_server(models_folder):
    server = AppServer({"MNIST_MODELS_DIR": str(models_folder)})
    yield server
    server.stop()


def test_deep_link_serves_data_page_first(fresh_server, page):
    page.goto(f"{fresh_server.url}/data")
    page.get_by_role("heading", name="The data").wait_for()
    screenshot(page, "deep-link-data")
    assert page.get_by_text("Page not found").count() == 0


@pytest.mark.parametrize("path", ["runs", "cnn"])
def test_deep_link_runs_entry_script_first(fresh_server, page, path):
    # A folder named pages/ next to the entry script would make Streamlit run
    # the page file alone on a fresh server, without navigation or sidebar.
    page.goto(f"{fresh_server.url}/{path}")
    page.get_by_text("MLP (exercise 1)").first.wait_for()
    screenshot(page, f"deep-link-{path}")
    assert page.get_by_text("streamlit app").count() == 0
    assert page.get_by_text("Data:").count() >= 1


def test_home_page_names_data_source(fresh_server, page):
    page.goto(fresh_server.url)
    page.get_by_role("heading", name="MNIST Explorer").wait_for()
    screenshot(page, "home")
    assert page.get_by_text("Data in use:").count() >= 1
