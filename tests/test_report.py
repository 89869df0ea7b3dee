"""Committee pages. Fast unit tests first (the model, the pure block functions, prose, templates,
pages.yaml, the notebooks' parameters; no kernel), then renders of the fake metrics
(tests/report_helpers.py) checked for completeness, offline-ness, disclosure and the council."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from pathlib import Path

import pytest
from report_helpers import (
    FAKE_DQ,
    THRESHOLD,
    fake_rows,
    keyed_cells,
    read_rows,
    rendered_reports,
    shows,
    suppress_rows,
    withheld_keys,
    write_fake_metrics,
)

from pipelines import ROOT
from pipelines.config import load_config
from pipelines.contract import METRICS_COLUMNS, metrics_shape
from pipelines.report import blocks, charts, prose, spec
from pipelines.report.blocks import Cell, Page, Point
from pipelines.report.markup import render
from pipelines.report.model import (
    Metrics,
    Reference,
    Row,
    Target,
    load_reference,
    same_period_last_year,
    to_number,
)
from pipelines.report.params import COUNCIL_FIELDS, ReportParameters, parameters_cell

PAGES = ["index", "referrals", "distance_travelled", "re_referrals", "cpr", "workforce", "about"]
ANNEX = PAGES[1:-1]
#: Tests that execute the notebooks in Jupyter kernels (seconds each): not in the fast lane.
kernels = pytest.mark.slow


def _metrics(workforce: bool = True) -> Metrics:
    rows = suppress_rows(fake_rows(workforce))
    return Metrics(Row(**dict(zip(METRICS_COLUMNS, r, strict=True))) for r in rows)


def _params(**kw) -> ReportParameters:
    return dataclasses.replace(ReportParameters.from_config(load_config()), **kw)


def _page(analysis: str, metrics: Metrics | None = None, **kw) -> Page:
    return Page.open(analysis, _params(**kw), metrics or _metrics())


# ---------------------------------------------------------------------------------------------
# The model: figures, comparators, targets, RAG


def test_withheld_and_blank_figures_have_no_number():
    assert to_number("c") is None and to_number("") is None and to_number("nan") is None
    assert to_number(" 12.5 ") == 12.5
    row = Row("a", "m", "S", "total", "all", "c", "30", "c", "percent")
    assert row.number is None and row.key == "a|m|S|total|all"


def test_reference_data_is_read_for_the_comparator_only():
    ref = load_reference("Wales")
    (period, wales) = ref.latest_benchmark("re_referral_12m", "DAT")
    assert period == "2011-12" and wales.value == 30 and wales.area == "Wales"
    assert ref.caseload_threshold == 20
    assert ref.target("caseload_mean", "WORKFORCE", "team", "DAT 1") is not None
    assert load_reference("England").benchmarks == ()  # no comparator held for that area


def test_every_reference_row_names_its_source():
    import csv

    for name in ("benchmarks", "targets"):
        with open(ROOT / "reference" / f"{name}.csv", encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
        assert rows and all(len(r["source"]) > 10 for r in rows), name


def test_reference_files_missing_give_empty_tables(tmp_path):
    ref = load_reference("Wales", tmp_path)
    assert ref.benchmarks == () and ref.targets == () and ref.caseload_threshold is None


def test_reference_rows_without_a_number_are_skipped(tmp_path):
    (tmp_path / "benchmarks.csv").write_text(
        "analysis,measure,scope,breakdown,category,area,value,unit,source\n"
        "# a comment line\n"
        "x,m,DAT,total,all,Wales,n/a,percent,s\nx,m,DAT,total,all,Wales,12,percent,s\n"
    )
    ref = load_reference("Wales", tmp_path)
    assert [b.value for b in ref.benchmarks_for("m", "DAT")] == [12.0]


@pytest.mark.parametrize(
    ("value", "lower_better", "status"),
    [
        (25.0, True, "Green"),
        (30.0, True, "Green"),
        (33.0, True, "Amber"),
        (40.0, True, "Red"),
        (96.0, False, "Green"),
        (90.0, False, "Amber"),
        (50.0, False, "Red"),
        (None, True, None),
    ],
)
def test_rag_status_follows_the_reference_rule(value, lower_better, status):
    green, amber = (30.0, 35.0) if lower_better else (95.0, 85.0)
    target = Target("m", "S", "total", "all", green, amber, lower_better)
    assert target.status(value) == status


def test_rag_without_amber_level_is_green_or_red():
    target = Target("m", "S", "total", "all", 20.0, None, True)
    assert target.status(20.0) == "Green" and target.status(20.1) == "Red"


def test_every_target_agrees_with_the_polarity_of_its_measure():
    """pages.yaml keeps which direction is better for every measure (for the direction words of
    the series to come); a target in reference/targets.csv must not say the opposite."""
    for t in load_reference("Wales").targets:
        assert spec.polarity(t.measure) == ("lower" if t.lower_better else "higher"), t.measure


def test_previous_year_is_the_same_period_a_year_earlier():
    """Not the financial year before (a nine-month period against a whole year): the metrics
    layer's previous_year row."""
    m = _metrics()
    prev = same_period_last_year(m, m.get("re_referrals", "re_referral_12m", "DAT"))
    assert prev.key == "re_referrals|re_referral_12m|DAT|previous_year|all"
    assert prev.value.startswith("44")
    rows = [r for r in m.rows if r.breakdown != "previous_year"]
    assert same_period_last_year(Metrics(rows), m.get("cpr", "on_register", "CPR")) is None


# ---------------------------------------------------------------------------------------------
# Numbers and words


