"""The pages as typed blocks (table, chart, statistic, message ...), built by pure functions.

No HTML here: ``templates/blocks.html.j2`` turns blocks into markup and ``charts.py`` turns a
:class:`Chart` into an Altair spec. ``page_blocks`` builds an analysis page from its entry in
``pages.yaml`` (one builder per block kind: ``BUILDERS``); ``index_blocks`` builds the index.
Every figure comes from the public metrics (:mod:`.model`); every title and sentence that states
a finding from :mod:`.prose`; the fixed words from ``pages.yaml`` (``texts``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from pipelines.contract import metrics_shape
from pipelines.report import prose
from pipelines.report.model import (
    RAG_RULE,
    Metrics,
    Reference,
    Row,
    complete_to,
    load_public,
    load_reference,
    same_period_last_year,
    to_number,
    year_earlier,
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
    polarity,
    scope_label,
    spec,
)

# ---------------------------------------------------------------------------------------------
# Blocks (``kind`` tells the template which macro draws it)


@dataclasses.dataclass(frozen=True)
class Cell:
    """A table cell. ``key``/``field`` name the figure shown (``data-key``/``data-field``: keys
    only, never values); ``note`` follows the figure (``(2011-12)``); ``rag`` makes it a status
    (green, amber, red or none); ``arrow`` is a glyph drawn before the text, hidden from screen
    readers (the text carries the meaning)."""

    text: str
    numeric: bool = False
    key: str = ""
    field: str = ""
    note: str = ""
    rag: str = ""
    arrow: str = ""
    spark: Spark | None = None


@dataclasses.dataclass(frozen=True)
class Spark:
    """A small trend line drawn in a table cell (the scorecard's Trend column). ``lines``: the
    points of each segment as SVG polyline coordinates in a ``WIDTH`` x ``HEIGHT`` box on a scale
    from zero (a segment ends at each withheld or blank quarter, so no line joins across one);
    ``last``: the latest shown point, marked; ``label``: the series in words, its text
    alternative."""

    WIDTH: ClassVar[int] = 64
    HEIGHT: ClassVar[int] = 24
    lines: tuple[str, ...]
    last: tuple[float, float] | None
    label: str


@dataclasses.dataclass(frozen=True)
class Table:
    kind: ClassVar[str] = "table"
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    numeric_cols: frozenset[int] = frozenset()


@dataclasses.dataclass(frozen=True)
class Point:
    """A bar (``label``) or a point of a line (``label`` the period, ``series`` the line);
    ``value`` None (withheld or not applicable) is not drawn."""

    label: str
    value: float | None
    series: str = ""


@dataclasses.dataclass(frozen=True)
class Rule:
    """A reference line across the value axis: a threshold or a target (dashed, labelled at the
    left) or a comparator (dotted, labelled at the right, so a comparator and a target at the
    same level can both be read)."""

    value: float
    label: str
    kind: str = "target"  # target (also thresholds) or comparator


@dataclasses.dataclass(frozen=True)
class Chart:
    """``alt_text`` is the chart's text alternative; ``note`` names what is not drawn."""

    kind: ClassVar[str] = "chart"
    shape: str  # bar or line
    title: str
    subtitle: str
    unit: str
    axis_title: str
    points: tuple[Point, ...]
    alt_text: str
    note: str = ""
    rules: tuple[Rule, ...] = ()
    height: int = 0  # 0: the default height of the shape
    label_last: bool = False  # label only the latest point of each line (the table has the rest)


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
    """A term of a definition list; ``abbr`` is its expansion."""

    term: str
    text: str = ""
    abbr: str = ""
    numerator: str = ""
    denominator: str = ""


@dataclasses.dataclass(frozen=True)
class Terms:
    kind: ClassVar[str] = "terms"
    items: tuple[Term, ...]
    heading: str = ""  # an h3 above the list


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
# The page being built, and helpers


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
        metrics = metrics if metrics is not None else load_public(params.out_path)
        return cls(analysis, params, metrics, load_reference(params.comparator))

    @property
    def period_text(self) -> str:
        p = self.params
        return f"{prose.long_date(p.period_start)} to {prose.long_date(p.period_end)}"

    def period_for(self, measure_key: str) -> str:
        """The period a figure covers in a subtitle: the reporting period, or for a figure taken
        at one date (``snapshot: true`` in pages.yaml) the snapshot it is taken from, or for a
        figure over a fixed window (``window_months``) that window."""
        end = prose.long_date(self.params.period_end)
        if (snapshot := measure(measure_key).get("snapshot")) == "at_end":
            return f"at {end}"  # counted at the end of the period, not read from a snapshot
        if snapshot:
            return f"latest snapshot on or before {end}"
        if months := measure(measure_key).get("window_months"):
            return f"{months} months to {end}"
        return self.period_text

    def complete_to(self, measure_key: str, analysis: str = "") -> dt.date | None:
        """The last day whose records are complete for a figure, when its extracts (pages.yaml
        ``measures.*.extracts``, else the analysis's ``sources``) stop before the period ends;
        None when they cover it."""
        extracts = measure(measure_key).get("extracts") or metrics_shape()["sources"].get(
            analysis or self.analysis, ()
        )
        coverage = (self.params.dq_statement or {}).get("coverage") or []
        cut = complete_to(coverage, extracts)
        end = dt.date.fromisoformat(self.params.period_end)
        return cut if cut is not None and cut < end else None

    def end_for(self, measure_key: str, analysis: str = "") -> str:
        """The period end a figure's quarters and years are labelled against: the period end,
        or the last complete day of its extracts when they stop early, so "2013-Q1 (to 31 Jan)"
        says a quarter holds January only."""
        cut = self.complete_to(measure_key, analysis)
        return cut.isoformat() if cut else self.params.period_end

    def not_compared(self, measure_key: str, unit: str, analysis: str = "") -> str:
        """Why a figure is not compared with a whole period ("" when it is): a count, or a rate
        whose numerator accumulates over the months (``accumulates: true``, e.g. turnover), from
        an extract that stops before the period ends counts fewer months, so a fall on last
        year would be the missing months, not a change."""
        cut = self.complete_to(measure_key, analysis)
        if cut is None or not (unit == "count" or measure(measure_key).get("accumulates")):
            return ""
        first = cut + dt.timedelta(days=1)
        return text("not_compared", month=f"{first:%B %Y}")

    def coverage(self) -> prose.Coverage:
        """The figures of every page whose extracts stop before the period ends, for the
        sentences (``prose.Coverage``): their last complete day, and those not compared with
        the same period last year."""
        ends: dict[tuple[str, str], str] = {}
        skip: set[tuple[str, str]] = set()
        for a in pages():
            for m in spec()["measures"]:
                if self.complete_to(m, a) is None:
                    continue
                ends[(a, m)] = self.end_for(m, a)
                unit = next((r.unit for r in self.metrics.select(a, m) if r.unit), "")
                if self.not_compared(m, unit, a):
                    skip.add((a, m))
        return prose.Coverage(ends, frozenset(skip))

    def get(self, measure: str, scope: str, by: str = "total", category: str = "all") -> Row | None:
        return self.metrics.get(self.analysis, measure, scope, by, category)

    def rows(self, measure: str, scope: str, by: str) -> list[Row]:
        """Rows of a breakdown in code-list order."""
        rows = self.metrics.select(self.analysis, measure, scope, by)
        order = category_order(by, [r.category for r in rows])
        return sorted(rows, key=lambda r: order.index(r.category))

    def has(self, scope: str, measure: str | None = None) -> bool:
        return bool(self.metrics.select(self.analysis, measure, scope))


def text(name: str, **values: Any) -> str:
    """A fixed text of pages.yaml (``texts``), placeholders filled."""
    return spec()["texts"][name].format(**values)


FIELDS = ("numerator", "denominator", "value")


def figure_cells(row: Row | None, unit: str = "", fields: Sequence[str] = FIELDS) -> list[Cell]:
    """Cells for one metrics row (numerator and denominator are counts); none gives ``–``."""
    if row is None:
        return [Cell(NOT_APPLICABLE, True) for _ in fields]
    units = {"value": unit or row.unit}
    cell = prose.cell
    return [Cell(cell(getattr(row, f), units.get(f, "count")), True, row.key, f) for f in fields]


def table(
    caption: str, header: Sequence[str], rows: Sequence[Sequence[Cell]], num: Any = ()
) -> Table:
    return Table(caption, tuple(header), tuple(tuple(r) for r in rows), frozenset(num))


def breakdown_table(caption: str, rows: Sequence[Row], first: str, value_header: str = "") -> Table:
    """One line per category: label, numerator, denominator, value (columns only where used)."""
    fields = [f for f in FIELDS[:2] if any(getattr(r, f).strip() for r in rows)]
    header = [first] + [{"numerator": "Number", "denominator": "Out of"}[f] for f in fields]
    names = {"percent": "Percentage", "count": "Number", "score": "Score", "days": "Days"}
    header.append(value_header or names.get(rows[0].unit, "Value"))
    label = category_label
    body = [
        [Cell(label(r.breakdown, r.category))] + figure_cells(r, "", [*fields, "value"])
        for r in rows
    ]
    return table(caption, header, body, range(1, len(header)))


def chart(
    shape: str, titles: tuple[str, str], unit: str, axis: str, points: Sequence[Point], **kw: Any
) -> Chart:
    """A chart (``titles``: title and subtitle) with its text alternative (shown figures only,
    each named with its series when there are several) and the note of what it leaves out.
    ``kw``: ``rules``, or ``alt``/``note`` written by the caller."""
    several = len({p.series for p in points}) > 1
    name = {p: f"{p.series} {p.label}" if several else p.label for p in points}
    shown = [(name[p], v) for p in points if (v := p.value) is not None]
    kw.setdefault("alt", prose.alt_text(f"{shape.capitalize()} chart", titles[0], shown, unit))
    kw.setdefault("note", prose.not_drawn([name[p] for p in points if p.value is None]))
    rules = tuple(kw.get("rules", ()))
    return Chart(
        shape, *titles, unit, axis, tuple(points), kw["alt"], kw["note"], rules,
        kw.get("height", 0), kw.get("label_last", False),
    )  # fmt: skip


def _axis(unit: str, measure_key: str) -> str:
    return "Percentage" if unit == "percent" else measure_name(measure_key)


def _status(page: Page, row: Row, scope: str) -> list[Cell]:
    """Target and status cells of a figure."""
    target = page.reference.target(row.measure, scope)
    status = target.status(row.number) if target else None
    words, rag = prose.rag_words(status, row.number, target, row.unit), (status or "none").lower()
    return [Cell(prose.target_text(target, row.unit), True), Cell(words, rag=rag)]


# ---------------------------------------------------------------------------------------------
# Builders: one per block kind of pages.yaml. Each returns a block, or None when there are no
# figures for it (the block is then left out).


def stat(page: Page, scope: str, measure: str, text: str) -> Statistic | None:
    """A sentence with one figure: "Referrals received by the Prevention Service: 434"."""
    if (r := page.get(measure, scope)) is None:
        return None
    return Statistic(text.format(scope=scope_label(scope)), prose.cell(r.value, r.unit), r.key)


def breakdown(
    page: Page, scope: str, measure: str, by: str, noun: str, largest_first: bool = False,
    window: str = "",
) -> Figure | None:  # fmt: skip
    """Bar chart and table of one measure split by one dimension, titled with the finding.
    ``window``: the referrals the figures really count when not the whole period (follow_up)."""
    rows = page.rows(measure, scope, by)
    if not rows:
        return None
    if largest_first:
        rows = sorted(rows, key=lambda r: -(r.number if r.number is not None else -1))
    unit, where = rows[0].unit, scope_label(scope)
    what = prose.by_phrase(measure_name(measure), dimension_name(by))
    title = prose.breakdown_title(rows, measure, scope, noun)
    when = page.period_for(measure) + (f"; {window}" if window else "")
    sub = f"{what}, {where}, {page.params.council}, {when}"
    points = [Point(category_label(r.breakdown, r.category), r.number) for r in rows]
    caption = f"{what}, {where}, {page.params.council}, {when}"  # a table read alone says where
    t = breakdown_table(caption, rows, dimension_name(by).capitalize())
    if all(p.value is None for p in points):  # all withheld: the table and why there is no chart
        some = any(to_number(r.numerator) is not None for r in rows)
        return Figure(
            what, None, t, prose.NOTHING_DRAWN_SHARES if some else prose.NOTHING_DRAWN_CATEGORIES
        )
    bars = chart("bar", (title, sub), unit, _axis(unit, measure), points)
    notes = [
        prose.overlap_note(rows, noun),
        prose.small_base_note(rows, noun, spec()["small_base"]),
    ]
    return Figure(what, bars, t, " ".join(n for n in notes if n))


def trend(page: Page, scope: str, measure: str, noun: str) -> Figure | None:
    """Line chart and table over financial years, with the comparator where one is held."""
    rows = page.metrics.select(page.analysis, measure, scope, "financial_year")
    if not rows:
        return None
    unit, council, comparator = rows[0].unit, page.params.council, page.params.comparator
    where = scope_label(scope) if scope not in ("DAT", "CPR") else council
    bench: dict[str, float] = {}
    for b in page.reference.benchmarks_for(measure, scope, "financial_year", None):
        bench.setdefault(b.category, b.value)
    years = [r.category for r in rows]
    end = page.end_for(measure)  # a year after the extract stops is a part year too
    axis = {y: prose.year_short(y, end) for y in years}  # "2012-13 (to 31 Dec)" for a part year
    points = [Point(axis[r.category], r.number, council) for r in rows]
    points += [Point(axis[p], v, comparator) for p, v in bench.items() if p in years]
    title, name = prose.trend_title(rows, noun, end), measure_name(measure)
    label = {r.category: prose.year_label(r.category, end) for r in rows}
    shown = [(label[r.category], v) for r in rows if (v := r.number) is not None]
    alt = prose.alt_text("Line chart", title, shown, unit)
    if bench:
        alt += " " + "; ".join(
            f"{comparator} {prose.number(v, unit)} in {p}" for p, v in bench.items()
        )
        alt += "."
    span = f"{years[0]} to {years[-1]}" if len(years) > 1 else years[0]
    sub = f"{name}, {where}{f' and {comparator}' if bench else ''}, financial years {span}"
    if part := prose.part_year(years[-1], end):
        sub += f" ({years[-1]}: {part})"
    note = prose.not_drawn([r.category for r in rows if r.number is None])
    lines = chart("line", (title, sub), unit, _axis(unit, measure), points, alt=alt, note=note)
    body = []
    for r in rows:
        theirs = prose.cell(str(bench[r.category]), unit) if r.category in bench else None
        body.append(
            [Cell(label[r.category]), *figure_cells(r, unit), Cell(theirs or NOT_APPLICABLE, True)]
        )
    value = "Percentage" if unit == "percent" else "Value"
    header = ["Financial year", "Number", "Out of", value, comparator]
    caption = f"{name} by financial year, {where}" + (
        f", with the {comparator} comparator" if bench else ""
    )
    notes = [] if bench else [f"No {comparator} comparator is held for this measure."]
    if part:
        notes.append(prose.part_year_note(years[-1], part))
    return Figure(
        f"{name} by financial year", lines, table(caption, header, body, (1, 2, 3, 4)),
        " ".join(notes),
    )  # fmt: skip


def quarters(page: Page, scope: str, measure: str) -> Figure | None:
    """A headline figure over the 8 calendar quarters to period_end (the metrics layer's
    ``quarter`` rows): a compact line chart titled with the direction (``prose.direction_title``)
    with the target and the comparator as reference lines where held, and a table with the
    quarters as columns (numerator and denominator for rates). A withheld quarter is ``c`` in the
    table and a gap in the line; a part last quarter is labelled with the day it is cut at."""
    rows = sorted(page.rows(measure, scope, "quarter"), key=lambda r: r.category)
    if not rows:
        return None
    end, unit, name = page.params.period_end, rows[0].unit, measure_name(measure)
    cut = page.complete_to(measure)  # the extract stops early: later quarters are part ones
    labels = [prose.quarter_label(r.category, end, cut) for r in rows]
    short = [prose.part_or_incomplete(r.category, end, cut) for r in rows]
    part = short[-1]
    series = [
        prose.Quarter(label, r.number, short[i])
        for i, (label, r) in enumerate(zip(labels, rows, strict=True))
    ]
    whole = whole_only(measure, unit, cut)
    label = _headline_label(page.analysis, measure, scope)
    title = prose.direction_title(prose.subject(label), series, unit, whole)
    where = scope_label(scope)
    rules, told = [], []
    if target := page.reference.target(measure, scope):
        level = prose.number(target.green, unit)
        rules.append(Rule(target.green, f"Target {level}"))
        told.append(f"Dashed line: target (green level) {level}.")
    if held := page.reference.latest_benchmark(measure, scope):
        year, b = held
        level = prose.number(b.value, unit) + (f" in {year}" if year else "")
        rules.append(Rule(b.value, f"{b.area} {level}", "comparator"))
        told.append(f"Dotted line: {b.area} comparator {level}.")
    shown = [(q.label, q.value) for q in series if q.value is not None]
    alt = " ".join([prose.alt_text("Line chart", title, shown, unit), *told])
    notes = [prose.not_drawn([q.label for q in series if q.value is None])]
    if cut is not None and any(short):
        parts = [lb for lb, sh in zip(labels, short, strict=True) if sh]
        notes.append(prose.incomplete_quarters_note(parts, cut, whole))
    elif part:
        notes.append(
            f"{labels[-1]} is a part quarter (to the end of the reporting period)"
            + ("; it is not compared with whole quarters in the title." if whole else ".")
        )
    sub = f"{name}, {where}, {page.params.council}, " + prose.quarters_span(labels, end)
    points = [Point(q.label, q.value, page.params.council) for q in series]
    note = " ".join(n for n in notes if n)
    line = chart(
        "line", (title, sub), unit, _axis(unit, measure), points,
        alt=alt, note=note, rules=rules, height=150, label_last=True,
    )  # fmt: skip
    fields = [f for f in FIELDS[:2] if any(getattr(r, f).strip() for r in rows)] + ["value"]
    names = {"numerator": "Number", "denominator": "Out of"}
    value_name = {"percent": "Percentage", "count": "Number"}.get(unit, "Value")
    body = [
        [Cell(names.get(f, value_name))] + [c for r in rows for c in figure_cells(r, unit, [f])]
        for f in fields
    ]
    caption = (
        f"{name} by quarter, {where}, {page.params.council}, {prose.quarters_span(labels, end)}"
    )
    t = table(caption, ["Quarter", *labels], body, range(1, len(labels) + 1))
    if not shown:  # nothing to draw: the table (all c or –) and why there is no chart
        return Figure(label, None, t, prose.NOTHING_DRAWN)
    return Figure(label, line, t)


def _headline_label(analysis: str, measure: str, scope: str) -> str:
    for m, s, label in pages().get(analysis, {}).get("headline", []):
        if (m, s) == (measure, scope):
            return str(label)
    return f"{measure_name(measure)}: {scope_label(scope)}"


def figures(
    page: Page, scope: str, caption: str, rows: Sequence[Sequence[str]], heading: str = "",
    title: dict[str, str] | None = None,
) -> Figure | None:  # fmt: skip
    """Single figures (rows of [measure, label]) with target and status; a bar chart too when
    every figure is a percentage and pages.yaml gives a title rule."""
    found = [(label, r) for m, label in rows if (r := page.get(m, scope)) is not None]
    if not found:
        return None
    body = [[Cell(label), *figure_cells(r), *_status(page, r, scope)] for label, r in found]
    header = ["Measure", "Number", "Out of", "Value", "Target", "Status"]
    bars = None
    if title and {r.unit for _, r in found} == {"percent"}:
        points = [Point(label, r.number) for label, r in found]
        chart_title = prose.lowest_title([(p.label, p.value) for p in points], title)
        sub = f"{caption}, {page.params.council}, {page.period_for(found[0][1].measure)}"
        bars = chart("bar", (chart_title, sub), "percent", "Percentage", points)
    when = f"{caption}, {page.params.council}, {page.period_for(found[0][1].measure)}"
    return Figure(heading or caption, bars, table(when, header, body, (1, 2, 3, 4)))


def _services(page: Page, services: Sequence[str], measure: str | None = None) -> list[str]:
    return [s for s in services if page.has(s, measure)]


def service_table(
    page: Page, services: Sequence[str], caption: str, columns: Sequence[Sequence[str]]
) -> Figure | None:
    """One line per service, one column per [measure, field, header]."""
    scopes = _services(page, services)
    if not scopes:
        return None
    body = []
    for s in scopes:
        cells = [c for m, f, _ in columns for c in figure_cells(page.get(m, s), "", [f])]
        body.append([Cell(prose.cap(scope_label(s))), *cells])
    header = ["Service"] + [h for _, _, h in columns]
    caption = f"{caption}, {page.params.council}, {page.period_text}"
    return Figure(table=table(caption, header, body, range(1, len(header))))


def service_bars(
    page: Page, services: Sequence[str], measure: str, title: dict[str, str] | None = None
) -> Figure | None:
    """Bar chart of one measure across services (the numbers are in the table above it)."""
    found = [(s, r) for s in _services(page, services) if (r := page.get(measure, s))]
    if not found:
        return None
    unit, name = found[0][1].unit, measure_name(measure)
    items = [(prose.cap(scope_label(s)), r.number) for s, r in found]
    if title:
        chart_title = prose.lowest_title(items, title)
    else:
        chart_title = prose.highest_title(items, measure, unit)
    sub = f"{name} by service, {page.params.council}, {page.period_text}"
    points = [Point(label, v) for label, v in items]
    return Figure(
        f"{name} by service", chart("bar", (chart_title, sub), unit, _axis(unit, measure), points)
    )


def cross_table(
    page: Page, services: Sequence[str], measure: str, by: str, caption: str, first_header: str
) -> Figure | None:
    """Categories down, services across: the value of each."""
    scopes = _services(page, services, measure)
    cats = list(dict.fromkeys(r.category for s in scopes for r in page.rows(measure, s, by)))
    if not cats:
        return None
    body = []
    for c in category_order(by, cats):
        cells = [
            x for s in scopes for x in figure_cells(page.get(measure, s, by, c), "", ["value"])
        ]
        body.append([Cell(category_label(by, c)), *cells])
    header = [first_header] + [scope_label(s) for s in scopes]
    period = f"{page.params.council}, {page.period_text}"
    t = table(caption.format(period=period), header, body, range(1, len(scopes) + 1))
    return Figure(table=t, boxed=False)


def service_lines(
    page: Page, services: Sequence[str], measure: str, by: str, subtitle: str, axis: str,
    caption: str, first_header: str,
) -> Figure | None:  # fmt: skip
    """Line chart over ``by`` (e.g. quarter), one line per service, and the table of it."""
    scopes = _services(page, services, measure)
    if not scopes:
        return None
    title = prose.start_risk_title(page.rows(measure, services[0], by), services[0])
    points = [
        Point(r.category, r.number, scope_label(s))
        for s in scopes
        for r in page.rows(measure, s, by)
    ]
    unit = page.metrics.select(page.analysis, measure)[0].unit
    periods = sorted({r.category for s in scopes for r in page.rows(measure, s, by)})
    span = f"{periods[0]} to {periods[-1]}" if len(periods) > 1 else "".join(periods)
    # the table says measure, place and period as the chart's subtitle does
    where = f"{page.params.council}, {span}".replace("{", "{{").replace("}", "}}")
    t = cross_table(page, scopes, measure, by, f"{caption}, {where}", first_header)
    subtitle = f"{subtitle}, {page.params.council}, {span}"
    lines = chart("line", (title, subtitle), unit, axis, points)
    # the heading names the figure; the chart's title (under it) states the finding
    heading = prose.by_phrase(measure_name(measure), dimension_name(by))
    return Figure(heading, lines, t.table if t else None, boxed=False)


def counts_table(
    page: Page, scope: str, measure: str, by: str, caption: str, header: str
) -> Figure | None:
    if not (rows := page.rows(measure, scope, by)):
        return None
    first = dimension_name(by).capitalize()
    caption = f"{caption}, {page.params.council}, {page.period_for(measure)}"
    return Figure(table=breakdown_table(caption, rows, first, header), boxed=False)


def caseload_threshold(page: Page, scope: str) -> Message:
    t = page.reference.caseload_threshold
    if t is None:
        return Message(text("no_caseload_threshold"))
    return Message(text("caseload_threshold", threshold=f"{t:g}"))


def caseloads(page: Page, scope: str, by: str) -> Figure | None:
    """Average caseload by team or role against the threshold, with median, lowest, highest."""
    if not (means := page.rows("caseload_mean", scope, by)):
        return None
    threshold, name = page.reference.caseload_threshold, dimension_name(by)
    maxima = page.rows("caseload_max", scope, by)
    title = prose.caseload_title(means, name, threshold, maxima)
    points = [Point(category_label(by, r.category), r.number) for r in means]
    alt = "; ".join(f"{p.label}: {p.value:.1f}" for p in points if p.value is not None)
    alt = f"Bar chart. {title}. {alt}."
    rules = () if threshold is None else (Rule(threshold, f"Threshold {threshold:g}"),)
    if threshold is not None:
        alt += f" Dashed line: threshold of {threshold:g} cases."
    when = page.period_for("caseload_mean")
    sub = f"Average caseload of staffed posts by {name}, {scope_label(scope)}, "
    sub += f"{page.params.council}, {when}"
    bars = chart("bar", (title, sub), "count", "Average caseload", points, rules=rules, alt=alt)
    stats = ("caseload_mean", "caseload_median", "caseload_min", "caseload_max")
    body = []
    for r in means:
        cells = [
            c
            for m in stats
            for c in figure_cells(page.get(m, scope, by, r.category), "", ["value"])
        ]
        above = NOT_APPLICABLE
        if threshold is not None and r.number is not None:
            above = "Yes" if r.number > threshold else "No"
        posts = figure_cells(r, "", ["denominator"])
        body.append([Cell(category_label(by, r.category)), *cells, *posts, Cell(above)])
    header = [name.capitalize(), "Average", "Median", "Lowest", "Highest"]
    header += ["Staffed posts with a caseload", "Average above the threshold"]
    caption = f"Caseloads by {name}, {scope_label(scope)}, {page.params.council}, {when}"
    t = table(caption, header, body, range(1, 6))
    return Figure(f"Caseloads by {name}", bars, t)


def follow_up(page: Page, scope: str, measure: str, months: int) -> Figure | Message | None:
    """Referred again within n months, by decision; or why it cannot be measured yet."""
    if any(r.number is not None for r in page.rows(measure, scope, "outcome")):
        p = page.params
        window = prose.follow_up_window(months, p.period_start, p.period_end, p.data_as_at)
        return breakdown(page, scope, measure, "outcome", "referrals", window=window)
    return Message(prose.follow_up_missing(months, page.params.data_as_at))


def message(page: Page, scope: str, text: str) -> Message:
    return Message(text)


#: Block kinds of pages.yaml -> builder. Builders of several services get the section's list.
BUILDERS: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (stat, breakdown, trend, quarters, figures, follow_up, service_table, service_bars,
              cross_table, service_lines, counts_table, caseload_threshold, caseloads, message)
}  # fmt: skip
_SEVERAL = {"service_table", "service_bars", "cross_table", "service_lines"}


