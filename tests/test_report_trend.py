"""Direction of travel on the committee pages (fast: no kernels). The title rule of a quarterly
series, the change from the same period last year in words and arrows for each polarity, the gap
in the chart at a withheld quarter, the part last quarter, the headline table and the key
messages. Figures are the hand-made fake metrics of tests/report_helpers.py or built here."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from report_helpers import QUARTERS, fake_rows, suppress_rows

from pipelines.config import load_config
from pipelines.contract import METRICS_COLUMNS
from pipelines.report import blocks, charts, prose, spec
from pipelines.report.blocks import Page, Point
from pipelines.report.markup import render
from pipelines.report.model import Metrics, Row, part_quarter, quarter_end
from pipelines.report.params import ReportParameters
from pipelines.report.prose import Quarter, change, direction_title


def _metrics(rows: list[list[str]] | None = None) -> Metrics:
    rows = suppress_rows(rows if rows is not None else fake_rows())
    return Metrics(Row(**dict(zip(METRICS_COLUMNS, r, strict=True))) for r in rows)


def _page(analysis: str, metrics: Metrics | None = None, **kw) -> Page:
    params = dataclasses.replace(ReportParameters.from_config(load_config()), **kw)
    return Page.open(analysis, params, metrics or _metrics())


def _q(*values: float | None, part: bool = False) -> list[Quarter]:
    """Quarters 2012-Q1 ... of the given values; ``part``: the last is a part quarter."""
    out = [Quarter(f"2012-Q{i + 1}", v) for i, v in enumerate(values)]
    if part:
        out[-1] = Quarter(f"{out[-1].label} (to 31 Jan)", out[-1].value, True)
    return out


# ---------------------------------------------------------------------------------------------
# The title of a quarterly series


def test_title_rising_in_the_latest_quarter():
    title = direction_title("Referrals", _q(900, 812, 905), "count", True)
    assert title == "Referrals rose in 2012-Q3, from 812 to 905"


def test_title_falling_for_quarters_running():
    title = direction_title("Re-referrals", _q(30, 44, 42, 41, 40), "percent", False)
    assert (
        title
        == "Re-referrals fell for three quarters running, from 44% in 2012-Q2 to 40% in 2012-Q5"
    )


def test_title_flat_when_the_figures_read_the_same():
    assert direction_title("Posts", _q(80, 81, 81), "count", True) == (
        "Posts held at 81 in 2012-Q3, as in 2012-Q2"
    )
    # 39.9% and 40.1% both read 40%: no "rise from 40% to 40%"
    assert direction_title("Rate", _q(44, 39.9, 40.0, 40.1), "percent", False) == (
        "Rate held at about 40% for three quarters, to 2012-Q4"
    )


def test_title_skips_withheld_quarters_and_never_runs_across_them():
    # 2012-Q3 withheld: the latest move is named across the gap, and the fall before it is not
    # counted into a run
    title = direction_title("Rate", _q(50, 45, None, 40), "percent", False)
    assert title == "Rate fell from 45% in 2012-Q2 to 40% in 2012-Q4"
    title = direction_title("Rate", _q(50, 45, 44, None), "percent", False)
    assert title == (
        "Rate fell for two quarters running, from 50% in 2012-Q1 to 44% in 2012-Q3; the later "
        "quarters are withheld or not available"
    )
    assert direction_title("Rate", _q(None, 12, None), "percent", False) == (
        "Rate: 12% in 2012-Q2; no other quarter to compare"
    )
    assert direction_title("Rate", _q(None, None), "percent", False) == (
        "Rate: quarterly figures withheld or not available"
    )


def test_title_never_calls_a_part_quarter_a_fall_in_counts():
    quarters = _q(800, 812, 905, 300, part=True)  # a month of the last quarter
    assert direction_title("Referrals", quarters, "count", True) == (
        "Referrals rose for two quarters running, from 800 in 2012-Q1 to 905 in 2012-Q3"
    )
    # a rate is comparable over a part quarter: it is compared, and labelled as a part quarter
    rates = _q(40, 41, 42, 39, part=True)
    assert direction_title("Rate", rates, "percent", False) == (
        "Rate fell in 2012-Q4 (to 31 Jan), from 42% to 39%"
    )


def test_part_quarter_is_labelled_with_the_day_it_is_cut_at():
    assert quarter_end("2013-Q1").isoformat() == "2013-03-31"
    assert quarter_end("2012-Q4").isoformat() == "2012-12-31" and quarter_end("2012") is None
    assert prose.quarter_label("2013-Q1", "2013-01-31") == "2013-Q1 (to 31 Jan)"
    assert prose.quarter_label("2012-Q4", "2012-12-31") == "2012-Q4"  # a whole quarter
    assert prose.quarter_label("2012-Q3", "2012-12-31") == "2012-Q3"  # before the period end
    assert part_quarter("2013-Q1", "2012-12-31") is None


# ---------------------------------------------------------------------------------------------
# The change from the same period last year


@pytest.mark.parametrize(
    ("now", "before", "unit", "polarity", "arrow", "words"),
    [
        (40.0, 44.0, "percent", "lower", "↓", "down 4.0 points, better"),
        (48.2, 44.0, "percent", "lower", "↑", "up 4.2 points, worse"),
        (93.1, 96.0, "percent", "higher", "↓", "down 2.9 points, worse"),
        (97.0, 96.0, "percent", "higher", "↑", "up 1.0 points, better"),
        (2695.0, 2602.0, "count", "none", "↑", "up 93 (4%)"),
        (2427.0, 2602.0, "count", "none", "↓", "down 175 (7%)"),
        (81.0, 81.0, "count", "none", "→", "no change"),
        (40.04, 39.96, "percent", "lower", "→", "no change"),  # both 40.0% in the table
        (5.0, 0.0, "count", "none", "↑", "up 5"),  # no percentage of nothing
        (30.2, 25.7, "score", "higher", "↑", "up 4.5, better"),
    ],
)
def test_change_words_and_arrow_follow_the_polarity(now, before, unit, polarity, arrow, words):
    ch = change(now, before, unit, polarity)
    assert (ch.arrow, ch.words) == (arrow, words)


def test_no_change_is_given_for_a_withheld_or_blank_figure():
    assert change(None, 44.0, "percent", "lower") is None
    assert change(40.0, None, "percent", "lower") is None


def test_polarity_is_data_and_right_for_every_headline_measure():
    for info in spec.pages().values():
        for measure, _, _ in info["headline"]:
            assert spec.measure(measure).get("polarity") in ("higher", "lower", "none"), measure
    assert spec.polarity("received") == "none"  # more referrals is neither better nor worse
    assert spec.polarity("re_referral_12m") == "lower"
    assert spec.polarity("icpc_timely") == "higher"


# ---------------------------------------------------------------------------------------------
# The headline table


def test_headline_table_compares_with_the_same_period_last_year():
    page = _page("cpr")
    items = [["cpr", m, "CPR", m] for m in ("registrations", "re_registration", "icpc_timely")]
    t = blocks.headline_table(page, items, "caption")
    assert t.header == (
        "Measure", "This period", "Same period last year", "Change", "Wales", "Target", "Status"
    )  # fmt: skip
    reg, rereg, icpc = t.rows
    assert [c.text for c in reg[1:4]] == ["120", "110", "up 10 (9%)"]
    assert reg[2].key == "cpr|registrations|CPR|previous_year|all" and reg[2].field == "value"
    assert (rereg[3].arrow, rereg[3].text) == ("↑", "up 6.8 points, worse")
    assert (icpc[3].arrow, icpc[3].text) == ("↓", "down 0.5 points, worse")
    assert icpc[3].key == ""  # a change is not a figure of the file: no data-key


def test_headline_change_without_a_previous_year_denominator_is_not_given():
    t = blocks.headline_table(
        _page("re_referrals"), [["re_referrals", "lateral_checks", "DAT", "Checks"]], "c"
    )
    assert [c.text for c in t.rows[0][2:4]] == ["–", "–"]


def test_the_arrow_is_hidden_from_screen_readers_and_the_words_say_it():
    markup = render(
        [blocks.table("c", ["a", "b"], [[blocks.Cell("x"), blocks.Cell("up 4", arrow="↑")]])]
    )
    assert '<td class="change"><span class="arrow" aria-hidden="true">↑</span> up 4</td>' in markup


def test_headline_rule_names_the_previous_year_period():
    """Said once, on the about page; the headline table links there."""
    section = blocks.status_rule(_page("cpr"))
    assert "The same period last year is 1 April 2011 to 31 December 2011" in section.blocks[0].text
    table = blocks.headline(_page("cpr"), [["cpr", "registrations", "CPR", "R"]], "c")
    assert table.blocks[1].link == ("about.html", "About these figures")


# ---------------------------------------------------------------------------------------------
# The quarterly series block: chart with gaps, table, target and comparator


def _line_segments(chart) -> dict[str, list[str]]:
    """Periods of each line segment of the chart's line layer (Vega-Lite spec)."""
    spec_ = charts.spec(chart).to_dict(validate=False)
    layer = spec_["layer"][0]
    assert layer["mark"]["type"] == "line" and layer["encoding"]["detail"]["field"] == "segment"
    assert "data" not in layer  # the line draws the chart's own data (shared by its layers)
    out: dict[str, list[str]] = {}
    for v in spec_["data"]["values"]:
        out.setdefault(v["segment"], []).append(v["period"])
    return out


