"""Building blocks of a committee page, called from the thin notebooks in ``notebooks/``.

Each function returns an ``HTML`` object (IPython display) whose markup nbconvert copies into the
page. Everything shown comes from ``metrics_public.csv`` (see :mod:`pipelines.report.data`).
Headings: the page header is the only ``h1``; sections are ``h2``; figures inside them ``h3``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html as _html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipelines.report import findings
from pipelines.report.data import (
    NOT_APPLICABLE,
    RAG_RULE,
    Metrics,
    Reference,
    Row,
    category_label,
    category_order,
    definitions,
    fmt_value,
    load_public,
    load_reference,
    measure_name,
    rag_status,
    scope_label,
    target_text,
    to_number,
)
from pipelines.report.tables import Cell, breakdown_table, esc, figure_cells, html_table


class _LazyCharts:
    """``charts`` imported on first use: Altair takes 1-2 s to import, and the index page, which
    is written in the main process and draws no chart, should not pay for it."""

    def __getattr__(self, name: str) -> Any:
        from pipelines.report import charts as module

        return getattr(module, name)


charts = _LazyCharts()

#: The extracts behind each analysis (names of pipelines/contract/extracts.yaml).
EXTRACTS = {
    "referrals": ["dat_referrals", "ifss_referrals"],
    "distance_travelled": ["ifss_referrals", "ifss_distance_travelled"],
    "re_referrals": ["dat_referrals"],
    "cpr": ["cpr_registrations", "cpr_reviews"],
    "workforce": ["workforce_posts", "workforce_leavers"],
}


class HTML:
    """Minimal rich-display object (the same protocol as ``IPython.display.HTML``)."""

    def __init__(self, markup: str):
        self.data = markup

    def _repr_html_(self) -> str:
        return self.data

    def __str__(self) -> str:
        return self.data


@dataclasses.dataclass
class Context:
    """One page's parameters and data, built from the notebook's ``parameters`` cell."""

    analysis: str
    out_dir: Path
    period_start: str
    period_end: str
    data_as_at: str
    suppression_threshold: int
    raw_dir: str
    code_version: str
    run_date: str
    dq_statement: dict[str, Any]
    metrics: Metrics
    reference: Reference
    parameters: dict[str, Any]

    @property
    def period_text(self) -> str:
        return f"{_long_date(self.period_start)} to {_long_date(self.period_end)}"


def _long_date(iso: str) -> str:
    try:
        d = dt.date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{d.day} {d:%B %Y}"


def context(
    analysis: str,
    out_dir: str,
    period_start: str,
    period_end: str,
    data_as_at: str,
    suppression_threshold: int,
    raw_dir: str = "",
    code_version: str = "",
    run_date: str = "",
    dq_statement: dict[str, Any] | None = None,
    metrics: Metrics | None = None,
) -> Context:
    """Read the public metrics and reference data once for the page."""
    params = dict(
        analysis=analysis,
        out_dir=str(out_dir),
        period_start=period_start,
        period_end=period_end,
        data_as_at=data_as_at,
        suppression_threshold=suppression_threshold,
        raw_dir=raw_dir,
        code_version=code_version,
        run_date=run_date,
    )
    return Context(
        analysis=analysis,
        out_dir=Path(out_dir),
        period_start=period_start,
        period_end=period_end,
        data_as_at=data_as_at,
        suppression_threshold=int(suppression_threshold),
        raw_dir=raw_dir,
        code_version=code_version or "unknown",
        run_date=run_date or dt.date.today().isoformat(),
        dq_statement=dict(dq_statement or {}),
        metrics=metrics if metrics is not None else load_public(Path(out_dir)),
        reference=load_reference(),
        parameters=params,
    )


# ---------------------------------------------------------------------------------------------
# Page furniture


def header(ctx: Context) -> HTML:
    """The ``h1``, what the page covers, the period and the key messages."""
    info = definitions()["analyses"][ctx.analysis]
    msgs = findings.key_messages(ctx.metrics, ctx.analysis, ctx.reference)
    items = "".join(f"<li>{esc(m)}</li>" for m in msgs) or (
        "<li>No figures were produced for this analysis in this period.</li>"
    )
    return HTML(
        f'<header class="page-header"><p class="back"><a href="index.html">All reports</a></p>'
        f"<h1>{esc(info['title'])}</h1>"
        f'<p class="lede">{esc(info["summary"])}</p>'
        f'<p class="period">Period: <strong>{esc(ctx.period_text)}</strong>. '
        f"Data as at {esc(_long_date(ctx.data_as_at))}.</p></header>"
        f'<section class="key-messages" aria-labelledby="key-messages"><h2 id="key-messages">'
        f"Key messages</h2><ul>{items}</ul></section>"
    )


def legend(ctx: Context) -> HTML:
    """Symbols legend: what ``c`` and ``–`` mean."""
    t = ctx.suppression_threshold
    return HTML(
        '<section class="legend" aria-labelledby="symbols"><h2 id="symbols">Symbols used</h2><dl>'
        f'<dt><abbr title="withheld">c</abbr></dt><dd>Withheld to protect children\'s privacy: '
        f"a count from 1 to {t}, a figure that would let such a count be worked out, or a "
        f"percentage whose count is withheld. Withheld figures are not drawn in charts.</dd>"
        f"<dt>{NOT_APPLICABLE}</dt><dd>Not applicable or not available (for example a rate with "
        "no cases to count, or no comparator held).</dd>"
        "<dt>0</dt><dd>A true zero.</dd></dl>"
        "<p>Percentages are rounded to one decimal place in tables and to whole numbers in text "
        "and charts, so they may not add to 100.</p></section>"
    )


def headline(
    ctx: Context,
    items: Sequence[tuple[str, str, str, str]],
    heading: str = "Headline figures",
    caption: str | None = None,
) -> HTML:
    """Headline table: this period, previous year, Wales, target and RAG status."""
    table = headline_table(
        ctx.metrics,
        ctx.reference,
        items,
        caption or f"{heading}, {ctx.period_text}",
        ctx.period_end,
    )
    return HTML(
        f'<section aria-labelledby="headline"><h2 id="headline">{esc(heading)}</h2>{table}'
        f'<p class="rule"><strong>How the status is set.</strong> {esc(RAG_RULE)}</p></section>'
    )


def headline_table(
    metrics: Metrics,
    reference: Reference,
    items: Sequence[tuple[str, str, str, str]],
    caption: str,
    period_end: str,
) -> str:
    """``items``: (analysis, measure, scope, label). Rows missing from metrics are skipped."""
    rows = []
    for analysis, measure, scope, label in items:
        r = metrics.get(analysis, measure, scope)
        if r is None:
            continue
        prev = previous_year(metrics, analysis, measure, scope, period_end)
        lb = reference.latest_benchmark(measure, scope)
        bench_txt = NOT_APPLICABLE
        if lb:
            period, b = lb
            bench_txt = fmt_value(b["value"], r.unit) + (f" ({period})" if period else "")
        target = reference.target(measure, scope)
        status = rag_status(r.number, target)
        prev_cell = (
            Cell(
                f'<span data-key="{esc(prev[1].key)}" data-field="value">'
                f"{esc(fmt_value(prev[1].value, prev[1].unit))}</span> ({esc(prev[0])})",
                True,
                raw_html=True,
            )
            if prev
            else Cell(NOT_APPLICABLE, True)
        )
        rows.append(
            [
                Cell(label),
                Cell(fmt_value(r.value, r.unit), True, r.key, "value"),
                prev_cell,
                Cell(bench_txt, True),
                Cell(target_text(target, r.unit), True),
                Cell(_rag_html(status), raw_html=True),
            ]
        )
    if not rows:
        return "<p>No headline figures were produced for this period.</p>"
    return html_table(
        caption,
        ["Measure", "This period", "Previous year", "Wales", "Target", "Status"],
        rows,
        numeric_cols=(1, 2, 3, 4),
    )


def _rag_html(status: str | None) -> str:
    if status is None:
        return '<span class="rag-none">No target set</span>'
    word = {
        "Green": "Green: target met",
        "Amber": "Amber: just missed",
        "Red": "Red: target missed",
    }[status]
    return f'<span class="rag rag-{status.lower()}">{esc(word)}</span>'


def previous_year(
    metrics: Metrics, analysis: str, measure: str, scope: str, period_end: str
) -> tuple[str, Row] | None:
    """The financial year before the one containing period_end, when the measure has years."""
    years = metrics.select(analysis, measure, scope, "financial_year")
    if not years:
        return None
    try:
        end = dt.date.fromisoformat(period_end)
    except ValueError:
        return None
    start_year = end.year if end.month >= 4 else end.year - 1
    want = f"{start_year - 1}-{str(start_year)[2:]}"
    for r in years:
        if r.category == want:
            return want, r
    return None


def definitions_section(ctx: Context, measures: Sequence[str]) -> HTML:
    """What each measure on the page means: numerator and denominator, from definitions.yaml."""
    defs = definitions()["measures"]
    parts = [
        '<section aria-labelledby="definitions"><h2 id="definitions">What the measures mean'
        "</h2><dl>"
    ]
    for m in measures:
        d = defs.get(m)
        if not d:
            continue
        body = []
        if d.get("definition"):
            body.append(esc(d["definition"]))
        if d.get("numerator"):
            body.append(f"<strong>Numerator:</strong> {esc(d['numerator'])}.")
        if d.get("denominator"):
            body.append(f"<strong>Denominator:</strong> {esc(d['denominator'])}.")
        parts.append(f"<dt>{esc(d['name'])}</dt><dd>{' '.join(body)}</dd>")
    parts.append("</dl></section>")
    return HTML("".join(parts))


def data_quality(ctx: Context) -> HTML:
    """The data quality statement for the extracts behind this page."""
    return HTML(
        '<section aria-labelledby="data-quality"><h2 id="data-quality">Data quality</h2>'
        + dq_html(ctx.dq_statement, EXTRACTS.get(ctx.analysis, []))
        + "<p>Every problem found, with how to fix it in the case management system, is in the "
        '<a href="data_quality.html">data quality report</a>.</p></section>'
    )


def dq_html(statement: dict[str, Any], extracts: Sequence[str]) -> str:
    """Render the validation stage's statement: overall text, then the entries for ``extracts``.

    The statement is a dict from ``ValidationResult.statement()``; its known shapes are handled
    and anything else is shown as plain key/value text.
    """
    if not statement:
        return "<p>No data quality statement was supplied for this run.</p>"
    out = []
    for k in ("summary", "statement", "text", "overall", "verdict", "message"):
        v = statement.get(k)
        if isinstance(v, str) and v.strip():
            out.append(f"<p>{esc(v)}</p>")
            break
    per = None
    for k in ("extracts", "by_extract", "per_extract", "files"):
        if isinstance(statement.get(k), dict):
            per = statement[k]
            break
        if isinstance(statement.get(k), list):
            per = {
                str(e.get("extract", i)): e
                for i, e in enumerate(statement[k])
                if isinstance(e, dict)
            }
            break
    if per and all(isinstance(e, dict) and "rows_read" in e for e in per.values()):
        out.append(_dq_table(per, extracts))
    elif per:
        items = []
        for name in extracts:
            e = per.get(name)
            if e is None:
                continue
            items.append(f"<li><strong>{esc(name)}</strong>: {esc(_describe(e))}</li>")
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
    if not out:
        simple = {k: v for k, v in statement.items() if isinstance(v, (str, int, float, bool))}
        if simple:
            out.append(
                "<ul>"
                + "".join(
                    f"<li>{esc(k.replace('_', ' '))}: {esc(v)}</li>" for k, v in simple.items()
                )
                + "</ul>"
            )
    return "".join(out) or "<p>No data quality statement was supplied for this run.</p>"


def _dq_table(per: dict[str, dict[str, Any]], extracts: Sequence[str]) -> str:
    """The shape of ``ValidationResult.statement()``: one line per extract, warnings listed."""
    names = [n for n in extracts if n in per] or list(per)
    rows, notes = [], []
    for name in names:
        e = per[name]
        label = str(e.get("grain") or name)
        label = label[:1].upper() + label[1:]
        if not e.get("delivered", True):
            rows.append([Cell(label)] + [Cell(NOT_APPLICABLE, True)] * 5 + [Cell("not supplied")])
            continue
        rows.append(
            [
                Cell(label),
                Cell(f"{int(e.get('rows_read', 0)):,}", True),
                Cell(f"{int(e.get('rows_loaded', 0)):,}", True),
                Cell(f"{int(e.get('rows_set_aside', 0)):,}", True),
                Cell(f"{int(e.get('errors', 0)):,}", True),
                Cell(f"{int(e.get('warnings', 0)):,}", True),
                Cell("yes" if e.get("reconciles", True) else "no"),
            ]
        )
        for line in e.get("warnings_summary") or []:
            notes.append(f"<li>{esc(label)}: {esc(line)}</li>")
    table = html_table(
        "Rows read, loaded and set aside for the extracts behind these figures",
        ["Extract", "Rows read", "Loaded", "Set aside", "Errors", "Warnings", "Counts reconcile"],
        rows,
        numeric_cols=(1, 2, 3, 4, 5),
    )
    if notes:
        table += "<p>Warnings that may affect these figures:</p><ul>" + "".join(notes) + "</ul>"
    return table


def _describe(entry: Any) -> str:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict):
        for k in ("statement", "summary", "text", "message"):
            if isinstance(entry.get(k), str):
                return entry[k]
        return "; ".join(
            f"{k.replace('_', ' ')} {v}"
            for k, v in entry.items()
            if isinstance(v, (str, int, float)) and k != "extract"
        )
    return str(entry)


def provenance(ctx: Context) -> HTML:
    """Extract date, run date, parameters and code version."""
    rows = [
        ["Reporting period", ctx.period_text],
        ["Extract taken (data as at)", _long_date(ctx.data_as_at)],
        ["Report run on", _long_date(ctx.run_date[:10]) + ctx.run_date[10:]],
        ["Suppression threshold", f"counts from 1 to {ctx.suppression_threshold} withheld"],
        ["Extracts folder", ctx.raw_dir or NOT_APPLICABLE],
        ["Code version", ctx.code_version],
        ["Figures from", "metrics_public.csv (figures after disclosure control)"],
        ["Notebook", f"notebooks/{ctx.analysis}.ipynb (executed copy kept beside this page)"],
    ]
    table = html_table(
        "How these figures were produced", ["Item", "Value"], [[Cell(a), Cell(b)] for a, b in rows]
    )
    return HTML(
        '<section aria-labelledby="provenance"><h2 id="provenance">About these figures'
        f"</h2>{table}</section>"
    )


# ---------------------------------------------------------------------------------------------
# Figures


def section(heading: str, intro: str = "", anchor: str = "") -> HTML:
    """An ``h2`` starting a section of the page."""
    anchor = anchor or _slug(heading)
    p = f"<p>{esc(intro)}</p>" if intro else ""
    return HTML(f'<h2 id="{esc(anchor)}">{esc(heading)}</h2>{p}')


def _slug(text: str) -> str:
    return "".join(ch.lower() if ch.isalnum() else "-" for ch in text).strip("-")


def _subtitle(ctx: Context, measure_text: str, scope: str) -> str:
    return f"{measure_text}, {scope_label(scope)}, Newport, {ctx.period_text}"


def _withheld_note(rows: Sequence[Row]) -> str:
    gone = [category_label(r.breakdown, r.category) for r in rows if r.number is None]
    if not gone:
        return ""
    return "Not drawn (withheld or not applicable): " + ", ".join(gone) + "."


def breakdown(
    ctx: Context,
    measure: str,
    scope: str,
    dimension: str,
    noun: str,
    heading_level: int = 3,
    top_first: bool = False,
) -> HTML:
    """Bar chart and table of one measure split by one dimension, titled with the finding."""
    rows = ctx.metrics.select(ctx.analysis, measure, scope, dimension)
    if not rows:
        return HTML("")
    order = category_order(dimension, [r.category for r in rows])
    rows = sorted(rows, key=lambda r: order.index(r.category))
    if top_first:
        rows = sorted(rows, key=lambda r: -(r.number if r.number is not None else -1))
    unit = rows[0].unit
    title = findings.breakdown_title(rows, measure, scope, noun)
    measure_text = f"{measure_name(measure)} by {_dimension_name(dimension)}"
    bars = [charts.Bar(category_label(r.breakdown, r.category), r.number) for r in rows]
    axis = "Percentage" if unit == "percent" else measure_name(measure)
    chart = charts.bar_chart(bars, title, _subtitle(ctx, measure_text, scope), unit, axis)
    alt_text = (
        f"Bar chart. {title}. "
        + "; ".join(f"{b.label}: {charts._fmt(b.value, unit)}" for b in bars if b.value is not None)
        + "."
    )
    fig = charts.figure(chart, alt_text, _withheld_note(rows))
    table = breakdown_table(
        f"{measure_text}, {scope_label(scope)}, {ctx.period_text}",
        rows,
        _dimension_name(dimension).capitalize(),
    )
    h = f"h{heading_level}"
    return HTML(f'<div class="figure-block"><{h}>{esc(measure_text)}</{h}>{fig}{table}</div>')


def _dimension_name(dimension: str) -> str:
    return {
        "source_group": "source",
        "age_band": "age group",
        "reason": "reason for referral",
        "case_status": "case status",
        "primary_substance": "main substance misused",
        "referral_type": "type of referral",
        "domain": "domain",
        "outcome": "decision",
        "count_band": "number of earlier referrals",
        "category": "category of abuse",
        "time_since_deregistration": "time since last deregistration",
        "team": "team",
        "role": "role",
        "band": "time since qualifying",
        "financial_year": "financial year",
        "quarter": "quarter",
    }.get(dimension, dimension.replace("_", " "))


def trend(
    ctx: Context,
    measure: str,
    scope: str,
    noun: str,
    dimension: str = "financial_year",
    heading_level: int = 3,
) -> HTML:
    """Line chart and table over financial years, with the Wales comparator where one is held."""
    rows = ctx.metrics.select(ctx.analysis, measure, scope, dimension)
    if not rows:
        return HTML("")
    unit = rows[0].unit
    label = scope_label(scope) if scope not in ("DAT", "CPR") else "Newport"
    points = [charts.Point(r.category, r.number, "Newport") for r in rows]
    bench_rows = []
    for b in ctx.reference.benchmark(measure, scope, dimension, None):
        v = to_number(b["value"])
        if v is not None and (b["category"], v) not in bench_rows:
            bench_rows.append((b["category"], v))
    periods = [r.category for r in rows]
    for period, v in bench_rows:
        if period in periods:
            points.append(charts.Point(period, v, "Wales"))
    title = findings.trend_title(rows, noun)
    if bench_rows:
        wales = "; ".join(f"Wales {charts._fmt(v, unit)} in {p}" for p, v in bench_rows)
        title_sub = f"{measure_name(measure)}, {label} and Wales, by financial year"
    else:
        wales = ""
        title_sub = f"{measure_name(measure)}, {label}, by financial year"
    chart = charts.line_chart(
        points, title, title_sub, unit, "Percentage" if unit == "percent" else measure_name(measure)
    )
    alt_text = (
        f"Line chart. {title}. "
        + "; ".join(
            f"{p.period}: {charts._fmt(p.value, unit)}"
            for p in points
            if p.value is not None and p.series == "Newport"
        )
        + "."
        + (f" {wales}." if wales else "")
    )
    fig = charts.figure(chart, alt_text, _withheld_note(rows))
    body = []
    bench_map = dict(bench_rows)
    for r in rows:
        cells = [Cell(r.category)] + figure_cells(r, unit)
        bv = bench_map.get(r.category)
        cells.append(Cell(fmt_value(str(bv), unit) if bv is not None else NOT_APPLICABLE, True))
        body.append(cells)
    table = html_table(
        f"{measure_name(measure)} by financial year, {label}, with the Wales comparator",
        [
            "Financial year",
            "Number",
            "Out of",
            "Percentage" if unit == "percent" else "Value",
            "Wales",
        ],
        body,
        numeric_cols=(1, 2, 3, 4),
    )
    note = "" if bench_rows else "<p>No Wales comparator is held for this measure.</p>"
    h = f"h{heading_level}"
    heading = f"{measure_name(measure)} by financial year"
    return HTML(f'<div class="figure-block"><{h}>{esc(heading)}</{h}>{fig}{table}{note}</div>')


def figures_table(
    ctx: Context,
    items: Sequence[tuple[str, str, str, str]],
    caption: str,
    heading: str = "",
    chart_title: str | None = None,
) -> HTML:
    """Table of single figures (analysis, measure, scope, label) with target and status.

    When every figure is a percentage and ``chart_title`` is given, a bar chart is drawn too.
    """
    rows, bars, units = [], [], set()
    for analysis, measure, scope, label in items:
        r = ctx.metrics.get(analysis, measure, scope)
        if r is None:
            continue
        target = ctx.reference.target(measure, scope)
        status = rag_status(r.number, target)
        rows.append(
            [Cell(label)]
            + figure_cells(r)
            + [Cell(target_text(target, r.unit), True), Cell(_rag_html(status), raw_html=True)]
        )
        bars.append(charts.Bar(label, r.number))
        units.add(r.unit)
    if not rows:
        return HTML("")
    table = html_table(
        caption,
        ["Measure", "Number", "Out of", "Value", "Target", "Status"],
        rows,
        numeric_cols=(1, 2, 3, 4),
    )
    fig = ""
    if chart_title and units == {"percent"}:
        chart = charts.bar_chart(
            bars, chart_title, f"{caption}, {ctx.period_text}", "percent", "Percentage"
        )
        alt_text = (
            f"Bar chart. {chart_title}. "
            + "; ".join(
                f"{b.label}: {charts._fmt(b.value, 'percent')}" for b in bars if b.value is not None
            )
            + "."
        )
        note = (
            "Not drawn (withheld or not applicable): "
            + ", ".join(b.label for b in bars if b.value is None)
            + "."
            if any(b.value is None for b in bars)
            else ""
        )
        fig = charts.figure(chart, alt_text, note)
    h = f"<h3>{esc(heading or caption)}</h3>"
    return HTML(f'<div class="figure-block">{h}{fig}{table}</div>')


def scope_bars(
    ctx: Context, items: Sequence[tuple[str, str, str, str]], measure: str, title: str | None = None
) -> HTML:
    """Bar chart of one measure across services (the numbers are in the table above it)."""
    bars = []
    for analysis, m, scope, label in items:
        r = ctx.metrics.get(analysis, m, scope)
        if r is not None:
            bars.append((charts.Bar(label, r.number), r.unit))
    if not bars:
        return HTML("")
    unit = bars[0][1]
    shown = [b for b, _ in bars if b.value is not None]
    if title is None and shown:
        top = max(shown, key=lambda b: b.value)
        value = charts._fmt(top.value, unit)
        title = f"{top.label} had the highest {measure_name(measure).lower()} ({value})"
    title = title or f"{measure_name(measure)} by service"
    name = measure_name(measure)
    chart = charts.bar_chart(
        [b for b, _ in bars],
        title,
        f"{name} by service, Newport, {ctx.period_text}",
        unit,
        "Percentage" if unit == "percent" else name,
    )
    alt_text = (
        f"Bar chart. {title}. "
        + "; ".join(f"{b.label}: {charts._fmt(b.value, unit)}" for b in shown)
        + "."
    )
    gone = [b.label for b, _ in bars if b.value is None]
    note = ("Not drawn (withheld or not applicable): " + ", ".join(gone) + ".") if gone else ""
    return HTML(
        f'<div class="figure-block"><h3>{esc(name)} by service</h3>'
        f"{charts.figure(chart, alt_text, note)}</div>"
    )


def cross_table(
    ctx: Context,
    measure: str,
    dimension: str,
    scopes: Sequence[str],
    caption: str,
    first_header: str,
    field: str = "value",
) -> HTML:
    """Categories down, scopes across: one figure (``field``) per cell."""
    cats: list[str] = []
    for s in scopes:
        for r in ctx.metrics.select(ctx.analysis, measure, s, dimension):
            if r.category not in cats:
                cats.append(r.category)
    if not cats:
        return HTML("")
    cats = category_order(dimension, cats)
    present = [s for s in scopes if ctx.metrics.select(ctx.analysis, measure, s, dimension)]
    body = []
    for c in cats:
        line = [Cell(category_label(dimension, c))]
        for s in present:
            r = ctx.metrics.get(ctx.analysis, measure, s, dimension, c)
            line += figure_cells(r, None, (field,))
        body.append(line)
    return HTML(
        html_table(
            caption,
            [first_header] + [scope_label(s) for s in present],
            body,
            numeric_cols=range(1, len(present) + 1),
        )
    )


def scope_lines(
    ctx: Context,
    measure: str,
    dimension: str,
    scopes: Sequence[str],
    title: str,
    subtitle: str,
    axis: str,
) -> HTML:
    """Line chart of one measure over ``dimension`` (e.g. quarter) with one line per scope."""
    points = []
    for s in scopes:
        for r in ctx.metrics.select(ctx.analysis, measure, s, dimension):
            points.append(charts.Point(r.category, r.number, scope_label(s)))
    if not points:
        return HTML("")
    unit = ctx.metrics.select(ctx.analysis, measure)[0].unit
    chart = charts.line_chart(points, title, subtitle, unit, axis)
    alt_text = (
        f"Line chart. {title}. "
        + "; ".join(
            f"{p.series} {p.period}: {charts._fmt(p.value, unit)}"
            for p in points
            if p.value is not None
        )
        + "."
    )
    gone = [f"{p.series} {p.period}" for p in points if p.value is None]
    note = ("Not drawn (withheld or not applicable): " + ", ".join(gone) + ".") if gone else ""
    return HTML(charts.figure(chart, alt_text, note))


def stat(ctx: Context, measure: str, scope: str, text: str) -> HTML:
    """A sentence with one figure, e.g. "The Prevention Service received 434 referrals"."""
    r = ctx.metrics.get(ctx.analysis, measure, scope)
    if r is None:
        return HTML("")
    v = fmt_value(r.value, r.unit)
    return HTML(
        f'<p class="stat">{esc(text)}: <strong data-key="{esc(r.key)}" '
        f'data-field="value">{esc(v)}</strong></p>'
    )


def raw(markup: str) -> HTML:
    return HTML(markup)


def text(paragraph: str) -> HTML:
    return HTML(f"<p>{_html.escape(paragraph)}</p>")
