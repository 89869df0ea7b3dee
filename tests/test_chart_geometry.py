"""Every chart of every page drawn right, measured in a real browser (headless Chromium).

A sample run's pages are opened and each chart's SVG is measured as drawn: every mark (bar,
line, point, value label, reference line) lies inside its plot area (the rectangle the axes
bound), and no text (value label, reference-line label, axis label) overlaps another text or a
mark it does not belong to (a label inside its own bar is its own). Lines are tested along
their length, not by their bounding box.

By default the shipped sample is run once (about 10 s). ``CHART_GEOMETRY_REPORTS`` (folders of
rendered pages separated by ``:``) checks existing runs instead, e.g. another council's:
``pipelines sample --out X --seed 7 --scale 3`` then ``pipelines report --raw-dir X --council
Torfaen --out R`` and ``CHART_GEOMETRY_REPORTS=R pytest tests/test_chart_geometry.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_browser import ARGS, CHROMIUM, _require_browser

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["referrals", "distance_travelled", "re_referrals", "cpr", "workforce", "index"]
SLACK = 1.5  # px: anti-aliasing and rounding of the drawn SVG

pytestmark = pytest.mark.browser

# Measures every chart: plot areas (one per cell of a chart), the marks of each, and every text.
MEASURE = """
els => els.map((svg, chartIndex) => {
  const box = e => { const r = e.getBoundingClientRect();
    return {x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}; };
  const cellOf = e => e.closest('g.role-scope, g.role-frame');
  const cells = [...svg.querySelectorAll('g.role-scope, g.role-frame')].filter(
    g => g.querySelector(':scope > g > path.background') &&
         [...g.querySelectorAll('g.role-axis')].some(a => cellOf(a) === g));
  const area = new Map(cells.map(g => [g, box(g.querySelector(':scope > g > path.background'))]));
  const plotOf = e => { let g = cellOf(e); while (g && !area.has(g)) g = cellOf(g.parentElement);
    return g; };
  const marks = [], texts = [];
  svg.querySelectorAll('g.role-mark').forEach(group => {
    const type = [...group.classList].find(c => c.startsWith('mark-')).slice(5);
    if (type === 'group') return;
    group.querySelectorAll(':scope > path, :scope > line, :scope > text').forEach(e => {
      const b = box(e), cell = cells.indexOf(plotOf(e));
      if (b.x1 - b.x0 <= 0 && b.y1 - b.y0 <= 0) return;
      const item = {type, cell, box: b, text: e.textContent, points: [],
                    fill: e.getAttribute('fill') || ''};
      if (type === 'line' || type === 'rule') {
        const n = e.getTotalLength ? Math.ceil(e.getTotalLength() / 2) : 0;
        const m = e.getScreenCTM();
        for (let i = 0; i <= n; i++) {
          const p = e.getPointAtLength(Math.min(i * 2, e.getTotalLength()));
          const q = new DOMPoint(p.x, p.y).matrixTransform(m);
          item.points.push([q.x, q.y]);
        }
      }
      (type === 'text' ? texts : marks).push(item);
    });
  });
  svg.querySelectorAll('g.role-axis-label text, g.role-legend text').forEach(e => {
    texts.push({type: 'axis', cell: -1, box: box(e), text: e.textContent});
  });
  return {chart: chartIndex, title: svg.getAttribute('aria-label').slice(0, 90),
          areas: cells.map(g => area.get(g)), marks, texts};
})
"""


def _inside(b: dict, a: dict) -> bool:
    return (
        b["x0"] >= a["x0"] - SLACK
        and b["y0"] >= a["y0"] - SLACK
        and b["x1"] <= a["x1"] + SLACK
        and b["y1"] <= a["y1"] + SLACK
    )


def _overlap(a: dict, b: dict) -> bool:
    return (
        min(a["x1"], b["x1"]) - max(a["x0"], b["x0"]) > SLACK
        and min(a["y1"], b["y1"]) - max(a["y0"], b["y0"]) > SLACK
    )


def _hits(text: dict, mark: dict) -> bool:
    """Does a text cross a mark? Lines and rules by the points along them, others by box; a
    text wholly inside a bar is that bar's own label."""
    t = text["box"]
    if mark["points"]:
        inner = {"x0": t["x0"] + SLACK, "y0": t["y0"] + SLACK,
                 "x1": t["x1"] - SLACK, "y1": t["y1"] - SLACK}  # fmt: skip
        return any(inner["x0"] < x < inner["x1"] and inner["y0"] < y < inner["y1"]
                   for x, y in mark["points"])  # fmt: skip
    if text["type"] == "text" and mark["type"] == "rect" and _inside(t, mark["box"]):
        return False
    return _overlap(t, mark["box"])