def test_a_withheld_quarter_is_a_gap_in_the_line_never_joined():
    fig = blocks.quarters(_page("cpr"), "CPR", "re_registration")  # 2012-Q3 withheld
    periods = [p.label for p in fig.chart.points]
    assert periods == QUARTERS
    segments = _line_segments(fig.chart)
    assert segments == {"Newport#1": QUARTERS[:6], "Newport#2": ["2012-Q4"]}
    for seg in segments.values():  # no segment spans the gap
        idx = [periods.index(p) for p in seg]
        assert idx == list(range(idx[0], idx[0] + len(idx)))
    spec_ = charts.spec(fig.chart).to_dict(validate=True)
    data = [spec_["data"]] + [layer["data"] for layer in spec_["layer"] if "data" in layer]
    values = [v for d in data for v in d["values"]]
    assert all(v.get("period") != "2012-Q3" for v in values)  # no data at the withheld quarter
    assert spec_["layer"][0]["encoding"]["x"]["scale"]["domain"] == QUARTERS  # the gap shows
    assert "2012-Q3" not in fig.chart.alt_text.split(". ", 2)[2]
    labels = spec_["layer"][2]
    assert labels["mark"]["type"] == "text" and [v["period"] for v in labels["data"]["values"]] == [
        "2012-Q4"
    ]  # the compact chart labels its latest figure; the table below has every one
    assert fig.chart.note == "Not drawn (withheld or not applicable): 2012-Q3."


