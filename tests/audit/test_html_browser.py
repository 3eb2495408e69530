"""The HTML audit report in a real browser: Debian's chromium, headless, through selenium and
Debian's chromedriver (tests/support/browser.py).

The page is loaded from a ``file://`` URL: no console message of level SEVERE or WARNING (a
Content-Security-Policy violation is one), no request but the file itself (DevTools Network
events), the charts drawn with a size, the filter and the sort working on the image table,
the hostile names shown as text. A control page shows that the same checks see an error and
an outside request when there is one. The screenshot (and a PDF print) are kept under
``.cache/artifacts/`` (the path is printed).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sigverify.audit.html import report_to_html
from sigverify.cli import cli
from tests.audit.html_document import IMG_TAG, SCRIPT_USER_ID, html_document
from tests.imageapi.demo import DEMO_POLICY, seeded_store
from tests.support import browser

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[2] / ".cache" / "artifacts"
TITLE = "sigverify audit: policies/prod.yaml"


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    why = browser.missing()
    if why:
        pytest.fail(why)  # CI installs it (scripts/bootstrap): never a silent skip
    with browser.chromium(tmp_path_factory.mktemp("chromium-profile")) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(report_to_html(html_document()), encoding="utf-8")
    return path


@pytest.fixture
def loaded(driver: Any, report_file: Path) -> Any:
    """The report, freshly loaded; the logs of everything before it drained."""
    driver.get("about:blank")
    browser.console_entries(driver)
    browser.requested_urls(driver)
    driver.get(report_file.as_uri())
    return driver


def _visible_rows(driver: Any) -> list[Any]:
    rows = driver.find_elements("css selector", "#image-table tbody tr")
    return [row for row in rows if row.is_displayed()]


def _type_filter(driver: Any, text: str) -> None:
    field = driver.find_element("id", "image-filter")
    field.clear()
    if text:
        field.send_keys(text)
    else:  # clear() fires no input event
        driver.execute_script("arguments[0].dispatchEvent(new Event('input'))", field)


def test_loads_without_a_console_message_or_any_request_but_the_file(
    loaded: Any, report_file: Path
) -> None:
    assert loaded.title == TITLE
    assert loaded.execute_script("return document.readyState") == "complete"
    messages = [entry for entry in browser.console_entries(loaded) if entry["level"] != "INFO"]
    assert messages == []
    assert browser.requested_urls(loaded) == [report_file.as_uri()]


def test_the_checks_see_an_error_and_an_outside_request(driver: Any, tmp_path: Path) -> None:
    # Without this, the two assertions above would pass on a browser that logs nothing.
    control = tmp_path / "control.html"
    control.write_text(
        "<!DOCTYPE html><title>control</title><img src='http://127.0.0.1:9/pixel.png'>"
        "<script>console.error('control error')</script>"
    )
    driver.get("about:blank")
    browser.console_entries(driver)
    browser.requested_urls(driver)
    driver.get(control.as_uri())
    messages = [entry["message"] for entry in browser.console_entries(driver)]
    assert any("control error" in message for message in messages), messages
    assert "http://127.0.0.1:9/pixel.png" in browser.requested_urls(driver)


def test_the_charts_render_with_a_size(loaded: Any) -> None:
    charts = loaded.find_elements("css selector", "svg.chart-svg")
    assert len(charts) == 4
    for chart in charts:
        assert chart.size["width"] > 300 and chart.size["height"] > 40, chart.size
        boxes = loaded.execute_script(
            "return Array.from(arguments[0].querySelectorAll('rect.seg'))"
            ".map(r => { const b = r.getBBox(); return [b.width, b.height]; })",
            chart,
        )
        assert boxes and all(w > 0 and h > 0 for w, h in boxes), boxes
    # trusted per namespace, (no tag) 1, evil 0 (no segment), prod 7, staging 6, team 1: in
    # proportion, prod's the full 400 units
    widths = loaded.execute_script(
        "return Array.from(document.querySelectorAll('#chart-namespaces rect.seg-trusted'))"
        ".map(r => r.getBBox().width)"
    )
    assert widths == pytest.approx([400 / 7, 400, 400 * 6 / 7, 400 / 7], abs=0.1)


def test_filtering_the_image_table(loaded: Any) -> None:
    count = loaded.find_element("id", "image-count")
    assert len(_visible_rows(loaded)) == 17 and count.text == "17"
    _type_filter(loaded, "staging/")
    assert len(_visible_rows(loaded)) == 6 and count.text == "6"
    _type_filter(loaded, "lookaside identitymismatch")  # every word, any case
    [row] = _visible_rows(loaded)
    assert "team/app2:1" in row.text
    _type_filter(loaded, "no such thing")
    assert _visible_rows(loaded) == [] and count.text == "0"
    _type_filter(loaded, "")
    assert len(_visible_rows(loaded)) == 17
    status = loaded.find_element("id", "status-filter")
    status.find_element("css selector", "option[value=denied]").click()
    denied = _visible_rows(loaded)
    assert [row.get_attribute("data-status") for row in denied] == ["denied"] * 3
    _type_filter(loaded, "notsigned")
    assert len(_visible_rows(loaded)) == 1 and count.text == "1"


def test_sorting_the_image_table(loaded: Any) -> None:
    def column(index: int) -> list[str]:
        return [
            row.find_elements("tag name", "td")[index].get_attribute("data-sort")
            or row.find_elements("tag name", "td")[index].text
            for row in loaded.find_elements("css selector", "#image-table tbody tr")
        ]

    headers = loaded.find_elements("css selector", "#image-table thead th")
    signatures = headers[5]
    signatures.find_element("tag name", "button").click()
    counts = [int(value) for value in column(5)]
    assert counts == sorted(counts) and counts[0] == 0 and counts[-1] == 2
    assert signatures.get_attribute("aria-sort") == "ascending"
    signatures.find_element("tag name", "button").click()
    assert [int(value) for value in column(5)] == sorted(counts, reverse=True)
    assert signatures.get_attribute("aria-sort") == "descending"
    headers[3].find_element("tag name", "button").click()  # reason, as text
    reasons = column(3)
    assert reasons == sorted(reasons, key=str.lower) and reasons[0] == "Accepted"
    assert signatures.get_attribute("aria-sort") is None


def test_hostile_names_are_shown_as_text(loaded: Any) -> None:
    assert loaded.title == TITLE  # no injected script ran
    assert loaded.execute_script("return document.images.length") == 0
    assert loaded.execute_script("return document.scripts.length") == 1
    assert SCRIPT_USER_ID in loaded.find_element("id", "key-table").text
    assert IMG_TAG.split(":", 1)[1] in loaded.find_element("id", "image-table").text


def test_the_command_s_page_of_a_real_store(driver: Any, tmp_path: Path) -> None:
    """The page ``sigverify audit -o html --output-file`` writes of the sample store (real
    signatures, the demo keys), in the same browser: clean, four charts, every image."""
    store = tmp_path / "store.db"
    seeded_store(store)
    page = tmp_path / "report.html"
    args = ["audit", "--policy", str(DEMO_POLICY), "--store", str(store), "-o", "html"]
    done = CliRunner().invoke(cli, [*args, "--output-file", str(page)])
    assert done.exit_code == 1, done.output
    driver.get("about:blank")
    browser.console_entries(driver)
    browser.requested_urls(driver)
    driver.get(page.as_uri())
    assert [e for e in browser.console_entries(driver) if e["level"] != "INFO"] == []
    assert browser.requested_urls(driver) == [page.as_uri()]
    assert len(driver.find_elements("css selector", "svg.chart-svg")) == 4
    rows = driver.find_elements("css selector", "#image-table tbody tr")
    assert sorted(row.get_attribute("data-status") for row in rows) == ["denied", "trusted"]
    assert len(driver.find_elements("css selector", "#key-table tbody tr")) == 3


def test_screenshot_and_pdf_are_kept(loaded: Any, capsys: pytest.CaptureFixture[str]) -> None:
    shot = browser.full_page_screenshot(loaded, ARTIFACTS / "audit-report.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    pdf = ARTIFACTS / "audit-report.pdf"
    printed = loaded.execute_cdp_cmd(
        "Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True}
    )
    pdf.write_bytes(base64.b64decode(printed["data"]))
    assert pdf.read_bytes()[:5] == b"%PDF-"
    with capsys.disabled():
        print(f"\naudit report screenshot: {shot}\naudit report printed: {pdf}")
