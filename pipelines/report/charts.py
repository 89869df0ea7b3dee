"""Charts: Altair specs from chart blocks, rendered to inline SVG offline (vl-convert), in the
Analysis Function palette.

Chart data is built only from figures that are shown in public: a withheld (``c``) or blank value
is left out of the data entirely (it is listed by name in the caption instead), so no withheld
number can reach the SVG. Every chart gets a text alternative (``role="img"`` and ``aria-label``
on the SVG, and a ``figcaption``) and is drawn with value labels, dash patterns and point shapes so
nothing depends on colour alone.
"""

from __future__ import annotations

import re
from typing import Any

import altair as alt

from pipelines.report.blocks import Chart
from pipelines.report.prose import number

#: UK Government Analysis Function categorical palette, in the recommended order.
PALETTE = ["#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1"]
DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [1, 3], [10, 2]]
SHAPES = ["circle", "square", "triangle-up", "diamond", "cross", "triangle-down"]
FONT = "Arial, Helvetica, sans-serif"
WIDTH = 440


def theme() -> alt.theme.ThemeConfig:
    """Analysis Function style: palette, Arial, left-aligned titles, light grid, no mark ARIA."""
    return alt.theme.ThemeConfig(
        config={
            "aria": False,  # the whole SVG gets one text alternative instead of one per mark
            "background": "#ffffff",
            # Slack for wider fallback fonts: vl-convert measures text with its own fonts, and a
            # browser without Arial draws labels wider (they would be clipped at the left edge).
            "padding": {"left": 48, "right": 36, "top": 4, "bottom": 4},
            "font": FONT,
            "range": {"category": PALETTE},
            "title": {
                "anchor": "start",
                "fontSize": 15,
                "fontWeight": "bold",
                "color": "#0b0c0c",
                "subtitleFontSize": 12,
                "subtitleColor": "#3D3D3D",
                "offset": 12,
            },
            "axis": {
                "labelFontSize": 12,
                "titleFontSize": 12,
                "labelColor": "#0b0c0c",
                "titleColor": "#0b0c0c",
                "gridColor": "#d9d9d9",
                "domainColor": "#3D3D3D",
                "tickColor": "#3D3D3D",
                "labelLimit": 260,
            },
            "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "bottom"},
            "view": {"stroke": None},
            "bar": {"color": PALETTE[0]},
            "line": {"strokeWidth": 2.5},
        }
    )


alt.theme.register("analysis_function", enable=True)(theme)
alt.renderers.enable("svg")
# Altair's debug mode validates every object as it is built; the specs are checked against the
# Vega-Lite schema once, in tests/test_report.py, so the kernels skip that cost.
alt.utils.schemapi.disable_debug_mode()


def _title(title: str, subtitle: str) -> alt.TitleParams:
    # wrapped for the widest fallback font a browser may use (DejaVu Sans is wider than Arial)
    return alt.TitleParams(_wrap(title, 54), subtitle=_wrap(subtitle, 72))


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


def spec(chart: Chart) -> alt.LayerChart:
    """The Altair chart of a chart block (bar or line)."""
    return bar_chart(chart) if chart.shape == "bar" else line_chart(chart)


def bar_chart(chart: Chart) -> alt.LayerChart:
    """Horizontal bars with the value written at the end of each (shown bars only), and a dashed
    line for each reference line (e.g. the caseload threshold)."""
    shown = [(p, v) for p in chart.points if (v := p.value) is not None]
    values = [{"label": p.label, "value": v, "text": number(v, chart.unit)} for p, v in shown]
    top = max([v for _, v in shown] + [1.0])
    domain_max = 100.0 if chart.unit == "percent" and top <= 100 else top * 1.15
    enc = {
        "y": alt.Y(field="label", type="nominal", sort=[p.label for p, _ in shown], title=None),
        "x": alt.X(
            field="value",
            type="quantitative",
            title=chart.axis_title,
            scale=alt.Scale(domain=[0, domain_max]),
        ),
    }
    layers = [
        _layer(values, {"type": "bar", "height": {"band": 0.7}, "color": PALETTE[0]}, enc),
        _layer(
            values,
            {"type": "text", "align": "left", "dx": 4, "fontSize": 12, "color": "#0b0c0c"},
            {**enc, "text": alt.Text(field="text", type="nominal")},
        ),
    ]
    layers += _reference_lines(chart, "x")
    return alt.LayerChart(
        layer=layers,
        width=WIDTH,
        height=max(60, 26 * len(shown)),
        title=_title(chart.title, chart.subtitle),
    )


