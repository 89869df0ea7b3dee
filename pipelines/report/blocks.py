"""The pages as typed blocks: tables, charts, statistics and messages, built by pure functions.

No HTML here: ``templates/blocks.html.j2`` turns blocks into markup and ``charts.py`` turns a
:class:`Chart` into an Altair spec. ``page_blocks`` builds an analysis page from its entry in
``pages.yaml`` (one builder per block kind, ``BUILDERS``); ``index_blocks`` builds the index.
Every figure comes from the public metrics (:mod:`pipelines.report.model`); every title and
sentence from :mod:`pipelines.report.prose`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from pipelines.report import prose
from pipelines.report.model import (
    RAG_RULE,
    Metrics,
    Reference,
    Row,
    load_public,
    load_reference,
    previous_year,
)
from pipelines.report.params import ReportParameters
from pipelines.report.prose import NOT_APPLICABLE
from pipelines.report.spec import (
    category_label,
    category_order,
    dimension_name,
    measure,
    measure_name,
    page_measures,
    pages,
    scope_label,
)

# ---------------------------------------------------------------------------------------------
# Blocks


@dataclasses.dataclass(frozen=True)
class Cell:
    """A table cell. ``key``/``field`` name the figure shown (``data-key``/``data-field``, keys
    only, never values); ``note`` follows the figure (``(2011-12)``); ``rag`` makes it a status."""

    text: str
    numeric: bool = False
    key: str = ""
    field: str = ""
    note: str = ""
    rag: str = ""  # green, amber, red or none


@dataclasses.dataclass(frozen=True)
class Table:
    kind: ClassVar[str] = "table"
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    numeric_cols: frozenset[int] = frozenset()


@dataclasses.dataclass(frozen=True)
class Point:
    """A bar (``label``) or a point of a line (``label`` is the period, ``series`` the line).
    ``value`` None: withheld or not applicable, so not drawn."""

    label: str
    value: float | None
    series: str = ""


@dataclasses.dataclass(frozen=True)
class Rule:
    """A reference line across the value axis: a threshold or a target."""

    value: float
    label: str


@dataclasses.dataclass(frozen=True)
class Chart:
    kind: ClassVar[str] = "chart"
    shape: str  # bar or line
    title: str
    subtitle: str
    unit: str
    axis_title: str
    points: tuple[Point, ...]
    alt_text: str
    note: str = ""  # what is not drawn, after the alt text in the caption
    rules: tuple[Rule, ...] = ()


@dataclasses.dataclass(frozen=True)
class Statistic:
    kind: ClassVar[str] = "statistic"
    text: str
    value: str
    key: str


@dataclasses.dataclass(frozen=True)
class Message:
    """A paragraph: optional bold ``lead``, the text, an optional link (href, words), ``after``."""

    kind: ClassVar[str] = "message"
    text: str
    css: str = ""
    lead: str = ""
    link: tuple[str, str] | None = None
    after: str = ""


@dataclasses.dataclass(frozen=True)
class Bullets:
    kind: ClassVar[str] = "bullets"
    items: tuple[Message, ...]
    heading: str = ""  # an h3 above the list
    css: str = ""


@dataclasses.dataclass(frozen=True)
class Term:
    term: str
    parts: tuple[tuple[str, str], ...]  # (bold lead or "", text)
    abbr: str = ""  # the term's expansion


@dataclasses.dataclass(frozen=True)
class Terms:
    kind: ClassVar[str] = "terms"
    items: tuple[Term, ...]


@dataclasses.dataclass(frozen=True)
class Figure:
    """A chart and/or table under an optional h3; ``boxed`` keeps them together (figure-block)."""

    kind: ClassVar[str] = "figure"
    heading: str = ""
    chart: Chart | None = None
    table: Table | None = None
    note: str = ""
    boxed: bool = True


@dataclasses.dataclass(frozen=True)
class Header:
    kind: ClassVar[str] = "header"
    title: str
    lede: str
    note: str
    period: str = ""
    back: bool = True


@dataclasses.dataclass(frozen=True)
class Section:
    """An h2 and its blocks; ``landmark`` makes it a ``<section>`` (the page furniture)."""

    kind: ClassVar[str] = "section"
    heading: str
    anchor: str
    blocks: tuple[Any, ...]
    intro: str = ""
    css: str = ""
    landmark: bool = False


# ---------------------------------------------------------------------------------------------
# The page being built


@dataclasses.dataclass(frozen=True)
class Page:
    """Everything the blocks of one page are built from."""

    analysis: str
    params: ReportParameters
    metrics: Metrics
    reference: Reference

    @classmethod
    def open(cls, analysis: str, params: ReportParameters, metrics: Metrics | None = None) -> Page:
        """Read the public metrics (unless given) and the comparator's reference data once."""
        return cls(
            analysis,
            params,
            metrics if metrics is not None else load_public(params.out_path),
            load_reference(params.comparator),
        )

    @property
    def period_text(self) -> str:
        p = self.params
        return f"{prose.long_date(p.period_start)} to {prose.long_date(p.period_end)}"

    def rows(self, measure: str, scope: str, dimension: str) -> list[Row]:
        """Rows of a breakdown in code-list order."""
        rows = self.metrics.select(self.analysis, measure, scope, dimension)
        order = category_order(dimension, [r.category for r in rows])
        return sorted(rows, key=lambda r: order.index(r.category))

    def has(self, scope: str, measure: str | None = None) -> bool:
        return bool(self.metrics.select(self.analysis, measure, scope))