def section(page: Page, spec_: dict[str, Any]) -> Section | None:
    """One section of pages.yaml; None when none of its blocks has figures. A section's scope
    may be a list: each block takes the first scope with figures of its measure."""
    scope, blocks = spec_.get("scope"), []
    for item in spec_.get("blocks", []):
        ((kind, args),) = item.items()
        args = dict(args) if isinstance(args, dict) else {"text": args}
        if kind in _SEVERAL:
            args["services"] = spec_["services"]
        elif "scope" in args:
            pass  # the block names its own service (e.g. the quarterly series of a headline row)
        elif isinstance(scope, list):
            args["scope"] = next((s for s in scope if page.has(s, args.get("measure"))), scope[-1])
        else:
            args["scope"] = scope or ""
        if (block := BUILDERS[kind](page, **args)) is not None:
            blocks.append(block)
    if not blocks:
        return None
    heading = spec_.get("heading") or scope_label(scope if isinstance(scope, str) else "")
    return Section(heading, spec_["anchor"], tuple(blocks), spec_.get("intro", ""))


# ---------------------------------------------------------------------------------------------
# Page furniture: header, key messages, headline table, symbols, definitions, data quality,
# provenance


def spark(page: Page, analysis: str, measure_key: str, scope: str) -> Spark | None:
    """The quarterly series of a headline figure as a small line (None without one shown
    quarter): zero-based like every chart, cut at withheld or blank quarters. A part quarter of
    a count (cut at period_end, or after its extract stops) is not drawn: a small line has no
    label to say so, and its short count would read as a fall (its text alternative says it)."""
    rows = sorted(
        page.metrics.select(analysis, measure_key, scope, "quarter"), key=lambda r: r.category
    )
    if not rows:
        return None
    end, unit = page.params.period_end, rows[0].unit
    cut = page.complete_to(measure_key, analysis)
    whole = whole_only(measure_key, unit, cut)
    short = [whole and prose.part_or_incomplete(r.category, end, cut) for r in rows]
    drawn = [None if sh else r.number for r, sh in zip(rows, short, strict=True)]
    shown = [v for v in drawn if v is not None]
    if not shown:
        return None
    w, h, pad = Spark.WIDTH, Spark.HEIGHT, 3
    low, high = min(0.0, *shown), max(0.0, *shown)  # zero always on the scale
    span = (high - low) or 1.0
    step = (w - 2 * pad) / max(1, len(rows) - 1)
    lines: list[str] = []
    cur: list[tuple[float, float]] = []
    last = None
    for i, v in enumerate([*drawn, None]):
        if v is None:
            if cur:
                lines.append(" ".join(f"{x:g},{y:g}" for x, y in cur))
            cur = []
            continue
        y = h - pad - (h - 2 * pad) * (v - low) / span
        last = (round(pad + i * step, 1), round(y, 1))
        cur.append(last)
    said = [
        f"{prose.quarter_label(r.category, end, cut)}: "
        + (prose.cell(r.value, unit) if r.number is not None else "withheld or not available")
        + (" (part quarter, not drawn)" if sh and r.number is not None else "")
        for r, sh in zip(rows, short, strict=True)
    ]
    label = "Trend by quarter. " + "; ".join(said) + "."
    return Spark(tuple(lines), last, label)