def test_values_are_formatted_and_withheld_cells_stay_c():
    assert prose.cell("c", "percent") == "c"
    assert prose.cell("", "percent") == "–"
    assert prose.cell("35.04", "percent") == "35.0%"
    assert prose.cell("2152", "count") == "2,152"
    assert prose.cell("0", "count") == "0"


def test_rounding_never_shows_a_shortfall_as_100_percent():
    assert prose.number(99.5, "percent") == "99.5%"
    assert prose.number(99.4, "percent") == "99%"
    assert prose.number(100.0, "percent") == "100%"
    assert prose.number(0.2, "percent") == "0.2%"
    assert prose.number(2152.0, "count") == "2,152" and prose.number(2.25, "score") == "2.2"


def test_breakdown_title_states_the_finding():
    rows = _metrics().select("referrals", "received", "PREVENTION", "source_group")
    title = prose.breakdown_title(rows, "received", "PREVENTION", "referrals")
    assert title == "Schools and police made over half of referrals, Prevention Service"


def test_trend_title_states_the_latest_change_and_labels_a_part_year():
    # was "rose from 25% in 2010-11 to 40% in 2012-13, after a peak of 44%": the latest change
    # is a fall, and 2012-13 ends with the period (31 December): a part year
    rows = _metrics().select("re_referrals", "re_referral_12m", "DAT", "financial_year")
    assert prose.trend_title(rows, "the re-referral rate", "2012-12-31") == (
        "The re-referral rate fell from 44% in 2011-12 to 40% in 2012-13 (April to December "
        "2012, 9 months); it was 25% in 2010-11"
    )


def test_titles_never_use_withheld_figures():
    rows = [
        Row("a", "received", "FST", "source_group", "DAT", "c", "30", "c", "percent"),
        Row("a", "received", "FST", "source_group", "CPT", "20", "30", "66.7", "percent"),
    ]
    assert "DAT" not in prose.breakdown_title(rows, "received", "FST", "referrals")
    rule = {"lowest": "{label}: {value}", "otherwise": "none shown"}
    assert prose.lowest_title([("A", None), ("B", 80.0)], rule) == "B: 80%"
    assert prose.lowest_title([("A", None)], rule) == "none shown"


def test_key_messages_quote_the_comparator():
    msgs = prose.key_messages(_metrics(), "re_referrals", load_reference("Wales"))
    # targets missed lead (red first), then the page's own findings
    assert msgs[0] == "Red against target: re-referrals within 12 months 40%, target 30% or less."
    rate = next(m for m in msgs if m.startswith("40% of referrals to the Duty and Assessment"))
    assert "the Wales figure was 30% in 2011-12" in rate


# ---------------------------------------------------------------------------------------------
# Blocks: pure functions from figures to tables, charts, statistics and messages


def test_breakdown_block_leaves_withheld_categories_out_of_the_chart():
    fig = blocks.breakdown(_page("cpr"), "CPR", "registrations", "category", "registrations")
    assert fig.heading == "Registrations by category of abuse"
    drawn = {p.label for p in fig.chart.points if p.value is not None}
    assert "Neglect" in drawn and "Financial abuse" not in drawn
    assert "Financial abuse" not in fig.chart.alt_text
    assert fig.chart.note == "Not drawn (withheld or not applicable): Financial abuse."
    fin = [r for r in fig.table.rows if r[0].text == "Financial abuse"][0]
    assert [c.text for c in fin[1:]] == ["c", "120", "c"]
    assert fin[1].key == "cpr|registrations|CPR|category|FIN" and fin[1].field == "numerator"


def test_breakdown_chart_subtitle_names_the_council():
    fig = blocks.breakdown(
        _page("cpr", council="Testshire"), "CPR", "registrations", "category", "x"
    )
    assert ", Testshire, 1 April 2012 to 31 December 2012" in fig.chart.subtitle


def test_trend_block_draws_the_comparator_beside_the_council():
    page = _page("re_referrals", council="Testshire", comparator="Wales")
    fig = blocks.trend(page, "DAT", "re_referral_12m", "the re-referral rate")
    series = {(p.series, p.label): p.value for p in fig.chart.points}
    # the part year is labelled as one on the axis (2012-13 ends with the period)
    assert series[("Wales", "2011-12")] == 30
    assert series[("Testshire", "2012-13 (to 31 Dec)")] is not None
    assert fig.table.header[-1] == "Wales" and "Wales 30% in 2011-12." in fig.chart.alt_text
    assert fig.note.startswith("2012-13 is a part year (April to December 2012, 9 months)")
    assert fig.table.rows[-1][0].text == "2012-13 (April to December 2012, 9 months)"
    other = blocks.trend(_page("cpr", comparator="England"), "CPR", "re_registration", "x")
    assert other.note.startswith("No England comparator is held for this measure. 2012-13 is")


def test_figures_block_gives_targets_and_status():
    fig = blocks.figures(
        _page("cpr"),
        "CPR",
        "Child protection timeliness",
        [["icpc_timely", "Initial"], ["core_group_timely", "Core"], ["nothing", "Gone"]],
        title={"lowest": "{label} was the weakest: {value}", "otherwise": "none"},
    )
    assert [r[0].text for r in fig.table.rows] == ["Initial", "Core"]  # missing rows skipped
    assert fig.table.rows[1][-1] == Cell("Red: 56%, target 90%", rag="red")  # the distance
    assert fig.table.rows[0][-2].text == "green ≥ 95%, amber ≥ 85%"
    assert fig.chart.title == "Core was the weakest: 56%"