def problems(chart: dict) -> list[str]:
    """Everything drawn wrongly in one measured chart (empty when it is drawn right)."""
    out, areas = [], chart["areas"]
    if not areas:
        return ["no plot area found"]
    for m in chart["marks"] + [t for t in chart["texts"] if t["type"] == "text"]:
        area = areas[m["cell"]] if m["cell"] >= 0 else None
        b = m["box"]
        if m["type"] == "symbol":  # a point on the axis line (a zero) is drawn half outside it
            x, y = (b["x0"] + b["x1"]) / 2, (b["y0"] + b["y1"]) / 2
            b = {"x0": x, "y0": y, "x1": x, "y1": y}
        if area is None or not _inside(b, area):
            what = m["text"] or m["type"]
            out.append(f"{m['type']} {what!r} outside the plot area {m['box']} vs {area}")
    texts = chart["texts"]
    for i, t in enumerate(texts):
        for u in texts[i + 1 :]:
            if _overlap(t["box"], u["box"]):
                out.append(f"text {t['text']!r} overlaps text {u['text']!r}")
        for m in chart["marks"]:
            if _hits(t, m):
                out.append(f"{t['type']} text {t['text']!r} overlaps a {m['type']} mark")
    return out


def _reports() -> list[Path]:
    given = os.environ.get("CHART_GEOMETRY_REPORTS", "")
    if given:
        return [Path(p) for p in given.split(":") if p]
    return []


@pytest.fixture(scope="module")
def report_dirs(tmp_path_factory) -> list[Path]:
    """The folders of pages to measure: the shipped sample run once, or those given."""
    _require_browser()
    if given := _reports():
        return given
    tmp = tmp_path_factory.mktemp("geometry")
    out = tmp / "report"
    cmd = [sys.executable, "-m", "pipelines", "report", "--out", str(out),
           "--db", str(tmp / "w.duckdb"), "--dq-dir", str(tmp / "dq")]  # fmt: skip
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    return [out]


@pytest.fixture(scope="module")
def measured(report_dirs) -> dict[str, list[dict]]:
    """page name (``<folder>/<page>``) -> its measured charts."""
    from playwright.sync_api import sync_playwright

    found: dict[str, list[dict]] = {}
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = b.new_page(viewport={"width": 1200, "height": 900})
            for folder in report_dirs:
                for name in PAGES:
                    path = folder / f"{name}.html"
                    if path.exists():
                        page.goto(path.resolve().as_uri(), wait_until="load")
                        found[f"{folder.name}/{name}"] = page.eval_on_selector_all(
                            "figure.chart svg", MEASURE
                        )
        finally:
            b.close()
    return found


def test_every_analysis_page_has_charts(measured):
    assert sum(len(c) for c in measured.values()) >= 20, {k: len(v) for k, v in measured.items()}


@pytest.mark.parametrize("name", PAGES)
def test_every_chart_is_drawn_right(measured, name):
    faults = []
    for page, charts in measured.items():
        if page.endswith("/" + name):
            for chart in charts:
                faults += [f"{page} chart {chart['chart']} ({chart['title']}): {p}"
                           for p in problems(chart)]  # fmt: skip
    assert not faults, "\n".join(faults[:40]) + f"\n({len(faults)} faults)"