def whole_only(measure_key: str, unit: str, cut: dt.date | None) -> bool:
    """Is a figure compared only over whole quarters? Counts grow with the months counted (not
    a ``snapshot``): a quarter cut at period_end would read as a fall. And any figure whose
    extract stops early (``cut``): its later quarters lack records, not only months (a core
    group held after the extract stopped is missing from a rate too), so they are shown,
    labelled, but not compared."""
    m = measure(measure_key)
    return (unit == "count" and not m.get("snapshot", False)) or cut is not None


def headline_table(
    page: Page, items: Sequence[Sequence[str]], caption: str, trend: bool = False
) -> Table | Message:
    """``items``: [analysis, measure, scope, label]: this period, the same period last year (the
    ``previous_year`` row: like with like), the change in words with an arrow, the comparator,
    the target and the status; with ``trend``, a small line of the quarterly series too (the
    summary's scorecard). Rows missing from the metrics are skipped."""
    body = []
    for analysis, measure_key, scope, label in items:
        if (r := page.metrics.get(analysis, measure_key, scope)) is None:
            continue
        before, moved = Cell(NOT_APPLICABLE, True), Cell(NOT_APPLICABLE)
        if (p := same_period_last_year(page.metrics, r)) is not None:
            before = Cell(prose.cell(p.value, r.unit), True, p.key, "value")
            if why := page.not_compared(measure_key, r.unit, analysis):
                moved = Cell(why)
            elif ch := prose.change(r.number, p.number, r.unit, polarity(measure_key)):
                moved = Cell(ch.words, arrow=ch.arrow)
        theirs = NOT_APPLICABLE
        if lb := page.reference.latest_benchmark(measure_key, scope):
            theirs = prose.cell(str(lb[1].value), r.unit) + (f" ({lb[0]})" if lb[0] else "")
        value = Cell(prose.cell(r.value, r.unit), True, r.key, "value")
        row = [Cell(label), value, before, moved, Cell(theirs, True), *_status(page, r, scope)]
        if trend:
            line = spark(page, analysis, measure_key, scope)
            row.append(Cell("" if line else NOT_APPLICABLE, spark=line))
        body.append(row)
    if not body:
        return Message(text("no_headline"))
    # the caption names the window most rows cover (the period, or a workforce snapshot) and
    # then each other window with its figures
    windows = [(measure_name(m), page.period_for(m)) for _, m, _, _ in items]
    counts = Counter(when for _, when in windows)
    main = max(counts, key=lambda w: (counts[w], w == page.period_text))
    caption = caption.replace(page.period_text, main) + prose.other_windows(windows, main)
    header = ["Measure", "This period", "Same period last year", "Change"]
    header += [page.params.comparator, "Target", "Status"] + (["Trend"] if trend else [])
    return table(caption, header, body, (1, 2, 4, 5))