def figure_cells(
    row: Row | None,
    unit: str | None = None,
    fields: Sequence[str] = ("numerator", "denominator", "value"),
) -> list[Cell]:
    """Cells for one metrics row; a missing row gives ``–`` in each."""
    if row is None:
        return [Cell(NOT_APPLICABLE, True) for _ in fields]
    return [
        Cell(
            prose.cell(getattr(row, f), (unit or row.unit) if f == "value" else "count"),
            True,
            row.key,
            f,
        )
        for f in fields
    ]


def table(
    caption: str, header: Sequence[str], rows: Sequence[Sequence[Cell]], numeric: Any = ()
) -> Table:
    return Table(caption, tuple(header), tuple(tuple(r) for r in rows), frozenset(numeric))


def breakdown_table(
    caption: str, rows: Sequence[Row], first_header: str, value_header: str = ""
) -> Table:
    """One line per category: label, numerator, denominator, value (columns only where used)."""
    fields = [f for f in ("numerator", "denominator") if any(getattr(r, f).strip() for r in rows)]
    unit = rows[0].unit
    header = [first_header] + [{"numerator": "Number", "denominator": "Out of"}[f] for f in fields]
    fields.append("value")
    names = {"percent": "Percentage", "count": "Number", "score": "Score", "days": "Days"}
    header.append(value_header or names.get(unit, "Value"))
    body = [
        [Cell(category_label(r.breakdown, r.category))] + figure_cells(r, unit, fields)
        for r in rows
    ]
    return table(caption, header, body, range(1, len(header)))


def bar_chart(
    title: str,
    subtitle: str,
    unit: str,
    axis: str,
    points: Sequence[Point],
    rules: Sequence[Rule] = (),
    alt: str = "",
) -> Chart:
    """A bar chart with its text alternative and the note of what it leaves out."""
    shown = [(p.label, p.value) for p in points if p.value is not None]
    return Chart(
        "bar",
        title,
        subtitle,
        unit,
        axis,
        tuple(points),
        alt or prose.alt_text("Bar chart", title, shown, unit),  # type: ignore[arg-type]
        prose.not_drawn([p.label for p in points if p.value is None]),
        tuple(rules),
    )


def _axis(unit: str, measure_key: str) -> str:
    return "Percentage" if unit == "percent" else measure_name(measure_key)


