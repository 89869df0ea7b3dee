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
    about_link,
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
from pipelines.report.model import same_period_last_year
from pipelines.report.spec import pages, polarity, spec

#: How many key messages the summary gives, at most (the annex pages have the rest).
MAX_MESSAGES = 8


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
    """The summary's key messages, most important first: each headline figure that missed its
    target (red before amber), then each that got worse on the same period last year, then the
    comparison with the comparator for the rest; one sentence per figure, at most
    ``MAX_MESSAGES``. A withheld or blank figure says nothing."""
    missed: list[tuple[int, str]] = []
    worse: list[str] = []
    compared: list[str] = []
    ref, m = page.reference, page.metrics
    for analysis, measure_key, scope, label in [
        row for a in analyses for row in _headline_items(a)
    ]:
        r = m.get(analysis, measure_key, scope)
        if r is None or r.number is None:
            continue
        now = prose.number(r.number, r.unit)
        p = same_period_last_year(m, r)
        before = p.number if p is not None and p.denominator.strip() not in ("0", "0.0") else None
        ch = prose.change(r.number, before, r.unit, polarity(measure_key))
        then = ""
        if ch is not None and p is not None and before is not None:
            then = prose.number(before, r.unit)
            if then == now and ch.way:  # a change smaller than the rounding: one decimal place
                now, then = prose.cell(r.value, r.unit), prose.cell(p.value, r.unit)
        theirs = ""
        if held := ref.latest_benchmark(measure_key, scope):
            year, b = held
            theirs = f"{b.area} {prose.number(b.value, r.unit)}" + (f" in {year}" if year else "")
        target = ref.target(measure_key, scope)
        status = target.status(r.number) if target else None
        if target is not None and status in ("Red", "Amber"):
            side = "above" if target.lower_better else "below"
            level = prose.number(target.green, r.unit)
            s = f"{label}: {now}, {side} the target of {level} ({status.lower()})"
            s += f"; {then} in the same period last year" if then else ""
            missed.append((0 if status == "Red" else 1, s + (f"; {theirs}." if theirs else ".")))
        elif ch is not None and ch.judgement == "worse":
            s = f"{label}: {now}, worse than the same period last year ({then})"
            worse.append(s + (f"; {theirs}." if theirs else "."))
        elif theirs:
            compared.append(f"{label}: {now}; {theirs}.")
    ordered = [s for _, s in sorted(missed, key=lambda x: x[0])] + worse + compared
    return ordered[:MAX_MESSAGES]


def scorecard(page: Page, analyses: Sequence[str]) -> Section:
    """Every headline figure of every page, one table per page (each with its own caption, so
    a printed table that runs over a page keeps its header), with the quarterly trend."""
    words = _words(page)
    blocks: list[Any] = [Message(text("scorecard_intro", **words))]
    for a in analyses:
        caption = text("scorecard_caption", title=pages()[a]["title"], **words)
        blocks.append(headline_table(page, _headline_items(a), caption, trend=True))
    blocks.append(about_link("rule"))
    return Section("Scorecard", "scorecard", tuple(blocks), css="scorecard", landmark=True)


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
        before, title, after = spec()["texts"]["chart_link"]
        where = f"{info['title']}, {one.heading}"  # type: ignore[union-attr]
        link = Message(
            before, link=(f"{info['file']}#{anchor}", title.format(title=where)), after=after
        )
        figures.append(Figure("", fig.chart, None, ""))  # the chart's title heads it
        figures.append(link)
    if not figures:
        return None
    blocks = (Message(text("summary_charts_intro")), *figures)
    return Section("Charts", "charts", blocks, landmark=True)


def annex(analyses: Sequence[str]) -> Section:
    """Links to the annex: each analysis page, the about page and the data quality report."""
    info = pages()
    links = [
        Message("", link=(info[a]["file"], info[a]["title"]), after=f": {info[a]['summary']}")
        for a in analyses
    ]
    links.append(
        Message("", link=("about.html", text("about_title")), after=": " + text("about_lede"))
    )
    report, after = spec()["texts"]["dq_report"]
    links.append(Message("", link=("data_quality.html", report), after=after))
    blocks: list[Any] = [Message(text("annex_intro")), Bullets(tuple(links), css="page-list")]
    if "workforce" not in analyses:
        blocks.append(Message(text("no_workforce"), css="notice"))
    return Section("The annex", "annex", tuple(blocks), landmark=True)


def summary_blocks(page: Page, analyses: Sequence[str]) -> list[Any]:
    """The committee summary: header, key messages, scorecard, charts, the annex."""
    workforce = " and the workforce" if "workforce" in analyses else ""
    words = {**_words(page), "workforce": workforce}
    title, lede, note = (text(k, **words) for k in ("index_title", "index_lede", "index_note"))
    before, link, after = spec()["texts"]["summary_guide"]
    guide = Message(before, link=("about.html", link), after=after)
    msgs = summary_messages(page, analyses) or [text("no_summary_messages")]
    key = Section(
        "Key messages", "key-messages", (Bullets(tuple(Message(m) for m in msgs)),),
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
