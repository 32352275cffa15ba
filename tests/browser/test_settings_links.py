"""Links that carry settings open their page with those settings, on a new server.

The server is started for this module alone, so the first link is also the
server's first request: the case where Streamlit 1.67, given a folder named
pages/ beside the entry script, runs the page file without the navigation.
"""

from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.conftest import AppServer, new_browser_page, screenshot
from tests.browser.page_actions import (
    SIDEBAR,
    dataframe_rows,
    exception_messages,
    navigation_titles,
    open_app_page,
    read_status,
    selectbox_text,
)

pytestmark = pytest.mark.browser

CNN_HEADING = "Exercise 2"
AVERAGE_POOLING_LINK = "/cnn?conv_blocks.1.pooling=average"
# What the page writes into the address bar for the same settings.
COMPACT_CONV_BLOCKS = "32:3:relu:none:2,64:3:relu:average:2"
POOLING_SELECT = "Pooling type after the last convolution"
PAGE_LOAD_TIMEOUT = 90


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory):
    server = AppServer(
        {"MNIST_MODELS_DIR": str(tmp_path_factory.mktemp("settings-models"))}
    )
    yield server
    server.stop()


@pytest.fixture()
def visitor(chromium):
    browser_page = new_browser_page(chromium)
    yield browser_page
    browser_page.context.close()


def layer_types(page) -> list[str]:
    """Return the Type column of the page's architecture table."""
    table = page.locator('[data-testid="stDataFrame"]').first
    return [row[1] for row in dataframe_rows(table)]


def test_pooling_link_selects_average_pooling(fresh_server, visitor):
    open_app_page(
        visitor, fresh_server.url + AVERAGE_POOLING_LINK, CNN_HEADING, PAGE_LOAD_TIMEOUT
    )
    screenshot(visitor, "settings-link-per-layer")
    address = parse_qs(urlparse(visitor.url).query)
    assert "CNN (exercise 2)" in navigation_titles(visitor)
    assert selectbox_text(visitor, POOLING_SELECT, SIDEBAR) == "average"
    assert "AveragePooling2D" in layer_types(visitor)
    assert "MaxPooling2D" not in layer_types(visitor)
    assert address == {"conv_blocks": [COMPACT_CONV_BLOCKS]}
    assert exception_messages(visitor) == []


def test_compact_link_selects_average_pooling(fresh_server, visitor):
    link = f"{fresh_server.url}/cnn?conv_blocks={COMPACT_CONV_BLOCKS}"
    open_app_page(visitor, link, CNN_HEADING, PAGE_LOAD_TIMEOUT)
    screenshot(visitor, "settings-link-compact")
    assert selectbox_text(visitor, POOLING_SELECT, SIDEBAR) == "average"
    assert "AveragePooling2D" in layer_types(visitor)
    assert exception_messages(visitor) == []


def test_invalid_link_setting_shows_warning(fresh_server, visitor):
    link = f"{fresh_server.url}/mlp?epochs=many&batch_size=64"
    open_app_page(visitor, link, "Exercise 1", PAGE_LOAD_TIMEOUT)
    screenshot(visitor, "settings-link-invalid")
    status = read_status(visitor)
    batch_size = visitor.locator(SIDEBAR).get_by_role("spinbutton", name="Batch size")
    assert status.has_alert("epochs='many' was ignored"), status.alerts
    assert batch_size.input_value() == "64"
    assert exception_messages(visitor) == []