# ---------------------------------------------------------------------------------------------
# Builders: one per block kind of pages.yaml. Each returns a block, or None when there are no
# figures for it (the block is then left out).


def stat(page: Page, scope: str, measure: str, text: str) -> Statistic | None:
    """A sentence with one figure: "Referrals received by the Prevention Service: 434"."""
    r = page.metrics.get(page.analysis, measure, scope)
    if r is None:
        return None
    return Statistic(text.format(scope=scope_label(scope)), prose.cell(r.value, r.unit), r.key)


def breakdown(
    page: Page, scope: str, measure: str, by: str, noun: str, largest_first: bool = False
) -> Figure | None:
    """Bar chart and table of one measure split by one dimension, titled with the finding."""
    rows = page.rows(measure, scope, by)
    if not rows:
        return None
    if largest_first:
        rows = sorted(rows, key=lambda r: -(r.number if r.number is not None else -1))
    unit = rows[0].unit
    what = f"{measure_name(measure)} by {dimension_name(by)}"
    where = scope_label(scope)
    chart = bar_chart(
        prose.breakdown_title(rows, measure, scope, noun),
        f"{what}, {where}, {page.params.council}, {page.period_text}",
        unit,
        _axis(unit, measure),
        [Point(category_label(r.breakdown, r.category), r.number) for r in rows],
    )
    caption = f"{what}, {where}, {page.period_text}"
    return Figure(what, chart, breakdown_table(caption, rows, dimension_name(by).capitalize()))


def trend(
    page: Page, scope: str, measure: str, noun: str, by: str = "financial_year"
) -> Figure | None:
    """Line chart and table over financial years, with the comparator where one is held."""
    rows = page.metrics.select(page.analysis, measure, scope, by)
    if not rows:
        return None
    unit, council, comparator = rows[0].unit, page.params.council, page.params.comparator
    where = scope_label(scope) if scope not in ("DAT", "CPR") else council
    points = [Point(r.category, r.number, council) for r in rows]
    bench: dict[str, float] = {}
    for b in page.reference.benchmarks_for(measure, scope, by, None):
        bench.setdefault(b.category, b.value)
    points += [Point(p, v, comparator) for p, v in bench.items() if p in {r.category for r in rows}]
    title = prose.trend_title(rows, noun)
    name = measure_name(measure)
    shown = [(p.label, p.value) for p in points if p.value is not None and p.series == council]
    alt = prose.alt_text("Line chart", title, shown, unit)  # type: ignore[arg-type]
    if bench:
        alt += (
            " "
            + "; ".join(f"{comparator} {prose.number(v, unit)} in {p}" for p, v in bench.items())
            + "."
        )
    chart = Chart(
        "line",
        title,
        f"{name}, {where}{f' and {comparator}' if bench else ''}, by financial year",
        unit,
        _axis(unit, measure),
        tuple(points),
        alt,
        prose.not_drawn(
            [category_label(r.breakdown, r.category) for r in rows if r.number is None]
        ),
    )
    body = [
        [Cell(r.category)]
        + figure_cells(r, unit)
        + [
            Cell(
                prose.cell(str(bench[r.category]), unit) if r.category in bench else NOT_APPLICABLE,
                True,
            )
        ]
        for r in rows
    ]
    t = table(
        f"{name} by financial year, {where}, with the {comparator} comparator",
        [
            "Financial year",
            "Number",
            "Out of",
            "Percentage" if unit == "percent" else "Value",
            comparator,
        ],
        body,
        (1, 2, 3, 4),
    )
    note = "" if bench else f"No {comparator} comparator is held for this measure."
    return Figure(f"{name} by financial year", chart, t, note)


