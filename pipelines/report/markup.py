"""Blocks to HTML through the Jinja templates in ``templates/`` (autoescape on), and the one call
each notebook makes (``show_page``).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from pipelines.report.blocks import Chart, Page, page_blocks
from pipelines.report.params import ReportParameters
from pipelines.report.prose import long_date
from pipelines.report.spec import pages

TEMPLATES = Path(__file__).resolve().parent / "templates"
_chart_ids = itertools.count(1)


def _svg(chart: Chart) -> Markup:
    # Altair is imported on the first chart only (the about page, written in the main process, has
    # none; the summary's few charts import it there)
    from pipelines.report import charts

    return Markup(charts.svg(chart))


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(svg=_svg, chart_id=lambda: f"chart-{next(_chart_ids)}")
    return env


def warm() -> None:
    """What every page needs first, done while a kernel waits for work: the page templates
    compiled, ``pages.yaml`` read, and vl-convert started (``charts.warm``)."""
    from pipelines.report import charts

    environment().get_template("blocks.html.j2")
    pages()
    charts.warm()


def render(parts: Sequence[Any]) -> str:
    """The markup of a list of blocks."""
    macros: Any = environment().get_template("blocks.html.j2").module
    return str(macros.blocks(parts)).strip()


def page_css() -> str:
    return (TEMPLATES / "style.css").read_text(encoding="utf-8")


def page_title(params: ReportParameters, title: str) -> str:
    """The page's ``<title>`` (the browser tab, a bookmark, the PDF's outline): dates in words,
    as everywhere else on the page."""
    start, end = long_date(params.period_start), long_date(params.period_end)
    return f"{title}, {start} to {end}: {params.council} {params.service}"


class HTML:
    """A rich-display object (the protocol of ``IPython.display.HTML``): a notebook output."""

    def __init__(self, markup: str):
        self.data = markup

    def _repr_html_(self) -> str:
        return self.data


def show_page(analysis: str, namespace: Mapping[str, Any]) -> None:
    """Display an analysis page in the running notebook, one output per part (opening, each
    section, closing). ``namespace`` holds the notebook's parameters (``globals()``)."""
    from IPython.display import display

    page = Page.open(analysis, ReportParameters.from_namespace(namespace))
    for part in page_blocks(page):
        display(HTML(render(part)))


def _write(page: Page, name: str, title: str, parts: Sequence[Any]) -> Path:
    """A page built in the main process (the summary, the about page) in the shared shell."""
    html = (
        environment()
        .get_template("index.html.j2")
        .render(
            title=page_title(page.params, title),
            css=Markup(page_css()),
            footer=page.params.footer_text,
            parts=parts,
        )
    )
    path = page.params.out_path / name
    path.write_text(html, encoding="utf-8")
    return path


def write_index(page: Page, analyses: Sequence[str]) -> Path:
    """``index.html``: the committee summary (key messages, scorecard, charts, the annex)."""
    from pipelines.report.summary import summary_blocks

    ordered = [a for a in pages() if a in analyses]
    return _write(page, "index.html", "Performance summary", summary_blocks(page, ordered))


def write_summary(namespace: Mapping[str, Any], analyses: Sequence[str]) -> Path:
    """``index.html`` written in a notebook kernel (see ``runner.SUMMARY``), from the run's
    parameters as the notebooks get them."""
    return write_index(Page.open("index", ReportParameters.from_namespace(namespace)), analyses)


def write_about(page: Page, analyses: Sequence[str]) -> Path:
    """``about.html``: symbols, status rule, glossary, definitions, data quality, provenance."""
    from pipelines.report.summary import about_blocks

    ordered = [a for a in pages() if a in analyses]
    return _write(page, "about.html", "About these figures", about_blocks(page, ordered))
