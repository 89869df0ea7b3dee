"""Charts: Altair specs from chart blocks, rendered to inline SVG offline (vl-convert), in the
Analysis Function palette.

Chart data is built only from figures that are shown in public: a withheld (``c``) or blank value
is left out of the data entirely (it is listed by name in the caption instead), so no withheld
number can reach the SVG. Every chart gets a text alternative (``role="img"`` and ``aria-label``
on the SVG, and a ``figcaption``) and is drawn with value labels, dash patterns and point shapes so
nothing depends on colour alone.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import altair as alt

from pipelines.report.blocks import Chart, Point
from pipelines.report.prose import number

#: UK Government Analysis Function categorical palette, in the recommended order.
PALETTE = ["#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1"]
DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [1, 3], [10, 2]]
SHAPES = ["circle", "square", "triangle-up", "diamond", "cross", "triangle-down"]
FONT = "Arial, Helvetica, sans-serif"
#: Chart text size in px. Charts are drawn at most ``TOTAL`` px wide, so they print at their own
#: size on A4 (about 170 mm, 640 px, between margins): 14 px prints at 10.5 pt.
TEXT = 14
TOTAL = 640
WIDTH = 480  # the plot of a line chart (a bar chart's plot is what its labels leave)
CHAR = 8.2  # px per character of 14 px text, for the widest fallback font (DejaVu Sans)
INK, GREY, WHITE = "#0b0c0c", "#3D3D3D", "#ffffff"
BAND = 30  # px per bar
#: A bar's category label is wrapped beyond this many characters (a service name such as
#: "All four Integrated Family Support Services" on one line, so its bars stay one line high).
LABEL_CHARS = 44
#: More series than this: small multiples (one panel each, shared scale, named above it).
MAX_LINES = 3


def theme() -> alt.theme.ThemeConfig:
    """Analysis Function style: palette, Arial, left-aligned titles, light grid, no mark ARIA."""
    return alt.theme.ThemeConfig(
        config={
            "aria": False,  # the whole SVG gets one text alternative instead of one per mark
            "background": "#ffffff",
            # Slack at the left for wider fallback fonts: vl-convert measures text with its own
            # fonts, and a browser without Arial draws labels wider (they would be clipped).
            "padding": {"left": 40, "right": 8, "top": 4, "bottom": 4},
            "font": FONT,
            "range": {"category": PALETTE},
            "title": {
                "anchor": "start",
                "fontSize": 16,
                "fontWeight": "bold",
                "color": INK,
                "subtitleFontSize": TEXT,
                "subtitleColor": GREY,
                "offset": 12,
            },
            "axis": {
                "labelFontSize": TEXT,
                "titleFontSize": TEXT,
                "labelColor": INK,
                "titleColor": INK,
                "gridColor": "#d9d9d9",
                "domainColor": GREY,
                "tickColor": GREY,
                "labelLimit": 0,  # never cut a label short: long ones are wrapped (_wrap_expr)
            },
            "legend": {
                "labelFontSize": TEXT,
                "titleFontSize": TEXT,
                "orient": "bottom",
                "columns": 1,
                "labelLimit": 0,
                "symbolStrokeWidth": 2.5,
                "symbolSize": 120,
            },  # fmt: skip
            "header": {"labelFontSize": TEXT, "titleFontSize": TEXT},
            "view": {"stroke": None},
            "bar": {"color": PALETTE[0]},
            "line": {"strokeWidth": 2.5},
            "concat": {"spacing": 24},
        }
    )


alt.theme.register("analysis_function", enable=True)(theme)
alt.renderers.enable("svg")
# Altair's debug mode validates every object as it is built; the specs are checked against the
# Vega-Lite schema once, in tests/test_report.py, so the kernels skip that cost.
alt.utils.schemapi.disable_debug_mode()


def _title(title: str, subtitle: str) -> alt.TitleParams:
    # wrapped for the widest fallback font a browser may use (DejaVu Sans is wider than Arial)
    return alt.TitleParams(_wrap(title, 52), subtitle=_wrap(subtitle, 66))


def _wrap(text: str, width: int) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    if cur:
        lines.append(cur)
    return lines or [""]


def _width(text: str) -> float:
    return len(text) * CHAR


def _wrap_expr(labels: list[str], width: int) -> tuple[str, int, int]:
    """An axis ``labelExpr`` that writes each label longer than ``width`` characters on two or
    more lines (never cut short), the widest line in characters and the most lines."""
    cases, widest, most = [], 0, 1
    for label in labels:
        lines = _wrap(label, width)
        widest, most = max([widest] + [len(x) for x in lines]), max(most, len(lines))
        if len(lines) > 1:
            cases.append((label, lines))
    expr = "datum.label"
    for label, lines in cases:
        quoted = ", ".join(_quote(x) for x in lines)
        expr = f"datum.label === {_quote(label)} ? [{quoted}] : ({expr})"
    return expr, widest, most


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _nice_step(span: float, ticks: int = 5) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks."""
    raw = max(span, 1e-9) / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def scale_domain(values: list[float], unit: str, room: float = 0.0) -> tuple[float, float]:
    """The value scale of a chart: from zero (or below it, for negative values) to round ends
    that hold every value and reference line in ``values``; ``room`` is the share of the plot
    kept free beyond the largest (and smallest) value for labels. A share chart ends at 100%
    when its values come near it, and at a round number that fits them when they are all small."""
    lo, hi = min([0.0, *values]), max([0.0, *values])
    if hi == lo:
        hi = 1.0
    if unit == "percent" and 60 < hi <= 100:
        hi = 100.0  # a share near the top: the whole scale
    step = _nice_step(hi - lo)
    lo = math.floor(lo / step + 1e-9) * step
    hi = math.ceil(hi / step - 1e-9) * step
    # room for labels: beyond the round end only as far as needed (ticks stay round)
    top, bottom = max([0.0, *values]), min([0.0, *values])
    if top > 0 and (hi - top) < room * (hi - lo):
        hi = top + room * (hi - lo) / (1 - room)
    if bottom < 0 and (bottom - lo) < room * (hi - lo):
        lo = bottom - room * (hi - lo) / (1 - room)
    return lo, hi


