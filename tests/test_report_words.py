"""Words that are true: the rules behind titles and key messages, and every generated sentence
of the pages checked as a committee member would read it.

The fast tests use small hand-made rows (each rule with the example that broke it) and the fake
metrics of ``report_helpers``; the slow test runs the pipeline on the shipped sample and on
another council's extracts (``pipelines sample --seed 7 --scale 3``) and reads every sentence
of both, from the blocks and from the rendered pages.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_helpers import FAKE_DQ, fake_rows, suppress_rows
from words_helpers import Sentence, page_sentences, params_for, problems

from pipelines.contract import METRICS_COLUMNS
from pipelines.report import blocks, prose
from pipelines.report.model import Metrics, Row, Target

ROOT = Path(__file__).resolve().parent.parent


def _row(measure: str, by: str, category: str, value: str, unit: str = "percent") -> Row:
    return Row("a", measure, "IFSS", by, category, "", "", value, unit)


# ---------------------------------------------------------------------------------------------
# The checker itself: each check has a sentence it must catch (and one it must let pass)


@pytest.mark.parametrize(
    "text",
    [
        "The Prevention Service accepted 30% of new referral referrals",
        "Decision on the the referral",
        "No errors; 1 warnings may affect some figures.",
        "3 team averaged more than 20 cases",
        "Registrations: None",
        "Risk fell in nan domains",
        "Referrals received by the {scope}",
        "aged 9-11 made over half of referrals",
        "Decision on the referral by decision",
        "0 of 6 teams averaged more than 20 cases",
        "Amber: just missed",
        "Initial assessment and no further action, advice letter sent made over half of referrals",
        "Families whose risk reduced: all IFSS: 91%, worse than the same period last year (93%).",
        "Referrals received rose from 167 to 434 on the same period last year.",
        "The caseload threshold held in the reference data is 20 cases.",
        "Numerator: caseload_max of staffed posts",
    ],
)
def test_the_checker_finds_each_kind_of_error(text):
    assert problems(Sentence("page: Chart.title", text))
    assert problems(Sentence("page: Cell", "Amber: just missed"))


def test_the_checker_finds_empty_alt_text_and_passes_good_english():
    assert problems(Sentence("page: Chart.alt_text", "")) == ["empty text (alt text)"]
    good = "None of the 6 teams averaged more than 20 cases; 1 team had 35 cases in 2012-Q4."
    assert problems(Sentence("page: Chart.title", good)) == []


# ---------------------------------------------------------------------------------------------
# Plurals and grammar


def test_plural_agrees_with_its_number():
    assert prose.plural(1, "warning") == "1 warning"
    assert prose.plural(2427, "referral") == "2,427 referrals"
    assert prose.plural(1, "family") == "1 family" and prose.plural(3, "family") == "3 families"
    assert prose.plural(5, "domain", words=True) == "five domains"
    assert prose.plural(2, "social worker") == "2 social workers"
    assert prose.plural(2, "type of referral", "types of referral") == "2 types of referral"


def test_a_category_naming_the_noun_is_not_followed_by_it_again():
    assert prose.of_type("New referral") == "new referrals"  # not "new referral referrals"
    assert prose.of_type("Re-referral") == "re-referrals"
    assert prose.of_type("Consultation") == "consultation referrals"
    assert prose.by_phrase("Decision on the referral", "decision") == "Decision on the referral"
    assert prose.by_phrase("Referrals received", "source") == "Referrals received by source"


# ---------------------------------------------------------------------------------------------
# Ties are named, never broken by the order of the file


def test_a_tie_for_the_largest_fall_names_every_tied_domain_or_counts_them():
    five = [_row("domain_change", "domain", c, "-1.5", "score") for c in "ABCDE"]
    rows = [*five, _row("domain_change", "domain", "F", "-0.4", "score")]
    title = prose.breakdown_title(rows, "domain_change", "IFSS", "families")
    assert title.startswith("Risk fell most in five domains (-1.5 points on average each)")
    two = [five[0], five[1], rows[-1]]
    title = prose.breakdown_title(two, "domain_change", "IFSS", "families")
    assert title.startswith("Risk fell most in a and b (-1.5 points on average each)")


def test_a_tie_for_the_highest_rate_names_both():
    rows = [
        _row("vacancy_rate", "team", "CPT", "20.0"),
        _row("vacancy_rate", "team", "DAT", "20.04"),
        _row("vacancy_rate", "team", "FST", "10.0"),
    ]
    title = prose.breakdown_title(rows, "vacancy_rate", "WORKFORCE", "posts")
    # the teams' abbreviations are written out from the glossary: nothing to decode
    assert title == (
        "Child protection teams and Duty and Assessment Teams had the highest vacancy rate "
        "(20% each)"
    )


def test_caseloads_name_tied_teams_and_the_highest_single_caseload():
    means = [
        _row("caseload_mean", "team", "CPT", "20.0", "count"),
        _row("caseload_mean", "team", "DAT", "20.0", "count"),
        _row("caseload_mean", "team", "FST", "12.6", "count"),
    ]
    maxima = [
        _row("caseload_max", "team", "CPT", "26", "count"),
        _row("caseload_max", "team", "DAT", "35", "count"),
        _row("caseload_max", "team", "FST", "c", "count"),
    ]
    # was "0 of 6 teams averaged more than 20 cases; highest CPT (20.0)"
    assert prose.caseload_title(means, "team", 20.0, maxima) == (
        "None of the 3 teams averaged more than 20 cases; the highest averages were for child "
        "protection teams and Duty and Assessment Teams (20.0 each); the highest single caseload "
        "was 35 (in Duty and Assessment Teams)"
    )


def test_the_lowest_and_highest_of_several_figures_name_every_tie():
    rule = {"lowest": "{label}: {value}, the lowest", "otherwise": "none"}
    assert prose.lowest_title([("A", 60.2), ("B", 59.8), ("C", 70.0)], rule) == (
        "A and b: 60% each, the lowest"
    )
    assert prose.highest_title([("X", 30.0), ("Y", 30.0)], "mean_risk_reduction", "percent") == (
        "X and Y had the highest average reduction in risk (30% each)"
    )


# ---------------------------------------------------------------------------------------------
# Ordered categories are grouped only with their neighbours


def test_age_bands_are_grouped_only_with_their_neighbours():
    shares = {"UNBORN": "2", "0-2": "29", "3-5": "8", "6-8": "10", "9-11": "21", "12-17": "30"}
    rows = [_row("received", "age_band", c, v) for c, v in shares.items()]
    title = prose.breakdown_title(rows, "received", "PREVENTION", "referrals")
    # the two largest (0-2 and 12-17) are not neighbours: never grouped
    assert title == "Aged 9-11 and aged 12-17 made over half of referrals, Prevention Service"


def test_without_neighbours_making_half_the_largest_band_is_named():
    shares = {"UNDER_12M": "45", "12_TO_24M": "c", "OVER_24M": "c", "UNKNOWN": "30"}
    rows = [_row("re_registration", "time_since_deregistration", c, v) for c, v in shares.items()]
    title = prose.breakdown_title(rows, "received", "CPR", "re-registrations")
    # was "Under 12 months and no earlier registration in the extract accounted for ..."
    assert title == (
        "Under 12 months (45%): the largest group of re-registrations, Child Protection Register"
    )


def test_experience_bands_never_pair_under_one_year_with_over_two():
    shares = {"UNDER_1Y": "44", "1_TO_2Y": "24", "OVER_2Y": "32"}
    rows = [_row("experience", "band", c, v) for c, v in shares.items()]
    title = prose.breakdown_title(rows, "experience", "WORKFORCE", "social workers")
    assert title.startswith("Qualified under 1 year and qualified 1 to 2 years accounted for")


def test_unordered_categories_cut_in_a_tie_name_every_tied_one():
    shares = {"A": "30", "B": "15", "C": "15", "D": "15", "E": "15", "F": "10"}
    rows = [_row("received", "source_group", c, v) for c, v in shares.items()]
    title = prose.breakdown_title(rows, "received", "DAT", "referrals")
    assert title == "A (30%): the largest group of referrals, Duty and Assessment Teams"


# ---------------------------------------------------------------------------------------------
# Part periods, the latest change, the window a figure really covers, RAG distance


def test_part_financial_years_are_labelled_as_such():
    assert prose.year_label("2012-13", "2012-12-31") == "2012-13 (April to December 2012, 9 months)"
    assert prose.year_label("2012-13", "2013-03-31") == "2012-13"
    assert prose.year_label("2011-12", "2012-12-31") == "2011-12"
    assert prose.part_year("2012-13", "2012-11-15") == "1 April to 15 November 2012"
    assert prose.part_year("2012-13", "2012-04-30") == "April 2012, 1 month"


def test_the_trend_title_leads_with_the_latest_change():
    years = {"2010-11": "25", "2011-12": "44", "2012-13": "40"}
    rows = [_row("re_referral_12m", "financial_year", c, v) for c, v in years.items()]
    title = prose.trend_title(rows, "the re-referral rate", "2012-12-31")
    assert title.startswith("The re-referral rate fell from 44% in 2011-12 to 40% in 2012-13 (")


def test_counts_of_a_part_year_are_not_compared_with_whole_years():
    years = {"2010-11": "2500", "2011-12": "3500", "2012-13": "2427"}
    rows = [_row("referrals", "financial_year", c, v, "count") for c, v in years.items()]
    title = prose.trend_title(rows, "referrals", "2012-12-31")
    assert "2,427" not in title and "2012-13" not in title


def test_the_follow_up_window_is_the_referrals_really_counted():
    assert prose.follow_up_window(6, "2012-04-01", "2012-12-31", "2013-01-31") == (
        "referrals made 1 April to 31 July 2012, followed up to 31 January 2013"
    )
    assert prose.follow_up_window(6, "2012-04-01", "2012-12-31", "2013-07-31") == ""
    assert "no referral" in prose.follow_up_window(12, "2012-04-01", "2012-12-31", "2013-01-31")
    # month ends clamp as DuckDB does: 31 August + 6 months = 28 February
    assert "31 August 2012" in prose.follow_up_window(6, "2012-04-01", "2012-12-31", "2013-02-28")


def test_the_follow_up_subtitle_names_the_window():
    page = blocks.Page.open("re_referrals", params_for(ROOT), _fake())
    fig = blocks.follow_up(page, "DAT", "rereferred_6m", 6)
    assert fig.chart.subtitle.endswith(
        "1 April 2012 to 31 December 2012; referrals made 1 April to 31 July 2012, followed up "
        "to 31 January 2013"
    )


def test_rag_words_say_the_distance_to_the_target():
    higher = Target("m", "S", "total", "", 95.0, 90.0, False)
    lower = Target("m", "S", "total", "", 30.0, 35.0, True)
    assert prose.rag_words("Red", 88.0, higher, "percent") == "Red: 88%, target 95%"
    assert prose.rag_words("Amber", 33.0, lower, "percent") == "Amber: 33%, target 30% or less"
    assert prose.rag_words(None, None, None, "percent") == "No target set"
    assert prose.rag_words(None, None, higher, "percent").startswith("No status")


def test_targets_missed_lead_the_key_messages():
    from pipelines.report.model import load_reference

    msgs = prose.key_messages(_fake(), "cpr", load_reference("Wales"))
    assert msgs[0].startswith("Red against target: first core groups on time")


def test_one_source_shown_is_the_largest_source_in_the_singular():
    from pipelines.report.model import load_reference

    rows = [r for r in _fake().rows if not (r.scope == "FST" and r.breakdown == "source_group")]
    rows.append(Row("referrals", "received", "FST", "source_group", "DAT", "58", "100", "58.0",
                    "percent"))  # fmt: skip
    msgs = prose.key_messages(Metrics(rows), "referrals", load_reference("Wales"))
    assert any(
        m.endswith("; the largest source was Duty and Assessment Teams (58%).") for m in msgs
    )


def test_coverage_is_stated():
    from pipelines.report.model import load_reference

    msgs = prose.key_messages(_fake(), "distance_travelled", load_reference("Wales"))
    assert any(" had start and end assessments" in m and " of the " in m for m in msgs)


def test_a_label_with_a_comma_is_quoted_in_a_sentence_and_a_list():
    nfa, ia = "No further action, advice letter sent", "Initial assessment"
    assert prose.term(nfa) == "'No further action, advice letter sent'"
    assert prose.term("1,302 referrals") == "1,302 referrals"  # a number is not a list
    assert prose.lower_first(prose.term(nfa)) == "'no further action, advice letter sent'"
    rows = [
        Row("re_referrals", "decision", "DAT", "outcome", c, "", "", v, "percent")
        for c, v in (("NFA_LETTER", "30"), ("IA", "35"), ("NFA", "20"), ("S47", "15"))
    ]
    title = prose.breakdown_title(rows, "decision", "DAT", "referrals")
    assert title.startswith(f"{ia} and 'no further action, advice letter sent' made over half")
    assert prose.not_drawn([nfa, "Police"]) == (
        "Not drawn (withheld or not applicable): 'No further action, advice letter sent', Police."
    )
    assert "; 'No further action, advice letter sent': 30%" in prose.alt_text(
        "Bar chart", "T", [("A", 1), (nfa, 30)], "percent"
    )


def test_the_summary_names_a_scoped_figure_as_a_subject_not_with_two_colons():
    from pipelines.report.model import load_reference

    items = [["distance_travelled", "risk_reduced", "IFSS", "Families whose risk reduced: all"]]
    m = Metrics([
        Row("distance_travelled", "risk_reduced", "IFSS", "total", "all", "86", "100", "86.0",
            "percent"),
        Row("distance_travelled", "risk_reduced", "IFSS", "previous_year", "all", "90", "100",
            "90.0", "percent"),
    ])  # fmt: skip
    msgs = prose.summary_messages(m, load_reference("Wales"), items, 8)
    assert msgs == [
        "Families whose risk reduced (all): 86%, worse than the same period last year (90%)."
    ]


def test_a_headline_caption_names_snapshot_and_window_figures():
    period = "1 April 2012 to 31 December 2012"
    snap = "latest snapshot on or before 31 December 2012"
    got = prose.other_windows(
        [("Posts", snap), ("Vacancy rate", snap), ("Staff turnover", "12 months to 31 December "
         "2012"), ("Registrations", period)], period
    )  # fmt: skip
    assert got == f"; posts and vacancy rate: {snap}; staff turnover: 12 months to 31 December 2012"
    assert prose.other_windows([("Registrations", period)], period) == ""


def test_none_of_the_roles_is_said_only_of_roles_with_figures():
    means = [_row("caseload_mean", "role", c, v, "count")
             for c, v in (("TM", ""), ("SW", "19.3"), ("SP", "15.6"))]  # fmt: skip
    text = prose.caseload_spread(means, [], "role", 20)
    assert text.startswith("None of the 2 roles with figures averaged more than 20 cases")
    full = prose.caseload_spread(means[1:], [], "role", 20)
    assert full.startswith("None of the 2 roles averaged")


def test_a_charts_value_labels_share_their_decimal_places():
    from pipelines.report.charts import value_texts

    assert value_texts([20.0, 10.4, 12.571], "count") == ["20.0", "10.4", "12.6"]
    assert value_texts([20.0, 10.0], "count") == ["20", "10"]
    assert value_texts([99.6, 40.0], "percent") == ["99.6%", "40%"]


def _re_referral_rows(years: dict[str, str]) -> Metrics:
    end = "2012-12-31"
    rows = [Row("re_referrals", "re_referral_12m", "DAT", "total", "all", "40", "100", "40.0",
                "percent", "2012-04-01", end)]  # fmt: skip
    rows += [Row("re_referrals", "re_referral_12m", "DAT", "financial_year", y, "", "", v,
                 "percent", "2012-04-01", end) for y, v in years.items()]  # fmt: skip
    return Metrics(rows)


def test_the_comparators_year_here_is_said_once_in_the_key_messages():
    from pipelines.report.model import load_reference

    ref = load_reference("Wales")  # Wales 30% in 2011-12
    both = prose.key_messages(_re_referral_rows({"2011-12": "44.0", "2012-13": "40.0"}),
                              "re_referrals", ref)  # fmt: skip
    assert sum("44% in 2011-12" in m or "44% here in 2011-12" in m for m in both) == 1
    alone = prose.key_messages(_re_referral_rows({"2011-12": "44.0"}), "re_referrals", ref)
    assert any(m.endswith("the Wales figure was 30% in 2011-12, against 44% here in 2011-12.")
               for m in alone)  # fmt: skip


def test_an_abbreviation_standing_for_a_category_is_written_out():
    from pipelines.report.spec import category_label

    assert category_label("team", "CPT") == "Child protection teams"  # a team code, no label
    assert category_label("source_group", "DAT") == "Duty and Assessment Teams"  # label "DAT"
    assert category_label("team", "Prevention – TAF") == "Prevention – TAF"  # a name: as it is
    assert prose.lower_first("Duty and Assessment Teams") == "Duty and Assessment Teams"
    assert prose.lower_first("Referred to the Prevention Service") == (
        "referred to the Prevention Service"
    )
    assert prose.lower_first("Other LA services") == "other LA services"


def test_the_summary_note_says_whom_withholding_protects():
    from pipelines.report.blocks import text

    note = text("index_note", as_at="31 January 2013")
    assert "children, families and staff" in note and "children's privacy" not in note


# ---------------------------------------------------------------------------------------------
# Every sentence of every page


def _fake() -> Metrics:
    rows = suppress_rows(fake_rows(True))
    return Metrics(Row(**dict(zip(METRICS_COLUMNS, r, strict=True))) for r in rows)


def _report(found: list[Sentence]) -> list[str]:
    return [f"[{s.where}] {s.text!r}: {'; '.join(p)}" for s in found if (p := problems(s))]


def test_every_sentence_of_the_fake_pages_reads_right():
    params = dataclasses.replace(params_for(ROOT), dq_statement=FAKE_DQ)
    found = page_sentences(_fake(), params)
    assert len(found) > 300
    assert _report(found) == []


class _Text(HTMLParser):
    """The text of the sentence-bearing elements of a rendered page."""

    TAGS = {"h1", "h2", "h3", "p", "li", "caption", "figcaption", "dd"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.TAGS:
            self.open.append("")
        if tag == "svg":
            self.open.append("<svg>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg" and self.open:
            self.open.pop()
        elif tag in self.TAGS and self.open:
            text = " ".join(self.open.pop().split())
            if text:
                self.found.append(text)

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] != "<svg>":
            self.open[-1] += data


def _cli(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.subprocess
def test_every_sentence_of_the_sample_and_another_council_reads_right(tmp_path):
    other = tmp_path / "other"
    _cli("sample", "--out", str(other), "--seed", "7", "--scale", "3")
    runs = {
        "sample": ([], ("", "", "", "")),
        "Torfaen": (
            ["--raw-dir", str(other), "--council", "Torfaen", "--period-start", "2012-04-01",
             "--period-end", "2013-03-31", "--as-at", "2013-04-30"],
            ("Torfaen", "2012-04-01", "2013-03-31", "2013-04-30"),
        ),
    }  # fmt: skip
    bad: list[str] = []
    for name, (args, (council, start, end, as_at)) in runs.items():
        out = tmp_path / name
        _cli("report", "--out", str(out), "--db", str(tmp_path / f"{name}.duckdb"),
             "--dq-dir", str(tmp_path / f"dq-{name}"), *args)  # fmt: skip
        metrics = Metrics.read(out / "metrics_public.csv")
        found = page_sentences(metrics, params_for(out, council, start, end, as_at))
        for page in sorted(out.glob("*.html")):
            parser = _Text()
            parser.feed(page.read_text(encoding="utf-8"))
            found += [Sentence(f"{name} {page.name}: html", t) for t in parser.found]
        assert len(found) > 500, name
        bad += _report(found)
    assert bad == []


# ---------------------------------------------------------------------------------------------
# Extracts that stop before the period ends: the missing months are never read as a change


def _gap(*extracts: str, months: tuple[str, ...] = ("2012-12",)) -> dict:
    """FAKE_DQ with ``extracts`` having no records in ``months`` (rule COV-001)."""
    note = "An extract stops before the period ends."
    cov = [{"extract": e, "months": list(months), "note": note} for e in extracts]
    return {**FAKE_DQ, "coverage": cov}


def test_the_last_complete_day_is_the_day_before_the_first_incomplete_month():
    import datetime as dt

    from pipelines.report.model import complete_to

    cov = [{"extract": "a", "months": ["2013-03", "2013-02"]}, {"extract": "b", "months": []}]
    assert complete_to(cov, ["a", "b"]) == dt.date(2013, 1, 31)
    assert complete_to(cov, ["b"]) is None


def _gapped_page(analysis: str, *extracts: str) -> blocks.Page:
    params = dataclasses.replace(params_for(ROOT), dq_statement=_gap(*extracts))
    return blocks.Page.open(analysis, params, _fake())


def test_a_count_from_an_extract_that_stops_early_is_not_compared_with_last_year():
    page = _gapped_page("referrals", "dat_referrals", "ifss_referrals")
    t = blocks.headline_table(page, blocks._headline_items("referrals"), "Headline figures")
    changes = [row[3].text for row in t.rows]
    assert changes and all(c == "not compared: incomplete from December 2012"
                           for c in changes)  # fmt: skip
    msgs = prose.key_messages(page.metrics, "referrals", page.reference, page.coverage())
    assert not [m for m in msgs if "same period last year" in m]
    # the same figures with whole extracts are compared
    whole = blocks.Page.open("referrals", params_for(ROOT), _fake())
    t = blocks.headline_table(whole, blocks._headline_items("referrals"), "Headline figures")
    assert not [row for row in t.rows if row[3].text.startswith("not compared")]


def test_an_accumulating_rate_is_not_compared_but_a_snapshot_from_a_whole_extract_is():
    page = _gapped_page("workforce", "workforce_leavers")
    t = blocks.headline_table(page, blocks._headline_items("workforce"), "Headline figures")
    by_label = {row[0].text: row[3].text for row in t.rows}
    assert by_label["Staff turnover (12 months)"].startswith("not compared")
    assert not by_label["Posts"].startswith("not compared")
    assert not by_label["Vacancy rate"].startswith("not compared")


def test_quarters_after_an_extract_stops_are_labelled_and_counts_not_compared_with_them():
    import datetime as dt

    cut = dt.date(2012, 11, 30)
    assert prose.quarter_label("2012-Q4", "2012-12-31", cut) == "2012-Q4 (to 30 Nov)"
    assert prose.quarter_label("2013-Q1", "2013-03-31", cut) == "2013-Q1 (incomplete)"
    assert prose.quarter_label("2012-Q3", "2012-12-31", cut) == "2012-Q3"
    assert prose.part_or_incomplete("2012-Q4", "2012-12-31", cut)
    page = _gapped_page("referrals", "dat_referrals", "ifss_referrals")
    fig = blocks.quarters(page, "DAT", "received")
    assert fig is not None and fig.chart is not None and fig.table is not None
    assert "2012-Q4 (to 30 Nov)" in fig.table.header
    assert "2012-Q4" not in fig.chart.title  # a short quarter's count is not called a fall
    assert "2012-Q4 (to 30 Nov) is incomplete" in fig.chart.note


def test_a_summary_message_says_no_last_year_figure_for_a_count_that_stops_early():
    from pipelines.report.model import load_reference

    items = [["cpr", "registrations", "CPR", "Registrations"]]
    m = Metrics([
        Row("cpr", "registrations", "CPR", "total", "all", "", "", "300", "count"),
        Row("cpr", "registrations", "CPR", "previous_year", "all", "", "", "420", "count"),
    ])  # fmt: skip
    cov = prose.Coverage({("cpr", "registrations"): "2012-11-30"},
                         frozenset({("cpr", "registrations")}))  # fmt: skip
    assert prose.summary_messages(m, load_reference("Wales"), items, 8, cov) == []
    assert prose.direction_messages(m, "cpr", cov) == []


def test_every_sentence_of_pages_whose_extracts_stop_early_reads_right():
    extracts = ("dat_referrals", "ifss_referrals", "cpr_registrations", "workforce_leavers")
    params = dataclasses.replace(params_for(ROOT), dq_statement=_gap(*extracts))
    found = page_sentences(_fake(), params)
    assert _report(found) == []
    counts = ("Referrals received", "Registrations", "Staff turnover", "Families served")
    compared = [s.text for s in found if "same period last year" in s.text
                and s.text.startswith(counts)]  # fmt: skip
    assert compared == []


def test_the_no_further_action_key_message_names_both_outcomes_and_who_was_followed_up():
    from pipelines.report.model import load_reference

    m = Metrics([
        Row("re_referrals", "rereferred_6m", "DAT", "outcome", "NFA", "79", "204", "38.7",
            "percent"),
        Row("re_referrals", "rereferred_6m", "DAT", "outcome", "NFA_LETTER", "96", "292", "32.9",
            "percent"),
    ])  # fmt: skip
    msgs = prose.key_messages(m, "re_referrals", load_reference("Wales"))
    said = [s for s in msgs if "came back" in s]
    assert said == [
        "Of referrals made at least 6 months before the extract date, 39% of those ending in no "
        "further action and 33% of those ending in 'no further action, advice letter sent' came "
        "back within 6 months."
    ]


def test_overlapping_categories_say_why_the_shares_add_up_to_more_than_100():
    def rows(*nums: str) -> list[Row]:
        return [Row("cpr", "registrations", "CPR", "category", c, n, "96", "", "percent")
                for c, n in zip(("NEGLECT", "EMOTIONAL", "PHYSICAL", "SEXUAL"), nums,
                                strict=True)]  # fmt: skip

    note = prose.overlap_note(rows("52", "29", "22", "c"), "registrations")
    assert note.startswith("Some registrations are counted in more than one category")
    assert prose.overlap_note(rows("52", "29", "10", "c"), "registrations") == ""


def test_every_table_caption_of_the_pages_names_the_place():
    """A table read on its own (printed, or copied into a paper) says where its figures are
    from, as each chart's subtitle does: measure, place, period."""
    params = params_for(ROOT)
    found = page_sentences(_fake(), params)
    captions = [s for s in found if s.where.endswith("Table.caption")]
    assert len(captions) > 40
    missing = [s for s in captions if not s.where.startswith("about")
               and params.council not in s.text]  # fmt: skip
    assert missing == []