def figures(
    page: Page,
    scope: str,
    caption: str,
    rows: Sequence[Sequence[str]],
    heading: str = "",
    title: dict[str, str] | None = None,
) -> Figure | None:
    """Single figures (rows: [measure, label]) with target and status; a bar chart when every
    figure is a percentage and a title rule is given."""
    body, points, units = [], [], set()
    for measure_key, label in rows:
        r = page.metrics.get(page.analysis, measure_key, scope)
        if r is None:
            continue
        target = page.reference.target(measure_key, scope)
        status = target.status(r.number) if target else None
        body.append(
            [Cell(label)]
            + figure_cells(r)
            + [
                Cell(prose.target_text(target, r.unit), True),
                Cell(prose.RAG_WORDS[status], rag=(status or "none").lower()),
            ]
        )
        points.append(Point(label, r.number))
        units.add(r.unit)
    if not body:
        return None
    t = table(
        caption, ["Measure", "Number", "Out of", "Value", "Target", "Status"], body, (1, 2, 3, 4)
    )
    chart = None
    if title and units == {"percent"}:
        chart_title = prose.lowest_title([(p.label, p.value) for p in points], title)
        chart = bar_chart(
            chart_title, f"{caption}, {page.period_text}", "percent", "Percentage", points
        )
    return Figure(heading or caption, chart, t)


def _services(page: Page, services: Sequence[str], measure: str | None = None) -> list[str]:
    return [s for s in services if page.has(s, measure)]


def service_table(
    page: Page, services: Sequence[str], caption: str, columns: Sequence[Sequence[str]]
) -> Figure | None:
    """One line per service, one column per (measure, field, header)."""
    scopes = _services(page, services)
    if not scopes:
        return None
    body = [
        [Cell(prose.cap(scope_label(s)))]
        + [
            c
            for m, f, _ in columns
            for c in figure_cells(page.metrics.get(page.analysis, m, s), None, (f,))
        ]
        for s in scopes
    ]
    header = ["Service"] + [h for _, _, h in columns]
    return Figure(
        table=table(f"{caption}, {page.period_text}", header, body, range(1, len(header)))
    )


def service_bars(
    page: Page, services: Sequence[str], measure: str, title: dict[str, str] | None = None
) -> Figure | None:
    """Bar chart of one measure across services (the numbers are in the table above it)."""
    found = [(s, page.metrics.get(page.analysis, measure, s)) for s in _services(page, services)]
    rows = [(prose.cap(scope_label(s)), r) for s, r in found if r is not None]
    if not rows:
        return None
    unit, name = rows[0][1].unit, measure_name(measure)
    items = [(label, r.number) for label, r in rows]
    chart_title = (
        prose.lowest_title(items, title) if title else prose.highest_title(items, measure, unit)
    )
    chart = bar_chart(
        chart_title,
        f"{name} by service, {page.params.council}, {page.period_text}",
        unit,
        _axis(unit, measure),
        [Point(label, v) for label, v in items],
    )
    return Figure(f"{name} by service", chart)


def cross_table(
    page: Page, services: Sequence[str], measure: str, by: str, caption: str, first_header: str
) -> Figure | None:
    """Categories down, services across: the value of each."""
    scopes = _services(page, services, measure)
    cats: list[str] = []
    for s in scopes:
        cats += [
            r.category
            for r in page.metrics.select(page.analysis, measure, s, by)
            if r.category not in cats
        ]
    if not cats:
        return None
    body = [
        [Cell(category_label(by, c))]
        + [
            x
            for s in scopes
            for x in figure_cells(
                page.metrics.get(page.analysis, measure, s, by, c), None, ("value",)
            )
        ]
        for c in category_order(by, cats)
    ]
    t = table(
        caption.format(period=page.period_text),
        [first_header] + [scope_label(s) for s in scopes],
        body,
        range(1, len(scopes) + 1),
    )
    return Figure(table=t, boxed=False)


