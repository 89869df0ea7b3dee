"""Committee pages in a real browser (headless Chromium via Playwright): no request leaves the page,
every chart is drawn, axe-core finds no WCAG 2.2 AA violation, the tables show metrics_public.csv
and no withheld count is disclosed.

Skipped with a reason when /usr/bin/chromium is missing, unless PIPELINES_REQUIRE_BROWSER=1 (set by
.ci/run), in which case a missing browser fails. The browser starts once for the module.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from report_helpers import read_rows, rendered_reports, shows, withheld_keys

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = ["index", "referrals", "distance_travelled", "re_referrals", "cpr", "workforce", "about"]
ANNEX = PAGES[1:-1]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests"
    if os.environ.get("PIPELINES_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " (PIPELINES_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def out_dir() -> Path:
    _require_browser()
    return rendered_reports(workforce=True)


def _only(url: str, attempted: list[str]):
    """Route handler: let the page's own file through, abort and record every other request.
    (Playwright passes (route, request) to a handler with two or more parameters, so the
    handler takes exactly one.)"""

    def handler(route) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    return handler


@pytest.fixture(scope="module")
def visited(browser, out_dir):
    """Open every page once: record attempted requests, chart sizes, axe results, cell texts."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    results = {}
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        for name in PAGES:
            url = (out_dir / f"{name}.html").resolve().as_uri()
            attempted: list[str] = []
            page = context.new_page()
            page.route("**/*", _only(url, attempted))
            page.goto(url, wait_until="load")
            charts = page.eval_on_selector_all(
                "figure.chart svg",
                "els => els.map(e => { const r = e.getBoundingClientRect();"
                " return [r.width, r.height, e.querySelectorAll('path,line,text').length]; })",
            )
            cells = page.eval_on_selector_all(
                "[data-key]",
                "els => els.map(e => [e.dataset.key, e.dataset.field, e.textContent.trim()])",
            )
            text = page.inner_text("body")
            axe_result = axe.run(
                page,
                options={
                    "runOnly": {"type": "tag", "values": AXE_TAGS},
                    "resultTypes": ["violations"],
                },
            )
            results[name] = {
                "attempted": list(attempted),
                "charts": charts,
                "cells": cells,
                "text": text,
                "html": page.content(),
                "axe": axe_result,
            }
            page.close()
    finally:
        context.close()
    return results


@pytest.mark.parametrize("name", PAGES)
def test_no_request_leaves_the_page(visited, name):
    assert visited[name]["attempted"] == []


@pytest.mark.parametrize("name", PAGES[:-1])
def test_every_chart_is_drawn(visited, name):
    charts = visited[name]["charts"]
    assert charts, "no chart on the page"
    for width, height, marks in charts:
        assert width > 100 and height > 50 and marks > 5, (width, height, marks)


@pytest.mark.parametrize("name", PAGES)
def test_axe_finds_no_wcag_violation(visited, name):
    result = visited[name]["axe"]
    assert result.violations_count == 0, result.generate_report()


@pytest.mark.parametrize("name", PAGES[:-1])
def test_tables_equal_metrics_public(visited, out_dir, name):
    public = read_rows(out_dir / "metrics_public.csv")
    cells = visited[name]["cells"]
    assert cells
    for key, field, text in cells:
        assert shows(text, public[key][field]), (key, field, text, public[key][field])


@pytest.mark.parametrize("name", PAGES)
def test_no_withheld_count_is_disclosed(visited, out_dir, name):
    """Cells of withheld figures read ``c``; no withheld count sits beside its category label in
    the rendered text (chart text alternatives included via the DOM)."""
    from pipelines.report.spec import category_label

    held = withheld_keys(out_dir)
    for key, field, text in visited[name]["cells"]:
        if key in held and held[key][1][field] == "c":
            assert text == "c", (key, field, text)
    markup = visited[name]["html"]
    for block in markup.split('<div class="figure-block">')[1:]:
        for key in set(re.findall(r'data-key="([^"]+)"', block)) & set(held):
            inner, public = held[key]
            label = re.escape(category_label(key.split("|")[3], key.split("|")[4]))
            for field in ("value", "numerator"):
                if public[field] == "c" and inner[field]:
                    x = float(inner[field])
                    for shown in {f"{x:.0f}", f"{x:.1f}"}:
                        figure = "".join(re.findall(r"<figure.*?</figure>", block, re.S))
                        assert not re.search(
                            label + r"[:(\s]+" + re.escape(shown) + r"(?![\d.])", figure
                        ), (key, shown)