def test_headline_table_has_previous_year_comparator_target_and_status():
    page = _page("re_referrals")
    t = blocks.headline_table(page, [["re_referrals", "re_referral_12m", "DAT", "Re"]], "c")
    cells = t.rows[0]
    assert t.header == (
        "Measure", "This period", "Same period last year", "Change", "Wales", "Target", "Status"
    )  # fmt: skip
    assert cells[2].key.endswith("previous_year|all") and cells[2].text == "44.0%"
    assert (cells[3].arrow, cells[3].text) == ("↓", "down 4.0 points, better")
    assert cells[4].text == "30.0% (2011-12)" and cells[-1].rag == "red"
    empty = blocks.headline_table(page, [["re_referrals", "nothing", "DAT", "x"]], "c")
    assert isinstance(empty, blocks.Message)


def test_caseload_block_draws_the_threshold():
    fig = blocks.caseloads(_page("workforce"), "WORKFORCE", "team")
    assert fig.chart.rules == (blocks.Rule(20.0, "Threshold 20"),)
    assert fig.chart.title.startswith("3 of the 5 teams averaged more than 20 cases")
    assert "the highest single caseload was 32 (in Prevention)" in fig.chart.title
    assert [r[-1].text for r in fig.table.rows] == ["No", "No", "Yes", "Yes", "Yes"]


def test_follow_up_without_figures_says_why():
    rows = [r for r in _metrics().rows if r.measure != "rereferred_6m"]
    block = blocks.follow_up(_page("re_referrals", Metrics(rows)), "DAT", "rereferred_6m", 6)
    assert isinstance(block, blocks.Message) and "cannot be measured yet" in block.text


def test_symbols_legend_says_what_each_rule_protects_at_the_runs_threshold():
    def withheld(threshold: int) -> str:
        terms = blocks.legend(_page("workforce", suppression_threshold=threshold)).blocks[0]
        return terms.items[0].text

    text = withheld(3)
    assert "children or families from 1 to 3" in text and "to protect children's privacy" in text
    assert "left or were on long-term sick leave" in text and "to protect staff" in text
    assert "Posts, vacancies, posts covered by agency staff and caseloads are not people" in text
    assert "1 to 4" not in text
    assert "Nothing is withheld" in withheld(0) and "1 to 0" not in withheld(0)


def test_a_section_without_figures_is_left_out():
    page = _page("referrals", Metrics(r for r in _metrics().rows if r.scope != "FASS"))
    anchors = [p[0].anchor for p in blocks.page_blocks(page)[1:-1]]
    assert "scope-fass" not in anchors and "scope-fst" in anchors


def test_data_quality_reads_the_validation_statement():
    link = blocks.Message("See.")
    page = _page("referrals", dq_statement=FAKE_DQ)
    section = blocks.data_quality(page, ["dat_referrals"], link)
    summary, t = section.blocks[:2]
    assert summary.text == FAKE_DQ["summary"]
    assert [c.text for c in t.rows[0]] == [
        "Referral received by the Duty and Assessment Teams",
        "2,152",
        "2,150",
        "2",
        "0",
        "0",
        "yes",
    ]
    assert len(t.rows) == 1 and section.blocks[-1] is link  # only the extracts behind the page
    warned = blocks.data_quality(page, ["ifss_distance_travelled"], link).blocks
    assert "score out of range" in warned[3].items[0].text
    assert len(blocks.data_quality(page, [], link).blocks[1].rows) == 7  # index: every extract
    none = blocks.data_quality(_page("cpr", dq_statement={}), [], link).blocks[0]
    assert none.text == "No data quality statement was supplied for this run."


# ---------------------------------------------------------------------------------------------
# Templates and charts


def test_table_has_caption_scoped_headers_and_right_aligned_numbers():
    markup = render(
        [
            blocks.table(
                "Referrals by source",
                ["Source", "Number"],
                [[Cell("Schools"), Cell("152", True, "k|m|s|b|c", "value")]],
                (1,),
            )
        ]
    )
    assert "<caption>Referrals by source</caption>" in markup
    assert '<th scope="col">Source</th>' in markup
    assert '<th scope="col" class="num">Number</th>' in markup
    assert '<th scope="row">Schools</th>' in markup
    assert '<td class="num" data-key="k|m|s|b|c" data-field="value">152</td>' in markup


def test_templates_escape_every_text():
    markup = render(
        [
            blocks.table("<b>", ["<i>"], [[Cell("<script>")]]),
            blocks.Message("<script>", lead="<b>", link=("x.html", "<i>")),
            blocks.Section("<h>", "a", (blocks.Statistic("<s>", "1", "k"),)),
        ]
    )
    assert "<script>" not in markup and "<b>" not in markup and "<i>" not in markup
    assert "&lt;script&gt;" in markup


def test_status_and_previous_year_cells():
    markup = render(
        [
            blocks.table(
                "c",
                ["a", "b", "c"],
                [
                    [
                        Cell("x"),
                        Cell("17.6%", True, "k", "value", "(2011-12)"),
                        Cell("No target set", rag="none"),
                    ]
                ],
            )
        ]
    )
    assert (
        '<td class="num"><span data-key="k" data-field="value">17.6%</span> (2011-12)</td>'
        in markup
    )
    assert '<td><span class="rag-none">No target set</span></td>' in markup