def _ticks(lo: float, hi: float, unit: str) -> list[float]:
    """Round ticks inside the scale; a percentage axis stops at 100 (room above is for labels)."""
    step = _nice_step(hi - lo)
    n0, n1 = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    ticks = [round(i * step, 10) for i in range(n0, n1 + 1)]
    return [t for t in ticks if not (unit == "percent" and t > 100)]


def _layer(data: list[dict] | None, mark: dict, encoding: dict) -> alt.Chart:
    """One layer built through constructors only: Altair validates lazily (in ``to_dict``), so
    this skips the per-call schema validation of ``.encode``/``.properties`` (~30 ms a chart).
    ``data`` None: the layer uses the data of the chart it is layered in."""
    source: dict[str, Any] = {} if data is None else {"data": alt.Data(values=data)}
    return alt.Chart(
        **source,
        mark=alt.MarkDef(**mark),
        encoding=alt.FacetedEncoding(**encoding),
    )


def spec(chart: Chart) -> alt.TopLevelMixin:
    """The Altair chart of a chart block (bar or line)."""
    return bar_chart(chart) if chart.shape == "bar" else line_chart(chart)


def _bar_label(v: float, text: str, lo: float, hi: float, width: float, rules: list[float]):
    """Where a bar's value label goes: inside the bar's end in white when it fits there (and no
    reference line crosses it), else just beyond the end in dark text, or beyond a reference
    line the text would cross. Returns (anchor value, inside, text width in px)."""
    px = width / (hi - lo)
    tw = _width(text) + 6
    sign = 1 if v >= 0 else -1

    def crosses(a: float, b: float) -> list[float]:
        x0, x1 = sorted((a, b))
        return [r for r in rules if x0 - 2 / px <= r <= x1 + 2 / px]

    if abs(v) * px >= tw + 4 and not crosses(v - sign * tw / px, v):
        return v, True, tw
    anchor = v
    while hit := crosses(anchor, anchor + sign * tw / px):
        anchor = (max(hit) if sign > 0 else min(hit)) + sign * 3 / px
    return anchor, False, tw


