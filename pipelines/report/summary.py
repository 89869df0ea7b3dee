"""The committee summary (``index.html``) and the about page (``about.html``) as blocks.

The summary leads the pack: the key messages (targets missed first, then figures that got worse
on the same period last year, then the comparison with the comparator), the scorecard of every
headline figure of every page (with its quarterly trend as a small line) and a few charts drawn
as on the annex pages (``pages.yaml`` ``summary.charts``). The analysis pages are its annex.

The about page says once what every page would otherwise repeat: the symbols, the status rule,
the glossary of service names and terms, the definitions of every measure, the data quality
statement and how the figures were produced (no machine paths).

Like blocks.py this builds dataclass blocks only; markup.py writes the HTML.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from pipelines.report import prose
from pipelines.report.blocks import (
    Bullets,
    Figure,
    Header,
    Message,
    Page,
    Section,
    _headline_items,
    _link,
    coverage_notes,
    data_quality,
    definitions,
    glossary,
    headline_table,
    legend,
    provenance,
    section,
    status_rule,
    text,
)
from pipelines.report.spec import pages, spec

#: How many key messages the summary gives, at most (the annex pages have the rest).
MAX_MESSAGES = 8


def heading(key: str) -> str:
    """A heading of the summary (``pages.yaml`` ``texts.summary_headings``)."""
    return str(spec()["texts"]["summary_headings"][key])


def _words(page: Page) -> dict[str, str]:
    p = page.params
    return dict(
        service=p.service,
        council=p.council,
        period=page.period_text,
        comparator=p.comparator,
        as_at=prose.long_date(p.data_as_at),
    )


def summary_messages(page: Page, analyses: Sequence[str]) -> list[str]:
    """The summary's key messages (``prose.summary_messages``) from the headline figures of
    every page, at most ``MAX_MESSAGES``."""
    items = [row for a in analyses for row in _headline_items(a)]
    return prose.summary_messages(
        page.metrics, page.reference, items, MAX_MESSAGES, page.coverage()
    )


def scorecard(page: Page, analyses: Sequence[str]) -> Section:
    """Every headline figure of every page, one table per page (each with its own caption, so
    a printed table that runs over a page keeps its header), with the quarterly trend."""
    words = _words(page)
    blocks: list[Any] = [Message(text("scorecard_intro", **words))]
    for a in analyses:
        caption = text("scorecard_caption", title=pages()[a]["title"], **words)
        blocks.append(headline_table(page, _headline_items(a), caption, trend=True))
    # the guide at the top of the summary already links to the about page: said once
    return Section(heading("scorecard"), "scorecard", tuple(blocks), css="scorecard",
                   landmark=True)  # fmt: skip


def summary_charts(page: Page, analyses: Sequence[str]) -> Section | None:
    """The charts of ``pages.yaml`` ``summary.charts``, built by the same builders as on their
    page (so they read the same), each with a link to the page section holding its table."""
    figures: list[Any] = []
    for analysis, anchor, number in spec().get("summary", {}).get("charts", []):
        if analysis not in analyses:
            continue
        info = pages()[analysis]
        sec = next(s for s in info["sections"] if s["anchor"] == anchor)
        one = section(
            dataclasses.replace(page, analysis=analysis), {**sec, "blocks": [sec["blocks"][number]]}
        )
        fig = one.blocks[0] if one is not None else None
        if not isinstance(fig, Figure) or fig.chart is None:
            continue
        before, words, after = spec()["texts"]["chart_link"]
        where = words.format(page=info["title"], section=one.heading)  # type: ignore[union-attr]
        link = Message(before, link=(f"{info['file']}#{anchor}", where), after=after)
        figures.append(Figure("", fig.chart, None, ""))  # the chart's title heads it
        figures.append(link)
    if not figures:
        return None
    blocks = (Message(text("summary_charts_intro")), *figures)
    return Section(heading("charts"), "charts", blocks, landmark=True)


def annex(analyses: Sequence[str]) -> Section:
    """Links to the annex: each analysis page, the about page and the data quality report."""
    info = pages()
    links = [
        Message("", link=(info[a]["file"], info[a]["title"]), after=f": {info[a]['summary']}")
        for a in analyses
    ]
    # what the about page holds is said once, in the guide at the top of the summary
    links.append(Message("", link=("about.html", text("about_title")), after=""))
    report, after = spec()["texts"]["dq_report"]
    links.append(Message("", link=("data_quality.html", report), after=after))
    blocks: list[Any] = [Message(text("annex_intro")), Bullets(tuple(links), css="page-list")]
    if "workforce" not in analyses:
        blocks.append(Message(text("no_workforce"), css="notice"))
    return Section(heading("annex"), "annex", tuple(blocks), landmark=True)


def summary_blocks(page: Page, analyses: Sequence[str]) -> list[Any]:
    """The committee summary: header, key messages, scorecard, charts, the annex."""
    workforce = text("index_lede_workforce") if "workforce" in analyses else ""
    words = {**_words(page), "workforce": workforce}
    note_key = "index_note" if page.params.suppression_threshold else "index_note_none"
    title, lede, note = (text(k, **words) for k in ("index_title", "index_lede", note_key))
    before, link, after = spec()["texts"]["summary_guide"]
    guide = Message(before, link=("about.html", link), after=after)
    msgs = summary_messages(page, analyses) or [text("no_summary_messages")]
    key = Section(
        heading("key_messages"), "key-messages", (Bullets(tuple(Message(m) for m in msgs)),),
        css="key-messages", landmark=True,
    )  # fmt: skip
    parts: list[Any] = [
        Header(title, lede, note, page.period_text, back=False),
        *coverage_notes(page, summary=True),  # extracts that do not cover the whole period
        guide,
        key,
        scorecard(page, analyses),
    ]
    if charts := summary_charts(page, analyses):
        parts.append(charts)
    parts.append(annex(analyses))
    return parts


def about_blocks(page: Page, analyses: Sequence[str]) -> list[Any]:
    """The about page: symbols, status rule, glossary, definitions, data quality, provenance."""
    note = text("as_at", as_at=prose.long_date(page.params.data_as_at))
    return [
        Header(text("about_title"), text("about_lede"), note, page.period_text),
        legend(page),
        status_rule(page),
        glossary(),
        definitions(page, analyses),
        data_quality(page, [], _link("dq_page_link")),
        provenance(page),
    ]