def test_chart_specs_are_valid_vega_lite_and_use_the_palette():
    points = [Point("A", 10.0), Point("B", None)]
    bar = blocks.chart(
        "bar", ("t", "s"), "percent", "Percentage", points, rules=[blocks.Rule(5, "R")]
    )
    assert bar.note == "Not drawn (withheld or not applicable): B."
    assert bar.alt_text == "Bar chart. t. A: 10%."
    two = [
        Point("2011-12", 40.0, "X"),
        Point("2012-13", None, "X"),
        Point("2011-12", 30.0, "Wales"),
    ]
    line = blocks.chart("line", ("t", "s"), "percent", "%", two, rules=[blocks.Rule(30, "Target")])
    assert line.alt_text == "Line chart. t. X 2011-12: 40%; Wales 2011-12: 30%."
    assert line.note == "Not drawn (withheld or not applicable): X 2012-13."
    for chart in (bar, line):
        spec_ = charts.spec(chart).to_dict(validate=True)  # raises on an invalid spec
        assert spec_["title"]["text"] == ["t"]
    data = [layer["data"]["values"] for layer in charts.spec(bar).to_dict(validate=False)["layer"]]
    assert all(v.get("label") != "B" for values in data for v in values)  # withheld: no data
    assert charts.theme()["config"]["range"]["category"] == [
        "#12436D",
        "#28A197",
        "#801650",
        "#F46A25",
        "#3D3D3D",
        "#A285D1",
    ]
    line_spec = charts.spec(line).to_dict(validate=False)
    assert "strokeDash" in line_spec["layer"][0]["encoding"]  # told apart by dash and shape
    assert "shape" in line_spec["layer"][1]["encoding"]


def _x_domain(chart) -> list[float]:
    layers = charts.spec(chart).to_dict(validate=False)["layer"]
    return layers[0]["encoding"]["x"]["scale"]["domain"]


def test_a_bar_scale_holds_every_value_and_every_reference_line():
    """The caseload threshold of 20 above every bar (averages of 12 to 16): the axis reaches
    past 20 (with room for its label), and starts at zero."""
    points = [Point("A", 12.0), Point("B", 16.0)]
    rule = blocks.Rule(20, "Threshold 20")
    bars = blocks.chart("bar", ("t", "s"), "count", "Average caseload", points, rules=[rule])
    lo, hi = _x_domain(bars)
    assert lo == 0 and hi > 20


def test_negative_bars_run_left_of_a_zero_line_with_their_labels_inside_the_plot():
    points = [Point("Parenting", -1.5), Point("Anger", -1.4), Point("School", 0.1)]
    bars = blocks.chart("bar", ("t", "s"), "score", "Change", points)
    lo, hi = _x_domain(bars)
    assert lo <= -1.5 and hi >= 0.1
    layers = charts.spec(bars).to_dict(validate=False)["layer"]
    zero = [x for x in layers if x["mark"]["type"] == "rule"]
    assert zero and zero[0]["data"]["values"] == [{"z": 0}]
    texts = [x for x in layers if x["mark"]["type"] == "text"]
    colours = {v["text"]: x["mark"]["color"] for x in texts for v in x["data"]["values"]}
    assert colours["-1.5"] == "#ffffff"  # white inside the long navy bar, never black on navy
    assert colours["0.1"] == "#0b0c0c"  # a short bar: dark text beyond its end


def test_a_share_chart_of_small_values_fits_them_from_zero():
    assert charts.scale_domain([6.0, 11.0, 8.0], "percent") == (0, 15)
    assert charts.scale_domain([30.0, 91.0], "percent") == (0, 100)
    assert charts.scale_domain([-1.5, -1.4], "score")[1] == 0


def test_a_period_a_series_has_no_figure_for_breaks_its_line():
    """Rows missing altogether (not just withheld) are gaps too, and periods keep time order."""
    points = [Point("2011-Q2", 5.0, "x"), Point("2011-Q4", 6.0, "x")]
    points += [Point("2011-Q2", 5.0, "y"), Point("2011-Q3", 5.5, "y"), Point("2011-Q4", 6.0, "y")]
    chart = blocks.chart("line", ("t", "s"), "score", "n", points)
    spec_ = charts.spec(chart).to_dict(validate=False)
    segments: dict[str, list[str]] = {}
    for v in spec_["data"]["values"]:
        segments.setdefault(v["segment"], []).append(v["period"])
    assert segments == {"x#1": ["2011-Q2"], "x#2": ["2011-Q4"], "y#1": ["2011-Q2", "2011-Q3",
                        "2011-Q4"]}  # fmt: skip
    assert spec_["layer"][0]["encoding"]["x"]["scale"]["domain"] == [
        "2011-Q2",
        "2011-Q3",
        "2011-Q4",
    ]


def test_many_series_are_small_multiples_named_above_each_panel_without_a_legend():
    names = ["Prevention Service", "Family Support Team", "IFST", "FASS", "all four services"]
    points = [Point(q, 5.0 + i, s) for i, s in enumerate(names) for q in ("2011-Q1", "2011-Q2")]
    spec_ = charts.spec(blocks.chart("line", ("t", "s"), "score", "n", points)).to_dict()
    panels = [p for row in spec_["vconcat"] for p in row["hconcat"]]
    assert [p["title"]["text"] for p in panels][-1] == ["All four services"]
    assert len(panels) == 5
    domains = {tuple(p["layer"][0]["encoding"]["y"]["scale"]["domain"]) for p in panels}
    assert len(domains) == 1  # one shared scale
    drawn = json.dumps({k: v for k, v in spec_.items() if k != "config"})
    assert "legend" not in drawn.replace('"legend": null', "")


def test_figure_is_inline_svg_with_a_text_alternative_and_no_external_reference():
    chart = blocks.chart("bar", ("Title", "Sub"), "percent", "Percentage", [Point("A", 10.0)])
    fig = render([blocks.Figure(chart=chart, boxed=False)])
    assert fig.startswith('<figure class="chart" id="chart-')
    assert '<svg role="img" aria-label="Bar chart. Title. A: 10%."' in fig
    # the text alternative is hidden in print only (the table beside the chart has the numbers)
    assert '<figcaption><span class="alt-text">Bar chart. Title. A: 10%.</span></figcaption>' in fig
    assert "http" not in fig and "graphics-symbol" not in fig  # vega's per-mark ARIA removed