def test_gaps_split_each_series_separately():
    points = [Point("A", 1.0, "x"), Point("B", None, "x"), Point("C", 2.0, "x")]
    points += [Point("A", 1.0, "y"), Point("B", 3.0, "y"), Point("C", 2.0, "y")]
    chart = blocks.chart("line", ("t", "s"), "count", "n", points)
    assert _line_segments(chart) == {"x#1": ["A"], "x#2": ["C"], "y#1": ["A", "B", "C"]}


def test_quarterly_table_has_quarters_as_columns_with_numerator_and_denominator():
    fig = blocks.quarters(_page("cpr"), "CPR", "re_registration")
    t = fig.table
    assert t.header == ("Quarter", *QUARTERS)
    assert [r[0].text for r in t.rows] == ["Number", "Out of", "Percentage"]
    q3 = QUARTERS.index("2012-Q3") + 1
    assert [r[q3].text for r in t.rows] == ["c", "43", "c"]
    assert t.rows[0][q3].key == "cpr|re_registration|CPR|quarter|2012-Q3"
    assert fig.heading == "Re-registrations"
    assert fig.chart.title == "Re-registrations fell from 26% in 2012-Q2 to 24% in 2012-Q4"
    counts = blocks.quarters(_page("cpr"), "CPR", "registrations").table
    assert [r[0].text for r in counts.rows] == ["Number"]