def bar_chart(chart: Chart) -> alt.LayerChart:
    """Horizontal bars on a scale from zero that holds every value, label and reference line.
    Negative bars run left of a zero line; category labels sit outside the plot, wrapped, never
    under a bar. Each value is written inside its bar's end in white, or beyond it in dark text
    when the bar is too short. A reference line (e.g. the caseload threshold) is dashed, and
    labelled in a row of its own above the bars."""
    shown = [(p, v) for p in chart.points if (v := p.value) is not None]
    labels = [p.label for p, _ in shown]
    expr, widest, most = _wrap_expr(labels, LABEL_CHARS)
    band = max(BAND, 18 * most + 8)  # a wrapped label's lines stay within its own band
    width = max(200, TOTAL - 48 - widest * CHAR - 12)
    rules = [r.value for r in chart.rules]
    texts = value_texts([v for _, v in shown], chart.unit)
    marks = _rule_marks(chart)
    lo, hi = scale_domain([v for _, v in shown] + rules, chart.unit)
    placed: list[tuple[float, bool, float]] = []
    for _ in range(12):  # widen the scale until every label outside its bar fits in the plot
        placed = [
            _bar_label(v, t, lo, hi, width, rules) for (_, v), t in zip(shown, texts, strict=True)
        ]
        px = width / (hi - lo)
        ends = [a + (tw / px if a >= 0 else -tw / px) for a, inside, tw in placed if not inside]
        ends += [r + (_width(x.label) + 8) / px for r, x in marks]
        if all(lo <= e <= hi for e in ends):
            break
        lo, hi = scale_domain([v for _, v in shown] + rules + ends, chart.unit)
    values = [
        {"label": p.label, "value": v, "text": t, "at": a, "inside": inside}
        for (p, v), t, (a, inside, _) in zip(shown, texts, placed, strict=True)
    ]  # fmt: skip
    # rows above the bars for the reference-line labels: one, or more where labels would meet
    placed_rules = _place_rule_labels(marks, lo, hi, width)
    tops = [" " * (k + 1) for k in range(max((row for *_, row in placed_rules), default=-1) + 1)]
    rows = tops + labels
    y = alt.Y(
        field="label",
        type="nominal",
        sort=rows,
        title=None,
        scale=alt.Scale(domain=rows, paddingInner=0.3, paddingOuter=0.15),
        axis=alt.Axis(labelExpr=expr, ticks=False, labelPadding=6),
    )
    x = alt.X(
        field="value",
        type="quantitative",
        title=chart.axis_title,
        scale=alt.Scale(domain=[lo, hi], nice=False),
        axis=alt.Axis(values=_ticks(lo, hi, chart.unit)),
    )
    layers = [_layer(values, {"type": "bar", "color": PALETTE[0]}, {"y": y, "x": x})]
    if lo < 0:  # the zero line bars run left and right from
        layers.append(
            _layer([{"z": 0}], {"type": "rule", "color": INK, "size": 1.5},
                   {"x": alt.X(field="z", type="quantitative")})
        )  # fmt: skip
    for positive in (True, False):
        for inside in (True, False):
            part = [
                v
                for v in values
                if (v["value"] >= 0) is positive and v["inside"] is inside  # type: ignore[operator]
            ]
            if not part:
                continue
            # inside: back from the bar's end; outside: on from it, away from the bar
            align, dx = ("right", -4) if positive is inside else ("left", 4)
            mark = {"type": "text", "align": align, "dx": dx, "fontSize": TEXT,
                    "color": WHITE if inside else INK, "baseline": "middle"}  # fmt: skip
            enc = {"y": y, "x": alt.X(field="at", type="quantitative"),
                   "text": alt.Text(field="text", type="nominal")}  # fmt: skip
            layers.append(_layer(part, mark, enc))
    layers += _bar_rules(chart, placed_rules, tops)
    return alt.LayerChart(
        layer=layers,
        width=width,
        height=band * len(rows),
        title=_title(chart.title, chart.subtitle),
    )


def value_texts(values: list[float], unit: str) -> list[str]:
    """The value labels of one chart, all to the same number of decimal places: averages such as
    caseloads read "20.0" beside "10.4", never "20" beside "10.4"."""
    if unit != "percent" and any(not float(v).is_integer() for v in values):
        return [f"{v:,.1f}" for v in values]
    return [number(v, unit) for v in values]


@dataclasses.dataclass(frozen=True)
class _Mark:
    """One drawn reference line of a bar chart (a target, threshold or comparator)."""

    value: float
    label: str
    comparator: bool