def test_the_scorecards_small_line_leaves_out_a_counts_short_quarter_and_says_so():
    page = _gapped_page("index", "dat_referrals", "ifss_referrals")
    line = blocks.spark(page, "referrals", "received", "DAT")
    assert line is not None
    assert "2012-Q4 (to 30 Nov): " in line.label and "(part quarter, not drawn)" in line.label
    points = sum(len(seg.split()) for seg in line.lines)
    whole = blocks.spark(blocks.Page.open("index", params_for(ROOT), _fake()), "referrals",
                         "received", "DAT")  # fmt: skip
    assert whole is not None and points == sum(len(seg.split()) for seg in whole.lines) - 1


def test_a_category_making_over_half_is_a_sentence_not_a_label_and_a_colon():
    rows = [Row("referrals", "received", "FST", "source_group", c, "", "", v, "percent")
            for c, v in (("DAT", "56.0"), ("CPT", "24.0"), ("HEALTH", "20.0"))]  # fmt: skip
    title = prose.breakdown_title(rows, "received", "FST", "referrals")
    assert title == "Duty and Assessment Teams accounted for 56% of referrals, Family Support Team"


def test_shares_of_a_small_base_say_how_far_one_case_moves_them():
    def rows(base: str) -> list[Row]:
        return [Row("cpr", "re_registration", "CPR", "time_since_deregistration", c, n, base, "",
                    "percent") for c, n in (("UNDER_12M", "10"), ("UNKNOWN", "6"))]  # fmt: skip

    note = prose.small_base_note(rows("22"), "re-registrations", 30)
    assert note == (
        "Based on only 22 re-registrations, so one more or fewer would move each percentage by "
        "about 5 points."
    )
    assert prose.small_base_note(rows("96"), "re-registrations", 30) == ""
    assert prose.small_base_note(rows("c"), "re-registrations", 30) == ""


def test_a_rate_is_not_compared_with_quarters_after_its_extract_stops():
    page = _gapped_page("cpr", "cpr_registrations", "cpr_reviews")
    fig = blocks.quarters(page, "CPR", "core_group_timely")
    assert fig is not None and fig.chart is not None
    assert "2012-Q4" not in fig.chart.title
    assert "not compared with whole quarters" in fig.chart.note