def _reference_lines(chart: Chart, axis: str) -> list[alt.Chart]:
    """A line and its label for each reference line across the value axis (``x`` for bars,
    ``y`` for lines): a target or threshold dashed in orange and labelled at the left, a
    comparator dotted in grey and labelled at the right (told apart by pattern, not colour)."""
    layers = []
    for rule in chart.rules:
        comparator = rule.kind == "comparator"
        data = [{"t": rule.value, "text": rule.label}]
        at = {axis: {"field": "t", "type": "quantitative"}}
        dash = {
            "type": "rule",
            "strokeDash": [2, 2] if comparator else [6, 3],
            "color": PALETTE[4] if comparator else PALETTE[3],
            "size": 2,
        }
        layers.append(_layer(data, dash, at))
        words = {"type": "text", "dy": -6, "fontSize": 11, "color": "#0b0c0c"}
        if comparator and axis == "y":  # right-hand end, below the line: clear of a target's label
            words |= {"align": "right", "dx": -3, "dy": 12}
            where = {**at, "x": {"value": WIDTH}}
        else:
            words |= {"align": "left", "dx": 3}
            where = {**at, ("y" if axis == "x" else "x"): {"value": 0}}
        text = {**where, "text": {"field": "text", "type": "nominal"}}
        layers.append(_layer(data, words, text))
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


def line_chart(chart: Chart) -> alt.LayerChart:
    """Lines over periods, one per series, each with its own dash and point shape and labels.
    A withheld or blank point is left out of the data and the line is split there (``detail``
    on segments), so the gap shows; the period stays on the axis."""
    points = list(chart.points)
    segment = _segments(points)
    series = list(dict.fromkeys(p.series for p in points))
    periods = list(dict.fromkeys(p.label for p in points))
    values = [
        {
            "period": p.label,
            "value": p.value,
            "series": p.series,
            "segment": segment[i],
            "text": number(p.value, chart.unit),
        }
        for i, p in enumerate(points)
        if p.value is not None
    ]
    n = len(series)
    # one series (named in the subtitle) needs no legend
    legend: dict[str, Any] = {} if n > 1 else {"legend": None}
    colour = alt.Color(
        field="series",
        type="nominal",
        title=None,
        scale=alt.Scale(domain=series, range=PALETTE[:n]),
        **legend,
    )
    dash = alt.StrokeDash(
        field="series",
        type="nominal",
        title=None,
        scale=alt.Scale(domain=series, range=DASHES[:n]),
        **legend,
    )
    shape = alt.Shape(
        field="series",
        type="nominal",
        title=None,
        scale=alt.Scale(domain=series, range=SHAPES[:n]),
        **legend,
    )
    drawn = [p.value for p in points if p.value is not None]
    top = max(drawn + [r.value for r in chart.rules] + [1.0])
    domain_max = 100.0 if chart.unit == "percent" and top <= 100 else top * 1.2
    enc = {
        "x": alt.X(
            field="period",
            type="ordinal",
            sort=periods,
            title=None,
            scale=alt.Scale(domain=periods),  # every period on the axis, withheld ones too
            # "2013-Q1 (to 31 Jan)" on two lines
            axis=alt.Axis(
                labelAngle=0, labelExpr="split(replace(datum.label, ' (', '\\n('), '\\n')"
            ),
        ),
        "y": alt.Y(
            field="value",
            type="quantitative",
            title=chart.axis_title,
            scale=alt.Scale(domain=[0, domain_max]),
        ),
    }
    line_enc = {
        **enc,
        "color": colour,
        "strokeDash": dash,
        "detail": alt.Detail(field="segment", type="nominal"),
    }
    lines = _layer(None, {"type": "line"}, line_enc)
    pts = _layer(
        None,
        {"type": "point", "filled": True, "size": 70},
        {**enc, "color": colour, "shape": shape},
    )
    # a compact chart over its table labels the latest figure of each line only
    labelled = list({v["series"]: v for v in values}.values()) if chart.label_last else None
    labels = _layer(
        labelled,
        {"type": "text", "dy": -10, "fontSize": 11, "color": "#0b0c0c"},
        {**enc, "text": alt.Text(field="text", type="nominal")},
    )
    return alt.LayerChart(
        data=alt.Data(values=values),  # one copy of the data for the line, points and labels
        layer=[lines, pts, labels, *_reference_lines(chart, "y")],
        width=WIDTH,
        height=chart.height or 220,
        title=_title(chart.title, chart.subtitle),
    )


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
    """Start vl-convert's JavaScript engine (about 1 s, once per process) ahead of the charts."""
    import vl_convert as vlc

    vlc.vegalite_to_svg(
        {
            "mark": "point",
            "data": {"values": [{"a": 1}]},
            "encoding": {"x": {"field": "a", "type": "quantitative"}},
        }
    )