# ---------------------------------------------------------------------------------------------
# Paper: the summary fits 6 A4 pages; the pack is one PDF of the summary and every annex page


def _pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF Chromium wrote (each page object is ``/Type /Page``)."""
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


@pytest.fixture(scope="module")
def printed(browser, out_dir):
    """Each page printed to A4 as Chromium prints it (the pages' print stylesheet)."""
    context = browser.new_context()
    out = {}
    try:
        for name in PAGES:
            page = context.new_page()
            page.goto((out_dir / f"{name}.html").resolve().as_uri(), wait_until="load")
            out[name] = page.pdf(format="A4")
            page.close()
    finally:
        context.close()
    return out


def test_the_summary_prints_in_at_most_six_a4_pages(printed):
    assert 1 <= _pdf_pages(printed["index"]) <= 6


def test_print_hides_navigation_and_alt_text_but_screen_keeps_them(browser, out_dir):
    """On paper the table beside each chart carries the numbers; on screen the caption stays."""
    page = browser.new_page()
    try:
        page.goto((out_dir / "cpr.html").resolve().as_uri(), wait_until="load")
        shown = "sel => getComputedStyle(document.querySelector(sel)).display"
        assert page.evaluate(shown, "figcaption .alt-text") != "none"
        assert page.evaluate(shown, ".page-nav") != "none"
        page.emulate_media(media="print")
        assert page.evaluate(shown, "figcaption .alt-text") == "none"
        assert page.evaluate(shown, ".page-nav") == "none"
        assert page.evaluate("getComputedStyle(document.querySelector('thead')).display") == (
            "table-header-group"
        )
        assert page.evaluate("getComputedStyle(document.querySelector('tr')).breakInside") == (
            "avoid"
        )
    finally:
        page.close()


@pytest.mark.subprocess  # Playwright's sync API cannot start inside the module's browser
def test_make_pdf_writes_the_summary_and_every_annex_page(out_dir, printed):
    """``python -m pipelines pdf`` on a rendered run: one PDF holding the summary and every annex
    page, each starting on a new sheet (so it has at least as many pages as its parts printed
    alone, less the sheets a part shares, and the document it prints holds every page)."""
    import subprocess
    import sys

    from pipelines import ROOT
    from pipelines.report.pdf import PACK, pack_html

    html = pack_html(out_dir)
    assert re.findall(r'data-page="([^"]+)"', html) == PAGES
    for name in PAGES:
        title = re.search(r"<h1>(.*?)</h1>", (out_dir / f"{name}.html").read_text("utf-8"))
        assert title and title.group(1) in html, name
    (out_dir / PACK).unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pipelines", "pdf", "--out", str(out_dir)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert PACK in proc.stdout
    pdf = (out_dir / PACK).read_bytes()
    assert pdf.startswith(b"%PDF")
    alone = sum(_pdf_pages(b) for b in printed.values())
    assert alone - len(PAGES) <= _pdf_pages(pdf) <= alone + len(PAGES), (_pdf_pages(pdf), alone)


def test_make_pdf_without_chromium_says_what_to_install(out_dir, monkeypatch, capsys):
    from pipelines.__main__ import main

    monkeypatch.setenv("PIPELINES_CHROMIUM", str(out_dir / "no-chromium-here"))
    assert main(["pdf", "--out", str(out_dir)]) == 2
    err = capsys.readouterr().err
    assert "apt-get install chromium" in err and "PIPELINES_CHROMIUM" in err


def test_make_pdf_before_make_report_says_to_run_it(tmp_path, capsys):
    from pipelines.__main__ import main

    assert main(["pdf", "--out", str(tmp_path)]) == 2
    assert "make report" in capsys.readouterr().err