# Reference lines at the same (or nearly the same) level: a target and the comparator, or a
# threshold and the comparator. No page of the sample has one, so hand-made charts are drawn and
# measured the same way; before the label placement was shared, the bar chart's two labels were
# written over each other.
def _reference_charts() -> list:
    from pipelines.report.blocks import Chart, Point, Rule

    quarters = [f"{y}-Q{q}" for y in (2011, 2012) for q in (1, 2, 3, 4)]
    out = []
    for values, level in [([75, 79, 82, 77, 74, 79, 82, 82], 95),
                          ([95, 96, 94, 95, 96, 95, 94, 95], 95),
                          ([25, 44, 44, 44, 44, 40, 40, 40], 30)]:  # fmt: skip
        points = tuple(Point(q, v, "Newport") for q, v in zip(quarters, values, strict=True))
        rules = (Rule(level, f"Target {level}%"),
                 Rule(level, f"Wales {level}% in 2011-12", "comparator"))  # fmt: skip
        out.append(Chart("line", "T", "S", "percent", "Percentage", points, "alt",
                         rules=rules, height=150, label_last=True))  # fmt: skip
    bars = tuple(Point(label, v) for label, v in [("CPT", 20), ("DAT", 18), ("FASS", 10.4)])
    for second in (20, 21):
        rules = (Rule(20, "Threshold 20"), Rule(second, f"Wales {second} in 2011-12", "comparator"))
        out.append(Chart("bar", "T", "S", "count", "Average caseload", bars, "alt", rules=rules))
    shares = tuple(Point(label, v) for label, v in [("Decided in a day", 81), ("Checks", 63)])
    rules = (Rule(95, "Target 95%"), Rule(95, "Wales 95%", "comparator"))
    out.append(Chart("bar", "T", "S", "percent", "Percentage", shares, "alt", rules=rules))
    return out


def test_reference_line_labels_at_one_level_never_meet(tmp_path):
    from playwright.sync_api import sync_playwright

    from pipelines.report import charts

    _require_browser()
    page_file = tmp_path / "charts.html"
    figures = "".join(
        f'<figure class="chart">{charts.svg(c)}</figure>' for c in _reference_charts()
    )
    page_file.write_text(f"<!doctype html><html><body>{figures}</body></html>")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = b.new_page(viewport={"width": 1200, "height": 900})
            page.goto(page_file.as_uri(), wait_until="load")
            measured = page.eval_on_selector_all("figure.chart svg", MEASURE)
        finally:
            b.close()
    faults = [f"chart {c['chart']}: {p}" for c in measured for p in problems(c)]
    assert len(measured) == 6 and not faults, "\n".join(faults)


# Hand-made geometry: the checks themselves can fail.
def _box(x0, y0, x1, y1):
    return {"x0": x0, "y0": y0, "x1": x1, "y1": y1}


def _chart(marks=(), texts=()):
    return {"areas": [_box(0, 0, 100, 100)], "marks": list(marks), "texts": list(texts)}


def _mark(kind, b, points=(), text=""):
    return {"type": kind, "cell": 0, "box": b, "points": list(points), "text": text}


def test_a_bar_past_the_axis_is_found():
    assert problems(_chart([_mark("rect", _box(-40, 10, 50, 20))]))


def test_a_rule_beyond_the_axis_is_found():
    assert problems(_chart([_mark("rule", _box(120, 0, 121, 100), [(120, 0), (120, 100)])]))


def test_an_axis_label_under_a_bar_is_found():
    label = {"type": "axis", "cell": -1, "box": _box(5, 10, 30, 20), "text": "Family"}
    assert problems(_chart([_mark("rect", _box(0, 8, 60, 22))], [label]))


def test_a_label_inside_its_bar_is_fine_and_half_in_is_not():
    bar = _mark("rect", _box(0, 10, 60, 22))
    inside = _mark("text", _box(40, 12, 58, 20), text="12")
    half = _mark("text", _box(50, 12, 70, 20), text="12")
    assert problems(_chart([bar], [inside])) == []
    assert problems(_chart([bar], [half]))


def test_a_label_on_a_line_is_found_and_one_beside_it_is_not():
    line = _mark("line", _box(0, 50, 100, 50), [(x, 50) for x in range(0, 101, 2)])
    on = _mark("text", _box(40, 44, 60, 56), text="6.4")
    beside = _mark("text", _box(40, 30, 60, 42), text="6.4")
    assert problems(_chart([line], [on]))
    assert problems(_chart([line], [beside])) == []


def test_overlapping_labels_are_found():
    a, b = _mark("text", _box(10, 10, 40, 20), text="5.7"), _mark("text", _box(20, 12, 50, 22))
    assert problems(_chart([], [a, b]))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