def last_year_text(page: Page) -> str:
    """The previous-year period in words (``1 April 2011 to 31 December 2011``)."""
    p = page.params
    start, end = year_earlier(p.period_start), year_earlier(p.period_end)
    return f"{prose.long_date(start)} to {prose.long_date(end)}"


def about_link(css: str = "") -> Message:
    """The one line that sends a reader to the about page (symbols, status rule, glossary,
    definitions, data quality, provenance), which every page links to instead of repeating."""
    before, words, after = spec()["texts"]["about_link"]
    return Message(before, css=css, link=("about.html", words), after=after)


def headline(page: Page, items: Sequence[Sequence[str]], caption: str) -> Section:
    blocks = (headline_table(page, items, caption), about_link("rule"))
    return Section("Headline figures", "headline", blocks, css="headline", landmark=True)


def status_rule(page: Page) -> Section:
    """How the status is set and what the same period last year is (said once, on the about
    page)."""
    extra = text("previous_year", previous=last_year_text(page))
    return Section("How the status is set", "status", (Message(RAG_RULE + extra),), landmark=True)


def _headline_items(analysis: str, n: int | None = None) -> list[list[str]]:
    return [[analysis, *row] for row in pages()[analysis]["headline"][:n]]


def legend(page: Page) -> Section:
    threshold = page.params.suppression_threshold
    withheld = text("withheld", threshold=threshold) if threshold else text("withheld_none")
    items = (
        Term("c", withheld, "withheld"),
        Term(NOT_APPLICABLE, text("not_applicable")),
        Term("0", text("zero")),
    )
    blocks = (Terms(items), Message(text("rounding")))
    return Section("Symbols used", "symbols", blocks, css="legend", landmark=True)