def _rule_marks(chart: Chart) -> list[tuple[float, _Mark]]:
    """Each reference line with the label it gets: lines at the same level (a target and the
    comparator both at 95%) share one label, "Target 95%; Wales 95%", so two labels are never
    written over each other; each line is still drawn in its own pattern."""
    marks: list[tuple[float, _Mark]] = []
    for rule in chart.rules:
        at = [
            i
            for i, (v, _) in enumerate(marks)
            if number(v, chart.unit) == number(rule.value, chart.unit)
        ]
        if at:
            v, m = marks[at[0]]
            marks[at[0]] = (v, dataclasses.replace(m, label=f"{m.label}; {rule.label}"))
        else:
            marks.append((rule.value, _Mark(rule.value, rule.label, rule.kind == "comparator")))
    return marks


def _place_rule_labels(
    marks: list[tuple[float, _Mark]], lo: float, hi: float, width: float
) -> list[tuple[_Mark, bool, int]]:
    """Where each reference-line label goes above the bars: right of its line (left of it near
    the right end), in the first row where it meets no other label. Returns (mark, right, row)."""
    px = width / (hi - lo)
    placed: list[tuple[_Mark, bool, int]] = []
    boxes: list[tuple[int, float, float]] = []
    lines = [(v - lo) * px for v, _ in marks]
    for _, m in marks:
        x, tw = (m.value - lo) * px, _width(m.label) + 8
        sides = [True, False] if x + tw <= width else [False, True]
        choice = None
        # first clear of every other line too, then clear of other labels only
        for clear_of_lines in (True, False):
            for row in range(len(marks)):
                for right in sides:
                    x0, x1 = (x, x + tw) if right else (x - tw, x)
                    if x0 < 0 or x1 > width:
                        continue
                    if clear_of_lines and any(x0 < u < x1 and abs(u - x) > 1 for u in lines):
                        continue
                    if not any(r == row and a < x1 and x0 < b for r, a, b in boxes):
                        choice = (right, row, x0, x1)
                        break
                if choice:
                    break
            if choice:
                break
        right, row, x0, x1 = choice or (sides[0], len(boxes), x, x + tw)
        boxes.append((row, x0, x1))
        placed.append((m, right, row))
    return placed


def _bar_rules(chart: Chart, placed: list[tuple[_Mark, bool, int]], tops: list[str]) -> list:
    """Each reference line of a bar chart, dashed (a target or threshold) or dotted (a
    comparator) across the bars, and its label in a row above them (``_place_rule_labels``)."""
    layers = []
    lines = [(r.value, r.kind == "comparator", r.label) for r in chart.rules]
    for value, comparator, _ in lines:
        dash = {"type": "rule", "strokeDash": [2, 2] if comparator else [6, 3],
                "color": GREY if comparator else PALETTE[3], "size": 2}  # fmt: skip
        layers.append(_layer([{"t": value}], dash, {"x": alt.X(field="t", type="quantitative")}))
    for m, right, row in placed:
        data = [{"t": m.value, "text": m.label, "row": tops[row]}]
        words = {"type": "text", "fontSize": TEXT, "color": INK, "baseline": "middle",
                 "align": "left" if right else "right", "dx": 5 if right else -5}  # fmt: skip
        enc = {"x": alt.X(field="t", type="quantitative"),
               "y": alt.Y(field="row", type="nominal"),
               "text": alt.Text(field="text", type="nominal")}  # fmt: skip
        layers.append(_layer(data, words, enc))
    return layers


def _segments(points: list) -> dict[int, str]:
    """Each shown point's line segment: a series is cut wherever a point is withheld or blank, so
    the line breaks there and never joins the quarters either side (nothing is interpolated)."""
    seg: dict[int, str] = {}
    count: dict[str, int] = {}
    broken: dict[str, bool] = {}  # the series' last point was withheld (or there was none yet)
    for i, p in enumerate(points):
        if p.value is None:
            broken[p.series] = True
            continue
        if broken.get(p.series, True):
            count[p.series] = count.get(p.series, 0) + 1
        broken[p.series] = False
        seg[i] = f"{p.series}#{count[p.series]}"
    return seg


def _grid(points: list) -> tuple[list, list[str], list[str]]:
    """Every series at every period, in period order: a period a series has no row for is a
    missing point (None), so its line breaks there as at a withheld one."""
    series = list(dict.fromkeys(p.series for p in points))
    periods = list(dict.fromkeys(p.label for p in points))
    if all(re.match(r"\d{4}", p) for p in periods):  # years and quarters: in time order
        periods = sorted(periods)
    held = {(p.series, p.label): p for p in points}
    full = [held.get((s, t)) or Point(t, None, s) for s in series for t in periods]
    return full, series, periods


