"""The committee pack as one PDF: the summary, then every annex page, printed by headless Chromium.

``python -m pipelines pdf`` (``make pdf``) reads the report folder a ``make report`` with the same
options wrote, joins the pages into one HTML document (``pack_html``: the summary, each analysis
page, the about page; each starts on a new sheet) and prints it to A4 with the pages' own print
stylesheet, into ``<out>/committee_pack.pdf``. Nothing is fetched: the pages are self-contained
and every request the browser makes is refused.

Chromium comes from ``PIPELINES_CHROMIUM`` or ``/usr/bin/chromium``; it is driven through
Playwright (the Python package, used by the browser tests too).
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from pipelines.errors import PipelineError
from pipelines.report.spec import pages

PACK = "committee_pack.pdf"
CHROMIUM_ENV = "PIPELINES_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def pack_files(out_dir: Path) -> list[Path]:
    """The pages of the pack in order: the summary, each analysis page the run wrote (in the
    order of pages.yaml), the about page. Refuses a folder without a report."""
    out_dir = Path(out_dir)
    summary, about = out_dir / "index.html", out_dir / "about.html"
    if not summary.is_file() or not about.is_file():
        raise PipelineError(
            f"There is no committee report in {out_dir} (index.html and about.html are missing). "
            "Run `make report` (python -m pipelines report) with the same options first: "
            "`make pdf` prints the pages it wrote."
        )
    annex = [out_dir / info["file"] for info in pages().values()]
    return [summary, *[p for p in annex if p.is_file()], about]


_MAIN = re.compile(r"<main[^>]*>(.*)</main>", re.S)
_HEAD = re.compile(r"^(.*?)<body[^>]*>", re.S)


def _prefix_ids(markup: str, name: str, files: dict[str, str]) -> str:
    """Make one page's ids unique in the pack (``name--id``) and turn links between the pages
    of the pack into links inside the document."""
    markup = re.sub(r'\b(id|aria-labelledby)="([^"]+)"', rf'\1="{name}--\2"', markup)
    markup = re.sub(r"url\(#([^)]+)\)", rf"url(#{name}--\1)", markup)
    markup = re.sub(r'href="#([^"]+)"', rf'href="#{name}--\1"', markup)

    def link(m: re.Match[str]) -> str:
        target, anchor = files[m.group(1)], m.group(2)
        return f'href="#{target}--{anchor}"' if anchor else f'href="#page-{target}"'

    pattern = "|".join(re.escape(f) for f in files)
    return re.sub(rf'href="({pattern})(?:#([^"]*))?"', link, markup)


def pack_html(out_dir: Path) -> str:
    """One HTML document: the head of the summary (title, the shared CSS), then the ``<main>``
    of each page of the pack in a ``<div class="pack-page">`` (the print stylesheet starts each
    on a new sheet), then the summary's footer."""
    files = pack_files(out_dir)
    names = {p.name: p.stem for p in files}
    first = files[0].read_text(encoding="utf-8")
    head = _HEAD.match(first)
    if head is None:
        raise PipelineError(f"{files[0]} is not a committee page (no <body>): run `make report`.")
    parts = []
    for path in files:
        markup = path.read_text(encoding="utf-8")
        main = _MAIN.search(markup)
        if main is None:
            raise PipelineError(f"{path} is not a committee page (no <main>): run `make report`.")
        body = _prefix_ids(main.group(1), path.stem, names)
        parts.append(
            f'<div class="pack-page" id="page-{path.stem}" data-page="{html.escape(path.stem)}">'
            f"{body}</div>"
        )
    footer = re.search(r'<footer class="page-footer">.*?</footer>', first, re.S)
    return (
        head.group(0)
        + '\n<main id="main">\n'
        + "\n".join(parts)
        + "\n</main>\n"
        + (footer.group(0) if footer else "")
        + "\n</body>\n</html>\n"
    )


def chromium_path() -> Path:
    """The Chromium to print with; a clear error naming what to install when there is none."""
    path = Path(os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM)
    if not path.is_file():
        raise PipelineError(
            f"Chromium is needed to print the PDF and was not found at {path}. Install it "
            f"(Debian or Ubuntu: `apt-get install chromium`), or set {CHROMIUM_ENV} to the path "
            "of a Chromium or Chrome executable, then run `make pdf` again."
        )
    return path


def write_pdf(out_dir: Path) -> Path:
    """Print the pack (``pack_html``) to ``<out_dir>/committee_pack.pdf`` on A4 with page
    numbers in the footer; return the path."""
    out_dir = Path(out_dir)
    document = pack_html(out_dir)
    browser_path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise PipelineError(
            "The Python package playwright is needed to print the PDF and is not installed in "
            "this environment. Build the environment with it (make env), then run `make pdf` "
            "again."
        ) from exc
    target = out_dir / PACK
    footer = (
        '<div style="font-size:8pt;font-family:Arial,sans-serif;width:100%;text-align:center;">'
        'Page <span class="pageNumber"></span> of <span class="totalPages"></span></div>'
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(browser_path), args=ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", lambda route: route.abort())  # nothing is fetched
            page.set_content(document, wait_until="load")
            page.pdf(
                path=str(target),
                format="A4",
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=footer,
                prefer_css_page_size=True,
                outline=True,
                tagged=True,
            )
        finally:
            browser.close()
    return target