# ---------------------------------------------------------------------------------------------
# pages.yaml


def test_every_block_of_pages_yaml_has_a_builder_and_every_anchor_is_unique():
    for analysis, info in spec.pages().items():
        anchors = [s["anchor"] for s in info["sections"]]
        assert len(anchors) == len(set(anchors)), analysis
        for section in info["sections"]:
            for item in section["blocks"]:
                (kind,) = item
                assert kind in blocks.BUILDERS, (analysis, kind)
        for measure, scope, _ in info["headline"]:
            assert measure in spec.page_measures(analysis) and scope in spec.spec()["scopes"]


def test_every_measure_is_defined_and_on_a_page():
    m = _metrics()
    measures = {r.measure for r in m.rows}
    assert measures <= set(spec.spec()["measures"])
    assert measures <= {x for v in metrics_shape()["analyses"].values() for x in v}
    assert all(spec.polarity(x) in ("higher", "lower", "none") for x in measures)


# ---------------------------------------------------------------------------------------------
# The committee summary (index.html) and the about page


def test_summary_messages_lead_with_targets_missed_then_worse_then_the_comparator():
    """Fake metrics: re-referrals 40% against a green level of 30% (red), decided in a day 84%
    against 95% (red), first core groups 56% against 90% (red), vacancy rate 20% against 10%
    (amber); re-registrations up from 18% to 25% (worse, no target)."""
    from pipelines.report.summary import MAX_MESSAGES, summary_messages

    msgs = summary_messages(_page("index"), list(spec.pages()))
    assert 0 < len(msgs) <= MAX_MESSAGES
    kinds = ["red" if "(red)" in m else "amber" if "(amber)" in m else "worse" if "worse" in m
             else "other" for m in msgs]  # fmt: skip
    assert kinds == sorted(kinds, key=["red", "amber", "worse", "other"].index), msgs
    assert kinds[:3] == ["red"] * 3 and "amber" in kinds and "worse" in kinds
    assert msgs[0].startswith("Re-referrals within 12 months: 40%, above the target of 30% (red)")
    assert "Wales 30% in 2011-12" in msgs[0]  # the comparator beside the figure
    assert any(m.startswith("Re-registrations: 25%, worse than") for m in msgs)


def test_summary_messages_say_nothing_of_a_withheld_figure():
    from pipelines.report.summary import summary_messages

    rows = [r for r in suppress_rows(fake_rows()) if r[1] != "re_referral_12m" or r[3] != "total"]
    rows.append(["re_referrals", "re_referral_12m", "DAT", "total", "all", "c", "2152", "c",
                 "percent", *fake_rows()[0][-2:]])  # fmt: skip
    m = Metrics(Row(**dict(zip(METRICS_COLUMNS, r, strict=True))) for r in rows)
    msgs = summary_messages(_page("index", m), list(spec.pages()))
    assert not any("Re-referrals within 12 months" in x for x in msgs)


def test_spark_is_cut_at_a_withheld_quarter_and_says_every_quarter():
    """FASS referrals: 2011-Q2 withheld (3): two segments, the gap named in the words."""
    line = blocks.spark(_page("index"), "referrals", "received", "FASS")
    assert len(line.lines) == 2
    assert len(line.lines[0].split()) == 1 and len(line.lines[1].split()) == 6
    assert "2011-Q2: withheld or not available" in line.label and "2012-Q4: 11" in line.label
    ys = [float(xy.split(",")[1]) for seg in line.lines for xy in seg.split()]
    assert all(0 <= y <= blocks.Spark.HEIGHT for y in ys)
    assert blocks.spark(_page("index"), "referrals", "no_such_measure", "FASS") is None


def test_spark_of_a_falling_average_below_zero_stays_in_its_box():
    """Average reduction in risk can be negative (risk rose): zero and every point on the scale."""
    rows = [r for r in suppress_rows(fake_rows()) if r[1] != "mean_risk_reduction"]
    for i, v in enumerate([5.0, -3.0, -8.0, 2.0, 0.0, -1.0, 4.0, 6.0]):
        q = f"{2011 + i // 4}-Q{i % 4 + 1}"
        rows.append(["distance_travelled", "mean_risk_reduction", "IFSS", "quarter", q, "", "30",
                     repr(v), "percent", *fake_rows()[0][-2:]])  # fmt: skip
    m = Metrics(Row(**dict(zip(METRICS_COLUMNS, r, strict=True))) for r in rows)
    line = blocks.spark(_page("index", m), "distance_travelled", "mean_risk_reduction", "IFSS")
    ys = [float(xy.split(",")[1]) for seg in line.lines for xy in seg.split()]
    assert len(ys) == 8 and all(0 <= y <= blocks.Spark.HEIGHT for y in ys)
    assert ys[2] == max(ys) and ys[7] == min(ys)  # -8 lowest on the page, 6 highest


def test_scorecard_holds_every_headline_figure_with_a_trend():
    from pipelines.report.summary import scorecard

    section = scorecard(_page("index"), list(spec.pages()))
    tables = [b for b in section.blocks if isinstance(b, blocks.Table)]
    assert len(tables) == len(spec.pages())
    rows = [r for t in tables for r in t.rows]
    assert len(rows) == sum(len(i["headline"]) for i in spec.pages().values())
    assert all(t.header[-1] == "Trend" for t in tables)
    assert all(r[1].key and r[1].field == "value" for r in rows)  # figure cells keep their keys
    assert sum(1 for r in rows if r[-1].spark is not None) >= len(rows) - 1
    markup = render([section])
    assert markup.count('class="spark" role="img" aria-label="Trend by quarter.') >= len(rows) - 1