def line_chart(chart: Chart) -> alt.TopLevelMixin:
    """Lines over periods, each series with its own colour, dash and point shape (readable in
    greyscale). A withheld, blank or missing point is left out and the line is split there
    (``detail`` on segments), so the gap shows; the period stays on the axis. Up to
    ``MAX_LINES`` series share one plot, each named at its latest point (no legend to cut
    off); more are drawn as small multiples."""
    points, series, periods = _grid(list(chart.points))
    if len(series) > MAX_LINES:
        return _small_multiples(chart, points, series, periods)
    layers = _line_layers(chart, points, series, periods, WIDTH, chart.height or 220)
    return alt.LayerChart(
        data=alt.Data(values=_line_values(chart, points)),  # one copy for line, points, labels
        layer=layers,
        width=WIDTH,
        height=chart.height or 220,
        title=_title(chart.title, chart.subtitle),
    )


def _line_values(chart: Chart, points: list) -> list[dict]:
    segment = _segments(points)
    drawn = [(i, p) for i, p in enumerate(points) if p.value is not None]
    return [
        {"period": p.label, "value": p.value, "series": p.series, "segment": segment[i],
         "text": text}
        for (i, p), text in zip(drawn, value_texts([p.value for _, p in drawn], chart.unit),
                                strict=True)
    ]  # fmt: skip


def _line_layers(
    chart: Chart, points: list, series: list[str], periods: list[str], width: int, height: int,
    domain: tuple[float, float] | None = None,
) -> list[alt.Chart]:  # fmt: skip
    """Line, points, value labels and reference lines of one plot. Labels: every point of a
    single short series, else the latest point of each line (the table has every figure); a
    label goes above its point, or below when the line rises into it."""
    n = len(series)
    values = _line_values(chart, points)
    drawn = [v["value"] for v in values]
    room = 24 / height  # a label's height above the highest point
    lo, hi = domain or scale_domain(drawn + [r.value for r in chart.rules], chart.unit, room)
    show_legend: dict[str, Any] = {"legend": None}  # lines are named at their ends instead

    def channel(cls: Any, rng: list) -> Any:
        return cls(field="series", type="nominal", title=None,
                   scale=alt.Scale(domain=series, range=rng[:n]),
                   **show_legend)  # fmt: skip

    colour = channel(alt.Color, PALETTE)
    dash, shape = channel(alt.StrokeDash, DASHES), channel(alt.Shape, SHAPES)
    # "2013-Q1 (to 31 Jan)" as "2013" / "Q1" / "(to 31 Jan)": short enough side by side
    split = "split(replace(replace(datum.label, ' (', '\\n('), '-Q', '\\nQ'), '\\n')"
    if domain:  # a narrow panel: "Q2", the year under the first quarter and each Q1
        first = _quote(periods[0]) if periods else "''"
        split = (f"indexof(datum.label, '-Q') < 0 ? datum.label : "
                 f"indexof(datum.label, '-Q1') >= 0 || datum.label === {first} ? "
                 "[substring(datum.label, 5), substring(datum.label, 0, 4)] : "
                 "[substring(datum.label, 5), '']")  # fmt: skip
    enc = {
        "x": alt.X(field="period", type="ordinal", sort=periods, title=None,
                   scale=alt.Scale(domain=periods),  # every period on the axis, withheld too
                   axis=alt.Axis(labelAngle=0, labelExpr=split)),
        "y": alt.Y(field="value", type="quantitative", title=chart.axis_title,
                   scale=alt.Scale(domain=[lo, hi], nice=False),
                   axis=alt.Axis(values=_ticks(lo, hi, chart.unit))),
    }  # fmt: skip
    line_enc = {**enc, "color": colour, "strokeDash": dash,
                "detail": alt.Detail(field="segment", type="nominal")}  # fmt: skip
    lines = _layer(None, {"type": "line"}, line_enc)
    pts = _layer(None, {"type": "point", "filled": True, "size": 70},
                 {**enc, "color": colour, "shape": shape})  # fmt: skip
    every = n == 1 and not chart.label_last and len(periods) <= 8
    labelled = values if every else list({v["series"]: v for v in values}.values())
    # several lines: the latest point of each is labelled with the series' name (no legend)
    labelled = [{**v, "text": f"{v['series']} {v['text']}" if n > 1 else v["text"]}
                for v in labelled]  # fmt: skip
    step = width / max(len(periods), 1)
    xs = {t: step * (i + 0.5) for i, t in enumerate(periods)}

    def ypx(v: float) -> float:
        return height * (hi - v) / (hi - lo)

    path = _polylines(values, xs, ypx)
    across = [(x, ypx(r.value)) for r in chart.rules for x in range(0, width + 1, 3)]
    boxes: list[tuple[float, float, float, float]] = []
    spots = [(dy, a) for dy in (-15, 16, -30, 31) for a in ("center", "right", "left")]
    for v in labelled:
        x, yv = xs[v["period"]], ypx(v["value"])
        tw = _width(v["text"])
        found: tuple[int, str, tuple[float, float, float, float]] | None = None
        for dy, align in spots:
            x0 = {"center": x - tw / 2, "right": x + 4 - tw, "left": x - 4}[align]
            box = (x0, yv + dy - 7, x0 + tw, yv + dy + 7)
            if box[0] < 0 or box[2] > width or box[1] < 0 or box[3] > height:
                continue
            found = found or (dy, align, box)
            if not _collides(box, path + across, boxes):
                found = (dy, align, box)
                break
        dy, align, box = found or (-15, "center", (0, 0, 0, 0))
        boxes.append(box)
        v["dy"], v["align"] = dy, align
    label_layers = []
    for dy, align in sorted({(v["dy"], v["align"]) for v in labelled}):
        part = [v for v in labelled if (v["dy"], v["align"]) == (dy, align)]
        dx = {"center": 0, "right": 4, "left": -4}[align]
        label_layers.append(
            _layer(part, {"type": "text", "dy": dy, "dx": dx, "align": align, "fontSize": TEXT,
                          "color": INK, "baseline": "middle"},
                   {**enc, "text": alt.Text(field="text", type="nominal")})
        )  # fmt: skip
    rules = _line_rules(chart, width, height, ypx, path, boxes)
    return [lines, pts, *label_layers, *rules]