def service_lines(
    page: Page,
    services: Sequence[str],
    measure: str,
    by: str,
    subtitle: str,
    axis: str,
    caption: str,
    first_header: str,
) -> Figure | None:
    """Line chart over ``by`` (e.g. quarter), one line per service, and the table of it."""
    scopes = _services(page, services, measure)
    if not scopes:
        return None
    title = prose.start_risk_title(
        page.metrics.select(page.analysis, measure, services[0], by), services[0]
    )
    points = [
        Point(r.category, r.number, scope_label(s))
        for s in scopes
        for r in page.metrics.select(page.analysis, measure, s, by)
    ]
    shown = [(f"{p.series} {p.label}", p.value) for p in points if p.value is not None]
    unit = page.metrics.select(page.analysis, measure)[0].unit
    chart = Chart(
        "line",
        title,
        subtitle,
        unit,
        axis,
        tuple(points),
        prose.alt_text("Line chart", title, shown, unit),  # type: ignore[arg-type]
        prose.not_drawn([f"{p.series} {p.label}" for p in points if p.value is None]),
    )
    t = cross_table(page, scopes, measure, by, caption, first_header)
    return Figure(title, chart, t.table if t else None, boxed=False)


def counts_table(
    page: Page, scope: str, measure: str, by: str, caption: str, header: str
) -> Figure | None:
    rows = page.rows(measure, scope, by)
    if not rows:
        return None
    return Figure(
        table=breakdown_table(caption, rows, dimension_name(by).capitalize(), header), boxed=False
    )


def caseload_threshold(page: Page, scope: str) -> Message:
    t = page.reference.caseload_threshold
    if t is None:
        return Message("No caseload threshold is held in the reference data, so none is shown.")
    return Message(f"The caseload threshold held in the reference data is {t:g} cases.")


def caseloads(page: Page, scope: str, by: str) -> Figure | None:
    """Average caseload by team or role against the threshold, with median, lowest, highest."""
    means = page.rows("caseload_mean", scope, by)
    if not means:
        return None
    threshold = page.reference.caseload_threshold
    name = dimension_name(by)
    title = prose.caseload_title(means, name, threshold)
    points = [Point(category_label(by, r.category), r.number) for r in means]
    alt = (
        f"Bar chart. {title}. "
        + "; ".join(f"{p.label}: {p.value:.1f}" for p in points if p.value is not None)
        + "."
    )
    rules = ()
    if threshold is not None:
        alt += f" Dashed line: threshold of {threshold:g} cases."
        rules = (Rule(threshold, f"Threshold {threshold:g}"),)
    chart = bar_chart(
        title,
        f"Average caseload of staffed posts by {name}, {page.period_text}",
        "count",
        "Average caseload",
        points,
        rules,
        alt,
    )
    body = []
    for r in means:
        line = [Cell(category_label(by, r.category))]
        for m in ("caseload_mean", "caseload_median", "caseload_min", "caseload_max"):
            line += figure_cells(
                page.metrics.get(page.analysis, m, scope, by, r.category), None, ("value",)
            )
        line += figure_cells(r, None, ("denominator",))
        above = NOT_APPLICABLE
        if threshold is not None and r.number is not None:
            above = "Yes" if r.number > threshold else "No"
        body.append(line + [Cell(above)])
    header = [
        name.capitalize(),
        "Average",
        "Median",
        "Lowest",
        "Highest",
        "Staffed posts with a caseload",
        "Average above the threshold",
    ]
    t = table(f"Caseloads by {name}, {page.period_text}", header, body, range(1, 6))
    return Figure(f"Caseloads by {name}", chart, t)


def follow_up(page: Page, scope: str, measure: str, months: int) -> Figure | Message | None:
    """Referred again within n months, by decision; or why it cannot be measured yet."""
    rows = page.metrics.select(page.analysis, measure, scope, "outcome")
    if any(r.number is not None for r in rows):
        return breakdown(page, scope, measure, "outcome", "referrals")
    return Message(prose.follow_up_missing(months, page.params.data_as_at))


def message(page: Page, scope: str, text: str) -> Message:
    return Message(text)