def test_summary_charts_are_at_most_eight_and_link_to_their_table():
    from pipelines.report.summary import summary_charts

    section = summary_charts(_page("index"), list(spec.pages()))
    figures = [b for b in section.blocks if isinstance(b, blocks.Figure)]
    links = [b.link for b in section.blocks if isinstance(b, blocks.Message) and b.link]
    assert 1 <= len(figures) <= 8 and len(links) == len(figures)
    assert all(f.chart is not None and f.table is None for f in figures)
    anchors = {(i["file"], s["anchor"]) for i in spec.pages().values() for s in i["sections"]}
    assert all(tuple(href.split("#")) in anchors for href, _ in links)
    without = summary_charts(_page("index"), ["re_referrals", "cpr"])  # no workforce page
    assert len([b for b in without.blocks if isinstance(b, blocks.Figure)]) == 3


def test_glossary_explains_every_abbreviation_on_the_pages():
    """Every upper-case abbreviation in the words of pages.yaml and the code lists' labels (DAT,
    CPT, IFSS, NFA ...) is a glossary term; scope keys that never show are not words."""
    import yaml

    s = spec.spec()
    words = [str(v) for info in s["pages"].values() for v in (info["title"], info["summary"])]
    words += [h[2] for info in s["pages"].values() for h in info["headline"]]
    words += list(s["scopes"].values()) + [
        str(v) for m in s["measures"].values() for v in m.values()
    ]
    codes = yaml.safe_load((ROOT / "pipelines/contract/codes.yaml").read_text(encoding="utf-8"))
    words += [
        str(x["label"] if isinstance(x, dict) else x) for v in codes.values() for x in v.values()
    ]
    words += [c for c in s["scopes"] if c not in ("PREVENTION", "WORKFORCE")]
    found = {w for t in words for w in re.findall(r"\b[A-Z][A-Z&]+\b", t)}
    terms = {t for t, _, _ in s["glossary"]}
    assert found - terms == set()
    for term in ("Lateral checks", "Core group", "Strategy discussion", "Re-registration",
                 "Distance travelled"):  # fmt: skip
        assert term in terms


def test_about_page_says_once_what_the_pages_link_to():
    from pipelines.report.summary import about_blocks

    parts = about_blocks(_page("index", dq_statement=FAKE_DQ), list(spec.pages()))
    anchors = [p.anchor for p in parts if isinstance(p, blocks.Section)]
    assert anchors == ["symbols", "status", "glossary", "definitions", "data-quality", "provenance"]
    markup = render(parts)
    for info in spec.pages().values():
        assert f"<h3>{info['title']}</h3>" in markup  # definitions under each page's title
    annex = [b for part in blocks.page_blocks(_page("cpr")) for b in part]
    shown = render(annex)
    assert "Numerator:" not in shown and "Symbols used" not in shown
    assert 'href="about.html"' in shown


def test_provenance_names_no_folder_and_no_notebook():
    page = _page("index", raw_dir="/home/analyst/extracts", out_dir="/tmp/run/out",
                 code_version="abc1234", run_date="2013-02-01 10:00:00")  # fmt: skip
    markup = render([blocks.provenance(page)])
    assert "abc1234" in markup and "1 February 2013" in markup and "31 January 2013" in markup
    assert "/home" not in markup and "/tmp" not in markup and ".ipynb" not in markup


def test_pack_joins_the_summary_the_annex_and_the_about_page(tmp_path):
    """One HTML document, pages in order, each in its own sheet, ids unique, links inside."""
    from pipelines.errors import PipelineError
    from pipelines.report.pdf import pack_html

    with pytest.raises(PipelineError, match="make report"):
        pack_html(tmp_path)
    shell = (
        '<!DOCTYPE html><html><head><title>{t}</title></head><body><main id="main">{b}</main>'
        '<footer class="page-footer"><p>f</p></footer></body></html>'
    )
    links = '<a href="cpr.html#timeliness">t</a><a href="about.html">a</a>'
    (tmp_path / "index.html").write_text(shell.format(t="Summary", b=f"<h1>Summary</h1>{links}"))
    (tmp_path / "cpr.html").write_text(
        shell.format(t="CPR", b='<h2 id="timeliness">T</h2><a href="#timeliness">x</a>')
    )
    (tmp_path / "about.html").write_text(shell.format(t="About", b='<h2 id="symbols">S</h2>'))
    html = pack_html(tmp_path)
    order = [m for m in re.findall(r'data-page="([^"]+)"', html)]
    assert order == ["index", "cpr", "about"]
    assert html.count("<main") == 1 and html.count("<html") == 1
    assert 'href="#cpr--timeliness"' in html and 'id="cpr--timeliness"' in html
    assert 'href="#page-about"' in html and 'id="page-about"' in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------------------------------------
# Notebooks: committed without outputs; a parameters cell of literals agreeing with the config


def notebook_defaults(nb: dict) -> dict[str, object]:
    """The parameters cell of a notebook, parsed (literals only)."""
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    params = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1 and code[0] is params[0]
    source = "".join(params[0]["source"])
    out = {}
    for stmt in ast.parse(source).body:
        assert isinstance(stmt, ast.AnnAssign), ast.dump(stmt)
        out[stmt.target.id] = ast.literal_eval(stmt.value)  # literals only, nothing derived
    assert all("#" in line for line in source.splitlines() if line.strip())
    return out


def disagreements(defaults: dict[str, object]) -> list[str]:
    """Where a notebook's defaults differ from config/run.yaml (through ReportParameters)."""
    expected = ReportParameters.from_config(load_config()).to_notebook()
    out = sorted(set(defaults) ^ set(expected))
    for name, value in expected.items():
        if name in COUNCIL_FIELDS:
            value = ""  # blank in notebooks: from config/run.yaml at run time
        elif name in ("code_version", "run_date", "dq_statement"):
            continue  # known only when a run happens
        if name in defaults and defaults[name] != value:
            out.append(f"{name}: {defaults[name]!r} != {value!r}")
    return out