def _polylines(values: list[dict], xs: dict, ypx: Any) -> list[tuple[float, float]]:
    """Points every few px along each drawn line segment (and each point), in plot px."""
    out: list[tuple[float, float]] = []
    last: dict[str, tuple[float, float]] = {}
    for v in values:
        x, y = xs[v["period"]], ypx(v["value"])
        if (prev := last.get(v["segment"])) is not None:
            for k in range(1, 40):
                f = k / 40
                out.append((prev[0] + (x - prev[0]) * f, prev[1] + (y - prev[1]) * f))
        for dx, dy in ((0, 0), (-4, -4), (4, 4), (-4, 4), (4, -4)):
            out.append((x + dx, y + dy))
        last[v["segment"]] = (x, y)
    return out


def _collides(box: tuple, path: list, boxes: list) -> bool:
    x0, y0, x1, y1 = box
    if any(x0 - 2 < x < x1 + 2 and y0 - 2 < y < y1 + 2 for x, y in path):
        return True
    return any(x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1 for b in boxes)


def _line_rules(
    chart: Chart, width: int, height: int, ypx: Any, path: list, boxes: list
) -> list[alt.Chart]:
    """A line and its label for each reference line: a target or threshold dashed in orange, a
    comparator dotted in grey (told apart by pattern, not colour). Each label goes at the left
    or right end, above or below its line, wherever it crosses no line, point or other label."""
    layers = []
    for rule in chart.rules:
        comparator = rule.kind == "comparator"
        data = [{"t": rule.value, "text": rule.label}]
        at = {"y": {"field": "t", "type": "quantitative"}}
        dash = {"type": "rule", "strokeDash": [2, 2] if comparator else [6, 3],
                "color": GREY if comparator else PALETTE[3], "size": 2}  # fmt: skip
        layers.append(_layer(data, dash, at))
        tw, y = _width(rule.label), ypx(rule.value)
        ends: list[tuple[str, float]] = [("left", 3), ("right", width - 3)]
        if comparator:  # the right-hand end first: clear of a target's label at the same level
            ends.reverse()
        ends += [("left", width * k / 8) for k in range(1, 7)]  # else along the line
        choice = fallback = first = None
        for dy in (-11, 12, -24, 25):
            for align, x in ends:
                x0 = x if align == "left" else x - tw
                box = (x0, y + dy - 8, x0 + tw, y + dy + 8)
                if box[1] < 0 or box[3] > height:
                    continue
                first = first or (align, x, dy, box)
                if fallback is None and not _collides(box, [], boxes):
                    fallback = (align, x, dy, box)  # crosses a line, but no other label
                if not _collides(box, path, boxes):
                    choice = (align, x, dy, box)
                    break
            else:
                continue
            break
        choice = choice or fallback or first
        if choice is None:
            choice = (ends[0][0], ends[0][1], 12, (0, 0, 0, 0))
        align, x, dy, box = choice
        boxes.append(box)
        words = {"type": "text", "dy": dy, "fontSize": TEXT, "color": INK, "align": align,
                 "baseline": "middle"}  # fmt: skip
        where = {**at, "x": {"value": x}, "text": {"field": "text", "type": "nominal"}}
        layers.append(_layer(data, words, where))
    return layers