#: Block kinds of pages.yaml -> builder. Builders taking ``services`` get the section's list.
BUILDERS: dict[str, Callable[..., Any]] = {
    "stat": stat,
    "breakdown": breakdown,
    "trend": trend,
    "figures": figures,
    "follow_up": follow_up,
    "service_table": service_table,
    "service_bars": service_bars,
    "cross_table": cross_table,
    "service_lines": service_lines,
    "counts_table": counts_table,
    "caseload_threshold": caseload_threshold,
    "caseloads": caseloads,
    "message": message,
}
_MULTI = {"service_table", "service_bars", "cross_table", "service_lines"}


def _scope_for(page: Page, scope: str | list[str] | None, measure_key: str | None) -> str:
    """A section's scope; of a list, the first with figures of the block's measure."""
    if not isinstance(scope, list):
        return scope or ""
    return next((s for s in scope if page.has(s, measure_key)), scope[-1])


def section(page: Page, spec: dict[str, Any]) -> Section | None:
    """One section of pages.yaml; None when none of its blocks has figures."""
    blocks = []
    for item in spec.get("blocks", []):
        ((kind, args),) = item.items()
        args = dict(args or {}) if isinstance(args, dict) else {"text": args}
        if kind in _MULTI:
            args["services"] = spec["services"]
        else:
            args["scope"] = _scope_for(page, spec.get("scope"), args.get("measure"))
        block = BUILDERS[kind](page, **args)
        if block is not None:
            blocks.append(block)
    if not blocks:
        return None
    scope = spec.get("scope")
    heading = spec.get("heading") or scope_label(scope if isinstance(scope, str) else "")
    return Section(heading, spec["anchor"], tuple(blocks), spec.get("intro", ""))


# ---------------------------------------------------------------------------------------------
# Page furniture: header, key messages, headline table, symbols, definitions, data quality,
# provenance


def headline_table(page: Page, items: Sequence[Sequence[str]], caption: str) -> Table | Message:
    """``items``: (analysis, measure, scope, label): this period, previous year, comparator,
    target and status. Rows missing from the metrics are skipped."""
    body = []
    for analysis, measure_key, scope, label in items:
        r = page.metrics.get(analysis, measure_key, scope)
        if r is None:
            continue
        prev = previous_year(page.metrics, r, page.params.period_end)
        lb = page.reference.latest_benchmark(measure_key, scope)
        bench = NOT_APPLICABLE
        if lb:
            bench = prose.cell(str(lb[1].value), r.unit) + (f" ({lb[0]})" if lb[0] else "")
        target = page.reference.target(measure_key, scope)
        status = target.status(r.number) if target else None
        prev_cell = (
            Cell(
                prose.cell(prev[1].value, prev[1].unit), True, prev[1].key, "value", f"({prev[0]})"
            )
            if prev
            else Cell(NOT_APPLICABLE, True)
        )
        body.append(
            [
                Cell(label),
                Cell(prose.cell(r.value, r.unit), True, r.key, "value"),
                prev_cell,
                Cell(bench, True),
                Cell(prose.target_text(target, r.unit), True),
                Cell(prose.RAG_WORDS[status], rag=(status or "none").lower()),
            ]
        )
    if not body:
        return Message("No headline figures were produced for this period.")
    header = ["Measure", "This period", "Previous year", page.params.comparator, "Target", "Status"]
    return table(caption, header, body, (1, 2, 3, 4))


def key_messages(page: Page) -> Section:
    msgs = prose.key_messages(page.metrics, page.analysis, page.reference)
    items = msgs or ["No figures were produced for this analysis in this period."]
    return Section(
        "Key messages",
        "key-messages",
        (Bullets(tuple(Message(m) for m in items)),),
        css="key-messages",
        landmark=True,
    )