@pytest.mark.parametrize("name", ANNEX)
def test_notebook_is_thin_and_its_defaults_are_the_config(name):
    nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    assert disagreements(notebook_defaults(nb)) == []
    cell = [c for c in code if "parameters" in c["metadata"].get("tags", [])][0]
    assert "".join(cell["source"]) == parameters_cell(load_config()), (
        "run python -m pipelines.report.params to rewrite the parameters cells"
    )
    body = "".join("".join(c["source"]) for c in code[1:])
    assert f'show_page("{name}", globals())' in body and len(body.splitlines()) <= 3


def test_a_default_that_disagrees_with_the_config_is_found():
    nb = json.loads((ROOT / "notebooks" / "cpr.ipynb").read_text(encoding="utf-8"))
    defaults = notebook_defaults(nb)
    assert disagreements({**defaults, "period_end": "2013-03-31"}) == [
        "period_end: '2013-03-31' != '2012-12-31'"
    ]
    assert disagreements({k: v for k, v in defaults.items() if k != "raw_dir"}) == ["raw_dir"]


def test_a_notebook_run_alone_takes_the_council_from_the_config():
    values = _params(council="", comparator="", service="", footer="").to_notebook()
    params = ReportParameters.from_namespace({**values, "unrelated": 1})
    council = load_config().council
    assert params.council == council.name and params.comparator == council.comparator
    assert _params(council="X").council == "X"


def test_a_config_without_a_council_name_says_where_to_give_it(tmp_path):
    from pipelines.config import DEFAULTS_FILE
    from pipelines.errors import PipelineError

    text = DEFAULTS_FILE.read_text(encoding="utf-8")
    blank = tmp_path / "run.yaml"
    blank.write_text(text.replace("council:", "council_unused:"), encoding="utf-8")
    with pytest.raises(PipelineError, match="no council name .* --council"):
        load_config(defaults_file=blank)
    assert (
        load_config({"council_name": "Testshire"}, defaults_file=blank).council.name == "Testshire"
    )


def test_the_council_is_configuration_not_code():
    """No council name in the code: it comes from config/run.yaml or --council."""
    name = load_config().council.name.lower()
    for folder in ("pipelines", "notebooks"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".yaml", ".j2", ".ipynb", ".sql", ".md"}:
                assert name not in path.read_text(encoding="utf-8").lower(), path
    assert load_config({"council_name": "Testshire"}).council.name == "Testshire"


# ---------------------------------------------------------------------------------------------
# Rendering the fake metrics end to end (notebooks executed once per test run)


@pytest.fixture(scope="module")
def out_dir() -> Path:
    return rendered_reports(workforce=True)