def _small_multiples(chart: Chart, points: list, series: list[str], periods: list[str]):
    """One small panel per series, two to a row, on one shared scale, each named above its
    plot (a direct label: no legend to cut off); every panel labels its latest figure. The
    panels share one look: their place and name tell them apart."""
    height, width = 150, 240
    drawn = [p.value for p in points if p.value is not None] + [r.value for r in chart.rules]
    domain = scale_domain(drawn, chart.unit, 24 / height)
    panels = []
    for s in series:
        own = [p for p in points if p.series == s]
        sub = dataclasses.replace(chart, label_last=True)
        layers = _line_layers(sub, own, [s], periods, width, height, domain)
        panels.append(
            alt.LayerChart(
                data=alt.Data(values=_line_values(chart, own)),
                layer=layers, width=width, height=height,
                title=alt.TitleParams(_wrap(s[:1].upper() + s[1:], 30), fontSize=TEXT,
                                      fontWeight="bold", subtitle=""),
            )
        )  # fmt: skip
    rows = [alt.HConcatChart(hconcat=panels[k : k + 2]) for k in range(0, len(panels), 2)]
    return alt.VConcatChart(vconcat=rows, title=_title(chart.title, chart.subtitle))


_XMLNS = re.compile(r'\s+xmlns(:xlink)?="[^"]*"')
# Vega's per-mark ARIA (roles, descriptions): the SVG as a whole is one image with one text
# alternative, so the inner annotations are dropped.
_INNER_ARIA = re.compile(r'\s+(?:role|aria-[a-z]+)="[^"]*"')


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Render offline with vl-convert; drop the xmlns URLs (not needed inline in HTML)."""
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(chart.to_dict(validate=False))
    svg = _XMLNS.sub("", svg, count=2)
    return _INNER_ARIA.sub("", svg)


def svg(chart: Chart) -> str:
    """The chart as inline SVG: one image (``role="img"``) whose text alternative is the chart
    block's alt text (the figure caption says the same)."""
    from html import escape

    return to_svg(spec(chart)).replace(
        "<svg ",
        f'<svg role="img" aria-label="{escape(chart.alt_text)}" focusable="false" '
        'style="max-width:100%;height:auto" ',
        1,
    )


def warm() -> None:
    """Start vl-convert's JavaScript engine (about 1 s, once per process) ahead of the charts,
    and draw a layered bar and a line chart, so that the engine has compiled the paths the
    pages' charts take (the first few charts of a process cost about twice the later ones)."""
    import vl_convert as vlc

    values = [{"k": "A", "v": 1.5, "s": "x"}, {"k": "B", "v": -2.0, "s": "y"}]
    bar = {
        "data": {"values": values},
        "layer": [
            {"mark": "bar", "encoding": {"y": {"field": "k", "type": "nominal"},
                                         "x": {"field": "v", "type": "quantitative"}}},
            {"mark": {"type": "text", "align": "left"},
             "encoding": {"y": {"field": "k", "type": "nominal"},
                          "x": {"field": "v", "type": "quantitative"},
                          "text": {"field": "v", "format": ".1f"}}},
            {"mark": {"type": "rule", "strokeDash": [4, 2]}, "encoding": {"x": {"datum": 1}}},
        ],
    }  # fmt: skip
    line = {
        "data": {"values": values},
        "mark": {"type": "line", "point": True},
        "encoding": {"x": {"field": "k", "type": "ordinal"},
                     "y": {"field": "v", "type": "quantitative"},
                     "strokeDash": {"field": "s", "type": "nominal"}},
    }  # fmt: skip
    for chart in (bar, line, bar, line):
        vlc.vegalite_to_svg(chart)