def legend(page: Page) -> Section:
    t = page.params.suppression_threshold
    items = (
        Term(
            "c",
            (
                (
                    "",
                    "Withheld to protect children's privacy: a count from 1 to "
                    f"{t}, a figure that would let such a count be worked out, or a percentage "
                    "whose count is withheld. Withheld figures are not drawn in charts.",
                ),
            ),
            "withheld",
        ),
        Term(
            NOT_APPLICABLE,
            (
                (
                    "",
                    "Not applicable or not available (for example a rate with no "
                    "cases to count, or no comparator held).",
                ),
            ),
        ),
        Term("0", (("", "A true zero."),)),
    )
    rounding = Message(
        "Percentages are rounded to one decimal place in tables and to whole numbers in text "
        "and charts, so they may not add to 100."
    )
    return Section("Symbols used", "symbols", (Terms(items), rounding), css="legend", landmark=True)


def headline(
    page: Page, items: Sequence[Sequence[str]], caption: str, rule_extra: str = ""
) -> Section:
    rule = Message(RAG_RULE + rule_extra, css="rule", lead="How the status is set.")
    return Section(
        "Headline figures", "headline", (headline_table(page, items, caption), rule), landmark=True
    )


def _headline_items(analysis: str) -> list[list[str]]:
    return [[analysis, *row] for row in pages()[analysis]["headline"]]


def opening(page: Page) -> list[Any]:
    """Header, key messages, headline table, symbols legend."""
    info = pages()[page.analysis]
    header = Header(
        info["title"],
        info["summary"],
        f"Data as at {prose.long_date(page.params.data_as_at)}.",
        page.period_text,
    )
    items = _headline_items(page.analysis)
    return [
        header,
        key_messages(page),
        headline(page, items, f"Headline figures, {page.period_text}"),
        legend(page),
    ]


def definitions(page: Page) -> Section:
    """What each measure of the page means: numerator and denominator."""
    items = []
    for m in page_measures(page.analysis):
        d = measure(m)
        if not d:
            continue
        parts = [("", d["definition"])] if d.get("definition") else []
        parts += [
            (f"{w.capitalize()}:", f"{d[w]}.") for w in ("numerator", "denominator") if d.get(w)
        ]
        items.append(Term(d["name"], tuple(parts)))
    return Section("What the measures mean", "definitions", (Terms(tuple(items)),), landmark=True)


def data_quality(page: Page, extracts: Sequence[str], link: Message) -> Section:
    """The validation statement (``ValidationResult.statement()``) for ``extracts`` (all when
    empty): its summary, rows read, loaded and set aside per extract, and its warnings."""
    st = page.params.dq_statement
    if not st:
        blocks: list[Any] = [Message("No data quality statement was supplied for this run.")]
    else:
        per = {e["extract"]: e for e in st.get("extracts", [])}
        names = [n for n in extracts if n in per] or list(per)
        body, notes = [], []
        for name in names:
            e = per[name]
            label = prose.cap(str(e.get("grain") or name))
            if not e["delivered"]:
                body.append(
                    [Cell(label)] + [Cell(NOT_APPLICABLE, True)] * 5 + [Cell("not supplied")]
                )
                continue
            counts = ("rows_read", "rows_loaded", "rows_set_aside", "errors", "warnings")
            body.append(
                [Cell(label)]
                + [Cell(f"{int(e[c]):,}", True) for c in counts]
                + [Cell("yes" if e["reconciles"] else "no")]
            )
            notes += [Message(f"{label}: {line}") for line in e.get("warnings_summary", [])]
        header = [
            "Extract",
            "Rows read",
            "Loaded",
            "Set aside",
            "Errors",
            "Warnings",
            "Counts reconcile",
        ]
        caption = "Rows read, loaded and set aside for the extracts behind these figures"
        blocks = [Message(st["summary"]), table(caption, header, body, range(1, 6))]
        if notes:
            blocks += [Message("Warnings that may affect these figures:"), Bullets(tuple(notes))]
    return Section("Data quality", "data-quality", (*blocks, link), landmark=True)


