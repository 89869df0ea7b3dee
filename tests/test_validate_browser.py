"""The data quality report in a real browser (headless Chromium): no request leaves the page and
axe-core finds no WCAG 2.2 AA violation. Skipped when /usr/bin/chromium is missing, unless
PIPELINES_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_validate import _bad_result

from pipelines.config import load_config
from pipelines.validate import write_dq_report

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def visited(tmp_path_factory):
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests"
        if os.environ.get("PIPELINES_REQUIRE_BROWSER") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("dq")
    (tmp / "raw").mkdir()
    config = load_config({"raw_dir": str(tmp / "raw"), "db_path": str(tmp / "w.duckdb")})
    result, _ = _bad_result(tmp, config)
    html = write_dq_report(result, None, config, tmp / "dq")[0]
    url = html.as_uri()
    attempted: list[str] = []

    def only_the_page(route) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", only_the_page)
            page.goto(url, wait_until="load")
            axe = Axe().run(
                page,
                options={
                    "runOnly": {"type": "tag", "values": AXE_TAGS},
                    "resultTypes": ["violations"],
                },
            )
            text = page.inner_text("body")
        finally:
            browser.close()
    return {"attempted": attempted, "axe": axe, "text": text}


def test_no_request_leaves_the_dq_report(visited):
    assert visited["attempted"] == []


def test_axe_finds_no_wcag_violation_in_the_dq_report(visited):
    assert visited["axe"].violations_count == 0, visited["axe"].generate_report()


def test_dq_report_shows_the_problems(visited):
    assert "DAT-004" in visited["text"] and "31/02/2012" in visited["text"]