def opening(page: Page) -> list[Any]:
    """Header, key messages, headline table (the symbols and the status rule are on the about
    page, linked under the table)."""
    info = pages()[page.analysis]
    as_at = text("as_at", as_at=prose.long_date(page.params.data_as_at))
    msgs = prose.key_messages(page.metrics, page.analysis, page.reference, page.coverage()) or [
        text("no_messages")
    ]
    bullets = (Bullets(tuple(Message(m) for m in msgs)),)
    return [
        Header(info["title"], info["summary"], as_at, page.period_text),
        *coverage_notes(page, metrics_shape()["sources"].get(page.analysis, ())),
        Section("Key messages", "key-messages", bullets, css="key-messages", landmark=True),
        headline(
            page,
            _headline_items(page.analysis),
            f"Headline figures, {page.params.council}, {page.period_text}",
        ),
    ]


def coverage_notes(
    page: Page, extracts: Sequence[str] = (), summary: bool = False
) -> list[Message]:
    """A notice for each of ``extracts`` whose records do not cover the period: the ``coverage``
    notes of the data quality statement (rules COV-001 to COV-003), such as: The extract of
    referrals to the Duty and Assessment Teams has no records after 31 January 2013; figures for
    February and March 2013 are incomplete. ``summary``: every extract, those alike said
    together (``coverage_summary``)."""
    st = page.params.dq_statement or {}
    if summary:
        notes = st.get("coverage_summary") or [c["note"] for c in st.get("coverage") or []]
    else:
        notes = [c["note"] for c in st.get("coverage") or [] if c.get("extract") in extracts]
    return [Message(note, css="notice") for note in notes]