def provenance(page: Page, notebook: str) -> Section:
    p = page.params
    run = p.run_date or "unknown"
    rows = [
        ("Reporting period", page.period_text),
        ("Extract taken (data as at)", prose.long_date(p.data_as_at)),
        ("Report run on", prose.long_date(run[:10]) + run[10:]),
        ("Suppression threshold", f"counts from 1 to {p.suppression_threshold} withheld"),
        ("Extracts folder", p.raw_dir or NOT_APPLICABLE),
        ("Code version", p.code_version or "unknown"),
        ("Figures from", "metrics_public.csv (figures after disclosure control)"),
        ("Notebook", notebook),
    ]
    t = table(
        "How these figures were produced", ["Item", "Value"], [[Cell(a), Cell(b)] for a, b in rows]
    )
    return Section("About these figures", "provenance", (t,), landmark=True)


def closing(page: Page) -> list[Any]:
    """Definitions, data quality statement, provenance."""
    link = Message(
        "Every problem found, with how to fix it in the case management system, is in the ",
        link=("data_quality.html", "data quality report"),
        after=".",
    )
    notebook = f"notebooks/{page.analysis}.ipynb (executed copy kept beside this page)"
    return [
        definitions(page),
        data_quality(page, pages()[page.analysis]["extracts"], link),
        provenance(page, notebook),
    ]


def page_blocks(page: Page) -> list[list[Any]]:
    """An analysis page in parts (one notebook output each): opening, sections, closing."""
    sections = [section(page, s) for s in pages()[page.analysis]["sections"]]
    return [opening(page)] + [[s] for s in sections if s is not None] + [closing(page)]


def index_blocks(page: Page, analyses: Sequence[str]) -> list[Any]:
    """The index: key messages of every page, headline figures, links, symbols, data quality."""
    info = pages()
    p = page.params
    workforce = " and the workforce" if "workforce" in analyses else ""
    header = Header(
        f"{p.service}: performance report for scrutiny committee",
        f"Referrals, family support, re-referrals, child protection{workforce} in {p.council}, "
        f"{page.period_text}.",
        f"Data as at {prose.long_date(p.data_as_at)}. All figures are from the council's case "
        "management system; small numbers are withheld to protect children's privacy.",
        back=False,
    )
    lists = []
    for a in analyses:
        msgs = prose.key_messages(page.metrics, a, page.reference)
        if msgs:
            lists.append(Bullets(tuple(Message(m) for m in msgs), heading=info[a]["title"]))
    messages = Section("Key messages", "key-messages", tuple(lists), landmark=True)
    items = [row for a in analyses for row in _headline_items(a)[: info[a].get("index_headline")]]
    caption = (
        f"Headline figures, {page.period_text}, with the previous year, the {p.comparator} "
        "comparator and the status against target"
    )
    extra = (
        " The previous year is the financial year before the one the period ends in, shown where "
        "the figure is counted by financial year."
    )
    links = [
        Message("", link=(info[a]["file"], info[a]["title"]), after=f": {info[a]['summary']}")
        for a in analyses
    ]
    links.append(
        Message(
            "",
            link=("data_quality.html", "Data quality report"),
            after=": every problem found in the extracts and how to fix it in the source system.",
        )
    )
    reports: list[Any] = [Bullets(tuple(links), css="page-list")]
    if "workforce" not in analyses:
        reports.append(
            Message(
                "The workforce extracts (posts and leavers) were not supplied for this run, so "
                "there is no workforce page.",
                css="notice",
            )
        )
    see = Message("See the ", link=("data_quality.html", "data quality report"), after=".")
    return [
        header,
        messages,
        headline(page, items, caption, extra),
        Section("The reports", "pages", tuple(reports), landmark=True),
        legend(page),
        data_quality(page, [], see),
        provenance(page, "one notebook per page; executed copies are in the notebooks folder"),
    ]