@kernels
def test_every_page_and_the_executed_notebooks_are_written(out_dir):
    for name in PAGES:
        assert (out_dir / f"{name}.html").stat().st_size > 1000, name
    for name in ANNEX:
        nb = json.loads((out_dir / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
        assert nb["metadata"]["papermill"]["parameters"]["period_start"] == "2012-04-01"
        assert any("injected-parameters" in c["metadata"].get("tags", []) for c in nb["cells"])


@kernels
@pytest.mark.parametrize("name", PAGES)
def test_page_is_self_contained_and_structured(out_dir, name):
    markup = (out_dir / f"{name}.html").read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", markup, re.I)
    assert not re.search(r"https?://", markup)
    assert "<script" not in markup.lower()
    assert "<link" not in markup.lower()
    assert "@import" not in markup and "url(" not in markup
    assert '<html lang="en-GB">' in markup
    assert re.search(r"<title>[^<]{10,}</title>", markup)
    assert markup.count("<h1") == 1
    levels = [int(h) for h in re.findall(r"<h([1-6])[\s>]", markup)]
    assert levels[0] == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels
    for fig in re.findall(r"<figure.*?</figure>", markup, re.S):
        svg_tag = re.search(r"<svg[^>]*>", fig).group(0)  # nbconvert reorders attributes
        assert 'role="img"' in svg_tag and 'aria-label="' in svg_tag and "<figcaption>" in fig
    assert "In&nbsp;[" not in markup and "input_area" not in markup  # no code, no prompts
    assert "withheld" in markup.lower()
    if name in ANNEX:  # the annex links to the about page instead of repeating it
        assert 'href="about.html"' in markup and 'href="index.html"' in markup
        assert "Numerator:" not in markup and "Code version" not in markup
        assert markup.count("<figure") >= 2
    if name == "about":
        assert "Numerator:" in markup and "Data quality" in markup and "Glossary" in markup
        assert "Code version" in markup and "2013" in markup and "How the status is set" in markup


@kernels
def test_index_links_every_page_and_the_data_quality_report(out_dir):
    markup = (out_dir / "index.html").read_text(encoding="utf-8")
    for name in PAGES[1:] + ["data_quality"]:
        assert f'href="{name}.html"' in markup
    assert "Key messages" in markup and "Same period last year" in markup and "Wales" in markup
    assert "Scorecard" in markup and "Trend" in markup
    assert "were not supplied" not in markup


@kernels
def test_no_page_names_the_folder_it_was_written_to(out_dir):
    import tempfile

    for name in PAGES:
        markup = (out_dir / f"{name}.html").read_text("utf-8")
        for word in (str(out_dir), str(out_dir.parent), tempfile.gettempdir() + "/", str(ROOT)):
            assert word not in markup, (name, word)
        assert ".ipynb" not in markup, name


@kernels
def test_tables_show_the_public_figures(out_dir):
    public = read_rows(out_dir / "metrics_public.csv")
    seen = set()
    for name in PAGES:
        for key, field, text in keyed_cells((out_dir / f"{name}.html").read_text("utf-8")):
            assert key in public, key
            assert shows(text, public[key][field]), (name, key, field, text, public[key][field])
            seen.add(key)
    # every figure of the metrics file is shown somewhere
    missing = set(public) - seen
    assert not missing, sorted(missing)[:10]


@kernels
def test_withheld_counts_appear_nowhere(out_dir):
    """A withheld figure shows as ``c`` in its cells, and the chart drawn beside that table (its
    SVG, text alternative and caption) never puts a number next to the withheld category."""
    held = withheld_keys(out_dir)
    assert held, "the fake metrics must withhold something"
    checked = 0
    for name in PAGES:
        markup = (out_dir / f"{name}.html").read_text("utf-8")
        for k, field, text in keyed_cells(markup):
            if k in held and held[k][1][field] == "c":
                assert text == "c", (name, k, field, text)
        for block in markup.split('<div class="figure-block">')[1:]:
            keys = {k for k, _, _ in keyed_cells(block)}
            figure = "".join(re.findall(r"<figure.*?</figure>", block, re.S))
            for key in keys & set(held):
                inner, public = held[key]
                label = spec.category_label(key.split("|")[3], key.split("|")[4])
                for field in ("value", "numerator"):
                    if public[field] != "c" or not inner[field]:
                        continue
                    x = float(inner[field])
                    for shown in {f"{x:.0f}", f"{x:.1f}"}:
                        near = re.escape(label) + r"[:(\s]+" + re.escape(shown) + r"(?![\d.])"
                        assert not re.search(near, figure), (name, key, shown)
                    assert re.search(re.escape(label), figure) is None or "Not drawn" in figure
                    checked += 1
    assert checked > 5


@kernels
def test_notebooks_see_only_the_public_file(out_dir):
    for name in ANNEX:
        nb = (out_dir / "notebooks" / f"{name}.ipynb").read_text("utf-8")
        assert "metrics.csv" not in nb.replace("metrics_public.csv", "")


@kernels
def test_another_council_without_workforce_extracts(tmp_path):
    """A run for another council (--council) names it on every page and Newport on none; without
    the workforce extracts the index says so and there is no workforce page."""
    from pipelines.report import render_reports

    write_fake_metrics(tmp_path, workforce=False)
    config = dataclasses.replace(load_config({"council_name": "Caerphilly"}), out_dir=tmp_path)
    written = render_reports(tmp_path, config, FAKE_DQ)
    assert [p.name for p in written] == [f"{p}.html" for p in PAGES if p != "workforce"]
    for path in written:
        markup = path.read_text("utf-8")
        assert "Caerphilly" in markup and "newport" not in markup.lower(), path.name
    index = (tmp_path / "index.html").read_text("utf-8")
    assert "workforce extracts (posts and leavers) were not supplied" in index
    assert 'href="workforce.html"' not in index and not (tmp_path / "workforce.html").exists()


def test_code_version_names_the_checked_out_commit(monkeypatch):
    """Provenance: the version on the pages is the commit the run came from, marked when the
    working tree had changes; without git it is the package version (never blank)."""
    import subprocess

    from pipelines import __version__, code_version

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    version = code_version()
    commit = version.removesuffix("-dirty")
    assert git("rev-parse", "--verify", f"{commit}^{{commit}}") == git("rev-parse", "HEAD")
    assert version.endswith("-dirty") == bool(git("status", "--porcelain", "--untracked-files=no"))

    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", no_git)
    assert code_version() == f"pipelines {__version__}"


def test_missing_public_metrics_is_a_clear_error(tmp_path):
    from pipelines.errors import PipelineError
    from pipelines.report import render_reports

    config = dataclasses.replace(load_config(), out_dir=tmp_path)
    with pytest.raises(PipelineError, match="metrics_public.csv is missing"):
        render_reports(tmp_path, config, {})


@kernels
def test_a_failing_notebook_is_reported_with_its_cell(tmp_path, monkeypatch):
    """A page that cannot be produced stops the run with a message naming the error."""
    from pipelines.errors import PipelineError
    from pipelines.report import runner

    write_fake_metrics(tmp_path)
    bad = tmp_path / "nb"
    bad.mkdir()
    nb = json.loads((ROOT / "notebooks" / "cpr.ipynb").read_text(encoding="utf-8"))
    nb["cells"][-1]["source"] = ["raise ValueError('no such figure')"]
    (bad / "cpr.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    monkeypatch.setattr(runner, "NOTEBOOKS", bad)
    params = _params(out_dir=str(tmp_path), code_version="test", run_date="now")
    with pytest.raises(PipelineError, match="ValueError: no such figure"):
        runner.start_pages(["cpr"], params, workers=1).wait()


def test_a_summary_that_cannot_be_written_stops_the_run_with_its_error(tmp_path):
    """The summary is written in a kernel (runner.SUMMARY): its failure is reported like a
    notebook's, with the error's name, not lost in the kernel."""
    from pipelines.errors import PipelineError
    from pipelines.report import runner

    params = _params(out_dir=str(tmp_path), code_version="test", run_date="now")  # no metrics
    with pytest.raises(PipelineError, match=r"summary \(index.html\) stopped with \w+Error"):
        runner.start_pages([], params, workers=1).wait()
    assert not (tmp_path / "index.html").exists()


def test_reference_is_a_dataclass_with_empty_defaults():
    assert Reference().latest_benchmark("x", "DAT") is None and Reference().target("x", "S") is None
    assert THRESHOLD == _params().suppression_threshold