def definitions(page: Page, analyses: Sequence[str]) -> Section:
    """What each measure means (definition, numerator and denominator), under the title of
    each page that shows it."""
    parts: list[Any] = []
    for a in analyses:
        items = []
        for m in page_measures(a):
            if d := measure(m):
                words = [d.get(k, "") for k in ("definition", "numerator", "denominator")]
                items.append(Term(d["name"], words[0], "", *words[1:]))
        if items:
            parts.append(Terms(tuple(items), pages()[a]["title"]))
    return Section("What the measures mean", "definitions", tuple(parts), landmark=True)


def glossary() -> Section:
    """Every service name and term used on the pages (pages.yaml ``glossary``)."""
    items = tuple(
        Term(t, f"{abbr}. {words}" if abbr else words, abbr)
        for t, abbr, words in spec()["glossary"]
    )
    blocks = (Message(text("glossary_intro")), Terms(items))
    return Section("Glossary", "glossary", blocks, landmark=True)


def _link(name: str) -> Message:
    before, words, after = spec()["texts"][name]
    return Message(before, link=("data_quality.html", words), after=after)


def data_quality(page: Page, extracts: Sequence[str], link: Message) -> Section:
    """The validation statement (``ValidationResult.statement()``) for ``extracts`` (every
    extract when empty): its summary, the rows read, loaded and set aside, and its warnings."""
    st = page.params.dq_statement
    blocks: list[Any] = [Message(text("no_dq"))]
    if st:
        per = {e["extract"]: e for e in st["extracts"]}
        counts = ("rows_read", "rows_loaded", "rows_set_aside", "errors", "warnings")
        body, notes = [], []
        for e in [per[n] for n in extracts if n in per] or list(per.values()):
            label = prose.cap(str(e["grain"] or e["extract"]))
            if not e["delivered"]:
                body.append([Cell(label), *[Cell(NOT_APPLICABLE, True)] * 5, Cell("not supplied")])
                continue
            cells = [Cell(f"{int(e[c]):,}", True) for c in counts]
            body.append([Cell(label), *cells, Cell("yes" if e["reconciles"] else "no")])
            notes += [Message(f"{label}: {line}") for line in e["warnings_summary"]]
        header = ["Extract", "Rows read", "Loaded", "Set aside", "Errors", "Warnings"]
        header.append("Counts reconcile")
        blocks = [Message(st["summary"]), table(text("dq_caption"), header, body, range(1, 6))]
        if notes:
            blocks += [Message(text("dq_warnings")), Bullets(tuple(notes))]
    return Section("Data quality", "data-quality", (*blocks, link), landmark=True)