def test_quarterly_chart_draws_the_target_and_the_comparator():
    fig = blocks.quarters(_page("re_referrals"), "DAT", "re_referral_12m")
    assert fig.chart.rules == (
        blocks.Rule(30.0, "Target 30%"),
        blocks.Rule(30.0, "Wales 30% in 2011-12", "comparator"),
    )
    assert "Dashed line: target (green level) 30%." in fig.chart.alt_text
    assert "Dotted line: Wales comparator 30% in 2011-12." in fig.chart.alt_text
    layers = charts.spec(fig.chart).to_dict(validate=False)["layer"]
    dashes = [x["mark"].get("strokeDash") for x in layers if x["mark"]["type"] == "rule"]
    assert dashes == [[6, 3], [2, 2]]  # told apart by pattern, not colour alone
    none = blocks.quarters(_page("cpr"), "CPR", "registrations")
    assert none.chart.rules == ()


def _part_quarter_metrics() -> Metrics:
    """Referrals received and re-referrals to 31 January 2013: 2013-Q1 holds one month."""
    qs = QUARTERS[1:] + ["2013-Q1"]
    rows = []
    for q, n in zip(qs, [720, 690, 710, 730, 760, 790, 812, 260], strict=True):
        rows.append(["referrals", "received", "DAT", "quarter", q, "", "", str(n), "count"])
        rate = ["re_referrals", "re_referral_12m", "DAT", "quarter", q, str(n // 2), str(n)]
        rows.append([*rate, "50.0", "percent"])
    return _metrics([r + ["2012-04-01", "2013-01-31"] for r in rows])


def test_a_part_last_quarter_is_labelled_and_counts_compare_whole_quarters():
    page = _page("referrals", _part_quarter_metrics(), period_end="2013-01-31")
    fig = blocks.quarters(page, "DAT", "received")
    assert fig.table.header[-1] == "2013-Q1 (to 31 Jan)"
    assert fig.chart.points[-1].label == "2013-Q1 (to 31 Jan)"
    assert fig.chart.title == (
        "Referrals received (Duty and Assessment Teams) rose for five quarters running, from 690 "
        "in 2011-Q3 to 812 in 2012-Q4"
    )  # the part quarter's 260 is not called a fall
    assert "2013-Q1 (to 31 Jan) is a part quarter" in fig.chart.note
    assert "not compared with whole quarters" in fig.chart.note
    rate = blocks.quarters(
        _page("re_referrals", _part_quarter_metrics(), period_end="2013-01-31"),
        "DAT",
        "re_referral_12m",
    )
    assert rate.chart.title.endswith("to 2013-Q1 (to 31 Jan)")  # a rate compares like with like


def test_a_series_with_nothing_shown_has_a_table_and_no_chart():
    rows = [r for r in fake_rows() if not (r[1] == "turnover" and r[3] == "quarter")]
    rows += [
        ["workforce", "turnover", "WORKFORCE", "quarter", q, "2", "60", "3.3", "percent", "", ""]
        for q in QUARTERS
    ]
    fig = blocks.quarters(_page("workforce", _metrics(rows)), "WORKFORCE", "turnover")
    assert fig.chart is None and {c.text for c in fig.table.rows[0][1:]} == {"c"}
    assert fig.note == prose.NOTHING_DRAWN


def test_a_breakdown_with_nothing_shown_has_a_table_and_no_chart():
    """The experience bands with their denominator withheld (it would give the social workers
    off sick away): no percentage to draw, so no empty chart and no title quoting a figure, but
    the table (counts shown, the rest c) and a note saying why."""
    rows = [r for r in fake_rows() if r[1] != "experience"]
    rows += [
        ["workforce", "experience", "WORKFORCE", "band", band, n, "c", "c", "percent", "", ""]
        for band, n in (("UNDER_1Y", "11"), ("1_TO_2Y", "c"), ("OVER_2Y", "8"))
    ]
    page = _page("workforce", _metrics(rows))
    fig = blocks.breakdown(page, "WORKFORCE", "experience", "band", "social workers")
    # the numbers 11 and 8 are in the table: the note says only the percentages are withheld
    assert fig.chart is None and fig.note == prose.NOTHING_DRAWN_SHARES
    assert [c.text for c in fig.table.rows[0][1:]] == ["11", "c", "c"]
    rows = [r[:5] + ["c"] + r[6:] if r[1] == "experience" else r for r in rows]
    fig = blocks.breakdown(_page("workforce", _metrics(rows)), "WORKFORCE", "experience", "band",
                           "social workers")  # fmt: skip
    assert fig.chart is None and fig.note == prose.NOTHING_DRAWN_CATEGORIES


def test_every_headline_figure_has_its_quarterly_series_on_its_page():
    for analysis, info in spec.pages().items():
        series = {
            (args["measure"], args["scope"])
            for section in info["sections"]
            for item in section["blocks"]
            for kind, args in item.items()
            if kind == "quarters"
        }
        assert series == {(m, s) for m, s, _ in info["headline"]}, analysis


def test_the_direction_section_is_on_every_page():
    for analysis in spec.pages():
        parts = blocks.page_blocks(_page(analysis))
        anchors = [p[0].anchor for p in parts[1:-1]]
        assert anchors[0] == "direction", analysis
        figures = [b for b in parts[1][0].blocks if isinstance(b, blocks.Figure)]
        assert len(figures) == len(spec.pages()[analysis]["headline"])


# ---------------------------------------------------------------------------------------------
# Key messages on the same period last year


def test_key_messages_say_the_direction_worse_first():
    msgs = prose.direction_messages(_metrics(), "cpr")
    assert msgs == [
        "Re-registrations rose to 25%, from 18% in the same period last year (worse).",
        "Initial conferences on time fell to 95.7%, from 96.2% in the same period last year "
        "(worse).",
        "Reviews on time fell to 99.0%, from 99.4% in the same period last year (worse).",
    ]


def test_key_messages_skip_figures_without_a_previous_year_and_small_neutral_changes():
    msgs = prose.direction_messages(_metrics(), "re_referrals")
    assert not any(m.startswith("Checks made") for m in msgs)  # no previous-year denominator
    referrals = prose.direction_messages(_metrics(), "referrals")
    # DAT: 2,152 against 2,050 is 5%, under the notable change; FASS 36 against 40 is 10%
    assert referrals == [
        "Referrals received (Family Assessment and Support Service) fell to 36, from 40 in the "
        "same period last year."
    ]


def test_key_messages_never_use_a_withheld_figure_and_say_a_tie(monkeypatch):
    monkeypatch.setitem(spec.spec()["direction"], "max_messages", 10)
    rows = [r for r in fake_rows() if r[3] != "previous_year" or r[1] != "re_registration"]
    rows.append(["cpr", "re_registration", "CPR", "previous_year", "all", "3", "110", "2.7",
                 "percent", "", ""])  # fmt: skip
    rows = [r for r in rows if r[3] != "previous_year" or r[1] != "icpc_timely"]
    rows.append(
        [
            "cpr",
            "icpc_timely",
            "CPR",
            "previous_year",
            "all",
            "88",
            "92",
            "95.652",
            "percent",
            "",
            "",
        ]
    )  # fmt: skip  (reads 95.7%, as this period's 110/115)
    msgs = prose.direction_messages(_metrics(rows), "cpr")
    assert not any("Re-registrations" in m for m in msgs)  # last year's figure is withheld
    assert "Initial conferences on time held at 96%, as in the same period last year." in msgs
    assert all("2.7" not in m and " 3 " not in m for m in msgs)


@pytest.mark.parametrize("analysis", list(spec.pages()))
def test_direction_words_come_only_from_shown_figures(analysis):
    """Every number in a direction title or message is a shown figure of the page (no withheld
    value can reach them: they read Row.number, None for ``c``)."""
    m = _metrics()
    page = _page(analysis, m)
    shown = {r.key for r in m.rows if r.number is not None}
    for measure, scope, _ in spec.pages()[analysis]["headline"]:
        fig = blocks.quarters(page, scope, measure)
        for point in fig.chart.points if fig.chart else ():
            key = f"{analysis}|{measure}|{scope}|quarter|{point.label}"
            assert (point.value is not None) == (key in shown), key


def test_quarters_are_listed_in_order():
    assert QUARTERS == [f"{y}-Q{q}" for y, q in itertools.product((2011, 2012), (1, 2, 3, 4))]