def provenance(page: Page) -> Section:
    """How the figures were produced: period, extract date, run date, code version. No folder
    or file of the machine that ran it (public pages carry no paths)."""
    p, run = page.params, page.params.run_date or "unknown"
    rows = [
        ("Reporting period", page.period_text),
        ("Extract taken (data as at)", prose.long_date(p.data_as_at)),
        ("Report run on", prose.long_date(run[:10]) + run[10:]),
        ("Code version", p.code_version or "unknown"),
        ("Suppression threshold", f"counts from 1 to {p.suppression_threshold} withheld"),
        ("Figures from", "the public metrics file (figures after disclosure control)"),
        ("Pages made by", text("provenance_pages")),
    ]
    body = [[Cell(a), Cell(b)] for a, b in rows]
    t = table("How these figures were produced", ["Item", "Value"], body, ())
    return Section("How these figures were produced", "provenance", (t,), landmark=True)


def page_blocks(page: Page) -> list[list[Any]]:
    """An analysis page in parts (one notebook output each): opening, then each section. The
    symbols, status rule, definitions, data quality and provenance are said once, on the about
    page (``about_blocks`` in summary.py), which the headline table links to."""
    sections = [section(page, s) for s in pages()[page.analysis]["sections"]]
    return [opening(page)] + [[s] for s in sections if s is not None]
